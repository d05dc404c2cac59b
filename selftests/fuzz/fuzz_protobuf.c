// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target for protobuf unpack of every TLV type through
 * libcsmp's table and arena, the JSON printer and the TLV writer. Input:
 * a datagram (its TLVs are decoded), or, when the first byte has the top
 * bit set, a raw value for the table entry the second byte picks. Every
 * value that decodes must print, re-encode and decode again to the same
 * JSON; the arena is small on purpose so exhaustion (-ENOMEM) is fuzzed.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "csmp.h"

#define CHECK(c) do { if (!(c)) abort(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t len);

static unsigned char arena_buf[32768];
static char js1[65536], js2[65536];
static uint8_t out[CSMP_MAX_DGRAM * 4];

static void value(struct csmp_arena *a, const struct csmp_tlv_info *ti,
		  const uint8_t *v, size_t len)
{
	ProtobufCMessage *m, *m2;
	struct csmp_sb sb1, sb2;
	struct csmp_tlvw w;
	struct csmp_tlv t;
	int err;

	err = csmp_pb_unpack(a, ti->desc, v, len, &m);
	if (err) {
		CHECK(err == -EBADMSG || err == -ENOMEM);
		return;
	}
	csmp_sb_init(&sb1, js1, sizeof(js1));
	csmp_pb_json(&sb1, m);
	csmp_tlvw_init(&w, out, sizeof(out), len & 1 ? CSMP_TLVW_PAD : 0);
	if (ti->type == CSMP_TLV_VENDOR)
		csmp_tlvw_put_vendor_agent(&w, 5771, 127, (Csmp__VendorTlv *)m);
	else
		csmp_tlvw_put(&w, ti->type, m);
	if (w.err)
		return;
	CHECK(!csmp_tlv_find(out, w.len, ti->type, &t, NULL));
	err = csmp_tlv_decode(a, out, &t, &m2);
	if (err) {
		CHECK(err == -ENOMEM);
		return;
	}
	csmp_sb_init(&sb2, js2, sizeof(js2));
	csmp_pb_json(&sb2, m2);
	if (!sb1.err && !sb2.err)
		CHECK(!strcmp(js1, js2));
}

int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t len)
{
	struct csmp_arena a;
	struct csmp_coap_msg m;
	struct csmp_tlv_iter it;
	struct csmp_tlv t;
	const struct csmp_tlv_info *ti;
	size_t n;

	csmp_arena_init(&a, arena_buf, sizeof(arena_buf));
	if (len >= 2 && (buf[0] & 0x80)) {
		for (n = 0; csmp_tlv_info_at(n); n++)
			;
		ti = csmp_tlv_info_at(buf[1] % n);
		value(&a, ti, buf + 2, len - 2);
		return 0;
	}
	if (len > CSMP_MAX_DGRAM || csmp_coap_parse(buf, (__u32)len, &m))
		return 0;
	csmp_tlv_init(&it, buf + m.payload_off, m.payload_len);
	while (csmp_tlv_next(&it, &t) > 0) {
		static char line[65536];
		struct csmp_sb sb;

		csmp_arena_reset(&a);
		csmp_sb_init(&sb, line, sizeof(line));
		csmp_tlv_line(&sb, &a, buf + m.payload_off, &t);
		ti = csmp_tlv_info(t.type);
		if (ti && ti->desc && !(t.flags & CSMP_TLVF_VENDOR_DRAFT)) {
			csmp_arena_reset(&a);
			value(&a, ti, buf + m.payload_off + t.off, t.len);
		}
	}
	return 0;
}
