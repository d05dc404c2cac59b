/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * What the signature files share inside libcsmp and nobody else may see:
 * the layout of a key. Public callers hold struct csmp_key opaquely.
 */
#ifndef CSMP_SIG_PRIV_H
#define CSMP_SIG_PRIV_H

#include <openssl/evp.h>
#include <sodium.h>

#include "sig.h"

struct csmp_key {
	int refs;			/* atomic */
	enum csmp_sig_suite suite;
	bool has_priv;
	/* P-256: the parsed key, public or private; NULL for Ed25519. */
	EVP_PKEY *pkey;
	/* Ed25519: libsodium's secret key (seed || public key). */
	uint8_t ed_sk[crypto_sign_ed25519_SECRETKEYBYTES];
	uint8_t pub[CSMP_SIG_PUB_MAX];	/* raw public key */
	uint8_t pub_len;
	uint8_t id[32];			/* SHA-256(suite || pub) */
};

/* sodium_init() once per process; 0 or -errno. */
int csmp_sig_lib_init(void);
/* OpenSSL's SHA-256, fetched by csmp_sig_lib_init() (NULL if it failed). */
extern EVP_MD *csmp_sig_sha256;

/* sig_pool.c for sig.c: bind a signer to a ring, and the pooled signature
 * (DER Ecdsa-Sig-Value into der, *der_len its room then its length):
 * 0, -EAGAIN when the ring is empty, other -errno on failure. */
int csmp_sigpool_bind(struct csmp_sigpool *p, unsigned int ring,
		      const struct csmp_key *key);
void csmp_sigpool_unbind(struct csmp_sigpool *p, unsigned int ring);
int csmp_sigpool_sign(struct csmp_sigpool *p, unsigned int ring,
		      const uint8_t digest[32], uint8_t *der, size_t *der_len);

/* For the tests only. A pair made from a given nonce k (big-endian, in
 * [1, n-1]): the known-answer vectors of RFC 6979 name k, r and s, so the
 * signing arithmetic and the pair format can be checked exactly. And the
 * bytes of one slot, to see that a used pair was wiped. */
int csmp_sigpool_put_k(struct csmp_sigpool *p, unsigned int ring,
		       const uint8_t k[32]);
const void *csmp_sigpool_slot_mem(const struct csmp_sigpool *p,
				  unsigned int ring, uint32_t idx,
				  size_t *len);

#endif /* CSMP_SIG_PRIV_H */
