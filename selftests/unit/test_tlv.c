// SPDX-License-Identifier: GPL-2.0-only
/*
 * CSMP TLV framing: the shared walk (include/csmp/tlv.h) on padded and
 * minimal lengths, both vendor forms, every rejection with its reason and
 * -errno, non-minimal and overlong varints; the writer (minimal, padded,
 * vendor forms, bounds); and decode -> encode -> decode of the captured
 * registration and ACK, byte for byte.
 */
#include <errno.h>
#include <string.h>
#include "kselftest_harness.h"
#include "testutil.h"

static unsigned char arena_buf[65536];

static int walk_err(const char *hex, unsigned int *reason)
{
	uint8_t buf[512];
	struct csmp_tlv_iter it;
	struct csmp_tlv t;
	int n = fx_unhex(hex, buf, sizeof(buf)), r;

	csmp_tlv_init(&it, buf, (__u32)n);
	while ((r = csmp_tlv_next(&it, &t)) > 0)
		;
	*reason = it.reason;
	return r;
}

struct reject {
	const char *name;
	const char *hex;
	unsigned int reason;
	int err;
};

static const struct reject rejects[] = {
	{ "type varint runs out", "8280", CSMP_R_TLV_VARINT, -ENOSPC },
	{ "type over 32 bits", "ffffffff1f00", CSMP_R_TLV_VARINT, -ENOSPC },
	{ "type 6-byte varint", "808080808000", CSMP_R_TLV_VARINT, -ENOSPC },
	{ "length varint runs out", "0780", CSMP_R_TLV_VARINT, -ENOSPC },
	{ "length over 32 bits", "07ffffffff7f", CSMP_R_TLV_VARINT, -ENOSPC },
	{ "value past end", "0705" "0a0131", CSMP_R_TLV_TRUNC, -EOVERFLOW },
	{ "padded length past end", "0785000a0131", CSMP_R_TLV_TRUNC,
	  -EOVERFLOW },
	{ "second TLV truncated", "07030a0131" "0d09", CSMP_R_TLV_TRUNC,
	  -EOVERFLOW },
	{ "vendor, nothing after type", "7f", CSMP_R_TLV_VENDOR, -EBADMSG },
	{ "vendor agent form past end", "7f8b2d7fa40008011220",
	  CSMP_R_TLV_VENDOR, -EBADMSG },
};

TEST(every_tlv_rejection_has_its_reason_and_errno)
{
	size_t i;

	for (i = 0; i < sizeof(rejects) / sizeof(rejects[0]); i++) {
		unsigned int reason = 0;

		EXPECT_EQ(rejects[i].err, walk_err(rejects[i].hex, &reason))
			TH_LOG("%s", rejects[i].name);
		EXPECT_EQ(rejects[i].reason, reason)
			TH_LOG("%s", rejects[i].name);
		EXPECT_EQ(rejects[i].err, csmp_reason_errno(reason));
	}
}

TEST(too_many_tlvs_is_e2big)
{
	uint8_t buf[2 * (CSMP_MAX_TLVS + 1)];
	unsigned int reason = 0;
	size_t i;

	for (i = 0; i < sizeof(buf); i += 2) {
		buf[i] = CSMP_TLV_UPTIME;
		buf[i + 1] = 0;
	}
	EXPECT_EQ(-E2BIG, csmp_tlv_count(buf, sizeof(buf), &reason));
	EXPECT_EQ((unsigned int)CSMP_R_TLV_TOO_MANY, reason);
	EXPECT_EQ(CSMP_MAX_TLVS, csmp_tlv_count(buf, sizeof(buf) - 2, NULL));
}

