#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Integration test of the Debian packages (debian/, doc/deployment.md):
# build them with dpkg-buildpackage in a copy of the sources (or take them
# from $RPCI_DEBS, a directory of .deb files built once, for CI), run
# lintian on them where it is installed (an error fails the test), install
# them on this machine, and then from the installed files only:
#   - the units pass `systemd-analyze verify`;
#   - the pair demo: the installed example /etc/rpci/pair.cfg copied with
#     names of our own (as lib.sh's it_pair_config does), rpci-server and
#     rpci-proxy started with the command lines of their installed units
#     (%i and ${RPCI_CONFIG} filled in: systemd is not needed, nor used),
#     rpci-run jobs, rpci-lspci and rpci-console through the proxy;
#   - the README's API example built with cc and pkg-config against
#     librpci-dev, and run;
# and last the packages are purged and nothing of them may be left (their
# files, /etc/rpci with its conffiles and keys, the group rpci if the
# packages made it).
#
# Root only. Skipped (exit 77) without root, dpkg or systemd-analyze,
# without dpkg-buildpackage and debhelper when it has to build, while
# another run of it holds the lock, or when rpci packages are installed
# already (they are not this test's to purge).
#
# usage: packages.sh BUILD_DIR SOURCE_DIR     (BUILD_DIR is not used)
#        RPCI_DEBS=DIR packages.sh BUILD_DIR SOURCE_DIR

SRC=$(cd "${2:?source dir}" && pwd)
. "$SRC/test/integration/lib.sh"

PKGS="rpci-common rpci-server rpci-selector rpci-proxy rpci-tools librpci1 librpci-dev
	rpci-opencl-icd"
UNITS="rpci-server@.service rpci-selector@.service rpci-proxy@.service"
DEBS_DIR=""
INSTALLED=""
GROUP_WAS=""

skip() {
	it_log "skip: $*"
	exit 77
}

if [ "$(id -u)" -ne 0 ]; then
	skip "not root (the packages are installed on this machine)"
fi
for tool in dpkg dpkg-query apt-get systemd-analyze flock; do
	command -v "$tool" >/dev/null || skip "no $tool"
done
if [ -z "${RPCI_DEBS:-}" ]; then
	command -v dpkg-buildpackage >/dev/null || skip "no dpkg-buildpackage (dpkg-dev)"
	command -v dh >/dev/null || skip "no debhelper (usertools/install-deps.sh --packaging)"
fi
exec 9>/run/lock/rpci-packages-test.lock
flock -n 9 || skip "another packages test is running"
for p in $PKGS; do
	if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -qv 'not-installed'; then
		skip "package $p is on this machine already ($(dpkg-query -W -f='${Status}' "$p"))"
	fi
done
getent group rpci >/dev/null && GROUP_WAS=yes

# Purge what we installed, whatever happened, then lib.sh's cleanup.
pkg_cleanup() {
	local pid
	for pid in $IT_PIDS; do
		kill -INT "$pid" 2>/dev/null
	done
	if [ -n "$INSTALLED" ]; then
		# shellcheck disable=SC2086
		DEBIAN_FRONTEND=noninteractive timeout 300 apt-get purge -y -qq $INSTALLED \
			>"$IT_DIR/purge-at-exit.log" 2>&1
		if [ -z "$GROUP_WAS" ] && getent group rpci >/dev/null; then
			groupdel rpci 2>/dev/null
		fi
	fi
	it_cleanup
}
trap pkg_cleanup EXIT

# --- the packages: built here, or given
if [ -n "${RPCI_DEBS:-}" ]; then
	DEBS_DIR=$(cd "$RPCI_DEBS" && pwd)
	it_log "packages from $DEBS_DIR"
else
	mkdir -p "$IT_DIR/src/rpci"
	# the working tree as it is (tracked and new files), never its build folders
	if git -C "$SRC" rev-parse --git-dir >/dev/null 2>&1; then
		(cd "$SRC" && git ls-files -z --cached --others --exclude-standard |
			xargs -0 tar cf - 2>/dev/null) | tar xf - -C "$IT_DIR/src/rpci"
	else
		tar cf - -C "$SRC" --exclude='./build*' --exclude='./obj-*' --exclude=./.git . |
			tar xf - -C "$IT_DIR/src/rpci"
	fi
	start=$(date +%s)
	if (cd "$IT_DIR/src/rpci" && DEB_BUILD_OPTIONS="nocheck parallel=$(nproc)" \
		timeout 1200 dpkg-buildpackage -us -uc -b) >"$IT_DIR/build.log" 2>&1; then
		it_pass "dpkg-buildpackage -us -uc -b ($(($(date +%s) - start)) s)"
	else
		it_fail "dpkg-buildpackage"
		tail -n 40 "$IT_DIR/build.log"
		it_summary
		exit 1
	fi
	DEBS_DIR="$IT_DIR/src"
