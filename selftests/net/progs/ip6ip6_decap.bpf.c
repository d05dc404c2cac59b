// SPDX-License-Identifier: GPL-2.0-only
/*
 * Test helper for the head-ends of selftests/net/lb_e2e.sh on kernels built
 * without ip6tnl (CONFIG_IPV6_TUNNEL) and without seg6local
 * (CONFIG_IPV6_SEG6_LWTUNNEL), as the development host's is: a TC ingress
 * program that strips the outer IPv6 header of an ip6ip6 frame (next header
 * 41, no extension headers, as csmp_lb builds it) so the stack routes the
 * inner datagram to the VIP on lo. It is what ip6tnl would do for the
 * tunnel endpoint; nothing of csmpd depends on it.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

SEC("tc")
int ip6ip6_decap(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct ipv6hdr *outer = (void *)(eth + 1);
	struct ipv6hdr *inner = outer + 1;

	if ((void *)(inner + 1) > end)
		return TC_ACT_OK;
	if (eth->h_proto != bpf_htons(ETH_P_IPV6) ||
	    outer->nexthdr != IPPROTO_IPV6 || (inner->version) != 6)
		return TC_ACT_OK;
	/* Remove the 40 bytes between the MAC header and the inner header. */
	if (bpf_skb_adjust_room(skb, -(__s32)sizeof(*outer), BPF_ADJ_ROOM_MAC,
				0))
		return TC_ACT_SHOT;
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
