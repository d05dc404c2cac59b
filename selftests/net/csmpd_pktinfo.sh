#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Replies leave from the address the request was sent to. The head-end
# namespace has two addresses per family: a VIP on lo and a real address
# on the veth towards the device namespace. csmpd listens on the wildcard
# (dual-stack). Without PKTINFO the kernel would answer a request to the
# VIP from the veth address (the route towards the device), so a reply
# from the VIP proves the source came from the request. Both backends,
# IPv6 and IPv4 (v4-mapped on the dual-stack socket).
source "$(dirname "$0")/../lib.sh"
require_root
require_cmd ip openssl

PEER=$CSMP_BUILD/selftests/net/csmpd_peer
FIX=$CSMP_FIXTURE_REG
require_built "$PEER" "$CSMPD"
require_file "$FIX"
csmp_tmpdir pktinfo

netns_add he || exit 1
netns_add dev || exit 1
HE=$(ns he)
DEV=$(ns dev)
VIP6=fd00:ff::1
REAL6=fd00:1::1
DEV6=fd00:1::2
VIP4=10.255.0.1
REAL4=10.1.0.1
DEV4=10.1.0.2

ip link add "csmpv$$" netns "$HE" type veth peer name "csmpw$$" netns "$DEV" || exit 1
ip -n "$HE" link set lo up
ip -n "$DEV" link set lo up
ip -n "$HE" link set "csmpv$$" up
ip -n "$DEV" link set "csmpw$$" up
ip -n "$HE" addr add $VIP6/128 dev lo
ip -n "$HE" addr add $VIP4/32 dev lo
ip -n "$HE" addr add $REAL6/64 dev "csmpv$$" nodad
ip -n "$HE" addr add $REAL4/24 dev "csmpv$$"
ip -n "$DEV" addr add $DEV6/64 dev "csmpw$$" nodad
ip -n "$DEV" addr add $DEV4/24 dev "csmpw$$"
ip -n "$DEV" route add $VIP6/128 via $REAL6
ip -n "$DEV" route add $VIP4/32 via $REAL4

nms_keygen "$tmp"

for io in uring mmsg; do
	log=$tmp/csmpd.$io.log
	if ! csmpd_start "$HE" "$log" --io $io --workers 2 \
		--listen '[::]:61628' --nms-key "$tmp/nms.pem"; then
		not_ok "$io: csmpd starts"
		continue
	fi
	mid=1
	for pair in "[$VIP6]:61628 $VIP6" "[$REAL6]:61628 $REAL6" \
		    "$VIP4:61628 $VIP4" "$REAL4:61628 $REAL4"; do
		set -- $pair
		ip netns exec "$DEV" "$PEER" --pcap "$FIX" --pubkey "$tmp/nms.pub" \
			--target "$1" --expect-src "$2" --mid $mid reg \
			>"$tmp/out" 2>&1
		rc=$?
		[ $rc = 0 ] || sed 's/^/# /' "$tmp/out"
		check "$io: request to $2 answered from $2 (signed 2.03)" test $rc = 0
		mid=$((mid + 1))
	done
	csmpd_stop
	check "$io: SIGTERM: exit status 0" test $? = 0
done

tap_done
