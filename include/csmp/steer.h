/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Which worker of a head-end node owns a device: the one definition shared
 * by csmpd (its registry shards and the SessionIDs it assigns), the
 * sk_reuseport program csmp_reuseport (which puts each datagram on the
 * owner's socket) and libcsmp's prediction of that program's choice. If
 * these three disagreed, a device's datagrams would cross between worker
 * threads on every message; with them agreeing, nothing is shared.
 *
 *   bucket = SipHash-2-4(key, EID) & 0xffff     (csmp_eid_bucket)
 *   worker = bucket % n_workers                 (csmp_bucket_worker)
 *
 * The bucket travels in the SessionID csmpd assigns, so reports (which
 * carry the SessionID, not the DeviceID) find their owner without state:
 *
 *   SessionID = bbbbwwwwoooooooo    16 characters, the agent's limit
 *     bbbb  the node's backend id, lowercase hex (the LB routes on it)
 *     wwww  the device's bucket, lowercase hex (this node routes on it)
 *     o..o  opaque (8 hex digits of a keyed hash, re-rolled on collision)
 *
 * A datagram with neither (async replies, responses, malformed ones) is
 * placed by its source address: the modified EUI-64 in the interface id
 * (the EID of the device, RFC 4291 App. A), else a fold of the address
 * (ARCHITECTURE.md §2 keys 6 and 7; csmp_lb uses the same rule).
 *
 * Includes nothing; the includer provides __u8..__u64, siphash.h,
 * reason.h (CSMP_K_*) and tlv.h (csmp_hexval).
 */
#ifndef CSMP_STEER_H
#define CSMP_STEER_H

#define CSMP_SESSION_LEN	16	/* what csmpd assigns */
#define CSMP_SESSION_BUCKET_OFF	4	/* after the backend id */
#define CSMP_SESSION_BUCKET_HEX	4
#define CSMP_SESSION_OPAQUE_HEX	8
/* printf format: backend id, bucket, opaque 32 bits. */
#define CSMP_SESSION_FMT	"%04x%04x%08x"
#define CSMP_BUCKETS		65536

static inline __u32 csmp_eid_bucket(__u64 k0, __u64 k1, __u64 eid)
{
	return (__u32)(csmp_eid_siphash(k0, k1, eid) & (CSMP_BUCKETS - 1));
}

static inline __u32 csmp_bucket_worker(__u32 bucket, __u32 n_workers)
{
	return n_workers ? bucket % n_workers : 0;
}

/*
 * The bucket written in a SessionID of csmpd's form, from its 4 bucket
 * characters (c = sid + CSMP_SESSION_BUCKET_OFF; hex of either case, as
 * csmp_hexval reads). Returns 0, or -1 when they are not hex.
 */
static inline int csmp_session_bucket4(const __u8 c[CSMP_SESSION_BUCKET_HEX],
				       __u32 *bucket)
{
	__u32 v = 0;
	int i, h;

	for (i = 0; i < CSMP_SESSION_BUCKET_HEX; i++) {
		h = csmp_hexval(c[i]);
		if (h < 0)
			return -1;
		v = (v << 4) | (__u32)h;
	}
	*bucket = v;
	return 0;
}

/* Same, for a whole SessionID string: only csmpd's 16-character form. */
static inline int csmp_session_bucket(const __u8 *sid, __u32 len,
				      __u32 *bucket)
{
	if (len != CSMP_SESSION_LEN)
		return -1;
	return csmp_session_bucket4(sid + CSMP_SESSION_BUCKET_OFF, bucket);
}

/*
 * The EID a source address speaks for (16 bytes, network order; IPv4 as
 * ::ffff:a.b.c.d): the interface id with the universal/local bit flipped
 * when that bit says it is a modified EUI-64 (*key = CSMP_K_IID), else the
 * two halves folded (*key = CSMP_K_SRC_HASH). Hashed by the caller.
 */
/* Eight bytes in network order as a number (BPF, kernel and userspace). */
static inline __u64 csmp_be64_load(const __u8 *p)
{
	__u64 v;

	__builtin_memcpy(&v, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	v = csmp_bswap64(v);
#endif
	return v;
}

static inline __u64 csmp_addr_eid(const __u8 a[16], __u32 *key)
{
	__u64 hi = csmp_be64_load(a), lo = csmp_be64_load(a + 8);
	int v4 = hi == 0 && (lo >> 32) == 0xffff;	/* ::ffff:a.b.c.d */

	if (!v4 && (a[8] & 0x02)) {
		*key = CSMP_K_IID;
		return lo ^ (0x02ULL << 56);
	}
	*key = CSMP_K_SRC_HASH;
	return hi ^ lo;
}

#endif /* CSMP_STEER_H */
