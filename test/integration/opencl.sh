#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Integration test of the opencl backend: a real rpci-server whose device runs
# on OpenCL (PoCL on a machine without a GPU) and real rpci-run processes
# joined by memif. The four kernels of test/kernels (saxpy, tiled sgemm,
# histogram, prefix sum) built remotely and run at several sizes, most not
# powers of two, each checked against its CPU reference; a kernel that does
# not compile (the compiler's log comes back), an unknown kernel, arguments
# that do not fit, usage errors, --dump and --json. Exits 77 (skipped) if the
# server finds no OpenCL device.
#
# usage: opencl.sh BUILD_DIR SOURCE_DIR

BUILD=${1:?build dir}
SRC=${2:?source dir}
. "$SRC/test/integration/lib.sh"

SERVER="$BUILD/app/rpci-server"
RUN="$BUILD/app/rpci-run"
K="$SRC/test/kernels"
CFG="$IT_DIR/opencl.cfg"
it_pair_config "$SRC/config/pair.cfg" "$IT_DIR/pair.cfg"
# the device on OpenCL, with 64 MiB (cleared between clients)
sed -e 's/backend = "cpu";/backend = "opencl";/' \
    -e '/backend = "opencl";/,/memory_mb/ s/memory_mb = 256;/memory_mb = 64;/' \
    "$IT_DIR/pair.cfg" >"$CFG"

# round_up N M: N rounded up to a multiple of M
round_up() {
	echo $((($1 + $2 - 1) / $2 * $2))
}

run_cl() {
	timeout -s KILL 60 "$RUN" --config "$CFG" --host client0 --job cl "$@" \
		>"$IT_DIR/run.log" 2>&1
}

# cl_ok NAME ARGS...: the run verifies
cl_ok() {
	local name=$1
	shift
	if run_cl "$@" && grep -q '^verified$' "$IT_DIR/run.log"; then
		it_pass "$name ($(grep -o 'kernel [0-9.]* ms' "$IT_DIR/run.log"), $(grep -o 'total [0-9.]* ms' "$IT_DIR/run.log"), $(grep -o 'local CPU [0-9.]* ms' "$IT_DIR/run.log"))"
	else
		it_fail "$name"
		cat "$IT_DIR/run.log"
	fi
}

# cl_error NAME PATTERN ARGS...: exits 1 and says PATTERN
cl_error() {
	local name=$1 pattern=$2 rc
	shift 2
	run_cl "$@"
	rc=$?
	if [ $rc -eq 1 ] && grep -q -- "$pattern" "$IT_DIR/run.log" &&
		! grep -q '^verified$' "$IT_DIR/run.log"; then
		it_pass "$name: $(grep -- "$pattern" "$IT_DIR/run.log" | head -n 1 | sed 's/^ *//')"
	else
		it_fail "$name: rc $rc"
		cat "$IT_DIR/run.log"
	fi
}

# usage errors: exit 2 with one line, before anything starts
usage_error() {
	local name=$1 out rc
	shift
	out=$("$RUN" --config "$CFG" --host client0 "$@" 2>&1)
	rc=$?
	if [ $rc -eq 2 ] && [ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ]; then
		it_pass "usage: $name ($out)"
	else
		it_fail "usage: $name: rc $rc, output: $out"
	fi
}

saxpy() {
	local n=$1 fill=$2 local_size=$3
	cl_ok "saxpy n=$n $fill" --source "$K/saxpy.cl" --kernel saxpy \
		--global "$(round_up "$n" "$local_size")" --local "$local_size" \
		--arg f32:1.5 --arg "in:f32:$n:$fill" --arg "inout:f32:$n:$fill" --arg "u32:$n" \
		--check saxpy
}

