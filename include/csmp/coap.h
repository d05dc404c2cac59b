/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Freestanding CoAP (RFC 7252) message walk for CSMP: header, token, every
 * option (extended delta and length, 13 and 14), the payload marker. The
 * kernel module and libcsmp compile this same source, so it uses no libc,
 * allocates nothing and every loop is bounded by a constant.
 *
 * The includer provides __u8/__u16/__u32 and the errno values (linux/errno.h
 * in the kernel, errno.h in userspace). Functions return 0 or -errno and
 * record the precise enum csmp_reason in the message struct.
 */
#ifndef CSMP_COAP_H
#define CSMP_COAP_H

#include "wire.h"
#include "reason.h"

struct csmp_coap_seg {
	__u16 off;	/* offset of the option value in the datagram */
	__u16 len;
};

struct csmp_coap_msg {
	__u8 type;		/* CSMP_COAP_CON/NON/ACK/RST */
	__u8 tkl;
	__u8 code;		/* class << 5 | detail */
	__u8 reason;		/* enum csmp_reason of the last parse */
	__u16 mid;
	__u16 len;		/* datagram length */
	__u8 token[CSMP_COAP_MAX_TKL];
	__u16 payload_off;	/* == len when there is no payload */
	__u16 payload_len;
	__u8 n_opts;		/* options walked */
	__u8 n_path;		/* Uri-Path segments recorded */
	__u8 n_query;		/* Uri-Query items recorded */
	__u8 flags;		/* CSMP_COAPF_* */
	struct csmp_coap_seg path[CSMP_MAX_PATH_SEGS];
	struct csmp_coap_seg query[CSMP_MAX_QUERIES];
};

/* More Uri-Path segments than path[] holds: not a CSMP resource. */
#define CSMP_COAPF_PATH_OVERFLOW	0x01
#define CSMP_COAPF_QUERY_OVERFLOW	0x02
/* A critical option (odd number) CSMP does not use: 4.02 for a CON. */
#define CSMP_COAPF_UNKNOWN_CRITICAL	0x04
/* Options out of order never happen (deltas are >= 0); kept for clarity. */

/*
 * The errno a reason maps to. Each malformed form has its own reason; the
 * errno groups them the way userspace callers branch on them.
 */
static inline int csmp_reason_errno(unsigned int reason)
{
	switch (reason) {
	case CSMP_R_OK:
		return 0;
	case CSMP_R_COAP_VERSION:
		return -EPROTONOSUPPORT;
	case CSMP_R_COAP_TKL:
		return -ERANGE;
	case CSMP_R_COAP_OPT_RESERVED:
		return -EILSEQ;
	case CSMP_R_COAP_OPT_TRUNC:
	case CSMP_R_TLV_TRUNC:
		return -EOVERFLOW;
	case CSMP_R_COAP_EMPTY_PAYLOAD:
	case CSMP_R_TLV_EMPTY:
		return -ENODATA;
	case CSMP_R_COAP_CODE:
		return -EPROTO;
	case CSMP_R_COAP_TOO_MANY_OPTS:
	case CSMP_R_TLV_TOO_MANY:
		return -E2BIG;
	case CSMP_R_COAP_OVERSIZE:
		return -EMSGSIZE;
	case CSMP_R_COAP_PATH:
		return -ENOENT;
	case CSMP_R_TLV_VARINT:
		return -ENOSPC;
	case CSMP_R_DEVICE_ID:
	case CSMP_R_SESSION_ID:
		return -EINVAL;
	default:
		return -EBADMSG;
	}
}

static inline int csmp_coap_fail(struct csmp_coap_msg *m, unsigned int reason)
{
	m->reason = (__u8)reason;
	return csmp_reason_errno(reason);
}

/* Read an option nibble's extended value (RFC 7252 §3.1). */
static inline int csmp_coap_ext(const __u8 *buf, __u32 len, __u32 *pos,
				__u32 nib, __u32 *val)
{
	if (nib < 13) {
		*val = nib;
		return 0;
	}
	if (nib == 13) {
		if (*pos + 1 > len)
			return -1;
		*val = 13u + buf[*pos];
		*pos += 1;
		return 0;
	}
	/* nib == 14; 15 is rejected by the caller */
	if (*pos + 2 > len)
		return -1;
	*val = 269u + ((__u32)buf[*pos] << 8) + buf[*pos + 1];
	*pos += 2;
	return 0;
}

/*
 * Parse one CoAP datagram. On success every option has been walked and the
 * Uri-Path / Uri-Query values are recorded by offset; nothing is copied
 * except the token.
 */
static inline int csmp_coap_parse(const __u8 *buf, __u32 len,
				  struct csmp_coap_msg *m)
{
	__u32 pos, num = 0, i;
	__u8 cls;

