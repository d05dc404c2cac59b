// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * CSMP TLV reading helpers, decoding and the writer (see tlvmsg.h). The
 * walk itself is csmp_tlv_next() from include/csmp/tlv.h.
 */
#include <errno.h>
#include <string.h>
#include "csmp.h"

int csmp_tlv_find(const uint8_t *payload, size_t len, uint32_t type,
		  struct csmp_tlv *t, unsigned int *reason)
{
	struct csmp_tlv_iter it;
	struct csmp_tlv cur;
	int r, found = -ENOENT;

	csmp_tlv_init(&it, payload, (__u32)len);
	while ((r = csmp_tlv_next(&it, &cur)) > 0) {
		if (cur.type == type) {
			*t = cur;
			found = 0;
		}
	}
	if (r < 0) {
		if (reason)
			*reason = it.reason;
		return r;
	}
	return found;
}

int csmp_tlv_count(const uint8_t *payload, size_t len, unsigned int *reason)
{
	struct csmp_tlv_iter it;
	struct csmp_tlv t;
	int r;

	csmp_tlv_init(&it, payload, (__u32)len);
	while ((r = csmp_tlv_next(&it, &t)) > 0)
		;
	if (r < 0) {
		if (reason)
			*reason = it.reason;
		return r;
	}
	return (int)it.count;
}

void csmp_subtlv_init(struct csmp_subtlv_iter *it, const uint8_t *value,
		      size_t len)
{
	it->p = value;
	it->len = (uint32_t)len;
	it->pos = 0;
}

int csmp_subtlv_next(struct csmp_subtlv_iter *it, struct csmp_subtlv *s)
{
	__u32 pos = it->pos, type, len;

	if (pos >= it->len)
		return 0;
	if (csmp_varint32(it->p, it->len, &pos, &type, 0) ||
	    csmp_varint32(it->p, it->len, &pos, &len, 0) ||
	    len > it->len - pos)
		return -EBADMSG;
	s->type = type;
	s->off = pos;
	s->len = len;
	it->pos = pos + len;
	return 1;
}

/* ---- protobuf helpers ---- */

/*
 * protobuf-c 1.4.1 refuses a key of field number 0 in one byte but keeps
 * one written in two or more (e.g. 85 00) as an unknown field, which it
 * then packs as the one-byte form it refuses: found by fuzz_protobuf.
 * Field 0 is never valid, so refuse it at any depth.
 */
static int pb_has_field0(const ProtobufCMessage *m, int depth)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	unsigned int i;

	for (i = 0; i < m->n_unknown_fields; i++)
		if (m->unknown_fields[i].tag == 0)
			return 1;
	if (depth > 8)
		return 0;
	for (i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		const char *base = (const char *)m;

		if (f->type != PROTOBUF_C_TYPE_MESSAGE)
			continue;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(const size_t *)(base + f->quantifier_offset), j;
			ProtobufCMessage *const *arr =
				*(ProtobufCMessage *const *const *)(base + f->offset);

			for (j = 0; j < n; j++)
				if (arr[j] && pb_has_field0(arr[j], depth + 1))
					return 1;
		} else {
			const ProtobufCMessage *sub =
				*(ProtobufCMessage *const *)(base + f->offset);

			if (sub && pb_has_field0(sub, depth + 1))
				return 1;
		}
	}
	return 0;
}

int csmp_pb_unpack(struct csmp_arena *a, const ProtobufCMessageDescriptor *desc,
		   const uint8_t *data, size_t len, ProtobufCMessage **out)
{
	unsigned int failed = a->failed;
	ProtobufCMessage *m;

	m = protobuf_c_message_unpack(desc, &a->pb, len, data);
	if (!m)
		return a->failed != failed ? -ENOMEM : -EBADMSG;
	if (pb_has_field0(m, 0))
		return -EBADMSG;
	*out = m;
	return 0;
}

int csmp_tlv_decode(struct csmp_arena *a, const uint8_t *payload,
		    const struct csmp_tlv *t, ProtobufCMessage **out)
{
	const struct csmp_tlv_info *ti;

	if (t->flags & CSMP_TLVF_VENDOR_DRAFT)
		return -ENOENT;
	ti = csmp_tlv_info(t->type);
	if (!ti || !ti->desc)
		return -ENOENT;
	return csmp_pb_unpack(a, ti->desc, payload + t->off, t->len, out);
}

static const ProtobufCFieldDescriptor *pb_field(const ProtobufCMessage *m,
						uint32_t num)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	unsigned int i;

	for (i = 0; i < d->n_fields; i++)
		if (d->fields[i].id == num)
			return &d->fields[i];
	return NULL;
}

int csmp_pb_set_present(ProtobufCMessage *m, uint32_t num)
{
	const ProtobufCFieldDescriptor *f = pb_field(m, num);

	if (!f)
		return -ENOENT;
	if (!(f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF))
		return -EINVAL;
	*(uint32_t *)((char *)m + f->quantifier_offset) = num;
	return 0;
}

int csmp_pb_has(const ProtobufCMessage *m, uint32_t num)
{
	const ProtobufCFieldDescriptor *f = pb_field(m, num);
	const char *base = (const char *)m;

	if (!f)
		return 0;
	if (f->label == PROTOBUF_C_LABEL_REPEATED)
		return *(const size_t *)(base + f->quantifier_offset) != 0;
	if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
		return *(const uint32_t *)(base + f->quantifier_offset) == num;
	if (f->type == PROTOBUF_C_TYPE_MESSAGE ||
	    f->type == PROTOBUF_C_TYPE_STRING)
		return *(void *const *)(base + f->offset) != NULL;
	if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->quantifier_offset)
		return *(const protobuf_c_boolean *)(base +
						     f->quantifier_offset);
	return 1;
}

