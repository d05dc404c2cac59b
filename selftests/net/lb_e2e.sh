#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# csmp_lb end to end, the test of the mission: per-device steering that
# stays consistent and replies that leave from the requested address.
# Five namespaces joined by veth: a client (csmp-sim), an LB (csmp_lb
# attached natively to its client-facing veth, encap mode, three backends
# added with `csmpctl lb`), three head-ends (ip6tnl decapsulation, the VIP
# on lo, csmpd --backend-id 000N --listen [VIP]:61628), each with a second
# veth straight to the client so replies never cross the LB:
#
#   cl:vc0 ---- vl0:lb:vbN ---- vh0:hN        (N = 1..3, ip6ip6 inside)
#   cl:vdN -------------------- vr0:hN        (replies, src = VIP)
#
# Checked: every device registers and verifies its ACK; every datagram to a
# device leaves a head-end with source = the VIP and arrives on a direct
# link (a capture in the client namespace); the three csmpd registries are
# disjoint, cover the fleet and agree with `csmpctl lb eid`; removing one
# backend moves exactly its devices (as `--preview` said, at most 1/N + 2 %);
# a drained backend keeps its session traffic while new registrations go
# elsewhere; a device's answer to a head-end request comes back through the
# LB (reply-port key) to the head-end that asked, draining or not; the
# registration budget holds under a storm. The hash key is fixed, so the
# table, and every number below, is the same on every run.
source "$(dirname "$0")/../lib.sh"
require_root
require_cmd ip jq tcpdump bpftool nsenter ethtool tc

CSMPD=$BIN/csmpd
SIM=$BIN/csmp-sim
REQ=$BIN/csmp-request
CTL=$BIN/csmpctl
FLOOR=$CSMP_BUILD/selftests/progs/csmp_floor.bpf.o
DECAP_OBJ=$CSMP_BUILD/selftests/net/ip6ip6_decap.bpf.o
for f in "$CSMPD" "$SIM" "$REQ" "$CTL" "$FLOOR" "$DECAP_OBJ"; do
	[ -e "$f" ] || { echo "# SKIP $f not built (make all)"; exit $KSFT_SKIP; }
done

N=${CSMP_E2E_DEVICES:-300}			# devices in the fleet
VIP=2001:db8:53::1
LBA=2001:db8:1b::1		# outer source of the tunnel
DEV=fd00:c5:e2e			# the fleet's /64 (csmp-sim's local route)
NEWDEV=fd00:c5:e2f		# devices that register after the drain
STORMDEV=fd00:c5:e30		# the storm
KEY=0123456789abcdeffedcba9876543210
PORTS=(x 40000-40099 40100-40199 40200-40299)

tmp=$(mktemp -d /tmp/csmp-lbe2e.XXXXXX)
chmod 755 "$tmp"	# csmpd drops to an unprivileged user once bound
pin=/sys/fs/bpf/csmp-test-e2e-$$
declare -A hpid=()
spid= tpid=
cleanup() {
	local p
	for p in $spid $tpid "${hpid[@]}"; do
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	netns_cleanup
	rm -rf "$pin" "$tmp"
}
trap cleanup EXIT
ensure_bpffs

for n in cl lb h1 h2 h3; do netns_add $n || exit 1; done
CL=$(ns cl) LB=$(ns lb)
inns() { local n=$1; shift; nsenter --net=/run/netns/"$n" "$@"; }
lbc() { inns "$LB" "$CTL" lb --state "$tmp/lb.state" --pin-dir "$pin" "$@"; }
lbj() { inns "$LB" "$CTL" --json lb --state "$tmp/lb.state" --pin-dir "$pin" "$@"; }

