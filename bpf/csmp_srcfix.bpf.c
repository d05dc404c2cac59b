// SPDX-License-Identifier: GPL-2.0-only
/*
 * csmp_srcfix: TC egress on the host of a third-party head-end behind the
 * LB (ARCHITECTURE.md §1). Devices address the VIP, the LB delivers to the
 * head-end, and a head-end that is not csmpd answers from its own address,
 * which a device may not accept and which leaks the head-end's address.
 * For UDP from a configured head-end address (csmp_sf_addrs map key) and one
 * of its CSMP ports, this program rewrites the IPv6 or IPv4 source to the
 * VIP and corrects the checksums incrementally: the UDP checksum through
 * the pseudo header (bpf_l4_csum_replace with BPF_F_PSEUDO_HDR, which also
 * keeps a CHECKSUM_PARTIAL packet right for the device to finish), the
 * IPv4 header checksum with bpf_l3_csum_replace. Everything else leaves
 * untouched: other sources, other ports, other protocols, fragments (the
 * first one alone could be fixed, the rest would not), truncated headers.
 * The verdict is always TC_ACT_OK; counters say what happened. The headers
 * are walked by csmp_lb's walk (lib/csmp_walk.h) over the sk_buff shim.
 */
#include "lib/csmp_common.h"
#include "lib/ctx/skb.h"
#include "lib/csmp_pkt.h"
#include "lib/csmp_walk.h"

#include <linux/pkt_cls.h>

char LICENSE[] SEC("license") = "GPL";

/* Bytes before the network header: 14 on Ethernet and loopback, 0 on L3
 * devices (tunnels). Set by the loader from the device type. */
const volatile __u32 l2_len = ETH_HLEN;

/* Head-end source -> VIP and ports: written by csmpctl srcfix, read here. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CSMP_SRCFIX_MAX);
	__type(key, struct csmp_addr);
	__type(value, struct csmp_srcfix_cfg);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} CSMP_MAP_SRCFIX SEC(".maps");

/* Per reason: CSMP_R_OK = rewritten. Written here, read by csmpctl. */
CSMP_COUNTERS(CSMP_MAP_SF_STATS, CSMP_R__MAX);

static __always_inline int sf_rewrite(struct __sk_buff *skb,
				      const struct csmp_l4 *p,
				      const struct csmp_srcfix_cfg *cfg)
{
	const __u64 l4f = BPF_F_PSEUDO_HDR | BPF_F_MARK_MANGLED_0;
	__u32 csum = p->l4_off + __builtin_offsetof(struct udphdr, check);

	if (p->ipv6) {
		__s64 diff;

		if (csmp_is_v4_mapped(&cfg->vip))
			return -1;
		diff = bpf_csum_diff((__be32 *)p->src.a, 16,
				     (__be32 *)cfg->vip.a, 16, 0);
		if (diff < 0 ||
		    bpf_l4_csum_replace(skb, csum, 0, (__u64)diff, l4f) ||
		    bpf_skb_store_bytes(skb, p->l3_off +
				__builtin_offsetof(struct ipv6hdr, saddr),
				cfg->vip.a, 16, 0))
			return -1;
		return 0;
	}
	{
		__be32 from, to;

		if (!csmp_is_v4_mapped(&cfg->vip))
			return -1;
		__builtin_memcpy(&from, &p->src.a[12], 4);
		__builtin_memcpy(&to, &cfg->vip.a[12], 4);
		if (bpf_l4_csum_replace(skb, csum, from, to, l4f | sizeof(to)) ||
		    bpf_l3_csum_replace(skb, p->l3_off +
				__builtin_offsetof(struct iphdr, check),
				from, to, sizeof(to)) ||
		    bpf_skb_store_bytes(skb, p->l3_off +
				__builtin_offsetof(struct iphdr, saddr),
				&to, sizeof(to), 0))
			return -1;
		return 0;
	}
}

SEC("tc")
int csmp_srcfix(struct __sk_buff *skb)
{
	struct csmp_srcfix_cfg *cfg;
	struct csmp_l4 p = {};
	__u64 bytes = skb->len;
	__u32 reason;

	if (csmp_walk(skb, l2_len, NULL, &p, &reason) != CSMP_W_OK)
		goto out;
	cfg = bpf_map_lookup_elem(&CSMP_MAP_SRCFIX, &p.src);
	if (!cfg || !(p.sport == cfg->port ||
		      (cfg->port_alt && p.sport == cfg->port_alt))) {
		reason = CSMP_R_NOT_CSMP;
		goto out;
	}
	reason = sf_rewrite(skb, &p, cfg) ? CSMP_R_REWRITE : CSMP_R_OK;
out:
	csmp_count(&CSMP_MAP_SF_STATS, reason < CSMP_R__MAX ? reason : 0,
		   bytes);
	return TC_ACT_OK;
}
