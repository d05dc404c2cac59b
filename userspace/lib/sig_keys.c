// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * Signature keys: loading (PEM through OpenSSL's decoders, the agent's raw
 * 65-byte SEC1 point, raw Ed25519), generation and PEM output for
 * `csmpctl keygen`, and the per-worker cache of device keys by EID.
 *
 * Parsing a key in OpenSSL 3 costs far more than a verification's set-up
 * (provider lookups, decoder chains), so keys are parsed once and kept:
 * the cache turns a device's stored raw key into a ready EVP_PKEY at most
 * once per eviction. Ed25519 keys go to libsodium (faster than OpenSSL's
 * Ed25519 here, platform notes); OpenSSL only reads and writes their PEM.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <linux/types.h>

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include <csmp/siphash.h>

#include "sig_priv.h"

static pthread_once_t lib_once = PTHREAD_ONCE_INIT;
static int lib_err;
EVP_MD *csmp_sig_sha256;

static void lib_init_once(void)
{
	lib_err = sodium_init() < 0 ? -EIO : 0;
	/* Fetched once: a fetch per digest would cost more than the hash.
	 * NULL (no default provider) leaves libsodium's SHA-256 in use. */
	csmp_sig_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	ERR_clear_error();
}

int csmp_sig_lib_init(void)
{
	pthread_once(&lib_once, lib_init_once);
	return lib_err;
}

static struct csmp_key *key_alloc(enum csmp_sig_suite suite)
{
	struct csmp_key *k = calloc(1, sizeof(*k));

	if (!k)
		return NULL;
	k->refs = 1;
	k->suite = suite;
	return k;
}

static void key_set_id(struct csmp_key *k)
{
	crypto_hash_sha256_state st;
	uint8_t s = (uint8_t)k->suite;

	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, &s, 1);
	crypto_hash_sha256_update(&st, k->pub, k->pub_len);
	crypto_hash_sha256_final(&st, k->id);
}

struct csmp_key *csmp_key_get(struct csmp_key *key)
{
	if (key)
		__atomic_add_fetch(&key->refs, 1, __ATOMIC_RELAXED);
	return key;
}

void csmp_key_put(struct csmp_key *key)
{
	if (!key || __atomic_sub_fetch(&key->refs, 1, __ATOMIC_ACQ_REL))
		return;
	EVP_PKEY_free(key->pkey);
	sodium_memzero(key->ed_sk, sizeof(key->ed_sk));
	free(key);
}

enum csmp_sig_suite csmp_key_suite(const struct csmp_key *key)
{
	return key->suite;
}

bool csmp_key_has_private(const struct csmp_key *key)
{
	return key->has_priv;
}

const uint8_t *csmp_key_id(const struct csmp_key *key)
{
	return key->id;
}

int csmp_key_public_raw(const struct csmp_key *key, uint8_t *out, size_t cap)
{
	if (cap < key->pub_len)
		return -ENOSPC;
	memcpy(out, key->pub, key->pub_len);
	return key->pub_len;
}

/* 0x04 || X || Y whatever point format the key was stored with. */
static int p256_pub_raw(EVP_PKEY *pkey, uint8_t out[CSMP_SIG_P256_PUB_LEN])
{
	BIGNUM *x = NULL, *y = NULL;
	int err = -EKEYREJECTED;

	if (!EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_X, &x) ||
	    !EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, &y))
		goto out_free;
	out[0] = 0x04;
	if (BN_bn2binpad(x, out + 1, 32) != 32 ||
	    BN_bn2binpad(y, out + 33, 32) != 32)
		goto out_free;
	err = 0;
out_free:
	BN_free(x);
	BN_free(y);
	return err;
}

