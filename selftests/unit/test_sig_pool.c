// SPDX-License-Identifier: GPL-2.0-only
/*
 * The P-256 nonce pool (userspace/lib/sig_pool.c): every pooled signature
 * verified by OpenSSL's own EVP verify; the signing arithmetic against RFC
 * 6979 A.2.5's known answers (its k fed into a pool entry, r and s compared
 * exactly); an empty pool signing afresh; no pair used twice; a used pair
 * wiped; the ring memory locked, out of core dumps and empty in a forked
 * child; the refill thread at idle priority, refilling and paced, and
 * feeding two signing threads at once.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/types.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include "kselftest_harness.h"
#include "sig_priv.h"
#include "testutil.h"

#define NOW	1600000000u

/* The inner DER of Signature.value in a signed payload, and its region. */
static int inner_sig(const uint8_t *p, size_t len, const uint8_t **sig,
		     size_t *sig_len, size_t *region_len)
{
	struct csmp_sig_loc loc;
	int err = csmp_sig_locate(p, len, &loc);

	if (err)
		return err;
	*sig = loc.sig;
	*sig_len = loc.sig_len;
	*region_len = loc.region_len;
	return 0;
}

/* OpenSSL's verdict on DER sig over SHA-256(msg), nothing of ours. */
static int evp_verify(EVP_PKEY *pk, const uint8_t *sig, size_t sig_len,
		      const uint8_t *msg, size_t len)
{
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	int ok = m && EVP_DigestVerifyInit(m, NULL, EVP_sha256(), NULL, pk) == 1 &&
		 EVP_DigestVerify(m, sig, sig_len, msg, len) == 1;

	EVP_MD_CTX_free(m);
	return ok;
}

/* r of a DER Ecdsa-Sig-Value as 32 bytes. */
static int sig_r_s(const uint8_t *der, size_t len, uint8_t r[32], uint8_t s[32])
{
	ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &der, (long)len);
	const BIGNUM *br, *bs;
	int ok;

	if (!es)
		return -1;
	ECDSA_SIG_get0(es, &br, &bs);
	ok = BN_bn2binpad(br, r, 32) == 32 && BN_bn2binpad(bs, s, 32) == 32;
	ECDSA_SIG_free(es);
	return ok ? 0 : -1;
}

/* Sign a distinct payload i; returns its length. */
static int sign_one(struct csmp_signer *s, uint8_t *buf, size_t cap,
		    unsigned int i)
{
	size_t n = (size_t)snprintf((char *)buf + 2, cap - 2, "payload %u", i);

	buf[0] = 99;		/* an opaque TLV: type 99, the text */
	buf[1] = (uint8_t)n;
	return csmp_sig_append(s, buf, n + 2, cap, NOW - 10, NOW + 10);
}

struct fix {
	struct csmp_key *key;
	struct csmp_sigpool *pool;
	struct csmp_signer *signer;
};

static void fix_make(struct __test_metadata *_metadata, struct fix *f,
		     uint32_t entries)
{
	struct csmp_sigpool_opts o = { .rings = 1, .entries = entries };

	ASSERT_EQ(0, csmp_key_generate(CSMP_SUITE_P256, &f->key));
	ASSERT_EQ(0, csmp_sigpool_new(f->key, &o, &f->pool));
	ASSERT_EQ(0, csmp_signer_new(f->key, 0, &f->signer));
	ASSERT_EQ(0, csmp_signer_set_pool(f->signer, f->pool, 0));
}

static void fix_free(struct fix *f)
{
	csmp_signer_free(f->signer);
	csmp_sigpool_free(f->pool);
	csmp_key_put(f->key);
}

/*
 * Sign n payloads; each must verify with EVP. Their r values go to rs
 * (n * 32 bytes) for the caller to compare.
 */
static void sign_and_verify(struct __test_metadata *_metadata, struct fix *f,
			    unsigned int first, unsigned int n, uint8_t *rs)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		uint8_t buf[256], s[32];
		const uint8_t *sig;
		size_t sl, rl;
		int len = sign_one(f->signer, buf, sizeof(buf), first + i);

		ASSERT_GT(len, 0);
		ASSERT_EQ(0, inner_sig(buf, (size_t)len, &sig, &sl, &rl));
		ASSERT_TRUE(evp_verify(f->key->pkey, sig, sl, buf, rl));
		ASSERT_EQ((int)CSMP_R_OK,
			  (int)csmp_sig_check(NULL, f->key, buf, (size_t)len,
					      NOW));
		ASSERT_EQ(0, sig_r_s(sig, sl, rs + 32 * i, s));
	}
}

