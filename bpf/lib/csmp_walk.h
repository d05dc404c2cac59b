/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The one L2-L4 walk of the steering programs, for XDP (csmp_lb) and TC
 * (csmp_srcfix) alike: from Ethernet (at most one VLAN tag; none on an L3
 * device) through IPv6 extension headers or IPv4 options to the UDP
 * header, filling struct csmp_l4 and giving the precise reason when a
 * layer does not parse. It reads the packet only through the context shim
 * (lib/ctx/xdp.h or lib/ctx/skb.h, included first), so XDP reads headers
 * in place and TC copies them, from the same source.
 *
 * What differs between the callers is a parameter, constant at every call
 * site so the compiler keeps only the caller's branch: the L2 length
 * (ETH_HLEN on XDP; 0 or ETH_HLEN on TC, by device type) and the VIP map
 * (XDP passes csmp_vips and passes untouched anything not addressed to a
 * VIP; TC passes NULL: the caller decides what is its own from the
 * addresses). The verdicts are the same for both; on TC a "drop" only
 * means "malformed, not ours to change".
 */
#ifndef CSMP_BPF_WALK_H
#define CSMP_BPF_WALK_H

/* Longest IPv4 option list: a 60-byte header less the fixed 20. */
#define CSMP_V4OPT_MAX		40

/*
 * IPv4 options: EOL ends the list, NOP is one byte, every other option
 * carries a length >= 2 that must fit. Walked by bpf_loop, one option per
 * step over a copy on the caller's stack: a plain loop whose position
 * depends on the bytes read makes the verifier walk every path of every
 * iteration (past its 1M-instruction budget on 6.18), a callback is
 * verified once on any kernel.
 */
struct csmp_v4opt {
	__u8 o[64];		/* 40 used; 64 for the index mask */
	__u32 pos;
	__u32 len;
	__u32 bad;
};

static long csmp_v4opt_step(__u32 idx, void *ctx)
{
	struct csmp_v4opt *v = ctx;
	__u32 pos = v->pos, l;
	__u8 b;

	if (pos >= v->len)
		return 1;
	b = v->o[pos & 63];
	if (b == 0)
		return 1;
	if (b == 1) {
		v->pos = pos + 1;
		return 0;
	}
	if (pos + 1 >= v->len)
		goto bad;
	l = v->o[(pos + 1) & 63];
	if (l < 2 || pos + l > v->len)
		goto bad;
	v->pos = pos + l;
	return 0;
bad:
	v->bad = 1;
	return 1;
}

/* Returns 0 when the `len` bytes of options at `off` are well formed. */
static __always_inline int csmp_v4_options(csmp_ctx_t *ctx, __u32 off,
					   __u32 len)
{
	struct csmp_v4opt v;

	if (len < 1 || len > CSMP_V4OPT_MAX)
		return -1;
	__builtin_memset(&v, 0, sizeof(v));
	if (csmp_ctx_load(ctx, off, v.o, len))
		return -1;
	v.len = len;
	bpf_loop(CSMP_V4OPT_MAX, csmp_v4opt_step, &v, 0);
	return v.bad ? -1 : 0;
}

/*
 * Walk `ctx` to its UDP header. l2_len: bytes before the network header
 * (ETH_HLEN, or 0 for a packet that starts at IP). vips: NULL, or the map
 * of addresses this walk is for. Returns CSMP_W_OK with p filled in, or
 * CSMP_W_PASS / CSMP_W_DROP with *reason set:
 *  - a layer too short to tell, or not addressed to a VIP: pass;
 *  - addressed to a VIP (or no VIP map): fragments and non-UDP pass, a
 *    broken IP header, extension-header chain or IPv4 option list drops.
 * The UDP length is judged by the caller once the ports say it is CSMP.
 */
