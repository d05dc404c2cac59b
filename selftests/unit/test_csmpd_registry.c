// SPDX-License-Identifier: GPL-2.0-only
/*
 * csmpd's device registry shard (userspace/csmpd/registry/registry.c):
 * lookups by EID and SessionID through table growth, SessionID uniqueness,
 * the latest reported TLVs per device (last report wins per type, table
 * TLVs kept together, unknown TLVs not kept, the per-device bounds).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "csmpd.h"

/* A payload of TLVs with raw values: type, length, value bytes (len). */
static size_t put_tlv(__u8 *p, __u32 type, __u32 len, __u8 fill)
{
	size_t n = csmp_varint_put(p, type);

	n += csmp_varint_put(p + n, len);
	memset(p + n, fill, len);
	return n + len;
}

FIXTURE(shard)
{
	struct csmpd_worker *w;
};

FIXTURE_SETUP(shard)
{
	self->w = calloc(1, sizeof(*self->w));
	ASSERT_NE(NULL, self->w);
	ASSERT_EQ(0, csmpd_shard_init(&self->w->shard));
}

FIXTURE_TEARDOWN(shard)
{
	csmpd_shard_fini(&self->w->shard);
	free(self->w);
}

TEST_F(shard, lookups_survive_growth)
{
	struct csmpd_shard *s = &self->w->shard;
	char sid[17];
	__u64 i;

	for (i = 1; i <= 5000; i++) {
		struct csmpd_device *d = csmpd_dev_add(s, i * 7919);

		ASSERT_NE(NULL, d);
		snprintf(sid, sizeof(sid), "0001%012llx", (unsigned long long)i);
		ASSERT_EQ(0, csmpd_dev_set_session(s, d, sid, 16));
	}
	EXPECT_EQ(5000u, s->n);
	for (i = 1; i <= 5000; i++) {
		struct csmpd_device *d = csmpd_dev_by_eid(s, i * 7919);

		ASSERT_NE(NULL, d);
		snprintf(sid, sizeof(sid), "0001%012llx", (unsigned long long)i);
		ASSERT_EQ(d, csmpd_dev_by_session(s, sid, 16));
	}
	EXPECT_EQ(NULL, csmpd_dev_by_eid(s, 3));
	EXPECT_EQ(NULL, csmpd_dev_by_session(s, "0001ffffffffffff", 16));
	/* Adding an existing EID returns the same device. */
	EXPECT_EQ(csmpd_dev_by_eid(s, 7919), csmpd_dev_add(s, 7919));
	EXPECT_EQ(5000u, s->n);
}

TEST_F(shard, session_ids_are_unique_and_replaceable)
{
	struct csmpd_shard *s = &self->w->shard;
	struct csmpd_device *a = csmpd_dev_add(s, 1), *b = csmpd_dev_add(s, 2);

	ASSERT_EQ(0, csmpd_dev_set_session(s, a, "0001aaaa00000001", 16));
	EXPECT_EQ(-EEXIST, csmpd_dev_set_session(s, b, "0001aaaa00000001", 16));
	EXPECT_EQ(-EINVAL, csmpd_dev_set_session(s, b, "", 0));
	EXPECT_EQ(-EINVAL, csmpd_dev_set_session(s, b, "01234567890123456", 17));
	ASSERT_EQ(0, csmpd_dev_set_session(s, a, "0001aaaa00000002", 16));
	EXPECT_EQ(NULL, csmpd_dev_by_session(s, "0001aaaa00000001", 16));
	EXPECT_EQ(a, csmpd_dev_by_session(s, "0001aaaa00000002", 16));
	EXPECT_EQ(0, csmpd_dev_set_session(s, b, "0001aaaa00000001", 16));
	EXPECT_EQ(b, csmpd_dev_by_session(s, "0001aaaa00000001", 16));
}

TEST_F(shard, latest_tlvs_last_report_wins_per_type)
{
	struct csmpd_device *d = csmpd_dev_add(&self->w->shard, 9);
	__u8 p[512];
	const __u8 *v;
	__u16 len;
	size_t n = 0;

	/* SessionID and CurrentTime are not kept; Uptime and two
	 * InterfaceMetrics (a table TLV) are, the latter together. */
	n += put_tlv(p + n, CSMP_TLV_SESSION_ID, 4, 's');
	n += put_tlv(p + n, CSMP_TLV_CURRENT_TIME, 2, 't');
	n += put_tlv(p + n, CSMP_TLV_INTERFACE_METRICS, 10, 'a');
	n += put_tlv(p + n, CSMP_TLV_UPTIME, 3, 'u');
	n += put_tlv(p + n, CSMP_TLV_INTERFACE_METRICS, 10, 'b');
	n += put_tlv(p + n, 1000, 5, 'x');	/* unknown: not kept */
	ASSERT_EQ(0, csmpd_dev_store_tlvs(self->w, d, p, (__u32)n));
	EXPECT_EQ(2, d->n_tlvs);
	v = csmpd_dev_tlv(d, CSMP_TLV_INTERFACE_METRICS, &len);
	ASSERT_NE(NULL, v);
	EXPECT_EQ(24, len);		/* two TLVs of 2 + 10 bytes */
	EXPECT_EQ(CSMP_TLV_INTERFACE_METRICS, v[0]);
	EXPECT_EQ('a', v[2]);
	EXPECT_EQ('b', v[14]);
	EXPECT_EQ(NULL, csmpd_dev_tlv(d, CSMP_TLV_SESSION_ID, &len));
	EXPECT_EQ(NULL, csmpd_dev_tlv(d, 1000, &len));

	/* A second report with only Uptime replaces Uptime, keeps the rest. */
	n = put_tlv(p, CSMP_TLV_UPTIME, 3, 'U');
	ASSERT_EQ(0, csmpd_dev_store_tlvs(self->w, d, p, (__u32)n));
	EXPECT_EQ(2, d->n_tlvs);
	v = csmpd_dev_tlv(d, CSMP_TLV_UPTIME, &len);
	ASSERT_NE(NULL, v);
	EXPECT_EQ(5, len);
	EXPECT_EQ('U', v[2]);
	v = csmpd_dev_tlv(d, CSMP_TLV_INTERFACE_METRICS, &len);
	ASSERT_NE(NULL, v);
	EXPECT_EQ(24, len);
	EXPECT_EQ('b', v[14]);
}

