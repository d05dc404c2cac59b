// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The byte-level half of CSMP signatures: the DER envelope of
 * Signature.value, locating the Signature and SignatureValidity TLVs in a
 * payload, and writing those two TLVs. No crypto library is touched here,
 * so this is the code the fuzzer hammers (selftests/fuzz/fuzz_sig_parse.c)
 * and the code that rejects malformed input before any signature is
 * computed. Every length is checked against its container; the agent
 * itself skips the envelope assuming short-form lengths, so a head-end
 * must be the strict one.
 */
#include <errno.h>
#include <string.h>
#include <linux/types.h>

#include <csmp/tlv.h>

#include "sig.h"

#define DER_SEQUENCE	0x30
#define DER_OID		0x06
#define DER_BIT_STRING	0x03
#define DER_INTEGER	0x02

/* 1.2.840.10045.4.3.2 ecdsa-with-SHA256 (RFC 5758). */
static const uint8_t oid_ecdsa_sha256[] = {
	0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02,
};
/* 1.3.101.112 id-Ed25519 (RFC 8410). */
static const uint8_t oid_ed25519[] = { 0x2b, 0x65, 0x70 };

/*
 * Read the length octets at *pos; the element's content must fit before
 * `end`. DER allows only the minimal form: short below 128, else 0x81 or
 * 0x82 with no leading zero. 88 bytes never need more than 0x81, but a
 * longer well-formed length is still reported as an overflow, not as an
 * encoding error, so the errno says what is wrong.
 */
static int der_len(const uint8_t *p, size_t end, size_t *pos, size_t *len)
{
	size_t v, n, i;
	uint8_t b;

	if (*pos >= end)
		return -EOVERFLOW;
	b = p[(*pos)++];
	if (b < 0x80) {
		v = b;
	} else {
		n = b & 0x7f;
		if (n == 0 || n > 2)
			return -EILSEQ;	/* indefinite, or absurdly long */
		if (n > end - *pos)
			return -EOVERFLOW;
		for (v = 0, i = 0; i < n; i++)
			v = v << 8 | p[(*pos)++];
		if (v < 0x80 || (n == 2 && v < 0x100))
			return -EILSEQ;	/* not minimal */
	}
	if (v > end - *pos)
		return -EOVERFLOW;
	*len = v;
	return 0;
}

/* One TLV-encoded element with the expected tag; advances *pos past it. */
static int der_elem(const uint8_t *p, size_t end, size_t *pos, uint8_t tag,
		    size_t *off, size_t *len)
{
	int err;

	if (*pos >= end)
		return -EOVERFLOW;
	if (p[*pos] != tag)
		return -EPROTO;
	(*pos)++;
	err = der_len(p, end, pos, len);
	if (err)
		return err;
	*off = *pos;
	*pos += *len;
	return 0;
}

/* A positive INTEGER of at most 32 significant bytes, minimally encoded. */
static int der_scalar(const uint8_t *p, size_t end, size_t *pos)
{
	size_t off, len;
	int err;

	err = der_elem(p, end, pos, DER_INTEGER, &off, &len);
	if (err)
		return err;
	if (len == 0 || p[off] & 0x80)
		return -EDOM;	/* empty or negative */
	if (len > 1 && p[off] == 0 && !(p[off + 1] & 0x80))
		return -EDOM;	/* leading zero not needed */
	if (len == 1 && p[off] == 0)
		return -EDOM;	/* zero is never a valid r or s */
	if (len - (p[off] == 0) > 32)
		return -ERANGE;
	return 0;
}

/* Ecdsa-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER }, exactly. */
static int der_ecdsa_check(const uint8_t *p, size_t len)
{
	size_t pos = 0, off, sl;
	int err;

	err = der_elem(p, len, &pos, DER_SEQUENCE, &off, &sl);
	if (err)
		return err;
	if (pos != len)
		return -EBADMSG;
	pos = off;
	err = der_scalar(p, off + sl, &pos);
	if (!err)
		err = der_scalar(p, off + sl, &pos);
	if (err)
		return err;
	return pos == off + sl ? 0 : -EBADMSG;
}

