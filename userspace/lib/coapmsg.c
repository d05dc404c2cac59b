// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * CoAP in userspace (see coapmsg.h): accessors over the offsets recorded
 * by the shared csmp_coap_parse(), the TLV-id list syntax of q= and
 * ReportSubscribe, and the encoder.
 */
#include <errno.h>
#include <string.h>
#include "csmp.h"

static int join_segs(const uint8_t *buf, const struct csmp_coap_seg *segs,
		     unsigned int n, char sep, char *out, size_t cap)
{
	size_t len = 0;
	unsigned int i;
	int err = 0;

	if (!cap)
		return -ENOSPC;
	for (i = 0; i < n; i++) {
		size_t need = segs[i].len + (i ? 1 : 0);

		if (len + need >= cap) {
			err = -ENOSPC;
			break;
		}
		if (i)
			out[len++] = sep;
		memcpy(out + len, buf + segs[i].off, segs[i].len);
		len += segs[i].len;
	}
	out[len] = '\0';
	return err ? err : (int)len;
}

int csmp_coap_path_str(const uint8_t *buf, const struct csmp_coap_msg *m,
		       char *out, size_t cap)
{
	return join_segs(buf, m->path, m->n_path, '/', out, cap);
}

int csmp_coap_query_str(const uint8_t *buf, const struct csmp_coap_msg *m,
			char *out, size_t cap)
{
	return join_segs(buf, m->query, m->n_query, '&', out, cap);
}

int csmp_coap_query_get(const uint8_t *buf, const struct csmp_coap_msg *m,
			const char *key, uint16_t *off, uint16_t *len)
{
	size_t kl = strlen(key);
	int found = -ENOENT;
	unsigned int i;

	for (i = 0; i < m->n_query; i++) {
		const struct csmp_coap_seg *q = &m->query[i];

		if (q->len < kl + 1 || memcmp(buf + q->off, key, kl) ||
		    buf[q->off + kl] != '=')
			continue;
		*off = (uint16_t)(q->off + kl + 1);
		*len = (uint16_t)(q->len - kl - 1);
		found = 0;
	}
	return found;
}

static int parse_u32(const char *s, size_t len, uint32_t *v)
{
	uint64_t x = 0;
	size_t i;

	if (!len || len > 10)
		return -EINVAL;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		x = x * 10 + (uint64_t)(s[i] - '0');
	}
	if (x > UINT32_MAX)
		return -EINVAL;
	*v = (uint32_t)x;
	return 0;
}

int csmp_tlvid_parse(const char *s, size_t len, struct csmp_tlvid *id)
{
	const char *dot;

	if (len && (s[0] == 'e' || s[0] == 'E')) {
		dot = memchr(s, '.', len);
		if (!dot || parse_u32(s + 1, (size_t)(dot - s - 1), &id->pen) ||
		    parse_u32(dot + 1, len - (size_t)(dot - s) - 1, &id->type))
			return -EINVAL;
		return 0;
	}
	id->pen = 0;
	return parse_u32(s, len, &id->type);
}

int csmp_tlvid_list(const char *s, size_t len, struct csmp_tlvid *ids,
		    size_t max)
{
	size_t i = 0, n = 0;

	while (i < len) {
		size_t start;
		int err;

		if (s[i] == ' ' || s[i] == '+') {
			i++;
			continue;
		}
		start = i;
		while (i < len && s[i] != ' ' && s[i] != '+')
			i++;
		if (n == max)
			return -E2BIG;
		err = csmp_tlvid_parse(s + start, i - start, &ids[n]);
		if (err)
			return err;
		n++;
	}
	return (int)n;
}

int csmp_tlvid_format(const struct csmp_tlvid *id, char *out, size_t cap)
{
	int n;

	if (id->pen)
		n = snprintf(out, cap, "e%u.%u", id->pen, id->type);
	else
		n = snprintf(out, cap, "%u", id->type);
	return n < 0 || (size_t)n >= cap ? -ENOSPC : n;
}

/* ---- encoder ---- */

static int enc_fail(struct csmp_coap_enc *e, int err)
{
	if (!e->err)
		e->err = err;
	return e->err;
}

int csmp_coap_enc_init(struct csmp_coap_enc *e, void *buf, size_t cap,
		       uint8_t type, uint8_t code, uint16_t mid,
		       const uint8_t *token, uint8_t tkl)
{
	e->buf = buf;
	e->cap = cap;
	e->len = 0;
	e->last_opt = 0;
	e->marker = 0;
	e->err = 0;
	if (type > CSMP_COAP_RST)
		return enc_fail(e, -EINVAL);
	if (tkl > CSMP_COAP_MAX_TKL || (tkl && !token))
		return enc_fail(e, -ERANGE);
	if (cap < CSMP_COAP_HDR_LEN + (size_t)tkl)
		return enc_fail(e, -ENOSPC);
	e->buf[0] = (uint8_t)(CSMP_COAP_VERSION << 6 | type << 4 | tkl);
	e->buf[1] = code;
	e->buf[2] = (uint8_t)(mid >> 8);
	e->buf[3] = (uint8_t)mid;
	if (tkl)
		memcpy(e->buf + CSMP_COAP_HDR_LEN, token, tkl);
	e->len = CSMP_COAP_HDR_LEN + tkl;
	return 0;
}

