/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Full classification of one CSMP datagram (the UDP payload): every CoAP
 * option, every TLV, both vendor-TLV encodings, non-minimal varints. This is
 * the function behind the kernel module's bpf_csmp_classify kfunc and the
 * one libcsmp, csmpd and csmpdump use, so the verdicts agree by
 * construction. The BPF programs' own fallback parser must give the same
 * struct csmp_class for the same bytes (tested differentially).
 */
#ifndef CSMP_CLASSIFY_H
#define CSMP_CLASSIFY_H

#include "wire.h"
#include "reason.h"
#include "coap.h"
#include "tlv.h"

struct csmp_class {
	__u64 eid;		/* CSMP_CF_EID: from the DeviceID TLV */
	__u16 backend;		/* CSMP_CF_BACKEND: SessionID's leading hex */
	__u16 flags;		/* CSMP_CF_* */
	__u8 msg_class;		/* enum csmp_msg_class */
	__u8 reason;		/* enum csmp_reason; CSMP_R_OK when it parsed */
	__u8 coap_type;
	__u8 coap_code;
	__u16 mid;
	__u16 n_tlvs;
	__u16 payload_off;	/* offset of the TLVs in the datagram */
	__u16 first_tlv;	/* type of the first TLV, 0 when none */
};
_Static_assert(sizeof(struct csmp_class) == 24, "csmp_class is kfunc ABI");

#define CSMP_CF_EID		0x0001	/* eid is valid */
#define CSMP_CF_SESSION		0x0002	/* a SessionID TLV is present */
#define CSMP_CF_BACKEND		0x0004	/* backend is valid */
#define CSMP_CF_NONMINIMAL	0x0008	/* a TLV length was padded */
#define CSMP_CF_VENDOR_AGENT	0x0010
#define CSMP_CF_VENDOR_DRAFT	0x0020
#define CSMP_CF_SIGNED		0x0040	/* Signature TLV present */
#define CSMP_CF_VALIDITY	0x0080	/* SignatureValidity present */
#define CSMP_CF_CURRENT_TIME	0x0100
#define CSMP_CF_TOKEN		0x0200	/* the CoAP token is not empty */
#define CSMP_CF_NOTIFY		0x0400	/* a CGMSNotification is present */
#define CSMP_CF_SIG_NOT_LAST	0x0800	/* Signature is not the last TLV */

static inline int csmp_classify_fail(struct csmp_class *c, unsigned int reason)
{
	c->msg_class = CSMP_C_MALFORMED;
	c->reason = (__u8)reason;
	return csmp_reason_errno(reason);
}

/*
 * Classify `len` bytes of UDP payload. Returns 0 (c->msg_class set,
 * c->reason == CSMP_R_OK) or -errno with c->msg_class CSMP_C_MALFORMED and
 * c->reason the precise cause.
 */
static inline int csmp_classify(const __u8 *buf, __u32 len,
				struct csmp_class *c)
{
	struct csmp_coap_msg m;
	struct csmp_tlv_iter it;
	struct csmp_tlv t;
	const __u8 *pl;
	int err, has_devid = 0;

	c->eid = 0;
	c->backend = 0;
	c->flags = 0;
	c->msg_class = CSMP_C_UNKNOWN;
	c->reason = CSMP_R_OK;
	c->n_tlvs = 0;
	c->first_tlv = 0;
	c->payload_off = 0;
	c->mid = 0;
	c->coap_type = 0;
	c->coap_code = 0;

	err = csmp_coap_parse(buf, len, &m);
	c->coap_type = m.type;
	c->coap_code = m.code;
	c->mid = m.mid;
	if (err)
		return csmp_classify_fail(c, m.reason);
	if (m.tkl)
		c->flags |= CSMP_CF_TOKEN;
	c->payload_off = m.payload_off;

	pl = buf + m.payload_off;
	csmp_tlv_init(&it, pl, m.payload_len);
	for (;;) {
		err = csmp_tlv_next(&it, &t);
		if (err == 0)
			break;
		if (err < 0)
			return csmp_classify_fail(c, it.reason);
		if (c->n_tlvs == 0)
			c->first_tlv = (__u16)t.type;
		if (c->flags & CSMP_CF_SIGNED)
			c->flags |= CSMP_CF_SIG_NOT_LAST;
		c->n_tlvs++;
		if (t.flags & CSMP_TLVF_NONMINIMAL)
			c->flags |= CSMP_CF_NONMINIMAL;
		if (t.flags & CSMP_TLVF_VENDOR_AGENT)
			c->flags |= CSMP_CF_VENDOR_AGENT;
		if (t.flags & CSMP_TLVF_VENDOR_DRAFT)
			c->flags |= CSMP_CF_VENDOR_DRAFT;
		switch (t.type) {
		case CSMP_TLV_DEVICE_ID:
			if (csmp_deviceid_eid(pl + t.off, t.len, &c->eid))
				return csmp_classify_fail(c, CSMP_R_DEVICE_ID);
			c->flags |= CSMP_CF_EID;
			has_devid = 1;
			break;
		case CSMP_TLV_SESSION_ID: {
			__u32 so, sl;
			__u16 b = 0;
			int r = csmp_sessionid(pl + t.off, t.len, &so, &sl, &b);

			if (r < 0)
				return csmp_classify_fail(c,
							  CSMP_R_SESSION_ID);
			c->flags |= CSMP_CF_SESSION;
			c->flags &= (__u16)~CSMP_CF_BACKEND;
			if (r == 1) {
				c->backend = b;
				c->flags |= CSMP_CF_BACKEND;
			}
			break;
		}
		case CSMP_TLV_CURRENT_TIME:
			c->flags |= CSMP_CF_CURRENT_TIME;
			break;
		case CSMP_TLV_CGMS_NOTIFICATION:
			c->flags |= CSMP_CF_NOTIFY;
			break;
		case CSMP_TLV_SIGNATURE_VALIDITY:
			c->flags |= CSMP_CF_VALIDITY;
			break;
		case CSMP_TLV_SIGNATURE:
			c->flags |= CSMP_CF_SIGNED;
			break;
		}
	}

	if (csmp_coap_is_response(m.code)) {
		c->msg_class = CSMP_C_RESPONSE;
		return 0;
	}
	if (m.code == CSMP_COAP_POST && csmp_coap_path1(buf, &m, 'r')) {
		if (m.type != CSMP_COAP_CON)
			return 0;	/* CSMP_C_UNKNOWN: /r must be CON */
		if (!c->n_tlvs)
			return csmp_classify_fail(c, CSMP_R_TLV_EMPTY);
		c->msg_class = CSMP_C_REGISTRATION;
		return 0;
	}
	if (m.code == CSMP_COAP_POST && csmp_coap_path1(buf, &m, 'c') &&
	    m.type == CSMP_COAP_NON) {
		if (!c->n_tlvs)
			return csmp_classify_fail(c, CSMP_R_TLV_EMPTY);
		if (c->first_tlv == CSMP_TLV_SESSION_ID)
			c->msg_class = CSMP_C_REPORT;
		else if (has_devid && (c->flags & CSMP_CF_NOTIFY))
			c->msg_class = CSMP_C_NOTIFICATION;
		else
			c->msg_class = CSMP_C_ASYNC_REPLY;
		return 0;
	}
	if (csmp_coap_is_request(m.code) && csmp_coap_path_first(buf, &m, 'c'))
		c->msg_class = CSMP_C_REQUEST;
	return 0;
}

#endif /* CSMP_CLASSIFY_H */
