// SPDX-License-Identifier: GPL-2.0-only
/*
 * The Maglev table builder (userspace/lib/maglev.c) and the shared SipHash
 * (include/csmp/siphash.h): SipHash against the reference vector and
 * libsodium's independent implementation, table determinism, weighted
 * shares and the disruption of adding and removing a backend.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <linux/types.h>
#include <linux/bpf.h>
#include <csmp/wire.h>
#include <csmp/lb.h>
#include <sodium.h>
#include "kselftest_harness.h"
#include "maglev.h"

#define M CSMP_MAGLEV_M

static const uint64_t K0 = 0x0706050403020100ULL, K1 = 0x0f0e0d0c0b0a0908ULL;

static uint64_t le64(const uint8_t *b)
{
	uint64_t v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = v << 8 | b[i];
	return v;
}

/*
 * Reference SipHash-2-4 vector (Aumasson-Bernstein vectors.h, 64-bit output,
 * key 00..0f, message 00 01 .. 07): 62 24 93 9a 79 f5 f5 93.
 */
TEST(siphash_reference_vector_8_bytes)
{
	static const uint8_t want[8] = { 0x62, 0x24, 0x93, 0x9a,
					 0x79, 0xf5, 0xf5, 0x93 };
	uint8_t msg[8] = { 0, 1, 2, 3, 4, 5, 6, 7 };

	/* The word whose LE bytes are msg; the EID whose BE bytes are msg. */
	EXPECT_EQ(le64(want), csmp_siphash24_word(K0, K1, le64(msg)));
	EXPECT_EQ(le64(want), csmp_eid_siphash(K0, K1, 0x0001020304050607ULL));
}

TEST(siphash_matches_libsodium_on_random_keys_and_eids)
{
	unsigned int i;

	ASSERT_LE(0, sodium_init());
	for (i = 0; i < 20000; i++) {
		uint8_t key[16], msg[8], out[8];
		uint64_t eid = 0;
		int j;

		randombytes_buf(key, sizeof(key));
		randombytes_buf(msg, sizeof(msg));
		for (j = 0; j < 8; j++)
			eid = eid << 8 | msg[j];
		crypto_shorthash_siphash24(out, msg, sizeof(msg), key);
		ASSERT_EQ(le64(out), csmp_eid_siphash(le64(key), le64(key + 8),
						      eid));
	}
}

static uint32_t *tbl(void)
{
	uint32_t *t = calloc(M, sizeof(*t));

	if (!t)
		abort();
	return t;
}

TEST(table_is_deterministic_and_order_independent)
{
	struct csmp_maglev_backend a[] = { { 1, 10 }, { 7, 10 }, { 3, 20 } };
	struct csmp_maglev_backend b[] = { { 3, 20 }, { 1, 10 }, { 7, 10 } };
	uint32_t *x = tbl(), *y = tbl();

	ASSERT_EQ(0, csmp_maglev_build(K0, K1, a, 3, x));
	ASSERT_EQ(0, csmp_maglev_build(K0, K1, b, 3, y));
	EXPECT_EQ(0, memcmp(x, y, M * sizeof(*x)));
	/* A different key gives a different table. */
	ASSERT_EQ(0, csmp_maglev_build(K0 + 1, K1, a, 3, y));
	EXPECT_LT(M / 4, csmp_maglev_moved(x, y));
	free(x);
	free(y);
}

TEST(table_refuses_bad_backends)
{
	struct csmp_maglev_backend dup[] = { { 1, 1 }, { 1, 1 } };
	struct csmp_maglev_backend zero[] = { { 0, 1 } };
	struct csmp_maglev_backend heavy[] = { { 2, CSMP_MAGLEV_MAX_WEIGHT + 1 } };
	struct csmp_maglev_backend noweight[] = { { 2, 0 } };
	uint32_t *t = tbl();
	unsigned int i;

	EXPECT_EQ(-EINVAL, csmp_maglev_build(K0, K1, dup, 2, t));
	EXPECT_EQ(-EINVAL, csmp_maglev_build(K0, K1, zero, 1, t));
	EXPECT_EQ(-EINVAL, csmp_maglev_build(K0, K1, heavy, 1, t));
	EXPECT_EQ(-EINVAL, csmp_maglev_build(K0, K1, noweight, 1, t));
	ASSERT_EQ(0, csmp_maglev_build(K0, K1, NULL, 0, t));
	for (i = 0; i < M; i++)
		ASSERT_EQ(0U, t[i]);
	free(t);
}

