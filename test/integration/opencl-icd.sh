#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Integration test of the rpci OpenCL ICD, run as a user would: a real
# rpci-server whose two devices run on OpenCL (PoCL on a machine without a
# GPU), a real rpci-proxy on the client host, and unmodified OpenCL
# programs that find the rpci platform through the ICD loader
# (OCL_ICD_VENDORS naming the build tree's vendor file, beside PoCL's):
#
# - clinfo lists the rpci platform and the remote device with the server's
#   real properties (compared with the same clinfo on PoCL here), no error;
# - rpci-icd-test checks the API call by call, and a context of both devices;
# - PyOpenCL programs give numpy's results (elementwise, reductions, a matrix
#   multiply and a scan with local memory, a binary);
# - the kernels of test/kernels give, byte for byte, what rpci-run --job cl
#   gives (which checks them against its CPU references);
# - clpeak's global bandwidth, compute, transfer bandwidth and kernel latency
#   run on the remote device and complete (a short run: a small device);
# - with no proxy, the platform has no device and nothing hangs;
# - with a selector (the server's host runs it): RPCI_OPENCL_REQUIRE chooses
#   the devices, a device is leased while a context uses it, a device reset
#   by the server's operator and a server killed under a program turn its
#   calls into CL_OUT_OF_RESOURCES in time.
#
# Exits 77 (skipped) without an OpenCL device on the server, or without
# clinfo, clpeak or PyOpenCL (usertools/install-deps.sh installs them).
#
# usage: opencl-icd.sh BUILD_DIR SOURCE_DIR

BUILD=${1:?build dir}
SRC=${2:?source dir}
. "$SRC/test/integration/lib.sh"

SERVER="$BUILD/app/rpci-server"
PROXYD="$BUILD/app/rpci-proxy"
RUN="$BUILD/app/rpci-run"
ICDTEST="$BUILD/test/tools/rpci-icd-test"
PY=/usr/bin/python3
K="$SRC/test/kernels"
CFG="$IT_DIR/icd.cfg"

for tool in clinfo clpeak; do
	if ! command -v "$tool" >/dev/null; then
		it_log "no $tool (usertools/install-deps.sh installs it): skipped"
		exit 77
	fi
done
if ! "$PY" -c 'import pyopencl, numpy' 2>/dev/null; then
	it_log "no python3-pyopencl or python3-numpy: skipped"
	exit 77
fi

it_pair_config "$SRC/config/pair.cfg" "$IT_DIR/pair.cfg"
# both devices on OpenCL: 256 and 128 MiB (clpeak sizes its buffers from them)
sed -e 's/backend = "cpu";/backend = "opencl";/' "$IT_DIR/pair.cfg" |
	awk '/name = "vgpu1"/ { v1 = 1 } v1 && /memory_mb = 256;/ { sub(/256/, "128"); v1 = 0 } 1' \
	>"$CFG"

