#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Install what the tests need, build, and run every test (unit and
# integration). Ends with "N passed, N failed", counted from meson test's
# results. Run as root (the integration tests start DPDK processes).
set -uo pipefail
cd "$(dirname "$0")/.."
./usertools/install-deps.sh || exit 1
./usertools/rpci-build.sh || exit 1

meson test -C build --print-errorlogs "$@"
rc=$?

python3 - build/meson-logs/testlog.json <<'PY'
import json, sys
passed = failed = skipped = 0
with open(sys.argv[1]) as f:
    for line in f:
        r = json.loads(line)["result"]
        if r in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif r == "SKIP":
            skipped += 1
        else:
            failed += 1
if skipped:
    print(f"{skipped} skipped (their reason is in the log above)")
print(f"{passed} passed, {failed} failed")
PY
exit $rc
