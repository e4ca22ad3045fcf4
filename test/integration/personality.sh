#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Integration test of personalities and function-level reset: a server that
# runs the selector too (roles server and selector) and a client joined by
# memif; the client asks the selector for its device, so its library keeps
# a replay log.
#   - "set personality vgpu0 PROFILE" on the server's console while a job
#     runs on the device: the device is reset and cleared, the client is
#     told, brings it up again on the same session, re-creates its state
#     from the log, and the job finishes verified
#   - the selector's table, and the client (rpci-lspci), see the new
#     identity (vendor, device, class, BAR0 size)
#   - refusals: an unknown profile, an unknown device, a profile whose BAR2
#     is smaller than the device's memory
#   - a client that sets the FLR bit itself (rpci-run --reset) gets its
#     device back, up again
#
# usage: personality.sh BUILD_DIR SOURCE_DIR

BUILD=${1:?build dir}
SRC=${2:?source dir}
. "$SRC/test/integration/lib.sh"

SERVER="$BUILD/app/rpci-server"
RUN="$BUILD/app/rpci-run"
CFG="$IT_DIR/personality.cfg"
CONSOLE="$IT_DIR/server0.sock"

it_pair_config "$SRC/config/pair.cfg" "$IT_DIR/base.cfg"
awk -v dir="$IT_DIR" '
	/roles = \[ "server" \];/ { sub(/"server" \]/, "\"server\", \"selector\" ]") }
	/^ *server = "server0";/ || /^ *device = "vgpu0";/ { next }
	{ print }
' "$IT_DIR/base.cfg" >"$CFG"
cat >>"$CFG" <<'CFGEOF'

selector = { host = "server0"; };
profiles = (
    { name = "rpci-gpu"; vendor_id = 0x7270; device_id = 0x0001; subsystem_vendor_id = 0x7270;
      subsystem_id = 0x0001; class_code = 0x030200; revision = 1; },
    { name = "rpci-accel"; vendor_id = 0x7270; device_id = 0x0002; subsystem_vendor_id = 0x7270;
      subsystem_id = 0x0002; class_code = 0x120000; revision = 2; bar0_size = 0x20000; },
    { name = "too-small"; vendor_id = 0x7270; device_id = 0x0003; class_code = 0x030200;
      bar2_size = 0x100000; }
);
CFGEOF
# The selector's conversation is authenticated: the hosts' keys.
"$BUILD/app/rpci-conf" --config "$CFG" --gen-keys >/dev/null || it_fail "rpci-conf --gen-keys"

console() {
	timeout 20 "$BUILD/app/rpci-console" --socket "$CONSOLE" "$@" 2>&1
}

it_start_server "$SERVER" "$CFG" server0 "$IT_DIR/server.log" || {
	it_fail "server did not start"
	it_summary
	exit 1
}
for i in $(seq 1 50); do
	console -c "show table" | grep -q '^server0 .* free ' && break
	sleep 0.1
done

# --- a reset with a new personality while a job runs
timeout -s KILL 120 "$RUN" --config "$CFG" --host client0 --job sgemm --m 1500 --n 1500 \
	--k 1500 --data int >"$IT_DIR/job.log" 2>&1 &
job_pid=$!
IT_PIDS="$IT_PIDS $job_pid"
for i in $(seq 1 200); do
	console -c "show devices" | grep -q '^vgpu0 .*02:72:70:63:69:02' && break
	sleep 0.05
done
sleep 0.2
out=$(console -c "set personality vgpu0 rpci-accel")
if printf '%s' "$out" | grep -q "personality rpci-accel (7270:0002 class 120000), function-level reset, its client told"; then
	it_pass "console: $out"
else
	it_fail "set personality: $out"
fi
it_wait_exit "$job_pid" 120
rc=$?
if [ $rc -eq 0 ] && grep -q '^verified$' "$IT_DIR/job.log" &&
	grep -q 'device 1 was reset 1 time' "$IT_DIR/job.log"; then
	it_pass "the job running through the reset finished, verified: $(grep 'replayed' \
		"$IT_DIR/job.log" | sed 's/^.*: //')"
