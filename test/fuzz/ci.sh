#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# What CI runs beyond the normal tests (usertools/rpci-test.sh): the unit
# suites and the fuzz replay tests built with AddressSanitizer and
# UndefinedBehaviorSanitizer (build-san, meson option sanitize), then every
# libFuzzer target for FUZZ_SECONDS seconds (default 60) from its committed
# corpus (build-fuzz, test/fuzz/run-fuzzers.sh). Exits non-zero on any
# failure. doc/testing.md says what to do with what it finds.
#
# usage: test/fuzz/ci.sh SOURCE_DIR
set -uo pipefail

if [ $# -ne 1 ]; then
	echo "usage: $0 SOURCE_DIR" >&2
	exit 2
fi
src=$(cd "$1" && pwd) || exit 2
secs=${FUZZ_SECONDS:-60}
cd "$src" || exit 2
start=$(date +%s)
failed=0

step() {
	echo "== ci-fuzz: $* ($(($(date +%s) - start)) s)"
}

step "sanitizer build (build-san)"
if [ -f build-san/build.ninja ]; then
	meson configure build-san -Dsanitize=true >/dev/null || exit 1
else
	meson setup build-san -Dsanitize=true >/dev/null || exit 1
fi
ninja -C build-san --quiet || exit 1

step "unit and fuzz replay suites under ASan and UBSan"
meson test -C build-san --no-rebuild --print-errorlogs --suite unit --suite fuzz || failed=1

step "libFuzzer, ${secs} s per target"
test/fuzz/run-fuzzers.sh "$src" "$src/build-fuzz" "$secs" || failed=1

if [ $failed -eq 0 ]; then
	step "passed"
else
	step "FAILED"
fi
exit $failed