	/* Callers read type/code/mid even when the parse fails early. */
	m->type = m->tkl = m->code = 0;
	m->mid = 0;
	m->reason = CSMP_R_OK;
	m->n_opts = m->n_path = m->n_query = m->flags = 0;
	m->len = (__u16)len;
	m->payload_off = (__u16)len;
	m->payload_len = 0;
	if (len > CSMP_MAX_DGRAM)
		return csmp_coap_fail(m, CSMP_R_COAP_OVERSIZE);
	if (len < CSMP_COAP_HDR_LEN)
		return csmp_coap_fail(m, CSMP_R_COAP_SHORT);
	if ((buf[0] >> 6) != CSMP_COAP_VERSION)
		return csmp_coap_fail(m, CSMP_R_COAP_VERSION);
	m->type = (buf[0] >> 4) & 3;
	m->tkl = buf[0] & 15;
	m->code = buf[1];
	m->mid = (__u16)((buf[2] << 8) | buf[3]);
	if (m->tkl > CSMP_COAP_MAX_TKL)
		return csmp_coap_fail(m, CSMP_R_COAP_TKL);
	if (CSMP_COAP_HDR_LEN + (__u32)m->tkl > len)
		return csmp_coap_fail(m, CSMP_R_COAP_TOKEN_TRUNC);
	for (i = 0; i < CSMP_COAP_MAX_TKL; i++)
		m->token[i] = i < m->tkl ? buf[CSMP_COAP_HDR_LEN + i] : 0;

	/* Classes 1, 6 and 7 are reserved; an empty message is header only. */
	cls = m->code >> 5;
	if (cls == 1 || cls >= 6)
		return csmp_coap_fail(m, CSMP_R_COAP_CODE);
	if (m->code == CSMP_COAP_EMPTY &&
	    (m->tkl || len != CSMP_COAP_HDR_LEN))
		return csmp_coap_fail(m, CSMP_R_COAP_CODE);

	pos = CSMP_COAP_HDR_LEN + m->tkl;
	for (i = 0; i <= CSMP_MAX_OPTIONS; i++) {
		__u32 b, delta, olen;

		if (pos >= len)
			return 0;
		b = buf[pos++];
		if (b == CSMP_COAP_MARKER) {
			if (pos >= len)
				return csmp_coap_fail(m,
						      CSMP_R_COAP_EMPTY_PAYLOAD);
			m->payload_off = (__u16)pos;
			m->payload_len = (__u16)(len - pos);
			return 0;
		}
		if (i == CSMP_MAX_OPTIONS)
			return csmp_coap_fail(m, CSMP_R_COAP_TOO_MANY_OPTS);
		if ((b >> 4) == 15 || (b & 15) == 15)
			return csmp_coap_fail(m, CSMP_R_COAP_OPT_RESERVED);
		if (csmp_coap_ext(buf, len, &pos, b >> 4, &delta) ||
		    csmp_coap_ext(buf, len, &pos, b & 15, &olen))
			return csmp_coap_fail(m, CSMP_R_COAP_OPT_TRUNC);
		if (olen > len - pos)
			return csmp_coap_fail(m, CSMP_R_COAP_OPT_TRUNC);
		num += delta;
		if (num > 0xffff)
			return csmp_coap_fail(m, CSMP_R_COAP_OPT_RESERVED);
		m->n_opts++;
		if (num == CSMP_COAP_OPT_URI_PATH) {
			if (m->n_path < CSMP_MAX_PATH_SEGS) {
				m->path[m->n_path].off = (__u16)pos;
				m->path[m->n_path].len = (__u16)olen;
				m->n_path++;
			} else {
				m->flags |= CSMP_COAPF_PATH_OVERFLOW;
			}
		} else if (num == CSMP_COAP_OPT_URI_QUERY) {
			if (m->n_query < CSMP_MAX_QUERIES) {
				m->query[m->n_query].off = (__u16)pos;
				m->query[m->n_query].len = (__u16)olen;
				m->n_query++;
			} else {
				m->flags |= CSMP_COAPF_QUERY_OVERFLOW;
			}
		} else if ((num & 1) && num != CSMP_COAP_OPT_URI_HOST &&
			   num != CSMP_COAP_OPT_URI_PORT) {
			m->flags |= CSMP_COAPF_UNKNOWN_CRITICAL;
		}
		pos += olen;
	}
	return 0;
}

/* True when Uri-Path is exactly the one segment `seg` (e.g. "r", "c"). */
static inline int csmp_coap_path1(const __u8 *buf, const struct csmp_coap_msg *m,
				  char seg)
{
	return m->n_path == 1 && !(m->flags & CSMP_COAPF_PATH_OVERFLOW) &&
	       m->path[0].len == 1 && buf[m->path[0].off] == (__u8)seg;
}

/* True when the first Uri-Path segment is `seg` (GET /c/<id>/<index>). */
static inline int csmp_coap_path_first(const __u8 *buf,
				       const struct csmp_coap_msg *m, char seg)
{
	return m->n_path >= 1 && m->path[0].len == 1 &&
	       buf[m->path[0].off] == (__u8)seg;
}

/* Code helpers. */
static inline int csmp_coap_is_request(__u8 code)
{
	return (code >> 5) == 0 && code != CSMP_COAP_EMPTY;
}

static inline int csmp_coap_is_response(__u8 code)
{
	return (code >> 5) >= 2;
}

#endif /* CSMP_COAP_H */
