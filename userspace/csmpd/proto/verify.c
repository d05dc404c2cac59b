// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * Uplink signature verification: the datagrams a worker owns, before any
 * handler sees them, as one batch. Per message the device's group policy
 * decides (off / optional / required); the signed ones are verified
 * together; unsigned under "required" and any failure under "optional" or
 * "required" are marked CSMPD_RXF_DROP, counted by reason, logged and
 * reported as a signature_failure event. Runs inside the worker loop's
 * policy bracket (w->policy is set).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "csmpd.h"
#include "conf/runtime.h"
#include "events.h"

#define REPLAY_ENTRIES	1024

int csmpd_verify_init(struct csmpd_daemon *d)
{
	struct csmp_verifier_opts vo = {
		/* After the policy's init: the start-up snapshot's. */
		.skew = atomic_load(&d->conf->pol.cur)->sig_skew,
		.replay_entries = REPLAY_ENTRIES,
	};
	unsigned int i;
	int ret;

	for (i = 0; i < d->n_workers; i++) {
		struct csmpd_worker *w = &d->workers[i];

		ret = csmp_verifier_new(&vo, &w->verifier);
		if (!ret)
			ret = csmpd_worker_keys_init(w);
		if (ret) {
			csmpd_verify_fini(d);
			return ret;
		}
	}
	return 0;
}

void csmpd_verify_fini(struct csmpd_daemon *d)
{
	unsigned int i;

	for (i = 0; i < d->n_workers; i++) {
		struct csmpd_worker *w = &d->workers[i];

		csmp_verifier_free(w->verifier);
		w->verifier = NULL;
		csmpd_worker_keys_fini(w);
	}
}

static const char *sig_hint(unsigned int reason)
{
	switch (reason) {
	case CSMP_R_SIG_EXPIRED:
	case CSMP_R_SIG_NOT_YET:
		return "check clock synchronisation";
	case CSMP_R_SIG_UNKNOWN_KEY:
		return "enroll the device key: csmpctl enroll EID KEYFILE";
	case CSMP_R_SIG_MISSING:
		return "unsigned message where uplink-signature = required";
	case CSMP_R_SIG_MALFORMED:
		return "Signature/SignatureValidity TLVs malformed";
	default:
		return "signature does not verify with the enrolled key";
	}
}

static void sig_failed(struct csmpd_worker *w, struct csmpd_rx *rx,
		       uint64_t eid, unsigned int reason)
{
	char a[80];

	rx->flags |= CSMPD_RXF_DROP;
	CSMPD_INC(&w->ctr, reason[reason]);
	CSMPD_INC(&w->ctr, dropped);
	/* Formatted here, not in the log call's arguments: those are not
	 * evaluated when the line is rate-limited, and the event needs it
	 * either way. */
	csmpd_addr_str(&rx->peer, a, sizeof(a));
	csmpd_log(CSMPD_ERR, "SIGNATURE_FAILURE",
		  "eid=%016llX reason=%s from %s (%s)",
		  (unsigned long long)eid, csmp_reason_name(reason), a,
		  sig_hint(reason));
	if (w->d->events)
		csmp_event(w->d->events, w->idx, "signature_failure", eid,
			   json_pack("{s:s,s:s,s:s}", "reason",
				     csmp_reason_name(reason), "class",
				     csmp_msg_class_name(rx->cls.msg_class),
				     "addr", a));
}

/* The EID behind an uplink message: DeviceID, else its session. */
static bool rx_eid(struct csmpd_worker *w, const struct csmpd_rx *rx,
		   uint64_t *eid)
{
	const __u8 *pl = rx->data + rx->cls.payload_off;
	__u32 len = rx->len - rx->cls.payload_off, off, sl;
	struct csmpd_device *dev;
	struct csmp_tlv_iter it;
	struct csmp_tlv t;
	__u16 b;

	if (rx->cls.flags & CSMP_CF_EID) {
		*eid = rx->cls.eid;
		return true;
	}
	csmp_tlv_init(&it, pl, len);
	if (csmp_tlv_next(&it, &t) != 1 || t.type != CSMP_TLV_SESSION_ID ||
	    csmp_sessionid(pl + t.off, t.len, &off, &sl, &b) < 0)
		return false;
	dev = csmpd_dev_by_session(&w->shard, (const char *)pl + t.off + off,
				   sl);
	if (!dev)
		return false;
	*eid = dev->eid;
	return true;
}

static bool uplink(const struct csmpd_rx *rx)
{
	switch (rx->cls.msg_class) {
	case CSMP_C_REGISTRATION:
	case CSMP_C_REPORT:
	case CSMP_C_NOTIFICATION:
	case CSMP_C_ASYNC_REPLY:
		return true;
	default:
		return false;
	}
}

void csmpd_verify_batch(struct csmpd_worker *w, struct csmpd_rx **rx,
			unsigned int n)
{
	const struct csmp_policy *pol = w->policy;
	struct csmp_verify_item items[CSMPD_BATCH];
	uint8_t results[CSMPD_BATCH];
	unsigned int i, k = 0;

	csmpd_worker_keys_sync(w);
	for (i = 0; i < n && i < CSMPD_BATCH; i++) {
		struct csmpd_rx *r = rx[i];
		enum csmp_sigpol sp;
		uint64_t eid = 0;
		bool known, is_signed;

		if (!uplink(r))
			continue;
		known = rx_eid(w, r, &eid);
		sp = known ? csmp_policy_uplink(pol, eid) : pol->uplink_sig;
		if (sp == CSMP_SIGPOL_OFF)
			continue;
		is_signed = r->cls.flags & (CSMP_CF_SIGNED | CSMP_CF_VALIDITY);
		if (!is_signed) {
			if (sp == CSMP_SIGPOL_REQUIRED)
				sig_failed(w, r, eid, CSMP_R_SIG_MISSING);
			else
				CSMPD_INC(&w->ctr, unsigned_accepted);
			continue;
		}
		csmp_verify_item_init(&items[k], r->data + r->cls.payload_off,
				      r->len - r->cls.payload_off,
				      known ? csmpd_worker_key(w, eid) : NULL);
		items[k].user = ((uint64_t)i << 56) | (eid & 0x00ffffffffffffffull);
		results[k] = 0;
		k++;
	}
	if (!k)
		return;
	csmp_verify_batch(w->verifier, items, k, results, w->now);
	for (i = 0; i < k; i++) {
		unsigned int idx = (unsigned int)(items[i].user >> 56);
		uint64_t eid = 0;

		if (results[i] == CSMP_R_OK) {
			CSMPD_INC(&w->ctr, verified_ok);
			continue;
		}
		rx_eid(w, rx[idx], &eid);
		sig_failed(w, rx[idx], eid, results[i]);
	}
}
