// SPDX-License-Identifier: GPL-2.0-only
/*
 * CoAP: every rejection of the shared walk (include/csmp/coap.h) with its
 * reason and -errno, the forms it must accept (extended delta/length,
 * overflowing paths), the encoder against captured bytes, encode -> parse
 * round trips, the accessors, TLV-id lists and the name tables.
 */
#include <errno.h>
#include <string.h>
#include "kselftest_harness.h"
#include "testutil.h"

struct reject {
	const char *name;
	const char *hex;
	unsigned int reason;
	int err;
};

static const struct reject rejects[] = {
	{ "short", "400100", CSMP_R_COAP_SHORT, -EBADMSG },
	{ "version 0", "00010000", CSMP_R_COAP_VERSION, -EPROTONOSUPPORT },
	{ "version 2", "80010000", CSMP_R_COAP_VERSION, -EPROTONOSUPPORT },
	{ "tkl 9", "4901000001020304050607080900", CSMP_R_COAP_TKL, -ERANGE },
	{ "tkl 15", "4f010000", CSMP_R_COAP_TKL, -ERANGE },
	{ "token past end", "44010000aabb", CSMP_R_COAP_TOKEN_TRUNC, -EBADMSG },
	{ "class 1", "40200000", CSMP_R_COAP_CODE, -EPROTO },
	{ "class 6", "40c00000", CSMP_R_COAP_CODE, -EPROTO },
	{ "class 7", "40e10000", CSMP_R_COAP_CODE, -EPROTO },
	{ "empty with token", "610000007f", CSMP_R_COAP_CODE, -EPROTO },
	{ "empty with bytes", "60000000ff01", CSMP_R_COAP_CODE, -EPROTO },
	{ "delta nibble 15", "40010000f1aa", CSMP_R_COAP_OPT_RESERVED, -EILSEQ },
	{ "length nibble 15", "400100001f", CSMP_R_COAP_OPT_RESERVED, -EILSEQ },
	/* 14 + ffff: option 65804 > 65535 */
	{ "option number over 16 bits", "40010000e0fefe",
	  CSMP_R_COAP_OPT_RESERVED, -EILSEQ },
	{ "value past end", "40010000b263", CSMP_R_COAP_OPT_TRUNC, -EOVERFLOW },
	{ "delta ext missing", "40010000d1", CSMP_R_COAP_OPT_TRUNC, -EOVERFLOW },
	{ "delta ext2 short", "40010000e100", CSMP_R_COAP_OPT_TRUNC, -EOVERFLOW },
	{ "length ext missing", "40010000bd", CSMP_R_COAP_OPT_TRUNC, -EOVERFLOW },
	{ "length ext2 short", "40010000be01", CSMP_R_COAP_OPT_TRUNC,
	  -EOVERFLOW },
	{ "marker, no payload", "40020000b172ff", CSMP_R_COAP_EMPTY_PAYLOAD,
	  -ENODATA },
	{ "marker only", "40020000ff", CSMP_R_COAP_EMPTY_PAYLOAD, -ENODATA },
	/* 17 zero-length options of number 0: one more than walked. */
	{ "too many options", "400100000000000000000000000000000000000000",
	  CSMP_R_COAP_TOO_MANY_OPTS, -E2BIG },
};

TEST(every_malformed_form_has_its_reason_and_errno)
{
	size_t i;

	for (i = 0; i < sizeof(rejects) / sizeof(rejects[0]); i++) {
		struct csmp_coap_msg m;
		uint8_t buf[64];
		int n = fx_unhex(rejects[i].hex, buf, sizeof(buf));

		ASSERT_GT(n, 0);
		EXPECT_EQ(rejects[i].err, csmp_coap_parse(buf, (__u32)n, &m))
			TH_LOG("%s", rejects[i].name);
		EXPECT_EQ(rejects[i].reason, m.reason)
			TH_LOG("%s", rejects[i].name);
		EXPECT_EQ(rejects[i].err, csmp_reason_errno(m.reason));
	}
}

