#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Integration test of the control plane's authentication (doc/security.md)
# on the demo cluster (config/demo-cluster.cfg with names of our own), with
# a rogue network namespace on the same bridge that holds no key:
#   - forged REGISTER and STATUS of a fake server "gpu9" (plain, and in an
#     envelope that claims gpu0's identity without its key)
#   - forged ATTACH, DETACH and RELEASE against a running job, in the
#     selector's name and in the client's
#   - CTRL frames captured on the wire, replayed
#   - the job's session: its DATA frames captured on the wire, replayed to its
#     server; DATA frames in its name (the client's address, its session id)
#     without a tag, and with a made-up tag
#   - OPENs of the job's device: without an authentication block, and with a
#     made-up block in the client's name (its address, session and lease)
# and, from hosts of the deployment that misbehave with their own keys:
#   - a client that releases another client's lease, registers a server,
#     renews for another address
#   - a client that opens the job's device without a lease, and under the
#     job's lease (its OPEN authentic, its own)
#   - a server that reports another server's device, or lies about its own
# Each is refused and counted by its reason (/rpci/security), the job in
# progress finishes verified, and the selector's table never shows gpu9.
# Needs root (namespaces) and python3-cryptography; exits 77 (skipped)
# without. Leaves no namespace, process or socket behind.
#
# usage: security.sh BUILD_DIR SOURCE_DIR

BUILD=${1:?build dir}
SRC=${2:?source dir}
. "$SRC/test/integration/lib.sh"

if [ "$(id -u)" -ne 0 ] || ! command -v ip >/dev/null ||
	! python3 -c "import cryptography" 2>/dev/null; then
	echo "security: needs root, iproute2 and python3-cryptography; skipped"
	exit 77
fi

TAG="it$$"
CFG="$IT_DIR/$TAG.cfg"
CLUSTER="$SRC/usertools/rpci-cluster"
FRAMES="$SRC/test/tools/rpci-frames.py"
export RPCI_BUILD=$BUILD
NET=rpcic-$TAG-net
ROGUE=rpcic-$TAG-rogue
KEYS=$IT_DIR/keys
# Host indices in the file (the envelope names hosts by index) and addresses.
I_CTL=0 I_GPU0=1 I_GPU1=2 I_APP0=4 I_APP1=5
M_CTL=02:72:70:63:00:01 M_GPU0=02:72:70:63:01:01 M_GPU1=02:72:70:63:01:02
M_APP0=02:72:70:63:02:01 M_APP1=02:72:70:63:02:02 M_ROGUE=02:72:70:63:0e:01

# ctl0's console (and telemetry) open to the group of user nobody, read-only
NOGROUP=$(id -gn nobody 2>/dev/null || echo nogroup)
awk -v id="$IT_ID" -v dir="$IT_DIR" -v grp="$NOGROUP" '
	/^ *name = "/ { split($0, q, "\""); host = q[2] }
	{ sub(/file_prefix = "demo-/, "file_prefix = \"" id "-") }
	{ sub(/slowdown = 4.0/, "slowdown = 100.0") }
	{ print }
	/^ *idle = / && host == "ctl0" {
		printf "        console = { socket = \"%s/%s.sock\"; group = \"%s\"; mode = \"0660\"; };\n",
			dir, host, grp
		next
	}
	/^ *idle = / { printf "        console = \"%s/%s.sock\";\n", dir, host }
' "$SRC/config/demo-cluster.cfg" >"$CFG"

security_cleanup() {
	ip netns pids "$ROGUE" 2>/dev/null | xargs -r kill -KILL 2>/dev/null
	ip netns del "$ROGUE" 2>/dev/null
	"$CLUSTER" down "$CFG" >/dev/null 2>&1
	it_cleanup
}
trap security_cleanup EXIT

console() {
	timeout 20 "$BUILD/app/rpci-console" --config "$CFG" --host "$@" 2>&1
}

