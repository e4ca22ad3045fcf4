#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Integration test: rpci-bench against a real rpci-server over memif
# (config/pair.cfg with names of our own). Every test at a small size and a
# short duration: each must give its row, a figure above 0, the raw figure of
# the same run and the ratio, and the data it checks must be right. Also bad
# usage, and a client with no server that fails instead of hanging.
# Exit 77 (skipped) where the programs are not built or no server can start.
#
# usage: bench.sh BUILD_DIR SOURCE_DIR

BUILD=${1:?build dir}
SRC=${2:?source dir}
. "$SRC/test/integration/lib.sh"

SERVER="$BUILD/app/rpci-server"
BENCH="$BUILD/app/rpci-bench"
CFG="$IT_DIR/pair.cfg"

if [ ! -x "$SERVER" ] || [ ! -x "$BENCH" ]; then
	it_log "skip: $SERVER or $BENCH is not built"
	exit 77
fi
it_pair_config "$SRC/config/pair.cfg" "$CFG"

# usage errors: exit 2 with one line, before anything starts
usage_error() {
	local name=$1
	shift
	local out rc
	out=$("$BENCH" "$@" 2>&1)
	rc=$?
	if [ $rc -eq 2 ] && [ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ] &&
	   printf '%s' "$out" | grep -q '^rpci-bench: '; then
		it_pass "usage: $name ($out)"
	else
		it_fail "usage: $name: rc $rc, output: $out"
	fi
}

usage_error "unknown test" --config "$CFG" --host client0 --test nope
usage_error "no test" --config "$CFG" --host client0
usage_error "bad size" --config "$CFG" --host client0 --test h2d --size 12x
usage_error "zero size" --config "$CFG" --host client0 --test h2d --size 0
usage_error "bad duration" --config "$CFG" --host client0 --test raw-rtt --duration -1
usage_error "not a server" --config "$CFG" --host client0 --test raw-rtt --server client0
usage_error "no such host" --config "$CFG" --host nobody --test raw-rtt
if "$BENCH" --help | grep -q 'mwr-rate'; then
	it_pass "--help lists the tests"
else
	it_fail "--help"
fi

# no server: an error, not a hang
start=$(date +%s)
timeout -s KILL 90 "$BENCH" --config "$CFG" --host client0 --test all --duration 0.1 \
	>"$IT_DIR/noserver.log" 2>&1
rc=$?
if [ $rc -eq 1 ]; then
	it_pass "no server: rc 1 in $(($(date +%s) - start)) s ($(grep -m1 'rpci-bench: ' \
		"$IT_DIR/noserver.log"))"
else
	it_fail "no server: rc $rc"
	cat "$IT_DIR/noserver.log"
fi

if ! it_start_server "$SERVER" "$CFG" server0 "$IT_DIR/server.log"; then
	it_log "skip: no server could start here"
	exit 77
fi

# check_json FILE TESTS...: each test has rows, each row a figure above 0, a raw
# figure and a ratio, and nothing it checked was wrong; prints what is wrong.
check_json() {
	python3 - "$@" <<'PY'
import json, sys
path, paths, tests = sys.argv[1], sys.argv[2].split(","), sys.argv[3:]
rows = [json.loads(line) for line in open(path) if line.strip()]
bad = []
for t in tests:
    mine = [r for r in rows if r["test"] == t]
    if not mine:
        bad.append("no row for " + t)
    if not t.startswith("raw"):
        for p in paths:
            if not [r for r in mine if r.get("path") == p]:
                bad.append("no %s row for %s" % (p, t))
    for r in mine:
        # wait-cpu is a share of a core (0 possible); with --proxy no raw figure
        keys = ("value",) if t == "wait-cpu" or r.get("raw") is None else \
            ("value", "raw", "ratio")
        for k in keys:
            if not isinstance(r.get(k), (int, float)) or r[k] < 0 or \
               (r[k] == 0 and t != "wait-cpu"):
                bad.append("%s %s: %s is %r" % (t, r["size"], k, r.get(k)))
        if r.get("path") == "proxy" and "embedded" in paths and \
           not isinstance(r.get("vs_embedded"), (int, float)):
            bad.append("%s %s: no ratio to the embedded figure" % (t, r["size"]))
        if r.get("verified") is False:
            bad.append("%s %s: data wrong" % (t, r["size"]))
        if t in ("mrd-rtt", "mrd-cached", "mwr-rate", "h2d", "d2h", "h2d-pageable",
                 "d2h-pageable", "job", "job-async") and r.get("verified") is not True:
            bad.append("%s %s: not verified" % (t, r["size"]))
for r in rows:
    t = r["test"]
    if t.endswith("-after"):
        # the raw figures again after the device's tests: ratio = drift
        if t[:-len("-after")] not in ("raw-rtt", "raw-rate"):
            bad.append("unexpected row " + t)
        for k in ("value", "raw", "ratio"):
            if not isinstance(r.get(k), (int, float)) or r[k] <= 0:
                bad.append("%s %s: %s is %r" % (t, r["size"], k, r.get(k)))
    elif t not in tests:
        bad.append("unexpected row " + t)
print("; ".join(bad) if bad else "%d rows" % len(rows))
sys.exit(1 if bad else 0)
PY
}

