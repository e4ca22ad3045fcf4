#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Integration test: rpci over a bad network. A real rpci-server and real
# rpci-run clients in two network namespaces, joined through a third that
# runs the fault-injecting forwarder (test/tools/rpci-faultfwd): frames are
# dropped, duplicated, reordered and corrupted on the wire, and the rpci
# processes do not know it is there (config/faults.cfg, af_packet ports).
#
# For each fault profile, every job kind moves megabytes and must come back
# verified (integer data compared exactly, element by element), and the
# counters of the forwarder and of the link must show that the faults
# happened and were recovered from. The forwarder is restarted with new
# settings between profiles while the server keeps running. Then a client
# and a server are killed in the middle of a transfer: the other side must
# notice within the configured dead_ms and free what the session held.
# At the end nothing of the test may be left: no process, namespace or veth.
# A table of timings (goodput under faults against the run without) closes
# the output; doc/testing-faults.md has one.
#
# usage: faults.sh BUILD_DIR SOURCE_DIR
# Needs root (network namespaces); exits 77 (skipped) without.
# FAULTS_SEED=N changes the forwarder's seeds; FAULTS_PROFILES="none drop1 ..."
# runs only some profiles; IT_KEEP=1 keeps the logs (their folder is printed).

BUILD=$(cd "${1:?build dir}" && pwd) || exit 2
SRC=$(cd "${2:?source dir}" && pwd) || exit 2
. "$SRC/test/integration/lib.sh"

if [ "$(id -u)" -ne 0 ] || ! command -v ip >/dev/null; then
	echo "faults: needs root and iproute2 (network namespaces): skipped"
	rm -rf "$IT_DIR"
	exit 77
fi
. "$SRC/test/integration/lib-netns.sh"
cd "$IT_DIR" || exit 1

SERVER="$BUILD/app/rpci-server"
RUN="$BUILD/app/rpci-run"
FWD="$BUILD/test/tools/rpci-faultfwd"
CFG="$IT_DIR/faults.cfg"
SEED=${FAULTS_SEED:-1}
JOB_TIMEOUT=120
WATCHDOG_S=570
T_START=$(date +%s)

# A watchdog: whatever hangs, the test ends (and cleans up) in bounded time.
watchdog_pid=""
watchdog_start() {
	bash -c 'sleep "$1" & s=$!; trap "kill $s 2>/dev/null; exit 0" TERM; wait $s;
		echo "faults: watchdog: $1 s are up, stopping the test" >&2; kill -TERM "$2"' \
		_ "$WATCHDOG_S" $$ &
	watchdog_pid=$!
}
watchdog_stop() {
	if [ -n "$watchdog_pid" ]; then
		kill -TERM "$watchdog_pid" 2>/dev/null
		wait "$watchdog_pid" 2>/dev/null
		watchdog_pid=""
	fi
}
on_exit() {
	local rc=$?
	watchdog_stop
	if [ -n "${IT_KEEP:-}" ]; then
		echo "faults: logs kept in $IT_DIR"
	fi
	it_cleanup
	netns_cleanup
	exit $rc
}
trap on_exit EXIT
watchdog_start

ms_now() {
	echo $(($(date +%s%N) / 1000000))
}

# ------------------------------------------------------------ counters

# The forwarder's counter DIR.FIELD from its JSON stats file.
fwd_get() {
	local v
	v=$(sed -n "s/.*\"$2\":{[^}]*\"$3\":\([0-9][0-9]*\).*/\1/p" "$1")
	echo "${v:-0}"
}

# rpci-run --stats: "rpci-run: link: rx N frames (N data, N duplicate, N out of
# order, N bad CRC, N bad header, N not ours), tx N frames (N data, N
# retransmitted), N time-outs, NAK N sent N received, N malformed messages, N
# dropped"
CL_FIELDS="rx rx_data rx_dup rx_ooo bad_crc bad_hdr not_ours tx tx_data retx timeouts nak_sent \
nak_rcvd malformed dropped"