TEST(device_and_session_id_rejections)
{
	/* Through the classifier: the field checks of the fast path. */
	static const struct {
		const char *hex;
		unsigned int reason;
		int err;
	} c[] = {
		/* DeviceID id of 15 digits */
		{ "40020000b172ff" "0213" "0801" "120f" "304130303237464646453342324142",
		  CSMP_R_DEVICE_ID, -EINVAL },
		/* DeviceID with a non-hex digit */
		{ "40020000b172ff" "0214" "0801" "1210" "304130303237464646453342324147"
		  "5a", CSMP_R_DEVICE_ID, -EINVAL },
		/* DeviceID type 2 (not EUI-64) */
		{ "40020000b172ff" "0214" "0802" "1210" "30413030323746464645334232414232",
		  CSMP_R_DEVICE_ID, -EINVAL },
		/* SessionID empty */
		{ "50020000b163ff" "0702" "0a00", CSMP_R_SESSION_ID, -EINVAL },
		/* SessionID of 17 characters */
		{ "50020000b163ff" "0713" "0a11" "3030303161616161616161616161616161",
		  CSMP_R_SESSION_ID, -EINVAL },
		/* registration without TLVs: the classifier's TLV_EMPTY */
		{ "40020000b172", CSMP_R_TLV_EMPTY, -ENODATA },
	};
	size_t i;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		uint8_t buf[128];
		struct csmp_class cl;
		int n = fx_unhex(c[i].hex, buf, sizeof(buf));

		ASSERT_GT(n, 0);
		EXPECT_EQ(c[i].err, csmp_classify(buf, (__u32)n, &cl))
			TH_LOG("case %zu", i);
		EXPECT_EQ(c[i].reason, cl.reason)
			TH_LOG("case %zu", i);
		EXPECT_EQ(CSMP_C_MALFORMED, cl.msg_class);
	}
}

TEST(varints_nonminimal_and_limits)
{
	uint8_t b[8];
	__u32 pos, v;
	int nonmin;

	/* 2-byte padded 20 (the agent's), flagged non-minimal. */
	memcpy(b, "\x94\x00", 2);
	pos = 0, nonmin = 0;
	ASSERT_EQ(0, csmp_varint32(b, 2, &pos, &v, &nonmin));
	EXPECT_EQ(20u, v);
	EXPECT_EQ(2u, pos);
	EXPECT_EQ(1, nonmin);
	/* 5-byte 0 is legal but non-minimal. */
	memcpy(b, "\x80\x80\x80\x80\x00", 5);
	pos = 0, nonmin = 0;
	ASSERT_EQ(0, csmp_varint32(b, 5, &pos, &v, &nonmin));
	EXPECT_EQ(0u, v);
	EXPECT_EQ(1, nonmin);
	/* UINT32_MAX is the largest. */
	memcpy(b, "\xff\xff\xff\xff\x0f", 5);
	pos = 0, nonmin = 0;
	ASSERT_EQ(0, csmp_varint32(b, 5, &pos, &v, &nonmin));
	EXPECT_EQ(0xffffffffu, v);
	EXPECT_EQ(0, nonmin);
	/* One bit more, or a sixth byte: refused. */
	memcpy(b, "\xff\xff\xff\xff\x1f", 5);
	pos = 0;
	EXPECT_EQ(-1, csmp_varint32(b, 5, &pos, &v, NULL));
	memcpy(b, "\x80\x80\x80\x80\x80\x00", 6);
	pos = 0;
	EXPECT_EQ(-1, csmp_varint32(b, 6, &pos, &v, NULL));
	/* 128 minimal in 2 bytes is not flagged. */
	memcpy(b, "\x80\x01", 2);
	pos = 0, nonmin = 0;
	ASSERT_EQ(0, csmp_varint32(b, 2, &pos, &v, &nonmin));
	EXPECT_EQ(128u, v);
	EXPECT_EQ(0, nonmin);
}

TEST(nonminimal_type_and_length_are_flagged)
{
	uint8_t buf[16];
	struct csmp_tlv_iter it;
	struct csmp_tlv t;
	int n = fx_unhex("8700" "8300" "0a0131" "0703" "0a0131", buf,
			 sizeof(buf));

	csmp_tlv_init(&it, buf, (__u32)n);
	ASSERT_EQ(1, csmp_tlv_next(&it, &t));
	EXPECT_EQ(7u, t.type);
	EXPECT_EQ(3u, t.len);
	EXPECT_EQ(4u, t.off);
	EXPECT_TRUE(!!(t.flags & CSMP_TLVF_NONMINIMAL));
	EXPECT_TRUE(!!(t.flags & CSMP_TLVF_NONMINIMAL_TYPE));
	ASSERT_EQ(1, csmp_tlv_next(&it, &t));
	EXPECT_EQ(0u, t.flags);
	EXPECT_EQ(0, csmp_tlv_next(&it, &t));
}

