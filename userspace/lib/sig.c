// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * Signing and verification of CSMP payloads: the per-worker signer with
 * its downlink signature cache, and the per-worker verifier behind
 * csmp_verify_batch() with its replay cache and per-key OpenSSL contexts.
 *
 * Where the time goes: a P-256 verify is ~60 us of field arithmetic that
 * nothing here can shorten; what can be removed is everything around it
 * (key decoding, provider fetches when a context is made, allocation) and
 * whole verifications (malformed or out-of-window messages rejected first,
 * retransmissions answered from the replay cache). A region is hashed once
 * per message: SHA-256 through OpenSSL with a context kept per signer and
 * verifier (its SHA-NI/AVX2 code is ~3.5x libsodium's portable C here: 163
 * against 585 ns for 150 bytes; one fetch per process, no dispatch per
 * call). P-256 then signs and verifies the 32-byte digest, which is exactly
 * ecdsa-with-SHA256; the replay cache is found by the same digest.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#include "sig_priv.h"

_Static_assert(CSMP_R__MAX <= 256, "results[] holds reasons in a byte");

/* ------------------------------------------------------------------ */
/* Signer                                                              */

struct sign_entry {
	uint8_t digest[32];	/* SHA-256 of the signed region */
	uint8_t len;		/* 0: empty slot */
	uint8_t value[CSMP_SIG_VALUE_MAX];
};

/*
 * SHA-256 of a region. c may be NULL (a context made for the call); any
 * OpenSSL failure falls back to libsodium, so this cannot fail.
 */
static void region_digest(EVP_MD_CTX *c, const uint8_t *p, size_t len,
			  uint8_t out[32])
{
	if (csmp_sig_sha256 &&
	    (c ? EVP_DigestInit_ex2(c, csmp_sig_sha256, NULL) == 1 &&
			 EVP_DigestUpdate(c, p, len) == 1 &&
			 EVP_DigestFinal_ex(c, out, NULL) == 1 :
		 EVP_Digest(p, len, out, NULL, csmp_sig_sha256, NULL) == 1))
		return;
	ERR_clear_error();
	crypto_hash_sha256(out, p, len);
}

struct csmp_signer {
	struct csmp_key *key;
	EVP_PKEY_CTX *ctx;	/* P-256: sign-initialised once */
	EVP_MD_CTX *md;		/* SHA-256 of regions */
	struct csmp_sigpool *pool;	/* precomputed nonces, or NULL */
	unsigned int ring;
	struct sign_entry *cache;
	uint32_t mask;
	struct csmp_signer_stats st;
};

static uint32_t pow2_at_least(uint32_t n)
{
	uint32_t p = 1;

	while (p < n && p < (1u << 24))
		p <<= 1;
	return p;
}

int csmp_signer_new(struct csmp_key *key, uint32_t cache_entries,
		    struct csmp_signer **out)
{
	struct csmp_signer *s;
	int err;

	err = csmp_sig_lib_init();
	if (err)
		return err;
	if (!key || !key->has_priv)
		return -ENOKEY;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->md = EVP_MD_CTX_new();
	if (!s->md) {
		err = -ENOMEM;
		goto err_free_signer;
	}
	if (cache_entries) {
		s->mask = pow2_at_least(cache_entries) - 1;
		s->cache = calloc((size_t)s->mask + 1, sizeof(*s->cache));
		if (!s->cache) {
			err = -ENOMEM;
			goto err_free_signer;
		}
	}
	if (key->suite == CSMP_SUITE_P256) {
		s->ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key->pkey, NULL);
		if (!s->ctx) {
			err = -ENOMEM;
			goto err_free_cache;
		}
		if (EVP_PKEY_sign_init(s->ctx) <= 0) {
			err = -EIO;
			goto err_free_ctx;
		}
	}
	s->key = csmp_key_get(key);
	*out = s;
	return 0;

err_free_ctx:
	EVP_PKEY_CTX_free(s->ctx);
err_free_cache:
	free(s->cache);
err_free_signer:
	EVP_MD_CTX_free(s->md);
	free(s);
	ERR_clear_error();
	return err;
}

void csmp_signer_free(struct csmp_signer *s)
{
	if (!s)
		return;
	csmp_signer_set_pool(s, NULL, 0);
	EVP_PKEY_CTX_free(s->ctx);
	EVP_MD_CTX_free(s->md);
	free(s->cache);
	csmp_key_put(s->key);
	free(s);
}

void csmp_signer_stats(const struct csmp_signer *s,
		       struct csmp_signer_stats *st)
{
	*st = s->st;
}