# bench_ok NAME PATHS TESTS ARGS...: a run that must succeed with rows for TESTS
# (comma list) from each of PATHS (embedded,proxy); ARGS after the file's.
bench_ok() {
	local name=$1 paths=$2 tests=$3 out
	shift 3
	rm -f "$IT_DIR/out.json"
	if timeout -s KILL 300 "$BENCH" --json "$IT_DIR/out.json" "$@" >"$IT_DIR/bench.log" 2>&1 &&
	   out=$(check_json "$IT_DIR/out.json" "$paths" ${tests//,/ }); then
		it_pass "$name: $out"
	else
		it_fail "$name: ${out:-rc $?}"
		cat "$IT_DIR/bench.log"
	fi
}

ALL="raw-rtt,raw-rate,mrd-rtt,mrd-cached,mwr-rate,h2d,d2h,h2d-pageable,d2h-pageable"
ALL="$ALL,launch,job,job-async,wait-cpu"
E=(--config "$CFG" --host client0)
bench_ok "every test, embedded and through the proxy" embedded,proxy "$ALL" "${E[@]}" \
	--test all --size 64K --duration 0.2
grep -E '^(raw|mrd|mwr|h2d|d2h|launch|job|wait)' "$IT_DIR/bench.log"
rows=$(wc -l <"$IT_DIR/out.json")
if [ "$rows" -eq 30 ]; then
	it_pass "30 rows: 2 raw-rtt, 2 raw-rate, 11 tests from each path, the 4 raw figures again"
else
	it_fail "$rows rows, 30 expected"
fi
# sizes that are not powers of two nor multiples of 4, pulled copies
bench_ok "copies of odd sizes, pull" embedded,proxy "h2d,d2h,h2d-pageable,d2h-pageable" \
	"${E[@]}" --test h2d,d2h,h2d-pageable,d2h-pageable --size 1,4097,300001 \
	--duration 0.1 --h2d pull
bench_ok "latencies only, embedded" embedded "mrd-rtt,launch" "${E[@]}" \
	--test mrd-rtt,launch --duration 0.1 --path embedded

# a program of a running rpci-proxy: the device's tests, no raw figures
"$BUILD/app/rpci-proxy" --config "$CFG" --host client0 >"$IT_DIR/proxy.log" 2>&1 &
proxy=$!
IT_PIDS="$IT_PIDS $proxy"
for i in $(seq 1 100); do
	grep -q "serving programs" "$IT_DIR/proxy.log" && break
	sleep 0.1
done
bench_ok "a program of rpci-proxy" proxy "mrd-rtt,h2d,d2h" --proxy "$IT_DIR/proxy.sock" \
	--test mrd-rtt,h2d,d2h --size 4097,1M --duration 0.1
it_stop "$proxy" 20

if it_stop "$IT_SERVER_PID" 20; then
	it_pass "server stopped"
else
	it_fail "server did not stop"
fi
it_summary
