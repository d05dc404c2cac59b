// SPDX-License-Identifier: GPL-2.0-only
/*
 * The per-worker caches and csmp_verify_batch(): the downlink signature
 * cache reuses one signature per identical signed region and no other;
 * a mixed batch gives exactly the single-message results; retransmissions
 * are answered from the replay cache without computing a signature, but
 * never past their validity window, with one SHA-256 per message; counters
 * add up by reason.
 */
#include <errno.h>
#include <string.h>
#include <linux/types.h>
#include "kselftest_harness.h"
#include "sig.h"

#define NOW	1600000000u

static const uint8_t body[] = {
	0x0d, 0x09, 0x08, 0x14, 0x12, 0x01, 0x32, 0x12, 0x02, 0x32, 0x32,
	0x07, 0x03, 0x0a, 0x01, 0x31,
};

static int make_signed(struct csmp_signer *s, uint8_t *buf, size_t cap,
		       uint8_t tweak, uint32_t nb, uint32_t na)
{
	memcpy(buf, body, sizeof(body));
	buf[2] = tweak;		/* ReportSubscribe.interval */
	return csmp_sig_append(s, buf, sizeof(body), cap, nb, na);
}

TEST(signature_cache_reuses_identical_regions_only)
{
	struct csmp_signer_stats st;
	struct csmp_signer *s, *nc;
	struct csmp_key *k;
	uint8_t a[256], b[256], c[256];
	int na, nb, nc_len;

	ASSERT_EQ(0, csmp_key_generate(CSMP_SUITE_P256, &k));
	ASSERT_EQ(0, csmp_signer_new(k, 64, &s));
	na = make_signed(s, a, sizeof(a), 20, NOW, NOW + 60);
	nb = make_signed(s, b, sizeof(b), 20, NOW, NOW + 60);
	ASSERT_GT(na, 0);
	ASSERT_EQ(na, nb);
	/* ECDSA is randomised: equal bytes prove the signature was reused. */
	EXPECT_EQ(0, memcmp(a, b, (size_t)na));
	csmp_signer_stats(s, &st);
	EXPECT_EQ(1u, st.signs);
	EXPECT_EQ(1u, st.cache_hits);
	EXPECT_EQ(1u, st.cache_misses);

	/* Another window or another body: a new signature. */
	nc_len = make_signed(s, c, sizeof(c), 20, NOW, NOW + 61);
	ASSERT_GT(nc_len, 0);
	EXPECT_EQ(CSMP_R_OK, (int)csmp_sig_check(NULL, k, c, (size_t)nc_len,
						 NOW));
	nc_len = make_signed(s, c, sizeof(c), 21, NOW, NOW + 60);
	ASSERT_GT(nc_len, 0);
	EXPECT_EQ(CSMP_R_OK, (int)csmp_sig_check(NULL, k, c, (size_t)nc_len,
						 NOW));
	csmp_signer_stats(s, &st);
	EXPECT_EQ(3u, st.signs);
	EXPECT_EQ(1u, st.cache_hits);
	EXPECT_EQ(3u, st.cache_misses);
	EXPECT_EQ(CSMP_R_OK, (int)csmp_sig_check(NULL, k, b, (size_t)nb, NOW));

	/* Without the cache the same region is signed afresh each time. */
	ASSERT_EQ(0, csmp_signer_new(k, 0, &nc));
	na = make_signed(nc, a, sizeof(a), 20, NOW, NOW + 60);
	nb = make_signed(nc, b, sizeof(b), 20, NOW, NOW + 60);
	ASSERT_GT(na, 0);
	ASSERT_GT(nb, 0);
	EXPECT_NE(0, memcmp(a, b, (size_t)(na < nb ? na : nb)));
	csmp_signer_stats(nc, &st);
	EXPECT_EQ(2u, st.signs);
	EXPECT_EQ(0u, st.cache_hits);
	csmp_signer_free(nc);
	csmp_signer_free(s);
	csmp_key_put(k);
	csmp_signer_free(NULL);
}

TEST(signer_needs_a_private_key)
{
	struct csmp_key *k, *pub;
	struct csmp_signer *s;
	uint8_t raw[CSMP_SIG_PUB_MAX];

	ASSERT_EQ(0, csmp_key_generate(CSMP_SUITE_P256, &k));
	ASSERT_EQ(65, csmp_key_public_raw(k, raw, sizeof(raw)));
	ASSERT_EQ(0, csmp_key_from_raw(CSMP_SUITE_P256, raw, 65, &pub));
	EXPECT_EQ(-ENOKEY, csmp_signer_new(pub, 0, &s));
	EXPECT_EQ(-ENOKEY, csmp_signer_new(NULL, 0, &s));
	csmp_key_put(pub);
	csmp_key_put(k);
}