int csmp_signer_set_pool(struct csmp_signer *s, struct csmp_sigpool *p,
			 unsigned int ring)
{
	int err;

	if (s->pool)
		csmp_sigpool_unbind(s->pool, s->ring);
	s->pool = NULL;
	if (!p)
		return 0;
	err = csmp_sigpool_bind(p, ring, s->key);
	if (err)
		return err;
	s->pool = p;
	s->ring = ring;
	return 0;
}

/* P-256: a pair from the pool when there is one, else a whole signature. */
static int sign_p256(struct csmp_signer *s, const uint8_t digest[32],
		     uint8_t *raw, size_t *rl)
{
	if (s->pool) {
		int err = csmp_sigpool_sign(s->pool, s->ring, digest, raw, rl);

		if (!err) {
			s->st.pool_signs++;
			return 0;
		}
		s->st.pool_empty++;
	}
	if (EVP_PKEY_sign(s->ctx, raw, rl, digest, 32) <= 0) {
		ERR_clear_error();
		return -EIO;
	}
	return 0;
}

/* Compute a fresh signature; digest = SHA-256(region). */
static int sign_now(struct csmp_signer *s, const uint8_t *region, size_t len,
		    const uint8_t digest[32], uint8_t *out)
{
	uint8_t raw[CSMP_SIG_ECDSA_DER_MAX + 8];
	size_t rl = sizeof(raw);

	if (s->key->suite == CSMP_SUITE_P256) {
		int err = sign_p256(s, digest, raw, &rl);

		if (err)
			return err;
	} else {
		unsigned long long sl;

		crypto_sign_ed25519_detached(raw, &sl, region, len,
					     s->key->ed_sk);
		rl = (size_t)sl;
	}
	s->st.signs++;
	return csmp_sig_der_build(s->key->suite, raw, rl, out,
				  CSMP_SIG_VALUE_MAX);
}

int csmp_signer_sign(struct csmp_signer *s, const uint8_t *region,
		     size_t len, uint8_t *out)
{
	uint8_t digest[32];
	struct sign_entry *e = NULL;
	uint32_t h;
	int n;

	/* Ed25519 signs the region itself: hash only for the cache. */
	if (s->cache || s->key->suite == CSMP_SUITE_P256)
		region_digest(s->md, region, len, digest);
	if (s->cache) {
		memcpy(&h, digest, sizeof(h));
		e = &s->cache[h & s->mask];
		if (e->len && !memcmp(e->digest, digest, 32)) {
			s->st.cache_hits++;
			memcpy(out, e->value, e->len);
			return e->len;
		}
		s->st.cache_misses++;
	}
	n = sign_now(s, region, len, digest, out);
	if (n > 0 && e) {
		memcpy(e->digest, digest, 32);
		memcpy(e->value, out, (size_t)n);
		e->len = (uint8_t)n;
	}
	return n;
}

int csmp_sig_append(struct csmp_signer *s, uint8_t *buf, size_t len,
		    size_t cap, uint32_t not_before, uint32_t not_after)
{
	uint8_t value[CSMP_SIG_VALUE_MAX];
	int n, vl;

	if (not_before > not_after)
		return -EINVAL;
	n = csmp_sig_put_validity(buf, len, cap, not_before, not_after);
	if (n < 0)
		return n;
	vl = csmp_signer_sign(s, buf, (size_t)n, value);
	if (vl < 0)
		return vl;
	return csmp_sig_put_signature(buf, (size_t)n, cap, value, (size_t)vl);
}

void csmp_sig_window(uint64_t now, uint32_t back, uint32_t lifetime,
		     uint32_t quantum, uint32_t *not_before,
		     uint32_t *not_after)
{
	uint64_t nb = now > back ? now - back : 0, na;

	if (quantum)
		nb -= nb % quantum;
	na = nb + (uint64_t)back + lifetime + quantum;
	*not_before = nb > UINT32_MAX ? UINT32_MAX : (uint32_t)nb;
	*not_after = na > UINT32_MAX ? UINT32_MAX : (uint32_t)na;
}

/* ------------------------------------------------------------------ */
/* Verifier                                                            */

/*
 * EVP_PKEY_CTX per key, verify-initialised once: making one costs a
 * provider fetch, locks and allocations (about 2 % of a verify), so a
 * worker keeps them for the keys it met last, direct-mapped on the key
 * object (not its id: every device has a key object of its own, even when
 * two hold the same public key) and as many as csmpd's per-worker key
 * cache holds keys. A slot holds a reference to its key, so the pointer
 * comparison stays sound. Contexts are made on first use only.
 */
#define VCTX_BITS	12
#define VCTX_SLOTS	(1u << VCTX_BITS)

