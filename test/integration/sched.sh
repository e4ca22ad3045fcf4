#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Integration test of the management modes on the demo cluster
# (config/demo-cluster.cfg with names of our own, usertools/rpci-cluster):
#   - a text from app0 to app1 through the selector arrives, under app0's
#     name (the selector names the sender from the frame's source)
#   - usage statistics: per client in the selector's "show clients", per
#     device in its table (JSON), per client on a server (/rpci/clients)
#   - the learned policy with servers of different speeds: after its
#     warm-up (two jobs on each server), at least 80 % of 30 sgemm jobs go to
#     the fastest server. The speeds: gpu0 runs kernels on 2 threads, gpu1 on
#     1 thread 3 times slower (the demo has it at full speed), gpu2 on 1
#     thread 4 times slower (as in the demo).
# Needs root (namespaces); exits 77 (skipped) without. Bounded: about a
# minute and a half here.
#
# usage: sched.sh BUILD_DIR SOURCE_DIR

BUILD=${1:?build dir}
SRC=${2:?source dir}
. "$SRC/test/integration/lib.sh"

if [ "$(id -u)" -ne 0 ] || ! command -v ip >/dev/null; then
	echo "sched: needs root and iproute2; skipped"
	exit 77
fi

TAG="is$$"
CFG="$IT_DIR/$TAG.cfg"
CLUSTER="$SRC/usertools/rpci-cluster"
export RPCI_BUILD=$BUILD
JOBS=30

# The demo file with our file prefixes and console sockets, gpu1 slower.
awk -v id="$IT_ID" -v dir="$IT_DIR" '
	/^ *name = "/ { split($0, q, "\""); host = q[2] }
	{ sub(/file_prefix = "demo-/, "file_prefix = \"" id "-") }
	{ sub(/socket = "\/run\/rpci\/demo-/, "socket = \"" dir "/") }
	host == "gpu1" && /slowdown = / { sub(/slowdown = [0-9.]*/, "slowdown = 3.0") }
	{ print }
	/^ *idle = / { printf "        console = \"%s/%s.sock\";\n", dir, host }
' "$SRC/config/demo-cluster.cfg" >"$CFG"

sched_cleanup() {
	"$CLUSTER" down "$CFG" >/dev/null 2>&1
	it_cleanup
}
trap sched_cleanup EXIT

console() {
	timeout 20 "$BUILD/app/rpci-console" --config "$CFG" --host "${HOST:-ctl0}" "$@" 2>&1
}

run() { # run HOST LOG ARGS...: rpci-run on HOST, bounded
	local host=$1 log=$2
	shift 2
	timeout -s KILL 120 "$CLUSTER" run "$CFG" "$host" "$@" >"$log" 2>&1
}

server_of() { # the server a run's device was on
	grep -o 'device 1 of 1: [a-z]* on [a-z0-9]*' "$1" | awk '{ print $NF }'
}

if "$CLUSTER" up "$CFG" >"$IT_DIR/up.log" 2>&1; then
	it_pass "cluster up"
else
	it_fail "cluster up"
	cat "$IT_DIR/up.log"
	it_summary
	exit 1
fi
for i in $(seq 1 50); do
	[ "$(console -c "show table" | grep -c ' free ')" -eq 3 ] && break
	sleep 0.2
done

# --- a text from app0 to app1
"$CLUSTER" run "$CFG" app1 --recv --wait 30 >"$IT_DIR/recv.log" 2>&1 &
recv=$!
IT_PIDS="$IT_PIDS $recv"
sleep 3 # app1 up and listening (the selector retries for 2 s more)
if run app0 "$IT_DIR/send.log" --send app1 "hello from app0"; then
	it_pass "app0 sent: $(grep 'rpci-run: sent' "$IT_DIR/send.log")"
else
	it_fail "send: $(cat "$IT_DIR/send.log")"
fi
it_wait_exit "$recv" 40
rc=$?
msgs=$("$SRC/usertools/rpci-telemetry" --file-prefix "$IT_ID-ctl0" /rpci/selector |
	tr -d ' \n' | grep -o '"messages":[0-9]*,"messages_refused":[0-9]*')
