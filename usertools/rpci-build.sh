#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Configure (once) and build rpci in ./build. Extra arguments go to meson setup.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f build/build.ninja ]; then
	meson setup build "$@" >/dev/null
fi
ninja -C build --quiet
# The shipped deployment files authenticate their hosts: a key pair for each
# host that has none yet, in config/keys (made here, on this machine; never
# committed: doc/security.md).
for cfg in config/*.cfg; do
	build/app/rpci-conf --config "$cfg" --gen-keys >/dev/null
done
