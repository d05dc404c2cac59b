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
#include "testutil.h"

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
	int n = fx_unhex(reg_ack, buf, sizeof(buf)), k = 0;

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

TEST(decoded_message_lives_in_the_arena)
{
	/* HardwareDesc with strings: every block protobuf-c asked for came
	 * from the arena (no malloc), and reset gives it all back. */
	uint8_t v[64];
	int n = fx_unhex("0801121843534d50204167656e74204c69622074657374206e6f6465"
		      "2809880101" "1a00", v, sizeof(v));
	struct csmp_arena a;
	ProtobufCMessage *pm;
	Csmp__HardwareDesc *hw;
	uintptr_t lo = (uintptr_t)arena_buf, hi = lo + sizeof(arena_buf);

	csmp_arena_init(&a, arena_buf + 3, sizeof(arena_buf) - 3);
	EXPECT_EQ(0u, ((uintptr_t)a.base) % CSMP_ARENA_ALIGN);
	ASSERT_EQ(0, csmp_pb_unpack(&a, &csmp__hardware_desc__descriptor, v,
				    (size_t)n, &pm));
	hw = (Csmp__HardwareDesc *)pm;
	EXPECT_STREQ("CSMP Agent Lib test node", hw->ent_physical_descr);
	EXPECT_EQ(0u, hw->ent_physical_vendor_type.len);
	EXPECT_TRUE((uintptr_t)hw >= lo && (uintptr_t)hw < hi);
	EXPECT_TRUE((uintptr_t)hw->ent_physical_descr >= lo &&
		    (uintptr_t)hw->ent_physical_descr < hi);
	EXPECT_GT(csmp_arena_used(&a), sizeof(*hw));
	EXPECT_EQ(0u, csmp_arena_used(&a) % CSMP_ARENA_ALIGN);
	csmp_arena_reset(&a);
	EXPECT_EQ(0u, csmp_arena_used(&a));
	EXPECT_GT(a.high, sizeof(*hw));
}

TEST(arena_exhaustion_is_enomem_not_ebadmsg)
{
	static unsigned char small[64];
	uint8_t v[64];
	int n = fx_unhex("0801121843534d50204167656e74204c69622074657374206e6f6465",
		      v, sizeof(v));
	struct csmp_arena a;
	ProtobufCMessage *pm;

	csmp_arena_init(&a, small, sizeof(small));
	EXPECT_EQ(-ENOMEM, csmp_pb_unpack(&a, &csmp__hardware_desc__descriptor,
					  v, (size_t)n, &pm));
	EXPECT_GT(a.failed, 0u);
	EXPECT_EQ(NULL, csmp_arena_alloc(&a, 1 << 20));
	EXPECT_EQ(NULL, csmp_arena_alloc(&a, SIZE_MAX));
	csmp_arena_reset(&a);
	EXPECT_EQ(0u, a.failed);
	EXPECT_NE(NULL, csmp_arena_alloc(&a, 16));
	csmp_arena_init(&a, NULL, 0);
	EXPECT_EQ(NULL, csmp_arena_alloc(&a, 1));
}

TEST(malformed_values_are_ebadmsg)
{
	static const char *const bad[] = {
		"0a05313233",		/* string runs past the end */
		"08",			/* varint missing */
		"08ffffffffffffffffffff01", /* varint of 11 bytes */
		"0b",			/* wire type 3 (group) */
		"0f00",			/* wire type 7 */
		"00",			/* field number 0 */
		"0a8080808010",		/* length > 32 bits */
		"850000000000",		/* field 0 in a 2-byte key (fuzz) */
	};
	struct csmp_arena a;
	ProtobufCMessage *pm;
	size_t i;

	csmp_arena_init(&a, arena_buf, sizeof(arena_buf));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint8_t v[32];
		int n = fx_unhex(bad[i], v, sizeof(v));

		EXPECT_EQ(-EBADMSG, csmp_pb_unpack(&a,
			&csmp__session_id__descriptor, v, (size_t)n, &pm))
			TH_LOG("%s", bad[i]);
		EXPECT_EQ(0u, a.failed);
	}
}

