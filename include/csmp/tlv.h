/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Freestanding CSMP TLV walk: Type and Length as protobuf varints (the agent
 * writes 2-byte non-minimal lengths), both encodings of the vendor TLV 127,
 * and the few protobuf fields the fast path reads (DeviceID.id,
 * SessionID.id). Shared by the kernel module and libcsmp; no libc, no
 * allocation, every loop bounded. Includer provides __u8..__u64 and errno.
 */
#ifndef CSMP_TLV_H
#define CSMP_TLV_H

#include "wire.h"
#include "reason.h"
#include "coap.h"

/* The length varint was not minimal (the agent's padded 2-byte form). */
#define CSMP_TLVF_NONMINIMAL	0x01
/* Vendor TLV in the agent's form: 7F <PEN> <type> <len> VendorTlv. */
#define CSMP_TLVF_VENDOR_AGENT	0x02
/* Vendor TLV in the draft's form: 7F <len> SubTLVs, SubType 1 = PEN. */
#define CSMP_TLVF_VENDOR_DRAFT	0x04
/* The type varint was not minimal (no known sender does this). */
#define CSMP_TLVF_NONMINIMAL_TYPE 0x08

struct csmp_tlv {
	__u32 type;	/* TLV id; CSMP_TLV_VENDOR for both vendor forms */
	__u32 pen;	/* vendor TLV: IANA PEN; 0 otherwise */
	__u32 vtype;	/* vendor TLV, agent form: the inner type id */
	__u32 hdr;	/* offset of the TLV's first byte in the payload */
	__u32 off;	/* offset of the value in the payload */
	__u32 len;	/* value length */
	__u32 flags;	/* CSMP_TLVF_* */
};

struct csmp_tlv_iter {
	const __u8 *p;	/* the CoAP payload */
	__u32 len;
	__u32 pos;
	__u32 count;	/* TLVs returned so far */
	__u32 reason;	/* enum csmp_reason when next() failed */
};

/*
 * Read a varint of at most 32 bits (5 bytes). Returns 0, or -1 when it runs
 * past `len` or does not fit 32 bits. *nonmin is set when the encoding was
 * longer than needed (trailing 0x00 group).
 */
static inline int csmp_varint32(const __u8 *p, __u32 len, __u32 *pos,
				__u32 *val, int *nonmin)
{
	__u32 v = 0, i;
	__u8 b = 0;

	for (i = 0; i < CSMP_VARINT_MAX_BYTES; i++) {
		if (*pos >= len)
			return -1;
		b = p[(*pos)++];
		if (i == 4 && (b & 0xf0))
			return -1;	/* more than 32 bits */
		v |= (__u32)(b & 0x7f) << (7 * i);
		if (!(b & 0x80))
			break;
	}
	if (i == CSMP_VARINT_MAX_BYTES)
		return -1;
	if (nonmin && i > 0 && b == 0)
		*nonmin = 1;
	*val = v;
	return 0;
}

/* Skip any protobuf varint (up to 10 bytes: negative int32 is 10). */
static inline int csmp_pb_skip_varint(const __u8 *p, __u32 len, __u32 *pos,
				      __u64 *val)
{
	__u64 v = 0;
	__u32 i;

	for (i = 0; i < 10; i++) {
		__u8 b;

		if (*pos >= len)
			return -1;
		b = p[(*pos)++];
		v |= (__u64)(b & 0x7f) << (7 * i);
		if (!(b & 0x80)) {
			if (val)
				*val = v;
			return 0;
		}
	}
	return -1;
}

static inline int csmp_tlv_fail(struct csmp_tlv_iter *it, unsigned int reason)
{
	it->reason = reason;
	return csmp_reason_errno(reason);
}

static inline void csmp_tlv_init(struct csmp_tlv_iter *it, const __u8 *p,
				 __u32 len)
{
	it->p = p;
	it->len = len;
	it->pos = 0;
	it->count = 0;
	it->reason = CSMP_R_OK;
}

/*
 * Draft form: value = SubTLVs that tile it exactly, the first of type 1
 * (the PEN). Returns 0 and the PEN, or -1 when the bytes are not that form.
 */