fi
debs=$(ls "$DEBS_DIR"/*.deb 2>/dev/null | grep -v -- '-dbgsym_')
if [ -z "$debs" ]; then
	it_fail "no .deb in $DEBS_DIR"
	it_summary
	exit 1
fi
it_log "$(for d in $debs; do printf '  %-40s %7s bytes\n' "$(basename "$d")" "$(stat -c %s "$d")"; done)"

if command -v lintian >/dev/null; then
	changes=$(ls "$DEBS_DIR"/*.changes 2>/dev/null | head -n 1)
	# shellcheck disable=SC2086
	timeout 600 lintian --display-info ${changes:-$debs} >"$IT_DIR/lintian.log" 2>&1
	errors=$(grep -c '^E:' "$IT_DIR/lintian.log")
	warnings=$(grep -c '^W:' "$IT_DIR/lintian.log")
	if [ "$errors" -eq 0 ]; then
		it_pass "lintian: 0 errors, $warnings warnings, $(grep -c '^I:' "$IT_DIR/lintian.log") infos"
	else
		it_fail "lintian: $errors errors"
		grep -E '^(E|W):' "$IT_DIR/lintian.log"
	fi
fi

# --- install
INSTALLED=$(for d in $debs; do dpkg-deb -f "$d" Package; done | tr '\n' ' ')
# shellcheck disable=SC2086
if DEBIAN_FRONTEND=noninteractive timeout 300 apt-get install -y -qq --no-install-recommends \
	$debs >"$IT_DIR/install.log" 2>&1; then
	it_pass "installed: $INSTALLED"
else
	it_fail "apt-get install"
	tail -n 30 "$IT_DIR/install.log"
	it_summary
	exit 1
fi
# shellcheck disable=SC2086
dpkg -L $INSTALLED 2>/dev/null | sort -u >"$IT_DIR/files"
missing=""
for f in /usr/bin/rpci-server /usr/bin/rpci-selector /usr/bin/rpci-proxy /usr/bin/rpci-run \
	/usr/bin/rpci-bench /usr/bin/rpci-console /usr/bin/rpci-conf /usr/bin/rpci-lspci \
	/usr/include/rpci_client.h /etc/rpci/pair.cfg /etc/rpci/pair-tcp.cfg \
	/etc/rpci/demo-cluster.cfg /etc/default/rpci; do
	[ -e "$f" ] || missing="$missing $f"
done
for u in $UNITS; do
	[ -e "/lib/systemd/system/$u" ] || missing="$missing /lib/systemd/system/$u"
done
for p in rpci-server rpci-selector rpci-proxy rpci-run rpci-bench rpci-console rpci-conf \
	rpci-lspci; do
	man -w "$p" >/dev/null 2>&1 || missing="$missing man:$p"
done
if [ -z "$missing" ]; then
	it_pass "programs, units, man pages, header, example files in place"
else
	it_fail "not installed:$missing"
fi
conffiles=$(dpkg-query -W -f='${Conffiles}\n' rpci-common | awk 'NF { print $1 }' | tr '\n' ' ')
case "$conffiles" in
*/etc/rpci/pair.cfg*) it_pass "conffiles of rpci-common: $conffiles" ;;
*) it_fail "conffiles of rpci-common: '$conffiles'" ;;
esac
if [ "$(pkg-config --modversion rpci 2>/dev/null)" != "" ] &&
	[ -e "$(pkg-config --variable=libdir rpci)/librpci.so.1" ]; then
	it_pass "pkg-config rpci $(pkg-config --modversion rpci), $(pkg-config --variable=libdir rpci)/librpci.so.1"
else
	it_fail "pkg-config rpci"
fi
lib=$(ldd /usr/bin/rpci-run | awk '/librpci\.so/ { print $3 }')
if [ -n "$lib" ] && dpkg -S "$(readlink -f "$lib")" 2>/dev/null | grep -q '^librpci1:'; then
	it_pass "rpci-run links $lib of librpci1"
else
	it_fail "rpci-run links '$lib', not librpci1's"
fi
if getent group rpci >/dev/null; then
	it_pass "group rpci (for the proxy socket's users)"
else
	it_fail "no group rpci after installing rpci-proxy"