/* Take ownership of pkey (freed on error) and make a key of it. */
static int key_from_evp(EVP_PKEY *pkey, bool priv, struct csmp_key **out)
{
	struct csmp_key *k = NULL;
	char group[32];
	int err;

	switch (EVP_PKEY_get_base_id(pkey)) {
	case EVP_PKEY_EC:
		if (!EVP_PKEY_get_utf8_string_param(pkey,
						    OSSL_PKEY_PARAM_GROUP_NAME,
						    group, sizeof(group), NULL) ||
		    strcmp(group, "prime256v1")) {
			err = -EPROTONOSUPPORT;
			goto err_free_pkey;
		}
		k = key_alloc(CSMP_SUITE_P256);
		if (!k) {
			err = -ENOMEM;
			goto err_free_pkey;
		}
		err = p256_pub_raw(pkey, k->pub);
		if (err)
			goto err_free_key;
		k->pub_len = CSMP_SIG_P256_PUB_LEN;
		k->pkey = pkey;
		break;
	case EVP_PKEY_ED25519: {
		uint8_t seed[32], pk[32];
		size_t n = sizeof(pk);

		k = key_alloc(CSMP_SUITE_ED25519);
		if (!k) {
			err = -ENOMEM;
			goto err_free_pkey;
		}
		err = -EKEYREJECTED;
		if (!EVP_PKEY_get_raw_public_key(pkey, pk, &n) || n != 32)
			goto err_free_key;
		if (priv) {
			n = sizeof(seed);
			if (!EVP_PKEY_get_raw_private_key(pkey, seed, &n) ||
			    n != 32)
				goto err_free_key;
			crypto_sign_ed25519_seed_keypair(k->pub, k->ed_sk, seed);
			sodium_memzero(seed, sizeof(seed));
			if (memcmp(k->pub, pk, 32))
				goto err_free_key;
		} else {
			if (!crypto_core_ed25519_is_valid_point(pk))
				goto err_free_key;
			memcpy(k->pub, pk, 32);
		}
		k->pub_len = CSMP_SIG_ED25519_PUB_LEN;
		EVP_PKEY_free(pkey);
		break;
	}
	default:
		err = -EPROTONOSUPPORT;
		goto err_free_pkey;
	}
	k->has_priv = priv;
	key_set_id(k);
	*out = k;
	return 0;

err_free_key:
	csmp_key_put(k);
err_free_pkey:
	EVP_PKEY_free(pkey);
	return err;
}

/* Never prompt for a passphrase: an encrypted key is simply refused. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	return -1;
}

int csmp_key_from_pem(const char *pem, size_t len, struct csmp_key **out)
{
	EVP_PKEY *pkey = NULL;
	bool priv = true;
	BIO *bio;
	int err;

	err = csmp_sig_lib_init();
	if (err)
		return err;
	if (len > INT32_MAX)
		return -EFBIG;
	bio = BIO_new_mem_buf(pem, (int)len);
	if (!bio)
		return -ENOMEM;
	pkey = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
	if (!pkey) {
		priv = false;
		BIO_reset(bio);
		pkey = PEM_read_bio_PUBKEY(bio, NULL, no_passphrase, NULL);
	}
	BIO_free(bio);
	ERR_clear_error();	/* the failed first try leaves errors queued */
	if (!pkey)
		return -EBADMSG;
	return key_from_evp(pkey, priv, out);
}

int csmp_key_load_pem(const char *path, struct csmp_key **out)
{
	char buf[16384];
	ssize_t n;
	size_t len = 0;
	int fd, err;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (len < sizeof(buf)) {
		n = read(fd, buf + len, sizeof(buf) - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			goto out_close;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	err = len == sizeof(buf) ? -EFBIG : csmp_key_from_pem(buf, len, out);
out_close:
	OPENSSL_cleanse(buf, sizeof(buf));
	close(fd);
	return err;
}

int csmp_key_from_raw(enum csmp_sig_suite suite, const uint8_t *pub,
		      size_t len, struct csmp_key **out)
{
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;
	struct csmp_key *k;
	int err;

	err = csmp_sig_lib_init();
	if (err)
		return err;
	if (suite == CSMP_SUITE_ED25519) {
		if (len != CSMP_SIG_ED25519_PUB_LEN)
			return -EINVAL;
		/* Small-order and non-canonical keys would never verify. */
		if (!crypto_core_ed25519_is_valid_point(pub))
			return -EKEYREJECTED;
		k = key_alloc(suite);
		if (!k)
			return -ENOMEM;
		memcpy(k->pub, pub, len);
		k->pub_len = (uint8_t)len;
		key_set_id(k);
		*out = k;
		return 0;
	}
	if (suite != CSMP_SUITE_P256)
		return -EPROTONOSUPPORT;
	if (len != CSMP_SIG_P256_PUB_LEN || pub[0] != 0x04)
		return -EINVAL;

	err = -ENOMEM;
	bld = OSSL_PARAM_BLD_new();
	if (!bld)
		goto out;
	if (!OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
					     "prime256v1", 0) ||
	    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY,
					      pub, len))
		goto out;
	params = OSSL_PARAM_BLD_to_param(bld);
	ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	if (!params || !ctx)
		goto out;
	/* Decoding the point checks that it lies on the curve. */
	err = -EKEYREJECTED;
	if (EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
		goto out;
	err = key_from_evp(pkey, false, out);
	pkey = NULL;
out:
	ERR_clear_error();
	EVP_PKEY_free(pkey);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	return err;
}

int csmp_key_generate(enum csmp_sig_suite suite, struct csmp_key **out)
{
	struct csmp_key *k;
	EVP_PKEY *pkey;
	int err;

	err = csmp_sig_lib_init();
	if (err)
		return err;
	switch (suite) {
	case CSMP_SUITE_P256:
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		if (!pkey)
			return -EIO;
		return key_from_evp(pkey, true, out);
	case CSMP_SUITE_ED25519:
		k = key_alloc(suite);
		if (!k)
			return -ENOMEM;
		crypto_sign_ed25519_keypair(k->pub, k->ed_sk);
		k->pub_len = CSMP_SIG_ED25519_PUB_LEN;
		k->has_priv = true;
		key_set_id(k);
		*out = k;
		return 0;
	default:
		return -EPROTONOSUPPORT;
	}
}

/* An EVP_PKEY for PEM output (Ed25519 keys live in libsodium form). */
static EVP_PKEY *key_evp(const struct csmp_key *key, bool priv)
{
	if (key->suite == CSMP_SUITE_P256) {
		EVP_PKEY_up_ref(key->pkey);
		return key->pkey;
	}
	if (priv)
		return EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL,
						    key->ed_sk, 32);
	return EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, key->pub,
					   32);
}

