#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Integration test of the client daemon (rpci-proxy): a real rpci-server and
# a real rpci-proxy joined by memif, and ordinary programs (rpci-run
# --proxy, no EAL) that use the remote devices through the proxy:
#   - three programs at once, one of them an unprivileged user, each on a
#     device of its own, all verified;
#   - a program killed with SIGKILL in the middle of its copies: the proxy
#     gives its device back (the server clears it), another program goes on
#     and finishes verified, and the next program gets the device;
#   - a socket whose mode keeps a user out: that user is refused, with the
#     reason;
#   - a malicious local program (test/tools/rpci-ipc-abuse) breaking the
#     protocol every way it knows: refused or cut off, counted, and the
#     proxy serves the next program;
#   - the proxy killed while a program waits for a long kernel: the program
#     returns an error, not a hang; a restarted proxy serves a new program.
#
# usage: proxy.sh BUILD_DIR SOURCE_DIR

BUILD=${1:?build dir}
SRC=${2:?source dir}
. "$SRC/test/integration/lib.sh"

SERVER="$BUILD/app/rpci-server"
PROXY="$BUILD/app/rpci-proxy"
RUN="$BUILD/app/rpci-run"
ABUSE="$BUILD/test/tools/rpci-ipc-abuse"
CFG="$IT_DIR/pair.cfg"
SOCK="$IT_DIR/proxy.sock"

# pair.cfg with names of our own and a third device, 20 times slower (the
# long kernel the killed proxy's program waits for).
it_pair_config "$SRC/config/pair.cfg" "$IT_DIR/pair2.cfg"
sed -z 's|            }\n        );|            },\n            { name = "vgpu2"; backend = "cpu"; memory_mb = 64; vendor_id = 0x7270; device_id = 0x0001; class_code = 0x030200; slowdown = 20.0; }\n        );|' \
	"$IT_DIR/pair2.cfg" >"$CFG"
if ! "$BUILD/app/rpci-conf" --config "$CFG" >/dev/null; then
	it_fail "test config: $("$BUILD/app/rpci-conf" --config "$CFG" 2>&1)"
	it_summary
	exit 1
fi
# The test's key files, next to its config (the shipped ones are made by
# rpci-build.sh next to config/).
"$BUILD/app/rpci-conf" --config "$CFG" --gen-keys >/dev/null 2>&1

# user nobody must reach the build tree and the socket's directory
NOBODY=""
if [ "$(id -u)" -eq 0 ] && id nobody >/dev/null 2>&1 && command -v setpriv >/dev/null &&
	setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups test -x "$RUN"; then
	NOBODY="setpriv --reuid=nobody --regid=$(id -g nobody) --clear-groups"
	chmod 0755 "$IT_DIR"
fi

start_proxy() { # start_proxy CFG LOG: the proxy in the background, until it serves
	it_start_proxy "$PROXY" "$1" client0 "$2"
}

prog() { # prog LOG ARGS...: rpci-run as a program of the proxy, bounded
	local log=$1
	shift
	timeout -s KILL 180 "$RUN" --proxy "$SOCK" "$@" >"$log" 2>&1
}

verified() {
	grep -q '^verified$' "$1"
}

it_start_server "$SERVER" "$CFG" server0 "$IT_DIR/server.log" || { it_summary; exit 1; }
start_proxy "$CFG" "$IT_DIR/proxy.log" || { it_summary; exit 1; }

# --- no EAL, no port, no config: a program of the proxy
if prog "$IT_DIR/info.log" --info && grep -q "7270:0001.*class 030200" "$IT_DIR/info.log"; then
	it_pass "a program of the proxy: $(grep -o 'device on [^,]*, [^ ]*' "$IT_DIR/info.log")"
else
	it_fail "device info through the proxy"
	cat "$IT_DIR/info.log"
fi

# --- three programs at once, each on a device of its own; one unprivileged, on
# the slow vgpu2, started first: the others start once it is connected, and
# its kernel (about a second) outlasts their start on a loaded machine too
before=$(grep -c ' connected: requester' "$IT_DIR/proxy.log")
if [ -n "$NOBODY" ]; then
	$NOBODY timeout -s KILL 180 "$RUN" --proxy "$SOCK" --device vgpu2 --job sgemm \
		--m 1000 --n 1000 --k 800 --data int >"$IT_DIR/p2.log" 2>&1 &
else
	prog "$IT_DIR/p2.log" --device vgpu2 --job sgemm --m 1000 --n 1000 --k 800 --data int &
