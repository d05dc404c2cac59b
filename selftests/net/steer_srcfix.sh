#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# csmp_srcfix end to end: a "third-party head-end" (steer_udp_peer serve, a
# wildcard-bound UDP responder that answers with plain sendto) in its own
# namespace with the VIP on lo, a device namespace routing the VIP to it
# over a veth pair. Without csmp_srcfix the answers leave from the
# head-end's interface address, the classic wildcard-socket failure; with
# `csmpctl srcfix attach` on the head-end's veth they come from the VIP,
# IPv6 and IPv4, while another port keeps its source. Run twice: with the
# veth's checksum offload (the UDP checksum is finished by the "device",
# CHECKSUM_PARTIAL at TC) and without it (the checksum is complete at TC,
# fixed incrementally, then verified by the receiving kernel and by
# tcpdump: "udp sum ok"). detach restores the old behaviour.
source "$(dirname "$0")/../lib.sh"
require_root
require_cmd ip tcpdump ethtool jq

PEER=$CSMP_BUILD/selftests/net/steer_udp_peer
CTL=$BIN/csmpctl
for f in "$PEER" "$CTL"; do
	[ -x "$f" ] || { echo "# SKIP $f not built (make all tests)"; exit $KSFT_SKIP; }
done
ensure_bpffs || { echo "# SKIP cannot mount bpffs"; exit $KSFT_SKIP; }

tmp=$(mktemp -d /tmp/csmp-srcfix.XXXXXX)
pin=/sys/fs/bpf/csmp-test-srcfix-$$
VIP6=2001:db8:53::53
VIP4=10.53.0.53
HE6=2001:db8:1::1
HE4=10.1.0.1
spid=
tpid=
cleanup() {
	[ -n "$spid" ] && kill "$spid" 2>/dev/null
	[ -n "$tpid" ] && kill "$tpid" 2>/dev/null
	netns_cleanup
	rm -rf "$tmp" "$pin"
}
trap cleanup EXIT

netns_add cl || exit 1
netns_add he || exit 1
CL=$(ns cl)
HE=$(ns he)
ip link add sfc0 netns "$CL" type veth peer name sfh0 netns "$HE" || exit 1
ip -n "$CL" link set lo up
ip -n "$HE" link set lo up
ip -n "$CL" link set sfc0 up
ip -n "$HE" link set sfh0 up
ip -n "$CL" -6 addr add 2001:db8:1::2/64 dev sfc0 nodad
ip -n "$HE" -6 addr add $HE6/64 dev sfh0 nodad
ip -n "$CL" addr add 10.1.0.2/24 dev sfc0
ip -n "$HE" addr add $HE4/24 dev sfh0
ip -n "$HE" -6 addr add $VIP6/128 dev lo
ip -n "$HE" addr add $VIP4/32 dev lo
ip -n "$CL" -6 route add $VIP6/128 via $HE6
ip -n "$CL" route add $VIP4/32 via $HE4

ip netns exec "$HE" "$PEER" serve 61628 5683 >"$tmp/serve.out" &
spid=$!
for _ in $(seq 50); do grep -q ready "$tmp/serve.out" && break; sleep 0.1; done

ask() { ip netns exec "$CL" "$PEER" ask "$@"; }
# The csmpctl run in the head-end's namespace; nsenter keeps host mounts.
ctl() { nsenter --net="/run/netns/$HE" "$CTL" "$@"; }

check "without csmp_srcfix the answer comes from the interface (the bug)" \
	test "$(ask $VIP6 61628)" = "from=$HE6 port=61628"
check "without csmp_srcfix, IPv4 too" \
	test "$(ask $VIP4 61628)" = "from=$HE4 port=61628"

ctl srcfix --pin-dir "$pin" attach sfh0 --vip 2001:db8:53::53 --backend-src $HE6
check "csmpctl srcfix attach (IPv6 record)" test $? = 0
ctl srcfix --pin-dir "$pin" attach sfh0 --vip $VIP4 --backend-src $HE4 --port 61628 --port-alt 0
check "csmpctl srcfix attach (IPv4 record, attached again)" test $? = 0
ctl srcfix --pin-dir "$pin" attach sfh0 --vip $VIP4 --backend-src $HE6 2>"$tmp/err"
check "a family mismatch is refused with a reason" \
	grep -q "one address family" "$tmp/err"

for mode in offload software; do
	if [ $mode = software ]; then
		ip netns exec "$HE" ethtool -K sfh0 tx off >/dev/null 2>&1
		ip netns exec "$CL" tcpdump -l -n -vv -i sfc0 udp and src port 61628 \
			>"$tmp/tcpdump" 2>/dev/null &
		tpid=$!
		sleep 1
	fi
	check "$mode: IPv6 answer comes from the VIP" \
		test "$(ask $VIP6 61628)" = "from=$VIP6 port=61628"
	check "$mode: IPv4 answer comes from the VIP" \
		test "$(ask $VIP4 61628)" = "from=$VIP4 port=61628"
	check "$mode: another port keeps the interface's source" \
		test "$(ask $VIP6 5683)" = "from=$HE6 port=5683"
done
sleep 0.5
kill "$tpid" 2>/dev/null
wait "$tpid" 2>/dev/null
tpid=
sed 's/^/# /' "$tmp/tcpdump"
check "tcpdump verifies the rewritten IPv6 checksum" \
	grep -q "$VIP6.61628 > .*udp sum ok" "$tmp/tcpdump"
v4_sum_ok() { grep -A1 "proto UDP" "$tmp/tcpdump" | grep -q "$VIP4.61628 > .*udp sum ok"; }
check "tcpdump verifies the rewritten IPv4 checksum" v4_sum_ok
check "the receiving kernel counted no checksum error" \
	test "$(ip netns exec "$CL" awk '/^(Udp6InCsumErrors)/ {s += $2} END {print s + 0}' /proc/net/snmp6)" = 0 -a \
	     "$(ip netns exec "$CL" awk '/^Udp:/ {if (n++) print $NF}' /proc/net/snmp)" = 0

rewritten=$(ctl --json srcfix --pin-dir "$pin" stats | jq '.reasons.ok.packets // 0')
check "counters: 4 answers rewritten ($rewritten)" test "$rewritten" = 4

ctl srcfix --pin-dir "$pin" detach sfh0 --backend-src $HE6
check "csmpctl srcfix detach" test $? = 0
check "after detach the interface's source is back" \
	test "$(ask $VIP6 61628)" = "from=$HE6 port=61628"
ctl srcfix --pin-dir "$pin" detach sfh0 2>"$tmp/err"
check "detaching twice says it is not attached" grep -q "not attached" "$tmp/err"
tap_done