# Decapsulation on head-end I: the kernel's ip6tnl where it is built
# (CONFIG_IPV6_TUNNEL), else the kernel's seg6local End.DT6 on a route to
# the endpoint (CONFIG_IPV6_SEG6_LWTUNNEL), which strips the same outer
# IPv6 header (next header 41, no SRH) and looks the inner destination up
# in the local table: the VIP on lo; else (a kernel with neither, as this
# host's is now) a TC ingress program removes the outer header before the
# stack routes the inner datagram. No forwarding on the head-end.
decap() {
	local H
	H=$(ns h$1)
	if ip -n "$H" link add tnl0 type ip6tnl mode ip6ip6 \
		local 2001:db8:b$1::e remote $LBA 2>/dev/null; then
		ip -n "$H" -6 addr add 2001:db8:b$1::e/128 dev lo &&
		ip -n "$H" link set tnl0 up && DECAP=ip6tnl
	elif ip -n "$H" -6 route add 2001:db8:b$1::e/128 encap seg6local \
		action End.DT6 table local dev vh0 2>/dev/null; then
		DECAP=seg6local
	else
		# Neither is built (the development host's kernel): strip the
		# outer header at TC ingress (selftests/net/progs/).
		tc -n "$H" qdisc add dev vh0 clsact &&
		tc -n "$H" filter add dev vh0 ingress bpf direct-action \
			obj "$DECAP_OBJ" sec tc && DECAP="tc bpf_skb_adjust_room"
	fi
}

set -e
for n in cl lb h1 h2 h3; do ip -n "$(ns $n)" link set lo up; done
ip link add vc0 netns "$CL" type veth peer name vl0 netns "$LB"
ip -n "$CL" -6 addr add 2001:db8:c1::2/64 dev vc0 nodad
ip -n "$LB" -6 addr add 2001:db8:c1::1/64 dev vl0 nodad
ip -n "$CL" link set vc0 up
# Real devices send complete UDP checksums; a veth would hand csmp_lb a
# CHECKSUM_PARTIAL frame (only the pseudo-header sum in place) that XDP
# cannot see as such, and the head-end would count it a checksum error.
inns "$CL" ethtool -K vc0 tx off >/dev/null
ip -n "$LB" link set vl0 up
ip -n "$CL" -6 route add $VIP/128 via 2001:db8:c1::1
ip -n "$LB" -6 addr add $LBA/128 dev lo
# bpf_fib_lookup answers only on a forwarding host.
inns "$LB" sysctl -qw net.ipv6.conf.all.forwarding=1
mkdir -p "$pin"
bpftool prog loadall "$FLOOR" "$pin/floor" pinmaps "$pin/floormaps"
for i in 1 2 3; do
	H=$(ns h$i)
	ip link add vb$i netns "$LB" type veth peer name vh0 netns "$H"
	ip -n "$LB" -6 addr add 2001:db8:b$i::1/64 dev vb$i nodad
	ip -n "$H" -6 addr add 2001:db8:b$i::2/64 dev vh0 nodad
	ip -n "$LB" link set vb$i up
	ip -n "$H" link set vh0 up
	mac=$(ip -n "$H" -j link show vh0 | jq -r '.[0].address')
	# The tunnel endpoint 2001:db8:b$i::e is the backend's address.
	ip -n "$LB" -6 neigh add 2001:db8:b$i::e lladdr "$mac" dev vb$i nud permanent
	# XDP_REDIRECT into vb$i delivers only when its peer runs XDP.
	inns "$H" bpftool net attach xdpdrv pinned "$pin/floor/xdp_pass" dev vh0
	decap $i
	ip -n "$H" -6 addr add $VIP/128 dev lo
	# The return path: straight to the client.
	ip link add vd$i netns "$CL" type veth peer name vr0 netns "$H"
	ip -n "$CL" -6 addr add 2001:db8:d$i::1/64 dev vd$i nodad
	ip -n "$H" -6 addr add 2001:db8:d$i::2/64 dev vr0 nodad
	ip -n "$CL" link set vd$i up
	ip -n "$H" link set vr0 up
	ip -n "$H" -6 route add fd00:c5::/32 via 2001:db8:d$i::1 dev vr0