# sec HOST FIELD: a counter of HOST's /rpci/security.
sec() {
	"$SRC/usertools/rpci-telemetry" --file-prefix "$IT_ID-$1" /rpci/security |
		python3 -c "import json, sys; print(json.load(sys.stdin)['/rpci/security']['$2'])" \
			2>/dev/null || echo "?"
}

# rogue ARGS: rpci-frames.py in the rogue namespace, on its veth.
rogue() {
	timeout 20 ip netns exec "$ROGUE" python3 "$FRAMES" "$1" rogue0 "${@:2}"
}

# as HOST ARGS: rpci-frames.py in HOST's own namespace (a host that misbehaves).
as() {
	local host=$1
	shift
	timeout 20 ip netns exec "rpcic-$TAG-$host" python3 "$FRAMES" "$1" rpci0 "${@:2}"
}

# expect NAME HOST FIELD BEFORE: the counter went up.
expect() {
	local name=$1 host=$2 field=$3 before=$4 after i
	for i in $(seq 1 25); do
		after=$(sec "$host" "$field")
		[ "$after" != "?" ] && [ "$after" -gt "$before" ] && break
		sleep 0.1
	done
	if [ "$after" != "?" ] && [ "$after" -gt "$before" ]; then
		it_pass "$name: refused by $host, $field $before -> $after"
	else
		it_fail "$name: $host $field $before -> $after"
	fi
}

no_gpu9() {
	if console ctl0 -c "show table" | grep -q gpu9; then
		it_fail "the selector's table shows gpu9: $(console ctl0 -c 'show table')"
		return 1
	fi
	return 0
}

# --- up, and a rogue namespace on the bridge
if ! "$CLUSTER" up "$CFG" >"$IT_DIR/up.log" 2>&1; then
	it_fail "cluster up"
	cat "$IT_DIR/up.log"
	it_summary
	exit 1
fi
ip netns add "$ROGUE" &&
	ip link add rogue0 netns "$ROGUE" type veth peer name prg netns "$NET" &&
	ip netns exec "$ROGUE" sysctl -q -w net.ipv6.conf.all.disable_ipv6=1 >/dev/null &&
	ip -n "$ROGUE" link set rogue0 address "$M_ROGUE" up &&
	ip -n "$NET" link set prg master br0 && ip -n "$NET" link set prg up ||
	it_fail "rogue namespace"
for i in $(seq 1 50); do
	[ "$(console ctl0 -c "show table" | grep -c ' free ')" -eq 3 ] && break
	sleep 0.2
done
if [ "$(sec ctl0 auth)" = "keys" ] && [ "$(sec gpu0 auth)" = "keys" ] &&
	[ "$(console ctl0 -c "show table" | grep -c ' free ')" -eq 3 ]; then
	it_pass "cluster up with auth keys: three servers registered"
else
	it_fail "cluster up: auth $(sec ctl0 auth): $(console ctl0 -c 'show table')"
fi

# --- the rogue listens on the wire (on-path capture) where the selector, the
# server the job will get (best fit: the smallest, gpu2) and the client are;
# and on the client's bridge port, the first DATA frames the client sends
caps=""
for h in ctl0 gpu2 app0; do
	ip netns exec "rpcic-$TAG-$h" timeout 20 python3 "$FRAMES" capture rpci0 \
		"$IT_DIR/captured.$h" 4 >"$IT_DIR/capture.$h.log" 2>&1 &
	caps="$caps $!"
done
ip netns exec "$NET" timeout 20 python3 "$FRAMES" capture "p$I_APP0" "$IT_DIR/captured.data" \
	10 1 "$M_APP0" 64 >"$IT_DIR/capture.data.log" 2>&1 &
dcap=$!

# --- a job in progress: every attack is made against it (gpu2, 100 times slower
# here, runs its kernel for about 40 s)
it_bg timeout -s KILL 180 "$CLUSTER" run "$CFG" app0 --job sgemm --m 1500 --n 1500 --k 1500 \
	--data int >"$IT_DIR/job.log" 2>&1