static int all_distinct(const uint8_t *rs, unsigned int n)
{
	unsigned int i, j;

	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++)
			if (!memcmp(rs + 32 * i, rs + 32 * j, 32))
				return 0;
	return 1;
}

TEST(every_pooled_signature_verifies_with_evp)
{
	static uint8_t rs[256 * 32];
	struct csmp_signer_stats st;
	struct csmp_sigpool_stats ps;
	struct fix f;

	fix_make(_metadata, &f, 256);
	ASSERT_EQ(256, csmp_sigpool_refill(f.pool, 1000));
	EXPECT_EQ(0, csmp_sigpool_refill(f.pool, 1000));	/* full */
	EXPECT_EQ(256u, csmp_sigpool_avail(f.pool, 0));
	sign_and_verify(_metadata, &f, 0, 256, rs);
	csmp_signer_stats(f.signer, &st);
	EXPECT_EQ(256u, st.signs);
	EXPECT_EQ(256u, st.pool_signs);
	EXPECT_EQ(0u, st.pool_empty);
	csmp_sigpool_stats(f.pool, &ps);
	EXPECT_EQ(256u, ps.made);
	EXPECT_EQ(256u, ps.taken);
	EXPECT_EQ(0u, ps.avail);
	fix_free(&f);
}

/* An EVP_PKEY for the RFC 6979 A.2.5 key, written as PEM for libcsmp. */
static struct csmp_key *rfc6979_key(struct __test_metadata *_metadata)
{
	static const char x_hex[] =
		"C9AFA9D845BA75166B5C215767B1D6934E50C3DB36E89B127B8A622B120F6721";
	static const char pub_hex[] = "04"
		"60FED4BA255A9D31C961EB74C6356D68C049B8923B61FA6CE669622E60F29FB6"
		"7903FE1008B8BC99A41AE9E95628BC64F2F1B20C2D7E9F5177A3C294D4462299";
	uint8_t pub[65];
	BIGNUM *x = NULL;
	OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
	OSSL_PARAM *prm;
	EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	EVP_PKEY *pk = NULL;
	BIO *bio = BIO_new(BIO_s_mem());
	struct csmp_key *k = NULL;
	char *pem;
	long pl;

	ASSERT_EQ(65, fx_unhex(pub_hex, pub, sizeof(pub)));
	ASSERT_NE(0, BN_hex2bn(&x, x_hex));
	ASSERT_TRUE(b != NULL && pc != NULL && bio != NULL);
	ASSERT_EQ(1, OSSL_PARAM_BLD_push_utf8_string(b, OSSL_PKEY_PARAM_GROUP_NAME,
						     "prime256v1", 0));
	ASSERT_EQ(1, OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_PRIV_KEY, x));
	ASSERT_EQ(1, OSSL_PARAM_BLD_push_octet_string(b, OSSL_PKEY_PARAM_PUB_KEY,
						      pub, sizeof(pub)));
	prm = OSSL_PARAM_BLD_to_param(b);
	ASSERT_TRUE(prm != NULL);
	ASSERT_EQ(1, EVP_PKEY_fromdata_init(pc));
	ASSERT_EQ(1, EVP_PKEY_fromdata(pc, &pk, EVP_PKEY_KEYPAIR, prm));
	ASSERT_EQ(1, PEM_write_bio_PrivateKey(bio, pk, NULL, NULL, 0, NULL, NULL));
	pl = BIO_get_mem_data(bio, &pem);
	ASSERT_EQ(0, csmp_key_from_pem(pem, (size_t)pl, &k));
	BIO_free(bio);
	EVP_PKEY_free(pk);
	EVP_PKEY_CTX_free(pc);
	OSSL_PARAM_free(prm);
	OSSL_PARAM_BLD_free(b);
	BN_free(x);
	return k;
}

/*
 * RFC 6979 A.2.5, ECDSA P-256 with SHA-256: with its k in a pool entry the
 * signer must give exactly its (r, s); the signature is also OpenSSL-valid.
 */