done
"$CTL" keygen "$tmp/nms.pem" "$tmp/nms.pub" >/dev/null
set +e

# The LB: a fixed key (deterministic table), three backends, port blocks.
echo "key $KEY" >"$tmp/lb.state"
lbc attach vl0 --vip $VIP --lb-addr $LBA >"$tmp/attach" 2>&1 ||
	{ sed 's/^/# /' "$tmp/attach"; not_ok "csmp_lb attaches natively to vl0"; tap_done; }
ok "csmp_lb attaches natively (xdpdrv) to the LB's veth, encap mode"
diag "head-ends decapsulate with $DECAP"
for i in 1 2 3; do
	lbc backend add $i 2001:db8:b$i::e --ports "${PORTS[$i]}" >/dev/null ||
		not_ok "backend add $i"
done
check "native XDP (not generic) on vl0" \
	test "$(ip -n "$LB" -j link show vl0 | jq -r '.[0].xdp.mode')" = 1

start_he() { # I
	local i=$1 H log=$tmp/h$1.log k
	H=$(ns h$i)
	: >"$log"
	rm -f "$tmp/h$i.sock" "$tmp/h$i.db"*
	nsenter --net=/run/netns/"$H" "$CSMPD" --listen "[$VIP]:61628" --workers 1 \
		--nms-key "$tmp/nms.pem" --backend-id "000$i" \
		--control "$tmp/h$i.sock" --db "$tmp/h$i.db" --reply-ports "${PORTS[$i]}" \
		--report-interval 900 2>"$log" &
	hpid[$i]=$!
	for k in $(seq 100); do
		grep -q '%CSMP-5-START' "$log" && [ -S "$tmp/h$i.sock" ] && return 0
		kill -0 "${hpid[$i]}" 2>/dev/null || break
		sleep 0.1
	done
	sed 's/^/# /' "$log"
	return 1
}
stop_he() { kill -TERM "${hpid[$1]}" 2>/dev/null; wait "${hpid[$1]}" 2>/dev/null; unset "hpid[$1]"; }
hctl() { local i=$1; shift; "$CTL" --control "$tmp/h$i.sock" "$@"; }
# EID SESSION REPORTS lines of head-end I's registry.
registry() { hctl "$1" devices --json | jq -r '.devices[] | "\(.eid) \(.session) \(.reports)"' | sort; }
regs_rx() { hctl "$1" stats --json | jq '[.workers[].by_class.registration] | add'; }
sim() { # PREFIX EID_BASE ARGS... (exec: a background sim's $! is csmp-sim)
	local p=$1 b=$2
	shift 2
	(exec nsenter --net=/run/netns/"$CL" "$SIM" --target "[$VIP]:61628" \
		--nms-pubkey "$tmp/nms.pub" --src-prefix "$p::" --eid-base "$b" \
		--json --quiet "$@")
}
eid_of() { printf '00C5E2E000%06X' "$1"; }
owner_lb() { lbj eid "$1" | jq .backend; }
# poll SECONDS CMD...: retry CMD every 0.1 s until it succeeds.
poll() { local t=$1 k; shift; for k in $(seq $((t * 10))); do "$@" && return 0; sleep 0.1; done; return 1; }

for i in 1 2 3; do check "csmpd $i up on [$VIP]:61628 (backend-id 000$i)" start_he $i; done

# ---- 1. every device registers; replies leave with source = the VIP ----
nsenter --net=/run/netns/"$CL" tcpdump -i any -nn -U -w "$tmp/cl.pcap" "udp and dst net $DEV::/48" \
	2>"$tmp/tcpdump.err" &
tpid=$!
poll 10 grep -qs 'listening on' "$tmp/tcpdump.err"
sim $DEV 00C5E2E000000000 --devices $N --until-registered --linger 1.5 \
	--reg-min 0.5 --reg-max 2 --duration ${CSMP_E2E_SIMDUR:-40} >"$tmp/sim1.json"