TEST(field_zero_is_refused_at_any_depth)
{
	/* FirmwareImageInfo.hwInfo holding a 2-byte key of field 0, which
	 * protobuf-c 1.4.1 alone would keep as an unknown field. */
	uint8_t v[16];
	int n = fx_unhex("0801" "5a06" "850000000000", v, sizeof(v));
	struct csmp_arena a;
	ProtobufCMessage *pm;

	csmp_arena_init(&a, arena_buf, sizeof(arena_buf));
	EXPECT_EQ(-EBADMSG, csmp_pb_unpack(&a,
		&csmp__firmware_image_info__descriptor, v, (size_t)n, &pm));
	n = fx_unhex("0801" "5a02" "0a00", v, sizeof(v));
	EXPECT_EQ(0, csmp_pb_unpack(&a, &csmp__firmware_image_info__descriptor,
				    v, (size_t)n, &pm));
}

TEST(every_table_message_round_trips_through_the_writer)
{
	/* Empty and default messages of every TLV type: pack, walk, decode. */
	const struct csmp_tlv_info *ti;
	struct csmp_arena a;
	size_t i;

	csmp_arena_init(&a, arena_buf, sizeof(arena_buf));
	for (i = 0; (ti = csmp_tlv_info_at(i)); i++) {
		ProtobufCMessage *m, *back;
		struct csmp_tlvw w;
		struct csmp_tlv t;
		uint8_t out[64];

		if (!ti->desc)
			continue;
		m = csmp_arena_alloc(&a, ti->desc->sizeof_message);
		ASSERT_NE(NULL, m);
		ti->desc->message_init(m);
		csmp_tlvw_init(&w, out, sizeof(out), CSMP_TLVW_PAD);
		if (ti->type == CSMP_TLV_VENDOR)
			csmp_tlvw_put_vendor_agent(&w, 5771, 127,
						   (Csmp__VendorTlv *)m);
		else
			csmp_tlvw_put(&w, ti->type, m);
		ASSERT_EQ(0, w.err) TH_LOG("%s", ti->name);
		ASSERT_EQ(0, csmp_tlv_find(out, w.len, ti->type, &t, NULL));
		EXPECT_EQ(0u, t.len);
		ASSERT_EQ(0, csmp_tlv_decode(&a, out, &t, &back))
			TH_LOG("%s", ti->name);
		EXPECT_EQ(ti->desc, back->descriptor);
	}
}

TEST(notification_tlvs_packed_and_unpacked)
{
	/* code 3, tlvs [2, 22]: packed (1a 02 02 16) and unpacked
	 * (18 02 18 16); the writer emits packed. */
	static const char *const forms[] = { "08031a020216", "0803180218" "16" };
	struct csmp_arena a;
	ProtobufCMessage *pm;
	Csmp__CGMSNotification *cn;
	uint8_t v[16], out[16];
	size_t i;

	csmp_arena_init(&a, arena_buf, sizeof(arena_buf));
	for (i = 0; i < 2; i++) {
		int n = fx_unhex(forms[i], v, sizeof(v));

		ASSERT_EQ(0, csmp_pb_unpack(&a,
			&csmp__cgmsnotification__descriptor, v, (size_t)n,
			&pm));
		cn = (Csmp__CGMSNotification *)pm;
		EXPECT_EQ(3u, cn->code);
		ASSERT_EQ(2u, cn->n_tlvs);
		EXPECT_EQ(2u, cn->tlvs[0]);
		EXPECT_EQ(22u, cn->tlvs[1]);
		EXPECT_EQ(6u, csmp__cgmsnotification__pack(cn, out));
		EXPECT_EQ(0, memcmp(out, "\x08\x03\x1a\x02\x02\x16", 6));
	}
}