TEST(rfc6979_p256_sha256_known_answers)
{
	static const struct {
		const char *msg, *k, *r, *s;
	} v[] = {
		{ "sample",
		  "A6E3C57DD01ABE90086538398355DD4C3B17AA873382B0F24D6129493D8AAD60",
		  "EFD48B2AACB6A8FD1140DD9CD45E81D69D2C877B56AAF991C34D0EA84EAF3716",
		  "F7CB1C942D657C41D436C7A1B6E29F65F3E900DBB9AFF4064DC4AB2F843ACDA8" },
		{ "test",
		  "D16B6AE827F17175E040871A1C7EC3500192C4C92677336EC2537ACAEE0008E0",
		  "F1ABB023518351CD71D881567B1EA663ED3EFCF6C5132B354F28D3B0B7D38367",
		  "019F4113742A2B14BD25926B49C649155F267E60D3814B4C0CC84250E46F0083" },
	};
	struct csmp_sigpool_opts o = { .rings = 1, .entries = 4 };
	struct csmp_key *key = rfc6979_key(_metadata);
	struct csmp_sigpool *pool;
	struct csmp_signer *sg;
	struct csmp_signer_stats st;
	unsigned int i;

	ASSERT_EQ(0, csmp_sigpool_new(key, &o, &pool));
	ASSERT_EQ(0, csmp_signer_new(key, 0, &sg));
	ASSERT_EQ(0, csmp_signer_set_pool(sg, pool, 0));
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		uint8_t k[32], r[32], s[32], gr[32], gs[32], val[CSMP_SIG_VALUE_MAX];
		enum csmp_sig_suite suite;
		const uint8_t *sig;
		size_t sl;
		int n;

		ASSERT_EQ(32, fx_unhex(v[i].k, k, 32));
		ASSERT_EQ(32, fx_unhex(v[i].r, r, 32));
		ASSERT_EQ(32, fx_unhex(v[i].s, s, 32));
		ASSERT_EQ(0, csmp_sigpool_put_k(pool, 0, k));
		n = csmp_signer_sign(sg, (const uint8_t *)v[i].msg,
				     strlen(v[i].msg), val);
		ASSERT_GT(n, 0);
		ASSERT_EQ(0, csmp_sig_der_parse(val, (size_t)n, &suite, &sig, &sl));
		EXPECT_EQ(CSMP_SUITE_P256, (int)suite);
		ASSERT_EQ(0, sig_r_s(sig, sl, gr, gs));
		EXPECT_EQ(0, memcmp(r, gr, 32));
		EXPECT_EQ(0, memcmp(s, gs, 32));
		EXPECT_TRUE(evp_verify(key->pkey, sig, sl,
				       (const uint8_t *)v[i].msg,
				       strlen(v[i].msg)));
	}
	csmp_signer_stats(sg, &st);
	EXPECT_EQ(2u, st.pool_signs);
	EXPECT_EQ(0u, st.pool_empty);
	csmp_signer_free(sg);
	csmp_sigpool_free(pool);
	csmp_key_put(key);
}

TEST(empty_pool_signs_afresh)
{
	static uint8_t rs[40 * 32];
	struct csmp_signer_stats st;
	struct csmp_sigpool_stats ps;
	struct fix f;

	fix_make(_metadata, &f, 8);
	sign_and_verify(_metadata, &f, 0, 4, rs);	/* never filled */
	ASSERT_EQ(8, csmp_sigpool_refill(f.pool, 100));
	sign_and_verify(_metadata, &f, 4, 36, rs + 4 * 32);
	csmp_signer_stats(f.signer, &st);
	EXPECT_EQ(40u, st.signs);
	EXPECT_EQ(8u, st.pool_signs);
	EXPECT_EQ(32u, st.pool_empty);
	csmp_sigpool_stats(f.pool, &ps);
	EXPECT_EQ(8u, ps.taken);
	EXPECT_EQ(32u, ps.empty);
	EXPECT_EQ(0u, ps.avail);
	/* Refilled, the pool serves again. */
	ASSERT_EQ(8, csmp_sigpool_refill(f.pool, 100));
	sign_and_verify(_metadata, &f, 40, 1, rs);
	csmp_signer_stats(f.signer, &st);
	EXPECT_EQ(9u, st.pool_signs);
	fix_free(&f);
}

/* Each pair serves one signature: as many distinct r as pairs made, and
 * never more pooled signatures than pairs. */