# client_stats LOG: the 15 numbers of the --stats line, or nothing.
client_stats() {
	local nums
	nums=$(grep '^rpci-run: link: rx ' "$1" | tail -n 1 | grep -o '[0-9][0-9]*' | tr '\n' ' ')
	set -- $nums
	[ $# -eq 15 ] && echo "$nums"
}

# Per-profile sums of the client's counters: P_<field>.
profile_reset() {
	local f
	for f in $CL_FIELDS; do
		eval "P_$f=0"
	done
}
profile_add() {
	local f
	set -- $1
	for f in $CL_FIELDS; do
		eval "P_$f=\$((P_$f + $1))"
		shift
	done
}

# check NAME CONDITION: record an arithmetic condition on counters (shell
# variables), printed as it is written.
check() {
	local name=$1 cond=$2
	if (( $cond )); then
		it_pass "$name: $cond"
	else
		it_fail "$name: $cond"
	fi
}

# ------------------------------------------------------------ processes

# start_server LOG: rpci-server in the server namespace, until it serves.
start_server() {
	local log=$1 i
	ip netns exec "$NETNS_SERVER" "$SERVER" --config "$CFG" --host server0 >"$log" 2>&1 &
	SERVER_PID=$!
	IT_PIDS="$IT_PIDS $SERVER_PID"
	for i in $(seq 1 200); do
		if grep -q "serving" "$log" 2>/dev/null; then
			return 0
		fi
		kill -0 "$SERVER_PID" 2>/dev/null || break
		sleep 0.1
	done
	it_log "server did not start:"
	cat "$log"
	return 1
}

# fwd_start NAME SPEC...: the forwarder with these fault options, stats in
# $IT_DIR/fwd-NAME.json.
fwd_start() {
	local name=$1 i
	shift
	FWD_JSON="$IT_DIR/fwd-$name.json"
	FWD_LOG="$IT_DIR/fwd-$name.log"
	rm -f "$FWD_JSON"
	ip netns exec "$NETNS_FWD" "$FWD" --a "$NETNS_FWD_A" --b "$NETNS_FWD_B" \
		--only-ethertype 0x88B5 --stats-file "$FWD_JSON" "$@" >"$FWD_LOG" 2>&1 &
	FWD_PID=$!
	IT_PIDS="$IT_PIDS $FWD_PID"
	for i in $(seq 1 100); do
		if grep -q "^rpci-faultfwd: forwarding" "$FWD_LOG" 2>/dev/null; then
			return 0
		fi
		kill -0 "$FWD_PID" 2>/dev/null || break
		sleep 0.05
	done
	it_log "forwarder did not start:"
	cat "$FWD_LOG"
	return 1
}

# fwd_stop: SIGINT; it must stop cleanly and leave its counters.
fwd_stop() {
	it_stop "$FWD_PID" 10
	local rc=$?
	if [ $rc -ne 0 ] || [ ! -s "$FWD_JSON" ]; then
		it_fail "forwarder stop: rc $rc"
		cat "$FWD_LOG"
		return 1
	fi
	return 0
}

# fwd_poll: the forwarder's counters now (SIGUSR1 rewrites its stats file).
fwd_poll() {
	local before
	before=$(stat -c %i "$FWD_JSON" 2>/dev/null)
	kill -USR1 "$FWD_PID" 2>/dev/null
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		sleep 0.02
		[ "$(stat -c %i "$FWD_JSON" 2>/dev/null)" != "$before" ] && break
	done
}

# run_job LOG JSON ARGS...: one rpci-run in the client namespace, bounded.
run_job() {
	local log=$1 json=$2
	shift 2
	rm -f "$json"
	timeout -s KILL "$JOB_TIMEOUT" ip netns exec "$NETNS_CLIENT" "$RUN" --config "$CFG" \
		--host client0 "$@" --stats --json "$json" </dev/null >"$log" 2>&1
}

# ------------------------------------------------------------ the setup

sed -e "s|\"rpci-faults-server0\"|\"${IT_ID}-server0\"|" \
    -e "s|\"rpci-faults-client0\"|\"${IT_ID}-client0\"|" \
    "$SRC/config/faults.cfg" >"$CFG"
it_keys "$CFG"
DEAD_MS=$(sed -n 's/^ *dead_ms *= *\([0-9]*\);.*/\1/p' "$CFG")
DEAD_MARGIN_MS=2000

if ! netns_chain; then
	it_fail "cannot build the namespaces (ip netns, veth)"
	it_summary
	exit 1
fi
it_pass "topology: $NETNS_CLIENT (rpci0) <-> $NETNS_FWD ($NETNS_FWD_A, $NETNS_FWD_B)" \
	"<-> $NETNS_SERVER (rpci0)"

# ------------------------------------------------------------ the forwarder alone

# Numbered, checksummed raw frames from the client's namespace to the
# server's, through the forwarder: what arrives must match its counters,
# frames of another EtherType must pass untouched, the same seed must give
# the same faults, another seed others, and a delay must delay.
FRAMES="$SRC/test/tools/rpci-frames.py"
FR_N=10000

# frames_run NAME FWD-OPTIONS...: one pass; the receiver's JSON in FR_RECV,
# the sender's in FR_SEND, the forwarder's stats file in FWD_JSON.
frames_run() {
	local name=$1 rpid i
	shift
	fwd_start "frames-$name" "$@" || return 1
	ip netns exec "$NETNS_SERVER" python3 "$FRAMES" recv rpci0 \
		>"$IT_DIR/recv-$name.log" 2>&1 </dev/null &
	rpid=$!
	IT_PIDS="$IT_PIDS $rpid"
	for i in $(seq 1 100); do
		grep -q '^ready' "$IT_DIR/recv-$name.log" && break
		sleep 0.05
	done
	timeout -s KILL 60 ip netns exec "$NETNS_CLIENT" python3 "$FRAMES" send rpci0 "$FR_N" \
		--ctrl-every 10 >"$IT_DIR/send-$name.log" 2>&1 </dev/null
	it_wait_exit "$rpid" 30
	fwd_stop || return 1
	FR_RECV=$(grep '^{' "$IT_DIR/recv-$name.log")
	FR_SEND=$(grep '^{' "$IT_DIR/send-$name.log")
	if [ -z "$FR_RECV" ] || [ -z "$FR_SEND" ]; then
		it_fail "frames $name: no result"
		cat "$IT_DIR/recv-$name.log" "$IT_DIR/send-$name.log"
		return 1
	fi
}

# jget JSON KEY: a number or string of a flat JSON object.
jget() {
	printf '%s' "$1" | sed -n "s/.*\"$2\": *\"\{0,1\}\([^,\"}]*\).*/\1/p"
}

fwd_check_frames() {
	local name=$1 fj=$FWD_JSON
	# global: the checks after a call use them too
	rx=$(jget "$FR_RECV" rx)
	good=$(jget "$FR_RECV" good)
	bad=$(jget "$FR_RECV" bad)
	ctrl=$(jget "$FR_RECV" ctrl)
	ctrl_bad=$(jget "$FR_RECV" ctrl_bad)
	ctrl_sent=$(jget "$FR_RECV" ctrl_sent)
	ooo=$(jget "$FR_RECV" ooo)
	f_rx=$(fwd_get "$fj" a2b rx)
	f_drop=$(fwd_get "$fj" a2b dropped)
	f_dup=$(fwd_get "$fj" a2b duplicated)
	f_reo=$(fwd_get "$fj" a2b reordered)
	f_cor=$(fwd_get "$fj" a2b corrupted)
	f_pass=$(fwd_get "$fj" a2b passed)
	f_fwd=$(fwd_get "$fj" a2b forwarded)
	f_kd=$(fwd_get "$fj" a2b kernel_drops)
	it_log "frames $name: forwarder rx $f_rx, dropped $f_drop, duplicated $f_dup," \
		"reordered $f_reo, corrupted $f_cor, passed $f_pass; receiver: $FR_RECV"
	check "frames $name: every frame reached the forwarder, none lost in its socket" \
		"f_rx == FR_N + ctrl_sent + 3 && f_kd == 0"
	check "frames $name: the other EtherType passed, all of it, untouched" \
		"ctrl == ctrl_sent && ctrl_bad == 0 && f_pass == ctrl_sent + 3"
	check "frames $name: what arrived is what the forwarder says it sent" \
		"rx == f_fwd - f_pass && rx == FR_N - f_drop + f_dup"
	check "frames $name: damaged frames are the corrupted ones (twice if duplicated)" \
		"bad >= f_cor && bad <= 2 * f_cor"
	FR_OOO=$ooo
}

frames_run seed7 --seed 7 --a2b drop=0.05,dup=0.05,reorder=0.05,corrupt=0.01 || true
if [ -n "${FR_RECV:-}" ]; then
	fwd_check_frames seed7
	check "frames seed7: rates as asked (5% of $FR_N: 380..620; 1%: 50..150)" \
		"f_drop >= 380 && f_drop <= 620 && f_dup >= 380 && f_dup <= 620 && \
f_reo >= 300 && f_reo <= 620 && f_cor >= 50 && f_cor <= 150"
	check "frames seed7: reordered frames arrived after later ones" "FR_OOO > 0"
	digest1=$(jget "$FR_RECV" digest)
	counts1="$(fwd_get "$FWD_JSON" a2b dropped) $(fwd_get "$FWD_JSON" a2b duplicated)"
	counts1="$counts1 $(fwd_get "$FWD_JSON" a2b corrupted)"
	FR_RECV=""
	frames_run seed7again --seed 7 --a2b drop=0.05,dup=0.05,reorder=0.05,corrupt=0.01 || true
	if [ -n "$FR_RECV" ]; then
		fwd_check_frames seed7again
		counts2="$(fwd_get "$FWD_JSON" a2b dropped) $(fwd_get "$FWD_JSON" a2b duplicated)"
		counts2="$counts2 $(fwd_get "$FWD_JSON" a2b corrupted)"
		if [ "$(jget "$FR_RECV" digest)" = "$digest1" ] && [ "$counts1" = "$counts2" ]; then
			it_pass "frames: the same seed faults the same frames" \
				"(digest $digest1, dropped/dup/corrupted $counts1)"
		else
			it_fail "frames: seed 7 twice: digests $digest1," \
				"$(jget "$FR_RECV" digest), counts $counts1 / $counts2"
		fi
	fi
	FR_RECV=""
	frames_run seed8 --seed 8 --a2b drop=0.05,dup=0.05,reorder=0.05,corrupt=0.01 || true
	if [ -n "$FR_RECV" ]; then
		fwd_check_frames seed8
		if [ "$(jget "$FR_RECV" digest)" != "$digest1" ]; then
			it_pass "frames: another seed, other frames faulted"
		else
			it_fail "frames: seeds 7 and 8 faulted the same frames"
		fi
	fi
fi
FR_RECV=""
frames_run delay --seed 9 --a2b delay_us=20000 || true
if [ -n "$FR_RECV" ]; then
	fwd_check_frames delay
	lat_ms=$(awk -v a="$(jget "$FR_SEND" t_start)" -v b="$(jget "$FR_RECV" t_first)" \
		'BEGIN { printf "%d", (b - a) * 1000 }')
	delayed=$(fwd_get "$FWD_JSON" a2b delayed)
	check "frames delay: every frame delayed, in order, intact, the first after $lat_ms ms" \
		"delayed == FR_N && FR_OOO == 0 && lat_ms >= 20"
fi

fwd_start boot || { it_summary; exit 1; }
start_server "$IT_DIR/server.log" || { it_summary; exit 1; }
it_pass "rpci-server serves on af_packet in $NETNS_SERVER (pid $SERVER_PID)"

# ------------------------------------------------------------ the profiles

# name|description|forwarder options
PROFILES="none|no faults|--both drop=0
drop1|1% drop both ways|--both drop=0.01
drop10|10% drop both ways|--both drop=0.1
dupreorder|1% dup + 1% reorder both ways|--both dup=0.01,reorder=0.01
corrupt|0.1% corrupt both ways|--both corrupt=0.001
asym|client->server only: 2% drop, 1% dup, 1% reorder, 0.1% corrupt|\
--a2b drop=0.02,dup=0.01,reorder=0.01,corrupt=0.001 --b2a drop=0"

JOBS="vector-add|--job vector-add --n 1M --data int
saxpy-push|--job saxpy --n 2M --data int --h2d push
saxpy-pull|--job saxpy --n 2M --data int --h2d pull
sgemm|--job sgemm --m 512 --n 512 --k 512 --data int
reduce|--job reduce --n 4M --data int"

TABLE="$IT_DIR/table"
: >"$TABLE"
jobs_run=0
sum_a2b_corrupted=0
sum_b2a_dropped=0

run_profile() {
	local prof=$1 desc=$2 opts=$3 jname jargs log json stats total ms
	local a_drop b_drop a_dup b_dup a_reo b_reo a_cor b_cor a_fwd b_fwd

	it_log "--- profile $prof: $desc (forwarder $opts, seed $SEED)"
	fwd_stop || return 1
	# shellcheck disable=SC2086
	fwd_start "$prof" --seed "$SEED" $opts || return 1
	profile_reset
	while IFS='|' read -r jname jargs; do
		log="$IT_DIR/run-$prof-$jname.log"
		json="$IT_DIR/run-$prof-$jname.json"
		# shellcheck disable=SC2086
		run_job "$log" "$json" $jargs
		local rc=$?
		jobs_run=$((jobs_run + 1))
		stats=$(client_stats "$log")
		total=$(sed -n 's/.*"total_ms":\([0-9.]*\).*/\1/p' "$json" 2>/dev/null)
		if [ $rc -eq 0 ] && grep -q '^verified$' "$log" &&
			grep -q '"result":"verified"' "$json" &&
			grep -q '"max_error":0[,}]' "$json" &&
			[ -n "$stats" ] && [ -n "$total" ]; then
			ms=$(printf '%.0f' "$total")
			it_pass "$prof: $jname verified, every element exact (total $ms ms)"
			profile_add "$stats"
			printf '%s %s %s\n' "$prof" "$jname" "$total" >>"$TABLE"
		else
			it_fail "$prof: $jname: rc $rc"
			cat "$log"
			printf '%s %s FAIL\n' "$prof" "$jname" >>"$TABLE"
		fi
	done <<<"$JOBS"
	fwd_poll
	fwd_stop || return 1
	grep -v '^rpci-faultfwd: forwarding' "$FWD_LOG"

	a_drop=$(fwd_get "$FWD_JSON" a2b dropped)
	b_drop=$(fwd_get "$FWD_JSON" b2a dropped)
	a_dup=$(fwd_get "$FWD_JSON" a2b duplicated)
	b_dup=$(fwd_get "$FWD_JSON" b2a duplicated)
	a_reo=$(fwd_get "$FWD_JSON" a2b reordered)
	b_reo=$(fwd_get "$FWD_JSON" b2a reordered)
	a_cor=$(fwd_get "$FWD_JSON" a2b corrupted)
	b_cor=$(fwd_get "$FWD_JSON" b2a corrupted)
	a_fwd=$(fwd_get "$FWD_JSON" a2b forwarded)
	b_fwd=$(fwd_get "$FWD_JSON" b2a forwarded)
	sum_a2b_corrupted=$((sum_a2b_corrupted + a_cor))
	sum_b2a_dropped=$((sum_b2a_dropped + b_drop))
	it_log "client counters, summed over the profile's jobs: rx $P_rx (dup $P_rx_dup," \
		"out of order $P_rx_ooo, bad CRC $P_bad_crc, bad header $P_bad_hdr), tx $P_tx" \
		"(data $P_tx_data, retransmitted $P_retx), time-outs $P_timeouts, NAK sent" \
		"$P_nak_sent received $P_nak_rcvd, malformed $P_malformed"

	# Every profile: frames flowed both ways, nothing malformed got through.
	check "$prof: frames crossed the forwarder both ways" "a_fwd > 1000 && b_fwd > 1000"
	check "$prof: no malformed message reached the transaction layer" "P_malformed == 0"
	case "$prof" in
	none)
		check "$prof: the forwarder faulted nothing" \
			"a_drop + b_drop + a_dup + b_dup + a_reo + b_reo + a_cor + b_cor == 0"
		check "$prof: no frame arrived damaged" "P_bad_crc + P_bad_hdr == 0"
		;;
	drop1 | drop10)
		check "$prof: the forwarder dropped frames both ways" "a_drop > 0 && b_drop > 0"
		check "$prof: the client recovered its lost frames (retransmissions)" \
			"P_retx > 0 && P_nak_rcvd + P_timeouts > 0"
		check "$prof: the client saw the gaps of the server's lost frames" \
			"P_rx_ooo + P_nak_sent > 0"
		check "$prof: dropping damages nothing" "P_bad_crc + P_bad_hdr == 0"
		;;
	dupreorder)
		check "$prof: the forwarder duplicated and reordered both ways" \
			"a_dup > 0 && b_dup > 0 && a_reo > 0 && b_reo > 0"
		check "$prof: the client dropped duplicates" "P_rx_dup > 0"
		check "$prof: the client saw frames out of order and NAKed them" \
			"P_rx_ooo > 0 && P_nak_sent > 0"
		check "$prof: the server NAKed the client's reordered frames, the client resent" \
			"P_nak_rcvd > 0 && P_retx > 0"
		check "$prof: duplicating damages nothing" "P_bad_crc + P_bad_hdr == 0"
		;;
	corrupt)
		check "$prof: the forwarder corrupted frames both ways" "a_cor > 0 && b_cor > 0"
		check "$prof: the client's CRC caught the damaged frames, none more" \
			"P_bad_crc + P_bad_hdr > 0 && P_bad_crc + P_bad_hdr <= b_cor"
		check "$prof: the client resent what the server refused" "P_retx > 0"
		;;
	asym)
		check "$prof: the forwarder faulted client->server frames" \
			"a_drop > 0 && a_dup > 0 && a_reo > 0 && a_cor > 0"
		check "$prof: and nothing server->client" "b_drop + b_dup + b_reo + b_cor == 0"
		check "$prof: the server NAKed, the client resent" "P_nak_rcvd > 0 && P_retx > 0"
		check "$prof: nothing damaged reached the client" "P_bad_crc + P_bad_hdr == 0"
		;;
	esac
	printf 'fwd %s %s %s %s %s %s\n' "$prof" "$a_drop" "$b_drop" "$P_retx" \
		"$((a_drop + a_reo + a_cor))" "$((b_drop + b_reo + b_cor))" >>"$TABLE"
	return 0
}