TEST(oversize_is_emsgsize)
{
	static uint8_t big[CSMP_MAX_DGRAM + 1] = { 0x40, 0x01 };
	struct csmp_coap_msg m;

	EXPECT_EQ(-EMSGSIZE, csmp_coap_parse(big, sizeof(big), &m));
	EXPECT_EQ(CSMP_R_COAP_OVERSIZE, m.reason);
	/* Exactly the maximum is fine (zero-length option 0s then none). */
	EXPECT_EQ(0, csmp_coap_parse(big, CSMP_MAX_DGRAM - 2040, &m));
}

TEST(extended_delta_and_length_parse)
{
	/* Uri-Query (15) first: delta 15 = 13 + 2; then an option 300
	 * (delta 285 = 269 + 16) with a 14-byte value (13 + 1). */
	uint8_t buf[64];
	int n = fx_unhex("40010000" "d2" "02" "713d" "ed" "0010" "01"
			 "0102030405060708090a0b0c0d0e", buf, sizeof(buf));
	struct csmp_coap_msg m;

	ASSERT_GT(n, 0);
	ASSERT_EQ(0, csmp_coap_parse(buf, (__u32)n, &m));
	EXPECT_EQ(2, m.n_opts);
	EXPECT_EQ(1, m.n_query);
	EXPECT_EQ(2, m.query[0].len);
	EXPECT_EQ(0, memcmp(buf + m.query[0].off, "q=", 2));
	EXPECT_EQ(0, m.flags & CSMP_COAPF_UNKNOWN_CRITICAL);
	EXPECT_EQ(m.len, m.payload_off);
}

TEST(path_overflow_and_unknown_critical_are_flagged)
{
	uint8_t buf[64];
	struct csmp_coap_msg m;
	/* Uri-Path x5 (one more than recorded), then option 17 (critical). */
	int n = fx_unhex("40010000b161016201630164016561" "61", buf, sizeof(buf));

	ASSERT_GT(n, 0);
	ASSERT_EQ(0, csmp_coap_parse(buf, (__u32)n, &m));
	EXPECT_EQ(CSMP_MAX_PATH_SEGS, m.n_path);
	EXPECT_TRUE(m.flags & CSMP_COAPF_PATH_OVERFLOW);
	EXPECT_TRUE(m.flags & CSMP_COAPF_UNKNOWN_CRITICAL);
}

TEST(encoder_matches_captured_get)
{
	/* csmp_get.pcap frame 1: CON GET /c?q=1, MID 0, no token. */
	uint8_t want[16], out[32];
	int n = fx_unhex("40010000b16343713d31", want, sizeof(want));
	struct csmp_coap_enc e;

	csmp_coap_enc_init(&e, out, sizeof(out), CSMP_COAP_CON, CSMP_COAP_GET,
			   0, NULL, 0);
	csmp_coap_enc_path(&e, "c");
	csmp_coap_enc_query(&e, "q=1");
	ASSERT_EQ(n, csmp_coap_enc_finish(&e));
	EXPECT_EQ(0, memcmp(want, out, (size_t)n));
}

TEST(encoder_matches_captured_ack_header)
{
	uint8_t out[64];
	struct csmp_coap_enc e;
	struct csmp_tlvw w;
	Csmp__SessionID sid = CSMP__SESSION_ID__INIT;

	sid.id = "1";
	sid.id_present_case = CSMP__SESSION_ID__ID_PRESENT_ID;
	csmp_coap_enc_init(&e, out, sizeof(out), CSMP_COAP_ACK,
			   CSMP_COAP_VALID, 0, NULL, 0);
	ASSERT_EQ(0, csmp_coap_enc_payload_begin(&e, &w, 0));
	csmp_tlvw_put(&w, CSMP_TLV_SESSION_ID, &sid.base);
	ASSERT_EQ(0, csmp_coap_enc_payload_end(&e, &w));
	/* 60 43 00 00 ff | 07 03 0a 01 31 (as in the capture) */
	ASSERT_EQ(10, csmp_coap_enc_finish(&e));
	EXPECT_EQ(0, memcmp(out, "\x60\x43\x00\x00\xff\x07\x03\x0a\x01\x31",
			    10));
}