TEST(a_pair_is_never_used_twice)
{
	static uint8_t rs[3 * 64 * 32];
	struct csmp_signer_stats st;
	struct csmp_sigpool_stats ps;
	struct fix f;
	int round;

	fix_make(_metadata, &f, 64);
	for (round = 0; round < 3; round++) {
		ASSERT_EQ(64, csmp_sigpool_refill(f.pool, 64));
		sign_and_verify(_metadata, &f, (unsigned int)round * 64, 64,
				rs + round * 64 * 32);
		EXPECT_EQ(0u, csmp_sigpool_avail(f.pool, 0));
	}
	EXPECT_TRUE(all_distinct(rs, 3 * 64));
	csmp_signer_stats(f.signer, &st);
	csmp_sigpool_stats(f.pool, &ps);
	EXPECT_EQ(192u, st.pool_signs);
	EXPECT_EQ(192u, ps.made);
	EXPECT_EQ(192u, ps.taken);
	EXPECT_EQ(0u, ps.empty);
	fix_free(&f);
}

static int all_zero(const void *m, size_t len)
{
	const uint8_t *b = m;
	size_t i;

	for (i = 0; i < len; i++)
		if (b[i])
			return 0;
	return 1;
}

TEST(a_used_pair_is_wiped)
{
	uint8_t buf[256];
	const void *m0, *m1;
	size_t len;
	struct fix f;

	fix_make(_metadata, &f, 4);
	ASSERT_EQ(2, csmp_sigpool_refill(f.pool, 2));
	m0 = csmp_sigpool_slot_mem(f.pool, 0, 0, &len);
	m1 = csmp_sigpool_slot_mem(f.pool, 0, 1, &len);
	EXPECT_FALSE(all_zero(m0, len));
	EXPECT_FALSE(all_zero(m1, len));
	ASSERT_GT(sign_one(f.signer, buf, sizeof(buf), 1), 0);
	EXPECT_TRUE(all_zero(m0, len));
	EXPECT_FALSE(all_zero(m1, len));	/* the next is still there */
	ASSERT_GT(sign_one(f.signer, buf, sizeof(buf), 2), 0);
	EXPECT_TRUE(all_zero(m1, len));
	fix_free(&f);
}

/* The VmFlags of the mapping holding addr, from /proc/self/smaps. */
static int vmflags_of(const void *addr, char *flags, size_t cap)
{
	FILE *fp = fopen("/proc/self/smaps", "r");
	unsigned long a = (unsigned long)addr, lo, hi;
	char line[512];
	int in = 0, found = -1;

	if (!fp)
		return -errno;
	while (fgets(line, sizeof(line), fp)) {
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') <
		    strchr(line, ' '))
			in = a >= lo && a < hi;
		else if (in && !strncmp(line, "VmFlags:", 8)) {
			snprintf(flags, cap, "%s", line + 8);
			found = 0;
			break;
		}
	}
	fclose(fp);
	return found;
}

TEST(ring_memory_is_locked_undumped_and_wiped_on_fork)
{
	char flags[512];
	size_t len;
	struct fix f;

	fix_make(_metadata, &f, 16);
	ASSERT_EQ(0, vmflags_of(csmp_sigpool_slot_mem(f.pool, 0, 0, &len),
				flags, sizeof(flags)));
	TH_LOG("VmFlags:%s", flags);
	EXPECT_NE(NULL, strstr(flags, " lo"));	/* VM_LOCKED */
	EXPECT_NE(NULL, strstr(flags, " dd"));	/* VM_DONTDUMP */
	EXPECT_NE(NULL, strstr(flags, " wf"));	/* VM_WIPEONFORK */
	fix_free(&f);
}

/* A child sees empty rings and zeroed slots, signs afresh, and the
 * parent's pairs stay the parent's. */