rc=$?
[ -n "$CSMP_E2E_DEBUG" ] && {
	lbj stats --interval 0.1
	hctl 1 stats --json | jq -c ".workers[0] | [.received,.sent]"
	ip netns exec "$(ns h1)" nstat -az | grep -v " 0 "
	ip netns exec "$(ns h1)" ip -s link show vh0
}
sj() { jq -r "$1" "$tmp/sim1.json"; }
check "fleet: csmp-sim exits 0 (every device registered)" test $rc = 0
check "fleet: registered == devices ($N)" test "$(sj .registered)" = $N
check "fleet: every ACK verified (acks_verified == registered), 0 bad signatures" \
	test "$(sj .acks_verified)" = $N -a "$(sj .acks_bad_signature)" = 0 \
	     -a "$(sj .acks_unverified)" = 0
diag "fleet: $(sj '"attempts \(.reg_attempts) acks \(.acks_rx) reports \(.reports_sent) rtt p50 \(.rtt_ms.p50) ms"')"
kill -TERM $tpid; wait $tpid; tpid=
inns "$CL" tcpdump -r "$tmp/cl.pcap" -nn 2>/dev/null >"$tmp/cl.txt"
[ -n "$CSMP_E2E_DEBUG" ] && { head -3 "$tmp/cl.txt"; cat "$tmp/tcpdump.err"; }
total=$(grep -c . "$tmp/cl.txt")
from_vip=$(grep -cE " In +IP6 $VIP\.61628 > $DEV:" "$tmp/cl.txt")
direct=$(grep -cE "^[0-9:.]+ vd[123] +In +IP6 $VIP\.61628 > " "$tmp/cl.txt")
diag "capture: $total datagrams to devices, $from_vip from $VIP.61628, $direct on the direct links"
check "capture lost nothing" grep -q '^0 packets dropped by kernel' "$tmp/tcpdump.err"
check "every ACK reached the client ($total captured >= acks_rx $(sj .acks_rx))" \
	test "$total" -ge "$(sj .acks_rx)" -a "$(sj .acks_rx)" -ge $N
check "every datagram to a device has source [$VIP]:61628" test "$from_vip" = "$total"
check "every reply came straight from a head-end (vd1..3), none through the LB" \
	test "$direct" = "$total"
for i in 1 2 3; do
	c=$(grep -cE "^[0-9:.]+ vd$i +In +IP6 $VIP\.61628 > " "$tmp/cl.txt")
	check "head-end $i answered its share over its own link ($c)" test "$c" -gt 0
done

# ---- 2. each device's traffic reaches only its owner ----
: >"$tmp/owners1"
for i in 1 2 3; do
	registry $i >"$tmp/reg1.$i"
	awk -v i=$i '{ print $1, i }' "$tmp/reg1.$i" >>"$tmp/owners1"
	diag "head-end $i: $(grep -c . "$tmp/reg1.$i") devices"
done
sort -o "$tmp/owners1" "$tmp/owners1"
check "the three registries are disjoint and cover the fleet ($N EIDs, each once)" \
	test "$(cut -d' ' -f1 "$tmp/owners1" | sort -u | grep -c .)" = $N \
	     -a "$(grep -c . "$tmp/owners1")" = $N
bad=0
for i in 1 2 3; do
	[ -s "$tmp/reg1.$i" ] || bad=1
	awk -v s="000$i" 'substr($2, 1, 4) != s { bad = 1 } END { exit bad }' "$tmp/reg1.$i" || bad=1
	# Each device's first report (SessionID steering) reached its owner.
	awk '$3 < 1 { bad = 1 } END { exit bad }' "$tmp/reg1.$i" || bad=1
done
check "every SessionID starts with its owner's backend id, every device's report reached it" \
	test $bad = 0