fi
p2=$!
for i in $(seq 1 100); do
	[ "$(grep -c ' connected: requester' "$IT_DIR/proxy.log")" -gt "$before" ] && break
	sleep 0.05
done
prog "$IT_DIR/p0.log" --device vgpu0 --job saxpy --n 8M --data int &
p0=$!
prog "$IT_DIR/p1.log" --device vgpu1 --job sgemm --m 300 --n 200 --k 400 &
p1=$!
wait $p0; r0=$?
wait $p1; r1=$?
wait $p2; r2=$?
if [ $r0 -eq 0 ] && [ $r1 -eq 0 ] && [ $r2 -eq 0 ] && verified "$IT_DIR/p0.log" &&
	verified "$IT_DIR/p1.log" && verified "$IT_DIR/p2.log"; then
	it_pass "three programs at once on three devices, verified$([ -n "$NOBODY" ] && echo ", one as user nobody")"
else
	it_fail "three programs at once: rc $r0 $r1 $r2"
	cat "$IT_DIR/p0.log" "$IT_DIR/p1.log" "$IT_DIR/p2.log"
fi
if [ -n "$NOBODY" ] && grep -q "uid 65534" "$IT_DIR/proxy.log"; then
	it_pass "the proxy saw the unprivileged program (uid 65534)"
elif [ -n "$NOBODY" ]; then
	it_fail "no program of uid 65534 in the proxy's log"
