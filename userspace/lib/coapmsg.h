/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * CoAP for CSMP in userspace. Decoding is csmp_coap_parse() from
 * include/csmp/coap.h (the walk the kernel module shares); this adds what a
 * program needs on top: the options as strings, query lookup, and the
 * CSMP TLV-id lists used in q=, ReportSubscribe and DescriptionRequest.
 * Encoding writes a datagram into a caller buffer: header, token (0-8),
 * options in ascending order with extended delta/length (13/14), and the
 * payload, usually TLVs written in place through a struct csmp_tlvw.
 */
#ifndef LIBCSMP_COAPMSG_H
#define LIBCSMP_COAPMSG_H

#include <stddef.h>
#include <stdint.h>

struct csmp_tlvw;

/* ---- decoding (on top of csmp_coap_parse) ---- */

/*
 * Copy Uri-Path joined with '/' ("c/75/1") into out; returns its length,
 * or -ENOSPC when out is too small (out is still NUL-terminated).
 */
int csmp_coap_path_str(const uint8_t *buf, const struct csmp_coap_msg *m,
		       char *out, size_t cap);
/* Same for Uri-Query items joined with '&' ("q=1 2&a=20"). */
int csmp_coap_query_str(const uint8_t *buf, const struct csmp_coap_msg *m,
			char *out, size_t cap);
/*
 * Find Uri-Query item "<key>=<value>": returns 0 and the value by offset
 * within buf, or -ENOENT. The last occurrence wins.
 */
int csmp_coap_query_get(const uint8_t *buf, const struct csmp_coap_msg *m,
			const char *key, uint16_t *off, uint16_t *len);

/* ---- TLV-id lists: "1 2 e5771.127" or "1+2" (q=, tlvid strings) ---- */

struct csmp_tlvid {
	uint32_t pen;	/* 0 for a standard TLV */
	uint32_t type;
};

/*
 * Parse one id: decimal ("75") or vendor ("e5771.127"). Returns 0 or
 * -EINVAL (empty, non-digit, over 32 bits).
 */
int csmp_tlvid_parse(const char *s, size_t len, struct csmp_tlvid *id);
/*
 * Parse a list separated by spaces or '+' (the draft's form of a space in
 * a query). Returns the number of ids stored in ids[0..max) or -EINVAL;
 * -E2BIG when there are more than max.
 */
int csmp_tlvid_list(const char *s, size_t len, struct csmp_tlvid *ids,
		    size_t max);
/* "75" or "e5771.127"; returns the length or -ENOSPC. */
int csmp_tlvid_format(const struct csmp_tlvid *id, char *out, size_t cap);

/* ---- encoding ---- */

struct csmp_coap_enc {
	uint8_t *buf;
	size_t cap;
	size_t len;
	uint32_t last_opt;	/* number of the last option written */
	size_t marker;		/* offset of 0xff once the payload began */
	int err;		/* sticky: first error, then every call fails */
};

/*
 * Start a datagram: type CSMP_COAP_CON..RST, code (CSMP_COAP_*), MID and a
 * token of tkl <= 8 bytes (NULL when tkl is 0). -ERANGE for tkl > 8,
 * -EINVAL for a bad type, -ENOSPC when cap is too small.
 */
int csmp_coap_enc_init(struct csmp_coap_enc *e, void *buf, size_t cap,
		       uint8_t type, uint8_t code, uint16_t mid,
		       const uint8_t *token, uint8_t tkl);
/*
 * One option. Options must come in non-decreasing number order (-EINVAL
 * otherwise, and after the payload began); values up to 65535 + 269 bytes.
 */
int csmp_coap_enc_opt(struct csmp_coap_enc *e, uint32_t num, const void *val,
		      size_t len);
/* Uri-Path segments from "c/75/1" (empty segments are refused). */
int csmp_coap_enc_path(struct csmp_coap_enc *e, const char *path);
/* One Uri-Query item, e.g. "q=1 2" or "a=20". */
int csmp_coap_enc_query(struct csmp_coap_enc *e, const char *item);
/* A payload from bytes; len 0 writes nothing (a marker needs a payload). */
int csmp_coap_enc_payload(struct csmp_coap_enc *e, const void *p, size_t len);
/*
 * In-place payload: write the marker and point w at the room after it
 * (flags as for csmp_tlvw_init). Fill w, then csmp_coap_enc_payload_end()
 * accounts its bytes, or drops the marker when w wrote nothing.
 */
int csmp_coap_enc_payload_begin(struct csmp_coap_enc *e, struct csmp_tlvw *w,
				unsigned int flags);
int csmp_coap_enc_payload_end(struct csmp_coap_enc *e,
			      const struct csmp_tlvw *w);
/* The datagram length, or the first error (-errno). */
int csmp_coap_enc_finish(const struct csmp_coap_enc *e);

#endif /* LIBCSMP_COAPMSG_H */
