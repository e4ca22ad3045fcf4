#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# The demo: installs what it needs, builds, then
#  1. starts an rpci-server that serves a virtual GPU (cpu backend) and runs
#     four jobs on it from rpci-run clients, each a new process, over a memif
#     link on this machine (config/pair.cfg);
#  2. brings up the demo cluster (config/demo-cluster.cfg: a selector, three
#     GPU servers of different sizes and speeds, two clients, each host in a
#     network namespace on an af_packet port), runs jobs that the selector
#     places, one of them split over three devices, and prints the
#     selector's table, then takes the cluster down.
# Every result is checked against the same computation done locally.
# Run as root.
set -euo pipefail
cd "$(dirname "$0")/.."
./usertools/install-deps.sh
./usertools/rpci-build.sh

CFG=config/pair.cfg
LOG=$(mktemp /tmp/rpci-demo-server.XXXXXX)
server=""
cleanup() {
	if [ -n "$server" ] && kill -0 "$server" 2>/dev/null; then
		kill -INT "$server"
		wait "$server" || true
	fi
	rm -rf /var/run/dpdk/rpci-server0 /var/run/dpdk/rpci-client0 "$LOG"
	./usertools/rpci-cluster down "$CLUSTER_CFG" >/dev/null 2>&1 || true
}
CLUSTER_CFG=config/demo-cluster.cfg
trap cleanup EXIT

echo "== rpci-server --config $CFG --host server0"
build/app/rpci-server --config "$CFG" --host server0 >"$LOG" 2>&1 &
server=$!
for _ in $(seq 1 100); do
	grep -q serving "$LOG" && break
	kill -0 "$server" 2>/dev/null || { cat "$LOG"; exit 1; }
	sleep 0.1
done
grep -v '^EAL\|^TELEMETRY' "$LOG"

status=0
for job in "--job vector-add --n 1000000" \
	   "--job saxpy --n 4000000" \
	   "--job sgemm --m 300 --n 200 --k 500" \
	   "--job reduce --n 10000000 --data int"; do
	echo
	echo "== rpci-run --config $CFG --host client0 $job"
	# shellcheck disable=SC2086
	timeout 300 build/app/rpci-run --config "$CFG" --host client0 $job 2>&1 |
		grep -v '^EAL\|^TELEMETRY' || status=1
done

echo
kill -INT "$server"
wait "$server" || status=1
server=""
grep -v '^EAL\|^TELEMETRY' "$LOG" | tail -n +2

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
