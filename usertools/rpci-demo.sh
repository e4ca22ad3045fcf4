#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# The demo: installs what it needs, builds, then starts an rpci-server that
# serves a virtual GPU (cpu backend) and runs four jobs on it from rpci-run
# clients, each a new process, over a memif link on this machine
# (config/pair.cfg). Every result is checked against the same computation
# done locally. Run as root.
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
}
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
exit $status
