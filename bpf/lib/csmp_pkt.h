/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Packet-layer helpers for the steering programs: the bounded walk from
 * Ethernet (one VLAN tag) through IPv6 extension headers or IPv4 options to
 * UDP, with the precise reason when a layer does not parse, and the small
 * utilities (counters, address keys) the programs share. Header-only,
 * everything __always_inline.
 */
#ifndef CSMP_BPF_PKT_H
#define CSMP_BPF_PKT_H

#ifndef AF_INET
#define AF_INET		2
#endif
#ifndef AF_INET6
#define AF_INET6	10
#endif
#ifndef ETH_P_8021AD
#define ETH_P_8021AD	0x88A8
#endif

/* Extension headers walked before giving up (hop-by-hop, routing, dest). */
#define CSMP_MAX_EXTHDRS	4

/* Result of the L2-L4 walk. */
struct csmp_l4 {
	struct csmp_addr src;	/* IPv6, or IPv4 mapped */
	struct csmp_addr dst;
	__u32 l2_len;		/* Ethernet + VLAN */
	__u32 l3_off;		/* = l2_len */
	__u32 l4_off;		/* UDP header */
	__u32 ip_len;		/* inner IP packet length (header + payload) */
	__u16 sport;		/* host order */
	__u16 dport;
	__u16 udp_len;		/* host order, validated */
	__u8 ipv6;		/* 1: IPv6, 0: IPv4 */
	__u8 l4proto;
	__u8 vlan;		/* one tag present */
	__u8 pad[3];
	__u16 vlan_tci;		/* network order, when vlan */
	__u16 vlan_proto;	/* network order */
};

/* Verdicts of the walk, before the payload is looked at. */
enum csmp_walk {
	CSMP_W_OK	= 0,	/* UDP datagram, ports still to be checked */
	CSMP_W_PASS	= 1,	/* not ours: pass untouched, reason set */
	CSMP_W_DROP	= 2,	/* ours and malformed: drop, reason set */
};

static __always_inline void csmp_count(void *map, __u32 idx, __u64 bytes)
{
	struct csmp_count *c = bpf_map_lookup_elem(map, &idx);

	if (c) {
		c->packets++;
		c->bytes += bytes;
	}
}

/*
 * A big-endian 16-bit packet field as a bounded scalar, for lengths added
 * to packet pointers. The 6.1 and 6.12 verifiers forget all bounds across
 * a byte swap (and 6.1 across the OR of two byte loads), and the compiler
 * drops a C mask it can prove redundant: the mask is therefore an
 * instruction of its own, which every verifier bounds.
 */
static __always_inline __u32 csmp_be16(const void *field)
{
	__u32 v = bpf_ntohs(*(const __u16 *)field);

	asm volatile("%[v] &= 0xffff" : [v] "+r"(v));
	return v;
}

static __always_inline void csmp_v4_mapped(struct csmp_addr *a, __be32 v4)
{
	__builtin_memset(a, 0, sizeof(*a));
	a->a[10] = 0xff;
	a->a[11] = 0xff;
	__builtin_memcpy(&a->a[12], &v4, 4);
}

static __always_inline int csmp_is_v4_mapped(const struct csmp_addr *a)
{
	const __u32 *w = (const __u32 *)a->a;

	return w[0] == 0 && w[1] == 0 && w[2] == bpf_htonl(0xffff);
}

/*
 * IPv4 options (at most 40 bytes), copied to the scratch buffer and walked
 * by bpf_loop for the same reason as the CoAP walk (lib/csmp_parse.h):
 * EOL ends the list, NOP is one byte, every other option carries a length
 * >= 2 that must fit. Returns 0 when the list is well formed.
 */
static long csmp_v4opt_step(__u32 idx, void *ctx)
{
	__u32 zero = 0, pos, l;
	struct csmp_scratch *s = bpf_map_lookup_elem(&CSMP_MAP_SCRATCH, &zero);
	__u8 b;

	if (!s)
		return 1;
	pos = s->st.pos;
	if (pos >= s->st.len)
		return 1;
	b = csmp_rd(s, pos);
	if (b == 0)
		return 1;
	if (b == 1) {
		s->st.pos = pos + 1;
		return 0;
	}
	if (pos + 1 >= s->st.len)
		goto bad;
	l = csmp_rd(s, pos + 1);
	if (l < 2 || pos + l > s->st.len)
		goto bad;
	s->st.pos = pos + l;
	return 0;
bad:
	s->st.phase = 1;
	return 1;
}

static __always_inline int csmp_v4_options(struct xdp_md *ctx, __u32 off,
					   __u32 len)
{
	__u32 zero = 0;
	struct csmp_scratch *s = bpf_map_lookup_elem(&CSMP_MAP_SCRATCH, &zero);

	if (!s || len > 40 || len < 1)
		return -1;
	if (bpf_xdp_load_bytes(ctx, off, s->buf, len))
		return -1;
	s->st.pos = 0;
	s->st.len = len;
	s->st.phase = 0;
	bpf_loop(40, csmp_v4opt_step, NULL, 0);
	return s->st.phase ? -1 : 0;
}

/*
 * Walk from the Ethernet header to the UDP header of a datagram addressed
 * to one of `vips`. Anything not addressed to a VIP passes untouched
 * (CSMP_R_NOT_CSMP or the layer that was too short to tell). Addressed to
 * a VIP: fragments pass (CSMP_R_FRAGMENT), non-UDP passes, and a broken
 * IP header, extension-header chain or IPv4 option list is dropped (the
 * UDP length is judged by the caller once the ports say it is CSMP).
 */