while IFS='|' read -r pname pdesc popts; do
	case " ${FAULTS_PROFILES:-none drop1 drop10 dupreorder corrupt asym} " in
	*" $pname "*) ;;
	*) continue ;;
	esac
	run_profile "$pname" "$pdesc" "$popts" || break
	SEED=$((SEED + 1))
done <<<"$PROFILES"

# The server lived through every forwarder restart and every fault: each
# client closed its session in order, none went silent. It stops cleanly and
# its counters show its side of the recovery.
closed=$(grep -c 'closed its session' "$IT_DIR/server.log")
gone=$(grep -c 'is gone' "$IT_DIR/server.log")
if kill -0 "$SERVER_PID" 2>/dev/null && [ "$closed" -eq "$jobs_run" ] && [ "$gone" -eq 0 ]; then
	it_pass "server: one server for all profiles, $closed sessions closed in order, none lost"
else
	it_fail "server: alive? $(kill -0 "$SERVER_PID" 2>/dev/null && echo yes || echo no)," \
		"$closed sessions closed of $jobs_run, $gone lost"
	tail -n 30 "$IT_DIR/server.log"
fi
it_stop "$SERVER_PID" 20
rc=$?
# "rpci-server: link: rx N frames, tx N frames, N retransmitted, N bad CRC,
# N malformed, N port faults survived"
set -- $(grep '^rpci-server: link: rx ' "$IT_DIR/server.log" | tail -n 1 | grep -o '[0-9][0-9]*')
if [ $rc -eq 0 ] && [ $# -eq 6 ]; then
	S_RETX=$3
	S_CRC=$4
	S_MAL=$5
	it_pass "server stops cleanly: $(grep '^rpci-server: link: rx ' "$IT_DIR/server.log")"
	check "server: it resent what the forwarder dropped on its way to the client" \
		"sum_b2a_dropped == 0 || S_RETX > 0"
	check "server: its CRC caught damaged frames from the client, none more" \
		"sum_a2b_corrupted == 0 || (S_CRC > 0 && S_CRC <= 2 * sum_a2b_corrupted)"
	check "server: no malformed message got through" "S_MAL == 0"
else
	it_fail "server stop: rc $rc, no counters"
	tail -n 20 "$IT_DIR/server.log"
	S_RETX=""
fi

# ------------------------------------------------------------ dead peers

fwd_stop
fwd_start kill --seed "$SEED" --both drop=0 || { it_summary; exit 1; }
SERVER_LOG="$IT_DIR/server2.log"
start_server "$SERVER_LOG" || { it_summary; exit 1; }

# fwd_a2b_rx: client frames the forwarder has carried so far.
fwd_a2b_rx() {
	fwd_poll
	fwd_get "$FWD_JSON" a2b rx
}

# wait_transfer PID BASE: until the forwarder has carried 4000 more client
# frames than BASE (the client is well into its copy, 5 MB), at most 30 s;
# fails if the client ended first.
wait_transfer() {
	local pid=$1 base=$2 i rx
	for i in $(seq 1 300); do
		rx=$(fwd_a2b_rx)
		kill -0 "$pid" 2>/dev/null || return 1
		[ "$rx" -gt $((base + 4000)) ] && return 0
		sleep 0.1
	done
	return 1
}

# A client killed in the middle of a transfer: the server notices within
# dead_ms, frees the device, and serves the next client.
free_before=$(grep -c 'device cleared' "$SERVER_LOG")
base=$(fwd_a2b_rx)
ip netns exec "$NETNS_CLIENT" timeout -s KILL "$JOB_TIMEOUT" "$RUN" --config "$CFG" \
	--host client0 --job saxpy --n 16M --data int >"$IT_DIR/victim.log" 2>&1 &
victim=$!
IT_PIDS="$IT_PIDS $victim"
CLIENT_DEAD_MS=""
if wait_transfer "$victim" "$base"; then
	# the timeout wrapper's child is the client: kill both at once
	pkill -KILL -P "$victim" 2>/dev/null
	kill -KILL "$victim" 2>/dev/null
	t0=$(ms_now)
	wait "$victim" 2>/dev/null
	noticed=0
	while [ $(($(ms_now) - t0)) -lt $((DEAD_MS + DEAD_MARGIN_MS)) ]; do
		if grep -q "is gone" "$SERVER_LOG"; then
			noticed=1
			break
		fi
		sleep 0.05
	done
	CLIENT_DEAD_MS=$(($(ms_now) - t0))
	if [ $noticed -eq 1 ] && kill -0 "$SERVER_PID" 2>/dev/null; then
		it_pass "killed client: the server noticed in $CLIENT_DEAD_MS ms" \
			"(dead_ms $DEAD_MS): $(grep 'is gone' "$SERVER_LOG" | tail -n 1)"
	else
		it_fail "killed client: the server did not notice in $CLIENT_DEAD_MS ms"
		tail -n 20 "$SERVER_LOG"
	fi
	for _ in $(seq 1 100); do
		[ "$(grep -c 'device cleared' "$SERVER_LOG")" -gt "$free_before" ] && break
		sleep 0.1
	done
	rm -rf "/var/run/dpdk/${IT_ID}-client0"
	# freed: the next client finds all of the device's memory free
	run_job "$IT_DIR/info.log" "$IT_DIR/info.json" --info
	info=$(grep -o '[0-9]* MiB ([0-9]* MiB free)' "$IT_DIR/info.log")
	mem_total=$(echo "$info" | awk '{ print $1 }')
	mem_free=$(echo "$info" | sed 's/.*(\([0-9]*\) MiB free)/\1/')
	if [ -n "$mem_total" ] && [ "$mem_total" = "$mem_free" ]; then
		it_pass "killed client: its device memory was freed ($info)"
	else
		it_fail "killed client: device memory not freed: '$info'"
		cat "$IT_DIR/info.log"
	fi
	run_job "$IT_DIR/next.log" "$IT_DIR/next.json" --job vector-add --n 1M --data int
	if [ $? -eq 0 ] && grep -q '^verified$' "$IT_DIR/next.log"; then
		it_pass "killed client: the next client is served, verified"
	else
		it_fail "killed client: the next client"
		cat "$IT_DIR/next.log"
	fi
else
	it_fail "killed client: the transfer did not get under way"
	cat "$IT_DIR/victim.log"
fi

# A server killed in the middle of a transfer: the client reports that it
# lost the device within dead_ms, and exits 1; nothing hangs.
base=$(fwd_a2b_rx)
ip netns exec "$NETNS_CLIENT" timeout -s KILL "$JOB_TIMEOUT" "$RUN" --config "$CFG" \
	--host client0 --job saxpy --n 16M --data int >"$IT_DIR/orphan.log" 2>&1 &
orphan=$!
IT_PIDS="$IT_PIDS $orphan"
SERVER_DEAD_MS=""
if wait_transfer "$orphan" "$base"; then
	kill -KILL "$SERVER_PID" 2>/dev/null
	t0=$(ms_now)
	wait "$SERVER_PID" 2>/dev/null
	rc=124
	while [ $(($(ms_now) - t0)) -lt $((DEAD_MS + DEAD_MARGIN_MS)) ]; do
		if ! kill -0 "$orphan" 2>/dev/null; then
			wait "$orphan"
			rc=$?
			break
		fi
		sleep 0.02
	done
	SERVER_DEAD_MS=$(($(ms_now) - t0))
	if [ $rc -eq 1 ] && grep -q "rpci-run: .*lost the device" "$IT_DIR/orphan.log" &&
		! grep -q "^verified" "$IT_DIR/orphan.log"; then
		it_pass "killed server: the client exits 1 after $SERVER_DEAD_MS ms (dead_ms" \
			"$DEAD_MS): $(grep 'rpci-run:.*lost the device' "$IT_DIR/orphan.log" |
			tail -n 1)"
	else
		it_fail "killed server: client rc $rc after $SERVER_DEAD_MS ms" \
			"(limit $((DEAD_MS + DEAD_MARGIN_MS)) ms)"
		cat "$IT_DIR/orphan.log"
	fi
