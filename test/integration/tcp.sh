#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Integration test: a real rpci-server and real rpci-run processes joined by
# a kernel-TCP connection on 127.0.0.1 (config/pair-tcp.cfg: net_rpci_tcp
# ports) in place of memif. Every job verified, at MTU 1500 and 9000, a
# client without a server, a client and a server that die in the middle of
# a job, and a TCP peer without the keys that connects to the server's port
# while a client's session is live: it takes nothing over, is dropped and
# counted (/rpci/link tcp_takeovers_refused, /rpci/security open_unsigned).
#
# usage: tcp.sh BUILD_DIR SOURCE_DIR

BUILD=${1:?build dir}
SRC=${2:?source dir}
. "$SRC/test/integration/lib.sh"

SERVER="$BUILD/app/rpci-server"
RUN="$BUILD/app/rpci-run"
CFG="$IT_DIR/pair-tcp.cfg"
FRAMES="$SRC/test/tools/rpci-frames.py"
M_SERVER=02:72:70:63:69:01
M_CLIENT=02:72:70:63:69:02
# frames a candidate connection may send before one of them must verify
PROBATION_FRAMES=$(awk '/#define RPCI_PORT_TCP_PROBATION_FRAMES/ { print $3 }' \
	"$SRC/lib/link/rpci_port_tcp.h")

# A TCP port nobody listens on, from our PID.
tcp_port=$((20000 + $$ % 30000))
for i in $(seq 1 50); do
	if ! ss -Hltn "sport = :$tcp_port" 2>/dev/null | grep -q .; then
		break
	fi
	tcp_port=$((tcp_port + 1))
done

# names of our own: EAL prefixes, the TCP port, the server's console socket
sed -e "s|127.0.0.1:7310|127.0.0.1:${tcp_port}|g" \
    -e "s|\"rpci-tcp-server0\"|\"${IT_ID}-server0\"|" \
    -e "s|\"rpci-tcp-client0\"|\"${IT_ID}-client0\"|" \
    -e "s|name = \"server0\";|name = \"server0\";\n        console = \"${IT_DIR}/server0.sock\";|" \
    "$SRC/config/pair-tcp.cfg" >"$CFG"
grep -q "net_rpci_tcp0,listen=127.0.0.1:${tcp_port}" "$CFG" || {
	it_fail "config: no TCP port in $CFG"
	it_summary
	exit 1
}
# the keys of its hosts (every session is authenticated), before any client runs
it_keys "$CFG"

# tel PATH FIELD: a counter of the server's telemetry (/rpci/link, /rpci/security)
tel() {
	"$SRC/usertools/rpci-telemetry" --file-prefix "$IT_ID-server0" "$1" |
		python3 -c "import json, sys; print(json.load(sys.stdin)['$1']['$2'])" \
			2>/dev/null || echo "?"
}

# wait_attached LOG N: until the server's log shows its Nth attach (20 s at most)
wait_attached() {
	local i
	for i in $(seq 1 200); do
		if [ "$(grep -c 'attached to client' "$1")" -ge "$2" ]; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}

run_job() {
	local cfg=$1
	shift
	timeout -s KILL 180 "$RUN" --config "$cfg" --host client0 "$@" \
		>"$IT_DIR/run.log" 2>&1
}

job_ok() {
	local cfg=$1
	shift
	local name="job $* ($(basename "$cfg"))"
	if run_job "$cfg" "$@" && grep -q '^verified$' "$IT_DIR/run.log"; then
		it_pass "$name ($(grep -o 'total [0-9.]* ms' "$IT_DIR/run.log"))"
	else
		it_fail "$name"
		cat "$IT_DIR/run.log"
	fi
}

# no server yet: the port never comes up, the client says so instead of hanging
start=$(date +%s)
if run_job "$CFG" --job saxpy --n 4; then
	it_fail "client without a server succeeded?"
else
	rc=$?
	if [ $rc -eq 1 ] && grep -q "did not come up" "$IT_DIR/run.log"; then
		it_pass "client without a server: $(tail -n 1 "$IT_DIR/run.log") ($(($(date +%s) - start)) s)"
	else
		it_fail "client without a server: rc $rc"
		cat "$IT_DIR/run.log"
	fi
fi