# The library's Maglev lookup on the live table, for every EID at once.
lb_owners() { # OWNERS_FILE -> "EID BACKEND" sorted
	lbj eid $(cut -d' ' -f1 "$1") | jq -r '"\(.eid) \(.backend)"' | sort
}
lb_owners "$tmp/owners1" >"$tmp/lbowners1"
check "each device's owner is the backend \`csmpctl lb eid\` names (Maglev, $N EIDs)" \
	cmp -s "$tmp/owners1" "$tmp/lbowners1"
lbj stats --interval 0.1 >"$tmp/stats1.json"
lst() { jq -r "$1" "$tmp/stats1.json"; }
check "csmp_lb steered registrations by DeviceID and reports by SessionID" \
	test "$(lst '.steer_keys.device_id.packets // 0')" -ge $N \
	     -a "$(lst '.steer_keys.session.packets // 0')" -ge "$(sj .reports_sent)"
check "csmp_lb sent nothing to an unknown backend or without a route" \
	test "$(lst '(.reasons.no_backend.packets // 0) + (.reasons.fib.packets // 0)')" = 0
diag "lb steer keys: $(jq -c '.steer_keys' "$tmp/stats1.json")"

# ---- 3. removing one backend moves only its devices ----
# A population of 20,000 EIDs through the library's lookup, before and
# after: the fraction that moves, free of the sampling noise of a few
# hundred real devices (those are checked one by one below).
pop=$(for k in $(seq 0 19999); do printf '00AB%012X ' $((k * 7919 + 12345)); done)
pop_owners() { lbj eid $pop | jq -r '"\(.eid) \(.backend)"' | sort; }
pop_owners >"$tmp/pop1"
lbj backend remove 3 --preview >"$tmp/preview.json"
pv() { jq -r "$1" "$tmp/preview.json"; }
diag "preview: $(jq -c . "$tmp/preview.json")"
check "preview knows the fleet (learned map: $(pv .known_devices) >= $N devices)" \
	test "$(pv .known_devices)" -ge $N
check "preview: at most 1/3 + 2 % of the table moves ($(pv .fraction))" \
	awk -v f="$(pv .fraction)" 'BEGIN { exit !(f <= 1 / 3 + 0.02) }'
check "preview applied nothing (backend 3 still in the live table)" \
	test "$(lbj table show | jq '.backends[] | select(.id == 3) | .slots')" -gt 0
lbc backend remove 3 >/dev/null
pop_owners >"$tmp/pop2"
pmoved=$(join "$tmp/pop1" "$tmp/pop2" | awk '$2 != $3' | grep -c .)
others=$(join "$tmp/pop1" "$tmp/pop2" | awk '$2 != 3 && $2 != $3' | grep -c .)
was3p=$(awk '$2 == 3' "$tmp/pop1" | grep -c .)
diag "20,000 EIDs: $was3p on backend 3 before, all moved: $(join "$tmp/pop1" "$tmp/pop2" | awk '$2 == 3 && $3 != 3' | grep -c .); $others of backends 1-2 moved too (Maglev reassigns a few slots: $(pv .slots_moved) moved for backend 3's)"
check "20,000 EIDs: every device of backend 3 moved, $pmoved in all <= 1/3 + 2 %" \
	test "$(join "$tmp/pop1" "$tmp/pop2" | awk '$2 == 3 && $3 != 3' | grep -c .)" = "$was3p" \
	     -a "$pmoved" -le $((20000 / 3 + 400))
check "20,000 EIDs: devices of the other backends stay (moved: $others <= 0.1 %)" \
	test "$others" -le 20
check "after remove: backend 3 owns no slot, the table is whole" \
	test "$(lbj table show | jq '[.unowned, (.backends | length)] | join(" ")' -r)" = "0 2"
