/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Packet-layer definitions every steering program shares: the result of
 * the L2-L4 walk (lib/csmp_walk.h), the per-CPU counter maps and their
 * increment, bounded 16-bit field reads and address keys. Header-only,
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

/*
 * A per-CPU counter map: one struct csmp_count per index, pinned by name,
 * summed over CPUs by its readers (csmpctl, bpftool). Every counter map of
 * every program is declared by this one macro.
 */
#define CSMP_COUNTERS(name, entries)					\
	struct {							\
		__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);		\
		__uint(max_entries, entries);				\
		__type(key, __u32);					\
		__type(value, struct csmp_count);			\
		__uint(pinning, LIBBPF_PIN_BY_NAME);			\
	} name SEC(".maps")

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

#endif /* CSMP_BPF_PKT_H */
