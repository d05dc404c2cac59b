// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * JSON printing of protobuf-c messages from their descriptors alone (see
 * pbjson.h), plus the string builder it writes to. No allocation: output
 * that does not fit sets sb->err and is cut, it never overruns.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "csmp.h"

void csmp_sb_init(struct csmp_sb *sb, char *buf, size_t cap)
{
	sb->buf = buf;
	sb->cap = cap;
	sb->len = 0;
	sb->err = cap ? 0 : -ENOSPC;
	if (cap)
		buf[0] = '\0';
}

void csmp_sb_reset(struct csmp_sb *sb)
{
	csmp_sb_init(sb, sb->buf, sb->cap);
}

static void sb_put(struct csmp_sb *sb, const char *s, size_t n)
{
	if (sb->err)
		return;
	if (n >= sb->cap - sb->len) {
		sb->err = -ENOSPC;
		return;
	}
	memcpy(sb->buf + sb->len, s, n);
	sb->len += n;
	sb->buf[sb->len] = '\0';
}

void csmp_sb_printf(struct csmp_sb *sb, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (sb->err)
		return;
	va_start(ap, fmt);
	n = vsnprintf(sb->buf + sb->len, sb->cap - sb->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sb->cap - sb->len) {
		sb->buf[sb->len] = '\0';
		sb->err = -ENOSPC;
		return;
	}
	sb->len += (size_t)n;
}

void csmp_sb_putc(struct csmp_sb *sb, char c)
{
	sb_put(sb, &c, 1);
}

void csmp_sb_puts(struct csmp_sb *sb, const char *s)
{
	sb_put(sb, s, strlen(s));
}

void csmp_sb_hex(struct csmp_sb *sb, const void *p, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const uint8_t *b = p;
	char pair[2];
	size_t i;

	for (i = 0; i < len && !sb->err; i++) {
		pair[0] = hex[b[i] >> 4];
		pair[1] = hex[b[i] & 15];
		sb_put(sb, pair, 2);
	}
}

/* Length of a valid UTF-8 sequence at s (RFC 3629), 0 when invalid. */
static size_t utf8_seq(const uint8_t *s, size_t n)
{
	uint32_t cp;
	size_t len, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

void csmp_sb_json_str(struct csmp_sb *sb, const void *p, size_t len)
{
	const uint8_t *s = p;
	size_t i = 0;

	csmp_sb_putc(sb, '"');
	while (i < len && !sb->err) {
		uint8_t c = s[i];
		size_t n;

		if (c == '"' || c == '\\') {
			char esc[2] = { '\\', (char)c };

			sb_put(sb, esc, 2);
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			csmp_sb_printf(sb, "\\u%04x", c);
			i++;
		} else if ((n = utf8_seq(s + i, len - i))) {
			sb_put(sb, (const char *)s + i, n);
			i += n;
		} else {
			/* Not UTF-8: keep the byte, readably. */
			csmp_sb_printf(sb, "\\u%04x", c);
			i++;
		}
	}
	csmp_sb_putc(sb, '"');
}

/* proto3 JSON name: snake_case -> lowerCamelCase. */
static void json_key(struct csmp_sb *sb, const char *name)
{
	char key[96];
	size_t n = 0;
	int up = 0;

	for (; *name && n < sizeof(key) - 1; name++) {
		if (*name == '_') {
			up = 1;
			continue;
		}
		key[n++] = up && *name >= 'a' && *name <= 'z' ?
			   (char)(*name - 'a' + 'A') : *name;
		up = 0;
	}
	csmp_sb_json_str(sb, key, n);
	csmp_sb_putc(sb, ':');
}

size_t csmp_pb_elem_size(ProtobufCType type)
{
	switch (type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
	case PROTOBUF_C_TYPE_FLOAT:
	case PROTOBUF_C_TYPE_ENUM:
		return 4;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
	case PROTOBUF_C_TYPE_DOUBLE:
		return 8;
	case PROTOBUF_C_TYPE_BOOL:
		return sizeof(protobuf_c_boolean);
	case PROTOBUF_C_TYPE_STRING:
	case PROTOBUF_C_TYPE_MESSAGE:
		return sizeof(void *);
	case PROTOBUF_C_TYPE_BYTES:
		return sizeof(ProtobufCBinaryData);
	}
	return 0;
}

static void json_value(struct csmp_sb *sb, const ProtobufCFieldDescriptor *f,
		       const void *v)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
	case PROTOBUF_C_TYPE_ENUM:
		csmp_sb_printf(sb, "%d", *(const int32_t *)v);
		break;
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		csmp_sb_printf(sb, "%u", *(const uint32_t *)v);
		break;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		csmp_sb_printf(sb, "%lld", (long long)*(const int64_t *)v);
		break;
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		csmp_sb_printf(sb, "%llu",
			       (unsigned long long)*(const uint64_t *)v);
		break;
	case PROTOBUF_C_TYPE_FLOAT:
		csmp_sb_printf(sb, "%.9g", (double)*(const float *)v);
		break;
	case PROTOBUF_C_TYPE_DOUBLE:
		csmp_sb_printf(sb, "%.17g", *(const double *)v);
		break;
	case PROTOBUF_C_TYPE_BOOL:
		csmp_sb_puts(sb, *(const protobuf_c_boolean *)v ? "true" :
								  "false");
		break;
	case PROTOBUF_C_TYPE_STRING: {
		const char *s = *(char *const *)v;

		csmp_sb_json_str(sb, s ? s : "", s ? strlen(s) : 0);
		break;
	}
	case PROTOBUF_C_TYPE_BYTES: {
		const ProtobufCBinaryData *b = v;

		csmp_sb_putc(sb, '"');
		csmp_sb_hex(sb, b->data, b->len);
		csmp_sb_putc(sb, '"');
		break;
	}
	case PROTOBUF_C_TYPE_MESSAGE: {
		const ProtobufCMessage *m = *(ProtobufCMessage *const *)v;

		if (m)
			csmp_pb_json(sb, m);
		else
			csmp_sb_puts(sb, "null");
		break;
	}
	}
}

