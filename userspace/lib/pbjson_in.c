// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * JSON -> protobuf-c messages and CSMP TLVs (pbjson_in.h). Everything is
 * allocated in the caller's arena, so a request built on the control
 * thread costs no malloc and is dropped with one reset.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csmp.h"
#include "pbjson_in.h"

struct jctx {
	struct csmp_arena *a;
	char *err;
	size_t errlen;
	char path[160];
};

static int fail(struct jctx *c, int ret, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct jctx *c, int ret, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (c->err && c->errlen)
		snprintf(c->err, c->errlen, "%s%s%s", c->path,
			 c->path[0] ? ": " : "", msg);
	return ret;
}

/* Does JSON key k name field f (snake_case or lowerCamelCase)? */
static bool key_is(const char *k, const char *name)
{
	bool up = false;

	if (!strcmp(k, name))
		return true;
	for (; *name; name++) {
		char want;

		if (*name == '_') {
			up = true;
			continue;
		}
		want = up && *name >= 'a' && *name <= 'z' ?
			       (char)(*name - 'a' + 'A') : *name;
		up = false;
		if (*k++ != want)
			return false;
	}
	return *k == 0;
}

static int hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

static int pb_message(struct jctx *c, const ProtobufCMessageDescriptor *desc,
		      const json_t *j, ProtobufCMessage **out);

/* One value of field f from j into v (an element of the field's type). */
static int pb_value(struct jctx *c, const ProtobufCFieldDescriptor *f,
		    const json_t *j, void *v)
{
	json_int_t i;

	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		if (!json_is_integer(j))
			return fail(c, -EINVAL, "expected an integer");
		i = json_integer_value(j);
		if (i < INT32_MIN || i > INT32_MAX)
			return fail(c, -EINVAL, "%lld is out of int32 range",
				    (long long)i);
		*(int32_t *)v = (int32_t)i;
		return 0;
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		if (!json_is_integer(j))
			return fail(c, -EINVAL, "expected an integer");
		i = json_integer_value(j);
		if (i < 0 || i > UINT32_MAX)
			return fail(c, -EINVAL, "%lld is out of uint32 range",
				    (long long)i);
		*(uint32_t *)v = (uint32_t)i;
		return 0;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		if (!json_is_integer(j))
			return fail(c, -EINVAL, "expected an integer");
		*(int64_t *)v = json_integer_value(j);
		return 0;
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		if (json_is_string(j)) {
			/* JSON numbers lose precision past 2^53. */
			char *end;

			errno = 0;
			*(uint64_t *)v = strtoull(json_string_value(j), &end, 0);
			if (errno || *end || !*json_string_value(j))
				return fail(c, -EINVAL, "not a uint64");
			return 0;
		}
		if (!json_is_integer(j) || json_integer_value(j) < 0)
			return fail(c, -EINVAL, "expected an integer >= 0");
		*(uint64_t *)v = (uint64_t)json_integer_value(j);
		return 0;
	case PROTOBUF_C_TYPE_FLOAT:
		if (!json_is_number(j))
			return fail(c, -EINVAL, "expected a number");
		*(float *)v = (float)json_number_value(j);
		return 0;
	case PROTOBUF_C_TYPE_DOUBLE:
		if (!json_is_number(j))
			return fail(c, -EINVAL, "expected a number");
		*(double *)v = json_number_value(j);
		return 0;
	case PROTOBUF_C_TYPE_BOOL:
		if (json_is_boolean(j))
			*(protobuf_c_boolean *)v = json_is_true(j);
		else if (json_is_integer(j) && (json_integer_value(j) == 0 ||
						 json_integer_value(j) == 1))
			*(protobuf_c_boolean *)v = json_integer_value(j) == 1;
		else
			return fail(c, -EINVAL, "expected true or false");
		return 0;
	case PROTOBUF_C_TYPE_ENUM: {
		const ProtobufCEnumDescriptor *ed = f->descriptor;

		if (json_is_string(j)) {
			const ProtobufCEnumValue *ev =
				protobuf_c_enum_descriptor_get_value_by_name(
					ed, json_string_value(j));

			if (!ev)
				return fail(c, -EINVAL, "'%s' is not a value of %s",
					    json_string_value(j), ed->name);
			*(int32_t *)v = ev->value;
			return 0;
		}
		if (!json_is_integer(j) || json_integer_value(j) < INT32_MIN ||
		    json_integer_value(j) > INT32_MAX)
			return fail(c, -EINVAL, "expected an enum number or name");
		*(int32_t *)v = (int32_t)json_integer_value(j);
		return 0;
	}
	case PROTOBUF_C_TYPE_STRING: {
		size_t n;
		char *s;

		if (!json_is_string(j))
			return fail(c, -EINVAL, "expected a string");
		n = json_string_length(j);
		s = csmp_arena_alloc(c->a, n + 1);
		if (!s)
			return fail(c, -ENOMEM, "out of room");
		memcpy(s, json_string_value(j), n + 1);
		*(char **)v = s;
		return 0;
	}
	case PROTOBUF_C_TYPE_BYTES: {
		ProtobufCBinaryData *b = v;
		const char *s;
		size_t n, k;

		if (!json_is_string(j))
			return fail(c, -EINVAL, "expected hex bytes as a string");
		s = json_string_value(j);
		n = json_string_length(j);
		if (n % 2)
			return fail(c, -EINVAL, "odd number of hex digits");
		b->len = n / 2;
		b->data = b->len ? csmp_arena_alloc(c->a, b->len) : NULL;
		if (b->len && !b->data)
			return fail(c, -ENOMEM, "out of room");
		for (k = 0; k < b->len; k++) {
			int hi = hexval(s[2 * k]), lo = hexval(s[2 * k + 1]);

			if (hi < 0 || lo < 0)
				return fail(c, -EINVAL, "not hex: '%s'", s);
			b->data[k] = (uint8_t)(hi << 4 | lo);
		}
		return 0;
	}
	case PROTOBUF_C_TYPE_MESSAGE:
		return pb_message(c, f->descriptor, j, (ProtobufCMessage **)v);
	}
	return fail(c, -EINVAL, "unsupported field type");
}

