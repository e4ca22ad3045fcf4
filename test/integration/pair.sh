#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Integration test: a real rpci-server and real rpci-run processes joined by
# memif (config/pair.cfg) exchange real frames. Every job at several sizes,
# sizes that are not powers of two, transfers far larger than one frame,
# both copy modes, bad usage, a bad config file, a client and a server that
# die in the middle of a job.
#
# usage: pair.sh BUILD_DIR SOURCE_DIR

BUILD=${1:?build dir}
SRC=${2:?source dir}
. "$SRC/test/integration/lib.sh"

SERVER="$BUILD/app/rpci-server"
RUN="$BUILD/app/rpci-run"
CFG="$IT_DIR/pair.cfg"
it_pair_config "$SRC/config/pair.cfg" "$CFG"

run_job() {
	timeout -s KILL 180 "$RUN" --config "$CFG" --host client0 "$@" \
		>"$IT_DIR/run.log" 2>&1
}

job_ok() {
	local name="job $*"
	if run_job "$@" && grep -q '^verified$' "$IT_DIR/run.log"; then
		it_pass "$name ($(grep -o 'total [0-9.]* ms' "$IT_DIR/run.log"))"
	else
		it_fail "$name"
		cat "$IT_DIR/run.log"
	fi
}

# usage errors: exit 2 with one line, before anything starts
usage_error() {
	local name=$1
	shift
	local out
	out=$("$RUN" "$@" 2>&1)
	local rc=$?
	if [ $rc -eq 2 ] && [ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ]; then
		it_pass "usage: $name ($out)"
	else
		it_fail "usage: $name: rc $rc, output: $out"
	fi
}

usage_error "unknown job" --config "$CFG" --host client0 --job nope --n 4
usage_error "n = 0" --config "$CFG" --host client0 --job saxpy --n 0
usage_error "missing size" --config "$CFG" --host client0 --job vector-add
usage_error "sgemm without k" --config "$CFG" --host client0 --job sgemm --m 4 --n 4
usage_error "not a size" --config "$CFG" --host client0 --job reduce --n 12x

# a bad file is refused with file:line, and nothing starts
sed 's/mtu = 1500;/mtu = "big";/' "$CFG" >"$IT_DIR/bad.cfg"
bad_line=$(grep -n 'mtu = "big"' "$IT_DIR/bad.cfg" | cut -d: -f1)
out=$(timeout 20 "$SERVER" --config "$IT_DIR/bad.cfg" --host server0 2>&1)
rc=$?
if [ $rc -ne 0 ] && printf '%s' "$out" | grep -q "bad.cfg:$bad_line - "; then
	it_pass "bad config refused: $out"
else
	it_fail "bad config: rc $rc, output: $out"
fi
printf 'hosts = ( { name = "x" }\n' >"$IT_DIR/syntax.cfg"
out=$(timeout 20 "$RUN" --config "$IT_DIR/syntax.cfg" --host x --job saxpy --n 4 2>&1)
rc=$?
if [ $rc -eq 2 ] && printf '%s' "$out" | grep -q "syntax.cfg:[0-9]* - "; then
	it_pass "syntax error refused: $out"
else
	it_fail "syntax error: rc $rc, output: $out"
fi

# no server yet: the client says so instead of hanging
if timeout 60 "$RUN" --config "$CFG" --host client0 --job saxpy --n 4 >"$IT_DIR/run.log" 2>&1; then
	it_fail "client without a server succeeded?"
else
	rc=$?
	if [ $rc -eq 1 ]; then
		it_pass "client without a server: $(tail -n 1 "$IT_DIR/run.log")"
	else
		it_fail "client without a server: rc $rc"
		cat "$IT_DIR/run.log"
	fi
fi

it_start_server "$SERVER" "$CFG" server0 "$IT_DIR/server.log" || { it_summary; exit 1; }

if run_job --info && grep -q "7270:0001.*class 030200" "$IT_DIR/run.log"; then
	it_pass "device info: personality from the config"
else
	it_fail "device info"
	cat "$IT_DIR/run.log"
fi