job=$IT_BG_PID
for i in $(seq 1 50); do
	console ctl0 -c "show sessions" | grep -q '^1 attachments' && break
	sleep 0.2
done
lease=$(console ctl0 -c "show sessions" | awk '/02:72:70:63:02:01/ { print $1 }')
srv=$(console ctl0 -c "show sessions" | awk '/02:72:70:63:02:01/ { print $3 }')
wait $caps
cat "$IT_DIR"/captured.ctl0 "$IT_DIR"/captured.gpu2 "$IT_DIR"/captured.app0 \
	>"$IT_DIR/captured" 2>/dev/null
ncap=$(wc -l <"$IT_DIR/captured" 2>/dev/null || echo 0)
if [ -n "$lease" ] && [ -n "$srv" ] && [ "$ncap" -gt 0 ]; then
	it_pass "job on $srv under lease $lease; $ncap CTRL frames captured on the wire"
else
	it_fail "job not attached (lease '$lease', server '$srv', $ncap frames captured)"
	cat "$IT_DIR/job.log"
fi
case $srv in
gpu0) I_SRV=$I_GPU0 M_SRV=$M_GPU0 ;;
gpu1) I_SRV=$I_GPU1 M_SRV=$M_GPU1 ;;
*) I_SRV=3 M_SRV=02:72:70:63:01:03 ;;
esac
# the job's session, as the wire shows it: its id in the DATA frames' link header
wait $dcap
ndata=$(wc -l <"$IT_DIR/captured.data" 2>/dev/null || echo 0)
sid=0x$(head -n 1 "$IT_DIR/captured.data" 2>/dev/null | cut -c37-44)
if [ "$ndata" -gt 0 ] && [ "$sid" != 0x ] && [ "$sid" != 0x00000000 ]; then
	it_pass "session $sid of the job: $ndata of its DATA frames captured on the wire"
else
	it_fail "no DATA frame of the job captured ($ndata)"
fi

# --- replayed frames captured on the wire (to the selector, the server, the
# client), at once: seen already
b=$(sec ctl0 auth_replay)
bs=$(sec "$srv" auth_replay)
rogue replay "$IT_DIR/captured" "$M_ROGUE" >/dev/null
expect "captured frames replayed to the selector" ctl0 auth_replay "$b"
expect "captured frames replayed to $srv" "$srv" auth_replay "$bs"

REG9='{"v":1,"type":"register","id":9001,"dev":{"server":"gpu9","server_mac":"02:72:70:63:0e:01","device":"vgpu0","function":0,"vendor_id":29296,"device_id":1,"class_code":197120,"memory_bytes":68719476736,"backend":"cpu","module_kinds":["builtin"],"compute_units":64,"kernels":["saxpy"]}}'
STAT9='{"v":1,"type":"status","id":9002,"server":"gpu9","device":"vgpu0","st":{"memory_free":68719476736,"load":0,"in_use":false}}'
ATT='{"v":1,"type":"attach","id":9003,"request_id":0,"att":{"lease_id":'"$lease"',"client_mac":"02:72:70:63:0e:01","server":"'"$srv"'","server_mac":"'"$M_SRV"'","device":"vgpu0","function":0,"expires_us":99999999999},"failover":false}'
DET='{"v":1,"type":"detach","id":9004,"lease_id":'"$lease"',"error":-103,"reason":"forged","failover":false}'
REL='{"v":1,"type":"release","id":9005,"lease_id":'"$lease"'}'