# The loader sees rpci (the build tree's vendor file) and PoCL, if installed.
VENDORS="$IT_DIR/vendors"
mkdir -p "$VENDORS"
cp "$BUILD/drivers/opencl-icd/vendors/rpci.icd" "$VENDORS/rpci.icd"
for f in /etc/OpenCL/vendors/*.icd; do
	[ -f "$f" ] && cp "$f" "$VENDORS/"
done
export OCL_ICD_VENDORS="$VENDORS"
export RPCI_PROXY="$IT_DIR/proxy.sock"
export PYOPENCL_NO_CACHE=1
unset RPCI_OPENCL_DEVICES RPCI_OPENCL_REQUIRE

# A program that must not hang: bounded, its output in a log.
bounded() {
	local secs=$1 log=$2
	shift 2
	timeout -s KILL "$secs" "$@" >"$log" 2>&1
}

# The server must not see the rpci platform (it serves PoCL's device).
OCL_ICD_VENDORS=/etc/OpenCL/vendors it_start_server "$SERVER" "$CFG" server0 \
	"$IT_DIR/server.log"
if [ $? -ne 0 ]; then
	if grep -q -e "No such device" -e "no OpenCL platform" -e "no usable OpenCL device" \
		"$IT_DIR/server.log"; then
		it_log "no OpenCL device here: skipped"
		exit 77
	fi
	it_summary
	exit 1
fi
it_start_proxy "$PROXYD" "$CFG" client0 "$IT_DIR/proxy.log" || { it_summary; exit 1; }
PROXY_PID=$IT_PROXY_PID

# ---------------------------------------------------------------- clinfo
if bounded 60 "$IT_DIR/clinfo.txt" clinfo; then
	it_pass "clinfo runs ($(grep -c 'Platform Name' "$IT_DIR/clinfo.txt") platform lines)"
else
	it_fail "clinfo: rc $?"
	cat "$IT_DIR/clinfo.txt"
fi
# the rpci platform's section, and what the same PoCL says here
awk '/^  Platform Name +rpci$/ { on = 1 } on { print }
     /^  Platform Name/ && !/rpci/ { on = 0 }' "$IT_DIR/clinfo.txt" >"$IT_DIR/clinfo-rpci.txt"
OCL_ICD_VENDORS=/etc/OpenCL/vendors bounded 60 "$IT_DIR/clinfo-local.txt" clinfo
field() {
	grep -m 1 "^  $2 " "$1" | sed "s/^  $2 *//"
}
if grep -q "Device Name" "$IT_DIR/clinfo-rpci.txt"; then
	it_pass "clinfo lists the rpci platform and a device: $(field "$IT_DIR/clinfo-rpci.txt" 'Device Name')"
else
	it_fail "clinfo: no rpci device"
	cat "$IT_DIR/clinfo.txt"
fi
if grep -i -E "<error|CL_INVALID|CL_OUT_OF|error:" "$IT_DIR/clinfo.txt"; then
	it_fail "clinfo printed error lines"
else
	it_pass "clinfo printed no error line"
fi
same=0
differ=""
for f in "Device Name" "Device Vendor" "Device Version" "Driver Version" \
	"Device OpenCL C Version" "Max compute units" "Max work group size" \
	"Max work item sizes" "Local memory size" "Max clock frequency" "Address bits"; do
	if [ -n "$(field "$IT_DIR/clinfo-local.txt" "$f")" ] &&
		[ "$(field "$IT_DIR/clinfo-rpci.txt" "$f")" = "$(field "$IT_DIR/clinfo-local.txt" "$f")" ]; then
		same=$((same + 1))
	else
		differ="$differ '$f'"
	fi
done
if [ -z "$differ" ]; then
	it_pass "the remote device's properties are the server's real ones ($same compared with PoCL here)"
else
	it_fail "properties differ from PoCL's here:$differ"
fi
if [ "$(field "$IT_DIR/clinfo-rpci.txt" 'Global memory size')" = "268435456 (256MiB)" ] &&
	[ "$(field "$IT_DIR/clinfo-rpci.txt" 'Image support')" = "No" ]; then
	it_pass "served as rpci serves it: 256 MiB of device memory, no images"
else
	it_fail "memory or image support: $(field "$IT_DIR/clinfo-rpci.txt" 'Global memory size'), $(field "$IT_DIR/clinfo-rpci.txt" 'Image support')"
fi

# ---------------------------------------------------------------- the API
if bounded 300 "$IT_DIR/api.log" "$ICDTEST"; then
	it_pass "rpci-icd-test: $(tail -n 1 "$IT_DIR/api.log")"
else
	it_fail "rpci-icd-test: $(tail -n 1 "$IT_DIR/api.log")"
	grep FAIL "$IT_DIR/api.log"
fi
if RPCI_OPENCL_DEVICES=server0/vgpu0,server0/vgpu1 bounded 120 "$IT_DIR/multi.log" \
	"$ICDTEST" --multi; then
	it_pass "a context of two remote devices: $(tail -n 1 "$IT_DIR/multi.log")"