/* The agent's vendor TLV: 7f 8b2d(5771) 7f a400(36, padded) VendorTlv{1, 32x01}. */
static const char vendor_agent[] =
	"7f8b2d7fa400" "0801" "1220"
	"0101010101010101010101010101010101010101010101010101010101010101";

TEST(vendor_agent_form_decodes_and_reencodes)
{
	uint8_t buf[64], out[64];
	int n = fx_unhex(vendor_agent, buf, sizeof(buf));
	struct csmp_tlv_iter it;
	struct csmp_tlv t;
	struct csmp_arena a;
	struct csmp_tlvw w;
	ProtobufCMessage *pm;
	Csmp__VendorTlv *v;
	size_t i;

	ASSERT_EQ(42, n);
	csmp_tlv_init(&it, buf, (__u32)n);
	ASSERT_EQ(1, csmp_tlv_next(&it, &t));
	EXPECT_EQ((uint32_t)CSMP_TLV_VENDOR, t.type);
	EXPECT_EQ(5771u, t.pen);
	EXPECT_EQ(127u, t.vtype);
	EXPECT_EQ(36u, t.len);
	EXPECT_TRUE(!!(t.flags & CSMP_TLVF_VENDOR_AGENT));
	EXPECT_TRUE(!!(t.flags & CSMP_TLVF_NONMINIMAL));
	EXPECT_EQ(0, csmp_tlv_next(&it, &t));

	csmp_arena_init(&a, arena_buf, sizeof(arena_buf));
	ASSERT_EQ(0, csmp_tlv_decode(&a, buf, &t, &pm));
	v = (Csmp__VendorTlv *)pm;
	EXPECT_EQ(1u, v->sub_type);
	ASSERT_EQ(32u, v->value.len);
	for (i = 0; i < 32; i++)
		EXPECT_EQ(1, v->value.data[i]);

	csmp_tlvw_init(&w, out, sizeof(out), CSMP_TLVW_PAD);
	ASSERT_EQ(0, csmp_tlvw_put_vendor_agent(&w, 5771, 127, v));
	ASSERT_EQ(n, csmp_tlvw_finish(&w));
	EXPECT_EQ(0, memcmp(buf, out, (size_t)n));
}

TEST(vendor_draft_form_round_trip)
{
	static const uint8_t v1[] = { 0xde, 0xad }, v2[40] = { 7 };
	const struct csmp_subtlv_val subs[] = {
		{ 16, v1, sizeof(v1) }, { 300, v2, sizeof(v2) },
	};
	uint8_t out[128];
	struct csmp_tlvw w;
	struct csmp_tlv_iter it;
	struct csmp_tlv t;
	struct csmp_subtlv_iter si;
	struct csmp_subtlv s;
	char js[512];
	struct csmp_sb sb;
	struct csmp_arena a;
	int n;

	csmp_tlvw_init(&w, out, sizeof(out), 0);
	ASSERT_EQ(0, csmp_tlvw_put_vendor_draft(&w, 5771, subs, 2));
	n = csmp_tlvw_finish(&w);
	/* 7f len | 01 02 8b2d | 10 02 dead | ac02 28 <40> */
	ASSERT_EQ(2 + 4 + 4 + 3 + 40, n);
	EXPECT_EQ(0x7f, out[0]);
	EXPECT_EQ(51, out[1]);

	csmp_tlv_init(&it, out, (__u32)n);
	ASSERT_EQ(1, csmp_tlv_next(&it, &t));
	EXPECT_TRUE(!!(t.flags & CSMP_TLVF_VENDOR_DRAFT));
	EXPECT_EQ(5771u, t.pen);
	EXPECT_EQ(51u, t.len);
	csmp_subtlv_init(&si, out + t.off, t.len);
	ASSERT_EQ(1, csmp_subtlv_next(&si, &s));
	EXPECT_EQ(1u, s.type);
	ASSERT_EQ(1, csmp_subtlv_next(&si, &s));
	EXPECT_EQ(16u, s.type);
	EXPECT_EQ(0, memcmp(out + t.off + s.off, v1, 2));
	ASSERT_EQ(1, csmp_subtlv_next(&si, &s));
	EXPECT_EQ(300u, s.type);
	EXPECT_EQ(40u, s.len);
	EXPECT_EQ(0, csmp_subtlv_next(&si, &s));

	/* Padded: the same but a 2-byte length. */
	csmp_tlvw_init(&w, out, sizeof(out), CSMP_TLVW_PAD);
	ASSERT_EQ(0, csmp_tlvw_put_vendor_draft(&w, 5771, subs, 2));
	EXPECT_EQ(n + 1, csmp_tlvw_finish(&w));
	csmp_tlv_init(&it, out, (__u32)n + 1);
	ASSERT_EQ(1, csmp_tlv_next(&it, &t));
	EXPECT_TRUE(!!(t.flags & CSMP_TLVF_VENDOR_DRAFT));
	EXPECT_TRUE(!!(t.flags & CSMP_TLVF_NONMINIMAL));

	/* Reserved SubTypes are refused. */
	csmp_tlvw_init(&w, out, sizeof(out), 0);
	EXPECT_EQ(-EINVAL, csmp_tlvw_put_vendor_draft(&w, 1, subs, 0) ?:
		  csmp_tlvw_put_vendor_draft(&w, 1,
			&(struct csmp_subtlv_val){ 15, v1, 2 }, 1));

	/* JSON of the draft form lists the SubTLVs. */
	csmp_tlvw_init(&w, out, sizeof(out), 0);
	csmp_tlvw_put_vendor_draft(&w, 9, subs, 1);
	csmp_tlv_init(&it, out, (__u32)csmp_tlvw_finish(&w));
	ASSERT_EQ(1, csmp_tlv_next(&it, &t));
	csmp_arena_init(&a, arena_buf, sizeof(arena_buf));
	csmp_sb_init(&sb, js, sizeof(js));
	EXPECT_EQ(-ENOENT, csmp_tlv_line(&sb, &a, out, &t));
	EXPECT_STREQ("[127/Vendor]: {\"pen\":9,\"subTlvs\":[{\"type\":1,"
		     "\"value\":\"09\"},{\"type\":16,\"value\":\"dead\"}]}",
		     csmp_sb_str(&sb));
}