else
	it_fail "the job through the reset: rc $rc"
	cat "$IT_DIR/job.log"
fi

# --- the new identity: the selector's table, and the client's view
for i in $(seq 1 30); do
	console -c "show table" | grep -q '^server0 .*7270:0002 120000' && break
	sleep 0.1
done
row=$(console -c "show table" | grep '^server0 ')
if printf '%s' "$row" | grep -q '7270:0002 120000'; then
	it_pass "the selector's table shows the new identity: $row"
else
	it_fail "table: $row"
fi
out=$(timeout -s KILL 60 "$BUILD/app/rpci-lspci" --config "$CFG" --host client0 --backend cpu \
	-vv 2>"$IT_DIR/lspci.err")
if printf '%s\n' "$out" | grep -q '^01:00.0 Processing accelerators: Device 7270:0002 (rev 02)' &&
	printf '%s\n' "$out" | grep -q 'Region 0: Memory at e0000000 (32-bit, non-prefetchable) \[size=128K\]' &&
	printf '%s\n' "$out" | grep -q 'FLReset+'; then
	it_pass "rpci-lspci sees it: $(printf '%s\n' "$out" | head -n 1)," \
		"$(printf '%s\n' "$out" | grep 'Region 0')"
else
	it_fail "rpci-lspci: $out $(cat "$IT_DIR/lspci.err")"
fi

# --- back, and refusals
out=$(console -c "set personality vgpu0 rpci-gpu")
if printf '%s' "$out" | grep -q "personality rpci-gpu (7270:0001 class 030200)"; then
	it_pass "back to rpci-gpu: $out"
else
	it_fail "back: $out"
fi
refused() {
	local what=$1 cmd=$2 pattern=$3 out
	out=$(console -c "$cmd")
	if [ $? -eq 1 ] && printf '%s' "$out" | grep -q "^error: .*$pattern"; then
		it_pass "$what refused: $out"
	else
		it_fail "$what: $out"
	fi
}
refused "an unknown profile" "set personality vgpu0 h100" "no profile 'h100'"
refused "an unknown device" "set personality vgpu9 rpci-gpu" "has no device 'vgpu9'"
refused "a BAR2 smaller than the memory" "set personality vgpu0 too-small" "smaller than the device's memory"
for i in $(seq 1 30); do
	row=$(console -c "show table" | grep '^server0 ')
	printf '%s' "$row" | grep -q '7270:0001 030200' && break
	sleep 0.1
done
if printf '%s' "$row" | grep -q '7270:0001 030200'; then
	it_pass "after the refusals the identity is still rpci-gpu"
else
	it_fail "after refusals: $row"
fi
out=$(console -c "reset vgpu0")
if printf '%s' "$out" | grep -q "vgpu0: function-level reset"; then
	it_pass "reset: $out"
else
	it_fail "reset: $out"
fi
# --- the client sets the FLR bit itself
out=$(timeout -s KILL 60 "$RUN" --config "$CFG" --host client0 --backend cpu --reset 2>&1)
if [ $? -eq 0 ] && printf '%s' "$out" | grep -q 'device 1 reset (function-level reset) and up again' &&
	printf '%s' "$out" | grep -q 'device on server0: 7270:0001'; then
	it_pass "a client's own FLR: $(printf '%s\n' "$out" | grep 'device 1 reset')"
else
	it_fail "client FLR: $out"
fi
it_stop "$IT_SERVER_PID" 10
if grep -q "vgpu0: .* 4 resets" "$IT_DIR/server.log"; then
	it_pass "server counts $(grep -o '[0-9]* resets' "$IT_DIR/server.log" | tail -n 1)"
else
	it_fail "resets at exit: $(tail -n 3 "$IT_DIR/server.log")"
fi

it_summary