struct vctx_slot {
	struct csmp_key *key;
	EVP_PKEY_CTX *ctx;
};

/*
 * What was verified, held whole rather than hashed again: a hit needs the
 * same key, the same region (its SHA-256) and the very same value bytes.
 */
struct replay_entry {
	uint8_t key_id[32];
	uint8_t digest[32];	/* SHA-256 of the region */
	uint8_t value[CSMP_SIG_VALUE_MAX];
	uint8_t value_len;
	uint8_t result;		/* CSMP_R_OK or CSMP_R_SIG_BAD; 0xff empty */
};

struct csmp_verifier {
	uint32_t skew;
	uint32_t rmask;
	struct replay_entry *replay;
	EVP_MD_CTX *md;		/* SHA-256 of regions */
	struct vctx_slot vctx[VCTX_SLOTS];
	struct csmp_verifier_stats st;
};

int csmp_verifier_new(const struct csmp_verifier_opts *opts,
		      struct csmp_verifier **out)
{
	struct csmp_verifier_opts def = { .skew = 0, .replay_entries = 1024 };
	struct csmp_verifier *v;
	uint32_t i;
	int err;

	err = csmp_sig_lib_init();
	if (err)
		return err;
	if (!opts)
		opts = &def;
	v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	v->skew = opts->skew;
	v->md = EVP_MD_CTX_new();
	if (!v->md) {
		err = -ENOMEM;
		goto err_free_verifier;
	}
	if (opts->replay_entries) {
		v->rmask = pow2_at_least(opts->replay_entries) - 1;
		v->replay = malloc(((size_t)v->rmask + 1) * sizeof(*v->replay));
		if (!v->replay) {
			err = -ENOMEM;
			goto err_free_md;
		}
		for (i = 0; i <= v->rmask; i++)
			v->replay[i].result = 0xff;
	}
	*out = v;
	return 0;

err_free_md:
	EVP_MD_CTX_free(v->md);
err_free_verifier:
	free(v);
	return err;
}

void csmp_verifier_free(struct csmp_verifier *v)
{
	unsigned int i;

	if (!v)
		return;
	for (i = 0; i < VCTX_SLOTS; i++) {
		EVP_PKEY_CTX_free(v->vctx[i].ctx);
		csmp_key_put(v->vctx[i].key);
	}
	EVP_MD_CTX_free(v->md);
	free(v->replay);
	free(v);
}

void csmp_verifier_stats(const struct csmp_verifier *v,
			 struct csmp_verifier_stats *st)
{
	*st = v->st;
}

static EVP_PKEY_CTX *vctx_new(const struct csmp_key *key)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key->pkey, NULL);

	if (ctx && EVP_PKEY_verify_init(ctx) <= 0) {
		EVP_PKEY_CTX_free(ctx);
		ctx = NULL;
	}
	return ctx;
}

static EVP_PKEY_CTX *vctx_get(struct csmp_verifier *v,
			      const struct csmp_key *key)
{
	uint64_t h = (uint64_t)(uintptr_t)key * 0x9e3779b97f4a7c15ull;
	struct vctx_slot *sl = &v->vctx[h >> (64 - VCTX_BITS)];
	EVP_PKEY_CTX *ctx;

	if (sl->key == key)
		return sl->ctx;
	ctx = vctx_new(key);
	if (!ctx)
		return NULL;
	EVP_PKEY_CTX_free(sl->ctx);
	csmp_key_put(sl->key);
	/* The slot's reference keeps the key (and so the pointer) alive. */
	sl->key = csmp_key_get((struct csmp_key *)key);
	sl->ctx = ctx;
	return ctx;
}

/* The signature itself: CSMP_R_OK or CSMP_R_SIG_BAD. */
static uint8_t verify_crypto(struct csmp_verifier *v,
			     const struct csmp_key *key,
			     const struct csmp_verify_item *it,
			     const uint8_t *sig, size_t sig_len,
			     const uint8_t digest[32])
{
	EVP_PKEY_CTX *ctx, *tmp = NULL;
	int ok;

	if (v)
		v->st.crypto++;
	if (key->suite == CSMP_SUITE_ED25519)
		return crypto_sign_ed25519_verify_detached(sig, it->region,
							   it->region_len,
							   key->pub) ?
			       CSMP_R_SIG_BAD : CSMP_R_OK;
	ctx = v ? vctx_get(v, key) : (tmp = vctx_new(key));
	ok = ctx ? EVP_PKEY_verify(ctx, sig, sig_len, digest, 32) : -1;
	EVP_PKEY_CTX_free(tmp);
	if (ok != 1)
		ERR_clear_error();
	return ok == 1 ? CSMP_R_OK : CSMP_R_SIG_BAD;
}