fi
if grep -q '^rpci-opencl-icd$' <(printf '%s\n' $INSTALLED); then
	icd=$(cat /etc/OpenCL/vendors/rpci.icd 2>/dev/null)
	if [ -n "$icd" ] && [ -e "$icd" ]; then
		it_pass "OpenCL ICD: /etc/OpenCL/vendors/rpci.icd names $icd"
	else
		it_fail "OpenCL ICD: /etc/OpenCL/vendors/rpci.icd names '$icd'"
	fi
fi

# --- the units: systemd-analyze verify (offline), templates and an instance
for u in $UNITS; do
	out=$(timeout 60 systemd-analyze verify "/lib/systemd/system/$u" 2>&1)
	rc=$?
	inst=$(timeout 60 systemd-analyze verify "${u/@/@host0}" 2>&1)
	rc2=$?
	if [ $rc -eq 0 ] && [ $rc2 -eq 0 ] && ! printf '%s\n%s' "$out" "$inst" | grep -q rpci; then
		it_pass "systemd-analyze verify $u and ${u/@/@host0}"
	else
		it_fail "systemd-analyze verify $u: rc $rc $rc2: $out $inst"
	fi
done

# unit_command UNIT HOST CFG: the unit's ExecStart, as systemd would run it
# for instance HOST with RPCI_CONFIG=CFG and RPCI_EAL_ARGS, RPCI_OPTS unset.
unit_command() {
	sed -n 's/^ExecStart=//p' "/lib/systemd/system/$1" |
		sed -e "s|%i|$2|g" -e "s|\${RPCI_CONFIG}|$3|g" -e 's|\$RPCI_[A-Z_]*||g'
}

# --- the pair demo from the installed files
CFG="$IT_DIR/pair.cfg"
it_pair_config /etc/rpci/pair.cfg "$CFG"
if /usr/bin/rpci-conf --config "$CFG" --gen-keys >"$IT_DIR/keys.log" 2>&1; then
	it_pass "rpci-conf --gen-keys: $(wc -l <"$IT_DIR/keys.log") hosts"
else
	it_fail "rpci-conf --gen-keys: $(cat "$IT_DIR/keys.log")"
fi
read -ra server_cmd <<<"$(unit_command rpci-server@.service server0 "$CFG")"
read -ra proxy_cmd <<<"$(unit_command rpci-proxy@.service client0 "$CFG")"
it_log "rpci-server@server0: ${server_cmd[*]}"
it_log "rpci-proxy@client0: ${proxy_cmd[*]}"
if [ "${server_cmd[0]}" != /usr/bin/rpci-server ] || [ "${proxy_cmd[0]}" != /usr/bin/rpci-proxy ]; then
	it_fail "the units' ExecStart: ${server_cmd[*]} / ${proxy_cmd[*]}"
	it_summary
	exit 1
fi
# wait_for LOG TEXT PID: until LOG has TEXT (at most 20 s) or PID has ended
wait_for() {
	local i
	for i in $(seq 1 200); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		kill -0 "$3" 2>/dev/null || break
		sleep 0.1
	done
	return 1
}
it_bg "${server_cmd[@]}" >"$IT_DIR/server.log" 2>&1
server=$IT_BG_PID
if wait_for "$IT_DIR/server.log" "serving" "$server"; then
	it_bg "${proxy_cmd[@]}" >"$IT_DIR/proxy.log" 2>&1
	proxy=$IT_BG_PID
fi
if [ -n "${proxy:-}" ] && wait_for "$IT_DIR/proxy.log" "serving programs" "$proxy"; then
	it_pass "rpci-server and rpci-proxy started by their units' command lines"
else
	it_fail "the daemons did not start"
	tail -n 20 "$IT_DIR/server.log" "$IT_DIR/proxy.log" 2>/dev/null
	it_summary
	exit 1
fi
export RPCI_PROXY="$IT_DIR/proxy.sock"
out=$(timeout 120 /usr/bin/rpci-run --job saxpy --n 1M 2>&1)
rc=$?
if [ $rc -eq 0 ] && printf '%s' "$out" | tail -n 1 | grep -q verified; then
	it_pass "rpci-run --job saxpy --n 1M: verified"
else
	it_fail "rpci-run saxpy: rc $rc: $(printf '%s' "$out" | tail -n 5)"
fi
out=$(timeout 120 /usr/bin/rpci-run --device vgpu1 --job sgemm --m 96 --n 64 --k 80 2>&1)
rc=$?
if [ $rc -eq 0 ] && printf '%s' "$out" | tail -n 1 | grep -q verified; then
	it_pass "rpci-run --device vgpu1 --job sgemm: verified"
