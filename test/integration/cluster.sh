#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Integration test of the selector on the demo cluster (config/demo-cluster.cfg
# with names of our own): a network namespace per host joined by a Linux
# bridge (usertools/rpci-cluster), rpci-selector and three rpci-server on
# af_packet ports, clients that ask the selector for devices.
#   - the table fills as servers register; telemetry and console show it
#   - two clients get two different devices at once
#   - requests that nothing meets are rejected with a reason, at once
#   - a job split over three devices is verified
#   - a console script sets the policy, drains a server, attaches and
#     detaches by hand
#   - a killed client loses its lease and its device is cleared and freed
#   - a killed server: its client finishes the job on another server, verified
# Needs root (namespaces); exits 77 (skipped) without. Leaves no namespace,
# process or socket behind.
#
# usage: cluster.sh BUILD_DIR SOURCE_DIR

BUILD=${1:?build dir}
SRC=${2:?source dir}
. "$SRC/test/integration/lib.sh"

if [ "$(id -u)" -ne 0 ] || ! command -v ip >/dev/null; then
	echo "cluster: needs root and iproute2; skipped"
	exit 77
fi

TAG="it$$"
CFG="$IT_DIR/$TAG.cfg"
CLUSTER="$SRC/usertools/rpci-cluster"
export RPCI_BUILD=$BUILD
RUNDIR=/run/rpci/cluster-$TAG

# The demo file with our file prefixes and console sockets.
awk -v id="$IT_ID" -v dir="$IT_DIR" '
	/^ *name = "/ { split($0, q, "\""); host = q[2] }
	{ sub(/file_prefix = "demo-/, "file_prefix = \"" id "-") }
	{ sub(/socket = "\/run\/rpci\/demo-/, "socket = \"" dir "/") }
	{ print }
	/^ *idle = / { printf "        console = \"%s/%s.sock\";\n", dir, host }
' "$SRC/config/demo-cluster.cfg" >"$CFG"

cluster_cleanup() {
	"$CLUSTER" down "$CFG" >/dev/null 2>&1
	it_cleanup
}
trap cluster_cleanup EXIT

console() {
	timeout 20 "$BUILD/app/rpci-console" --config "$CFG" --host ctl0 "$@" 2>&1
}

# run HOST LOG ARGS...: rpci-run on HOST, bounded.
run() {
	local host=$1 log=$2
	shift 2
	timeout -s KILL 120 "$CLUSTER" run "$CFG" "$host" "$@" >"$log" 2>&1
}

# wait_console SECONDS PATTERN ARGS...: until the console's output matches.
wait_console() {
	local secs=$1 pattern=$2 i
	shift 2
	for i in $(seq 1 $((secs * 5))); do
		console "$@" | grep -q -E "$pattern" && return 0
		sleep 0.2
	done
	return 1
}

attached_to() { # the server a run's device was on
	grep -o 'device 1 of 1: [a-z]* on [a-z0-9]*' "$1" | awk '{ print $NF }'
}

# --- up
if "$CLUSTER" up "$CFG" >"$IT_DIR/up.log" 2>&1; then
	it_pass "cluster up: $(grep -c running "$IT_DIR/up.log") daemons in $(grep -c '^  ' "$IT_DIR/up.log") namespaces"
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
if [ "$(console -c "show table" | grep -c ' free ')" -eq 3 ]; then
	it_pass "three servers registered, their devices free"
else
	it_fail "table: $(console -c 'show table')"
fi
out=$("$SRC/usertools/rpci-telemetry" --file-prefix "$IT_ID-ctl0" /rpci/table /rpci/servers)
if printf '%s' "$out" | grep -q '"rows": 3' && printf '%s' "$out" | grep -q '"servers": 3'; then
	it_pass "telemetry /rpci/table and /rpci/servers"
else
	it_fail "telemetry: $out"
fi