/* Whether a singular field is on the wire (see pbjson.h on presence). */
static int field_present(const ProtobufCMessage *m,
			 const ProtobufCFieldDescriptor *f)
{
	const char *base = (const char *)m;
	const void *v = base + f->offset;

	if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
		return *(const uint32_t *)(base + f->quantifier_offset) ==
		       f->id;
	if (f->label == PROTOBUF_C_LABEL_REQUIRED)
		return 1;
	if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->quantifier_offset)
		return *(const protobuf_c_boolean *)(base +
						     f->quantifier_offset);
	/* proto3 without presence, or pointer-typed optional: non-default. */
	switch (f->type) {
	case PROTOBUF_C_TYPE_MESSAGE:
		return *(void *const *)v != NULL;
	case PROTOBUF_C_TYPE_STRING: {
		const char *s = *(char *const *)v;

		return s && *s;
	}
	case PROTOBUF_C_TYPE_BYTES:
		return ((const ProtobufCBinaryData *)v)->len != 0;
	default: {
		static const uint8_t zero[8];

		return memcmp(v, zero, csmp_pb_elem_size(f->type)) != 0;
	}
	}
}

/* The members of m's object; `first` is 0 when members precede them. */
static void pb_json_members(struct csmp_sb *sb, const ProtobufCMessage *m,
			    int first)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	const char *base = (const char *)m;
	unsigned int i;

	for (i = 0; i < d->n_fields && !sb->err; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];

		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(const size_t *)(base + f->quantifier_offset);
			const char *arr = *(char *const *)(base + f->offset);
			size_t j, es = csmp_pb_elem_size(f->type);

			if (!n || !arr)
				continue;
			if (!first)
				csmp_sb_putc(sb, ',');
			first = 0;
			json_key(sb, f->name);
			csmp_sb_putc(sb, '[');
			for (j = 0; j < n; j++) {
				if (j)
					csmp_sb_putc(sb, ',');
				json_value(sb, f, arr + j * es);
			}
			csmp_sb_putc(sb, ']');
			continue;
		}
		if (!field_present(m, f))
			continue;
		if (!first)
			csmp_sb_putc(sb, ',');
		first = 0;
		json_key(sb, f->name);
		json_value(sb, f, base + f->offset);
	}
	if (m->n_unknown_fields) {
		if (!first)
			csmp_sb_putc(sb, ',');
		csmp_sb_puts(sb, "\"_unknown\":[");
		for (i = 0; i < m->n_unknown_fields; i++) {
			const ProtobufCMessageUnknownField *u =
				&m->unknown_fields[i];

			csmp_sb_printf(sb, "%s{\"field\":%u,\"wireType\":%d,"
				       "\"data\":\"", i ? "," : "", u->tag,
				       (int)u->wire_type);
			csmp_sb_hex(sb, u->data, u->len);
			csmp_sb_puts(sb, "\"}");
		}
		csmp_sb_putc(sb, ']');
	}
}