# --- outsiders: no key. They claim identities in the envelope; only gpu0's
# address is taken on the wire too (its heartbeats win the bridge back at
# once: taking an address that stays silent diverts its frames, an L2 denial
# of service that keys do not prevent, doc/security.md).
b=$(sec ctl0 auth_unsigned)
rogue ctrl "$M_ROGUE" "$M_CTL" "$REG9" none
expect "REGISTER of fake gpu9, plain" ctl0 auth_unsigned "$b"
b=$(sec ctl0 auth_bad_tag)
rogue ctrl "$M_GPU0" "$M_CTL" "$REG9" "garbage:$I_GPU0:$I_CTL"
expect "REGISTER of gpu9 as gpu0 (its address and index, not its key)" ctl0 auth_bad_tag "$b"
b=$(sec ctl0 auth_bad_tag)
rogue ctrl "$M_ROGUE" "$M_CTL" "$STAT9" "garbage:$I_GPU0:$I_CTL"
expect "STATUS of gpu9 as gpu0" ctl0 auth_bad_tag "$b"
b=$(sec ctl0 auth_unsigned)
rogue ctrl "$M_ROGUE" "$M_CTL" "$STAT9" none
expect "STATUS of gpu9, plain" ctl0 auth_unsigned "$b"
b=$(sec "$srv" auth_bad_tag)
rogue ctrl "$M_ROGUE" "$M_SRV" "$ATT" "garbage:$I_CTL:$I_SRV"
expect "ATTACH of the job's device to the rogue, as the selector" "$srv" auth_bad_tag "$b"
b=$(sec "$srv" auth_unsigned)
rogue ctrl "$M_ROGUE" "$M_SRV" "$DET" none
expect "DETACH of the job's lease to its server, plain" "$srv" auth_unsigned "$b"
b=$(sec "$srv" auth_bad_tag)
rogue ctrl "$M_ROGUE" "$M_SRV" "$DET" "garbage:$I_CTL:$I_SRV"
expect "DETACH of the job's lease to its server, as the selector" "$srv" auth_bad_tag "$b"
rogue ctrl "$M_ROGUE" "$M_APP0" "$DET" "garbage:$I_CTL:$I_APP0"
b=$(sec ctl0 auth_bad_tag)
rogue ctrl "$M_ROGUE" "$M_CTL" "$REL" "garbage:$I_APP0:$I_CTL"
expect "RELEASE of the job's lease as its client" ctl0 auth_bad_tag "$b"

# --- hosts of the deployment that misbehave, each with its own key
b=$(sec ctl0 not_holder)
as app1 ctrl "$M_APP1" "$M_CTL" "$REL" "key:$KEYS:app1:$I_APP1:ctl0:$I_CTL"
expect "app1 releases app0's lease" ctl0 not_holder "$b"
b=$(sec ctl0 wrong_role)
as app1 ctrl "$M_APP1" "$M_CTL" "$REG9" "key:$KEYS:app1:$I_APP1:ctl0:$I_CTL"
expect "app1 (a client) registers gpu9" ctl0 wrong_role "$b"
b=$(sec ctl0 forged)
as gpu1 ctrl "$M_GPU1" "$M_CTL" \
	'{"v":1,"type":"status","id":9010,"server":"gpu0","device":"vgpu0","st":{"memory_free":0,"load":5,"in_use":false}}' \
	"key:$KEYS:gpu1:$I_GPU1:ctl0:$I_CTL"
expect "gpu1 reports gpu0's device" ctl0 forged "$b"
b=$(sec ctl0 forged)
as gpu1 ctrl "$M_GPU1" "$M_CTL" \
	'{"v":1,"type":"register","id":9011,"dev":{"server":"gpu1","server_mac":"02:72:70:63:01:02","device":"vgpu0","function":0,"vendor_id":29296,"device_id":1,"class_code":197120,"memory_bytes":68719476736,"backend":"cpu","module_kinds":["builtin"],"compute_units":1,"kernels":["saxpy"]}}' \
	"key:$KEYS:gpu1:$I_GPU1:ctl0:$I_CTL"
expect "gpu1 registers its device with 64 GiB" ctl0 forged "$b"
b=$(sec ctl0 forged)
as app1 ctrl "$M_APP1" "$M_CTL" \
	'{"v":1,"type":"renew","id":9012,"client_mac":"02:72:70:63:02:01"}' \
	"key:$KEYS:app1:$I_APP1:ctl0:$I_CTL"
