# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=bash
#
# Helpers for integration tests that need a real network between rpci hosts:
# network namespaces joined by veth pairs, made with names of their own (a
# prefix from the test's PID) and removed at exit, whatever happened.
#
#   . lib.sh            (optional: its it_cleanup runs first at exit)
#   . lib-netns.sh
#   netns_chain         ns-client <-> ns-fwd <-> ns-server
#   netns_exec "$NETNS_CLIENT" cmd args...
#
# Inside each rpci namespace the interface is rpci0, so that a deployment
# file can say iface=rpci0; in the forwarder's namespace the two ends are
# $NETNS_FWD_A (towards the client) and $NETNS_FWD_B (towards the server).
# The veths are created inside the namespaces: nothing appears in the
# machine's own namespace, and deleting a namespace deletes its veths.

set -u

NETNS_PREFIX="rpci-$$"
NETNS_CLIENT=""
NETNS_FWD=""
NETNS_SERVER=""
NETNS_FWD_A="fwd-c"
NETNS_FWD_B="fwd-s"
NETNS_MTU=${NETNS_MTU:-1500}

# netns_exec NS CMD...: run a command inside a namespace (the command's own
# PID: ip netns exec execs it).
netns_exec() {
	local ns=$1
	shift
	ip netns exec "$ns" "$@"
}

# netns_add NAME: a namespace named PREFIX-NAME (its name is then in
# NETNS_LAST), with IPv6 off (no stray router solicitations or DAD frames on
# the links) and lo up.
netns_add() {
	NETNS_LAST="${NETNS_PREFIX}-$1"
	ip netns add "$NETNS_LAST" || return 1
	ip netns exec "$NETNS_LAST" sysctl -q -w net.ipv6.conf.all.disable_ipv6=1 \
		net.ipv6.conf.default.disable_ipv6=1 >/dev/null || return 1
	ip -n "$NETNS_LAST" link set lo up
}

# netns_link NS1 IF1 NS2 IF2: a veth pair from IF1 in NS1 to IF2 in NS2, up,
# with IPv6 off and the MTU of $NETNS_MTU.
netns_link() {
	local ns1=$1 if1=$2 ns2=$3 if2=$4
	ip link add "$if1" netns "$ns1" mtu "$NETNS_MTU" type veth \
		peer name "$if2" netns "$ns2" mtu "$NETNS_MTU" || return 1
	ip netns exec "$ns1" sysctl -q -w "net.ipv6.conf.$if1.disable_ipv6=1" >/dev/null &&
		ip netns exec "$ns2" sysctl -q -w "net.ipv6.conf.$if2.disable_ipv6=1" >/dev/null &&
		ip -n "$ns1" link set "$if1" up && ip -n "$ns2" link set "$if2" up
}

# netns_chain: ns-client (rpci0) <-> ns-fwd (fwd-c, fwd-s) <-> ns-server (rpci0).
# Sets NETNS_CLIENT, NETNS_FWD, NETNS_SERVER. Returns non-zero if a step
# failed (what was made is removed by the exit trap, found by its prefix).
netns_chain() {
	netns_add client && NETNS_CLIENT=$NETNS_LAST || return 1
	netns_add fwd && NETNS_FWD=$NETNS_LAST || return 1
	netns_add server && NETNS_SERVER=$NETNS_LAST || return 1
	netns_link "$NETNS_CLIENT" rpci0 "$NETNS_FWD" "$NETNS_FWD_A" || return 1
	netns_link "$NETNS_SERVER" rpci0 "$NETNS_FWD" "$NETNS_FWD_B" || return 1
}

# netns_ours: the namespaces of this test that exist now, one a line.
netns_ours() {
	ip netns list 2>/dev/null | awk '{ print $1 }' | grep "^${NETNS_PREFIX}-" || true
}

# netns_cleanup: end what still runs in our namespaces, then delete them
# (their veths go with them). Safe to call twice.
netns_cleanup() {
	local ns pid
	for ns in $(netns_ours); do
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			kill -TERM "$pid" 2>/dev/null
		done
	done
	for ns in $(netns_ours); do
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			for _ in 1 2 3 4 5 6 7 8 9 10; do
				kill -0 "$pid" 2>/dev/null || break
				sleep 0.1
			done
			kill -KILL "$pid" 2>/dev/null
		done
		ip netns delete "$ns" 2>/dev/null
	done
}

_netns_on_exit() {
	local rc=$?
	if declare -F it_cleanup >/dev/null; then
		it_cleanup
	fi
	netns_cleanup
	exit $rc
}
trap _netns_on_exit EXIT
trap 'exit 143' TERM
trap 'exit 130' INT