else
	it_fail "killed server: the transfer did not get under way"
	cat "$IT_DIR/orphan.log"
fi
fwd_stop

# ------------------------------------------------------------ large frames

# The forwarder carries af_packet frames of the MTU; memif carries frames of
# up to 64 KiB (config/pair.cfg: bsize=65024, 15 messages of 4096 bytes a
# frame), and no forwarder of ours sits in shared memory. So a memif pair
# with the link's own fault injector on, in both processes, TX and RX
# (link.faults), and the payload CRC on (corruption must be caught: memif's
# default is off): every job verified, exactly, the faults happened, and
# the large frames were recovered from.
LCFG="$IT_DIR/memif-large.cfg"
it_pair_config "$SRC/config/pair.cfg" "$LCFG"
sed -i -e "s|^link = {|link = {\n    crc_payload = true;\n    faults = { seed = $SEED;\
 tx = { drop = 0.01; dup = 0.01; reorder = 0.01; corrupt = 0.01; };\
 rx = { drop = 0.005; reorder = 0.005; }; };|" "$LCFG"
LSERVER_LOG="$IT_DIR/memif-server.log"
"$SERVER" --config "$LCFG" --host server0 >"$LSERVER_LOG" 2>&1 &
LSERVER_PID=$!
IT_PIDS="$IT_PIDS $LSERVER_PID"
for _ in $(seq 1 200); do
	grep -q "serving" "$LSERVER_LOG" 2>/dev/null && break
	kill -0 "$LSERVER_PID" 2>/dev/null || break
	sleep 0.1
