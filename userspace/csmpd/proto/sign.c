// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * Downlink signatures for csmpd: the NMS key loaded once at start, one
 * libcsmp signer per worker (its OpenSSL context and signature cache), and
 * the validity window. The window is aligned to the second (notBefore =
 * floor(now) - slack), so identical answers built within one second have
 * identical signed bytes and share one ECDSA signature through the cache:
 * a device retrying its registration with a new MID in the same second, or
 * any answer that carries nothing device-specific.
 */
#include <string.h>

#include "csmpd.h"

#define SIG_CACHE_ENTRIES	4096

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
	return 0;
}

void csmpd_sign_fini(struct csmpd_daemon *d)
{
	csmp_key_put(d->sign_key);
	d->sign_key = NULL;
}

int csmpd_signer_init(struct csmpd_worker *w)
{
	memset(&w->sig_seen, 0, sizeof(w->sig_seen));
	if (!w->d->sign_key)
		return 0;
	return csmp_signer_new(w->d->sign_key, SIG_CACHE_ENTRIES, &w->signer);
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
	w->sig_seen = st;
	return n;
}