TEST(window_helper_quantises)
{
	uint32_t nb, na, nb2, na2;

	csmp_sig_window(1000, 60, 300, 100, &nb, &na);
	EXPECT_EQ(900u, nb);
	EXPECT_EQ(900u + 60 + 300 + 100, na);
	/* Every now in the same quantum: the same window. */
	csmp_sig_window(1059, 60, 300, 100, &nb2, &na2);
	EXPECT_EQ(nb, nb2);
	EXPECT_EQ(na, na2);
	/* The window always covers now .. now + lifetime. */
	EXPECT_LE(nb, 1059u);
	EXPECT_GE(na, 1059u + 300);
	csmp_sig_window(10, 60, 300, 0, &nb, &na);
	EXPECT_EQ(0u, nb);
	EXPECT_EQ(360u, na);
}

/*
 * A batch with every outcome, both suites, some items twice: its results
 * equal csmp_sig_check() on each item alone, and the counters agree.
 */
TEST(mixed_batch_equals_single_verify)
{
	enum { N = 12 };
	struct csmp_verifier_opts o = { .skew = 2, .replay_entries = 256 };
	struct csmp_verifier_stats st;
	struct csmp_verifier *v;
	struct csmp_key *p256, *ed, *other;
	struct csmp_signer *sp, *se;
	struct csmp_verify_item it[N];
	uint8_t buf[N][256], res[N];
	const struct csmp_key *key[N];
	int len[N], i, ok;
	uint8_t want[N];

	ASSERT_EQ(0, csmp_key_generate(CSMP_SUITE_P256, &p256));
	ASSERT_EQ(0, csmp_key_generate(CSMP_SUITE_ED25519, &ed));
	ASSERT_EQ(0, csmp_key_generate(CSMP_SUITE_P256, &other));
	ASSERT_EQ(0, csmp_signer_new(p256, 0, &sp));
	ASSERT_EQ(0, csmp_signer_new(ed, 0, &se));
	ASSERT_EQ(0, csmp_verifier_new(&o, &v));

	len[0] = make_signed(sp, buf[0], 256, 1, NOW - 5, NOW + 5);
	key[0] = p256;	want[0] = CSMP_R_OK;
	len[1] = make_signed(se, buf[1], 256, 2, NOW - 5, NOW + 5);
	key[1] = ed;	want[1] = CSMP_R_OK;
	len[2] = make_signed(sp, buf[2], 256, 3, NOW - 5, NOW + 5);
	buf[2][3] ^= 0x10;
	key[2] = p256;	want[2] = CSMP_R_SIG_BAD;
	len[3] = make_signed(se, buf[3], 256, 4, NOW - 50, NOW - 3);
	key[3] = ed;	want[3] = CSMP_R_SIG_EXPIRED;
	len[4] = make_signed(sp, buf[4], 256, 5, NOW + 3, NOW + 50);
	key[4] = p256;	want[4] = CSMP_R_SIG_NOT_YET;
	len[5] = make_signed(sp, buf[5], 256, 6, NOW - 5, NOW + 5);
	key[5] = NULL;	want[5] = CSMP_R_SIG_UNKNOWN_KEY;
	memcpy(buf[6], body, sizeof(body));
	len[6] = sizeof(body);
	key[6] = p256;	want[6] = CSMP_R_SIG_MISSING;
	len[7] = make_signed(sp, buf[7], 256, 7, NOW - 5, NOW + 5);
	buf[7][len[7] - 3]--;	/* shorten a TLV: framing breaks */
	len[7] -= 2;
	key[7] = p256;	want[7] = CSMP_R_SIG_MALFORMED;
	len[8] = make_signed(sp, buf[8], 256, 8, NOW - 5, NOW + 5);
	key[8] = other;	want[8] = CSMP_R_SIG_BAD;
	len[9] = make_signed(se, buf[9], 256, 9, NOW - 5, NOW + 5);
	key[9] = p256;	want[9] = CSMP_R_SIG_BAD;	/* suite mismatch */
	/* Retransmissions of items 0 and 2 in the same batch. */
	memcpy(buf[10], buf[0], 256);
	len[10] = len[0];
	key[10] = p256;	want[10] = CSMP_R_OK;
	memcpy(buf[11], buf[2], 256);
	len[11] = len[2];
	key[11] = p256;	want[11] = CSMP_R_SIG_BAD;

	for (i = 0; i < N; i++) {
		ASSERT_GT(len[i], 0);
		csmp_verify_item_init(&it[i], buf[i], (size_t)len[i], key[i]);
		it[i].user = (uint64_t)i;
	}
	ok = csmp_verify_batch(v, it, N, res, NOW);
	EXPECT_EQ(3, ok);
	for (i = 0; i < N; i++) {
		int single = (int)csmp_sig_check(NULL, key[i], buf[i],
						 (size_t)len[i], NOW + 0);

		/* Same outcome as alone (the NULL verifier has no skew, and
		 * 3 and 4 are outside the window by more than the skew). */
		EXPECT_EQ(single, (int)res[i]);
		EXPECT_EQ(want[i], res[i]);
		EXPECT_EQ((uint64_t)i, it[i].user);
	}
	csmp_verifier_stats(v, &st);
	EXPECT_EQ(3u, st.by_reason[CSMP_R_OK]);
	EXPECT_EQ(4u, st.by_reason[CSMP_R_SIG_BAD]);
	EXPECT_EQ(1u, st.by_reason[CSMP_R_SIG_EXPIRED]);
	EXPECT_EQ(1u, st.by_reason[CSMP_R_SIG_NOT_YET]);
	EXPECT_EQ(1u, st.by_reason[CSMP_R_SIG_UNKNOWN_KEY]);
	EXPECT_EQ(1u, st.by_reason[CSMP_R_SIG_MISSING]);
	EXPECT_EQ(1u, st.by_reason[CSMP_R_SIG_MALFORMED]);
	/* Crypto ran for 0, 1, 2, 8 only: 9 failed on the suite, 10 and 11
	 * came from the replay cache. */
	EXPECT_EQ(4u, st.crypto);
	EXPECT_EQ(2u, st.replay_hits);

	csmp_verifier_free(v);
	csmp_signer_free(se);
	csmp_signer_free(sp);
	csmp_key_put(other);
	csmp_key_put(ed);
	csmp_key_put(p256);
}