/* Nibble and extension bytes for an option delta or length. */
static unsigned int opt_ext(uint32_t v, uint8_t ext[2], size_t *n)
{
	if (v < 13) {
		*n = 0;
		return v;
	}
	if (v < 269) {
		ext[0] = (uint8_t)(v - 13);
		*n = 1;
		return 13;
	}
	v -= 269;
	ext[0] = (uint8_t)(v >> 8);
	ext[1] = (uint8_t)v;
	*n = 2;
	return 14;
}

int csmp_coap_enc_opt(struct csmp_coap_enc *e, uint32_t num, const void *val,
		      size_t len)
{
	uint8_t dext[2], lext[2];
	size_t dn, ln, need;
	unsigned int dnib, lnib;
	uint32_t delta;

	if (e->err)
		return e->err;
	if (e->marker || num < e->last_opt || num > 0xffff ||
	    len > 65535 + 269 || (len && !val))
		return enc_fail(e, -EINVAL);
	delta = num - e->last_opt;
	dnib = opt_ext(delta, dext, &dn);
	lnib = opt_ext((uint32_t)len, lext, &ln);
	need = 1 + dn + ln + len;
	if (need > e->cap - e->len)
		return enc_fail(e, -ENOSPC);
	e->buf[e->len++] = (uint8_t)(dnib << 4 | lnib);
	memcpy(e->buf + e->len, dext, dn);
	e->len += dn;
	memcpy(e->buf + e->len, lext, ln);
	e->len += ln;
	if (len)
		memcpy(e->buf + e->len, val, len);
	e->len += len;
	e->last_opt = num;
	return 0;
}

int csmp_coap_enc_path(struct csmp_coap_enc *e, const char *path)
{
	const char *s = path, *slash;
	int err;

	if (*s == '/')
		s++;
	for (;;) {
		size_t n;

		slash = strchr(s, '/');
		n = slash ? (size_t)(slash - s) : strlen(s);
		if (!n)
			return enc_fail(e, -EINVAL);
		err = csmp_coap_enc_opt(e, CSMP_COAP_OPT_URI_PATH, s, n);
		if (err || !slash)
			return err;
		s = slash + 1;
	}
}

int csmp_coap_enc_query(struct csmp_coap_enc *e, const char *item)
{
	return csmp_coap_enc_opt(e, CSMP_COAP_OPT_URI_QUERY, item,
				 strlen(item));
}

int csmp_coap_enc_payload(struct csmp_coap_enc *e, const void *p, size_t len)
{
	if (e->err)
		return e->err;
	if (e->marker)
		return enc_fail(e, -EINVAL);
	if (!len)
		return 0;
	if (1 + len > e->cap - e->len)
		return enc_fail(e, -ENOSPC);
	e->marker = e->len;
	e->buf[e->len++] = CSMP_COAP_MARKER;
	memcpy(e->buf + e->len, p, len);
	e->len += len;
	return 0;
}

int csmp_coap_enc_payload_begin(struct csmp_coap_enc *e, struct csmp_tlvw *w,
				unsigned int flags)
{
	if (e->err) {
		csmp_tlvw_init(w, NULL, 0, flags);
		w->err = e->err;
		return e->err;
	}
	if (e->marker || e->len >= e->cap) {
		csmp_tlvw_init(w, NULL, 0, flags);
		w->err = e->marker ? -EINVAL : -ENOSPC;
		return enc_fail(e, w->err);
	}
	e->marker = e->len;
	e->buf[e->len] = CSMP_COAP_MARKER;
	csmp_tlvw_init(w, e->buf + e->len + 1, e->cap - e->len - 1, flags);
	return 0;
}

int csmp_coap_enc_payload_end(struct csmp_coap_enc *e,
			      const struct csmp_tlvw *w)
{
	if (e->err)
		return e->err;
	if (!e->marker || w->buf != e->buf + e->marker + 1)
		return enc_fail(e, -EINVAL);
	if (w->err)
		return enc_fail(e, w->err);
	if (!w->len) {
		/* No TLV: a marker must not be followed by nothing. */
		e->marker = 0;
		return 0;
	}
	e->len += 1 + w->len;
	return 0;
}

int csmp_coap_enc_finish(const struct csmp_coap_enc *e)
{
	return e->err ? e->err : (int)e->len;
}