int csmp_sig_der_parse(const uint8_t *v, size_t len,
		       enum csmp_sig_suite *suite, const uint8_t **sig,
		       size_t *sig_len)
{
	size_t pos = 0, so, sl, oo, ol, bo, bl, end;
	enum csmp_sig_suite su;
	int err;

	if (len == 0)
		return -ENODATA;
	if (len > CSMP_SIG_VALUE_MAX)
		return -EMSGSIZE;
	err = der_elem(v, len, &pos, DER_SEQUENCE, &so, &sl);
	if (err)
		return err;
	if (pos != len)
		return -EBADMSG;
	pos = so;
	end = so + sl;
	err = der_elem(v, end, &pos, DER_OID, &oo, &ol);
	if (err)
		return err;
	err = der_elem(v, end, &pos, DER_BIT_STRING, &bo, &bl);
	if (err)
		return err;
	if (pos != end)
		return -EBADMSG;

	if (ol == sizeof(oid_ecdsa_sha256) &&
	    !memcmp(v + oo, oid_ecdsa_sha256, ol))
		su = CSMP_SUITE_P256;
	else if (ol == sizeof(oid_ed25519) && !memcmp(v + oo, oid_ed25519, ol))
		su = CSMP_SUITE_ED25519;
	else
		return -EPROTONOSUPPORT;

	/* The first content octet of a BIT STRING counts unused bits. */
	if (bl == 0 || v[bo] != 0)
		return -EINVAL;
	bo++;
	bl--;
	if (su == CSMP_SUITE_P256) {
		err = der_ecdsa_check(v + bo, bl);
		if (err)
			return err;
	} else if (bl != CSMP_SIG_ED25519_LEN) {
		return -ERANGE;
	}
	*suite = su;
	*sig = v + bo;
	*sig_len = bl;
	return 0;
}

int csmp_sig_der_build(enum csmp_sig_suite suite, const uint8_t *sig,
		       size_t sig_len, uint8_t *out, size_t cap)
{
	const uint8_t *oid;
	size_t ol, inner, total;
	int err;

	switch (suite) {
	case CSMP_SUITE_P256:
		oid = oid_ecdsa_sha256;
		ol = sizeof(oid_ecdsa_sha256);
		if (sig_len > CSMP_SIG_ECDSA_DER_MAX)
			return -ERANGE;
		err = der_ecdsa_check(sig, sig_len);
		if (err)
			return err;
		break;
	case CSMP_SUITE_ED25519:
		oid = oid_ed25519;
		ol = sizeof(oid_ed25519);
		if (sig_len != CSMP_SIG_ED25519_LEN)
			return -ERANGE;
		break;
	default:
		return -EPROTONOSUPPORT;
	}
	/* Every length below is < 128: short form throughout. */
	inner = 2 + ol + 2 + 1 + sig_len;
	total = 2 + inner;
	if (total > CSMP_SIG_VALUE_MAX)
		return -EMSGSIZE;
	if (total > cap)
		return -ENOSPC;
	out[0] = DER_SEQUENCE;
	out[1] = (uint8_t)inner;
	out[2] = DER_OID;
	out[3] = (uint8_t)ol;
	memcpy(out + 4, oid, ol);
	out[4 + ol] = DER_BIT_STRING;
	out[5 + ol] = (uint8_t)(sig_len + 1);
	out[6 + ol] = 0;
	memcpy(out + 7 + ol, sig, sig_len);
	return (int)total;
}

