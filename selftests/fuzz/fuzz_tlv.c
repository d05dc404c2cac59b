// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target for the TLV walk and the classifier
 * (include/csmp/tlv.h, classify.h): the input is a datagram (classified)
 * and also, from its CoAP payload or as a whole, a TLV payload (walked).
 * Every TLV must lie inside the payload after its header, the walk and the
 * classifier must agree on the count, draft vendor SubTLVs must tile, and
 * the errors must carry their reason.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "csmp.h"

#define CHECK(c) do { if (!(c)) abort(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t len);

static int walk(const uint8_t *p, uint32_t len, uint32_t *count)
{
	struct csmp_tlv_iter it;
	struct csmp_tlv t;
	uint32_t prev_end = 0;
	int r;

	csmp_tlv_init(&it, p, len);
	while ((r = csmp_tlv_next(&it, &t)) > 0) {
		CHECK(t.hdr == prev_end);
		CHECK(t.off > t.hdr);
		CHECK((uint64_t)t.off + t.len <= len);
		prev_end = t.off + t.len;
		if (t.flags & CSMP_TLVF_VENDOR_DRAFT) {
			struct csmp_subtlv_iter si;
			struct csmp_subtlv s;
			int k, first = 1;

			csmp_subtlv_init(&si, p + t.off, t.len);
			while ((k = csmp_subtlv_next(&si, &s)) > 0) {
				CHECK(!first || s.type == 1);
				CHECK((uint64_t)s.off + s.len <= t.len);
				first = 0;
			}
			CHECK(k == 0 && !first);
		}
		if (t.flags & CSMP_TLVF_VENDOR_AGENT)
			CHECK(t.type == CSMP_TLV_VENDOR);
	}
	if (r < 0) {
		CHECK(it.reason != CSMP_R_OK);
		CHECK(csmp_reason_errno(it.reason) == r);
	}
	*count = it.count;
	return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t len)
{
	struct csmp_coap_msg m;
	struct csmp_class c;
	uint32_t n = 0;
	int r, w;

	if (len > CSMP_MAX_DGRAM)
		return 0;
	r = csmp_classify(buf, (__u32)len, &c);
	if (r) {
		CHECK(c.msg_class == CSMP_C_MALFORMED);
		CHECK(csmp_reason_errno(c.reason) == r);
	}
	if (!csmp_coap_parse(buf, (__u32)len, &m)) {
		w = walk(buf + m.payload_off, m.payload_len, &n);
		if (!r)
			CHECK(w == 0 && n == c.n_tlvs);
		if (w == 0 && (c.flags & CSMP_CF_EID)) {
			struct csmp_tlv t;

			CHECK(!csmp_tlv_find(buf + m.payload_off, m.payload_len,
					     CSMP_TLV_DEVICE_ID, &t, NULL));
		}
	}
	walk(buf, (uint32_t)len, &n);
	return 0;
}