static inline int csmp_vendor_draft(const __u8 *p, __u32 end, __u32 off,
				    __u32 *pen)
{
	__u32 pos = off, i, st, sl;

	for (i = 0; i < CSMP_MAX_TLVS && pos < end; i++) {
		if (csmp_varint32(p, end, &pos, &st, 0) ||
		    csmp_varint32(p, end, &pos, &sl, 0) || sl > end - pos)
			return -1;
		if (i == 0) {
			__u32 vp = pos, v;

			if (st != 1 || csmp_varint32(p, pos + sl, &vp, &v, 0) ||
			    vp != pos + sl)
				return -1;
			*pen = v;
		}
		pos += sl;
	}
	return pos == end && i > 0 ? 0 : -1;
}

/*
 * Return 1 and the next TLV, 0 at the end of the payload, or -errno with
 * it->reason set. A vendor TLV is tried in the draft's form first (its
 * value must tile into SubTLVs beginning with the PEN), then the agent's.
 */
static inline int csmp_tlv_next(struct csmp_tlv_iter *it, struct csmp_tlv *t)
{
	__u32 pos = it->pos, len;
	int nonmin = 0, tnonmin = 0;

	if (pos >= it->len)
		return 0;
	if (it->count >= CSMP_MAX_TLVS)
		return csmp_tlv_fail(it, CSMP_R_TLV_TOO_MANY);
	t->hdr = pos;
	t->pen = t->vtype = 0;
	t->flags = 0;
	if (csmp_varint32(it->p, it->len, &pos, &t->type, &tnonmin))
		return csmp_tlv_fail(it, CSMP_R_TLV_VARINT);

	if (t->type == CSMP_TLV_VENDOR) {
		__u32 dpos = pos, dlen, apos = pos, pen = 0, vt, alen;

		if (!csmp_varint32(it->p, it->len, &dpos, &dlen, &nonmin) &&
		    dlen <= it->len - dpos &&
		    !csmp_vendor_draft(it->p, dpos + dlen, dpos, &pen)) {
			t->pen = pen;
			t->off = dpos;
			t->len = dlen;
			t->flags = CSMP_TLVF_VENDOR_DRAFT |
				   (nonmin ? CSMP_TLVF_NONMINIMAL : 0);
			goto out;
		}
		nonmin = 0;
		if (csmp_varint32(it->p, it->len, &apos, &pen, 0) ||
		    csmp_varint32(it->p, it->len, &apos, &vt, 0) ||
		    csmp_varint32(it->p, it->len, &apos, &alen, &nonmin))
			return csmp_tlv_fail(it, CSMP_R_TLV_VENDOR);
		if (alen > it->len - apos)
			return csmp_tlv_fail(it, CSMP_R_TLV_VENDOR);
		t->pen = pen;
		t->vtype = vt;
		t->off = apos;
		t->len = alen;
		t->flags = CSMP_TLVF_VENDOR_AGENT |
			   (nonmin ? CSMP_TLVF_NONMINIMAL : 0);
		goto out;
	}

	if (csmp_varint32(it->p, it->len, &pos, &len, &nonmin))
		return csmp_tlv_fail(it, CSMP_R_TLV_VARINT);
	if (len > it->len - pos)
		return csmp_tlv_fail(it, CSMP_R_TLV_TRUNC);
	t->off = pos;
	t->len = len;
	t->flags = nonmin ? CSMP_TLVF_NONMINIMAL : 0;
out:
	if (tnonmin)
		t->flags |= CSMP_TLVF_NONMINIMAL_TYPE;
	it->pos = t->off + t->len;
	it->count++;
	return 1;
}

/*
 * Protobuf field scan over one TLV value: the last occurrence of field
 * `num` ("last one wins"). Wire types 0, 1, 2 and 5 are walked; groups (3,
 * 4) and 6/7 are malformed for CSMP. Returns 0 when found, -ENOENT when
 * absent, -EBADMSG when the message does not parse.
 */
#define CSMP_PB_MAX_FIELDS	64

