// SPDX-License-Identifier: GPL-2.0-only
/*
 * proto/csmp.proto and the library's message layer: the TLV table, decoding
 * through the arena (no malloc), presence of zero values, the JSON printer,
 * and decode -> encode -> decode round trips.
 */
#include <errno.h>
#include <string.h>
#include "kselftest_harness.h"
#include "csmp.h"

static int unhex(const char *h, uint8_t *out, size_t cap)
{
	size_t n = 0;

	for (; h[0] && h[1]; h += 2) {
		if (n == cap)
			return -1;
		out[n++] = (uint8_t)(csmp_hexval((__u8)h[0]) << 4 |
				     csmp_hexval((__u8)h[1]));
	}
	return (int)n;
}

/* Frame 2 of opencsmp-register.pcap: ACK 2.03, signed. */
static const char reg_ack[] =
	"60430000ff0d0908141201321202323207030a01314c0c08d4dfc9e60510d4ce"
	"839b064d580a56305406082a8648ce3d0403020348003045022100a9041435c2"
	"db2974a37a953f19ad78942458393387ea422f7ce7e96706d7849602201ec225"
	"fb324ca2f20b48f18536340d99f9dc513a7443fb36041743e483c5842e";

static unsigned char arena_buf[16384];

TEST(table_sorted_and_named)
{
	const struct csmp_tlv_info *ti, *prev = NULL;
	size_t i;

	for (i = 0; (ti = csmp_tlv_info_at(i)); i++) {
		if (prev)
			EXPECT_LT(prev->type, ti->type);
		EXPECT_EQ(ti, csmp_tlv_info(ti->type));
		EXPECT_EQ(ti, csmp_tlv_info_by_name(ti->name));
		prev = ti;
	}
	EXPECT_GE(i, 31u);
	EXPECT_STREQ("FirmwareImageInfo", csmp_tlv_name(75));
	EXPECT_STREQ("Unknown", csmp_tlv_name(3));
	EXPECT_EQ(NULL, csmp_tlv_info(0));
}

TEST(registration_ack_decodes)
{
	struct csmp_arena a;
	struct csmp_coap_msg m;
	struct csmp_tlv_iter it;
	struct csmp_tlv t;
	ProtobufCMessage *pm;
	uint8_t buf[256];
	const uint8_t *pl;
	int n = unhex(reg_ack, buf, sizeof(buf)), k = 0;

	csmp_arena_init(&a, arena_buf, sizeof(arena_buf));
	ASSERT_EQ(0, csmp_coap_parse(buf, (__u32)n, &m));
	pl = buf + m.payload_off;
	csmp_tlv_init(&it, pl, m.payload_len);
	while (csmp_tlv_next(&it, &t) > 0) {
		ASSERT_EQ(0, csmp_tlv_decode(&a, pl, &t, &pm));
		switch (k++) {
		case 0: {
			Csmp__ReportSubscribe *rs = (void *)pm;

			EXPECT_EQ((uint32_t)CSMP_TLV_REPORT_SUBSCRIBE, t.type);
			EXPECT_TRUE(rs->interval_present_case ==
				    CSMP__REPORT_SUBSCRIBE__INTERVAL_PRESENT_INTERVAL);
			EXPECT_EQ(20u, rs->interval);
			ASSERT_EQ(2u, rs->n_tlvid);
			EXPECT_STREQ("2", rs->tlvid[0]);
			EXPECT_STREQ("22", rs->tlvid[1]);
			break;
		}
		case 1:
			EXPECT_STREQ("1", ((Csmp__SessionID *)pm)->id);
			break;
		case 2: {
			Csmp__SignatureValidity *sv = (void *)pm;

			EXPECT_EQ(1557295060u, sv->not_before);
			EXPECT_EQ(1667295060u, sv->not_after);
			break;
		}
		case 3:
			EXPECT_EQ(86u, ((Csmp__Signature *)pm)->value.len);
			break;
		}
	}
	EXPECT_EQ(4, k);
	EXPECT_EQ(0u, a.failed);
}

TEST(zero_value_is_present_and_written)
{
	Csmp__CurrentTime ct = CSMP__CURRENT_TIME__INIT;
	struct csmp_arena a;
	struct csmp_tlvw w;
	struct csmp_tlv t;
	uint8_t out[32];
	ProtobufCMessage *pm;
	char js[128];
	struct csmp_sb sb;

	ct.posix = 1608173973;
	ct.posix_present_case = CSMP__CURRENT_TIME__POSIX_PRESENT_POSIX;
	ct.source = 0;
	ASSERT_EQ(0, csmp_pb_set_present(&ct.base, 3));
	csmp_tlvw_init(&w, out, sizeof(out), 0);
	ASSERT_EQ(0, csmp_tlvw_put(&w, CSMP_TLV_CURRENT_TIME, &ct.base));
	/* 12 08 | 08 95 93 eb fe 05 | 18 00: source 0 is on the wire. */
	ASSERT_EQ(10, csmp_tlvw_finish(&w));
	EXPECT_EQ(0x12, out[0]);
	EXPECT_EQ(8, out[1]);
	EXPECT_EQ(0x18, out[8]);
	EXPECT_EQ(0x00, out[9]);

	csmp_arena_init(&a, arena_buf, sizeof(arena_buf));
	ASSERT_EQ(0, csmp_tlv_find(out, 10, CSMP_TLV_CURRENT_TIME, &t, NULL));
	ASSERT_EQ(0, csmp_tlv_decode(&a, out, &t, &pm));
	EXPECT_TRUE(csmp_pb_has(pm, 3));
	EXPECT_FALSE(csmp_pb_has(pm, 2));
	csmp_sb_init(&sb, js, sizeof(js));
	csmp_pb_json(&sb, pm);
	EXPECT_STREQ("{\"posix\":1608173973,\"source\":0}", csmp_sb_str(&sb));
}

TEST_HARNESS_MAIN
