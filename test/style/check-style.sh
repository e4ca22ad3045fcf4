#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# The project's style checks (doc/design.md, STYLE): an SPDX line first in
# every source file, C lines of at most 100 columns (tabs of 8), no trailing
# blanks, none of the functions the style forbids, and CUnit runners that
# return their failure count. Prints each offence; exits 1 if there is one.
#
# usage: check-style.sh SOURCE_DIR

cd "${1:-.}" || exit 2
bad=0
report() {
	printf '%s\n' "$*"
	bad=1
}

if git rev-parse --git-dir >/dev/null 2>&1; then
	files=$(git ls-files --cached --others --exclude-standard)
else
	files=$(find . -type f -not -path './build*' -not -path './.git/*' | sed 's|^\./||')
fi

for f in $files; do
	[ -f "$f" ] || continue
	case "$f" in
	*.c | *.h)
		head -n 1 "$f" | grep -q '^/\* SPDX-License-Identifier: BSD-3-Clause \*/$' ||
			report "$f:1: first line must be the SPDX identifier"
		expand -t 8 "$f" | awk -v f="$f" 'length > 100 {
			printf "%s:%d: %d columns (at most 100)\n", f, NR, length; found = 1 }
			END { exit found }' || bad=1
		grep -nE '(^|[^_a-z])(strcpy|sprintf|atoi|strtok|gets)\(' "$f" |
			grep -v snprintf | sed "s|^|$f:|;s|$|  <- forbidden function|" | grep . && bad=1
		grep -n 'return CU_get_error()' "$f" | sed "s|^|$f:|;s|$|  <- return the failure count|" |
			grep . && bad=1
		;;
	meson.build | */meson.build | meson_options.txt | *.sh | *.cfg | .ci/run | usertools/*)
		head -n 2 "$f" | grep -q 'SPDX-License-Identifier: BSD-3-Clause' ||
			report "$f:1: no SPDX identifier in the first two lines"
		;;
	*)
		continue
		;;
	esac
	grep -nE '[[:blank:]]+$' "$f" | sed "s|^|$f:|;s|$|  <- trailing blanks|" | grep . && bad=1
done

if [ $bad -eq 0 ]; then
	echo "style: clean"
fi
exit $bad