TEST(writer_lengths_minimal_and_padded)
{
	static uint8_t val[16384], out[16400];
	static const struct {
		size_t len;
		unsigned int flags;
		size_t hdr;
		const char *lenhex;
	} c[] = {
		{ 0, 0, 2, "00" },
		{ 0, CSMP_TLVW_PAD, 3, "8000" },
		{ 20, CSMP_TLVW_PAD, 3, "9400" },
		{ 127, 0, 2, "7f" },
		{ 127, CSMP_TLVW_PAD, 3, "ff00" },
		{ 128, 0, 3, "8001" },
		{ 128, CSMP_TLVW_PAD, 3, "8001" },
		{ 16383, CSMP_TLVW_PAD, 3, "ff7f" },
		/* 16384 cannot be padded to 2 bytes: minimal 3. */
		{ 16384 - 5, CSMP_TLVW_PAD, 3, "fb7f" },
	};
	size_t i;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct csmp_tlvw w;
		uint8_t want[4];
		int wl = fx_unhex(c[i].lenhex, want, sizeof(want));

		csmp_tlvw_init(&w, out, sizeof(out), c[i].flags);
		ASSERT_EQ(0, csmp_tlvw_put_raw(&w, 7, val, c[i].len));
		EXPECT_EQ((int)(c[i].hdr + c[i].len), csmp_tlvw_finish(&w));
		EXPECT_EQ(7, out[0]);
		EXPECT_EQ(0, memcmp(out + 1, want, (size_t)wl));
	}
	{
		struct csmp_tlvw w;
		uint8_t want[3] = { 0x80, 0x80, 0x01 };

		csmp_tlvw_init(&w, out, sizeof(out), CSMP_TLVW_PAD);
		ASSERT_EQ(0, csmp_tlvw_put_raw(&w, 7, val, 16384));
		EXPECT_EQ(1 + 3 + 16384, csmp_tlvw_finish(&w));
		EXPECT_EQ(0, memcmp(out + 1, want, 3));
	}
}