void csmp_pb_json(struct csmp_sb *sb, const ProtobufCMessage *m)
{
	csmp_sb_putc(sb, '{');
	pb_json_members(sb, m, 1);
	csmp_sb_putc(sb, '}');
}

static void json_raw(struct csmp_sb *sb, const uint8_t *v, size_t len)
{
	csmp_sb_puts(sb, "\"raw\":\"");
	csmp_sb_hex(sb, v, len);
	csmp_sb_putc(sb, '"');
}

static void json_vendor_draft(struct csmp_sb *sb, const uint8_t *v,
			      const struct csmp_tlv *t)
{
	struct csmp_subtlv_iter it;
	struct csmp_subtlv s;
	int r, n = 0;

	csmp_sb_printf(sb, "{\"pen\":%u,\"subTlvs\":[", t->pen);
	csmp_subtlv_init(&it, v, t->len);
	while ((r = csmp_subtlv_next(&it, &s)) > 0) {
		csmp_sb_printf(sb, "%s{\"type\":%u,\"value\":\"", n++ ? "," : "",
			       s.type);
		csmp_sb_hex(sb, v + s.off, s.len);
		csmp_sb_puts(sb, "\"}");
	}
	csmp_sb_puts(sb, "]}");
}

int csmp_tlv_json(struct csmp_sb *sb, struct csmp_arena *a,
		  const uint8_t *payload, const struct csmp_tlv *t)
{
	const uint8_t *v = payload + t->off;
	ProtobufCMessage *m;
	int err;

	if (t->flags & CSMP_TLVF_VENDOR_DRAFT) {
		json_vendor_draft(sb, v, t);
		return -ENOENT;
	}
	err = csmp_tlv_decode(a, payload, t, &m);
	if (err) {
		csmp_sb_putc(sb, '{');
		if (t->flags & CSMP_TLVF_VENDOR_AGENT)
			csmp_sb_printf(sb, "\"pen\":%u,\"vtype\":%u,", t->pen,
				       t->vtype);
		json_raw(sb, v, t->len);
		if (err != -ENOENT)
			csmp_sb_printf(sb, ",\"error\":\"%s\"", strerror(-err));
		csmp_sb_putc(sb, '}');
		return err;
	}
	if (!(t->flags & CSMP_TLVF_VENDOR_AGENT)) {
		csmp_pb_json(sb, m);
		return 0;
	}
	csmp_sb_printf(sb, "{\"pen\":%u,\"vtype\":%u", t->pen, t->vtype);
	pb_json_members(sb, m, 0);
	csmp_sb_putc(sb, '}');
	return 0;
}

int csmp_tlv_line(struct csmp_sb *sb, struct csmp_arena *a,
		  const uint8_t *payload, const struct csmp_tlv *t)
{
	if (t->flags & CSMP_TLVF_VENDOR_AGENT)
		csmp_sb_printf(sb, "[%u/Vendor e%u.%u]: ", t->type, t->pen,
			       t->vtype);
	else
		csmp_sb_printf(sb, "[%u/%s]: ", t->type, csmp_tlv_name(t->type));
	return csmp_tlv_json(sb, a, payload, t);
}
