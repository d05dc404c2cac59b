// SPDX-License-Identifier: GPL-2.0-only
/*
 * TLVs from JSON (pbjson_in.h) read back through the TLV walk and pbjson:
 * what an operator POSTs is what the device decodes, zeros included; bad
 * input is refused with the field's path. And the reply-port block layout
 * (include/csmp/reply.h) csmpd and csmp_lb share.
 */
#include <errno.h>
#include <string.h>
#include "kselftest_harness.h"
#include "csmp.h"
#include "pbjson_in.h"
#include "csmp/reply.h"

struct env {
	uint8_t arena_buf[16384];
	struct csmp_arena a;
	uint8_t buf[1024];
	struct csmp_tlvw w;
	char err[256];
};

static int build(struct env *e, const char *text)
{
	json_t *j = json_loads(text, JSON_DECODE_ANY, NULL);
	int n;

	if (!j)
		return -1000;
	csmp_arena_init(&e->a, e->arena_buf, sizeof(e->arena_buf));
	csmp_tlvw_init(&e->w, e->buf, sizeof(e->buf), 0);
	e->err[0] = 0;
	n = csmp_tlvs_from_json(&e->w, &e->a, j, e->err, sizeof(e->err));
	json_decref(j);
	return n;
}

/* The n-th TLV's line, as csmp-request prints it. */
static const char *line(struct env *e, int n, char *out, size_t cap)
{
	struct csmp_tlv_iter it;
	struct csmp_tlv t;
	struct csmp_sb sb;
	uint8_t ab[8192];
	struct csmp_arena a;

	csmp_tlv_init(&it, e->buf, (uint32_t)e->w.len);
	while (csmp_tlv_next(&it, &t) == 1) {
		if (n--)
			continue;
		csmp_arena_init(&a, ab, sizeof(ab));
		csmp_sb_init(&sb, out, cap);
		csmp_tlv_line(&sb, &a, e->buf, &t);
		return csmp_sb_str(&sb);
	}
	return NULL;
}

TEST(post_tlvs_round_trip_through_the_decoder)
{
	static struct env e;
	char l[512];

	ASSERT_EQ(3, build(&e, "{\"ReportSubscribe\":{\"interval\":0,\"tlvid\":[\"22\",\"23\"]},"
			       "\"55\":{\"type\":1,\"id\":42},"
			       "\"CurrentTime\":{\"posix\":1700000000,\"source\":0}}"));
	EXPECT_STREQ("[13/ReportSubscribe]: {\"interval\":0,\"tlvid\":[\"22\",\"23\"]}",
		     line(&e, 0, l, sizeof(l)));
	EXPECT_STREQ("[55/GroupAssign]: {\"type\":1,\"id\":42}",
		     line(&e, 1, l, sizeof(l)));
	EXPECT_STREQ("[18/CurrentTime]: {\"posix\":1700000000,\"source\":0}",
		     line(&e, 2, l, sizeof(l)));
	/* A zero interval is written (the agent tests presence): 08 00. */
	EXPECT_EQ(0, memcmp(e.buf, "\x0d\x0a\x08\x00\x12\x02" "22", 8));
}

TEST(table_tlvs_repeat_and_bytes_and_nested_messages_parse)
{
	static struct env e;
	char l[512];

	ASSERT_EQ(3, build(&e, "[{\"GroupAssign\":[{\"type\":1,\"id\":1},{\"type\":2,\"id\":2}]},"
			       "{\"FirmwareImageInfo\":{\"index\":2,\"fileHash\":\"00ff\","
			       "\"hw_info\":{\"hwId\":\"X\"},\"isDefault\":false}}]"));
	EXPECT_STREQ("[55/GroupAssign]: {\"type\":2,\"id\":2}", line(&e, 1, l, sizeof(l)));
	EXPECT_STREQ("[75/FirmwareImageInfo]: {\"index\":2,\"fileHash\":\"00ff\",\"isDefault\":false,\"hwInfo\":{\"hwId\":\"X\"}}",
		     line(&e, 2, l, sizeof(l)));
}

