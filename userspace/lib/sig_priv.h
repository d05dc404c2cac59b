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

#endif /* CSMP_SIG_PRIV_H */
