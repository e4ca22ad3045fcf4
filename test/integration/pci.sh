#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Integration test of real PCI functions served across the link: an
# rpci-server exports this machine's PCI functions (kind "pci", the default
# read-only policy) beside a virtual GPU; rpci-lspci on the client reads
# them remotely.
#   - the list shows every exported function and the virtual GPU
#   - for each function: what the client reads remotely (-xxx, -vv) is what
#     lspci shows locally (its kernel driver lines aside)
#   - a BAR read outside the policy is refused (Unsupported Request) and
#     counted by the server, which never reads the BAR
#   - a policy range outside a BAR, an address with no function: the server
#     refuses the file with its line
# On a VM the functions are the virtio devices the kernel uses: this test
# only reads their configuration space (BAR sizing is emulated by the
# server, never written to them). Needs root (sysfs configuration space
# past 64 bytes) and lspci; exits 77 (skipped) without.
#
# usage: pci.sh BUILD_DIR SOURCE_DIR

BUILD=${1:?build dir}
SRC=${2:?source dir}
. "$SRC/test/integration/lib.sh"

if [ "$(id -u)" -ne 0 ] || ! command -v lspci >/dev/null || [ ! -d /sys/bus/pci/devices ]; then
	echo "pci: needs root, lspci and a PCI bus; skipped"
	exit 77
fi

SERVER="$BUILD/app/rpci-server"
LSPCI="$BUILD/app/rpci-lspci"
CFG="$IT_DIR/pci.cfg"