# --- two clients, two devices at once
it_bg run app0 "$IT_DIR/a.log" --job saxpy --n 16M --data int --min-memory 200M
a=$IT_BG_PID
wait_console 10 '^1 attachments' -c "show sessions"
it_bg run app1 "$IT_DIR/b.log" --job saxpy --n 4M --data int
b=$IT_BG_PID
if wait_console 10 '^2 attachments' -c "show sessions"; then
	it_pass "two clients attached at once"
else
	it_fail "two clients at once: $(console -c 'show sessions')"
fi
it_wait_exit "$a" 120
ra=$?
it_wait_exit "$b" 120
rb=$?
da=$(attached_to "$IT_DIR/a.log")
db=$(attached_to "$IT_DIR/b.log")
if [ $ra -eq 0 ] && [ $rb -eq 0 ] && grep -q '^verified$' "$IT_DIR/a.log" &&
	grep -q '^verified$' "$IT_DIR/b.log" && [ -n "$da" ] && [ -n "$db" ] &&
	[ "$da" != "$db" ]; then
	it_pass "two clients, two devices: app0 on $da (best fit for 200 MiB), app1 on $db, both verified"
else
	it_fail "two clients: rc $ra $rb, devices '$da' '$db'"
	cat "$IT_DIR/a.log" "$IT_DIR/b.log"
fi

# --- requests that nothing meets: rejected with a reason, not a time-out
reject() {
	local name=$1 pattern=$2 start took
	shift 2
	start=$(date +%s%N)
	run app0 "$IT_DIR/r.log" --job saxpy --n 1K "$@"
	local rc=$?
	took=$((($(date +%s%N) - start) / 1000000))
	if [ $rc -eq 1 ] && grep -q -E "$pattern" "$IT_DIR/r.log"; then
		it_pass "$name: rejected in $took ms: $(grep 'rpci-run: no device' "$IT_DIR/r.log")"
	else
		it_fail "$name: rc $rc"
		cat "$IT_DIR/r.log"
	fi
}
reject "1 GiB" "no device has 1.0 GiB" --min-memory 1G
reject "backend opencl" "no device runs backend 'opencl'" --backend opencl
reject "four devices" "only 3 of 4" --devices 4
it_bg run app1 "$IT_DIR/b.log" --job saxpy --n 16M --data int --min-memory 300M
b=$IT_BG_PID
wait_console 10 '^1 attachments' -c "show sessions"
reject "the only big device busy" "in use|busy" --min-memory 300M
it_wait_exit "$b" 120

# --- one job over three devices
if run app0 "$IT_DIR/s.log" --job sgemm --m 301 --n 200 --k 150 --data int --devices 3 &&
	grep -q '^verified$' "$IT_DIR/s.log" &&
	[ "$(grep -o 'device [0-9] of 3: cpu on gpu[0-9]' "$IT_DIR/s.log" |
		awk '{ print $NF }' | sort -u | wc -l)" -eq 3 ]; then
	it_pass "sgemm split over 3 servers by rows, verified: $(grep -c '^rpci-run: share' "$IT_DIR/s.log") shares"
else
	it_fail "split sgemm"
	cat "$IT_DIR/s.log"
fi
if run app1 "$IT_DIR/s.log" --job reduce --n 3000001 --devices 2 &&
	grep -q '^verified$' "$IT_DIR/s.log"; then
	it_pass "reduce split over 2 devices, verified"
else
	it_fail "split reduce"
	cat "$IT_DIR/s.log"
fi

# --- a console script
cat >"$IT_DIR/script" <<EOF
# policy and draining
set policy least-loaded
drain gpu2 on
show table
drain gpu2 off
set policy best-fit
show table
EOF
out=$(console -f "$IT_DIR/script")
rc=$?
if [ $rc -eq 0 ] && printf '%s\n' "$out" | grep -q '^gpu2 .*draining' &&
	printf '%s\n' "$out" | grep -q 'policy least-loaded'; then
	it_pass "console script: policy set, gpu2 drained and back"