static inline int csmp_pb_find(const __u8 *p, __u32 len, __u32 num,
			       __u32 want_wt, __u64 *val, __u32 *off,
			       __u32 *flen)
{
	__u32 pos = 0, i;
	int found = -ENOENT;

	for (i = 0; i < CSMP_PB_MAX_FIELDS && pos < len; i++) {
		__u64 key, v = 0;
		__u32 wt, fnum, l, vo;

		if (csmp_pb_skip_varint(p, len, &pos, &key) || key >> 32)
			return -EBADMSG;
		wt = key & 7;
		fnum = (__u32)(key >> 3);
		if (!fnum)
			return -EBADMSG;
		vo = pos;
		switch (wt) {
		case 0:
			if (csmp_pb_skip_varint(p, len, &pos, &v))
				return -EBADMSG;
			l = 0;
			break;
		case 1:
		case 5:
			l = wt == 1 ? 8 : 4;
			if (l > len - pos)
				return -EBADMSG;
			pos += l;
			break;
		case 2:
			if (csmp_varint32(p, len, &pos, &l, 0) || l > len - pos)
				return -EBADMSG;
			vo = pos;
			pos += l;
			break;
		default:
			return -EBADMSG;
		}
		if (fnum == num && wt == want_wt) {
			if (val)
				*val = v;
			if (off)
				*off = vo;
			if (flen)
				*flen = l;
			found = 0;
		}
	}
	if (pos < len)
		return -EBADMSG;	/* more fields than we walk */
	return found;
}

static inline int csmp_hexval(__u8 c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* 16 hex digits (either case) to an EID. Returns 0 or -EINVAL. */
static inline int csmp_eid_from_hex(const __u8 *s, __u32 len, __u64 *eid)
{
	__u64 v = 0;
	__u32 i;

	if (len != CSMP_EID_HEX_LEN)
		return -EINVAL;
	for (i = 0; i < CSMP_EID_HEX_LEN; i++) {
		int h = csmp_hexval(s[i]);

		if (h < 0)
			return -EINVAL;
		v = (v << 4) | (__u64)h;
	}
	*eid = v;
	return 0;
}

/* DeviceID TLV value -> EID (field 2, 16 hex digits). */
static inline int csmp_deviceid_eid(const __u8 *v, __u32 len, __u64 *eid)
{
	__u32 off, l;
	__u64 type;
	int err;

	err = csmp_pb_find(v, len, 1, 0, &type, 0, 0);
	if (err == -EBADMSG)
		return err;
	if (!err && type != CSMP_DEVICE_ID_EUI64)
		return -EINVAL;
	err = csmp_pb_find(v, len, 2, 2, 0, &off, &l);
	if (err)
		return err == -ENOENT ? -EINVAL : err;
	return csmp_eid_from_hex(v + off, l, eid);
}

/*
 * SessionID TLV value -> the id string (offset/length within v) and, when
 * its first 4 characters are lowercase hex, the owning backend id.
 * Returns 0, 1 when a backend id was found, or -errno.
 */
static inline int csmp_sessionid(const __u8 *v, __u32 len, __u32 *off,
				 __u32 *slen, __u16 *backend)
{
	__u32 o, l, i;
	__u16 b = 0;
	int err;

	err = csmp_pb_find(v, len, 1, 2, 0, &o, &l);
	if (err)
		return err == -ENOENT ? -EINVAL : err;
	if (l == 0 || l > CSMP_SESSION_ID_MAX)
		return -EINVAL;
	*off = o;
	*slen = l;
	if (l < CSMP_SESSION_BACKEND_HEX)
		return 0;
	for (i = 0; i < CSMP_SESSION_BACKEND_HEX; i++) {
		__u8 c = v[o + i];

		if (c >= '0' && c <= '9')
			b = (__u16)((b << 4) | (c - '0'));
		else if (c >= 'a' && c <= 'f')
			b = (__u16)((b << 4) | (c - 'a' + 10));
		else
			return 0;
	}
	*backend = b;
	return 1;
}

#endif /* CSMP_TLV_H */