/* ---- writer ---- */

size_t csmp_varint_put(uint8_t *out, uint32_t v)
{
	size_t n = 0;

	while (v >= 0x80) {
		out[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	out[n++] = (uint8_t)v;
	return n;
}

static size_t varint_len(uint32_t v)
{
	size_t n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

void csmp_tlvw_init(struct csmp_tlvw *w, void *buf, size_t cap,
		    unsigned int flags)
{
	w->buf = buf;
	w->cap = buf ? cap : 0;
	w->len = 0;
	w->flags = flags;
	w->err = 0;
}

static int tlvw_fail(struct csmp_tlvw *w, int err)
{
	if (!w->err)
		w->err = err;
	return w->err;
}

static size_t len_size(const struct csmp_tlvw *w, uint32_t len)
{
	if ((w->flags & CSMP_TLVW_PAD) && len < 16384)
		return 2;
	return varint_len(len);
}

static void put_len(struct csmp_tlvw *w, uint32_t len)
{
	if ((w->flags & CSMP_TLVW_PAD) && len < 16384) {
		w->buf[w->len++] = (uint8_t)(0x80 | (len & 0x7f));
		w->buf[w->len++] = (uint8_t)(len >> 7);
		return;
	}
	w->len += csmp_varint_put(w->buf + w->len, len);
}

/* Reserve room for a header of hdr bytes plus a value of vlen bytes. */
static int tlvw_room(struct csmp_tlvw *w, size_t hdr, size_t vlen)
{
	if (w->err)
		return w->err;
	if (vlen > UINT32_MAX || hdr + vlen > w->cap - w->len)
		return tlvw_fail(w, -ENOSPC);
	return 0;
}

int csmp_tlvw_put_raw(struct csmp_tlvw *w, uint32_t type, const void *v,
		      size_t len)
{
	size_t hdr = varint_len(type) + len_size(w, (uint32_t)len);
	int err = tlvw_room(w, hdr, len);

	if (err)
		return err;
	w->len += csmp_varint_put(w->buf + w->len, type);
	put_len(w, (uint32_t)len);
	if (len)
		memcpy(w->buf + w->len, v, len);
	w->len += len;
	return 0;
}

int csmp_tlvw_put(struct csmp_tlvw *w, uint32_t type,
		  const ProtobufCMessage *m)
{
	size_t len = protobuf_c_message_get_packed_size(m);
	size_t hdr = varint_len(type) + len_size(w, (uint32_t)len);
	int err = tlvw_room(w, hdr, len);

	if (err)
		return err;
	w->len += csmp_varint_put(w->buf + w->len, type);
	put_len(w, (uint32_t)len);
	w->len += protobuf_c_message_pack(m, w->buf + w->len);
	return 0;
}

int csmp_tlvw_put_vendor_agent(struct csmp_tlvw *w, uint32_t pen,
			       uint32_t vtype, const Csmp__VendorTlv *v)
{
	size_t len = csmp__vendor_tlv__get_packed_size(v);
	size_t hdr = varint_len(CSMP_TLV_VENDOR) + varint_len(pen) +
		     varint_len(vtype) + len_size(w, (uint32_t)len);
	int err = tlvw_room(w, hdr, len);

	if (err)
		return err;
	w->len += csmp_varint_put(w->buf + w->len, CSMP_TLV_VENDOR);
	w->len += csmp_varint_put(w->buf + w->len, pen);
	w->len += csmp_varint_put(w->buf + w->len, vtype);
	put_len(w, (uint32_t)len);
	w->len += csmp__vendor_tlv__pack(v, w->buf + w->len);
	return 0;
}

int csmp_tlvw_put_vendor_draft(struct csmp_tlvw *w, uint32_t pen,
			       const struct csmp_subtlv_val *subs, size_t n)
{
	size_t vlen, hdr, i;
	int err;

	/* SubTLV 1 (the PEN) first, then the vendor's; lengths minimal. */
	vlen = 2 + varint_len(pen);
	for (i = 0; i < n; i++) {
		if (subs[i].type < 16 || subs[i].len > UINT32_MAX ||
		    (subs[i].len && !subs[i].val))
			return tlvw_fail(w, -EINVAL);
		vlen += varint_len(subs[i].type) +
			varint_len((uint32_t)subs[i].len) + subs[i].len;
	}
	if (vlen > UINT32_MAX)
		return tlvw_fail(w, -ENOSPC);
	hdr = varint_len(CSMP_TLV_VENDOR) + len_size(w, (uint32_t)vlen);
	err = tlvw_room(w, hdr, vlen);
	if (err)
		return err;
	w->len += csmp_varint_put(w->buf + w->len, CSMP_TLV_VENDOR);
	put_len(w, (uint32_t)vlen);
	w->buf[w->len++] = 1;
	w->buf[w->len++] = (uint8_t)varint_len(pen);
	w->len += csmp_varint_put(w->buf + w->len, pen);
	for (i = 0; i < n; i++) {
		w->len += csmp_varint_put(w->buf + w->len, subs[i].type);
		w->len += csmp_varint_put(w->buf + w->len,
					  (uint32_t)subs[i].len);
		if (subs[i].len)
			memcpy(w->buf + w->len, subs[i].val, subs[i].len);
		w->len += subs[i].len;
	}
	return 0;
}
