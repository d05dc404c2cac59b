// SPDX-License-Identifier: GPL-2.0-only
/*
 * Signature keys and interoperability with OpenSSL's own tools: our PEM
 * read by `openssl`, keys made by `openssl` read by us, our signatures
 * checked by `openssl dgst`/`pkeyutl` over the extracted region, and
 * `openssl`'s signatures checked by us. Also the raw SEC1 / Ed25519 forms
 * and the bounded key cache by EID.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <linux/types.h>
#include "kselftest_harness.h"
#include "sig.h"

#define NOW	1600000000u

static const uint8_t body[] = {
	0x0d, 0x09, 0x08, 0x14, 0x12, 0x01, 0x32, 0x12, 0x02, 0x32, 0x32,
	0x07, 0x03, 0x0a, 0x01, 0x31,
};

FIXTURE(tmp) {
	char dir[64];
	char path[8][128];
};

FIXTURE_SETUP(tmp)
{
	char dir[sizeof(self->dir)] = "/tmp/csmp-test-sig-XXXXXX";
	int i;

	ASSERT_NE(NULL, mkdtemp(dir));
	strcpy(self->dir, dir);
	for (i = 0; i < 8; i++)
		snprintf(self->path[i], sizeof(self->path[i]), "%s/f%d", dir,
			 i);
}

FIXTURE_TEARDOWN(tmp)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", self->dir);
	if (system(cmd))
		TH_LOG("could not remove %s", self->dir);
}

/* Run a shell command quietly; its exit status. */
static int sh(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	strncat(cmd, " >/dev/null 2>&1", sizeof(cmd) - strlen(cmd) - 1);
	st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int write_file(const char *path, const uint8_t *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	size_t w;

	if (!f)
		return -1;
	w = fwrite(p, 1, n, f);
	return fclose(f) == 0 && w == n ? 0 : -1;
}

static int read_file(const char *path, uint8_t *p, size_t cap)
{
	FILE *f = fopen(path, "rb");
	size_t n;

	if (!f)
		return -1;
	n = fread(p, 1, cap, f);
	fclose(f);
	return (int)n;
}

static void keygen_pem_round_trip(struct __test_metadata *_metadata,
				  FIXTURE_DATA(tmp) *self,
				  enum csmp_sig_suite suite)
{
	struct csmp_key *k, *priv, *pub;
	struct stat st;

	ASSERT_EQ(0, csmp_key_generate(suite, &k));
	ASSERT_EQ(0, csmp_key_write_pem(k, self->path[0], self->path[1]));
	ASSERT_EQ(0, stat(self->path[0], &st));
	EXPECT_EQ(0600u, st.st_mode & 0777);
	/* Never overwrite a key. */
	EXPECT_EQ(-EEXIST, csmp_key_write_pem(k, self->path[0], NULL));

	ASSERT_EQ(0, csmp_key_load_pem(self->path[0], &priv));
	ASSERT_EQ(0, csmp_key_load_pem(self->path[1], &pub));
	EXPECT_TRUE(csmp_key_has_private(priv));
	EXPECT_FALSE(csmp_key_has_private(pub));
	EXPECT_EQ((int)suite, (int)csmp_key_suite(priv));
	EXPECT_EQ(0, memcmp(csmp_key_id(k), csmp_key_id(priv), 32));
	EXPECT_EQ(0, memcmp(csmp_key_id(k), csmp_key_id(pub), 32));
	/* A public key cannot be written as a private one. */
	EXPECT_EQ(-ENOKEY, csmp_key_write_pem(pub, self->path[2], NULL));

	/* OpenSSL reads what we wrote. */
	EXPECT_EQ(0, sh("openssl pkey -in %s -noout", self->path[0]));
	EXPECT_EQ(0, sh("openssl pkey -pubin -in %s -noout", self->path[1]));
	csmp_key_put(pub);
	csmp_key_put(priv);
	csmp_key_put(k);
}

TEST_F(tmp, p256_keygen_pem_round_trip)
{
	keygen_pem_round_trip(_metadata, self, CSMP_SUITE_P256);
}

TEST_F(tmp, ed25519_keygen_pem_round_trip)
{
	keygen_pem_round_trip(_metadata, self, CSMP_SUITE_ED25519);
}

TEST_F(tmp, keys_made_by_openssl_load)
{
	struct csmp_key *k;
	static const char junk[] = "-----BEGIN NOTHING-----\nAAAA\n";

	/* SEC1 "EC PRIVATE KEY", PKCS#8 Ed25519, and a P-384 key. */
	ASSERT_EQ(0, sh("openssl ecparam -name prime256v1 -genkey -noout -out %s",
			self->path[0]));
	ASSERT_EQ(0, sh("openssl genpkey -algorithm ed25519 -out %s",
			self->path[1]));
	ASSERT_EQ(0, sh("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out %s",
			self->path[2]));
	ASSERT_EQ(0, sh("openssl pkey -in %s -pubout -out %s", self->path[1],
			self->path[3]));

	ASSERT_EQ(0, csmp_key_load_pem(self->path[0], &k));
	EXPECT_EQ(CSMP_SUITE_P256, (int)csmp_key_suite(k));
	EXPECT_TRUE(csmp_key_has_private(k));
	csmp_key_put(k);
	ASSERT_EQ(0, csmp_key_load_pem(self->path[1], &k));
	EXPECT_EQ(CSMP_SUITE_ED25519, (int)csmp_key_suite(k));
	csmp_key_put(k);
	ASSERT_EQ(0, csmp_key_load_pem(self->path[3], &k));
	EXPECT_FALSE(csmp_key_has_private(k));
	csmp_key_put(k);
	EXPECT_EQ(-EPROTONOSUPPORT, csmp_key_load_pem(self->path[2], &k));
	EXPECT_EQ(-EBADMSG, csmp_key_from_pem(junk, sizeof(junk) - 1, &k));
	EXPECT_EQ(-ENOENT, csmp_key_load_pem(self->path[7], &k));
}

/*
 * Sign with our API, hand the region and the inner signature to OpenSSL's
 * command-line verifier; a changed region must then fail there too.
 */
static void openssl_verifies_ours(struct __test_metadata *_metadata,
				  FIXTURE_DATA(tmp) *self,
				  enum csmp_sig_suite suite)
{
	struct csmp_key *k;
	struct csmp_signer *s;
	struct csmp_sig_loc loc;
	uint8_t buf[256];
	int n;

	ASSERT_EQ(0, csmp_key_generate(suite, &k));
	ASSERT_EQ(0, csmp_key_write_pem(k, NULL, self->path[0]));
	ASSERT_EQ(0, csmp_signer_new(k, 0, &s));
	memcpy(buf, body, sizeof(body));
	n = csmp_sig_append(s, buf, sizeof(body), sizeof(buf), NOW, NOW + 60);
	ASSERT_GT(n, 0);
	ASSERT_EQ(0, csmp_sig_locate(buf, (size_t)n, &loc));
	ASSERT_EQ(0, write_file(self->path[1], buf, loc.region_len));
	ASSERT_EQ(0, write_file(self->path[2], loc.sig, loc.sig_len));
	if (suite == CSMP_SUITE_P256) {
		EXPECT_EQ(0, sh("openssl dgst -sha256 -verify %s -signature %s %s",
				self->path[0], self->path[2], self->path[1]));
	} else {
		EXPECT_EQ(0, sh("openssl pkeyutl -verify -pubin -inkey %s -rawin -in %s -sigfile %s",
				self->path[0], self->path[1], self->path[2]));
	}
	buf[2] ^= 1;
	ASSERT_EQ(0, write_file(self->path[1], buf, loc.region_len));
	if (suite == CSMP_SUITE_P256) {
		EXPECT_NE(0, sh("openssl dgst -sha256 -verify %s -signature %s %s",
				self->path[0], self->path[2], self->path[1]));
	} else {
		EXPECT_NE(0, sh("openssl pkeyutl -verify -pubin -inkey %s -rawin -in %s -sigfile %s",
				self->path[0], self->path[1], self->path[2]));
	}
	csmp_signer_free(s);
	csmp_key_put(k);
}

TEST_F(tmp, openssl_cli_verifies_our_p256_signature)
{
	openssl_verifies_ours(_metadata, self, CSMP_SUITE_P256);
}

TEST_F(tmp, openssl_cli_verifies_our_ed25519_signature)
{
	openssl_verifies_ours(_metadata, self, CSMP_SUITE_ED25519);
}

/* The other way: OpenSSL signs the region, we wrap and verify. */
TEST_F(tmp, we_verify_openssl_cli_p256_signature)
{
	uint8_t buf[256], der[128], value[CSMP_SIG_VALUE_MAX];
	struct csmp_key *pub;
	int n, dl, vl;

	ASSERT_EQ(0, sh("openssl ecparam -name prime256v1 -genkey -noout -out %s",
			self->path[0]));
	ASSERT_EQ(0, sh("openssl pkey -in %s -pubout -out %s", self->path[0],
			self->path[1]));
	memcpy(buf, body, sizeof(body));
	n = csmp_sig_put_validity(buf, sizeof(body), sizeof(buf), NOW, NOW + 1);
	ASSERT_GT(n, 0);
	ASSERT_EQ(0, write_file(self->path[2], buf, (size_t)n));
	ASSERT_EQ(0, sh("openssl dgst -sha256 -sign %s -out %s %s",
			self->path[0], self->path[3], self->path[2]));
	dl = read_file(self->path[3], der, sizeof(der));
	ASSERT_GE(dl, 8);
	vl = csmp_sig_der_build(CSMP_SUITE_P256, der, (size_t)dl, value,
				sizeof(value));
	ASSERT_GT(vl, 0);
	n = csmp_sig_put_signature(buf, (size_t)n, sizeof(buf), value,
				   (size_t)vl);
	ASSERT_GT(n, 0);
	ASSERT_EQ(0, csmp_key_load_pem(self->path[1], &pub));
	EXPECT_EQ(CSMP_R_OK, (int)csmp_sig_check(NULL, pub, buf, (size_t)n,
						 NOW));
	buf[0] ^= 1;
	EXPECT_EQ(CSMP_R_SIG_BAD, (int)csmp_sig_check(NULL, pub, buf,
						      (size_t)n, NOW));
	csmp_key_put(pub);
}

TEST(raw_public_keys)
{
	struct csmp_key *k, *r;
	uint8_t raw[CSMP_SIG_PUB_MAX], id[32] = { 0 };

	ASSERT_EQ(0, csmp_key_generate(CSMP_SUITE_P256, &k));
	ASSERT_EQ(65, csmp_key_public_raw(k, raw, sizeof(raw)));
	EXPECT_EQ(0x04, raw[0]);
	EXPECT_EQ(-ENOSPC, csmp_key_public_raw(k, raw, 64));
	EXPECT_EQ(-EINVAL, csmp_key_from_raw(CSMP_SUITE_P256, raw, 64, &r));
	raw[0] = 0x02;	/* compressed prefix: not the agent's form */
	EXPECT_EQ(-EINVAL, csmp_key_from_raw(CSMP_SUITE_P256, raw, 65, &r));
	raw[0] = 0x04;
	raw[64] ^= 1;	/* Y no longer matches X: off the curve */
	EXPECT_EQ(-EKEYREJECTED,
		  csmp_key_from_raw(CSMP_SUITE_P256, raw, 65, &r));
	raw[64] ^= 1;
	ASSERT_EQ(0, csmp_key_from_raw(CSMP_SUITE_P256, raw, 65, &r));
	EXPECT_EQ(0, memcmp(csmp_key_id(k), csmp_key_id(r), 32));
	EXPECT_NE(0, memcmp(csmp_key_id(k), id, 32));
	csmp_key_put(r);
	csmp_key_put(k);

	/* Ed25519: 32 bytes; the identity point (small order) is refused. */
	memset(raw, 0, 32);
	raw[0] = 0x01;
	EXPECT_EQ(-EKEYREJECTED,
		  csmp_key_from_raw(CSMP_SUITE_ED25519, raw, 32, &r));
	EXPECT_EQ(-EINVAL, csmp_key_from_raw(CSMP_SUITE_ED25519, raw, 31, &r));
	EXPECT_EQ(-EPROTONOSUPPORT,
		  csmp_key_from_raw(CSMP_SUITE_NONE, raw, 32, &r));
}

TEST(key_cache_is_bounded_lru)
{
	struct csmp_keycache *kc;
	struct csmp_keycache_stats st;
	struct csmp_key *k[6];
	int i;

	for (i = 0; i < 6; i++)
		ASSERT_EQ(0, csmp_key_generate(i & 1 ? CSMP_SUITE_ED25519 :
						       CSMP_SUITE_P256, &k[i]));
	EXPECT_EQ(-EINVAL, csmp_keycache_new(0, &kc));
	ASSERT_EQ(0, csmp_keycache_new(4, &kc));
	for (i = 0; i < 4; i++)
		ASSERT_EQ(0, csmp_keycache_put(kc, 100 + i, k[i]));
	/* Touch 100 so that 101 is the least recently used. */
	EXPECT_EQ(k[0], csmp_keycache_lookup(kc, 100));
	ASSERT_EQ(0, csmp_keycache_put(kc, 104, k[4]));
	EXPECT_EQ(NULL, csmp_keycache_lookup(kc, 101));
	EXPECT_EQ(k[0], csmp_keycache_lookup(kc, 100));
	EXPECT_EQ(k[4], csmp_keycache_lookup(kc, 104));
	/* Replace in place: no eviction. */
	ASSERT_EQ(0, csmp_keycache_put(kc, 102, k[5]));
	EXPECT_EQ(k[5], csmp_keycache_lookup(kc, 102));
	EXPECT_EQ(0, csmp_keycache_del(kc, 102));
	EXPECT_EQ(-ENOENT, csmp_keycache_del(kc, 102));
	EXPECT_EQ(NULL, csmp_keycache_lookup(kc, 102));
	csmp_keycache_stats(kc, &st);
	EXPECT_EQ(3u, st.count);
	EXPECT_EQ(4u, st.capacity);
	EXPECT_EQ(1u, st.evictions);
	EXPECT_EQ(4u, st.hits);
	EXPECT_EQ(2u, st.misses);
	/* The cache holds its own references. */
	for (i = 0; i < 6; i++)
		csmp_key_put(k[i]);
	EXPECT_EQ(CSMP_SUITE_P256, (int)csmp_key_suite(
					   csmp_keycache_lookup(kc, 100)));
	csmp_keycache_free(kc);
	csmp_keycache_free(NULL);
}

/* Many EIDs through a small cache, checked against a plain model. */
TEST(key_cache_matches_model)
{
	enum { CAP = 64, N = 5000, SPACE = 200 };
	struct csmp_keycache *kc;
	struct csmp_key *keys[4];
	uint64_t model_eid[CAP];
	struct csmp_key *model_key[CAP];
	uint64_t model_age[CAP];
	uint64_t clock = 0, x = 12345;
	int i, j, m = 0;

	for (i = 0; i < 4; i++)
		ASSERT_EQ(0, csmp_key_generate(CSMP_SUITE_ED25519, &keys[i]));
	ASSERT_EQ(0, csmp_keycache_new(CAP, &kc));
	for (i = 0; i < N; i++) {
		uint64_t eid;
		int op, found = -1;

		x = x * 6364136223846793005ull + 1442695040888963407ull;
		eid = (x >> 33) % SPACE;
		op = (int)((x >> 20) % 4);
		for (j = 0; j < m; j++)
			if (model_eid[j] == eid)
				found = j;
		if (op == 0 && found >= 0) {
			ASSERT_EQ(0, csmp_keycache_del(kc, eid));
			model_eid[found] = model_eid[m - 1];
			model_key[found] = model_key[m - 1];
			model_age[found] = model_age[m - 1];
			m--;
		} else if (op == 1) {
			struct csmp_key *k = keys[(x >> 40) % 4];

			ASSERT_EQ(0, csmp_keycache_put(kc, eid, k));
			if (found < 0 && m == CAP) {
				int old = 0;

				for (j = 1; j < m; j++)
					if (model_age[j] < model_age[old])
						old = j;
				found = old;
			} else if (found < 0) {
				found = m++;
			}
			model_eid[found] = eid;
			model_key[found] = k;
			model_age[found] = ++clock;
		} else {
			struct csmp_key *got = csmp_keycache_lookup(kc, eid);

			ASSERT_EQ(found >= 0 ? model_key[found] : NULL, got);
			if (found >= 0)
				model_age[found] = ++clock;
		}
	}
	csmp_keycache_free(kc);
	for (i = 0; i < 4; i++)
		csmp_key_put(keys[i]);
}

TEST_HARNESS_MAIN