expect "app1 renews app0's leases" ctl0 forged "$b"
b=$(sec "$srv" wrong_role)
as app1 ctrl "$M_APP1" "$M_SRV" "$DET" "key:$KEYS:app1:$I_APP1:$srv:$I_SRV"
expect "app1 detaches app0's lease at $srv" "$srv" wrong_role "$b"
b=$(sec ctl0 unknown_sender)
as app1 ctrl "$M_APP0" "$M_CTL" \
	'{"v":1,"type":"report","id":9013,"lease_id":'"$lease"',"job":"x","job_size":1,"elapsed_us":1}' \
	"key:$KEYS:app1:$I_APP1:ctl0:$I_CTL"
expect "app1 speaks from app0's address" ctl0 unknown_sender "$b"

# --- the job's session. Its first DATA frames, sent again: authentic, but
# their counters are behind the session's window by now (a frame within it
# would be a duplicate, acked again and dropped). Then frames in its name
# (the client's address, its id), one without a tag, one with a made-up tag.
b=$(sec "$srv" session_replay)
rogue replay "$IT_DIR/captured.data" >/dev/null
expect "the session's DATA frames replayed to $srv" "$srv" session_replay "$b"
b=$(sec "$srv" session_no_tag)
rogue data "$M_APP0" "$M_SRV" "$sid" 0x7e570000 plain
expect "a DATA frame of the session without a tag" "$srv" session_no_tag "$b"
b=$(sec "$srv" session_bad_tag)
rogue data "$M_APP0" "$M_SRV" "$sid" 0x7e570000 garbage
expect "a DATA frame of the session with a made-up tag" "$srv" session_bad_tag "$b"

# --- OPENs of the job's device: the rogue's without a block (it has no key,
# nor a lease), one in app0's name (address, session, lease) with a made-up
# block; app1's, authentic (its own key), without a lease and under app0's
b=$(sec "$srv" open_unsigned)
rogue open "$M_ROGUE" "$M_SRV" 0x7e570001 0 0 0 none
expect "an OPEN of the job's device without a block" "$srv" open_unsigned "$b"
b=$(sec "$srv" open_bad_tag)
rogue open "$M_APP0" "$M_SRV" "$sid" 0 "$lease" 0 "garbage:$I_APP0:$I_SRV"
expect "an OPEN of the job's device as app0, its block made up" "$srv" open_bad_tag "$b"
b=$(sec "$srv" open_not_allowed)
as app1 open "$M_APP1" "$M_SRV" 0x7e570002 0 0 0 "key:$KEYS:app1:$I_APP1:$srv:$I_SRV"
expect "app1 opens the job's device without a lease" "$srv" open_not_allowed "$b"
b=$(sec "$srv" open_not_allowed)
as app1 open "$M_APP1" "$M_SRV" 0x7e570003 0 "$lease" 0 "key:$KEYS:app1:$I_APP1:$srv:$I_SRV"
expect "app1 opens the job's device under app0's lease" "$srv" open_not_allowed "$b"
no_gpu9
if kill -0 "$job" 2>/dev/null; then
	it_pass "every attack was made while the job ran"
else
	it_fail "the job ended before the attacks did"
fi

# --- the same frames again, once they are older than the window (auth.window_ms)
sleep 5
b=$(sec ctl0 auth_stale)
rogue replay "$IT_DIR/captured" "$M_ROGUE" >/dev/null
expect "captured frames replayed after the window" ctl0 auth_stale "$b"

# --- the job finishes, verified; the refusals are in the logs, rate-limited
it_wait_exit "$job" 180
rc=$?
if [ $rc -eq 0 ] && grep -q '^verified$' "$IT_DIR/job.log" &&
	! grep -q "moved to another server" "$IT_DIR/job.log"; then
	it_pass "the job under attack finished verified on $srv, never moved: $(grep -o 'kernel [0-9.]* ms' "$IT_DIR/job.log")"