# sgemm M N K TILE FILL BETA
sgemm() {
	local m=$1 n=$2 k=$3 ts=$4 fill=$5 beta=$6
	cl_ok "sgemm_tiled ${m}x${n}x${k} tile $ts $fill beta=$beta" \
		--source "$K/sgemm_tiled.cl" --kernel sgemm_tiled \
		--global "$(round_up "$n" "$ts"),$(round_up "$m" "$ts")" --local "$ts,$ts" \
		--arg "in:f32:${m}x${k}:$fill" --arg "in:f32:${k}x${n}:$fill" \
		--arg "inout:f32:${m}x${n}:$fill" --arg "u32:$m" --arg "u32:$n" --arg "u32:$k" \
		--arg f32:2 --arg "f32:$beta" \
		--arg "local:$((ts * ts * 4))" --arg "local:$((ts * ts * 4))" --check sgemm
}

# histogram N GLOBAL LOCAL
histogram() {
	local n=$1 global=$2 local_size=$3
	cl_ok "histogram n=$n global=$global local=$local_size" \
		--source "$K/histogram.cl" --kernel histogram --global "$global" \
		--local "$local_size" --arg "in:u8:$n" --arg "u32:$n" --arg out:u32:256 \
		--arg local:1024 --check histogram
}

# scan N LOCAL
scan() {
	local n=$1 local_size=$2
	cl_ok "prefix_sum n=$n local=$local_size" --source "$K/prefix_sum.cl" \
		--kernel prefix_sum --global "$local_size" --local "$local_size" \
		--arg "in:u32:$n" --arg "out:u32:$n" --arg "u32:$n" \
		--arg "local:$((local_size * 8))" --check scan
}

usage_error "cl without --source" --job cl --kernel saxpy --global 64
usage_error "missing source file" --job cl --source "$IT_DIR/none.cl" --kernel k --global 1
usage_error "bad --arg" --job cl --source "$K/saxpy.cl" --kernel saxpy --global 64 \
	--arg in:f33:4
usage_error "bad count" --job cl --source "$K/saxpy.cl" --kernel saxpy --global 64 \
	--arg in:f32:0
usage_error "global not a multiple of local" --job cl --source "$K/saxpy.cl" \
	--kernel saxpy --global 100 --local 64 --arg u32:1
usage_error "--check with other arguments" --job cl --source "$K/saxpy.cl" \
	--kernel saxpy --global 64 --arg f32:1 --arg in:f32:64 --arg u32:64 --check saxpy
usage_error "--arg with a built-in job" --job saxpy --n 4 --arg u32:4

it_start_server "$SERVER" "$CFG" server0 "$IT_DIR/server.log"
if [ $? -ne 0 ]; then
	if grep -q -e "No such device" -e "no OpenCL platform" -e "no usable OpenCL device" \
		"$IT_DIR/server.log"; then
		it_log "no OpenCL device here: skipped"
		exit 77
	fi
	it_summary
	exit 1
fi

if timeout -s KILL 60 "$RUN" --config "$CFG" --host client0 --info >"$IT_DIR/run.log" 2>&1 &&
	grep -q "opencl backend on .*, [1-9][0-9]* compute units, 64 MiB" "$IT_DIR/run.log"; then
	it_pass "device info: $(grep -o 'opencl backend on .*MiB free)' "$IT_DIR/run.log")"
else
	it_fail "device info"
	cat "$IT_DIR/run.log"
fi

saxpy 1 small 1
saxpy 1000 small 64
saxpy 100003 rand 128
saxpy 65536 rand 256

sgemm 1 1 1 1 small 3
sgemm 3 5 7 4 rand 0.5
sgemm 65 33 17 16 small 3
sgemm 127 200 31 8 rand 0.5
sgemm 100 90 80 16 rand 0
sgemm 300 200 500 16 rand 0.5

histogram 1 1 1
histogram 1000 256 64
histogram 100003 1024 128
histogram 65536 4096 256

scan 1 1
scan 129 64
scan 1000 128
scan 100003 256

# the same computation as the built-in sgemm (cpu backend), for the timings
if run_cl --source "$K/sgemm_tiled.cl" --kernel sgemm_tiled --global 512,512 --local 16,16 \
	--arg in:f32:512x512 --arg in:f32:512x512 --arg inout:f32:512x512 --arg u32:512 \
	--arg u32:512 --arg u32:512 --arg f32:1 --arg f32:0.5 --arg local:1024 --arg local:1024 \
	--check sgemm && grep -q '^verified$' "$IT_DIR/run.log"; then
	it_pass "sgemm_tiled 512x512x512: $(grep -o 'kernel [0-9.]* ms.*' "$IT_DIR/run.log")"
