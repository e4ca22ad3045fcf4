# SPDX-License-Identifier: BSD-3-Clause
#
# Helpers for the integration tests: real rpci processes on one machine.
# Every test makes its own names (memif socket, EAL file prefixes) from
# its PID, bounds every process with a time-out, and cleans up on exit.

set -u

IT_ID="rpci-it-$$"
IT_DIR=$(mktemp -d "/tmp/${IT_ID}.XXXXXX")
IT_PIDS=""
IT_PASS=0
IT_FAIL=0

it_log() {
	printf '%s\n' "$*"
}

it_cleanup() {
	local pid
	for pid in $IT_PIDS; do
		kill -INT "$pid" 2>/dev/null
	done
	sleep 0.5
	for pid in $IT_PIDS; do
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	rm -rf "/var/run/dpdk/${IT_ID}-"* 2>/dev/null
	[ -n "${IT_KEEP:-}" ] || rm -rf "$IT_DIR"
}
trap it_cleanup EXIT

it_pass() {
	IT_PASS=$((IT_PASS + 1))
	it_log "ok   - $*"
}

it_fail() {
	IT_FAIL=$((IT_FAIL + 1))
	it_log "FAIL - $*"
}

# it_expect NAME COND_EXIT_CODE: record a check.
it_check() {
	local name=$1
	shift
	if "$@"; then
		it_pass "$name"
	else
		it_fail "$name"
	fi
}

# it_keys CFG: the key pairs of CFG's hosts, made where CFG says (next to it,
# keys/) if missing: with auth keys every session is authenticated, so every
# host needs its key (BUILD: the caller's build directory; without one, the
# rpci-conf installed on PATH, as packages.sh tests it).
it_keys() {
	local conf=rpci-conf

	[ -n "${BUILD:-}" ] && conf=$BUILD/app/rpci-conf
	"$conf" --config "$1" --gen-keys >/dev/null 2>&1 || true
}

# Write a copy of config/pair.cfg with names of our own (memif and proxy
# sockets, EAL file prefixes, console sockets: another test may run beside),
# and its keys.
it_pair_config() {
	local src=$1 dst=$2
	sed -e "s|/tmp/rpci-pair.sock|${IT_DIR}/memif.sock|g" \
	    -e "s|/run/rpci/client0-proxy.sock|${IT_DIR}/proxy.sock|" \
	    -e "s|\"rpci-server0\"|\"${IT_ID}-server0\"|" \
	    -e "s|\"rpci-client0\"|\"${IT_ID}-client0\"|" \
	    "$src" | awk -v dir="$IT_DIR" '
		/^ *name = "/ { split($0, q, "\""); host = q[2] }
		{ print }
		/^ *idle = / { printf "        console = \"%s/%s.sock\";\n", dir, host }
	' >"$dst"
	it_keys "$dst"
}

# it_start_server BIN CFG HOST LOG: start a server in the background and wait
# until it serves (its "serving" line), at most 20 s.
it_start_server() {
	local bin=$1 cfg=$2 host=$3 log=$4 i
	it_keys "$cfg"
	"$bin" --config "$cfg" --host "$host" >"$log" 2>&1 &
	IT_SERVER_PID=$!
	IT_PIDS="$IT_PIDS $IT_SERVER_PID"
	for i in $(seq 1 200); do
		if grep -q "serving" "$log" 2>/dev/null; then
			return 0
		fi
		if ! kill -0 "$IT_SERVER_PID" 2>/dev/null; then
			break
		fi
		sleep 0.1
	done
	it_log "server did not start:"
	cat "$log"
	return 1
}

# it_start_proxy BIN CFG HOST LOG: start rpci-proxy in the background and wait
# until it serves programs, at most 20 s (its pid: IT_PROXY_PID).
it_start_proxy() {
	local bin=$1 cfg=$2 host=$3 log=$4 i
	it_keys "$cfg"
	"$bin" --config "$cfg" --host "$host" >"$log" 2>&1 &
	IT_PROXY_PID=$!
	IT_PIDS="$IT_PIDS $IT_PROXY_PID"
	for i in $(seq 1 200); do
		grep -q "serving programs" "$log" 2>/dev/null && return 0
		kill -0 "$IT_PROXY_PID" 2>/dev/null || break
		sleep 0.1
	done
	it_log "proxy did not start:"
	cat "$log"
	return 1
}

# it_stop PID SECONDS: SIGINT, wait; returns the exit status or 124 if it had
# to be killed.
it_stop() {
	kill -INT "$1" 2>/dev/null
	it_wait_exit "$1" "$2"
}

# it_wait_exit PID SECONDS: wait for a process to end by itself; its exit
# status, or 124 (then it is killed) if it did not end in time.
it_wait_exit() {
	local pid=$1 secs=$2 i
	for i in $(seq 1 $((secs * 10))); do
		if ! kill -0 "$pid" 2>/dev/null; then
			wait "$pid" 2>/dev/null
			return $?
		fi
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 124
}

# it_bg CMD...: start a process in the background (killed at exit if still
# there); its PID in IT_BG_PID.
it_bg() {
	"$@" &
	IT_BG_PID=$!
	IT_PIDS="$IT_PIDS $IT_BG_PID"
}

it_summary() {
	it_log "$IT_PASS passed, $IT_FAIL failed"
	[ "$IT_FAIL" -eq 0 ]
}