/* The slot for (key, region): digest and key id are uniform already. */
static struct replay_entry *replay_slot(struct csmp_verifier *v,
					const struct csmp_key *key,
					const uint8_t digest[32])
{
	uint32_t h, k;

	memcpy(&h, digest, sizeof(h));
	memcpy(&k, key->id, sizeof(k));
	return &v->replay[(h ^ k) & v->rmask];
}

static bool replay_match(const struct replay_entry *re,
			 const struct csmp_key *key,
			 const struct csmp_verify_item *it,
			 const uint8_t digest[32])
{
	return re->result != 0xff && re->value_len == it->value_len &&
	       !memcmp(re->digest, digest, 32) &&
	       !memcmp(re->key_id, key->id, 32) &&
	       !memcmp(re->value, it->value, it->value_len);
}

static void replay_store(struct replay_entry *re, const struct csmp_key *key,
			 const struct csmp_verify_item *it,
			 const uint8_t digest[32], uint8_t result)
{
	memcpy(re->key_id, key->id, 32);
	memcpy(re->digest, digest, 32);
	memcpy(re->value, it->value, it->value_len);
	re->value_len = (uint8_t)it->value_len;
	re->result = result;
}

static uint8_t verify_one(struct csmp_verifier *v,
			  struct csmp_verify_item *it, uint64_t now)
{
	const struct csmp_key *key = it->key;
	struct replay_entry *re = NULL;
	enum csmp_sig_suite suite;
	const uint8_t *sig;
	uint8_t digest[32], r;
	uint64_t skew = v ? v->skew : 0;
	size_t sig_len;
	int err;

	if (it->reason != CSMP_R_OK)
		return it->reason;
	err = csmp_sig_der_parse(it->value, it->value_len, &suite, &sig,
				 &sig_len);
	if (!err && it->not_before > it->not_after)
		err = -ETIME;
	if (err) {
		it->err = err;
		return CSMP_R_SIG_MALFORMED;
	}
	if (!key)
		return CSMP_R_SIG_UNKNOWN_KEY;
	if (now + skew < it->not_before)
		return CSMP_R_SIG_NOT_YET;
	if (now > (uint64_t)it->not_after + skew)
		return CSMP_R_SIG_EXPIRED;
	if (suite != key->suite)
		return CSMP_R_SIG_BAD;	/* no crypto can make it verify */

	/* Ed25519 hashes the region itself; the digest is for the cache. */
	if (suite == CSMP_SUITE_P256 || (v && v->replay)) {
		region_digest(v ? v->md : NULL, it->region, it->region_len,
			      digest);
		if (v)
			v->st.digests++;
	}
	if (v && v->replay) {
		re = replay_slot(v, key, digest);
		if (replay_match(re, key, it, digest)) {
			v->st.replay_hits++;
			return re->result;
		}
		v->st.replay_misses++;
	}
	r = verify_crypto(v, key, it, sig, sig_len, digest);
	if (re)
		replay_store(re, key, it, digest, r);
	return r;
}

enum csmp_reason csmp_verify_item_init(struct csmp_verify_item *item,
				       const uint8_t *payload, size_t len,
				       const struct csmp_key *key)
{
	struct csmp_sig_loc loc;

	csmp_sig_locate(payload, len, &loc);
	memset(item, 0, offsetof(struct csmp_verify_item, user));
	item->key = key;
	item->reason = loc.reason;
	item->err = loc.err;
	if (loc.reason != CSMP_R_OK)
		return loc.reason;
	item->region = payload;
	item->region_len = loc.region_len;
	item->value = loc.value;
	item->value_len = loc.value_len;
	item->not_before = loc.not_before;
	item->not_after = loc.not_after;
	return CSMP_R_OK;
}

int csmp_verify_batch(struct csmp_verifier *v, struct csmp_verify_item *items,
		      unsigned int n, uint8_t *results, uint64_t now)
{
	unsigned int i;
	int ok = 0;

	for (i = 0; i < n; i++) {
		results[i] = verify_one(v, &items[i], now);
		if (v)
			v->st.by_reason[results[i]]++;
		ok += results[i] == CSMP_R_OK;
	}
	return ok;
}

enum csmp_reason csmp_sig_check(struct csmp_verifier *v,
				const struct csmp_key *key,
				const uint8_t *payload, size_t len, uint64_t now)
{
	struct csmp_verify_item it;
	uint8_t r;

	csmp_verify_item_init(&it, payload, len, key);
	csmp_verify_batch(v, &it, 1, &r, now);
	return (enum csmp_reason)r;
}