static int pb_field(struct jctx *c, ProtobufCMessage *m,
		    const ProtobufCFieldDescriptor *f, const json_t *j)
{
	char *base = (char *)m;
	size_t es = csmp_pb_elem_size(f->type);
	int ret;

	if (f->label == PROTOBUF_C_LABEL_REPEATED) {
		size_t n, k;
		char *arr;

		if (!json_is_array(j))
			return fail(c, -EINVAL, "expected an array");
		n = json_array_size(j);
		arr = n ? csmp_arena_alloc(c->a, n * es) : NULL;
		if (n && !arr)
			return fail(c, -ENOMEM, "out of room");
		if (arr)
			memset(arr, 0, n * es);
		for (k = 0; k < n; k++) {
			ret = pb_value(c, f, json_array_get(j, k), arr + k * es);
			if (ret)
				return ret;
		}
		*(size_t *)(base + f->quantifier_offset) = n;
		*(void **)(base + f->offset) = arr;
		return 0;
	}
	ret = pb_value(c, f, j, base + f->offset);
	if (ret)
		return ret;
	if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
		*(uint32_t *)(base + f->quantifier_offset) = f->id;
	else if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->quantifier_offset &&
		 f->type != PROTOBUF_C_TYPE_MESSAGE &&
		 f->type != PROTOBUF_C_TYPE_STRING)
		*(protobuf_c_boolean *)(base + f->quantifier_offset) = 1;
	return 0;
}

static int pb_message(struct jctx *c, const ProtobufCMessageDescriptor *desc,
		      const json_t *j, ProtobufCMessage **out)
{
	size_t plen = strlen(c->path);
	ProtobufCMessage *m;
	const char *k;
	json_t *v;
	int ret;

	if (!json_is_object(j))
		return fail(c, -EINVAL, "expected a %s object", desc->short_name);
	m = csmp_arena_alloc(c->a, desc->sizeof_message);
	if (!m)
		return fail(c, -ENOMEM, "out of room");
	protobuf_c_message_init(desc, m);
	json_object_foreach((json_t *)j, k, v) {
		const ProtobufCFieldDescriptor *f = NULL;
		unsigned int i;

		for (i = 0; i < desc->n_fields; i++)
			if (key_is(k, desc->fields[i].name)) {
				f = &desc->fields[i];
				break;
			}
		snprintf(c->path + plen, sizeof(c->path) - plen, "%s%s",
			 plen ? "." : "", k);
		if (!f)
			return fail(c, -EINVAL, "%s has no field '%s'",
				    desc->short_name, k);
		ret = pb_field(c, m, f, v);
		if (ret)
			return ret;
		c->path[plen] = 0;
	}
	*out = m;
	return 0;
}

