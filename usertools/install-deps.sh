#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Install the Debian 12 packages rpci builds and runs with (as root).
#
# usage: install-deps.sh [--packaging]
#   --packaging (or RPCI_DEPS_PACKAGING=1): also what building and checking
#   rpci's own Debian packages needs (debian/, dpkg-buildpackage -us -uc -b,
#   lintian; test/integration/packages.sh is skipped without them).
set -euo pipefail

PKGS=(build-essential meson ninja-build pkg-config
      libdpdk-dev dpdk dpdk-dev libconfig-dev libcjson-dev libssl-dev libcunit1-dev libpciaccess-dev
      ocl-icd-opencl-dev opencl-headers pocl-opencl-icd clinfo
      clpeak python3-pyopencl python3-numpy
      clang libclang-rt-14-dev
      iproute2 procps python3 python3-cryptography)
# The packaging group.
PKGS_PACKAGING=(dpkg-dev debhelper lintian)

if [ "${1:-}" = "--packaging" ] || [ "${RPCI_DEPS_PACKAGING:-0}" = 1 ]; then
	PKGS+=("${PKGS_PACKAGING[@]}")
elif [ $# -gt 0 ]; then
	echo "usage: $0 [--packaging]" >&2
	exit 2
fi

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "rpci: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