TEST(replay_cache_never_outlives_the_window)
{
	struct csmp_verifier_stats st;
	struct csmp_verifier *v;
	struct csmp_signer *s;
	struct csmp_key *k, *o;
	uint8_t buf[256], t[256];
	int n;

	ASSERT_EQ(0, csmp_key_generate(CSMP_SUITE_P256, &k));
	ASSERT_EQ(0, csmp_signer_new(k, 0, &s));
	ASSERT_EQ(0, csmp_verifier_new(NULL, &v));
	n = make_signed(s, buf, sizeof(buf), 20, NOW, NOW + 10);
	ASSERT_GT(n, 0);
	EXPECT_EQ(CSMP_R_OK, (int)csmp_sig_check(v, k, buf, (size_t)n, NOW));
	EXPECT_EQ(CSMP_R_OK, (int)csmp_sig_check(v, k, buf, (size_t)n, NOW));
	EXPECT_EQ(CSMP_R_SIG_EXPIRED,
		  (int)csmp_sig_check(v, k, buf, (size_t)n, NOW + 11));
	/* Same region, other signature bytes: not the cached answer. */
	memcpy(t, buf, (size_t)n);
	t[n - 1] ^= 1;
	EXPECT_EQ(CSMP_R_SIG_BAD, (int)csmp_sig_check(v, k, t, (size_t)n, NOW));
	/* Same bytes under another key: not the cached answer either. */
	ASSERT_EQ(0, csmp_key_generate(CSMP_SUITE_P256, &o));
	EXPECT_EQ(CSMP_R_SIG_BAD, (int)csmp_sig_check(v, o, buf, (size_t)n, NOW));
	csmp_key_put(o);
	csmp_verifier_stats(v, &st);
	EXPECT_EQ(3u, st.crypto);
	EXPECT_EQ(1u, st.replay_hits);
	csmp_verifier_free(v);
	csmp_verifier_free(NULL);
	csmp_signer_free(s);
	csmp_key_put(k);
}

/*
 * One SHA-256 per message: the replay cache is found by the region digest
 * the verify needs anyway, not by a second hash. A hit needs the very same
 * key, region and value bytes; a miss that overwrote the slot costs the
 * good message a verify, never its answer.
 */