fi
# Programs connected at the same time are functions of their own (a requester
# id is reused only once its program is gone); from the proxy's log.
reqids=$(awk '
	/ connected: requester / {
		match($0, /program [0-9]+ \(/); id = substr($0, RSTART + 8, RLENGTH - 10)
		rq = $0; sub(/.*requester /, "", rq); sub(/,.*/, "", rq)
		for (o in live) if (live[o] == rq) clash++
		live[id] = rq; n = 0; for (o in live) n++; if (n > most) most = n
		next
	}
	/rpci.proxy: .*program [0-9]+ \(.*, pid [0-9-]+\): / {
		match($0, /program [0-9]+ \(/); delete live[substr($0, RSTART + 8, RLENGTH - 10)]
	}
	END { printf "%d %d", most, clash }' "$IT_DIR/proxy.log")
if [ "${reqids% *}" -ge 2 ] && [ "${reqids#* }" -eq 0 ]; then
	it_pass "each program a function of its own: up to ${reqids% *} at once, no requester id shared"
else
	it_fail "requester ids (most at once, shared): $reqids"
	grep 'requester\|program [0-9]* (' "$IT_DIR/proxy.log"
fi

# --- a program killed in the middle of its copies; another goes on
cleared=$(grep -c "vgpu0: device cleared" "$IT_DIR/server.log")
prog "$IT_DIR/other.log" --device vgpu1 --job reduce --n 16M --data int &
other=$!
prog "$IT_DIR/victim.log" --device vgpu0 --job saxpy --n 16M --data int &
victim=$!
opened=$(grep -c "server0/vgpu0 open" "$IT_DIR/proxy.log")
for i in $(seq 1 600); do
	[ "$(grep -c "server0/vgpu0 open" "$IT_DIR/proxy.log")" -gt "$opened" ] && break
	sleep 0.05
done
sleep 0.1
kill -KILL "$victim" 2>/dev/null
wait "$victim" 2>/dev/null
wait "$other"
rc=$?
if [ $rc -eq 0 ] && verified "$IT_DIR/other.log"; then
	it_pass "the other program finished verified while one was killed"
else
	it_fail "the other program: rc $rc"
	cat "$IT_DIR/other.log"
fi
freed=0
for i in $(seq 1 100); do
	if grep -q "program went away" "$IT_DIR/proxy.log" &&
		[ "$(grep -c "vgpu0: device cleared" "$IT_DIR/server.log")" -gt "$cleared" ]; then
		freed=1
		break
	fi
	sleep 0.1
done
if [ $freed -eq 1 ]; then
	it_pass "killed program: the proxy gave its device back, the server cleared it"
else
	it_fail "killed program: device not given back"
	tail -n 20 "$IT_DIR/proxy.log" "$IT_DIR/server.log"
fi
if prog "$IT_DIR/next.log" --device vgpu0 --job vector-add --n 77777 --data int &&
	verified "$IT_DIR/next.log"; then
	it_pass "the next program got the killed program's device, verified"
else
	it_fail "the next program on vgpu0"
	cat "$IT_DIR/next.log"
fi

# --- a malicious local program: refused, cut off, counted; the proxy lives on
if timeout 120 "$ABUSE" "$SOCK" --seed 7 --rounds 20 >"$IT_DIR/abuse.log" 2>&1; then
	it_pass "malicious program: $(grep -c . "$IT_DIR/abuse.log") lines, $(tail -n 1 "$IT_DIR/abuse.log")"
else
	it_fail "malicious program"
	cat "$IT_DIR/abuse.log"
fi
if kill -0 "$IT_PROXY_PID" 2>/dev/null && prog "$IT_DIR/after.log" --job saxpy --n 4097 &&
	verified "$IT_DIR/after.log"; then
	it_pass "the proxy survived it and serves the next program"
else
	it_fail "the proxy after the malicious program"
	tail -n 30 "$IT_DIR/proxy.log"
fi
out=$(timeout 20 "$BUILD/app/rpci-console" --config "$CFG" --host client0 -c "show devices" 2>&1)
if printf '%s' "$out" | grep -q "cut off [1-9]"; then
	it_pass "counted: $(printf '%s' "$out" | grep -o 'programs: .*')"
else
	it_fail "show devices does not count the program cut off: $out"
fi

# --- the proxy killed while a program waits for a long kernel
prog "$IT_DIR/orphan.log" --device vgpu2 --job sgemm --m 1000 --n 1000 --k 1000 &
orphan=$!
for i in $(seq 1 600); do
	grep -q "server0/vgpu2 open" "$IT_DIR/proxy.log" && break
	sleep 0.05
done
sleep 1
kill -KILL "$IT_PROXY_PID"
wait "$IT_PROXY_PID" 2>/dev/null
start=$(date +%s%N)
it_wait_exit "$orphan" 30
rc=$?
took=$((($(date +%s%N) - start) / 1000000))
if [ $rc -eq 1 ] && grep -q "rpci proxy" "$IT_DIR/orphan.log" && ! verified "$IT_DIR/orphan.log"; then
	it_pass "proxy killed: its program returned an error after ${took} ms: $(grep 'rpci-run:' "$IT_DIR/orphan.log" | tail -n 1)"
else
	it_fail "proxy killed: program rc $rc after ${took} ms"
	cat "$IT_DIR/orphan.log"
fi
out=$("$RUN" --proxy "$SOCK" --info 2>&1)
rc=$?
if [ $rc -eq 1 ] && printf '%s' "$out" | grep -q "is rpci-proxy running"; then
	it_pass "no proxy: $(printf '%s' "$out" | tail -n 1)"
else
	it_fail "no proxy: rc $rc: $out"
fi

# --- a restarted proxy (the stale socket replaced) serves a new program; the
# killed proxy's sessions are given up by the server
start_proxy "$CFG" "$IT_DIR/proxy2.log" || { it_summary; exit 1; }
if prog "$IT_DIR/restart.log" --device vgpu2 --job saxpy --n 1000 --data int &&
	verified "$IT_DIR/restart.log"; then
	it_pass "a restarted proxy serves a new program"
else
	it_fail "restarted proxy"
	cat "$IT_DIR/restart.log" "$IT_DIR/proxy2.log"
fi
it_stop "$IT_PROXY_PID" 20

# --- a socket that lets only its owner in: user nobody is refused
if [ -n "$NOBODY" ]; then
	sed 's/mode = "0666";/mode = "0600";/' "$CFG" >"$IT_DIR/closed.cfg"
	start_proxy "$IT_DIR/closed.cfg" "$IT_DIR/proxy3.log" || { it_summary; exit 1; }
	out=$($NOBODY "$RUN" --proxy "$SOCK" --info 2>&1)
	rc=$?
	if [ $rc -eq 1 ] && printf '%s' "$out" | grep -q "Permission denied"; then
		it_pass "mode 0600: user nobody refused: $(printf '%s' "$out" | tail -n 1)"
	else
		it_fail "mode 0600: user nobody: rc $rc: $out"
	fi
	if prog "$IT_DIR/owner.log" --info; then
		it_pass "mode 0600: its owner is served"
	else
		it_fail "mode 0600: owner"
		cat "$IT_DIR/owner.log"
	fi
	it_stop "$IT_PROXY_PID" 20
fi

# --- the proxy stops in order
if grep -q "shutting down" "$IT_DIR/proxy2.log"; then
	it_pass "the proxy stops in order on SIGINT: $(grep -o '[0-9]* programs ([^)]*)' "$IT_DIR/proxy2.log")"
else
	it_fail "proxy stop"
	tail -n 5 "$IT_DIR/proxy2.log"
fi

it_summary