else
	it_fail "console script: rc $rc: $out"
fi
out=$(console -c "attach gpu2 vgpu0 02:72:70:63:02:02")
lease=$(printf '%s' "$out" | grep -o 'lease [0-9]*' | head -n 1 | awk '{ print $2 }')
if [ -n "$lease" ] && console -c "show sessions" | grep -q "^$lease .*gpu2"; then
	it_pass "attach by hand: $out"
else
	it_fail "attach by hand: $out"
fi
out=$(console -c "detach ${lease:-0}" -c "show sessions")
if [ $? -eq 0 ] && printf '%s\n' "$out" | grep -q '^0 attachments'; then
	it_pass "detach by hand"
else
	it_fail "detach by hand: $out"
fi
out=$(console -c "attach gpu9 vgpu0 02:72:70:63:02:02")
if [ $? -eq 1 ] && printf '%s' "$out" | grep -q '^error: '; then
	it_pass "attach of an unknown server refused: $out"
else
	it_fail "attach of an unknown server: $out"
fi

# --- a client killed: its lease ends, its device is cleared and freed
it_bg run app1 "$IT_DIR/k.log" --job saxpy --n 16M --data int
k=$IT_BG_PID
wait_console 10 '^1 attachments' -c "show sessions"
dk=$(console -c "show sessions" | awk '/02:72:70:63:02:02/ { print $3 }')
pkill -KILL -f -- "--host app1 " 2>/dev/null
start=$(date +%s)
it_wait_exit "$k" 10
if wait_console 20 '^0 attachments' -c "show sessions" &&
	console -c "show table" | grep -q "^$dk .* free .*cpu  *\([0-9]*\) *\1 "; then
	it_pass "killed client: $dk free again, memory all free, after $(($(date +%s) - start)) s"
else
	it_fail "killed client: $(console -c 'show table')"
fi
if grep -q "device cleared" "$RUNDIR/$dk.log"; then
	it_pass "killed client: $dk cleared its memory"
else
	it_fail "killed client: $dk did not clear"
fi

# --- a server killed in the middle of a job: the job finishes elsewhere
it_bg run app0 "$IT_DIR/f.log" --job saxpy --n 16M --data int --min-memory 200M
f=$IT_BG_PID
wait_console 10 '^1 attachments' -c "show sessions"
victim=$(console -c "show sessions" | awk '/02:72:70:63:02:01/ { print $3 }')
sleep 0.5
kill -KILL "$(cat "$RUNDIR/$victim.pid")" 2>/dev/null
start=$(date +%s)
it_wait_exit "$f" 120
rc=$?
if [ $rc -eq 0 ] && grep -q '^verified$' "$IT_DIR/f.log" &&
	grep -q 'moved to another server' "$IT_DIR/f.log"; then
	it_pass "killed server $victim: job finished elsewhere, verified: $(grep 'moved to' "$IT_DIR/f.log")"
else
	it_fail "killed server $victim: rc $rc"
	cat "$IT_DIR/f.log"
fi
if wait_console 10 "^$victim .*down" -c "show table"; then
	it_pass "$victim marked down in the table"
else
	it_fail "$victim not down: $(console -c 'show table')"
fi

# --- down: nothing left
"$CLUSTER" down "$CFG" >/dev/null 2>&1
left=""
ip netns list | grep -q "rpcic-$TAG-" && left="$left namespaces"
pgrep -f -- "--config $CFG" >/dev/null && left="$left processes"
ls "$IT_DIR"/*.sock >/dev/null 2>&1 && left="$left sockets"
[ -e "$RUNDIR" ] && left="$left $RUNDIR"
ls -d "/var/run/dpdk/$IT_ID-"* >/dev/null 2>&1 && left="$left dpdk-runtime"
if [ -z "$left" ]; then
	it_pass "cluster down: no namespace, process, socket or run directory left"
else
	it_fail "cluster down left:$left"
fi

it_summary