static int write_all(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n) {
		w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int write_pem(const struct csmp_key *key, bool priv, const char *path)
{
	EVP_PKEY *pkey;
	char *data;
	long n;
	BIO *bio;
	int fd, err, ok;

	pkey = key_evp(key, priv);
	if (!pkey)
		return -ENOMEM;
	err = -ENOMEM;
	bio = BIO_new(BIO_s_secmem());
	if (!bio)
		goto out_free_pkey;
	ok = priv ? PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL,
					     NULL)
		  : PEM_write_bio_PUBKEY(bio, pkey);
	err = -EIO;
	if (!ok)
		goto out_free_bio;
	n = BIO_get_mem_data(bio, &data);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
		  priv ? 0600 : 0644);
	if (fd < 0) {
		err = -errno;
		goto out_free_bio;
	}
	err = write_all(fd, data, (size_t)n);
	if (!err && fsync(fd))
		err = -errno;
	if (close(fd) && !err)
		err = -errno;
	if (err)
		unlink(path);
out_free_bio:
	BIO_free(bio);
out_free_pkey:
	EVP_PKEY_free(pkey);
	ERR_clear_error();
	return err;
}

int csmp_key_write_pem(const struct csmp_key *key, const char *priv_path,
		       const char *pub_path)
{
	int err;

	if (priv_path && !key->has_priv)
		return -ENOKEY;
	if (priv_path) {
		err = write_pem(key, true, priv_path);
		if (err)
			return err;
	}
	if (pub_path) {
		err = write_pem(key, false, pub_path);
		if (err) {
			if (priv_path)
				unlink(priv_path);
			return err;
		}
	}
	return 0;
}

/*
 * The key cache: a fixed array of entries, hash buckets chained through
 * entry indices, and an LRU list through the same entries. Everything is
 * allocated at creation, so lookups and inserts never allocate and the
 * memory is bounded by `capacity`. The bucket hash is SipHash under a
 * random key: EIDs are chosen by whoever sends, so a predictable hash
 * would let them pile into one chain.
 */
#define KC_NIL	UINT32_MAX

struct kc_entry {
	uint64_t eid;
	struct csmp_key *key;	/* NULL: entry free */
	uint32_t hnext;
	uint32_t prev, next;	/* LRU: head is most recent */
};

struct csmp_keycache {
	struct kc_entry *e;
	uint32_t *bucket;
	uint32_t mask;
	uint32_t capacity, count;
	uint32_t head, tail, free;
	uint64_t k0, k1;
	uint64_t hits, misses, evictions;
};

int csmp_keycache_new(uint32_t capacity, struct csmp_keycache **out)
{
	struct csmp_keycache *kc;
	uint32_t nb = 1, i;
	int err;

	err = csmp_sig_lib_init();
	if (err)
		return err;
	if (capacity == 0 || capacity > (1u << 30))
		return -EINVAL;
	while (nb < capacity)
		nb <<= 1;
	kc = calloc(1, sizeof(*kc));
	if (!kc)
		return -ENOMEM;
	kc->e = calloc(capacity, sizeof(*kc->e));
	kc->bucket = malloc(sizeof(*kc->bucket) * nb);
	if (!kc->e || !kc->bucket) {
		csmp_keycache_free(kc);
		return -ENOMEM;
	}
	for (i = 0; i < nb; i++)
		kc->bucket[i] = KC_NIL;
	for (i = 0; i < capacity; i++)
		kc->e[i].hnext = i + 1 < capacity ? i + 1 : KC_NIL;
	kc->free = 0;
	kc->mask = nb - 1;
	kc->capacity = capacity;
	kc->head = kc->tail = KC_NIL;
	randombytes_buf(&kc->k0, sizeof(kc->k0));
	randombytes_buf(&kc->k1, sizeof(kc->k1));
	*out = kc;
	return 0;
}

