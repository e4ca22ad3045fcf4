#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# The demo: installs what it needs, builds, then
#  1. starts an rpci-server that serves two virtual GPUs (cpu backend) and
#     the client host's daemon, rpci-proxy, joined by a memif link on this
#     machine (config/pair.cfg); two programs (rpci-run, ordinary programs
#     of the proxy: no EAL, no port) use the two devices at once through the
#     one proxy, then four jobs run one after the other;
#  2. brings up the demo cluster (config/demo-cluster.cfg: a selector, three
#     GPU servers of different sizes and speeds, two client hosts each with
#     its rpci-proxy, each host in a network namespace on an af_packet
#     port), runs jobs that the selector places, one of them split over
#     three devices, and prints the selector's table, then takes the cluster
#     down.
# Every result is checked against the same computation done locally.
# Run as root.
set -euo pipefail
cd "$(dirname "$0")/.."
./usertools/install-deps.sh
./usertools/rpci-build.sh

CFG=config/pair.cfg
PROXY_SOCK=/run/rpci/client0-proxy.sock
LOG=$(mktemp /tmp/rpci-demo-server.XXXXXX)
PLOG=$(mktemp /tmp/rpci-demo-proxy.XXXXXX)
server=""
proxy=""
stop() { # stop PID: SIGINT, wait
	if [ -n "$1" ] && kill -0 "$1" 2>/dev/null; then
		kill -INT "$1"
		wait "$1" || true
	fi
}
cleanup() {
	stop "$proxy"
	stop "$server"
	rm -rf /var/run/dpdk/rpci-server0 /var/run/dpdk/rpci-client0 "$LOG" "$PLOG"
	./usertools/rpci-cluster down "$CLUSTER_CFG" >/dev/null 2>&1 || true
}
CLUSTER_CFG=config/demo-cluster.cfg
trap cleanup EXIT

# wait_for PID LOG PATTERN: until the daemon's log says it serves
wait_for() {
	for _ in $(seq 1 100); do
		grep -q "$3" "$2" && return 0
		kill -0 "$1" 2>/dev/null || { cat "$2"; exit 1; }
		sleep 0.1
	done
	cat "$2"
	exit 1
}

echo "== rpci-server --config $CFG --host server0"
build/app/rpci-server --config "$CFG" --host server0 >"$LOG" 2>&1 &
server=$!
wait_for "$server" "$LOG" serving
grep -v '^EAL\|^TELEMETRY' "$LOG"
echo
echo "== rpci-proxy --config $CFG --host client0"
build/app/rpci-proxy --config "$CFG" --host client0 >"$PLOG" 2>&1 &
proxy=$!
wait_for "$proxy" "$PLOG" "serving programs"
grep -v '^EAL\|^TELEMETRY' "$PLOG"

status=0
export RPCI_PROXY=$PROXY_SOCK
demo_run() { # a program of the proxy
	echo "== RPCI_PROXY=$RPCI_PROXY rpci-run $*"
	timeout 300 build/app/rpci-run "$@" 2>&1 || status=1
}
echo
echo "Two programs at once, each on a device of its own, through the one proxy:"
demo_run --device vgpu0 --job saxpy --n 8M >/tmp/rpci-demo-p0.$$ &
p0=$!
demo_run --device vgpu1 --job sgemm --m 400 --n 300 --k 500 >/tmp/rpci-demo-p1.$$ &
p1=$!
wait $p0 || status=1
wait $p1 || status=1
cat /tmp/rpci-demo-p0.$$ /tmp/rpci-demo-p1.$$
rm -f /tmp/rpci-demo-p0.$$ /tmp/rpci-demo-p1.$$
for job in "--job vector-add --n 1000000" \
	   "--job saxpy --n 4000000" \
	   "--job sgemm --m 300 --n 200 --k 500" \
	   "--job reduce --n 10000000 --data int"; do
	echo
	# shellcheck disable=SC2086
	demo_run $job
done
unset RPCI_PROXY

echo
echo "== rpci-console --config $CFG --host client0 -c \"show devices\"   (the proxy's programs)"
build/app/rpci-console --config "$CFG" --host client0 -c "show devices" || true
echo
stop "$proxy"
proxy=""
grep -v -e '^EAL' -e '^TELEMETRY' -e '^rpci\.proxy:' "$PLOG" | tail -n 2
stop "$server"
server=""
grep -v '^EAL\|^TELEMETRY' "$LOG" | tail -n 4

echo
echo "== rpci-cluster up $CLUSTER_CFG"
./usertools/rpci-cluster up "$CLUSTER_CFG"
for _ in $(seq 1 50); do # until the three servers have registered
	[ "$(./usertools/rpci-cluster console "$CLUSTER_CFG" ctl0 -c "show table" |
		grep -c ' free ')" -eq 3 ] && break
	sleep 0.2
done
run() {
	echo "== rpci-cluster run $CLUSTER_CFG $*"
	timeout 300 ./usertools/rpci-cluster run "$CLUSTER_CFG" "$@" 2>&1 |
		grep -v '^EAL\|^TELEMETRY' || status=1
}
echo
# Two clients at once: the selector gives each a device of its own.
run app0 --job saxpy --n 16M --min-memory 200M >/tmp/rpci-demo-app0.$$ &
run app1 --job vector-add --n 8M >/tmp/rpci-demo-app1.$$ &
for _ in $(seq 1 50); do
	# (the whole output: grep -q would close the pipe early, and pipefail fail it)
	[ "$(./usertools/rpci-cluster console "$CLUSTER_CFG" ctl0 -c "show sessions" |
		grep -c '^2 attachments')" -eq 1 ] && break
	sleep 0.2
done
echo "== rpci-cluster console $CLUSTER_CFG ctl0 -c \"show table\"   (while two jobs run)"
./usertools/rpci-cluster console "$CLUSTER_CFG" ctl0 -c "show table"
wait
cat /tmp/rpci-demo-app0.$$ /tmp/rpci-demo-app1.$$
rm -f /tmp/rpci-demo-app0.$$ /tmp/rpci-demo-app1.$$
echo
run app0 --job sgemm --m 600 --n 400 --k 300 --devices 3
echo
# A request that no device meets: refused at once, with the reason.
echo "== rpci-cluster run $CLUSTER_CFG app1 --job saxpy --n 1K --min-memory 1G"
./usertools/rpci-cluster run "$CLUSTER_CFG" app1 --job saxpy --n 1K --min-memory 1G 2>&1 |
	grep -v '^EAL\|^TELEMETRY' || true
echo
echo "== rpci-cluster console $CLUSTER_CFG ctl0 -c \"show table\""
./usertools/rpci-cluster console "$CLUSTER_CFG" ctl0 -c "show table"
echo
./usertools/rpci-cluster down "$CLUSTER_CFG"
exit $status