# Fresh registries, the same fleet registers again, and now reports every
# second (the drained backend's session traffic below).
for i in 1 2 3; do stop_he $i; check "csmpd $i restarted" start_he $i; done
(exec nsenter --net=/run/netns/"$CL" "$SIM" --target "[$VIP]:61628" \
	--nms-pubkey "$tmp/nms.pub" --src-prefix "$DEV::" --eid-base 00C5E2E000000000 \
	--devices $N --reg-min 0.5 --reg-max 2 --report-interval 1 --duration 90 \
	--serve --serve-log "$tmp/serve.log" --json --quiet >"$tmp/sim2.json") &
spid=$!
count_all() { echo $(($(hctl 1 devices --count) + $(hctl 2 devices --count) + $(hctl 3 devices --count))); }
fleet_back() { [ "$(count_all)" = $N ]; }
check "the fleet registered again ($N devices)" poll 30 fleet_back
: >"$tmp/owners2"
for i in 1 2 3; do
	registry $i | awk -v i=$i '{ print $1, i }' >>"$tmp/owners2"
done
sort -o "$tmp/owners2" "$tmp/owners2"
moved=$(join "$tmp/owners1" "$tmp/owners2" | awk '$2 != $3' | grep -c .)
was3=$(awk '$2 == 3' "$tmp/owners1" | grep -c .)
diag "moved: $moved of $N devices; backend 3 had $was3"
check "nothing reaches the removed backend (head-end 3 registry empty)" \
	test "$(hctl 3 devices --count)" = 0
check "fleet: every device of backend 3 moved; of backends 1-2 none ($was3 of $moved)" \
	test "$(join "$tmp/owners1" "$tmp/owners2" | awk '$2 != 3 && $2 != $3' | grep -c .)" = 0 \
	     -a "$moved" = "$was3"
check "the preview said how many would move ($(pv .known_devices_moved) == $moved measured)" \
	test "$(pv .known_devices_moved)" = "$moved"
diag "fleet: $moved / $N = $(awk -v m=$moved -v n=$N 'BEGIN { printf "%.3f", m / n }') moved (backend 3's share of this sample)"
lb_owners "$tmp/owners2" >"$tmp/lbowners2"
check "after the change every owner is still what \`csmpctl lb eid\` names" \
	cmp -s "$tmp/owners2" "$tmp/lbowners2"

# ---- 4. a drained backend keeps its session traffic ----
reports_of() { hctl "$1" devices --json | jq '[.devices[].reports] | add // 0'; }
d1=$(hctl 1 devices --count)
r0=$(reports_of 1)
lbc backend drain 1 >/dev/null
check "drain: backend 1 is draining, owns no slot" \
	test "$(lbj table show | jq -r '.backends[] | select(.id == 1) | "\(.state) \(.slots)"')" = "draining 0"
# Every one of its $d1 devices reports once a second: two rounds more.
two_rounds() { [ "$(reports_of 1)" -ge $((r0 + 2 * d1)) ]; }
check "drained backend 1 still gets its devices' reports (SessionID 0001...)" \
	poll 15 two_rounds
diag "backend 1: $d1 devices, reports $r0 -> $(reports_of 1) after the drain"
sim $NEWDEV 00C5E2F000000000 --devices 60 --until-registered --linger 0.5 \
	--reg-min 0.3 --reg-max 2 --duration 20 >"$tmp/sim3.json"
check "new devices register while backend 1 drains (60/60)" \
	test $? = 0 -a "$(jq .registered "$tmp/sim3.json")" = 60
check "no new registration went to the draining backend (all on backend 2)" \
	test "$(hctl 1 devices --json | jq '[.devices[] | select(.eid | startswith("00C5E2F0"))] | length')" = 0 \
	     -a "$(hctl 2 devices --json | jq '[.devices[] | select(.eid | startswith("00C5E2F0"))] | length')" = 60

