#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Build every fuzz target of test/fuzz/targets with clang's libFuzzer,
# AddressSanitizer and UndefinedBehaviorSanitizer, and run each for SECONDS
# seconds, one after the other. Prints one line per target with its
# executions and result; exits 1 if any target crashed, reported a sanitizer
# error, leaked, timed out, ran out of memory or did not build.
#
# usage: run-fuzzers.sh SOURCE_DIR BUILD_DIR SECONDS [NAME...]
#
# Each target NAME works in BUILD_DIR/NAME/:
#   fuzz_NAME   the fuzzer
#   corpus/     a copy of test/fuzz/corpus/NAME/ and test/fuzz/crashes/NAME/
#               that the run may grow; the committed corpus never changes
#   artifacts/  what libFuzzer found (crash-*, leak-*, timeout-*, oom-*):
#               copy these into test/fuzz/crashes/NAME/ (doc/testing.md)
#   log         libFuzzer's output
# Environment: CC (default clang), FUZZ_CFLAGS (added to the flags).
set -uo pipefail

if [ $# -lt 3 ] || ! [[ $3 =~ ^[1-9][0-9]*$ ]]; then
	echo "usage: $0 SOURCE_DIR BUILD_DIR SECONDS [NAME...]" >&2
	exit 2
fi
src=$(cd "$1" && pwd) || exit 2
mkdir -p "$2" || exit 2
out=$(cd "$2" && pwd) || exit 2
secs=$3
shift 3
only=("$@")
cc=${CC:-clang}
fuzz_dir=$src/test/fuzz

if ! command -v "$cc" >/dev/null; then
	echo "run-fuzzers: $cc not found (Debian: apt-get install clang libclang-rt-14-dev)" >&2
	exit 1
fi

# shellcheck disable=SC2054 # the commas are in -fsanitize=...
cflags=(-std=gnu11 -D_GNU_SOURCE -DALLOW_EXPERIMENTAL_API -g -O1 -fno-omit-frame-pointer
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
	-Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wpointer-arith
	-Wno-missing-field-initializers)
# shellcheck disable=SC2206 # FUZZ_CFLAGS is a list of words
cflags+=(${FUZZ_CFLAGS:-})

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$fuzz_dir/lsan.supp:print_suppressions=0}

# Build target $1 from the words of its line; prints the compiler's output.
build() {
	local name=$1 w
	local -a srcs=("$fuzz_dir/fuzz_$name.c") incs=() pkgs=()
	shift
	for w in "$@"; do
		case $w in
		pkg:*) pkgs+=("${w#pkg:}") ;;
		*/) incs+=("-I$src/${w%/}") ;;
		*.c)
			srcs+=("$src/$w")
			incs+=("-I$src/$(dirname "$w")")
			;;
		*)
			echo "test/fuzz/targets: $name: cannot use '$w'"
			return 1
			;;
		esac
	done
	local pkg_cflags="" pkg_libs=""
	if [ ${#pkgs[@]} -gt 0 ]; then
		pkg_cflags=$(pkg-config --cflags "${pkgs[@]}") || return 1
		pkg_libs=$(pkg-config --libs "${pkgs[@]}") || return 1
	fi
	# shellcheck disable=SC2086 # pkg-config output is a list of words
	"$cc" "${cflags[@]}" $pkg_cflags "${incs[@]}" "${srcs[@]}" $pkg_libs \
		-o "$out/$name/fuzz_$name"
}

# Run target $1; prints its line; returns non-zero if it found something.
run() {
	local name=$1 dir=$out/$1 rc execs seeds found dict=()
	rm -rf "$dir/corpus" "$dir/artifacts"
	mkdir -p "$dir/corpus" "$dir/artifacts"
	cp -r "$fuzz_dir/corpus/$name/." "$dir/corpus/" 2>/dev/null
	find "$fuzz_dir/crashes/$name" -maxdepth 1 -type f ! -name README.md \
		-exec cp {} "$dir/corpus/" \; 2>/dev/null
	seeds=$(find "$dir/corpus" -type f | wc -l)
	if [ -f "$fuzz_dir/$name.dict" ]; then
		dict=("-dict=$fuzz_dir/$name.dict")
	fi
	# -max_total_time ends the run; timeout(1) only guards against a hung fuzzer.
	timeout -k 10 $((secs + 300)) "$dir/fuzz_$name" \
		-max_total_time="$secs" -rss_limit_mb=2048 -detect_leaks=1 -timeout=10 \
		-max_len=8192 -print_final_stats=1 -artifact_prefix="$dir/artifacts/" \
		"${dict[@]}" "$dir/corpus" </dev/null >"$dir/log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log" | tail -n 1)
	found=$(find "$dir/artifacts" -type f | sort)
	if [ $rc -eq 0 ] && [ -z "$found" ] &&
		! grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|invariant broken' \
			"$dir/log"; then
		printf 'fuzz %-10s ok: %s executions in %s s, corpus %s -> %s inputs\n' "$name" \
			"${execs:-?}" "$secs" "$seeds" "$(find "$dir/corpus" -type f | wc -l)"
		return 0
	fi
	printf 'fuzz %-10s FAILED (exit %s): %s executions; log %s\n' "$name" "$rc" \
		"${execs:-?}" "$dir/log"
	grep -m 3 -E 'ERROR:|runtime error:|invariant broken|SUMMARY:' "$dir/log" | sed 's/^/    /'
	for f in $found; do
		echo "    found $f -> copy it into test/fuzz/crashes/$name/"
	done
	return 1
}

failed=0
ran=0
while read -r name words; do
	case $name in
	'' | '#'*) continue ;;
	esac
	if [ ${#only[@]} -gt 0 ] && [[ " ${only[*]} " != *" $name "* ]]; then
		continue
	fi
	ran=$((ran + 1))
	mkdir -p "$out/$name"
	# shellcheck disable=SC2086 # the words of the line
	if ! build "$name" $words </dev/null >"$out/$name/build.log" 2>&1; then
		printf 'fuzz %-10s FAILED: does not build; log %s\n' "$name" "$out/$name/build.log"
		sed 's/^/    /' "$out/$name/build.log" | head -n 20
		failed=1
		continue
	fi
	if [ -s "$out/$name/build.log" ]; then
		echo "fuzz $name: compiler warnings (see $out/$name/build.log):"
		sed 's/^/    /' "$out/$name/build.log" | head -n 20
	fi
	run "$name" || failed=1
done <"$fuzz_dir/targets"

if [ $ran -eq 0 ]; then
	echo "run-fuzzers: no target to run" >&2
	exit 1
fi
exit $failed