# Endpoints of this host (header type 0), as "BDF NAME" lines, at most 12.
functions() {
	local d i=0 hdr
	for d in /sys/bus/pci/devices/*; do
		hdr=$(od -An -tx1 -j14 -N1 "$d/config" 2>/dev/null | tr -d ' ')
		[ "$((0x${hdr:-ff} & 0x7f))" -eq 0 ] || continue
		echo "$(basename "$d") fn$i"
		i=$((i + 1))
		[ $i -lt 12 ] || break
	done
}
FUNCS=$(functions)
if [ -z "$FUNCS" ]; then
	echo "pci: no PCI endpoint on this machine; skipped"
	exit 77
fi

# config/pair.cfg with names of our own, console sockets of our own, and the
# host's functions as devices of server0 (extra lines: $1).
pci_config() {
	local extra=$1 entries="" bdf name
	while read -r bdf name; do
		[ -n "$bdf" ] || continue
		entries="$entries            { name = \"$name\"; kind = \"pci\"; address = \"$bdf\"; },\n"
	done <<<"${2-$FUNCS}"
	it_pair_config "$SRC/config/pair.cfg" "$IT_DIR/base.cfg"
	awk -v entries="$entries$extra" '
		/^ *devices = \(/ { print; printf "%s", entries; next }
		{ print }
	' "$IT_DIR/base.cfg"
}
pci_config "" >"$CFG"

lspci_remote() {
	timeout -s KILL 120 "$LSPCI" --log-level 'lib.eal:error' -- --config "$CFG" \
		--host client0 "$@" 2>"$IT_DIR/lspci.err"
}

# lspci's lines for a function, without what only its kernel knows.
lspci_local() {
	local bdf=$1
	shift
	lspci "$@" -s "$bdf" 2>/dev/null | grep -v -e '^	Kernel driver in use:' \
		-e '^	Kernel modules:'
}

it_start_server "$SERVER" "$CFG" server0 "$IT_DIR/server.log" || {
	it_fail "server did not start"
	it_summary
	exit 1
}
nfuncs=$(printf '%s\n' "$FUNCS" | wc -l)
it_pass "server exports $nfuncs PCI functions: $(grep -o 'serving.*' "$IT_DIR/server.log" |
	cut -c1-150)..."

# --- the list
out=$(lspci_remote)
if [ "$(printf '%s\n' "$out" | grep -c '^server0/')" -eq $((nfuncs + 2)) ] &&
	printf '%s\n' "$out" | grep -q '^server0/vgpu0  01:00\.[0-7] 3D controller: '; then
	it_pass "rpci-lspci lists the two virtual GPUs and the $nfuncs functions"
else
	it_fail "list: $out $(cat "$IT_DIR/lspci.err")"
fi

# --- the same list as a program of the host's rpci-proxy (no EAL, no config);
# the embedded dump first (a proxy owns the port while it runs)
xxx=$(lspci_remote -s server0/fn0 -xxx)
if it_start_proxy "$BUILD/app/rpci-proxy" "$CFG" client0 "$IT_DIR/proxy.log"; then
	via=$(timeout -s KILL 120 "$LSPCI" --proxy "$IT_DIR/proxy.sock" 2>"$IT_DIR/lspci-proxy.err")
	if [ "$via" = "$out" ]; then
		it_pass "through rpci-proxy: the same list ($(printf '%s\n' "$via" | wc -l) devices)"
	else
		it_fail "through rpci-proxy: $via $(cat "$IT_DIR/lspci-proxy.err")"
	fi
	via=$(timeout -s KILL 120 "$LSPCI" --proxy "$IT_DIR/proxy.sock" -s server0/fn0 -xxx \
		2>>"$IT_DIR/lspci-proxy.err")
	if [ "$via" = "$xxx" ] && [ -n "$via" ]; then
		it_pass "through rpci-proxy: fn0's -xxx dump is the embedded one"
	else
		it_fail "through rpci-proxy: fn0 -xxx: $via $(cat "$IT_DIR/lspci-proxy.err")"
	fi
	it_stop "$IT_PROXY_PID" 10 >/dev/null
else
	it_fail "rpci-proxy did not start"
fi

# --- each function: remote bytes and decoding equal to local lspci's
while read -r bdf name; do
	for mode in -xxx -vv -nn; do
		remote=$(lspci_remote -s "server0/$name" $mode)
		local=$(lspci_local "$bdf" $mode)
		if [ -n "$local" ] && [ "$remote" = "$local" ]; then
			it_pass "$name ($bdf) lspci $mode: remote = local ($(printf '%s\n' "$local" |
				head -n 1 | cut -c1-70))"
		else
			it_fail "$name ($bdf) lspci $mode differs"
			diff <(printf '%s\n' "$remote") <(printf '%s\n' "$local")
			cat "$IT_DIR/lspci.err"
		fi
	done
done <<<"$FUNCS"

# --- a BAR read outside the (empty) policy: refused, counted, BAR never read
bar=""
while read -r bdf name; do
	bar=$(lspci_local "$bdf" -vv | grep -o 'Region [0-5]: Memory' | head -n 1 | grep -o '[0-5]')
	[ -z "$bar" ] || break
done <<<"$FUNCS"
if [ -n "$bar" ]; then
	lspci_remote -s "server0/$name" -b "$bar:0:4" >/dev/null
	rc=${PIPESTATUS[0]}
	refused=$(timeout 10 "$BUILD/app/rpci-console" --socket "$IT_DIR/server0.sock" \
		-c "show devices" | awk -v n="$name" '$1 == n { print $12 }')
	if grep -q 'answered with an error' "$IT_DIR/lspci.err" && [ "${refused:-0}" -ge 1 ]; then
		it_pass "BAR$bar read of $name outside its policy refused: $(grep 'answered with' \
			"$IT_DIR/lspci.err");" \
			"the server counts $refused refusals"
	else
		it_fail "BAR read not refused: rc $rc, $(cat "$IT_DIR/lspci.err"), refused $refused"
	fi
else
	it_pass "no memory BAR on $name: no refusal to check"
fi

it_stop "$IT_SERVER_PID" 10
if grep -q "$name: .* refused (UR)" "$IT_DIR/server.log"; then
	it_pass "server stops: $(grep "$name: " "$IT_DIR/server.log" | tail -n 1 | cut -c1-140)"
else
	it_fail "server's counters at exit: $(tail -n 5 "$IT_DIR/server.log")"
fi

# --- files the server refuses, with their line
bad_file() {
	local what=$1 extra=$2 pattern=$3 out rc line
	pci_config "$extra" "" >"$IT_DIR/bad.cfg"
	line=$(grep -n 'name = "bad"' "$IT_DIR/bad.cfg" | cut -d: -f1)
	out=$(timeout 20 "$SERVER" --config "$IT_DIR/bad.cfg" --host server0 2>&1)
	rc=$?
	if [ $rc -ne 0 ] && printf '%s' "$out" | grep -q "bad.cfg:$line - .*$pattern"; then
		it_pass "$what refused: $(printf '%s\n' "$out" | grep "bad.cfg:$line" | head -n 1)"
	else
		it_fail "$what: rc $rc: $out"
	fi
}
bad_file "a function that does not exist" \
	"            { name = \"bad\"; kind = \"pci\"; address = \"00:1f.7\"; },\n" \
	"no PCI function 0000:00:1f.7"
bad_file "a policy range past a BAR" \
	"            { name = \"bad\"; kind = \"pci\"; address = \"$bdf\"; access = ( { allow = \"bar-read\"; bar = 5; offset = 0; size = 0x1000; } ); },\n" \
	"outside the function's memory BARs"
bad_file "a bad policy rule" \
	"            { name = \"bad\"; kind = \"pci\"; address = \"$bdf\"; access = ( { allow = \"bar-write\"; } ); },\n" \
	"'allow' must be"

it_summary