# ---- 5. the answer to a head-end request comes back to the asker ----
rp0=$(lbj stats --interval 0.1 | jq '.steer_keys.reply_port.packets // 0')
for i in 1 2; do
	e=$(awk -v i=$i '$2 == i { print $1; exit }' "$tmp/owners2")
	hctl_rq() { "$REQ" --control "$tmp/h$1.sock" "${@:2}"; }
	hctl_rq $i --json "$e" 11 >"$tmp/rq$i.json" 2>"$tmp/rq$i.err"
	rc=$?
	port=$(jq .src_port "$tmp/rq$i.json")
	hctl_rq $i "$e" 11 >"$tmp/rq$i.txt" 2>>"$tmp/rq$i.err"
	[ -n "$CSMP_E2E_DEBUG" ] && cat "$tmp/rq$i.txt" "$tmp/rq$i.err" "$tmp/rq$i.json"
	st=$([ $i = 1 ] && echo ", draining" || echo "")
	check "request from head-end $i$st to $e: answered, [11/HardwareDesc] with its serial" \
		test $rc = 0 -a -n "$(grep "^\[11/HardwareDesc\]: {.*\"entPhysicalSerialNum\":\"$e\"" "$tmp/rq$i.txt")"
	check "head-end $i asked from its own reply-port block (${PORTS[$i]}: $port), source the VIP" \
		awk -v p="$port" -v r="${PORTS[$i]}" 'BEGIN { split(r, a, "-"); exit !(p >= a[1] && p <= a[2]) }' \
		-a "$(grep "\"eid\":\"$e\"" "$tmp/serve.log" | tail -1 | jq -r .from)" = $VIP
done
check "the answers came back through csmp_lb by the reply-port key (4 = 2 requests x 2)" \
	test "$(lbj stats --interval 0.1 | jq '.steer_keys.reply_port.packets // 0')" -ge $((rp0 + 4))
kill -TERM $spid; wait $spid; spid=
[ -n "$CSMP_E2E_DEBUG" ] && cat "$tmp/sim2.json"
check "the fleet stayed registered through it all (no re-registration)" \
	test "$(jq .registered "$tmp/sim2.json")" = $N -a "$(jq .reregistrations "$tmp/sim2.json")" = 0

# ---- 6. the registration budget holds under a storm ----
lbc limits --eid-rate 1 --eid-burst 2 --global-rate 50 --global-burst 50 >/dev/null
check "limits set: per EID 1/s burst 2, global 50/s burst 50" \
	test "$(lbj limits | jq -c '[.eid_rate, .eid_burst, .global_rate, .global_burst]')" = "[1,2,50,50]"
lsum() { lbj stats --interval 0.01 | jq "$1"; }
LREG='(.classes.registration.packets // 0)'
LDROP='((.reasons.storm_eid.packets // 0) + (.reasons.storm_global.packets // 0))'
c0=$(lsum "$LREG") d0=$(lsum "$LDROP") b0=$(($(regs_rx 1) + $(regs_rx 2)))
sim $STORMDEV 00C5E30000000000 --devices 100 --rate 1500 --duration 2 \
	--report-interval 0 >"$tmp/sim4.json"
el=$(jq .elapsed_s "$tmp/sim4.json")
c1=$(lsum "$LREG") d1=$(lsum "$LDROP")
passed=$((c1 - c0 - (d1 - d0)))
at_be() { [ $(($(regs_rx 1) + $(regs_rx 2) - b0)) = $passed ]; }
check "every registration csmp_lb let through reached a backend ($passed)" poll 5 at_be
budget=$(awk -v t="$el" 'BEGIN { printf "%d", 50 + 50 * t + 1 }')
diag "storm: $((c1 - c0)) registrations at the LB in ${el}s, $((d1 - d0)) dropped, $passed passed; budget 50 + 50/s = $budget"
check "storm: registrations reaching the backends stay within the budget ($passed <= $budget)" \
	test "$passed" -le "$budget" -a "$passed" -gt 0
check "storm: csmp_lb counted the excess (storm_eid + storm_global = $((d1 - d0)))" \
	test $((d1 - d0)) -gt 0 -a $((d1 - d0 + passed)) = $((c1 - c0))

tap_done
