// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * Uplink signatures (--uplink-sign ed25519|p256): every simulated device
 * has a key pair of its own and appends SignatureValidity + Signature to
 * each message it sends (registration, reports, notifications), for a
 * head-end whose device groups require signed uplink (csmpd's
 * uplink-signature = required). The OpenCSMP agent does not sign uplink;
 * this is the authenticated profile csmpd implements, with the same TLVs
 * and DER envelope as downlink (libcsmp sig.h).
 *
 * Keys live in --uplink-key-dir DIR: DIR/private/<EID>.pem (0600, reused
 * when present, so a fleet keeps its identity across runs) and the public
 * key DIR/<EID>.pem, which is what csmpd --device-keys DIR loads and what
 * `csmpctl enroll EID DIR/<EID>.pem` takes.
 *
 * --bad-signature-rate F spoils that fraction of the signed reports (one
 * bit of the signature flipped after signing, chosen per report from the
 * device's PRNG): the head-end must count them as bad signatures and drop
 * them, while the device itself stays registered.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "csmp.h"
#include "sig.h"
#include "sim.h"

#define UPLINK_LIFETIME	3600	/* SignatureValidity: now - 60 .. + this */

struct sim_uplink {
	struct csmp_signer **signer;	/* per device, made at start */
	struct sim_uplink_stats st;
};

static int dev_key(struct sim *s, uint32_t idx, struct csmp_key **out)
{
	char eid[CSMP_EID_STRLEN], priv[4096], pub[4096];
	struct stat sb;
	int err;

	csmp_eid_format(sim_dev_eid(s, idx), eid);
	snprintf(priv, sizeof(priv), "%s/private/%s.pem", s->o.uplink_key_dir, eid);
	snprintf(pub, sizeof(pub), "%s/%s.pem", s->o.uplink_key_dir, eid);
	if (!stat(priv, &sb)) {
		err = csmp_key_load_pem(priv, out);
		if (err)
			return err;
		if (csmp_key_suite(*out) != (enum csmp_sig_suite)s->o.uplink_suite) {
			fprintf(stderr, "csmp-sim: %s is not a %s key\n", priv,
				s->o.uplink_suite == CSMP_SUITE_P256 ? "P-256" :
								       "Ed25519");
			csmp_key_put(*out);
			return -EKEYREJECTED;
		}
		/* The public half may have been removed: write it again. */
		if (stat(pub, &sb))
			return csmp_key_write_pem(*out, NULL, pub);
		return 0;
	}
	err = csmp_key_generate((enum csmp_sig_suite)s->o.uplink_suite, out);
	if (err)
		return err;
	unlink(pub);
	err = csmp_key_write_pem(*out, priv, pub);
	if (err)
		csmp_key_put(*out);
	return err;
}

int sim_uplink_setup(struct sim *s)
{
	struct sim_uplink *u;
	char dir[4096];
	int err;

	if (!s->o.uplink_suite)
		return 0;
	if (!s->o.uplink_key_dir) {
		fprintf(stderr, "csmp-sim: --uplink-sign needs --uplink-key-dir DIR\n");
		return -EINVAL;
	}
	snprintf(dir, sizeof(dir), "%s/private", s->o.uplink_key_dir);
	if ((mkdir(s->o.uplink_key_dir, 0755) && errno != EEXIST) ||
	    (mkdir(dir, 0700) && errno != EEXIST)) {
		err = -errno;
		fprintf(stderr, "csmp-sim: %s: %s\n", dir, strerror(errno));
		return err;
	}
	u = calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	s->up = u;
	u->signer = calloc(s->o.devices, sizeof(*u->signer));
	if (!u->signer)
		return -ENOMEM;
	for (uint32_t i = 0; i < s->o.devices; i++) {
		struct csmp_key *k;

		err = dev_key(s, i, &k);
		if (!err) {
			/* No signature cache: every message is signed anew. */
			err = csmp_signer_new(k, 0, &u->signer[i]);
			csmp_key_put(k);
		}
		if (err) {
			fprintf(stderr, "csmp-sim: key of device %u in %s: %s\n",
				i, s->o.uplink_key_dir, strerror(-err));
			return err;
		}
	}
	return 0;
}

void sim_uplink_teardown(struct sim *s)
{
	struct sim_uplink *u = s->up;

	if (!u)
		return;
	for (uint32_t i = 0; u->signer && i < s->o.devices; i++)
		csmp_signer_free(u->signer[i]);
	free(u->signer);
	free(u);
	s->up = NULL;
}

/* Sign the payload being built in w; spoil it if this report draws so. */
void sim_uplink_sign(struct sim *s, uint32_t idx, struct csmp_tlvw *w,
		     bool report)
{
	struct sim_uplink *u = s->up;
	uint32_t now = (uint32_t)time(NULL);
	struct sim_dev *d = &s->dev[idx];
	int n;

	if (!u || w->err)
		return;
	n = csmp_sig_append(u->signer[idx], w->buf, w->len, w->cap, now - 60,
			    now + UPLINK_LIFETIME);
	if (n < 0) {
		w->err = n;
		u->st.errors++;
		return;
	}
	w->len = (size_t)n;
	u->st.signed_msgs++;
	if (report && s->o.bad_sig_rate > 0 &&
	    (double)sim_rand(&d->rng) / 4294967296.0 < s->o.bad_sig_rate) {
		/* The last byte is inside the signature itself (the end of
		 * s, or of the Ed25519 signature): a bad signature, not a
		 * malformed one. */
		w->buf[w->len - 1] ^= 0x01;
		u->st.spoiled++;
	}
}

void sim_uplink_json(struct sim *s, FILE *f)
{
	if (!s->up)
		return;
	fprintf(f, ",\"uplink\":{\"suite\":\"%s\",\"signed\":%llu,"
		"\"bad_signature\":%llu,\"errors\":%llu}",
		s->o.uplink_suite == CSMP_SUITE_P256 ? "p256" : "ed25519",
		(unsigned long long)s->up->st.signed_msgs,
		(unsigned long long)s->up->st.spoiled,
		(unsigned long long)s->up->st.errors);
}