done
if grep -q "serving" "$LSERVER_LOG" &&
	grep -q "frames of up to 65024 bytes, max payload 4096, CRC over payloads too" \
		"$LSERVER_LOG"; then
	it_pass "large frames: a memif server with 64 KiB frames and the fault injector"
	# rpci-run --stats (client_stats), summed over the jobs (malformed: headers
	# refused and messages that did not decode)
	L_rx=0 L_crc=0 L_mal=0 L_tx=0 L_retx=0
	while IFS='|' read -r jname jargs; do
		log="$IT_DIR/large-$jname.log"
		json="$IT_DIR/large-$jname.json"
		# shellcheck disable=SC2086
		timeout -s KILL "$JOB_TIMEOUT" "$RUN" --config "$LCFG" --host client0 $jargs \
			--stats --json "$json" </dev/null >"$log" 2>&1
		rc=$?
		# shellcheck disable=SC2046
		set -- $(client_stats "$log")
		if [ $rc -eq 0 ] && grep -q '^verified$' "$log" &&
			grep -q '"max_error":0[,}]' "$json" && [ $# -eq 15 ]; then
			it_pass "large frames: $jname verified, every element exact"
			L_rx=$((L_rx + $1)) L_crc=$((L_crc + $5)) L_mal=$((L_mal + $6 + ${14}))
			L_tx=$((L_tx + $8)) L_retx=$((L_retx + ${10}))
		else
			it_fail "large frames: $jname: rc $rc"
			cat "$log"
		fi
	done <<<"$JOBS"
	it_log "large frames: client counters summed: rx $L_rx frames ($L_crc bad CRC," \
		"$L_mal malformed), tx $L_tx frames ($L_retx retransmitted)"
	# The jobs copy about 76 MB in and out: at 1408 bytes a frame (MTU 1500)
	# that is over 54,000 data frames, at 61,440 about 1,240.
	check "large frames: the client's frames carried several messages each" \
		"L_rx + L_tx < 20000"
	it_stop "$LSERVER_PID" 20
	rc=$?
	# "rpci-server: link: rx N frames, tx N frames, N retransmitted, N bad CRC,
	# N malformed, N port faults survived"
	# shellcheck disable=SC2046
	set -- $(grep '^rpci-server: link: rx ' "$LSERVER_LOG" | tail -n 1 | grep -o '[0-9][0-9]*')
	if [ $rc -eq 0 ] && [ $# -eq 6 ]; then
		it_pass "large frames: $(grep '^rpci-server: link: rx ' "$LSERVER_LOG")"
		LS_RETX=$3 LS_CRC=$4 LS_MAL=$5
		check "large frames: both ends resent what was lost" "L_retx > 0 && LS_RETX > 0"
		# the client's "malformed" counts headers refused too (a flipped flag bit)
		check "large frames: corrupted frames were caught (CRC, header checks)" \
			"L_crc + L_mal + LS_CRC > 0"
		check "large frames: nothing malformed reached the server" "LS_MAL == 0"
	else
		it_fail "large frames: the server did not stop cleanly: rc $rc"
		tail -n 20 "$LSERVER_LOG"
	fi
else
	it_fail "large frames: no memif server with 64 KiB frames"
	cat "$LSERVER_LOG"
fi

# ------------------------------------------------------------ nothing left

for pid in $IT_PIDS; do
	if kill -0 "$pid" 2>/dev/null; then
		it_fail "process $pid of the test still runs: $(tr '\0' ' ' </proc/"$pid"/cmdline)"
	fi
done
left=""
for ns in $(netns_ours); do
	left="$left $(ip netns pids "$ns" 2>/dev/null | tr '\n' ' ')"
done
netns_cleanup
if [ -z "$(netns_ours)" ] && [ -z "$(echo "$left" | tr -d ' ')" ] &&
	! ip -o link show type veth 2>/dev/null | grep -q "link-netns ${NETNS_PREFIX}-"; then
	it_pass "nothing left: no process, namespace or veth of the test"
else
	it_fail "left behind: namespaces '$(netns_ours | tr '\n' ' ')', processes '$left'"
fi

# ------------------------------------------------------------ the figures

it_log ""
it_log "Timings: total ms of each job (allocation, copies, kernel, copy back); goodput is"
it_log "the job's speed as a fraction of the same job's with no faults in this run."
awk -v dead_c="${CLIENT_DEAD_MS:--}" -v dead_s="${SERVER_DEAD_MS:--}" -v dms="$DEAD_MS" \
	-v s_retx="${S_RETX:-}" -v b_drops="$sum_b2a_dropped" '
$1 == "fwd" {
	np++; fp[np] = $2; drop_a[$2] = $3; drop_b[$2] = $4; retx[$2] = $5; lost_a[$2] = $6
	lost_b[$2] = $7; next
}
{ n++; prof[n] = $1; job[n] = $2; ms[n] = $3; if ($1 == "none") base[$2] = $3 }
END {
	printf "%-11s %-11s %10s %9s %10s\n", "profile", "job", "total ms", "vs none", "goodput"
	for (i = 1; i <= n; i++) {
		if (ms[i] == "FAIL") {
			printf "%-11s %-11s %10s\n", prof[i], job[i], "FAIL"
			continue
		}
		r = (job[i] in base) && base[job[i]] > 0 ? ms[i] / base[job[i]] : 0
		g = r > 0 ? 100 / r : 0
		printf "%-11s %-11s %10.1f %8.2fx %9.1f%%\n", prof[i], job[i], ms[i], r, g
	}
	printf "\nc->s: client to server; lost: dropped, reordered or corrupted " \
		"(each costs a resend)\n"
	printf "%-11s %8s %8s %8s %8s %11s %9s %9s\n", "profile", "dropped", "dropped", "lost",
		"lost", "client", "retx per", "retx per"
	printf "%-11s %8s %8s %8s %8s %11s %9s %9s\n", "", "c->s", "s->c", "c->s", "s->c",
		"retransmit", "c->s drop", "c->s lost"
	for (j = 1; j <= np; j++) {
		p = fp[j]
		per = drop_a[p] > 0 ? sprintf("%.1f", retx[p] / drop_a[p]) : "-"
		perl = lost_a[p] > 0 ? sprintf("%.1f", retx[p] / lost_a[p]) : "-"
		printf "%-11s %8d %8d %8d %8d %11d %9s %9s\n", p, drop_a[p], drop_b[p], lost_a[p],
			lost_b[p], retx[p], per, perl
	}
	if (s_retx != "") {
		printf "server: %d frames retransmitted in all profiles, for %d frames the " \
			"forwarder dropped on their way to the client\n", s_retx, b_drops
	}
	printf "\ndead peer detected (dead_ms %s): server noticed a killed client in %s ms, " \
		"client noticed a killed server in %s ms\n", dms, dead_c, dead_s
}' "$TABLE"
it_log "total test time $(($(date +%s) - T_START)) s"

it_summary