TEST(one_digest_per_message_and_exact_replay_hits)
{
	enum { N = 16 };
	struct csmp_verifier_opts o = { .skew = 0, .replay_entries = 64 };
	struct csmp_verifier_stats st;
	struct csmp_verifier *v;
	struct csmp_signer *sp, *se;
	struct csmp_key *p256, *ed;
	struct csmp_verify_item it[2 * N];
	uint8_t buf[N][256], res[2 * N], t[256];
	int len[N], i;

	ASSERT_EQ(0, csmp_key_generate(CSMP_SUITE_P256, &p256));
	ASSERT_EQ(0, csmp_key_generate(CSMP_SUITE_ED25519, &ed));
	ASSERT_EQ(0, csmp_signer_new(p256, 0, &sp));
	ASSERT_EQ(0, csmp_signer_new(ed, 0, &se));
	ASSERT_EQ(0, csmp_verifier_new(&o, &v));
	for (i = 0; i < N; i++) {
		len[i] = make_signed(i & 1 ? se : sp, buf[i], 256,
				     (uint8_t)(30 + i), NOW - 5, NOW + 5);
		ASSERT_GT(len[i], 0);
		/* Each message twice in one batch: the second is a replay. */
		csmp_verify_item_init(&it[2 * i], buf[i], (size_t)len[i],
				      i & 1 ? ed : p256);
		csmp_verify_item_init(&it[2 * i + 1], buf[i], (size_t)len[i],
				      i & 1 ? ed : p256);
	}
	EXPECT_EQ(2 * N, csmp_verify_batch(v, it, 2 * N, res, NOW));
	csmp_verifier_stats(v, &st);
	EXPECT_EQ((uint64_t)2 * N, st.digests);
	EXPECT_EQ((uint64_t)N, st.crypto);
	EXPECT_EQ((uint64_t)N, st.replay_hits);

	/* Same region, the last value byte changed (same length). */
	memcpy(t, buf[0], (size_t)len[0]);
	t[len[0] - 1] ^= 0x40;
	EXPECT_EQ(CSMP_R_SIG_BAD,
		  (int)csmp_sig_check(v, p256, t, (size_t)len[0], NOW));
	/* The bad one took the slot: the good one is verified again. */
	EXPECT_EQ(CSMP_R_OK,
		  (int)csmp_sig_check(v, p256, buf[0], (size_t)len[0], NOW));
	/* Ed25519 region one bit off: its own slot and digest, refused. */
	memcpy(t, buf[1], (size_t)len[1]);
	t[3] ^= 0x01;
	EXPECT_EQ(CSMP_R_SIG_BAD,
		  (int)csmp_sig_check(v, ed, t, (size_t)len[1], NOW));
	csmp_verifier_stats(v, &st);
	EXPECT_EQ((uint64_t)N + 3, st.crypto);
	EXPECT_EQ((uint64_t)N, st.replay_hits);
	EXPECT_EQ((uint64_t)2 * N + 3, st.digests);

	csmp_verifier_free(v);
	csmp_signer_free(se);
	csmp_signer_free(sp);
	csmp_key_put(ed);
	csmp_key_put(p256);
}

/* Keys from the EID cache feed the batch; the cache may evict mid-way
 * because items borrow, and the verifier keeps its own references. */
TEST(batch_with_cached_device_keys)
{
	enum { DEV = 8 };
	struct csmp_keycache *kc;
	struct csmp_verifier *v;
	struct csmp_key *k[DEV];
	struct csmp_signer *s[DEV];
	struct csmp_verify_item it[DEV];
	uint8_t buf[DEV][256], res[DEV], raw[CSMP_SIG_PUB_MAX];
	int i, n, rl;

	ASSERT_EQ(0, csmp_keycache_new(DEV, &kc));
	ASSERT_EQ(0, csmp_verifier_new(NULL, &v));
	for (i = 0; i < DEV; i++) {
		ASSERT_EQ(0, csmp_key_generate(i & 1 ? CSMP_SUITE_ED25519 :
						       CSMP_SUITE_P256, &k[i]));
		ASSERT_EQ(0, csmp_signer_new(k[i], 0, &s[i]));
		rl = csmp_key_public_raw(k[i], raw, sizeof(raw));
		ASSERT_GT(rl, 0);
		ASSERT_EQ(0, csmp_keycache_put_raw(kc, 0x0a0027fffe3b2ab0 + i,
						   csmp_key_suite(k[i]), raw,
						   (size_t)rl));
		n = make_signed(s[i], buf[i], 256, (uint8_t)i, NOW, NOW + 1);
		ASSERT_GT(n, 0);
		csmp_verify_item_init(&it[i], buf[i], (size_t)n,
				      csmp_keycache_lookup(kc,
						0x0a0027fffe3b2ab0 + i));
	}
	EXPECT_EQ(DEV, csmp_verify_batch(v, it, DEV, res, NOW));
	for (i = 0; i < DEV; i++)
		EXPECT_EQ(CSMP_R_OK, res[i]);
	/* Drop the cache: the verifier's contexts hold their keys. */
	csmp_keycache_free(kc);
	csmp_verifier_free(v);
	for (i = 0; i < DEV; i++) {
		csmp_signer_free(s[i]);
		csmp_key_put(k[i]);
	}
}

TEST_HARNESS_MAIN