/* Every slot owned; each backend's share within 1 % (absolute) of its weight. */
TEST(shares_follow_weights)
{
	struct csmp_maglev_backend be[] = { { 11, 100 }, { 12, 200 },
					    { 13, 300 }, { 14, 400 } };
	unsigned int counts[16], i, total = 0;
	uint32_t *t = tbl();

	ASSERT_EQ(0, csmp_maglev_build(K0, K1, be, 4, t));
	csmp_maglev_count(t, counts, 16);
	for (i = 0; i < 4; i++) {
		double share = (double)counts[be[i].id] / M;
		double want = be[i].weight / 1000.0;

		TH_LOG("backend %u weight %u share %.4f", be[i].id,
		       be[i].weight, share);
		EXPECT_GT(0.01, share > want ? share - want : want - share);
		total += counts[be[i].id];
	}
	EXPECT_EQ((unsigned int)M, total);
	free(t);
}

TEST(equal_weights_balance_within_one_percent)
{
	struct csmp_maglev_backend be[10];
	unsigned int counts[32], i;
	uint32_t *t = tbl();

	for (i = 0; i < 10; i++)
		be[i] = (struct csmp_maglev_backend){ (uint16_t)(20 + i), 1 };
	ASSERT_EQ(0, csmp_maglev_build(K0, K1, be, 10, t));
	csmp_maglev_count(t, counts, 32);
	for (i = 0; i < 10; i++)
		EXPECT_GT(0.01 / 10 * M + 1,
			  abs((int)counts[20 + i] - (int)(M / 10)));
	free(t);
}

/*
 * Removing one of N backends moves that backend's slots plus a small
 * Maglev remainder; adding one takes about 1/(N+1). Measured over EIDs
 * too, as csmpctl lb table preview reports it.
 */
TEST(removing_or_adding_one_backend_moves_about_one_nth)
{
	unsigned int n;

	for (n = 3; n <= 12; n += 3) {
		struct csmp_maglev_backend be[16];
		uint32_t *full = tbl(), *less = tbl();
		unsigned int i, moved, eid_moved = 0, lost = 0;
		double frac, bound = 1.0 / n + 0.02;

		for (i = 0; i < n; i++)
			be[i] = (struct csmp_maglev_backend){ (uint16_t)(100 + i), 1 };
		ASSERT_EQ(0, csmp_maglev_build(K0, K1, be, n, full));
		/* Remove backend 100 + n/2. */
		be[n / 2] = be[n - 1];
		ASSERT_EQ(0, csmp_maglev_build(K0, K1, be, n - 1, less));
		moved = csmp_maglev_moved(full, less);
		for (i = 0; i < M; i++)
			lost += full[i] == 100 + n / 2;
		frac = (double)moved / M;
		TH_LOG("N=%u remove one: %u slots moved (%.4f, bound %.4f), %u were its own",
		       n, moved, frac, bound, lost);
		EXPECT_GE(moved, lost);
		EXPECT_GT(bound, frac);
		for (i = 0; i < 200000; i++) {
			uint64_t eid = 0x0007810800000000ULL + i * 2654435761ULL;

			eid_moved += csmp_maglev_lookup(full, K0, K1, eid) !=
				     csmp_maglev_lookup(less, K0, K1, eid);
		}
		EXPECT_GT(bound, eid_moved / 200000.0);
		/* And back: adding it again restores the first table. */
		be[n - 1] = (struct csmp_maglev_backend){ (uint16_t)(100 + n / 2), 1 };
		ASSERT_EQ(0, csmp_maglev_build(K0, K1, be, n, less));
		EXPECT_EQ(0U, csmp_maglev_moved(full, less));
		free(full);
		free(less);
	}
}

TEST(weight_change_moves_proportionally)
{
	struct csmp_maglev_backend be[] = { { 1, 100 }, { 2, 100 }, { 3, 100 } };
	uint32_t *a = tbl(), *b = tbl();
	unsigned int moved;

	ASSERT_EQ(0, csmp_maglev_build(K0, K1, be, 3, a));
	be[2].weight = 50;
	ASSERT_EQ(0, csmp_maglev_build(K0, K1, be, 3, b));
	moved = csmp_maglev_moved(a, b);
	TH_LOG("halving one of 3 weights moved %.4f of slots", (double)moved / M);
	/* Its share drops from 1/3 to 1/5: at least 0.133 must move. */
	EXPECT_LT(0.13 * M, moved);
	EXPECT_GT(0.25 * M, moved);
	free(a);
	free(b);
}

TEST_HARNESS_MAIN