else
	it_fail "rpci-run sgemm: rc $rc: $(printf '%s' "$out" | tail -n 5)"
fi
out=$(timeout 60 /usr/bin/rpci-lspci -n 2>&1)
rc=$?
if [ $rc -eq 0 ] && printf '%s' "$out" | grep -q 'vgpu0' && printf '%s' "$out" | grep -q 'vgpu1'; then
	it_pass "rpci-lspci: $(printf '%s\n' "$out" | wc -l) lines, vgpu0 and vgpu1"
else
	it_fail "rpci-lspci: rc $rc: $out"
fi
out=$(timeout 30 /usr/bin/rpci-console --config "$CFG" --host client0 -c "show devices" 2>&1)
rc=$?
if [ $rc -eq 0 ] && printf '%s' "$out" | grep -q 'program'; then
	it_pass "rpci-console -c 'show devices' on rpci-proxy"
else
	it_fail "rpci-console: rc $rc: $out"
fi

# --- the README's API example against librpci-dev
awk '/^## The API in one screen/ { api = 1 } api && /^```c$/ { on = 1; next }
	on && /^```$/ { exit } on { print }' "$SRC/README.md" >"$IT_DIR/saxpy.c"
if command -v cc >/dev/null; then
	# shellcheck disable=SC2046
	if cc -std=c11 -Wall -Werror "$IT_DIR/saxpy.c" $(pkg-config --cflags --libs rpci) \
		-o "$IT_DIR/saxpy" >"$IT_DIR/cc.log" 2>&1; then
		out=$(timeout 60 "$IT_DIR/saxpy" 2>&1)
		rc=$?
		if [ $rc -eq 0 ] && printf '%s' "$out" | grep -q verified; then
			it_pass "README example with librpci-dev: $out"
		else
			it_fail "README example: rc $rc: $out"
		fi
	else
		it_fail "README example does not build against librpci-dev: $(cat "$IT_DIR/cc.log")"
	fi
fi
unset RPCI_PROXY
it_stop "$proxy" 20
rc_proxy=$?
it_stop "$server" 20
rc_server=$?
if [ $rc_proxy -eq 0 ] && [ $rc_server -eq 0 ]; then
	it_pass "rpci-proxy and rpci-server stopped cleanly (SIGINT)"
else
	it_fail "stop: rpci-proxy rc $rc_proxy, rpci-server rc $rc_server"
fi

# keys made for an installed example, in /etc/rpci/keys: purge removes them
if /usr/bin/rpci-conf --config /etc/rpci/demo-cluster.cfg --gen-keys >/dev/null 2>&1 &&
	[ -n "$(ls /etc/rpci/keys 2>/dev/null)" ]; then
	it_pass "keys of /etc/rpci/demo-cluster.cfg in /etc/rpci/keys ($(ls /etc/rpci/keys | wc -l) files)"
else
	it_fail "rpci-conf --gen-keys for /etc/rpci/demo-cluster.cfg"
fi

# --- purge: nothing left
# shellcheck disable=SC2086
if DEBIAN_FRONTEND=noninteractive timeout 300 apt-get purge -y -qq $INSTALLED \
	>"$IT_DIR/purge.log" 2>&1; then
	it_pass "purged"
else
	it_fail "apt-get purge"
	tail -n 20 "$IT_DIR/purge.log"
fi
left=""
while read -r f; do
	# directories the packages share with others (/usr, /etc...) stay
	if [ -e "$f" ] && [ ! -d "$f" ]; then
		left="$left $f"
	fi
done <"$IT_DIR/files"
for p in $INSTALLED; do
	if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -qv 'not-installed'; then
		left="$left package:$p($(dpkg-query -W -f='${Status}' "$p"))"
	fi
done
[ -e /etc/rpci ] && left="$left /etc/rpci($(ls -A /etc/rpci | tr '\n' ' '))"
[ -e /usr/share/rpci ] && left="$left /usr/share/rpci"
if [ -z "$left" ]; then
	it_pass "nothing left after purge ($(wc -l <"$IT_DIR/files") paths checked, /etc/rpci gone)"
else
	it_fail "left after purge:$left"
fi
INSTALLED=""
if [ -z "$GROUP_WAS" ] && getent group rpci >/dev/null; then
	groupdel rpci && it_log "group rpci (kept by the purge, as Debian does) removed by the test"
fi
it_summary
