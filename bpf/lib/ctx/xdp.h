/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The packet context shim for XDP (cilium's bpf/include/bpf/ctx/xdp.h
 * idea): the few operations lib/csmp_walk.h needs from a packet, here on a
 * struct xdp_md. A program includes exactly one ctx/ header, before the
 * walker; ctx/skb.h gives the same operations on a struct __sk_buff.
 *
 * XDP reads headers in place: csmp_ctx_hdr() returns a pointer into the
 * frame after the bounds check the verifier needs, and never touches the
 * caller's buffer, which the compiler then drops.
 */
#ifndef CSMP_BPF_CTX_XDP_H
#define CSMP_BPF_CTX_XDP_H

typedef struct xdp_md csmp_ctx_t;

/* The whole frame's length. */
static __always_inline __u32 csmp_ctx_len(const csmp_ctx_t *ctx)
{
	return ctx->data_end - ctx->data;
}

/* The L3 protocol when there is no L2 header: never on XDP. */
static __always_inline __u16 csmp_ctx_l3_proto(const csmp_ctx_t *ctx)
{
	return 0;
}

/*
 * *hdr = the `len` (a constant) bytes at `off`; -1 past the end. `buf` is
 * the copy a context without direct access makes: unused here. The
 * pointer comes back through *hdr, not as a return value that may be
 * NULL: the compiler then never merges "NULL" and "the buffer" into one
 * register, which the 6.1 verifier cannot follow.
 */
static __always_inline int csmp_ctx_hdr(csmp_ctx_t *ctx, __u32 off,
					__u32 len, void *buf, const void **hdr)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	void *p = data + off;

	if (p + len > end)
		return -1;
	*hdr = p;
	return 0;
}

/* Copy 1..`len` bytes (a bounded variable) at `off` into `buf`. */
static __always_inline int csmp_ctx_load(csmp_ctx_t *ctx, __u32 off,
					 void *buf, __u32 len)
{
	return bpf_xdp_load_bytes(ctx, off, buf, len);
}

#endif /* CSMP_BPF_CTX_XDP_H */