TEST(writer_out_of_room_is_sticky_enospc)
{
	Csmp__SessionID sid = CSMP__SESSION_ID__INIT;
	uint8_t out[8];
	struct csmp_tlvw w;

	sid.id = "0001abcdef";
	sid.id_present_case = CSMP__SESSION_ID__ID_PRESENT_ID;
	csmp_tlvw_init(&w, out, sizeof(out), 0);
	EXPECT_EQ(0, csmp_tlvw_put_raw(&w, 22, "\x08\x01", 2));
	EXPECT_EQ(-ENOSPC, csmp_tlvw_put(&w, CSMP_TLV_SESSION_ID, &sid.base));
	EXPECT_EQ(4u, w.len);	/* nothing partial was left behind */
	EXPECT_EQ(-ENOSPC, csmp_tlvw_put_raw(&w, 22, "", 0));
	EXPECT_EQ(-ENOSPC, csmp_tlvw_finish(&w));
}

/*
 * Decode every TLV of a payload, re-encode each one (padded or minimal) and
 * compare with the original bytes; decode the result again.
 */
static void reencode(struct __test_metadata *_metadata, const uint8_t *pl,
		     uint32_t len, unsigned int flags, int expect_n)
{
	static uint8_t out[CSMP_MAX_DGRAM];
	struct csmp_tlv_iter it, it2;
	struct csmp_tlv t, t2;
	struct csmp_arena a;
	struct csmp_tlvw w;
	int n = 0, r;

	csmp_arena_init(&a, arena_buf, sizeof(arena_buf));
	csmp_tlvw_init(&w, out, sizeof(out), flags);
	csmp_tlv_init(&it, pl, len);
	while ((r = csmp_tlv_next(&it, &t)) > 0) {
		ProtobufCMessage *pm;

		ASSERT_EQ(0, csmp_tlv_decode(&a, pl, &t, &pm));
		ASSERT_EQ(0, csmp_tlvw_put(&w, t.type, pm));
		n++;
	}
	ASSERT_EQ(0, r);
	EXPECT_EQ(expect_n, n);
	ASSERT_EQ((int)len, csmp_tlvw_finish(&w));
	EXPECT_EQ(0, memcmp(pl, out, len));

	/* And the re-encoded bytes decode to the same TLVs. */
	csmp_tlv_init(&it, pl, len);
	csmp_tlv_init(&it2, out, len);
	while ((r = csmp_tlv_next(&it, &t)) > 0) {
		ASSERT_EQ(1, csmp_tlv_next(&it2, &t2));
		EXPECT_EQ(t.type, t2.type);
		EXPECT_EQ(t.len, t2.len);
	}
}

TEST(registration_reencodes_byte_for_byte_padded)
{
	static struct fx_dgram dg[2];
	struct csmp_coap_msg m;
	int n = fx_load("opencsmp-register.pcap", dg, 2);

	if (n == -ENOENT)
		SKIP(return, "fixture opencsmp-register.pcap not found");
	ASSERT_EQ(2, n);
	ASSERT_EQ(0, csmp_coap_parse(dg[0].data, dg[0].len, &m));
	reencode(_metadata, dg[0].data + m.payload_off, m.payload_len,
		 CSMP_TLVW_PAD, 15);
	/* The NMS's ACK uses minimal lengths. */
	ASSERT_EQ(0, csmp_coap_parse(dg[1].data, dg[1].len, &m));
	reencode(_metadata, dg[1].data + m.payload_off, m.payload_len, 0, 4);
}

TEST(get_replies_reencode_byte_for_byte_padded)
{
	static struct fx_dgram dg[40];
	int n = fx_load("opencsmp-get.pcap", dg, 40), i, seen = 0;

	if (n == -ENOENT)
		SKIP(return, "fixture opencsmp-get.pcap not found");
	ASSERT_EQ(36, n);
	for (i = 0; i < n; i++) {
		struct csmp_coap_msg m;
		int cnt;

		ASSERT_EQ(0, csmp_coap_parse(dg[i].data, dg[i].len, &m));
		/* The device's 2.05 answers are padded (the NMS's are not). */
		if (m.code != CSMP_COAP_CONTENT || !m.payload_len)
			continue;
		cnt = csmp_tlv_count(dg[i].data + m.payload_off,
				     m.payload_len, NULL);
		ASSERT_GT(cnt, 0);
		reencode(_metadata, dg[i].data + m.payload_off, m.payload_len,
			 CSMP_TLVW_PAD, cnt);
		seen++;
	}
	EXPECT_GE(seen, 14);
}

TEST_HARNESS_MAIN
