/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The sk_buff (TC) form of lib/csmp_pkt.h's csmp_walk: the same layers
 * (Ethernet with at most one VLAN tag, or none on an L3 device; IPv6 with a
 * bounded walk over extension headers, or IPv4 with options) to the UDP
 * header, filling the same struct csmp_l4 and giving the same reasons. It
 * differs where TC differs from XDP: headers are read with
 * bpf_skb_load_bytes (an egress packet need not be linear, and offsets stay
 * scalars for the rewrite helpers that follow), the L2 length comes from
 * the caller (the device type, known to the loader), and nothing is looked
 * up: the caller decides what is ours from the addresses.
 */
#ifndef CSMP_BPF_SKB_H
#define CSMP_BPF_SKB_H

/*
 * Walk skb to its UDP header. Returns CSMP_W_OK with p filled, or
 * CSMP_W_PASS with *reason set (never CSMP_W_DROP: on egress a packet we
 * cannot read is simply not ours to change).
 */
static __always_inline int csmp_skb_walk(struct __sk_buff *skb, __u32 l2_len,
					 struct csmp_l4 *p, __u32 *reason)
{
	__u16 proto = (__u16)skb->protocol;
	struct udphdr uh;
	__u32 off = 0, i;
	__u8 nh;

	p->vlan = 0;
	if (l2_len) {
		if (bpf_skb_load_bytes(skb, 12, &proto, 2))
			goto l2_trunc;
		off = l2_len;
		if (proto == bpf_htons(ETH_P_8021Q) ||
		    proto == bpf_htons(ETH_P_8021AD)) {
			__u16 tag[2];

			if (bpf_skb_load_bytes(skb, off, tag, 4))
				goto l2_trunc;
			p->vlan = 1;
			p->vlan_proto = proto;
			p->vlan_tci = tag[0];
			proto = tag[1];
			off += 4;
			if (proto == bpf_htons(ETH_P_8021Q) ||
			    proto == bpf_htons(ETH_P_8021AD)) {
				*reason = CSMP_R_VLAN;
				return CSMP_W_PASS;
			}
		}
	}
	p->l2_len = off;
	p->l3_off = off;

	if (proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr ip6;

		if (bpf_skb_load_bytes(skb, off, &ip6, sizeof(ip6)) ||
		    ip6.version != 6)
			goto l3_trunc;
		__builtin_memcpy(p->src.a, &ip6.saddr, 16);
		__builtin_memcpy(p->dst.a, &ip6.daddr, 16);
		p->ipv6 = 1;
		p->ip_len = sizeof(ip6) + bpf_ntohs(ip6.payload_len);
		if (off + p->ip_len > skb->len)
			goto l3_trunc;
		nh = ip6.nexthdr;
		off += sizeof(ip6);
#pragma unroll
		for (i = 0; i < CSMP_MAX_EXTHDRS; i++) {
			__u8 eh[2];

			if (nh != IPPROTO_HOPOPTS && nh != IPPROTO_ROUTING &&
			    nh != IPPROTO_DSTOPTS && nh != IPPROTO_FRAGMENT)
				break;
			if (nh == IPPROTO_FRAGMENT) {
				*reason = CSMP_R_FRAGMENT;
				return CSMP_W_PASS;
			}
			if (bpf_skb_load_bytes(skb, off, eh, 2)) {
				*reason = CSMP_R_IPV6_EXTHDR;
				return CSMP_W_PASS;
			}
			nh = eh[0];
			off += ((__u32)eh[1] + 1) * 8;
			if (off > p->l3_off + p->ip_len) {
				*reason = CSMP_R_IPV6_EXTHDR;
				return CSMP_W_PASS;
			}
		}
		if (nh == IPPROTO_HOPOPTS || nh == IPPROTO_ROUTING ||
		    nh == IPPROTO_DSTOPTS || nh == IPPROTO_FRAGMENT) {
			*reason = nh == IPPROTO_FRAGMENT ? CSMP_R_FRAGMENT :
							   CSMP_R_IPV6_EXTHDR;
			return CSMP_W_PASS;
		}
		p->l4proto = nh;
	} else if (proto == bpf_htons(ETH_P_IP)) {
		struct iphdr ip;
		__u32 ihl;

		if (bpf_skb_load_bytes(skb, off, &ip, sizeof(ip)))
			goto l3_trunc;
		ihl = (__u32)ip.ihl * 4;
		p->ip_len = bpf_ntohs(ip.tot_len);
		if (ip.version != 4 || ihl < sizeof(ip) || p->ip_len < ihl ||
		    off + p->ip_len > skb->len)
			goto l3_trunc;
		csmp_v4_mapped(&p->src, ip.saddr);
		csmp_v4_mapped(&p->dst, ip.daddr);
		p->ipv6 = 0;
		if (ip.frag_off & bpf_htons(0x3fff)) {
			*reason = CSMP_R_FRAGMENT;
			return CSMP_W_PASS;
		}
		off += ihl;
		p->l4proto = ip.protocol;
	} else {
		*reason = CSMP_R_NOT_CSMP;
		return CSMP_W_PASS;
	}

	if (p->l4proto != IPPROTO_UDP) {
		*reason = CSMP_R_NOT_CSMP;
		return CSMP_W_PASS;
	}
	p->l4_off = off;
	if (off + sizeof(uh) > p->l3_off + p->ip_len ||
	    bpf_skb_load_bytes(skb, off, &uh, sizeof(uh))) {
		*reason = CSMP_R_UDP_TRUNC;
		return CSMP_W_PASS;
	}
	p->sport = bpf_ntohs(uh.source);
	p->dport = bpf_ntohs(uh.dest);
	p->udp_len = bpf_ntohs(uh.len);
	*reason = CSMP_R_OK;
	return CSMP_W_OK;

l2_trunc:
	*reason = CSMP_R_L2_TRUNC;
	return CSMP_W_PASS;
l3_trunc:
	*reason = CSMP_R_L3_TRUNC;
	return CSMP_W_PASS;
}

#endif /* CSMP_BPF_SKB_H */