TEST(encode_parse_round_trip_with_token_and_long_options)
{
	static const uint8_t tok[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	char longq[400], s[512];
	uint8_t out[1024];
	struct csmp_coap_enc e;
	struct csmp_coap_msg m;
	uint16_t off, len;
	int n;

	memset(longq, 'x', sizeof(longq) - 1);
	longq[0] = 'r';
	longq[1] = '=';
	longq[sizeof(longq) - 1] = '\0';
	csmp_coap_enc_init(&e, out, sizeof(out), CSMP_COAP_NON, CSMP_COAP_GET,
			   0xbeef, tok, 8);
	csmp_coap_enc_path(&e, "/c/75/1");
	csmp_coap_enc_query(&e, "q=1 2 e5771.127");
	csmp_coap_enc_query(&e, "a=20");
	csmp_coap_enc_query(&e, longq);
	csmp_coap_enc_payload(&e, "\x07\x03\x0a\x01\x31", 5);
	n = csmp_coap_enc_finish(&e);
	ASSERT_GT(n, 0);

	ASSERT_EQ(0, csmp_coap_parse(out, (__u32)n, &m));
	EXPECT_EQ(CSMP_COAP_NON, m.type);
	EXPECT_EQ(CSMP_COAP_GET, m.code);
	EXPECT_EQ(0xbeef, m.mid);
	EXPECT_EQ(8, m.tkl);
	EXPECT_EQ(0, memcmp(m.token, tok, 8));
	EXPECT_EQ(3, m.n_path);
	EXPECT_EQ(6, csmp_coap_path_str(out, &m, s, sizeof(s)));
	EXPECT_STREQ("c/75/1", s);
	EXPECT_EQ(3, m.n_query);
	EXPECT_EQ(0, csmp_coap_query_get(out, &m, "a", &off, &len));
	EXPECT_EQ(2, len);
	EXPECT_EQ(0, memcmp(out + off, "20", 2));
	EXPECT_EQ(0, csmp_coap_query_get(out, &m, "r", &off, &len));
	EXPECT_EQ(sizeof(longq) - 3, len);
	EXPECT_EQ(-ENOENT, csmp_coap_query_get(out, &m, "x", &off, &len));
	EXPECT_EQ(5, m.payload_len);
	EXPECT_EQ(-ENOSPC, csmp_coap_query_str(out, &m, s, 20));
	EXPECT_STREQ("q=1 2 e5771.127", s);	/* cut at an item boundary */
}

TEST(encoder_refuses_bad_input)
{
	uint8_t out[16], tok[9] = { 0 };
	struct csmp_coap_enc e;
	struct csmp_tlvw w;

	EXPECT_EQ(-ERANGE, csmp_coap_enc_init(&e, out, sizeof(out), 0, 1, 0,
					       tok, 9));
	EXPECT_EQ(-EINVAL, csmp_coap_enc_init(&e, out, sizeof(out), 4, 1, 0,
					       NULL, 0));
	EXPECT_EQ(-ENOSPC, csmp_coap_enc_init(&e, out, 3, 0, 1, 0, NULL, 0));

	/* Options out of order; the error sticks. */
	csmp_coap_enc_init(&e, out, sizeof(out), 0, 1, 0, NULL, 0);
	EXPECT_EQ(0, csmp_coap_enc_query(&e, "q"));
	EXPECT_EQ(-EINVAL, csmp_coap_enc_path(&e, "c"));
	EXPECT_EQ(-EINVAL, csmp_coap_enc_finish(&e));

	csmp_coap_enc_init(&e, out, sizeof(out), 0, 1, 0, NULL, 0);
	EXPECT_EQ(-EINVAL, csmp_coap_enc_path(&e, "c//1"));

	/* No room. */
	csmp_coap_enc_init(&e, out, 8, 0, 1, 0, NULL, 0);
	EXPECT_EQ(-ENOSPC, csmp_coap_enc_query(&e, "q=12345"));

	/* Empty payload: the marker goes away again. */
	csmp_coap_enc_init(&e, out, sizeof(out), 0, 2, 0, NULL, 0);
	csmp_coap_enc_path(&e, "r");
	ASSERT_EQ(0, csmp_coap_enc_payload_begin(&e, &w, 0));
	ASSERT_EQ(0, csmp_coap_enc_payload_end(&e, &w));
	EXPECT_EQ(6, csmp_coap_enc_finish(&e));
	/* Options after the payload. */
	csmp_coap_enc_payload(&e, "x", 1);
	EXPECT_EQ(-EINVAL, csmp_coap_enc_query(&e, "q"));
}

TEST(tlvid_lists)
{
	struct csmp_tlvid ids[4];
	char s[32];

	ASSERT_EQ(3, csmp_tlvid_list("1 2 e5771.127", 13, ids, 4));
	EXPECT_EQ(0u, ids[0].pen);
	EXPECT_EQ(1u, ids[0].type);
	EXPECT_EQ(5771u, ids[2].pen);
	EXPECT_EQ(127u, ids[2].type);
	ASSERT_EQ(2, csmp_tlvid_list("75+76", 5, ids, 4));
	EXPECT_EQ(76u, ids[1].type);
	EXPECT_EQ(0, csmp_tlvid_list("  ", 2, ids, 4));
	EXPECT_EQ(-E2BIG, csmp_tlvid_list("1 2 3 4 5", 9, ids, 4));
	EXPECT_EQ(-EINVAL, csmp_tlvid_list("1 x", 3, ids, 4));
	EXPECT_EQ(-EINVAL, csmp_tlvid_parse("e5771", 5, ids));
	EXPECT_EQ(-EINVAL, csmp_tlvid_parse("4294967296", 10, ids));
	EXPECT_EQ(0, csmp_tlvid_parse("4294967295", 10, ids));
	EXPECT_EQ(10, csmp_tlvid_format(&ids[0], s, sizeof(s)));
	EXPECT_STREQ("4294967295", s);
	ids[0].pen = 5771;
	ids[0].type = 127;
	EXPECT_EQ(9, csmp_tlvid_format(&ids[0], s, sizeof(s)));
	EXPECT_STREQ("e5771.127", s);
	EXPECT_EQ(-ENOSPC, csmp_tlvid_format(&ids[0], s, 4));
}

TEST(names)
{
	char code[5];

	EXPECT_STREQ("2.03", csmp_coap_code_str(CSMP_COAP_VALID, code));
	EXPECT_STREQ("4.04", csmp_coap_code_str(CSMP_COAP_NOT_FOUND, code));
	EXPECT_STREQ("0.02", csmp_coap_code_str(CSMP_COAP_POST, code));
	EXPECT_STREQ("Valid", csmp_coap_code_name(CSMP_COAP_VALID));
	EXPECT_STREQ("unknown", csmp_coap_code_name(CSMP_COAP_CODE(3, 1)));
	EXPECT_STREQ("ACK", csmp_coap_type_name(CSMP_COAP_ACK));
	EXPECT_STREQ("coap_tkl", csmp_reason_name(CSMP_R_COAP_TKL));
	EXPECT_STREQ("sig_missing", csmp_reason_name(CSMP_R_SIG_MISSING));
	EXPECT_STREQ("unknown", csmp_reason_name(10));
	EXPECT_STREQ("unknown", csmp_reason_name(1000));
	EXPECT_EQ(CSMP_R_TLV_VENDOR, csmp_reason_by_name("tlv_vendor"));
	EXPECT_EQ(-ENOENT, csmp_reason_by_name("nope"));
	EXPECT_STREQ("registration",
		     csmp_msg_class_name(CSMP_C_REGISTRATION));
	EXPECT_STREQ("malformed", csmp_msg_class_name(CSMP_C_MALFORMED));
	EXPECT_STREQ("unknown", csmp_msg_class_name(CSMP_C__MAX));
	EXPECT_STREQ("src_hash", csmp_steer_key_name(CSMP_K_SRC_HASH));
	EXPECT_STREQ("reply_port", csmp_steer_key_name(CSMP_K_REPLY_PORT));
}

TEST(every_reason_value_has_a_distinct_name)
{
	static const unsigned int all[] = {
		0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 16, 17, 18, 19, 20, 21, 22, 23,
		24, 25, 26, 32, 33, 34, 35, 36, 37, 38, 39, 48, 49, 50, 51,
		52, 53, 54, 55, 56, 64, 65, 66, 67, 68, 69,
	};
	size_t i;

	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		const char *n = csmp_reason_name(all[i]);

		EXPECT_STRNE("unknown", n);
		EXPECT_EQ((int)all[i], csmp_reason_by_name(n));
	}
}

TEST_HARNESS_MAIN
