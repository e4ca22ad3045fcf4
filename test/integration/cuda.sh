#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Integration test of the cuda backend on a real NVIDIA GPU: an rpci-server
# serving a device of backend "cuda" (config/pair.cfg with the backend
# changed) and rpci-run clients over memif running the PTX kernels of
# test/kernels (saxpy, sgemm) with --job ptx, verified by rpci-run --check;
# then bad modules and arguments, a kernel that faults (the next client must
# be served again) and a clean stop.
#
# Where there is no NVIDIA driver or GPU, the server must refuse the device
# and say why (the cuda backend's "rpci.gpu.cuda: ..." line, then ENODEV):
# the test is then skipped, exit 77. doc/backends.md says how to run it on a
# GPU host.
#
# With RPCI_CUDA_LIBRARY naming the CUDA driver test double
# (test/unit/cuda_driver_double.c; meson test cuda-double), the same steps
# run without a GPU: the double runs saxpy and sgemm on the host, so the
# server, the device model and the backend are checked end to end.
#
# usage: cuda.sh BUILD_DIR SOURCE_DIR

BUILD=${1:?build dir}
SRC=${2:?source dir}
. "$SRC/test/integration/lib.sh"

SERVER="$BUILD/app/rpci-server"
RUN="$BUILD/app/rpci-run"
KERNELS="$SRC/test/kernels"
CFG="$IT_DIR/cuda.cfg"
it_pair_config "$SRC/config/pair.cfg" "$IT_DIR/pair.cfg"
sed 's/backend = "cpu";/backend = "cuda";/' "$IT_DIR/pair.cfg" >"$CFG"
if ! grep -q 'backend = "cuda";' "$CFG"; then
	it_log "FAIL - config/pair.cfg has no 'backend = \"cpu\";' line to change"
	exit 1
fi

# Start the server; it either serves (GPU present) or exits at once.
"$SERVER" --config "$CFG" --host server0 >"$IT_DIR/server.log" 2>&1 &
IT_SERVER_PID=$!
IT_PIDS="$IT_PIDS $IT_SERVER_PID"
started=0
for i in $(seq 1 600); do
	if grep -q "serving" "$IT_DIR/server.log" 2>/dev/null; then
		started=1
		break
	fi
	if ! kill -0 "$IT_SERVER_PID" 2>/dev/null; then
		break
	fi
	sleep 0.1
done

if [ $started -eq 0 ]; then
	it_wait_exit "$IT_SERVER_PID" 5
	rc=$?
	why=$(grep -m 1 '^rpci\.gpu\.cuda: ' "$IT_DIR/server.log")
	if [ $rc -ne 0 ] && [ -n "$why" ] &&
		grep -q "device 'vgpu0': backend 'cuda': No such device" "$IT_DIR/server.log"; then
		it_log "SKIP - no NVIDIA GPU here: the server refused the cuda device (exit $rc):"
		sed 's/^/       /' "$IT_DIR/server.log"
		exit 77
	fi
	if [ $rc -ne 0 ] && grep -q "backend 'cuda': No such file or directory; built-in" \
		"$IT_DIR/server.log"; then
		it_log "SKIP - this rpci-server is built without the cuda backend (no cuda.h)"
		exit 77
	fi
	it_fail "server with a cuda device neither served nor said why (exit $rc)"
	cat "$IT_DIR/server.log"
	it_summary
	exit 1
fi
it_log "server: $(grep -m 1 serving "$IT_DIR/server.log")"
if [ -n "${RPCI_CUDA_LIBRARY:-}" ]; then
	it_log "driver: $RPCI_CUDA_LIBRARY (RPCI_CUDA_LIBRARY), not libcuda.so.1"
fi

# rpci-run loads PTX with --job ptx; without it nothing here can run
if timeout 60 "$RUN" --config "$CFG" --host client0 --job ptx 2>&1 | grep -q "unknown job 'ptx'"; then
	if [ -n "${RPCI_CUDA_LIBRARY:-}" ]; then
		it_log "SKIP - this rpci-run has no --job ptx"
		exit 77
	fi
	it_fail "this rpci-run has no --job ptx: the GPU cannot be tested"
	it_summary
	exit 1
fi

run_job() {
	timeout -s KILL 300 "$RUN" --config "$CFG" --host client0 "$@" >"$IT_DIR/run.log" 2>&1
}

job_ok() {
	local name=$1
	shift
	if run_job "$@" && [ "$(tail -n 1 "$IT_DIR/run.log")" = "verified" ]; then
		it_pass "$name ($(grep -o 'total [0-9.]* ms' "$IT_DIR/run.log" | head -n 1))"
	else
		it_fail "$name"
		cat "$IT_DIR/run.log"
	fi
}