if [ $rc -eq 0 ] && grep -q '^rpci-run: message from app0: hello from app0$' "$IT_DIR/recv.log" &&
	[ "$msgs" = '"messages":1,"messages_refused":0' ]; then
	it_pass "app1: $(grep 'message from' "$IT_DIR/recv.log"); the selector: $msgs"
else
	it_fail "receive: rc $rc, selector $msgs: $(cat "$IT_DIR/recv.log")"
fi

# --- the learned policy
out=$(console -c "set policy learned")
[ $? -eq 0 ] && it_pass "console: $out" || it_fail "set policy: $out"
job=(--job sgemm --m 256 --n 256 --k 1024 --data int)
declare -A warm
for i in 1 2 3 4 5 6; do
	run app0 "$IT_DIR/w$i.log" "${job[@]}" && grep -q '^verified$' "$IT_DIR/w$i.log" ||
		it_fail "warm-up job $i: $(tail -n 3 "$IT_DIR/w$i.log")"
	s=$(server_of "$IT_DIR/w$i.log")
	warm[$s]=$((${warm[$s]:-0} + 1))
done
if [ "${warm[gpu0]:-0}" -eq 2 ] && [ "${warm[gpu1]:-0}" -eq 2 ] && [ "${warm[gpu2]:-0}" -eq 2 ]; then
	it_pass "warm-up: two jobs on each of ${!warm[*]} (a device with fewer than two reports is tried first)"
else
	it_fail "warm-up went to: gpu0 ${warm[gpu0]:-0}, gpu1 ${warm[gpu1]:-0}, gpu2 ${warm[gpu2]:-0}"
fi
declare -A on
failed=0
for i in $(seq 1 $JOBS); do
	if run app0 "$IT_DIR/j.log" "${job[@]}" && grep -q '^verified$' "$IT_DIR/j.log"; then
		s=$(server_of "$IT_DIR/j.log")
		on[$s]=$((${on[$s]:-0} + 1))
	else
		failed=$((failed + 1))
	fi
done
fast=${on[gpu0]:-0}
summary="gpu0 ${on[gpu0]:-0}, gpu1 ${on[gpu1]:-0}, gpu2 ${on[gpu2]:-0}"
if [ $failed -eq 0 ] && [ $((fast * 100)) -ge $((JOBS * 80)) ]; then
	it_pass "learned placement: $fast of $JOBS jobs on the fast server gpu0 ($summary)"
else
	it_fail "learned placement: $summary, $failed failed"
fi
console -c "show table" | sed 's/^/    /'

# --- usage statistics
out=$(console -c "show clients")
row=$(printf '%s\n' "$out" | grep '^02:72:70:63:02:01 app0 ')
sessions=$(printf '%s' "$row" | awk '{ print $3 }')
kernels=$(printf '%s' "$row" | awk '{ print $6 }')
if [ "${sessions:-0}" -ge $((JOBS + 6)) ] && [ "${kernels:-0}" -ge $((JOBS + 6)) ]; then
	it_pass "the selector's show clients: $row"
else
	it_fail "show clients: $out"
fi
json=$(console -c "show table json")
k0=$(printf '%s' "$json" | grep -o '"server":"gpu0"[^}]*' | grep -o '"kernels":[0-9]*' | cut -d: -f2)
if [ "${k0:-0}" -ge "$fast" ]; then
	it_pass "the table's usage of gpu0: $k0 kernels"
else
	it_fail "table usage: $json"
fi
tel=$("$SRC/usertools/rpci-telemetry" --file-prefix "$IT_ID-gpu0" /rpci/clients | tr -d ' \n')
if printf '%s' "$tel" | grep -q '"mac_02_72_70_63_02_01":\["host=app0",[^]]*"sessions=[1-9]'; then
	it_pass "gpu0's /rpci/clients: $(printf '%s' "$tel" | cut -c1-160)"
else
	it_fail "telemetry /rpci/clients: $tel"
fi

"$CLUSTER" down "$CFG" >/dev/null 2>&1
it_summary