it_start_server "$SERVER" "$CFG" server0 "$IT_DIR/server.log" || { it_summary; exit 1; }
if grep -q "on port 0 (net_rpci_tcp)" "$IT_DIR/server.log"; then
	it_pass "server on its TCP port: $(grep -o 'listening on [0-9.:]*' "$IT_DIR/server.log")"
else
	it_fail "server port"
	cat "$IT_DIR/server.log"
fi

if run_job "$CFG" --info && grep -q "7270:0001.*class 030200" "$IT_DIR/run.log"; then
	it_pass "device info over TCP"
else
	it_fail "device info"
	cat "$IT_DIR/run.log"
fi

job_ok "$CFG" --job vector-add --n 1 --data int
job_ok "$CFG" --job vector-add --n 1048583
job_ok "$CFG" --job saxpy --n 100003
job_ok "$CFG" --job saxpy --n 100003 --h2d pull
job_ok "$CFG" --job saxpy --n 4M --data int --h2d pull
job_ok "$CFG" --job sgemm --m 65 --n 33 --k 17 --data int
job_ok "$CFG" --job sgemm --m 256 --n 256 --k 256
job_ok "$CFG" --job reduce --n 4097 --data int
job_ok "$CFG" --job reduce --n 1000003

it_stop "$IT_SERVER_PID" 20
rc=$?
if [ $rc -eq 0 ] && grep -q "shutting down" "$IT_DIR/server.log"; then
	it_pass "server stops cleanly on SIGINT ($(grep -c 'closed its session' "$IT_DIR/server.log") clients served, $(grep -c 'net_rpci_tcp0: connected' "$IT_DIR/server.log") connections)"
else
	it_fail "server stop: rc $rc"
	tail -n 20 "$IT_DIR/server.log"
fi

# jumbo frames: MTU 9000 over the same connection
sed 's/mtu = 1500;/mtu = 9000;/' "$CFG" >"$IT_DIR/jumbo.cfg"
it_start_server "$SERVER" "$IT_DIR/jumbo.cfg" server0 "$IT_DIR/server-jumbo.log" ||
	{ it_summary; exit 1; }
job_ok "$IT_DIR/jumbo.cfg" --job vector-add --n 1048583
job_ok "$IT_DIR/jumbo.cfg" --job saxpy --n 4M --data int
job_ok "$IT_DIR/jumbo.cfg" --job saxpy --n 1000003 --h2d pull
job_ok "$IT_DIR/jumbo.cfg" --job sgemm --m 127 --n 200 --k 31
job_ok "$IT_DIR/jumbo.cfg" --job reduce --n 16M --data int
it_stop "$IT_SERVER_PID" 20 || it_fail "jumbo server stop"

# the slow device
sed 's/slowdown = 1.0;/slowdown = 50.0;/' "$CFG" >"$IT_DIR/slow.cfg"
it_start_server "$SERVER" "$IT_DIR/slow.cfg" server0 "$IT_DIR/server2.log" ||
	{ it_summary; exit 1; }
# a client killed in the middle of a job (a device 50 times slower, so that
# it is waiting for the kernel): the server frees the device when the peer
# is dead, and its listening port takes the next client's connection
attached=$(grep -c 'attached to client' "$IT_DIR/server2.log")
cleared=$(grep -c 'device cleared' "$IT_DIR/server2.log")
it_bg "$RUN" --config "$IT_DIR/slow.cfg" --host client0 --job sgemm --m 600 --n 600 --k 600 \
	>"$IT_DIR/victim.log" 2>&1
victim=$IT_BG_PID
wait_attached "$IT_DIR/server2.log" $((attached + 1))
sleep 0.5
kill -KILL "$victim" 2>/dev/null
wait "$victim" 2>/dev/null
rm -rf "/var/run/dpdk/${IT_ID}-client0"
freed=0
for i in $(seq 1 150); do
	if grep -q "is gone" "$IT_DIR/server2.log"; then
		freed=1
		break
	fi
	sleep 0.1
done
if [ $freed -eq 1 ] && kill -0 "$IT_SERVER_PID" 2>/dev/null &&
	! grep -q "^verified" "$IT_DIR/victim.log"; then
	it_pass "killed client: server noticed and freed the device"
else
	it_fail "killed client: server did not free the device"
	tail -n 20 "$IT_DIR/server2.log"