else
	it_fail "a context of two devices: $(tail -n 1 "$IT_DIR/multi.log")"
	grep FAIL "$IT_DIR/multi.log"
fi

# ---------------------------------------------------------------- PyOpenCL
if bounded 300 "$IT_DIR/py.log" "$PY" "$SRC/test/integration/icd_pyopencl.py"; then
	it_pass "PyOpenCL gives numpy's results: $(grep -c '^ok' "$IT_DIR/py.log") checks"
else
	it_fail "PyOpenCL"
	cat "$IT_DIR/py.log"
fi

# ---------------------------------------------------------------- test/kernels
# same_as_run NAME ARGS...: rpci-run --job cl verifies against its reference and
# dumps its outputs; the ICD's run of the same kernel dumps the same bytes.
same_as_run() {
	local name=$1
	shift
	rm -f "$IT_DIR/run.bin" "$IT_DIR/icd.bin"
	if ! bounded 120 "$IT_DIR/run.log" "$RUN" --job cl "$@" --dump "$IT_DIR/run.bin" ||
		! grep -q '^verified$' "$IT_DIR/run.log"; then
		it_fail "$name: rpci-run"
		cat "$IT_DIR/run.log"
		return
	fi
	local args=()
	while [ $# -gt 0 ]; do
		if [ "$1" = "--check" ]; then
			shift 2
			continue
		fi
		args+=("$1")
		shift
	done
	if bounded 120 "$IT_DIR/icd.log" "$PY" "$SRC/test/integration/icd_kernels.py" \
		"${args[@]}" --dump "$IT_DIR/icd.bin" &&
		cmp -s "$IT_DIR/run.bin" "$IT_DIR/icd.bin"; then
		it_pass "$name: through the ICD as through rpci-run ($(stat -c %s "$IT_DIR/icd.bin") bytes, verified)"
	else
		it_fail "$name: the ICD's result differs from rpci-run's"
		cat "$IT_DIR/icd.log"
	fi
}
same_as_run "saxpy" --source "$K/saxpy.cl" --kernel saxpy --global 100096 --local 128 \
	--arg f32:1.5 --arg in:f32:100003:seq --arg inout:f32:100003:seq --arg u32:100003 \
	--check saxpy
same_as_run "sgemm_tiled" --source "$K/sgemm_tiled.cl" --kernel sgemm_tiled \
	--global 208,304 --local 16,16 --arg in:f32:300x500:seq --arg in:f32:500x200:0.5 \
	--arg inout:f32:300x200:seq --arg u32:300 --arg u32:200 --arg u32:500 --arg f32:1.5 \
	--arg f32:0.5 --arg local:1024 --arg local:1024 --check sgemm
same_as_run "histogram" --source "$K/histogram.cl" --kernel histogram --global 1024 \
	--local 128 --arg in:u8:100003:seq --arg u32:100003 --arg out:u32:256 --arg local:1024 \
	--check histogram
same_as_run "prefix_sum" --source "$K/prefix_sum.cl" --kernel prefix_sum --global 256 \
	--local 256 --arg in:u32:100003:seq --arg out:u32:100003 --arg u32:100003 \
	--arg local:2048 --check scan

# ---------------------------------------------------------------- clpeak
rpci_index=$(clinfo -l 2>/dev/null | sed -n 's/^Platform #\([0-9]*\): rpci$/\1/p')
if bounded 400 "$IT_DIR/clpeak.log" clpeak -p "$rpci_index" -d 0 --global-bandwidth \
	--compute-sp --transfer-bandwidth --kernel-latency &&
	grep -q "float16 *: *[0-9.]*$" "$IT_DIR/clpeak.log" &&
	grep -q "enqueueReadBuffer *: *[0-9.]*$" "$IT_DIR/clpeak.log" &&
	grep -q "Kernel launch latency : [0-9.]* us" "$IT_DIR/clpeak.log" &&
	! grep -q -i -e "skipped" -e "error" "$IT_DIR/clpeak.log"; then
	last() {
		grep -A 5 "$1" "$IT_DIR/clpeak.log" | tail -n 1 | sed 's/.*: *//'
	}
	it_pass "clpeak on the remote device: float16 $(last 'Global memory') GB/s global, $(last 'Single-precision') GFLOPS, write $(grep -m 1 'enqueueWriteBuffer ' "$IT_DIR/clpeak.log" | sed 's/.*: *//') GB/s, read $(grep -m 1 'enqueueReadBuffer ' "$IT_DIR/clpeak.log" | sed 's/.*: *//') GB/s, launch $(grep -o 'latency : [0-9.]* us' "$IT_DIR/clpeak.log" | sed 's/latency : //')"
else
	it_fail "clpeak"
	cat "$IT_DIR/clpeak.log"
fi

# ---------------------------------------------------------------- no proxy
if RPCI_PROXY="$IT_DIR/none.sock" bounded 30 "$IT_DIR/noproxy.log" clinfo -l &&
	grep -q "rpci" "$IT_DIR/noproxy.log"; then
	it_pass "no proxy: the rpci platform shows no device, at once"
else
	it_fail "no proxy: rc $?"
	cat "$IT_DIR/noproxy.log"
fi

# ---------------------------------------------------------------- with a selector
# The same server as the selector's host too; the client host names no
# server: the ICD's devices are what the selector gives for RPCI_OPENCL_REQUIRE,
# leased while a context uses them.
it_stop "$PROXY_PID" 10
it_stop "$IT_SERVER_PID" 20
SEL="$IT_DIR/sel.cfg"
sed -e 's|roles = \[ "server" \];|roles = [ "server", "selector" ];|' \
	-e '/^        server = "server0";/d' -e '/^        device = "vgpu0";/d' "$CFG" >"$SEL"
cat >>"$SEL" <<'EOCFG'
selector = {
    host = "server0";
    policy = "first-fit";
    heartbeat_ms = 200;
    missed_heartbeats = 5;
    lease_ms = 5000;
    explore = 0.0;
    seed = 1;
    client_max_devices = 4;
    client_max_requests = 4;
};
EOCFG
"$BUILD/app/rpci-conf" --config "$SEL" --gen-keys >/dev/null
OCL_ICD_VENDORS=/etc/OpenCL/vendors it_start_server "$SERVER" "$SEL" server0 \
	"$IT_DIR/server-sel.log" || { it_summary; exit 1; }
it_start_proxy "$PROXYD" "$SEL" client0 "$IT_DIR/proxy-sel.log" || { it_summary; exit 1; }
PROXY_PID=$IT_PROXY_PID
for i in $(seq 1 50); do
	grep -q "vgpu1 registered" "$IT_DIR/server-sel.log" && break
	sleep 0.1
done

if RPCI_OPENCL_REQUIRE="min-memory=200M" bounded 60 "$IT_DIR/sel1.txt" clinfo &&
	grep -q "Global memory size *268435456 (256MiB)" "$IT_DIR/sel1.txt" &&
	RPCI_OPENCL_REQUIRE="devices=2" bounded 60 "$IT_DIR/sel2.txt" clinfo -l &&
	[ "$(grep -c 'Device #' "$IT_DIR/sel2.txt")" -ge 2 ]; then
	it_pass "with a selector: RPCI_OPENCL_REQUIRE chooses the 256 MiB device, devices=2 gives two"
else
	it_fail "with a selector: requirements"
	cat "$IT_DIR/sel1.txt" "$IT_DIR/sel2.txt"
fi
RPCI_OPENCL_REQUIRE="min-memory=10G" bounded 60 "$IT_DIR/sel3.txt" clinfo -l
if grep -q "no device has 10.0 GiB" "$IT_DIR/sel3.txt" &&
	! grep -A 1 ': rpci$' "$IT_DIR/sel3.txt" | grep -q "Device #"; then
	it_pass "a requirement nothing meets: no device, and why ($(grep -o 'no device has.*' "$IT_DIR/sel3.txt"))"
else
	it_fail "a requirement nothing meets"
	cat "$IT_DIR/sel3.txt"
fi
# leased when a context is created, released with the last context
cat >"$IT_DIR/lease.py" <<'EOPY'
import gc, subprocess, sys, time
import pyopencl as cl
def attached():
    out = subprocess.run([sys.argv[1], "--socket", sys.argv[2], "-c", "show table"],
                         capture_output=True, text=True).stdout
    return out.count(" attached ")
dev = [p for p in cl.get_platforms() if p.name == "rpci"][0].get_devices()[0]
before = attached()
ctx = cl.Context([dev])
during = attached()
del ctx
gc.collect()
time.sleep(0.5)
after = attached()
print("attached: %d before a context, %d with it, %d after" % (before, during, after))
sys.exit(0 if (before, during, after) == (0, 1, 0) else 1)
EOPY
if bounded 60 "$IT_DIR/lease.log" "$PY" "$IT_DIR/lease.py" "$BUILD/app/rpci-console" \
	"$IT_DIR/server0.sock"; then
	it_pass "leases: $(cat "$IT_DIR/lease.log")"
else
	it_fail "leases"
	cat "$IT_DIR/lease.log"
fi
if bounded 300 "$IT_DIR/api-sel.log" "$ICDTEST"; then
	it_pass "rpci-icd-test on the selector's device: $(tail -n 1 "$IT_DIR/api-sel.log")"
else
	it_fail "rpci-icd-test with a selector: $(tail -n 1 "$IT_DIR/api-sel.log")"
	grep FAIL "$IT_DIR/api-sel.log"
fi

# ---------------------------------------------------------------- a reset device
# The server's operator resets the devices (a function-level reset) under a
# program: its memory and programs are gone, so the device is lost to it.
"$ICDTEST" --lost >"$IT_DIR/reset.log" 2>&1 &
RESET_PID=$!
IT_PIDS="$IT_PIDS $RESET_PID"
for i in $(seq 1 300); do
	grep -q "^running" "$IT_DIR/reset.log" && break
	sleep 0.1
done
sleep 1
for v in vgpu0 vgpu1; do
	timeout 20 "$BUILD/app/rpci-console" --socket "$IT_DIR/server0.sock" -c "reset $v" \
		>>"$IT_DIR/reset-console.log" 2>&1
done
it_wait_exit "$RESET_PID" 30
rc=$?
if [ $rc -eq 0 ] && grep -q "^error -5 " "$IT_DIR/reset.log" &&
	grep -q "was reset" "$IT_DIR/reset.log"; then
	it_pass "devices reset under a program: $(grep '^error' "$IT_DIR/reset.log"), told: $(grep -o 'was reset[^:]*' "$IT_DIR/reset.log" | head -n 1); $(grep '^then' "$IT_DIR/reset.log")"
else
	it_fail "reset under a program: rc $rc"
	tail -n 5 "$IT_DIR/reset.log" "$IT_DIR/reset-console.log"
fi

# ---------------------------------------------------------------- a lost server
"$ICDTEST" --lost >"$IT_DIR/lost.log" 2>&1 &
LOST_PID=$!
IT_PIDS="$IT_PIDS $LOST_PID"
for i in $(seq 1 300); do
	grep -q "^running" "$IT_DIR/lost.log" && break
	sleep 0.1
done
sleep 1
t0=$(date +%s%N)
kill -KILL "$IT_SERVER_PID"
it_wait_exit "$LOST_PID" 30
rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
if [ $rc -eq 0 ] && grep -q "^error -5 \|^error -2 " "$IT_DIR/lost.log"; then
	it_pass "server killed under a program: $(grep '^error' "$IT_DIR/lost.log"), its calls fail in $ms ms: $(grep '^then' "$IT_DIR/lost.log")"
else
	it_fail "lost server: rc $rc after $ms ms"
	tail -n 5 "$IT_DIR/lost.log"
fi

it_stop "$PROXY_PID" 10
it_summary
