#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# XDP steering benchmark -> build/bench/xdp.json and build/bench/xdp.md.
#  1. BPF_PROG_TEST_RUN (build/selftests/net/lb_bench): csmp_lb ns/packet
#     on the agent's registration, on a 95- and a 191-byte report and on a
#     datagram that is not CSMP, against a minimal parse-and-XDP_TX program
#     and an XDP_PASS-only one, interleaved in one run, repeat=1 per call,
#     verdict and output checked on every call (platform-notes.md);
#     instruction counts and JIT sizes. The load average before the run is
#     recorded beside the figures (the machine may be shared).
#  2. veth packets/s: trafgen (netsniff-ng) in a generator namespace sends a
#     CSMP report to the VIP through an LB namespace to a sink namespace
#     whose XDP program counts and drops; once with csmp_lb steering
#     (XDP_REDIRECT to the sink veth), once with the kernel forwarding the
#     same frames on the same veth set-up (route to the VIP via the sink).
#   scripts/bench/xdp.sh        (root; CSMP_BENCH_SECONDS=3 per window)
set -euo pipefail
cd "$(dirname "$0")/../.."
top=$PWD
out=build/bench
mkdir -p "$out"
secs=${CSMP_BENCH_SECONDS:-3}
calls=${CSMP_BENCH_CALLS:-20000}
export CSMP_TOP=$top

[ "$(id -u)" = 0 ] || { echo "xdp bench needs root" >&2; exit 4; }
command -v trafgen >/dev/null || { echo "xdp bench needs trafgen (netsniff-ng)" >&2; exit 4; }

load=$(cut -d' ' -f1 /proc/loadavg)
tr=$(build/selftests/net/lb_bench "$calls" | jq --argjson l "$load" '. + {load_avg_1m: $l}')

# ---- veth packets/s ----
p="csmpb$$"
pin=/sys/fs/bpf/csmp-bench-$$
tmp=$(mktemp -d)
cleanup() {
	local n
	for n in gen lb sink; do
		ip netns pids "$p-$n" 2>/dev/null | xargs -r kill 2>/dev/null || true
		ip netns del "$p-$n" 2>/dev/null || true
	done
	rm -rf "$pin" "$tmp"
}
trap cleanup EXIT
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
for n in gen lb sink; do ip netns add "$p-$n"; done
ip link add vg0 netns "$p-gen" type veth peer name vl0 netns "$p-lb"
ip link add vl1 netns "$p-lb" type veth peer name vs0 netns "$p-sink"
ip -n "$p-gen" link set vg0 up
ip -n "$p-lb" link set vl0 up
ip -n "$p-lb" link set vl1 up
ip -n "$p-sink" link set vs0 up
ip netns exec "$p-lb" sysctl -qw net.ipv6.conf.all.forwarding=1
ip -n "$p-gen" -6 addr add 2001:db8:a::2/64 dev vg0 nodad
ip -n "$p-lb" -6 addr add 2001:db8:a::1/64 dev vl0 nodad
ip -n "$p-lb" -6 addr add 2001:db8:b::1/64 dev vl1 nodad
ip -n "$p-sink" -6 addr add 2001:db8:b::2/64 dev vs0 nodad
smac=$(ip -n "$p-sink" -j link show vs0 | jq -r '.[0].address')
ip -n "$p-lb" -6 neigh add 2001:db8:b::2 lladdr "$smac" dev vl1 nud permanent
lmac=$(ip -n "$p-lb" -j link show vl0 | jq -r '.[0].address')
gmac=$(ip -n "$p-gen" -j link show vg0 | jq -r '.[0].address')

# The sink counts and drops; the LB's egress peer therefore has XDP too.
mkdir -p "$pin"
bpftool prog loadall build/selftests/progs/csmp_floor.bpf.o "$pin/floor" pinmaps "$pin/maps"
nsenter --net=/run/netns/"$p-sink" bpftool net attach xdpdrv pinned "$pin/floor/xdp_sink" dev vs0
# The generator's veth needs an XDP program for frames the LB sends back.
nsenter --net=/run/netns/"$p-gen" bpftool net attach xdpdrv pinned "$pin/floor/xdp_pass" dev vg0

