#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# The man pages agree with the programs: every program rpci-* of APP_DIR has
# a page NAME.1 or NAME.8 in MAN_DIR and every page a program; each long
# option (--name) that the program's --help prints is in its page's
# SYNOPSIS or OPTIONS section, and each one there is in --help (--help
# itself aside: a page lists it, a usage text need not). Prose elsewhere in
# a page (EAL arguments, examples) is not compared. With groff, a page must
# also format without a warning. Prints each difference; exits 1 if one.
#
# usage: check-man.sh APP_DIR MAN_DIR

APP=${1:?app dir of the build}
MAN=${2:?doc/man}
bad=0
report() {
	printf '%s\n' "$*"
	bad=1
}

# The long options of a page's SYNOPSIS and OPTIONS sections (roff escapes
# undone: \- is -, fonts dropped).
page_options() {
	awk '
		/^\.SH/ { sec = $0; sub(/^\.SH +"?/, "", sec); sub(/"$/, "", sec) }
		sec == "SYNOPSIS" || sec == "OPTIONS" {
			line = $0
			gsub(/\\-/, "-", line)
			gsub(/\\f[BIRP]/, "", line)
			while (match(line, /--[a-z][a-z0-9-]*/)) {
				print substr(line, RSTART, RLENGTH)
				line = substr(line, RSTART + RLENGTH)
			}
		}' "$1" | grep -vx -- '--help' | sort -u
}

help_options() {
	timeout 10 "$1" --help 2>&1 | grep -oE -- '--[a-z][a-z0-9-]*' | grep -vx -- '--help' |
		sort -u
}

nprogs=0
for prog in "$APP"/rpci-*; do
	[ -f "$prog" ] && [ -x "$prog" ] || continue
	name=$(basename "$prog")
	page=$(ls "$MAN/$name".[18] 2>/dev/null | head -n 1)
	if [ -z "$page" ]; then
		report "$name: no man page ($MAN/$name.1 or .8)"
		continue
	fi
	nprogs=$((nprogs + 1))
	help=$(help_options "$prog")
	if [ -z "$help" ]; then
		report "$name: --help printed no long option"
		continue
	fi
	mine=$(page_options "$page")
	for o in $(comm -23 <(printf '%s\n' "$help") <(printf '%s\n' "$mine")); do
		report "$name: $o is in --help, not in $(basename "$page")"
	done
	for o in $(comm -13 <(printf '%s\n' "$help") <(printf '%s\n' "$mine")); do
		report "$name: $o is in $(basename "$page"), not in --help"
	done
	if command -v groff >/dev/null; then
		warn=$(LC_ALL=C.UTF-8 groff -man -ww -z -Tutf8 "$page" 2>&1)
		[ -z "$warn" ] || report "$(basename "$page"): groff: $warn"
	fi
done
for page in "$MAN"/*.[18]; do
	name=$(basename "${page%.*}")
	[ -x "$APP/$name" ] || report "$(basename "$page"): no program $name in $APP"
done
if [ "$nprogs" -eq 0 ]; then
	report "no program rpci-* in $APP"
fi
[ $bad -eq 0 ] && echo "man: $nprogs programs, their --help and man pages agree"
exit $bad
