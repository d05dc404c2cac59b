// SPDX-License-Identifier: GPL-2.0-only
/*
 * The vm suite's own BPF programs: thin callers of csmp.ko's kfuncs, so the
 * guest test (csmp_vmtest.c) can compare what the kfuncs return, from XDP
 * and from TC, with csmp_classify()/csmp_eid_siphash() compiled into the
 * test binary itself. vt_count is the program the pktgen test attaches to a
 * veth: it counts every frame by what the kfunc made of it.
 *
 * Test input frames are 14 bytes of (ignored) Ethernet header followed by
 * the UDP payload, because BPF_PROG_TEST_RUN wants at least ETH_HLEN bytes.
 */
#include <linux/bpf.h>
#include <linux/errno.h>
#include <linux/types.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/in.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "csmp/classify.h"
#include "csmp/kfuncs.h"
#include "vmtest.h"

CSMP_KFUNC_DECLS

/* One result per test run; written by the programs, read by csmp_vmtest. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct vt_result);
} VT_MAP_RESULT SEC(".maps");

/* Scratch copy of the payload: the kfunc takes memory, not packet. */
struct vt_buf {
	__u8 b[VT_MAX_PAYLOAD];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct vt_buf);
} VT_MAP_BUF SEC(".maps");

/* vt_count's per-CPU counters, indexed by enum vt_counter. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, VT_C__MAX);
	__type(key, __u32);
	__type(value, __u64);
} VT_MAP_COUNT SEC(".maps");

/*
 * Copy len bytes (0..VT_MAX_PAYLOAD) at off into buf. The 6.1 verifier does
 * not learn len >= 1 from len != 0, and the helpers refuse a size that may
 * be 0: hand them n + 1 with n proven below VT_MAX_PAYLOAD by one unsigned
 * compare, n hidden from the compiler so it cannot fold n + 1 back to len.
 */
#define VT_COPY(load, ctx, off, buf, len)					\
	({									\
		int __err = 0;							\
		if (len) {							\
			__u64 __n = (len) - 1;					\
			asm volatile("" : "+r"(__n));				\
			if (__n >= VT_MAX_PAYLOAD)				\
				__err = -1;					\
			else							\
				__err = load(ctx, off, (buf)->b, __n + 1);	\
		}								\
		__err;								\
	})

static __always_inline int vt_classify(struct vt_buf *buf, __u64 len,
				       struct vt_result *res)
{
	struct csmp_class c = {};

	res->ret = bpf_csmp_classify(buf->b, len, &c);
	res->len = len;
	res->c = c;
	res->runs++;
	return 0;
}

SEC("xdp")
int vt_xdp_classify(struct xdp_md *ctx)
{
	__u64 len = (__u64)ctx->data_end - (__u64)ctx->data;
	struct vt_result *res;
	__u32 zero = 0;
	struct vt_buf *buf;

	res = bpf_map_lookup_elem(&VT_MAP_RESULT, &zero);
	buf = bpf_map_lookup_elem(&VT_MAP_BUF, &zero);
	if (!res || !buf || len < ETH_HLEN)
		return XDP_ABORTED;
	len -= ETH_HLEN;
	if (len > VT_MAX_PAYLOAD)
		return XDP_ABORTED;
	if (VT_COPY(bpf_xdp_load_bytes, ctx, ETH_HLEN, buf, len))
		return XDP_ABORTED;
	vt_classify(buf, len, res);
	return XDP_PASS;
}

SEC("tc")
int vt_tc_classify(struct __sk_buff *skb)
{
	__u64 len = skb->len;
	struct vt_result *res;
	__u32 zero = 0;
	struct vt_buf *buf;

	res = bpf_map_lookup_elem(&VT_MAP_RESULT, &zero);
	buf = bpf_map_lookup_elem(&VT_MAP_BUF, &zero);
	if (!res || !buf || len < ETH_HLEN)
		return 2; /* TC_ACT_SHOT */
	len -= ETH_HLEN;
	if (len > VT_MAX_PAYLOAD)
		return 2;
	if (VT_COPY(bpf_skb_load_bytes, skb, ETH_HLEN, buf, len))
		return 2;
	vt_classify(buf, len, res);
	return 0; /* TC_ACT_OK */
}

/* The EID is the 8 bytes after the Ethernet header, host order. */
SEC("xdp")
int vt_xdp_hash(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct vt_result *res;
	__u32 zero = 0;
	__u64 eid;

	res = bpf_map_lookup_elem(&VT_MAP_RESULT, &zero);
	if (!res || data + ETH_HLEN + sizeof(eid) > end)
		return XDP_ABORTED;
	__builtin_memcpy(&eid, data + ETH_HLEN, sizeof(eid));
	res->hash = bpf_csmp_eid_hash(eid);
	res->runs++;
	return XDP_PASS;
}

static __always_inline void vt_bump(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&VT_MAP_COUNT, &idx);

	if (v)
		*v += 1;
}

/*
 * Real frames (pktgen on a veth): Ethernet, IPv4 or IPv6 without extension
 * headers, UDP. CSMP ports go through the kfunc; malformed CSMP is dropped,
 * everything else passes, as csmp_lb does in local mode.
 */
SEC("xdp")
int vt_count(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct csmp_class c = {};
	struct udphdr *udp;
	struct vt_buf *buf;
	__u32 zero = 0, off;
	__u64 len;
	__u8 proto;

	if ((void *)(eth + 1) > end)
		return XDP_PASS;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);

		if ((void *)(ip + 1) > end || ip->ihl != 5)
			goto not_csmp;
		proto = ip->protocol;
		off = sizeof(*eth) + sizeof(*ip);
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		if ((void *)(ip6 + 1) > end)
			goto not_csmp;
		proto = ip6->nexthdr;
		off = sizeof(*eth) + sizeof(*ip6);
	} else {
		goto not_csmp;
	}
	if (proto != IPPROTO_UDP)
		goto not_csmp;
	udp = data + off;
	if ((void *)(udp + 1) > end)
		goto not_csmp;
	if (udp->dest != bpf_htons(CSMP_PORT) &&
	    udp->dest != bpf_htons(CSMP_PORT_ALT))
		goto not_csmp;
	off += sizeof(*udp);
	len = (__u64)(end - data);
	if (len < off)
		goto not_csmp;
	len -= off;
	if (len > VT_MAX_PAYLOAD)
		len = VT_MAX_PAYLOAD;
	buf = bpf_map_lookup_elem(&VT_MAP_BUF, &zero);
	if (!buf)
		return XDP_ABORTED;
	if (VT_COPY(bpf_xdp_load_bytes, ctx, off, buf, len))
		return XDP_ABORTED;
	bpf_csmp_classify(buf->b, len, &c);
	if (c.msg_class == CSMP_C_MALFORMED) {
		vt_bump(c.reason == CSMP_R_COAP_VERSION ? VT_C_BAD_VERSION :
							  VT_C_MALFORMED);
		return XDP_DROP;
	}
	vt_bump(VT_C_CSMP);
	return XDP_PASS;
not_csmp:
	vt_bump(VT_C_NOT_CSMP);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