job_ok --job vector-add --n 1 --data int
job_ok --job vector-add --n 1000 --data int
job_ok --job vector-add --n 1048583
job_ok --job saxpy --n 3 --data int
job_ok --job saxpy --n 100003
job_ok --job saxpy --n 100003 --h2d pull
job_ok --job saxpy --n 4M --data int --h2d pull
job_ok --job sgemm --m 1 --n 1 --k 1 --data int
job_ok --job sgemm --m 3 --n 5 --k 7
job_ok --job sgemm --m 65 --n 33 --k 17 --data int
job_ok --job sgemm --m 127 --n 200 --k 31
job_ok --job sgemm --m 256 --n 256 --k 256
job_ok --job reduce --n 1 --data int
job_ok --job reduce --n 4097 --data int
job_ok --job reduce --n 1000003
job_ok --job reduce --n 16M --data int

rm -f "$IT_DIR/out.json"
if run_job --job saxpy --n 5000 --seed 7 --json "$IT_DIR/out.json" &&
	grep -q '"job":"saxpy".*"result":"verified"' "$IT_DIR/out.json"; then
	it_pass "JSON result"
else
	it_fail "JSON result"
	cat "$IT_DIR/run.log" "$IT_DIR/out.json" 2>/dev/null
fi

# a client killed in the middle of a job: the server frees the device and
# serves the next client
attached=$(grep -c "attached to client" "$IT_DIR/server.log")
it_bg "$RUN" --config "$CFG" --host client0 --job sgemm --m 2000 --n 2000 --k 2000 \
	>"$IT_DIR/victim.log" 2>&1
victim=$IT_BG_PID
# rpci-run computes the reference before it opens the device: kill it once
# the server has it, in the middle of its copies (the whole job takes less
# than half a second on a fast host)
for i in $(seq 1 600); do
	[ "$(grep -c "attached to client" "$IT_DIR/server.log")" -gt "$attached" ] && break
	sleep 0.05
done
sleep 0.1
kill -KILL "$victim" 2>/dev/null
wait "$victim" 2>/dev/null
rm -rf "/var/run/dpdk/${IT_ID}-client0"
freed=0
for i in $(seq 1 150); do
	if grep -q "is gone" "$IT_DIR/server.log"; then
		freed=1
		break
	fi
	sleep 0.1
done
if [ $freed -eq 1 ] && kill -0 "$IT_SERVER_PID" 2>/dev/null; then
	it_pass "killed client: server noticed and freed the device"
else
	it_fail "killed client: server did not free the device"
	cat "$IT_DIR/server.log"
fi
job_ok --job vector-add --n 77777 --data int

# the server stops in order on SIGINT
it_stop "$IT_SERVER_PID" 20
rc=$?
if [ $rc -eq 0 ] && grep -q "shutting down" "$IT_DIR/server.log"; then
	it_pass "server stops cleanly on SIGINT ($(grep -c 'closed its session' "$IT_DIR/server.log") clients served)"
else
	it_fail "server stop: rc $rc"
	tail -n 20 "$IT_DIR/server.log"
fi

# a server killed in the middle of a job: the client returns an error, no hang
# (a device 50 times slower, so that the client is waiting for the kernel)
sed 's/slowdown = 1.0;/slowdown = 50.0;/' "$CFG" >"$IT_DIR/slow.cfg"
it_start_server "$SERVER" "$IT_DIR/slow.cfg" server0 "$IT_DIR/server2.log" ||
	{ it_summary; exit 1; }
it_bg "$RUN" --config "$IT_DIR/slow.cfg" --host client0 --job sgemm --m 1000 --n 1000 \
	--k 1000 >"$IT_DIR/orphan.log" 2>&1
orphan=$IT_BG_PID
for i in $(seq 1 300); do
	grep -q "attached to client" "$IT_DIR/server2.log" && break
	sleep 0.1
done
sleep 0.5
kill -KILL "$IT_SERVER_PID" 2>/dev/null
wait "$IT_SERVER_PID" 2>/dev/null
start=$(date +%s)
it_wait_exit "$orphan" 60
rc=$?
took=$(($(date +%s) - start))
if [ $rc -eq 1 ] && grep -q "rpci-run: .*lost the device" "$IT_DIR/orphan.log" &&
	! grep -q "^verified" "$IT_DIR/orphan.log"; then
	it_pass "killed server: client reports it after ${took} s: $(grep 'rpci-run:' "$IT_DIR/orphan.log" | tail -n 1)"
else
	it_fail "killed server: client rc $rc after ${took} s"
	cat "$IT_DIR/orphan.log"
fi

it_summary
