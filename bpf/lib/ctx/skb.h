/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The packet context shim for TC (struct __sk_buff); see ctx/xdp.h for
 * the contract. Headers are copied with bpf_skb_load_bytes: an egress
 * packet need not be linear, and the offsets stay plain scalars for the
 * rewrite helpers that follow the walk.
 */
#ifndef CSMP_BPF_CTX_SKB_H
#define CSMP_BPF_CTX_SKB_H

typedef struct __sk_buff csmp_ctx_t;

static __always_inline __u32 csmp_ctx_len(const csmp_ctx_t *ctx)
{
	return ctx->len;
}

/* On an L3 device (a tunnel) the packet starts at the IP header. */
static __always_inline __u16 csmp_ctx_l3_proto(const csmp_ctx_t *ctx)
{
	return (__u16)ctx->protocol;
}

static __always_inline int csmp_ctx_hdr(csmp_ctx_t *ctx, __u32 off,
					__u32 len, void *buf, const void **hdr)
{
	if (bpf_skb_load_bytes(ctx, off, buf, len))
		return -1;
	*hdr = buf;
	return 0;
}

static __always_inline int csmp_ctx_load(csmp_ctx_t *ctx, __u32 off,
					 void *buf, __u32 len)
{
	return bpf_skb_load_bytes(ctx, off, buf, len);
}

#endif /* CSMP_BPF_CTX_SKB_H */
