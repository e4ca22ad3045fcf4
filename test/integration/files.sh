#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Integration test of files in and out of device memory (rpci-run
# --load-file, --load-server, --save-file, --save-server) on a server and a
# client joined by memif (config/pair.cfg with a file directory):
#   - a file of the client streamed into the device and saved to the
#     server's directory: the saved file is the same, byte for byte
#   - a file of the server loaded by name (nothing on the link) and saved to
#     the client: the same, byte for byte; the link carried only the save
#   - names that lead outside the directory ("..", absolute, a symbolic
#     link to a file or through a directory), a missing file, an existing
#     file without --replace: refused, and nothing outside is read or written
#   - a server whose file does not let devices save: refused
#   - a file_dir that does not exist: the server refuses its file with the line
#
# usage: files.sh BUILD_DIR SOURCE_DIR

BUILD=${1:?build dir}
SRC=${2:?source dir}
. "$SRC/test/integration/lib.sh"

SERVER="$BUILD/app/rpci-server"
RUN="$BUILD/app/rpci-run"
DIR="$IT_DIR/files"
OUTSIDE="$IT_DIR/outside"
mkdir -p "$DIR/sub" "$OUTSIDE"

# config/pair.cfg with our names, console sockets, and server0's file directory.
files_config() {
	local save=$1 dir=$2
	it_pair_config "$SRC/config/pair.cfg" "$IT_DIR/base.cfg"
	awk -v dir="$IT_DIR" -v fdir="$dir" -v save="$save" '
		/^ *idle = / { print; n++;
			       if (n == 1) { printf "        file_dir = \"%s\";\n", fdir;
					     printf "        file_save = %s;\n", save }
			       next }
		{ print }
	' "$IT_DIR/base.cfg"
}
CFG="$IT_DIR/files.cfg"
files_config true "$DIR" >"$CFG"

head -c 5000011 /dev/urandom >"$IT_DIR/client.bin"
head -c 3333333 /dev/urandom >"$DIR/sub/server.bin"
echo "secret outside the directory" >"$OUTSIDE/secret"
ln -s "$OUTSIDE/secret" "$DIR/link-to-file"
ln -s "$OUTSIDE" "$DIR/link-to-dir"

run() {
	timeout -s KILL 120 "$RUN" --config "$CFG" --host client0 "$@" >"$IT_DIR/run.log" 2>&1
}

link_bytes() { # bytes the server's link received so far
	timeout 10 "$BUILD/app/rpci-console" --socket "$IT_DIR/server0.sock" \
		-c "show link stats" | awk '$3 == "rx_bytes" { print $4 }'
}

it_start_server "$SERVER" "$CFG" server0 "$IT_DIR/server.log" || {
	it_fail "server did not start"
	it_summary
	exit 1
}

# --- client file -> device -> server file
if run --load-file "$IT_DIR/client.bin" --save-server sub/saved.bin &&
	grep -q '^verified$' "$IT_DIR/run.log" && cmp -s "$IT_DIR/client.bin" "$DIR/sub/saved.bin"; then
	it_pass "client file loaded (streamed) and saved on the server, byte for byte:" \
		"$(grep 'loaded\|saved' "$IT_DIR/run.log" | tr '\n' ' ')"
else
	it_fail "client file to server file"
	cat "$IT_DIR/run.log"
fi

# --- server file -> device (on the server) -> client file
rx0=$(link_bytes)
if run --load-server sub/server.bin --save-file "$IT_DIR/back.bin" &&
	grep -q '^verified$' "$IT_DIR/run.log" && cmp -s "$DIR/sub/server.bin" "$IT_DIR/back.bin"; then
	it_pass "server file loaded by name and saved on the client, byte for byte:" \
		"$(grep 'loaded\|saved' "$IT_DIR/run.log" | tr '\n' ' ')"
else
	it_fail "server file to client file"
	cat "$IT_DIR/run.log"
fi
rx1=$(link_bytes)
if [ -n "$rx0" ] && [ -n "$rx1" ] && [ $((rx1 - rx0)) -lt 1000000 ]; then
	it_pass "loading 3.3 MB by name: the server's link received $((rx1 - rx0)) bytes"
else
	it_fail "loading by name moved data over the link: rx $rx0 -> $rx1"
fi
# server file -> server file: nothing to compare here, the test does it
if run --load-server sub/server.bin --save-server sub/copy.bin &&
	grep -q '^done$' "$IT_DIR/run.log" && cmp -s "$DIR/sub/server.bin" "$DIR/sub/copy.bin"; then
	it_pass "server file to server file, byte for byte"
else
	it_fail "server file to server file"
	cat "$IT_DIR/run.log"
fi

# --- refusals
refused() {
	local what=$1 pattern=$2
	shift 2
	if ! run "$@" && grep -q "$pattern" "$IT_DIR/run.log"; then
		it_pass "$what refused: $(grep "$pattern" "$IT_DIR/run.log" | head -n 1)"
	else
		it_fail "$what: $(cat "$IT_DIR/run.log")"
	fi
}
refused "'..' out of the directory" "not a file name" --load-server ../files.cfg
refused "an absolute name" "not a file name" --load-server "$OUTSIDE/secret"
refused "a symbolic link to a file outside" "leads outside" --load-server link-to-file
refused "a path through a symbolic link to a directory outside" "leads outside" \
	--load-server link-to-dir/secret
refused "saving through a link" "leads outside" --load-file "$IT_DIR/client.bin" \
	--save-server link-to-file --replace
refused "a missing file" "No such file" --load-server sub/none.bin
refused "an existing file without --replace" "File exists" --load-file "$IT_DIR/client.bin" \
	--save-server sub/saved.bin
if [ "$(cat "$OUTSIDE/secret")" = "secret outside the directory" ] &&
	[ "$(ls "$OUTSIDE")" = "secret" ]; then
	it_pass "nothing outside the directory was written"
else
	it_fail "outside the directory changed: $(ls -l "$OUTSIDE")"
fi
if run --load-file "$IT_DIR/client.bin" --save-server sub/saved.bin --replace &&
	grep -q '^verified$' "$IT_DIR/run.log"; then
	it_pass "an existing file replaced with --replace"
else
	it_fail "--replace: $(cat "$IT_DIR/run.log")"
fi
it_stop "$IT_SERVER_PID" 10

# --- a server that does not let devices save
files_config false "$DIR" >"$CFG"
it_start_server "$SERVER" "$CFG" server0 "$IT_DIR/server2.log" || it_fail "server did not start"
refused "saving where the server does not allow it" "does not let devices save" \
	--load-file "$IT_DIR/client.bin" --save-server sub/other.bin
it_stop "$IT_SERVER_PID" 10

# --- a file directory that does not exist
files_config false "$IT_DIR/none" >"$IT_DIR/bad.cfg"
out=$(timeout 20 "$SERVER" --config "$IT_DIR/bad.cfg" --host server0 2>&1)
rc=$?
if [ $rc -ne 0 ] && printf '%s' "$out" | grep -q "bad.cfg:[0-9]* - host 'server0': file_dir"; then
	it_pass "missing file_dir refused: $(printf '%s\n' "$out" | grep file_dir)"
else
	it_fail "missing file_dir: rc $rc: $out"
fi

it_summary
