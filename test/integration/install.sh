#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Integration test of the installed client library: `meson install` into a
# temporary DESTDIR, then the README's API example (the C block under "The
# API in one screen", taken from README.md as it is) built as a user builds
# it, with a plain cc and pkg-config, against the installed header and
# librpci only, and run against a real rpci-server and rpci-proxy.
#
# usage: install.sh BUILD_DIR SOURCE_DIR

BUILD=${1:?build dir}
SRC=${2:?source dir}
. "$SRC/test/integration/lib.sh"

CFG="$IT_DIR/pair.cfg"
ROOT="$IT_DIR/root"
it_pair_config "$SRC/config/pair.cfg" "$CFG"

if ! command -v pkg-config >/dev/null || ! command -v cc >/dev/null; then
	it_log "skip: no cc or pkg-config"
	exit 77
fi

# --- meson install into a DESTDIR
if meson install -C "$BUILD" --no-rebuild --quiet --destdir "$ROOT" >"$IT_DIR/install.log" 2>&1; then
	it_pass "meson install --destdir"
else
	it_fail "meson install"
	cat "$IT_DIR/install.log"
	it_summary
	exit 1
fi
pc=$(find "$ROOT" -name rpci.pc | head -n 1)
hdr=$(find "$ROOT" -name rpci_client.h | head -n 1)
lib=$(find "$ROOT" -name 'librpci.so.1' | head -n 1)
if [ -n "$pc" ] && [ -n "$hdr" ] && [ -n "$lib" ]; then
	it_pass "installed: ${pc#"$ROOT"}, ${hdr#"$ROOT"}, ${lib#"$ROOT"}"
else
	it_fail "installed files: pc '$pc' header '$hdr' library '$lib'"
	find "$ROOT" -type f | head -n 40
	it_summary
	exit 1
fi
export PKG_CONFIG_PATH
PKG_CONFIG_PATH=$(dirname "$pc")
export PKG_CONFIG_SYSROOT_DIR="$ROOT"

# the exported symbols: the public API (and the internal node), nothing else
bad=$(nm -D --defined-only "$lib" | awk '$2 ~ /[TDBR]/ { print $3 }' |
	grep -v -E '^(rpci_|RPCI_1$|INTERNAL$)' | head -n 5)
priv=$(nm -D --defined-only "$lib" | awk '{ print $3 }' | grep -E '^(cl_|rpci_ipc_)' | head -n 3)
if [ -z "$bad" ] && [ -z "$priv" ]; then
	it_pass "librpci exports rpci_* only ($(nm -D --defined-only "$lib" | grep -c ' T rpci_') functions, version RPCI_1)"
else
	it_fail "librpci exports more: $bad $priv"
fi

# --- the README's example, built as a user builds it
awk '/^## The API in one screen/ { api = 1 } api && /^```c$/ { on = 1; next }
	on && /^```$/ { exit } on { print }' "$SRC/README.md" >"$IT_DIR/saxpy.c"
flags=$(pkg-config --cflags --libs rpci 2>&1)
if [ -s "$IT_DIR/saxpy.c" ] &&
	cc -std=c11 -Wall -Werror "$IT_DIR/saxpy.c" $flags -o "$IT_DIR/saxpy" >"$IT_DIR/cc.log" 2>&1; then
	it_pass "README example built: cc saxpy.c $flags"
else
	it_fail "README example does not build ($flags)"
	cat "$IT_DIR/cc.log"
	it_summary
	exit 1
fi
if ldd "$IT_DIR/saxpy" 2>/dev/null | grep -q -E 'librte|libdpdk'; then
	it_fail "the example pulls in DPDK: $(ldd "$IT_DIR/saxpy" | grep -E 'librte' | head -n 2)"
else
	it_pass "the example links librpci, no DPDK"
fi

# --- run against a server and a proxy, as an ordinary program
it_start_server "$BUILD/app/rpci-server" "$CFG" server0 "$IT_DIR/server.log" ||
	{ it_summary; exit 1; }
"$BUILD/app/rpci-proxy" --config "$CFG" --host client0 >"$IT_DIR/proxy.log" 2>&1 &
proxy=$!
IT_PIDS="$IT_PIDS $proxy"
for i in $(seq 1 100); do
	grep -q "serving programs" "$IT_DIR/proxy.log" && break
	sleep 0.1
done
out=$(RPCI_PROXY="$IT_DIR/proxy.sock" LD_LIBRARY_PATH="$(dirname "$lib")" \
	timeout 60 "$IT_DIR/saxpy" 2>&1)
rc=$?
if [ $rc -eq 0 ] && printf '%s' "$out" | grep -q 'verified'; then
	it_pass "the example runs through rpci-proxy: $out"
else
	it_fail "the example: rc $rc: $out"
	tail -n 20 "$IT_DIR/proxy.log"
fi
it_stop "$proxy" 20
it_stop "$IT_SERVER_PID" 20
it_summary
