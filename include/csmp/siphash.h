/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * SipHash-2-4 (Aumasson and Bernstein, 2012) of one 64-bit word, the only
 * input the steering code hashes: the 8-byte big-endian EID or backend id.
 * The same source runs in libcsmp (Maglev table build), the kernel module
 * (bpf_csmp_eid_hash) and the BPF programs (fallback), so all three agree
 * on every EID. The key is two little-endian 64-bit words k0, k1 (bytes
 * 0..7 and 8..15 of the 128-bit key, as in the reference implementation).
 * Includes nothing; the includer provides __u64.
 */
#ifndef CSMP_SIPHASH_H
#define CSMP_SIPHASH_H

#define CSMP_ROTL64(x, b) (((x) << (b)) | ((x) >> (64 - (b))))

#define CSMP_SIPROUND(v0, v1, v2, v3)                                          \
	do {                                                                   \
		v0 += v1;                                                      \
		v1 = CSMP_ROTL64(v1, 13);                                      \
		v1 ^= v0;                                                      \
		v0 = CSMP_ROTL64(v0, 32);                                      \
		v2 += v3;                                                      \
		v3 = CSMP_ROTL64(v3, 16);                                      \
		v3 ^= v2;                                                      \
		v0 += v3;                                                      \
		v3 = CSMP_ROTL64(v3, 21);                                      \
		v3 ^= v0;                                                      \
		v2 += v1;                                                      \
		v1 = CSMP_ROTL64(v1, 17);                                      \
		v1 ^= v2;                                                      \
		v2 = CSMP_ROTL64(v2, 32);                                      \
	} while (0)

/*
 * SipHash-2-4 of exactly 8 message bytes whose little-endian value is `m`.
 * To hash the big-endian EID bytes, pass the byte-swapped EID (see
 * csmp_eid_siphash below).
 */
static inline __u64 csmp_siphash24_word(__u64 k0, __u64 k1, __u64 m)
{
	__u64 v0 = k0 ^ 0x736f6d6570736575ULL;
	__u64 v1 = k1 ^ 0x646f72616e646f6dULL;
	__u64 v2 = k0 ^ 0x6c7967656e657261ULL;
	__u64 v3 = k1 ^ 0x7465646279746573ULL;
	__u64 b = (__u64)8 << 56;

	v3 ^= m;
	CSMP_SIPROUND(v0, v1, v2, v3);
	CSMP_SIPROUND(v0, v1, v2, v3);
	v0 ^= m;
	v3 ^= b;
	CSMP_SIPROUND(v0, v1, v2, v3);
	CSMP_SIPROUND(v0, v1, v2, v3);
	v0 ^= b;
	v2 ^= 0xff;
	CSMP_SIPROUND(v0, v1, v2, v3);
	CSMP_SIPROUND(v0, v1, v2, v3);
	CSMP_SIPROUND(v0, v1, v2, v3);
	CSMP_SIPROUND(v0, v1, v2, v3);
	return v0 ^ v1 ^ v2 ^ v3;
}

static inline __u64 csmp_bswap64(__u64 x)
{
	return ((x & 0x00000000000000ffULL) << 56) |
	       ((x & 0x000000000000ff00ULL) << 40) |
	       ((x & 0x0000000000ff0000ULL) << 24) |
	       ((x & 0x00000000ff000000ULL) << 8) |
	       ((x & 0x000000ff00000000ULL) >> 8) |
	       ((x & 0x0000ff0000000000ULL) >> 24) |
	       ((x & 0x00ff000000000000ULL) >> 40) |
	       ((x & 0xff00000000000000ULL) >> 56);
}

/* SipHash-2-4 of the 8-byte big-endian encoding of `eid`. */
static inline __u64 csmp_eid_siphash(__u64 k0, __u64 k1, __u64 eid)
{
	return csmp_siphash24_word(k0, k1, csmp_bswap64(eid));
}

/*
 * Maglev (NSDI 2016): M slots, a prime. The lookup slot of an EID is its
 * keyed hash modulo M; each backend's permutation uses two hashes of its
 * 8-byte id under the same key with the words swapped (offset, skip).
 */
#define CSMP_MAGLEV_M		65537u

static inline __u32 csmp_maglev_slot(__u64 k0, __u64 k1, __u64 eid)
{
	return (__u32)(csmp_eid_siphash(k0, k1, eid) % CSMP_MAGLEV_M);
}

#endif /* CSMP_SIPHASH_H */