TEST(json_escapes_strings_and_reports_unknown_fields)
{
	/* SessionID{id: "a\"b\\c\n\xff\xc3\xa9"} + unknown field 5 = 7. */
	uint8_t v[32];
	int n = fx_unhex("0a0961" "22" "62" "5c" "63" "0a" "ff" "c3a9" "2807", v,
		      sizeof(v));
	struct csmp_arena a;
	ProtobufCMessage *pm;
	struct csmp_sb sb;
	char js[256];

	csmp_arena_init(&a, arena_buf, sizeof(arena_buf));
	ASSERT_EQ(0, csmp_pb_unpack(&a, &csmp__session_id__descriptor, v,
				    (size_t)n, &pm));
	csmp_sb_init(&sb, js, sizeof(js));
	csmp_pb_json(&sb, pm);
	EXPECT_STREQ("{\"id\":\"a\\\"b\\\\c\\u000a\\u00ff\xc3\xa9\","
		     "\"_unknown\":[{\"field\":5,\"wireType\":0,\"data\":\"07\"}]}",
		     csmp_sb_str(&sb));

	/* Too small: -ENOSPC, never an overrun, still NUL-terminated. */
	csmp_sb_init(&sb, js, 10);
	csmp_pb_json(&sb, pm);
	EXPECT_EQ(-ENOSPC, sb.err);
	EXPECT_EQ(NULL, csmp_sb_str(&sb));
	EXPECT_LT(strlen(js), 10u);
}

TEST(json_of_a_value_that_does_not_parse)
{
	uint8_t pl[8];
	int n = fx_unhex("0703" "0a0531", pl, sizeof(pl));
	struct csmp_arena a;
	struct csmp_tlv t;
	struct csmp_sb sb;
	char js[128];

	csmp_arena_init(&a, arena_buf, sizeof(arena_buf));
	ASSERT_EQ(0, csmp_tlv_find(pl, (size_t)n, 7, &t, NULL));
	csmp_sb_init(&sb, js, sizeof(js));
	EXPECT_EQ(-EBADMSG, csmp_tlv_line(&sb, &a, pl, &t));
	EXPECT_STREQ("[7/SessionID]: {\"raw\":\"0a0531\",\"error\":\"Bad message\"}",
		     csmp_sb_str(&sb));
	/* An id without a message is printed raw. */
	n = fx_unhex("0302abcd", pl, sizeof(pl));
	ASSERT_EQ(0, csmp_tlv_find(pl, (size_t)n, 3, &t, NULL));
	csmp_sb_reset(&sb);
	EXPECT_EQ(-ENOENT, csmp_tlv_line(&sb, &a, pl, &t));
	EXPECT_STREQ("[3/Unknown]: {\"raw\":\"abcd\"}", csmp_sb_str(&sb));
}

TEST(set_present_and_has)
{
	Csmp__GroupAssign ga = CSMP__GROUP_ASSIGN__INIT;
	Csmp__TlvIndex ti = CSMP__TLV_INDEX__INIT;

	EXPECT_EQ(0, csmp_pb_has(&ga.base, 1));
	EXPECT_EQ(0, csmp_pb_set_present(&ga.base, 1));
	EXPECT_EQ(1, csmp_pb_has(&ga.base, 1));
	EXPECT_EQ(0, csmp_pb_has(&ga.base, 2));
	EXPECT_EQ(-ENOENT, csmp_pb_set_present(&ga.base, 3));
	EXPECT_EQ(-EINVAL, csmp_pb_set_present(&ti.base, 1));
	EXPECT_EQ(0, csmp_pb_has(&ti.base, 1));
	/* 08 00: type 0 written because present. */
	EXPECT_EQ(2u, csmp__group_assign__get_packed_size(&ga));
}

TEST_HARNESS_MAIN