TEST(bad_input_is_refused_with_the_field)
{
	static const struct {
		const char *json, *err;
	} cases[] = {
		{ "{\"GroupAssign\":{\"type\":\"one\"}}", "GroupAssign.type: expected an integer" },
		{ "{\"GroupAssign\":{\"type\":-1}}", "GroupAssign.type: -1 is out of uint32 range" },
		{ "{\"GroupAssign\":{\"colour\":1}}", "GroupAssign.colour: GroupAssign has no field 'colour'" },
		{ "{\"FirmwareImageInfo\":{\"fileHash\":\"0g\"}}", "FirmwareImageInfo.fileHash: not hex: '0g'" },
		{ "{\"FirmwareImageInfo\":{\"fileHash\":\"abc\"}}", "FirmwareImageInfo.fileHash: odd number of hex digits" },
		{ "{\"ReportSubscribe\":{\"tlvid\":\"22\"}}", "ReportSubscribe.tlvid: expected an array" },
		{ "{\"Nope\":{}}", "Nope: not a TLV id or name this library knows" },
		{ "{\"77\":{}}", "77: the sender adds the signature TLVs" },
		{ "{\"SignatureValidity\":{}}", "SignatureValidity: the sender adds the signature TLVs" },
		{ "{\"GroupAssign\":7}", "GroupAssign: expected a GroupAssign object" },
		{ "7", "TLVs must be an object or an array of objects" },
	};
	static struct env e;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		EXPECT_EQ(-EINVAL, build(&e, cases[i].json));
		EXPECT_STREQ(cases[i].err, e.err)
			TH_LOG("case %zu: %s", i, cases[i].json);
	}
}

TEST(no_room_is_an_error_not_a_short_write)
{
	static struct env e;
	json_t *j = json_loads("{\"HardwareDesc\":{\"entPhysicalDescr\":"
			       "\"0123456789012345678901234567890123456789\"}}", 0, NULL);

	csmp_arena_init(&e.a, e.arena_buf, sizeof(e.arena_buf));
	csmp_tlvw_init(&e.w, e.buf, 16, 0);
	EXPECT_EQ(-ENOSPC, csmp_tlvs_from_json(&e.w, &e.a, j, e.err, sizeof(e.err)));
	json_decref(j);
}

TEST(reply_block_splits_evenly_between_workers)
{
	struct csmp_reply_block b = { .lo = 40000, .hi = 40999 };
	struct csmp_reply_block none = { 0, 0 }, tiny = { .lo = 5, .hi = 6 };

	EXPECT_EQ(1000u, csmp_reply_block_size(&b));
	EXPECT_EQ(500u, csmp_reply_worker_span(&b, 2));
	EXPECT_EQ(40000, csmp_reply_worker_port(&b, 2, 0));
	EXPECT_EQ(40500, csmp_reply_worker_port(&b, 2, 1));
	EXPECT_EQ(0, csmp_reply_worker_port(&b, 2, 2));
	EXPECT_EQ(0, csmp_reply_port_worker(&b, 2, 40499));
	EXPECT_EQ(1, csmp_reply_port_worker(&b, 2, 40500));
	EXPECT_EQ(1, csmp_reply_port_worker(&b, 2, 40999));
	EXPECT_EQ(-1, csmp_reply_port_worker(&b, 2, 41000));
	EXPECT_EQ(-1, csmp_reply_port_worker(&b, 2, 39999));
	/* 3 workers: 333 each, port 40999 belongs to nobody. */
	EXPECT_EQ(40666, csmp_reply_worker_port(&b, 3, 2));
	EXPECT_EQ(-1, csmp_reply_port_worker(&b, 3, 40999));
	EXPECT_EQ(1, csmp_reply_block_has(&b, 40999));
	EXPECT_EQ(0, csmp_reply_block_has(&none, 0));
	EXPECT_EQ(0, csmp_reply_worker_port(&tiny, 3, 0));
	/* Every worker's port maps back to that worker. */
	for (unsigned int n = 1; n <= 64; n++)
		for (unsigned int w = 0; w < n; w++)
			ASSERT_EQ((int)w, csmp_reply_port_worker(&b, n,
					csmp_reply_worker_port(&b, n, w)));
}

TEST_HARNESS_MAIN