void csmp_keycache_free(struct csmp_keycache *kc)
{
	uint32_t i;

	if (!kc)
		return;
	if (kc->e)
		for (i = 0; i < kc->capacity; i++)
			csmp_key_put(kc->e[i].key);
	free(kc->e);
	free(kc->bucket);
	free(kc);
}

static uint32_t *kc_slot(struct csmp_keycache *kc, uint64_t eid)
{
	return &kc->bucket[csmp_eid_siphash(kc->k0, kc->k1, eid) & kc->mask];
}

static void lru_unlink(struct csmp_keycache *kc, uint32_t i)
{
	struct kc_entry *x = &kc->e[i];

	if (x->prev != KC_NIL)
		kc->e[x->prev].next = x->next;
	else
		kc->head = x->next;
	if (x->next != KC_NIL)
		kc->e[x->next].prev = x->prev;
	else
		kc->tail = x->prev;
}

static void lru_push(struct csmp_keycache *kc, uint32_t i)
{
	struct kc_entry *x = &kc->e[i];

	x->prev = KC_NIL;
	x->next = kc->head;
	if (kc->head != KC_NIL)
		kc->e[kc->head].prev = i;
	kc->head = i;
	if (kc->tail == KC_NIL)
		kc->tail = i;
}

/* Index of the entry for eid and the link that points at it. */
static uint32_t kc_find(struct csmp_keycache *kc, uint64_t eid,
			uint32_t **link)
{
	uint32_t *l = kc_slot(kc, eid);

	while (*l != KC_NIL && kc->e[*l].eid != eid)
		l = &kc->e[*l].hnext;
	if (link)
		*link = l;
	return *l;
}

static void kc_remove(struct csmp_keycache *kc, uint32_t i, uint32_t *link)
{
	struct kc_entry *x = &kc->e[i];

	*link = x->hnext;
	lru_unlink(kc, i);
	csmp_key_put(x->key);
	x->key = NULL;
	x->hnext = kc->free;
	kc->free = i;
	kc->count--;
}

struct csmp_key *csmp_keycache_lookup(struct csmp_keycache *kc, uint64_t eid)
{
	uint32_t i = kc_find(kc, eid, NULL);

	if (i == KC_NIL) {
		kc->misses++;
		return NULL;
	}
	kc->hits++;
	if (kc->head != i) {
		lru_unlink(kc, i);
		lru_push(kc, i);
	}
	return kc->e[i].key;
}

int csmp_keycache_put(struct csmp_keycache *kc, uint64_t eid,
		      struct csmp_key *key)
{
	uint32_t *link, i;

	if (!key)
		return -EINVAL;
	i = kc_find(kc, eid, &link);
	if (i != KC_NIL) {
		csmp_key_get(key);
		csmp_key_put(kc->e[i].key);
		kc->e[i].key = key;
		lru_unlink(kc, i);
		lru_push(kc, i);
		return 0;
	}
	if (kc->free == KC_NIL) {
		uint32_t victim = kc->tail, *vl;

		kc_find(kc, kc->e[victim].eid, &vl);
		kc_remove(kc, victim, vl);
		kc->evictions++;
		/* The victim may have been on our chain: find the end again. */
		kc_find(kc, eid, &link);
	}
	i = kc->free;
	kc->free = kc->e[i].hnext;
	kc->e[i].eid = eid;
	kc->e[i].key = csmp_key_get(key);
	kc->e[i].hnext = KC_NIL;
	*link = i;
	lru_push(kc, i);
	kc->count++;
	return 0;
}

int csmp_keycache_put_raw(struct csmp_keycache *kc, uint64_t eid,
			  enum csmp_sig_suite suite, const uint8_t *pub,
			  size_t len)
{
	struct csmp_key *k;
	int err;

	err = csmp_key_from_raw(suite, pub, len, &k);
	if (err)
		return err;
	err = csmp_keycache_put(kc, eid, k);
	csmp_key_put(k);
	return err;
}

int csmp_keycache_del(struct csmp_keycache *kc, uint64_t eid)
{
	uint32_t *link, i = kc_find(kc, eid, &link);

	if (i == KC_NIL)
		return -ENOENT;
	kc_remove(kc, i, link);
	return 0;
}

void csmp_keycache_stats(const struct csmp_keycache *kc,
			 struct csmp_keycache_stats *st)
{
	st->hits = kc->hits;
	st->misses = kc->misses;
	st->evictions = kc->evictions;
	st->count = kc->count;
	st->capacity = kc->capacity;
}