TEST(a_forked_child_never_sees_the_pairs)
{
	struct fix f;
	int status;
	pid_t pid;

	fix_make(_metadata, &f, 16);
	ASSERT_EQ(16, csmp_sigpool_refill(f.pool, 16));
	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid) {
		struct csmp_signer_stats st;
		uint8_t buf[256];
		size_t len;
		uint32_t i;
		int bad = 0;

		bad |= csmp_sigpool_avail(f.pool, 0) != 0;
		for (i = 0; i < 16; i++)
			bad |= !all_zero(csmp_sigpool_slot_mem(f.pool, 0, i,
							       &len), len);
		bad |= sign_one(f.signer, buf, sizeof(buf), 1) <= 0;
		csmp_signer_stats(f.signer, &st);
		bad |= st.pool_signs != 0 || st.pool_empty != 1;
		_exit(bad ? 1 : 0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	EXPECT_EQ(16u, csmp_sigpool_avail(f.pool, 0));
	fix_free(&f);
}

/* The harness's timeout is per fixture: give the idle thread time. */
FIXTURE(idle) {
	int unused;
};

FIXTURE_SETUP(idle)
{
}

FIXTURE_TEARDOWN(idle)
{
}

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Poll until ring 0 holds want pairs; the machine may be busy and the
 * thread runs at idle priority, so allow plenty of time. */
static int wait_avail(struct csmp_sigpool *p, uint32_t want)
{
	double t0 = mono();

	while (csmp_sigpool_avail(p, 0) < want) {
		if (mono() - t0 > 60)
			return -ETIMEDOUT;
		usleep(2000);
	}
	return 0;
}

TEST_F_TIMEOUT(idle, refill_thread_fills_at_idle_priority_and_refills, 150)
{
	static uint8_t rs[40 * 32];
	struct csmp_sigpool_stats ps;
	struct fix f;

	fix_make(_metadata, &f, 64);
	ASSERT_EQ(0, csmp_sigpool_start(f.pool));
	EXPECT_EQ(-EALREADY, csmp_sigpool_start(f.pool));
	ASSERT_EQ(0, wait_avail(f.pool, 64));
	csmp_sigpool_stats(f.pool, &ps);
	EXPECT_EQ(CSMP_SIGPOOL_SCHED_IDLE, ps.sched);
	EXPECT_EQ(64u, ps.made);	/* full: it stopped there */
	/* Below half: the producer is woken and tops the ring up. */
	sign_and_verify(_metadata, &f, 0, 40, rs);
	ASSERT_EQ(0, wait_avail(f.pool, 64));
	csmp_sigpool_stop(f.pool);
	csmp_sigpool_stats(f.pool, &ps);
	EXPECT_EQ(64u + 40u, ps.made);
	EXPECT_EQ(0u, ps.errors);
	fix_free(&f);
}

/*
 * Two workers, each with its own ring, signing while the refill thread
 * fills both: every signature verifies, no r appears twice across both,
 * and each signature is counted once, pooled or afresh.
 */
#define CONC_SIGNS	300

struct conc_arg {
	struct csmp_key *key;
	struct csmp_signer *signer;
	uint8_t rs[CONC_SIGNS * 32];
	unsigned int first;
	int bad;
};

static void *conc_worker(void *v)
{
	struct conc_arg *a = v;
	unsigned int i;

	for (i = 0; i < CONC_SIGNS; i++) {
		uint8_t buf[256], s[32];
		const uint8_t *sig;
		size_t sl, rl;
		int len = sign_one(a->signer, buf, sizeof(buf), a->first + i);

		if (len <= 0 || inner_sig(buf, (size_t)len, &sig, &sl, &rl) ||
		    !evp_verify(a->key->pkey, sig, sl, buf, rl) ||
		    sig_r_s(sig, sl, a->rs + 32 * i, s)) {
			a->bad++;
			break;
		}
	}
	return NULL;
}

TEST_F_TIMEOUT(idle, two_workers_sign_while_the_refill_thread_fills, 150)
{
	struct csmp_sigpool_opts o = { .rings = 2, .entries = 32 };
	static struct conc_arg a[2];
	static uint8_t all[2 * CONC_SIGNS * 32];
	struct csmp_signer_stats st;
	struct csmp_sigpool_stats ps;
	struct csmp_sigpool *pool;
	struct csmp_key *key;
	pthread_t th[2];
	uint64_t pooled = 0;
	int i;

	ASSERT_EQ(0, csmp_key_generate(CSMP_SUITE_P256, &key));
	ASSERT_EQ(0, csmp_sigpool_new(key, &o, &pool));
	for (i = 0; i < 2; i++) {
		a[i].key = key;
		a[i].first = (unsigned int)i * CONC_SIGNS;
		ASSERT_EQ(0, csmp_signer_new(key, 0, &a[i].signer));
		ASSERT_EQ(0, csmp_signer_set_pool(a[i].signer, pool,
						  (unsigned int)i));
	}
	ASSERT_EQ(0, csmp_sigpool_start(pool));
	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, pthread_create(&th[i], NULL, conc_worker, &a[i]));
	for (i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	csmp_sigpool_stop(pool);
	for (i = 0; i < 2; i++) {
		EXPECT_EQ(0, a[i].bad);
		csmp_signer_stats(a[i].signer, &st);
		EXPECT_EQ((uint64_t)CONC_SIGNS, st.signs);
		EXPECT_EQ((uint64_t)CONC_SIGNS, st.pool_signs + st.pool_empty);
		pooled += st.pool_signs;
		memcpy(all + i * CONC_SIGNS * 32, a[i].rs, sizeof(a[i].rs));
	}
	EXPECT_TRUE(all_distinct(all, 2 * CONC_SIGNS));
	csmp_sigpool_stats(pool, &ps);
	TH_LOG("%llu of %d signatures pooled, %llu pairs made",
	       (unsigned long long)pooled, 2 * CONC_SIGNS,
	       (unsigned long long)ps.made);
	EXPECT_EQ(pooled, ps.taken);
	EXPECT_EQ(ps.made, ps.taken + ps.avail);
	for (i = 0; i < 2; i++)
		csmp_signer_free(a[i].signer);
	csmp_sigpool_free(pool);
	csmp_key_put(key);
}

TEST(refill_thread_keeps_to_its_rate)
{
	struct csmp_sigpool_opts o = { .rings = 1, .entries = 1024, .rate = 100 };
	struct csmp_sigpool_stats ps;
	struct csmp_sigpool *pool;
	struct csmp_key *key;
	double t0, dt;

	ASSERT_EQ(0, csmp_key_generate(CSMP_SUITE_P256, &key));
	ASSERT_EQ(0, csmp_sigpool_new(key, &o, &pool));
	t0 = mono();
	ASSERT_EQ(0, csmp_sigpool_start(pool));
	usleep(300000);
	csmp_sigpool_stop(pool);
	dt = mono() - t0;
	csmp_sigpool_stats(pool, &ps);
	/* At most one batch (16) ahead of 100/s; a busy machine only
	 * makes it fewer. */
	TH_LOG("%llu pairs in %.3f s at 100/s", (unsigned long long)ps.made, dt);
	EXPECT_LE(ps.made, (uint64_t)(16 + 100 * dt + 1));
	csmp_sigpool_free(pool);
	csmp_key_put(key);
}

TEST(bad_arguments_are_refused)
{
	struct csmp_sigpool_opts o = { .rings = 2, .entries = 8 };
	struct csmp_key *ed, *other;
	struct csmp_signer *s2, *so;
	struct csmp_sigpool *p;
	uint8_t k0[32] = { 0 };
	struct fix f;

	fix_make(_metadata, &f, 8);
	ASSERT_EQ(0, csmp_key_generate(CSMP_SUITE_ED25519, &ed));
	ASSERT_EQ(0, csmp_key_generate(CSMP_SUITE_P256, &other));
	EXPECT_EQ(-EINVAL, csmp_sigpool_new(ed, &o, &p));
	o.rings = 0;
	EXPECT_EQ(-ERANGE, csmp_sigpool_new(f.key, &o, &p));
	o.rings = 1;
	o.entries = 0;
	EXPECT_EQ(-ERANGE, csmp_sigpool_new(f.key, &o, &p));

	ASSERT_EQ(0, csmp_signer_new(f.key, 0, &s2));
	ASSERT_EQ(0, csmp_signer_new(other, 0, &so));
	EXPECT_EQ(-EBUSY, csmp_signer_set_pool(s2, f.pool, 0));
	EXPECT_EQ(-ERANGE, csmp_signer_set_pool(s2, f.pool, 1));
	EXPECT_EQ(-EINVAL, csmp_signer_set_pool(so, f.pool, 0));
	/* Detached, the ring can be bound again. */
	EXPECT_EQ(0, csmp_signer_set_pool(f.signer, NULL, 0));
	EXPECT_EQ(0, csmp_signer_set_pool(s2, f.pool, 0));
	EXPECT_EQ(-EDOM, csmp_sigpool_put_k(f.pool, 0, k0));
	memset(k0, 0xff, sizeof(k0));	/* > n */
	EXPECT_EQ(-EDOM, csmp_sigpool_put_k(f.pool, 0, k0));
	csmp_signer_free(s2);
	csmp_signer_free(so);
	csmp_key_put(other);
	csmp_key_put(ed);
	fix_free(&f);
}

TEST_HARNESS_MAIN