static __always_inline int csmp_walk(csmp_ctx_t *ctx, __u32 l2_len,
				     void *vips, struct csmp_l4 *p,
				     __u32 *reason)
{
	const struct udphdr *udp;
	struct udphdr udp_buf;
	__u32 off = l2_len, i;
	__u16 proto;
	__u8 nh;

	p->vlan = 0;
	if (l2_len) {
		const __u16 *tp, *tag;
		__u16 tp_buf, tag_buf[2];

		if (csmp_ctx_hdr(ctx, l2_len - 2, 2, &tp_buf, (const void **)&tp))
			goto l2_trunc;
		proto = *tp;
		if (proto == bpf_htons(ETH_P_8021Q) ||
		    proto == bpf_htons(ETH_P_8021AD)) {
			if (csmp_ctx_hdr(ctx, off, 4, tag_buf,
					 (const void **)&tag))
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
	} else {
		proto = csmp_ctx_l3_proto(ctx);
	}
	p->l2_len = off;
	p->l3_off = off;

	if (proto == bpf_htons(ETH_P_IPV6)) {
		const struct ipv6hdr *ip6;
		struct ipv6hdr ip6_buf;

		if (csmp_ctx_hdr(ctx, off, sizeof(*ip6), &ip6_buf,
				 (const void **)&ip6))
			goto l3_trunc_pass;
		__builtin_memcpy(p->dst.a, &ip6->daddr, 16);
		if (vips && !bpf_map_lookup_elem(vips, &p->dst))
			goto not_csmp;
		__builtin_memcpy(p->src.a, &ip6->saddr, 16);
		p->ipv6 = 1;
		p->ip_len = sizeof(*ip6) + csmp_be16(&ip6->payload_len);
		if (ip6->version != 6 || off + p->ip_len > csmp_ctx_len(ctx)) {
			*reason = CSMP_R_L3_TRUNC;
			return CSMP_W_DROP;
		}
		nh = ip6->nexthdr;
		off += sizeof(*ip6);
#pragma unroll
		for (i = 0; i < CSMP_MAX_EXTHDRS; i++) {
			const __u8 *eh;
			__u8 eh_buf[2];

			if (nh != IPPROTO_HOPOPTS && nh != IPPROTO_ROUTING &&
			    nh != IPPROTO_DSTOPTS && nh != IPPROTO_FRAGMENT)
				break;
			if (nh == IPPROTO_FRAGMENT)
				goto fragment;
			if (csmp_ctx_hdr(ctx, off, 2, eh_buf,
					 (const void **)&eh))
				goto bad_exthdr;
			nh = eh[0];
			off += ((__u32)eh[1] + 1) * 8;
			if (off > p->l3_off + p->ip_len)
				goto bad_exthdr;
		}
		if (nh == IPPROTO_FRAGMENT)
			goto fragment;
		if (nh == IPPROTO_HOPOPTS || nh == IPPROTO_ROUTING ||
		    nh == IPPROTO_DSTOPTS) {
			/* More than we walk: the stack decides. */
			*reason = CSMP_R_IPV6_EXTHDR;
			return CSMP_W_PASS;
		}
		p->l4proto = nh;
	} else if (proto == bpf_htons(ETH_P_IP)) {
		const struct iphdr *ip;
		struct iphdr ip_buf;
		__u32 ihl, tot;

		if (csmp_ctx_hdr(ctx, off, sizeof(*ip), &ip_buf,
				 (const void **)&ip))
			goto l3_trunc_pass;
		csmp_v4_mapped(&p->dst, ip->daddr);
		if (vips && !bpf_map_lookup_elem(vips, &p->dst))
			goto not_csmp;
		csmp_v4_mapped(&p->src, ip->saddr);
		p->ipv6 = 0;
		ihl = (__u32)ip->ihl * 4;
		tot = csmp_be16(&ip->tot_len);
		if (ip->version != 4 || ihl < sizeof(*ip) || tot < ihl ||
		    off + tot > csmp_ctx_len(ctx)) {
			*reason = CSMP_R_L3_TRUNC;
			return CSMP_W_DROP;
		}
		p->ip_len = tot;
		if (ip->frag_off & bpf_htons(0x3fff))
			goto fragment;
		p->l4proto = ip->protocol;
		if (ihl > sizeof(*ip) &&
		    csmp_v4_options(ctx, off + sizeof(*ip), ihl - sizeof(*ip))) {
			*reason = CSMP_R_IPV4_OPTIONS;
			return CSMP_W_DROP;
		}
		off += ihl;
	} else {
		goto not_csmp;
	}

	if (p->l4proto != IPPROTO_UDP)
		goto not_csmp;
	p->l4_off = off;
	if (off + sizeof(*udp) > p->l3_off + p->ip_len ||
	    csmp_ctx_hdr(ctx, off, sizeof(*udp), &udp_buf,
			 (const void **)&udp)) {
		/* Cannot see the ports: not known to be CSMP. */
		*reason = CSMP_R_UDP_TRUNC;
		return CSMP_W_PASS;
	}
	p->sport = bpf_ntohs(udp->source);
	p->dport = bpf_ntohs(udp->dest);
	p->udp_len = bpf_ntohs(udp->len);
	*reason = CSMP_R_OK;
	return CSMP_W_OK;

l2_trunc:
	*reason = CSMP_R_L2_TRUNC;
	return CSMP_W_PASS;
l3_trunc_pass:
	*reason = CSMP_R_L3_TRUNC;
	return CSMP_W_PASS;
not_csmp:
	*reason = CSMP_R_NOT_CSMP;
	return CSMP_W_PASS;
fragment:
	*reason = CSMP_R_FRAGMENT;
	return CSMP_W_PASS;
bad_exthdr:
	*reason = CSMP_R_IPV6_EXTHDR;
	return CSMP_W_DROP;
}

/* After the ports matched: the UDP length must agree with the IP layer. */
static __always_inline int csmp_udp_len_ok(const struct csmp_l4 *p)
{
	return p->udp_len >= sizeof(struct udphdr) &&
	       p->l4_off + p->udp_len == p->l3_off + p->ip_len;
}

#endif /* CSMP_BPF_WALK_H */