else
	it_fail "the job under attack: rc $rc"
	cat "$IT_DIR/job.log"
fi
# the client host's proxy holds the selector conversation (and its keys)
if grep -q "refused: a message from .*: bad-tag" "/run/rpci/cluster-$TAG/app0.log"; then
	it_pass "the client host's proxy refused the forged DETACH: $(grep -c 'refused:' "/run/rpci/cluster-$TAG/app0.log") refusal lines"
else
	it_fail "the client host's proxy did not log the forged DETACH"
	cat "$IT_DIR/job.log"
fi
if no_gpu9 && console ctl0 -c "show table" | grep -q "^gpu0 "; then
	it_pass "the table never showed gpu9"
fi
out=$(console ctl0 -c "show security")
if printf '%s' "$out" | grep -q '^auth keys' && printf '%s' "$out" | grep -q 'replay [1-9]'; then
	it_pass "show security on ctl0: $(printf '%s' "$out" | sed -n 2p)"
else
	it_fail "show security: $out"
	"$SRC/usertools/rpci-telemetry" --file-prefix "$IT_ID-ctl0" /rpci/security
fi
if grep -q "refused" "/run/rpci/cluster-$TAG/ctl0.log"; then
	it_pass "ctl0 logged its refusals"
else
	it_fail "ctl0 logged no refusal"
fi

# --- who may use the selector's console and telemetry: the file gives ctl0's
# console group nobody's group, mode 0660, no admin group: nobody may show,
# not change; user daemon (not in it) may not connect at all
if command -v setpriv >/dev/null && id daemon >/dev/null 2>&1; then
	chmod 0755 "$IT_DIR"
	as_user() { # as_user USER CMD...: CMD as USER, no supplementary groups
		local u=$1
		shift
		timeout 20 setpriv --reuid="$u" --regid="$(id -g "$u")" --clear-groups "$@" 2>&1
	}
	TEL="/usr/bin/python3 $SRC/usertools/rpci-telemetry --file-prefix $IT_ID-ctl0"
	out_show=$(as_user nobody "$BUILD/app/rpci-console" --config "$CFG" --host ctl0 \
		-c "show table")
	out_set=$(as_user nobody "$BUILD/app/rpci-console" --config "$CFG" --host ctl0 \
		-c "set policy first-fit")
	out_tel=$(as_user nobody $TEL /rpci/security)
	out_other=$(as_user daemon $TEL /rpci/security)
	if printf '%s' "$out_show" | grep -q "^gpu0 " &&
		printf '%s' "$out_set" | grep -q "permission denied" &&
		console ctl0 -c "show table" | grep -q "^policy best-fit" &&
		printf '%s' "$out_tel" | grep -q '"auth": "keys"' &&
		printf '%s' "$out_other" | grep -q "Permission denied"; then
		it_pass "ctl0's console and telemetry (group $NOGROUP, 0660): nobody shows, may not set policy ($(printf '%s' "$out_set" | grep -o 'permission denied[^(]*' | head -1)), reads telemetry; daemon cannot connect"
	else
		it_fail "console and telemetry access: show '$out_show' set '$out_set' telemetry '$out_tel' daemon '$out_other'"
	fi
fi

# --- a key file anyone may read is refused# --- a key file anyone may read is refused, with its reason: app1's proxy
# (which holds the host's key) will not start with it
chmod 644 "$KEYS/app1.key"
out=$(timeout 30 "$CLUSTER" exec "$CFG" app1 -- "$BUILD/app/rpci-proxy" --config "$CFG" \
	--host app1 2>&1)
chmod 600 "$KEYS/app1.key"
if printf '%s' "$out" | grep -q "app1.key: mode 0644 is more open than 0600"; then
	it_pass "a key file of mode 0644 refused: $(printf '%s' "$out" | grep -o 'app1.key: mode.*' | head -1)"
else
	it_fail "a key file of mode 0644: $out"
fi

it_summary