# job_fails NAME ARGS...: rpci-run exits 1 (an error, not a usage error), no verdict
job_fails() {
	local name=$1
	shift
	run_job "$@"
	local rc=$?
	if [ $rc -eq 1 ] && ! grep -q '^verified$' "$IT_DIR/run.log"; then
		it_pass "$name: $(grep 'rpci-run: ' "$IT_DIR/run.log" | tail -n 1)"
	else
		it_fail "$name: rc $rc"
		cat "$IT_DIR/run.log"
	fi
}

round_up() {
	echo $((($1 + $2 - 1) / $2 * $2))
}

# saxpy N [FILL]: y = alpha * x + y, one thread per element, blocks of 256
saxpy() {
	local n=$1 fill=${2:-rand} alpha=2.5
	[ "$fill" = small ] && alpha=3
	job_ok "saxpy n=$n data=$fill${3:+ ${*:3}}" --job ptx --source "$KERNELS/saxpy.ptx" --kernel saxpy \
		--global "$(round_up "$n" 256)" --local 256 \
		--arg "f32:$alpha" --arg "in:f32:$n:$fill" --arg "inout:f32:$n:$fill" \
		--arg "u64:$n" --check saxpy "${@:3}"
}

# sgemm M N K BETA [FILL]: C = 1.5 A.B + BETA C, x along the columns, 16 x 16 blocks
sgemm() {
	local m=$1 n=$2 k=$3 beta=$4 fill=${5:-rand}
	job_ok "sgemm ${m}x${n}x${k} beta=$beta data=$fill" --job ptx \
		--source "$KERNELS/sgemm.ptx" --kernel sgemm \
		--global "$(round_up "$n" 16),$(round_up "$m" 16)" --local 16,16 \
		--arg "in:f32:${m}x${k}:$fill" --arg "in:f32:${k}x${n}:$fill" \
		--arg "inout:f32:${m}x${n}:$fill" \
		--arg "u64:$m" --arg "u64:$n" --arg "u64:$k" --arg f32:1.5 --arg "f32:$beta" \
		--check sgemm
}

if run_job --info && grep -q "cuda backend on " "$IT_DIR/run.log"; then
	it_pass "device info: $(grep -o 'cuda backend on [^,]*, [0-9]* compute units' \
		"$IT_DIR/run.log")"
else
	it_fail "device info"
	cat "$IT_DIR/run.log"
fi

saxpy 1
saxpy 1000 small
saxpy 100003
saxpy 100003 small --h2d pull
saxpy 4194304
sgemm 1 1 1 0 small
sgemm 3 5 7 0.5
sgemm 65 33 17 0 small
sgemm 127 200 31 0.5
sgemm 256 256 256 0.5 small
sgemm 300 200 500 0

# errors the driver reports, carried back to the client
printf 'this is not PTX\n' >"$IT_DIR/bad.ptx"
job_fails "bad PTX refused" --job ptx --source "$IT_DIR/bad.ptx" --kernel saxpy \
	--global 256 --arg f32:1 --arg in:f32:256 --arg inout:f32:256 --arg u64:256
job_fails "no such kernel" --job ptx --source "$KERNELS/saxpy.ptx" --kernel nosuch \
	--global 256 --arg f32:1 --arg in:f32:256 --arg inout:f32:256 --arg u64:256
job_fails "argument of the wrong size" --job ptx --source "$KERNELS/saxpy.ptx" \
	--kernel saxpy --global 256 --arg f32:1 --arg in:f32:256 --arg inout:f32:256 \
	--arg u32:256
# a kernel that reads far past device memory faults; the device is cleared
# for the next client (a fresh CUDA context) and serves it
job_fails "kernel fault reported" --job ptx --source "$KERNELS/saxpy.ptx" --kernel saxpy \
	--global 1073741824 --local 256 --arg f32:1 --arg in:f32:256 --arg inout:f32:256 \
	--arg u64:1073741824
saxpy 100003 small

if kill -0 "$IT_SERVER_PID" 2>/dev/null; then
	it_stop "$IT_SERVER_PID" 20
	rc=$?
	if [ $rc -eq 0 ] && grep -q "shutting down" "$IT_DIR/server.log"; then
		it_pass "server stops cleanly on SIGINT"
	else
		it_fail "server stop: rc $rc"
		tail -n 20 "$IT_DIR/server.log"
	fi
else
	it_fail "the server died"
	tail -n 20 "$IT_DIR/server.log"
fi
if grep -q '^rpci\.gpu\.cuda: ' "$IT_DIR/server.log"; then
	it_log "backend messages:"
	grep '^rpci\.gpu\.cuda: ' "$IT_DIR/server.log" | sed 's/^/       /'
fi

it_summary