else
	it_fail "sgemm_tiled 512x512x512"
	cat "$IT_DIR/run.log"
fi

# --dump: the bins of a histogram, raw, count every byte
rm -f "$IT_DIR/bins.bin"
if run_cl --source "$K/histogram.cl" --kernel histogram --global 512 --local 128 \
	--arg in:u8:77777 --arg u32:77777 --arg out:u32:256 --arg local:1024 \
	--dump "$IT_DIR/bins.bin" && grep -q '^done$' "$IT_DIR/run.log" &&
	[ "$(stat -c %s "$IT_DIR/bins.bin")" -eq 1024 ] &&
	[ "$(od -An -tu4 -v "$IT_DIR/bins.bin" | awk '{ for (i = 1; i <= NF; i++) s += $i } END { print s }')" -eq 77777 ]; then
	it_pass "--dump: 256 bins that count 77777 bytes"
else
	it_fail "--dump"
	cat "$IT_DIR/run.log"
fi

# --json
rm -f "$IT_DIR/out.json"
if run_cl --source "$K/saxpy.cl" --kernel saxpy --global 512 --arg f32:2 --arg in:f32:500 \
	--arg inout:f32:500 --arg u32:500 --check saxpy --json "$IT_DIR/out.json" &&
	grep -q '"job":"cl".*"kernel":"saxpy".*"local":"256".*"result":"verified"' \
		"$IT_DIR/out.json"; then
	it_pass "JSON result"
else
	it_fail "JSON result"
	cat "$IT_DIR/run.log" "$IT_DIR/out.json" 2>/dev/null
fi

# a kernel that does not compile: the compiler's log comes back to the client
cat >"$IT_DIR/broken.cl" <<'EOF'
__kernel void broken(__global float *x)
{
	x[get_global_id(0)] = not_declared_anywhere * 2.0f;
}
EOF
cl_error "build error" "error.*not_declared_anywhere" --source "$IT_DIR/broken.cl" \
	--kernel broken --global 1 --arg out:f32:1
cl_error "unknown kernel" "no kernel 'no_such_kernel'" --source "$K/saxpy.cl" \
	--kernel no_such_kernel --global 1
cl_error "wrong argument count" "Invalid argument" --source "$K/saxpy.cl" --kernel saxpy \
	--global 64 --arg f32:1 --arg in:f32:64 --arg u32:64
cl_error "buffer for a scalar" "Invalid argument" --source "$K/saxpy.cl" --kernel saxpy \
	--global 64 --arg f32:1 --arg in:f32:64 --arg inout:f32:64 --arg in:u32:1
cl_error "work group too large" "Invalid argument" --source "$K/saxpy.cl" --kernel saxpy \
	--global 1048576 --local 1048576 --arg f32:1 --arg in:f32:64 --arg inout:f32:64 \
	--arg u32:64
out=$(timeout -s KILL 60 "$RUN" --config "$CFG" --host client0 --job saxpy --n 100 2>&1)
rc=$?
if [ $rc -eq 1 ] && printf '%s' "$out" | grep -q "does not load"; then
	it_pass "built-in job on opencl: $(printf '%s\n' "$out" | grep 'rpci-run:' | tail -n 1)"
else
	it_fail "built-in job on opencl: rc $rc, output: $out"
fi
# the device still serves after the errors
saxpy 4097 small 1

it_stop "$IT_SERVER_PID" 20
rc=$?
if [ $rc -eq 0 ] && grep -q "shutting down" "$IT_DIR/server.log"; then
	it_pass "server stops cleanly on SIGINT ($(grep -c 'closed its session' "$IT_DIR/server.log") clients served)"
else
	it_fail "server stop: rc $rc"
	tail -n 20 "$IT_DIR/server.log"
fi

it_summary