# One CSMP report (SessionID of backend 1) from the generator to the VIP.
python3 - "$lmac" "$gmac" > "$tmp/report.cfg" <<'EOF'
import socket, struct, sys
dmac = bytes.fromhex(sys.argv[1].replace(':', ''))
smac = bytes.fromhex(sys.argv[2].replace(':', ''))
src = socket.inet_pton(socket.AF_INET6, '2001:db8:a::2')
dst = socket.inet_pton(socket.AF_INET6, '2001:db8:53::1')
sid = b'00017f3a9c01'
tlv = bytes([7, len(sid) + 2, 0x0a, len(sid)]) + sid + bytes([22, 2, 8, 5])
pl = bytes([0x50, 0x02, 0x12, 0x34, 0xb1, ord('c'), 0xff]) + tlv
udp = struct.pack('>HHHH', 46790, 61628, 8 + len(pl), 0) + pl
s = sum(struct.unpack('>16H', src + dst)) + len(udp) + 17
u = udp + (b'\0' if len(udp) % 2 else b'')
s += sum(struct.unpack('>%dH' % (len(u) // 2), u))
while s >> 16:
	s = (s & 0xffff) + (s >> 16)
c = (~s) & 0xffff or 0xffff
udp = udp[:6] + struct.pack('>H', c) + udp[8:]
ip6 = struct.pack('>IHBB', 0x60000000, len(udp), 17, 64) + src + dst
fr = dmac + smac + b'\x86\xdd' + ip6 + udp
print('{ ' + ', '.join('0x%02x' % b for b in fr) + ' }')
EOF

sink_count() {
	bpftool map dump pinned "$pin/maps/csmp_sink_cnt" -j |
		jq '[.[0].formatted.values[].value] | add'
}

# measure LABEL: packets/s at the sink over $secs seconds of trafgen.
measure() {
	local c1 c2
	# trafgen signals its whole process group when it stops: give it its own.
	setsid ip netns exec "$p-gen" trafgen --dev vg0 --conf "$tmp/report.cfg" \
		--cpus 1 >/dev/null 2>&1 &
	local tg=$!
	sleep 1
	c1=$(sink_count)
	sleep "$secs"
	c2=$(sink_count)
	kill -TERM -- "-$tg" 2>/dev/null || kill "$tg" 2>/dev/null || true
	wait "$tg" 2>/dev/null || true
	echo $(( (c2 - c1) / secs ))
}

# Kernel forwarding: the VIP is routed to the sink.
ip -n "$p-lb" -6 route add 2001:db8:53::1/128 via 2001:db8:b::2
kernel_pps=$(measure)
ip -n "$p-lb" -6 route del 2001:db8:53::1/128

# XDP steering: csmp_lb on vl0, one backend: the sink.
st="$tmp/lb.state"
ctl() { nsenter --net=/run/netns/"$p-lb" build/bin/csmpctl lb --state "$st" --pin-dir "$pin/lb" "$@" >/dev/null; }
ctl attach vl0 --vip 2001:db8:53::1 --lb-addr 2001:db8:b::1
ctl backend add 1 2001:db8:b::2
xdp_pps=$(measure)
steered=$(nsenter --net=/run/netns/"$p-lb" build/bin/csmpctl --json lb --state "$st" \
	--pin-dir "$pin/lb" stats --interval 0.1 | jq '.steer_keys.session.packets // 0')
ctl detach

# A window in which the sink saw nothing is a failed measurement (trafgen
# not started, a map not pinned yet), not a figure: refuse it.
if [ "$xdp_pps" -le 0 ] || [ "$kernel_pps" -le 0 ]; then
	echo "xdp bench: the sink counted nothing (xdp $xdp_pps/s, kernel $kernel_pps/s, steered $steered)" >&2
	exit 1
fi
ratio=$(awk -v a="$xdp_pps" -v b="$kernel_pps" 'BEGIN { printf "%.2f", b ? a / b : 0 }')
echo "$tr" | jq --argjson x "$xdp_pps" --argjson k "$kernel_pps" \
	--argjson r "$ratio" --argjson s "$steered" \
	'. + {veth_pps_xdp: $x, veth_pps_kernel: $k,
	      veth_pps_xdp_over_kernel_ratio: $r, veth_xdp_steered_packets: $s}' \
	> "$out/xdp.json"

j() { jq -r ".$1" "$out/xdp.json"; }
cat > "$out/xdp.md" <<EOF
## XDP steering (csmp_lb)

| figure | value |
| --- | --- |
| csmp_lb, agent registration (664-byte frame), ns/packet | $(j lb_ns_per_pkt_registration) |
| csmp_lb, report with session token (95-byte frame), ns/packet | $(j lb_ns_per_pkt_report) |
| csmp_lb, the same report with 24 more TLVs (191-byte frame), ns/packet | $(j lb_ns_per_pkt_report_191) |
| csmp_lb, UDP datagram to another address (passed), ns/packet | $(j lb_ns_per_pkt_not_csmp) |
| csmp_lb with fast_path off (full walk): registration / report, ns/packet | $(j lb_ns_per_pkt_registration_full_walk) / $(j lb_ns_per_pkt_report_full_walk) |
| the same report with bpf_fib_lookup on every packet (fib_cache_ns = 0), ns/packet | $(j lb_ns_per_pkt_report_fib_every_pkt) |
| bpf_fib_lookup, ns/packet (difference of the two) | $(j fib_lookup_ns) |
| minimal parse + XDP_TX, ns/packet | $(j floor_ns_per_pkt) |
| XDP_PASS only (harness overhead), ns/packet | $(j pass_ns_per_pkt) |
| report / minimal, raw ratio | $(j lb_over_floor_ratio) |
| registration / minimal, raw ratio | $(j lb_reg_over_floor_ratio) |
| 191-byte report / 95-byte report | $(j lb_report_191_over_95_ratio) |
| not CSMP (passed) / XDP_PASS only | $(j lb_not_csmp_over_pass_ratio) |
| report, net of XDP_PASS, ns | $(j lb_report_net_ns) |
| registration, net of XDP_PASS, ns | $(j lb_registration_net_ns) |
| load average (1 min) when the run began | $(j load_avg_1m) |
| csmp_lb xlated instructions / JIT bytes / verified | $(j lb_insns) / $(j lb_jited_bytes) / $(j lb_verified_insns) |
| minimal program xlated instructions / JIT bytes | $(j floor_insns) / $(j floor_jited_bytes) |
| veth: packets/s with csmp_lb steering (XDP_REDIRECT) | $(j veth_pps_xdp) |
| veth: packets/s with kernel forwarding | $(j veth_pps_kernel) |
| veth: XDP over kernel | $(j veth_pps_xdp_over_kernel_ratio) |

BPF_PROG_TEST_RUN figures are averages of the kernel's duration over
$(j calls_per_figure) calls with repeat=1 (csmp_lb grows the frame, so a repeat would time
its early exit on its own output), every verdict checked, the four programs interleaved in
five rounds on CPU 0. The registration walks all 30 TLVs of the agent's datagram.
csmp_lb keeps each backend's next hop per CPU for fib_cache_ns (100 ms), so in steady state
a packet does not pay bpf_fib_lookup; a second copy loaded with fib_cache_ns = 0 times the
report with the lookup on every packet, and their difference is the lookup's cost here. The veth
figures come from trafgen on one CPU in a generator namespace through the LB namespace to a
counting XDP sink, $secs s per window; on this 2-vCPU machine the generator and the LB share
the CPUs, so the ratio is the comparable figure.

Reproduce: \`sudo scripts/bench/xdp.sh\` (or \`CSMP_TOP=\$PWD build/selftests/net/lb_bench 20000\`
for the first part alone).
EOF
cat "$out/xdp.json"
