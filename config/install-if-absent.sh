#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
#
# A meson install script: copy each FILE into DIR (under $DESTDIR) unless a
# file of that name is already there, so that `meson install` never
# overwrites a deployment file someone has edited.
#
# usage: install-if-absent.sh DIR FILE...
set -eu

dir="${DESTDIR:-}$1"
shift
mkdir -p "$dir"
for f in "$@"; do
	target="$dir/$(basename "$f")"
	if [ -e "$target" ]; then
		echo "Keeping $target (not overwritten)"
	else
		install -m 0644 "$f" "$target"
		echo "Installing $f to $target"
	fi
done