fi
# the server refuses the device until the killed client's kernel has ended and
# the device is cleared: wait for that (90 s at most; a sanitizer build is slow)
for i in $(seq 1 900); do
	if [ "$(grep -c 'device cleared' "$IT_DIR/server2.log")" -gt "$cleared" ]; then
		break
	fi
	sleep 0.1
done
job_ok "$IT_DIR/slow.cfg" --job vector-add --n 77777 --data int

# a TCP peer without the keys connects to the server's port while a client's
# session is live (its job waits for the slow device's kernel): a new
# connection is only a candidate until a frame of it verifies, so its OPEN
# (no authentication block) and its frames (plain DATA in the client's name)
# take nothing over; it is dropped once it has sent too many frames, counted,
# and the client's job goes on, verified
attached=$(grep -c 'attached to client' "$IT_DIR/server2.log")
it_bg "$RUN" --config "$IT_DIR/slow.cfg" --host client0 --job sgemm --m 1000 --n 1000 --k 1000 \
	--data int >"$IT_DIR/live.log" 2>&1
live=$IT_BG_PID
wait_attached "$IT_DIR/server2.log" $((attached + 1))
refused=$(tel /rpci/link tcp_takeovers_refused)
takeovers=$(tel /rpci/link tcp_takeovers)
unsigned=$(tel /rpci/security open_unsigned)
rogue=$(timeout 20 python3 "$FRAMES" tcp-rogue "127.0.0.1:$tcp_port" "$M_CLIENT" "$M_SERVER" \
	$((PROBATION_FRAMES + 16)) 2>&1)
for i in $(seq 1 30); do
	refused2=$(tel /rpci/link tcp_takeovers_refused)
	[ "$refused2" != "?" ] && [ "$refused" != "?" ] && [ "$refused2" -gt "$refused" ] && break
	sleep 0.1
done
takeovers2=$(tel /rpci/link tcp_takeovers)
unsigned2=$(tel /rpci/security open_unsigned)
if printf '%s' "$rogue" | grep -q '"closed_by_peer": true' && [ "$refused2" != "?" ] &&
	[ "$refused" != "?" ] && [ "$refused2" -gt "$refused" ] &&
	[ "$takeovers2" = "$takeovers" ] && [ "$unsigned2" != "?" ] &&
	[ "$unsigned" != "?" ] && [ "$unsigned2" -gt "$unsigned" ] && kill -0 "$live" 2>/dev/null
then
	it_pass "a TCP peer without the keys during a session: dropped, tcp_takeovers_refused $refused -> $refused2, open_unsigned $unsigned -> $unsigned2, tcp_takeovers $takeovers -> $takeovers2 ($(grep -o 'a new connection dropped: [a-z ]*[a-z]' "$IT_DIR/server2.log" | tail -n 1))"
else
	it_fail "a TCP peer without the keys: $rogue; tcp_takeovers_refused $refused -> $refused2, tcp_takeovers $takeovers -> $takeovers2, open_unsigned $unsigned -> $unsigned2, job running: $(kill -0 "$live" 2>/dev/null && echo yes || echo no)"
	tail -n 20 "$IT_DIR/server2.log"
fi
# the server has no selector: its console shows the sessions' refusals all the same
out=$(timeout 20 "$BUILD/app/rpci-console" --socket "$IT_DIR/server0.sock" -c "show security" 2>&1)
if printf '%s' "$out" | grep -q "OPENs: unsigned [1-9]"; then
	it_pass "show security on the server: $(printf '%s' "$out" | grep -o 'OPENs: [^;]*')"
else
	it_fail "show security on the server: $out"
fi
it_wait_exit "$live" 60
rc=$?
if [ $rc -eq 0 ] && grep -q '^verified$' "$IT_DIR/live.log"; then
	it_pass "the live session's job finished verified: $(grep -o 'kernel [0-9.]* ms' "$IT_DIR/live.log")"
else
	it_fail "the live session's job: rc $rc"
	cat "$IT_DIR/live.log"
fi

# a server killed in the middle of a job: the client returns an error, no hang
attached=$(grep -c 'attached to client' "$IT_DIR/server2.log")
it_bg "$RUN" --config "$IT_DIR/slow.cfg" --host client0 --job sgemm --m 1000 --n 1000 \
	--k 1000 >"$IT_DIR/orphan.log" 2>&1
orphan=$IT_BG_PID
wait_attached "$IT_DIR/server2.log" $((attached + 1))
sleep 1
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