static int put_varint(uint8_t *buf, size_t *pos, size_t cap, uint32_t v)
{
	do {
		if (*pos >= cap)
			return -ENOSPC;
		buf[(*pos)++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
		v >>= 7;
	} while (v);
	return 0;
}

static size_t varint_len(uint32_t v)
{
	size_t n = 1;

	while (v > 0x7f) {
		v >>= 7;
		n++;
	}
	return n;
}

/*
 * The only TLV writer in this file: type, minimal length, then the value
 * built by the caller's fields. Both messages are a handful of bytes, so
 * they are written here rather than through protobuf-c and a packer.
 */
int csmp_sig_put_validity(uint8_t *buf, size_t len, size_t cap,
			  uint32_t not_before, uint32_t not_after)
{
	size_t pos = len;
	uint32_t vlen = (uint32_t)(2 + varint_len(not_before) +
				   varint_len(not_after));

	if (len > cap)
		return -EINVAL;
	if (put_varint(buf, &pos, cap, CSMP_TLV_SIGNATURE_VALIDITY) ||
	    put_varint(buf, &pos, cap, vlen) ||
	    put_varint(buf, &pos, cap, 1 << 3 | 0) ||
	    put_varint(buf, &pos, cap, not_before) ||
	    put_varint(buf, &pos, cap, 2 << 3 | 0) ||
	    put_varint(buf, &pos, cap, not_after))
		return -ENOSPC;
	return (int)pos;
}

int csmp_sig_put_signature(uint8_t *buf, size_t len, size_t cap,
			   const uint8_t *value, size_t value_len)
{
	size_t pos = len;

	if (len > cap)
		return -EINVAL;
	if (value_len > CSMP_SIG_VALUE_MAX)
		return -EMSGSIZE;
	if (put_varint(buf, &pos, cap, CSMP_TLV_SIGNATURE) ||
	    put_varint(buf, &pos, cap,
		       (uint32_t)(1 + varint_len((uint32_t)value_len) +
				  value_len)) ||
	    put_varint(buf, &pos, cap, 1 << 3 | 2) ||
	    put_varint(buf, &pos, cap, (uint32_t)value_len))
		return -ENOSPC;
	if (value_len > cap - pos)
		return -ENOSPC;
	memcpy(buf + pos, value, value_len);
	return (int)(pos + value_len);
}

static int loc_fail(struct csmp_sig_loc *loc, int err)
{
	loc->reason = err == -ENOENT ? CSMP_R_SIG_MISSING : CSMP_R_SIG_MALFORMED;
	loc->err = err;
	return err;
}

static int validity_bound(const uint8_t *v, uint32_t len, uint32_t field,
			  uint32_t *out)
{
	__u64 val;
	int err;

	err = csmp_pb_find(v, len, field, 0, &val, 0, 0);
	if (err == -ENOENT)
		return -ENOMSG;
	if (err)
		return -EBADE;
	if (val > UINT32_MAX)
		return -EFBIG;
	*out = (uint32_t)val;
	return 0;
}

int csmp_sig_locate(const uint8_t *payload, size_t len,
		    struct csmp_sig_loc *loc)
{
	struct csmp_tlv_iter it;
	struct csmp_tlv t, val = { 0 }, sig = { 0 };
	bool have_val = false, have_sig = false;
	size_t inner_len;
	uint32_t off, flen;
	int ret, err;

	memset(loc, 0, sizeof(*loc));
	if (len > CSMP_MAX_DGRAM)
		return loc_fail(loc, -EMSGSIZE);
	csmp_tlv_init(&it, payload, (__u32)len);
	while ((ret = csmp_tlv_next(&it, &t)) > 0) {
		if (have_sig)
			return loc_fail(loc, -ENOTEMPTY);
		if (t.type == CSMP_TLV_SIGNATURE) {
			sig = t;
			have_sig = true;
		} else if (t.type == CSMP_TLV_SIGNATURE_VALIDITY) {
			val = t;	/* duplicates: the last one wins */
			have_val = true;
		}
	}
	if (ret < 0)
		return loc_fail(loc, ret);
	if (!have_sig)
		return loc_fail(loc, -ENOENT);
	if (!have_val)
		return loc_fail(loc, -ESRCH);

	err = validity_bound(payload + val.off, val.len, 1, &loc->not_before);
	if (!err)
		err = validity_bound(payload + val.off, val.len, 2,
				     &loc->not_after);
	if (err)
		return loc_fail(loc, err);
	if (loc->not_before > loc->not_after)
		return loc_fail(loc, -ETIME);

	err = csmp_pb_find(payload + sig.off, sig.len, 1, 2, 0, &off, &flen);
	if (err)
		return loc_fail(loc, err == -ENOENT ? -ENOMSG : -EBADE);
	loc->value = payload + sig.off + off;
	loc->value_len = flen;
	err = csmp_sig_der_parse(loc->value, flen, &loc->suite, &loc->sig,
				 &inner_len);
	if (err)
		return loc_fail(loc, err);
	loc->sig_len = (uint32_t)inner_len;
	loc->region_len = sig.hdr;
	loc->reason = CSMP_R_OK;
	return 0;
}