/* tlv_dirty: bit i for tlvs[i] of the given type, or 0 when absent. */
static __u16 dirty_bit(const struct csmpd_device *d, __u32 type)
{
	unsigned int i;

	for (i = 0; i < d->n_tlvs; i++)
		if (d->tlvs[i].type == type)
			return d->tlv_dirty & (1u << i);
	return 0;
}

/* Persistence writes only what tlv_dirty marks (ext.c persist()). */
TEST_F(shard, latest_tlvs_mark_only_changed_types_dirty)
{
	struct csmpd_device *d = csmpd_dev_add(&self->w->shard, 11);
	__u8 p[512];
	size_t n = 0;

	n += put_tlv(p + n, CSMP_TLV_UPTIME, 3, 'u');
	n += put_tlv(p + n, CSMP_TLV_INTERFACE_METRICS, 10, 'a');
	ASSERT_EQ(0, csmpd_dev_store_tlvs(self->w, d, p, (__u32)n));
	EXPECT_NE(0, dirty_bit(d, CSMP_TLV_UPTIME));
	EXPECT_NE(0, dirty_bit(d, CSMP_TLV_INTERFACE_METRICS));

	/* Handed over; the same bytes again change nothing. */
	d->tlv_dirty = 0;
	ASSERT_EQ(0, csmpd_dev_store_tlvs(self->w, d, p, (__u32)n));
	EXPECT_EQ(0, d->tlv_dirty);

	/* A new Uptime marks Uptime alone. */
	n = put_tlv(p, CSMP_TLV_UPTIME, 3, 'v');
	n += put_tlv(p + n, CSMP_TLV_INTERFACE_METRICS, 10, 'a');
	ASSERT_EQ(0, csmpd_dev_store_tlvs(self->w, d, p, (__u32)n));
	EXPECT_NE(0, dirty_bit(d, CSMP_TLV_UPTIME));
	EXPECT_EQ(0, dirty_bit(d, CSMP_TLV_INTERFACE_METRICS));

	/* Not handed over (a full registry ring): a report that carries the
	 * same Uptime, or not Uptime at all, keeps it dirty, wherever the
	 * type moves in tlvs[]. */
	n = put_tlv(p, CSMP_TLV_INTERFACE_METRICS, 10, 'b');
	ASSERT_EQ(0, csmpd_dev_store_tlvs(self->w, d, p, (__u32)n));
	EXPECT_NE(0, dirty_bit(d, CSMP_TLV_UPTIME));
	EXPECT_NE(0, dirty_bit(d, CSMP_TLV_INTERFACE_METRICS));
	n = put_tlv(p, CSMP_TLV_UPTIME, 3, 'v');
	ASSERT_EQ(0, csmpd_dev_store_tlvs(self->w, d, p, (__u32)n));
	EXPECT_NE(0, dirty_bit(d, CSMP_TLV_UPTIME));
	EXPECT_NE(0, dirty_bit(d, CSMP_TLV_INTERFACE_METRICS));
}

TEST_F(shard, latest_tlvs_are_bounded)
{
	struct csmpd_device *d = csmpd_dev_add(&self->w->shard, 10);
	__u8 p[4096];
	size_t n = 0;
	__u16 len;

	/* Three values of 700 bytes: only two fit CSMPD_DEV_TLV_BYTES. */
	n += put_tlv(p + n, CSMP_TLV_HARDWARE_DESC, 700, 'h');
	n += put_tlv(p + n, CSMP_TLV_WPAN_STATUS, 700, 'w');
	n += put_tlv(p + n, CSMP_TLV_FIRMWARE_IMAGE_INFO, 700, 'f');
	EXPECT_EQ(1, csmpd_dev_store_tlvs(self->w, d, p, (__u32)n));
	EXPECT_EQ(2, d->n_tlvs);
	EXPECT_LE(d->tlv_used, CSMPD_DEV_TLV_BYTES);
	EXPECT_LE(d->tlv_cap, CSMPD_DEV_TLV_BYTES);
	EXPECT_NE(NULL, csmpd_dev_tlv(d, CSMP_TLV_HARDWARE_DESC, &len));
	EXPECT_EQ(NULL, csmpd_dev_tlv(d, CSMP_TLV_FIRMWARE_IMAGE_INFO, &len));
}

TEST_HARNESS_MAIN
