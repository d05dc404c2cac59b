// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * Downlink signatures for csmpd: the NMS key loaded once at start, one
 * libcsmp signer per worker (its OpenSSL context and signature cache), and
 * the validity window. The window is aligned to the second (notBefore =
 * floor(now) - slack), so identical answers built within one second have
 * identical signed bytes and share one ECDSA signature through the cache:
 * a device retrying its registration with a new MID in the same second, or
 * any answer that carries nothing device-specific.
 *
 * Answers that are new (a storm of first registrations) take their nonce
 * from the libcsmp nonce pool: one ring of precomputed (k^-1, r) pairs per
 * worker, filled by one refill thread at idle priority, so a burst of up to
 * sign_pool answers per worker costs a few per cent of a signature each;
 * once a ring is empty the worker signs afresh as before. A pool that
 * cannot be set up (no locked memory) is logged and left out: signing
 * never depends on it.
 */
#include <string.h>

#include "csmpd.h"

#define SIG_CACHE_ENTRIES	4096

/* Before any thread exists and while privileged: mlock needs room. */
static void pool_init(struct csmpd_daemon *d)
{
	const struct csmpd_config *c = &d->cfg;
	struct csmp_sigpool_opts o = {
		.rings = c->workers,
		.entries = c->sign_pool,
		.rate = c->sign_pool_rate,
	};
	int err;

	if (!c->sign_pool || csmp_key_suite(d->sign_key) != CSMP_SUITE_P256)
		return;
	err = csmp_sigpool_new(d->sign_key, &o, &d->sign_pool);
	if (err) {
		csmpd_log(CSMPD_WARNING, "SIGN_POOL",
			  "no nonce pool (%u pairs x %u workers): %s; every answer is signed afresh",
			  c->sign_pool, c->workers, strerror(-err));
		d->sign_pool = NULL;
		return;
	}
	csmpd_log(CSMPD_INFO, "SIGN_POOL", "nonce pool: %u pairs x %u workers%s",
		  c->sign_pool, c->workers,
		  c->sign_pool_rate ? ", refill rate capped" : "");
}

int csmpd_sign_init(struct csmpd_daemon *d)
{
	int err;

	if (!d->cfg.nms_key_path)
		return 0;
	err = csmp_key_load_pem(d->cfg.nms_key_path, &d->sign_key);
	if (err) {
		csmpd_log(CSMPD_ERR, "NMS_KEY", "%s: %s", d->cfg.nms_key_path,
			  strerror(-err));
		return err;
	}
	if (!csmp_key_has_private(d->sign_key)) {
		csmpd_log(CSMPD_ERR, "NMS_KEY",
			  "%s holds no private key: cannot sign",
			  d->cfg.nms_key_path);
		csmp_key_put(d->sign_key);
		d->sign_key = NULL;
		return -EINVAL;
	}
	pool_init(d);
	return 0;
}

/* Start the refill thread (after privileges are dropped: a thread keeps
 * the capabilities it was made with). */
int csmpd_sign_start(struct csmpd_daemon *d)
{
	int err;

	if (!d->sign_pool)
		return 0;
	err = csmp_sigpool_start(d->sign_pool);
	if (err)
		csmpd_log(CSMPD_ERR, "SIGN_POOL", "refill thread: %s",
			  strerror(-err));
	return err;
}

void csmpd_sign_stop(struct csmpd_daemon *d)
{
	csmp_sigpool_stop(d->sign_pool);	/* NULL is fine */
}

void csmpd_sign_fini(struct csmpd_daemon *d)
{
	csmp_sigpool_free(d->sign_pool);	/* stops the thread, wipes */
	d->sign_pool = NULL;
	csmp_key_put(d->sign_key);
	d->sign_key = NULL;
}

int csmpd_signer_init(struct csmpd_worker *w)
{
	int err;

	memset(&w->sig_seen, 0, sizeof(w->sig_seen));
	if (!w->d->sign_key)
		return 0;
	err = csmp_signer_new(w->d->sign_key, SIG_CACHE_ENTRIES, &w->signer);
	if (!err && w->d->sign_pool)
		err = csmp_signer_set_pool(w->signer, w->d->sign_pool, w->idx);
	return err;
}

void csmpd_signer_fini(struct csmpd_worker *w)
{
	csmp_signer_free(w->signer);
	w->signer = NULL;
}

/*
 * Append SignatureValidity and Signature to the payload (len bytes, cap of
 * room). Returns the new length, the same length when running --unsigned,
 * or -errno.
 */
int csmpd_sign(struct csmpd_worker *w, __u8 *payload, size_t len, size_t cap)
{
	const struct csmpd_config *c = &w->d->cfg;
	struct csmp_signer_stats st;
	__u32 nb, na;
	int n;

	if (!w->signer)
		return (int)len;
	csmp_sig_window(w->now, c->sig_slack, c->sig_lifetime, 1, &nb, &na);
	n = csmp_sig_append(w->signer, payload, len, cap, nb, na);
	if (n < 0) {
		CSMPD_INC(&w->ctr, sign_errors);
		csmpd_log(CSMPD_ERR, "SIGN_FAIL", "signing an answer: %s",
			  strerror(-n));
		return n;
	}
	csmp_signer_stats(w->signer, &st);
	CSMPD_INC(&w->ctr, signed_msgs);
	CSMPD_ADD(&w->ctr, sig_cache_hits, st.cache_hits - w->sig_seen.cache_hits);
	CSMPD_ADD(&w->ctr, sig_pooled, st.pool_signs - w->sig_seen.pool_signs);
	CSMPD_ADD(&w->ctr, sig_pool_empty,
		  st.pool_empty - w->sig_seen.pool_empty);
	w->sig_seen = st;
	return n;
}
