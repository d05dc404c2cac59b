// SPDX-License-Identifier: GPL-2.0-only
/*
 * Reference programs for `make bench` (scripts/bench/xdp.sh), not for
 * production: xdp_pass returns XDP_PASS (the harness overhead),
 * xdp_floor parses Ethernet -> IPv6 -> UDP, swaps the MAC addresses and
 * returns XDP_TX (the least an LB can do per packet), and xdp_sink counts
 * and drops (the receiver of the veth packets/s measurement). It lives
 * under selftests/ so that `make install` never ships it.
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

char LICENSE[] SEC("license") = "GPL";

/* Packets seen by xdp_sink (per CPU); read by the bench script. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} csmp_sink_cnt SEC(".maps");

SEC("xdp")
int xdp_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

SEC("xdp")
int xdp_floor(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct ipv6hdr *ip6 = (void *)(eth + 1);
	struct udphdr *udp = (void *)(ip6 + 1);
	unsigned char tmp[ETH_ALEN];

	if ((void *)(udp + 1) > data_end)
		return XDP_PASS;
	if (eth->h_proto != bpf_htons(ETH_P_IPV6) || ip6->nexthdr != IPPROTO_UDP)
		return XDP_PASS;
	__builtin_memcpy(tmp, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, tmp, ETH_ALEN);
	return XDP_TX;
}

SEC("xdp")
int xdp_sink(struct xdp_md *ctx)
{
	__u32 zero = 0;
	__u64 *c = bpf_map_lookup_elem(&csmp_sink_cnt, &zero);

	if (c)
		(*c)++;
	return XDP_DROP;
}