int csmp_pb_from_json(struct csmp_arena *a,
		      const ProtobufCMessageDescriptor *desc, const json_t *j,
		      ProtobufCMessage **out, char *err, size_t errlen)
{
	struct jctx c = { .a = a, .err = err, .errlen = errlen };

	return pb_message(&c, desc, j, out);
}

/* "13", "ReportSubscribe" -> its table entry. */
static const struct csmp_tlv_info *tlv_by_key(const char *k)
{
	char *end;
	unsigned long id;

	errno = 0;
	id = strtoul(k, &end, 10);
	if (!errno && *k && !*end)
		return id <= UINT32_MAX ? csmp_tlv_info((uint32_t)id) : NULL;
	return csmp_tlv_info_by_name(k);
}

static int one_tlv(struct csmp_tlvw *w, struct jctx *c, const char *k,
		   const json_t *v)
{
	const struct csmp_tlv_info *ti = tlv_by_key(k);
	ProtobufCMessage *m;
	int ret;

	snprintf(c->path, sizeof(c->path), "%s", k);
	if (!ti)
		return fail(c, -EINVAL, "not a TLV id or name this library knows");
	if (ti->type == CSMP_TLV_SIGNATURE ||
	    ti->type == CSMP_TLV_SIGNATURE_VALIDITY)
		return fail(c, -EINVAL, "the sender adds the signature TLVs");
	if (!ti->desc || ti->type == CSMP_TLV_VENDOR)
		return fail(c, -EINVAL, "%s cannot be built from JSON", ti->name);
	snprintf(c->path, sizeof(c->path), "%s", ti->name);
	ret = pb_message(c, ti->desc, v, &m);
	if (ret)
		return ret;
	ret = csmp_tlvw_put(w, ti->type, m);
	if (ret)
		return fail(c, ret, "no room for the TLV");
	return 1;
}

static int tlv_members(struct csmp_tlvw *w, struct jctx *c, const json_t *obj)
{
	const char *k;
	json_t *v;
	int n = 0, ret;

	json_object_foreach((json_t *)obj, k, v) {
		if (json_is_array(v)) {
			size_t i;

			for (i = 0; i < json_array_size(v); i++) {
				ret = one_tlv(w, c, k, json_array_get(v, i));
				if (ret < 0)
					return ret;
				n++;
			}
			continue;
		}
		ret = one_tlv(w, c, k, v);
		if (ret < 0)
			return ret;
		n++;
	}
	return n;
}

int csmp_tlvs_from_json(struct csmp_tlvw *w, struct csmp_arena *a,
			const json_t *j, char *err, size_t errlen)
{
	struct jctx c = { .a = a, .err = err, .errlen = errlen };
	size_t i;
	int n = 0, ret;

	if (json_is_object(j)) {
		n = tlv_members(w, &c, j);
	} else if (!json_is_array(j)) {
		return fail(&c, -EINVAL, "TLVs must be an object or an array of objects");
	}
	for (i = 0; json_is_array(j) && i < json_array_size(j); i++) {
		const json_t *o = json_array_get(j, i);

		if (!json_is_object(o))
			return fail(&c, -EINVAL, "element %zu is not an object", i);
		ret = tlv_members(w, &c, o);
		if (ret < 0)
			return ret;
		n += ret;
	}
	/* Found by fuzzing: a payload of more TLVs than a receiver walks
	 * (CSMP_MAX_TLVS) would be refused whole by the device. */
	if (n > CSMP_MAX_TLVS)
		return fail(&c, -E2BIG, "%d TLVs: a CSMP payload holds at most %d",
			    n, CSMP_MAX_TLVS);
	return n;
}