static __always_inline int csmp_walk(struct xdp_md *ctx, void *data,
				     void *data_end, void *vips,
				     struct csmp_l4 *p, __u32 *reason)
{
	struct ethhdr *eth = data;
	struct udphdr *udp;
	__u16 proto;
	__u32 off;

	if ((void *)(eth + 1) > data_end) {
		*reason = CSMP_R_L2_TRUNC;
		return CSMP_W_PASS;
	}
	off = sizeof(*eth);
	proto = eth->h_proto;
	p->vlan = 0;
	if (proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD)) {
		__u16 *tag = data + off;

		if ((void *)(tag + 2) > data_end) {
			*reason = CSMP_R_L2_TRUNC;
			return CSMP_W_PASS;
		}
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
	p->l2_len = off;
	p->l3_off = off;

	if (proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = data + off;
		__u32 i, plen, nh;

		if ((void *)(ip6 + 1) > data_end) {
			*reason = CSMP_R_L3_TRUNC;
			return CSMP_W_PASS;
		}
		__builtin_memcpy(p->dst.a, &ip6->daddr, 16);
		if (!bpf_map_lookup_elem(vips, &p->dst)) {
			*reason = CSMP_R_NOT_CSMP;
			return CSMP_W_PASS;
		}
		__builtin_memcpy(p->src.a, &ip6->saddr, 16);
		p->ipv6 = 1;
		plen = csmp_be16(&ip6->payload_len);
		p->ip_len = sizeof(*ip6) + plen;
		if (data + off + p->ip_len > data_end) {
			*reason = CSMP_R_L3_TRUNC;
			return CSMP_W_DROP;
		}
		nh = ip6->nexthdr;
		off += sizeof(*ip6);
#pragma unroll
		for (i = 0; i < CSMP_MAX_EXTHDRS; i++) {
			__u8 *eh = data + off;

			if (nh != IPPROTO_HOPOPTS && nh != IPPROTO_ROUTING &&
			    nh != IPPROTO_DSTOPTS && nh != IPPROTO_FRAGMENT)
				break;
			if (nh == IPPROTO_FRAGMENT) {
				*reason = CSMP_R_FRAGMENT;
				return CSMP_W_PASS;
			}
			if ((void *)(eh + 2) > data_end) {
				*reason = CSMP_R_IPV6_EXTHDR;
				return CSMP_W_DROP;
			}
			nh = eh[0];
			off += ((__u32)eh[1] + 1) * 8;
			if (off > p->l3_off + p->ip_len) {
				*reason = CSMP_R_IPV6_EXTHDR;
				return CSMP_W_DROP;
			}
		}
		if (nh == IPPROTO_HOPOPTS || nh == IPPROTO_ROUTING ||
		    nh == IPPROTO_DSTOPTS || nh == IPPROTO_FRAGMENT) {
			/* More than we walk: the stack decides. */
			*reason = nh == IPPROTO_FRAGMENT ? CSMP_R_FRAGMENT :
							   CSMP_R_IPV6_EXTHDR;
			return CSMP_W_PASS;
		}
		p->l4proto = (__u8)nh;
	} else if (proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = data + off;
		__u32 ihl, tot;

		if ((void *)(ip + 1) > data_end) {
			*reason = CSMP_R_L3_TRUNC;
			return CSMP_W_PASS;
		}
		csmp_v4_mapped(&p->dst, ip->daddr);
		if (!bpf_map_lookup_elem(vips, &p->dst)) {
			*reason = CSMP_R_NOT_CSMP;
			return CSMP_W_PASS;
		}
		csmp_v4_mapped(&p->src, ip->saddr);
		p->ipv6 = 0;
		ihl = (__u32)ip->ihl * 4;
		tot = csmp_be16(&ip->tot_len);
		if (ip->version != 4 || ihl < sizeof(*ip) || tot < ihl ||
		    data + off + tot > data_end) {
			*reason = CSMP_R_L3_TRUNC;
			return CSMP_W_DROP;
		}
		p->ip_len = tot;
		if (ip->frag_off & bpf_htons(0x3fff)) {
			*reason = CSMP_R_FRAGMENT;
			return CSMP_W_PASS;
		}
		if (ihl > sizeof(*ip) && csmp_v4_options(ctx, off + sizeof(*ip),
							 ihl - sizeof(*ip))) {
			*reason = CSMP_R_IPV4_OPTIONS;
			return CSMP_W_DROP;
		}
		off += ihl;
		p->l4proto = ip->protocol;
	} else {
		*reason = CSMP_R_NOT_CSMP;
		return CSMP_W_PASS;
	}

	if (p->l4proto != IPPROTO_UDP) {
		*reason = CSMP_R_NOT_CSMP;
		return CSMP_W_PASS;
	}
	p->l4_off = off;
	udp = data + off;
	if ((void *)(udp + 1) > data_end) {
		/* Cannot see the ports: not known to be CSMP. */
		*reason = CSMP_R_UDP_TRUNC;
		return CSMP_W_PASS;
	}
	p->sport = bpf_ntohs(udp->source);
	p->dport = bpf_ntohs(udp->dest);
	p->udp_len = bpf_ntohs(udp->len);
	*reason = CSMP_R_OK;
	return CSMP_W_OK;
}

/* After the ports matched: the UDP length must agree with the IP layer. */
static __always_inline int csmp_udp_len_ok(const struct csmp_l4 *p)
{
	return p->udp_len >= sizeof(struct udphdr) &&
	       p->l4_off + p->udp_len == p->l3_off + p->ip_len;
}

#endif /* CSMP_BPF_PKT_H */
