// SPDX-License-Identifier: GPL-2.0-only
/*
 * Both captures of shared/fixtures decoded through libcsmp, checked field
 * by field against the values the wire facts list, and every TLV of every
 * datagram decoded with no unknown protobuf field left over (which would
 * mean a wrong field number or wire type in proto/csmp.proto).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include "kselftest_harness.h"
#include "testutil.h"

static unsigned char arena_buf[1 << 16];
static struct fx_dgram dg[40];

#define EXPECT_PRESENT(m, f) EXPECT_EQ(1, csmp_pb_has(&(m)->base, f))

/* The i-th TLV of a datagram's payload, decoded. */
static ProtobufCMessage *tlv_at(struct csmp_arena *a, const struct fx_dgram *d,
				int idx, struct csmp_tlv *t)
{
	struct csmp_coap_msg m;
	struct csmp_tlv_iter it;
	ProtobufCMessage *pm;
	int i = 0;

	if (csmp_coap_parse(d->data, d->len, &m))
		return NULL;
	csmp_tlv_init(&it, d->data + m.payload_off, m.payload_len);
	while (csmp_tlv_next(&it, t) > 0) {
		if (i++ != idx)
			continue;
		t->off += m.payload_off;	/* relative to d->data now */
		if (csmp_tlv_decode(a, d->data, t, &pm))
			return NULL;
		return pm;
	}
	return NULL;
}

TEST(registration_request_fields)
{
	static const uint32_t order[] = { 2, 18, 11, 12, 12, 16, 16, 16, 17,
					  23, 23, 25, 35, 53, 75 };
	struct csmp_arena a;
	struct csmp_coap_msg m;
	struct csmp_tlv t;
	struct csmp_class cl;
	Csmp__DeviceID *id;
	Csmp__CurrentTime *ct;
	Csmp__HardwareDesc *hw;
	Csmp__InterfaceDesc *ifd;
	Csmp__IPAddress *ip;
	Csmp__IPRoute *rt;
	Csmp__IPRouteRPLMetrics *rpl;
	Csmp__WPANStatus *wp;
	Csmp__RPLInstance *ri;
	Csmp__FirmwareImageInfo *fw;
	uint8_t a6[16];
	uint64_t eid;
	size_t i;
	int n = fx_load("opencsmp-register.pcap", dg, 40);

	if (n == -ENOENT)
		SKIP(return, "fixture opencsmp-register.pcap not found");
	ASSERT_EQ(2, n);
	EXPECT_EQ(602u, dg[0].len);
	EXPECT_EQ(46790, dg[0].f.sport);
	EXPECT_EQ(61628, dg[0].f.dport);
	ASSERT_EQ(0, csmp_coap_parse(dg[0].data, dg[0].len, &m));
	EXPECT_EQ(CSMP_COAP_CON, m.type);
	EXPECT_EQ(CSMP_COAP_POST, m.code);
	EXPECT_EQ(0, m.mid);
	EXPECT_EQ(0, m.tkl);
	EXPECT_TRUE(csmp_coap_path1(dg[0].data, &m, 'r'));
	ASSERT_EQ(0, csmp_classify(dg[0].data, dg[0].len, &cl));
	EXPECT_EQ(CSMP_C_REGISTRATION, cl.msg_class);
	EXPECT_EQ(0x0a0027fffe3b2ab2ull, cl.eid);
	EXPECT_EQ(15, cl.n_tlvs);

	csmp_arena_init(&a, arena_buf, sizeof(arena_buf));
	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		ProtobufCMessage *pm = tlv_at(&a, &dg[0], (int)i, &t);

		ASSERT_NE(NULL, pm);
		EXPECT_EQ(order[i], t.type);
		EXPECT_TRUE(!!(t.flags & CSMP_TLVF_NONMINIMAL));
		EXPECT_EQ(0u, pm->n_unknown_fields);
	}

	id = (Csmp__DeviceID *)tlv_at(&a, &dg[0], 0, &t);
	ASSERT_NE(NULL, id);
	EXPECT_EQ(20u, t.len);
	EXPECT_EQ(1u, id->type);
	EXPECT_STREQ("0A0027FFFE3B2AB2", id->id);
	ASSERT_EQ(0, csmp_eid_parse(id->id, &eid));
	EXPECT_EQ(cl.eid, eid);

	ct = (Csmp__CurrentTime *)tlv_at(&a, &dg[0], 1, &t);
	ASSERT_NE(NULL, ct);
	EXPECT_EQ(1608173973u, ct->posix);
	EXPECT_PRESENT(ct, 3);		/* source 0, sent explicitly */
	EXPECT_EQ(0u, ct->source);
	EXPECT_EQ(0, csmp_pb_has(&ct->base, 2));

	hw = (Csmp__HardwareDesc *)tlv_at(&a, &dg[0], 2, &t);
	ASSERT_NE(NULL, hw);
	EXPECT_EQ(98u, t.len);
	EXPECT_EQ(1, hw->ent_physical_index);
	EXPECT_STREQ("CSMP Agent Lib test node", hw->ent_physical_descr);
	EXPECT_EQ(9, hw->ent_physical_class);
	EXPECT_STREQ("lowpan", hw->ent_physical_name);
	EXPECT_STREQ("1.0", hw->ent_physical_hardware_rev);
	EXPECT_STREQ("1.0.0", hw->ent_physical_firmware_rev);
	EXPECT_STREQ("0A0027FFFE3B2AB2", hw->ent_physical_serial_num);
	EXPECT_STREQ("IOTG CRDC", hw->ent_physical_mfg_name);
	EXPECT_STREQ("CSMP AGENT LIB", hw->ent_physical_model_name);
	EXPECT_EQ(1u, hw->ent_physical_function);

	ifd = (Csmp__InterfaceDesc *)tlv_at(&a, &dg[0], 3, &t);
	ASSERT_NE(NULL, ifd);
	EXPECT_STREQ("lo", ifd->if_name);
	EXPECT_EQ(24, ifd->if_type);
	ifd = (Csmp__InterfaceDesc *)tlv_at(&a, &dg[0], 4, &t);
	ASSERT_NE(NULL, ifd);
	EXPECT_STREQ("lowpan", ifd->if_name);
	EXPECT_EQ(259, ifd->if_type);
	ASSERT_EQ(8u, ifd->if_phys_address.len);
	EXPECT_EQ(eid, csmp_eid_from_bytes(ifd->if_phys_address.data));

	ip = (Csmp__IPAddress *)tlv_at(&a, &dg[0], 6, &t);
	ASSERT_NE(NULL, ip);
	inet_pton(AF_INET6, "fe80::207:8109:dc:c8d", a6);
	ASSERT_EQ(16u, ip->addr.len);
	EXPECT_EQ(0, memcmp(a6, ip->addr.data, 16));
	EXPECT_EQ(128u, ip->pfx_len);
	ip = (Csmp__IPAddress *)tlv_at(&a, &dg[0], 7, &t);
	ASSERT_NE(NULL, ip);
	inet_pton(AF_INET6, "2001:a:b:c::9", a6);
	EXPECT_EQ(0, memcmp(a6, ip->addr.data, 16));
	EXPECT_EQ(64u, ip->pfx_len);

	rt = (Csmp__IPRoute *)tlv_at(&a, &dg[0], 8, &t);
	ASSERT_NE(NULL, rt);
	EXPECT_EQ(46u, t.len);
	EXPECT_PRESENT(rt, 4);
	EXPECT_EQ(0u, rt->pfx_len);
	inet_pton(AF_INET6, "fe80::a00:27ff:fe3b:2ab1", a6);
	EXPECT_EQ(0, memcmp(a6, rt->next_hop.data, 16));

	rpl = (Csmp__IPRouteRPLMetrics *)tlv_at(&a, &dg[0], 11, &t);
	ASSERT_NE(NULL, rpl);
	EXPECT_EQ(-69, rpl->rssi_forward);	/* sint32 */
	EXPECT_EQ(-59, rpl->rssi_reverse);

	wp = (Csmp__WPANStatus *)tlv_at(&a, &dg[0], 12, &t);
	ASSERT_NE(NULL, wp);
	EXPECT_EQ(39u, t.len);
	ASSERT_EQ(4u, wp->ssid.len);
	EXPECT_EQ(0, memcmp("CRDC", wp->ssid.data, 4));
	EXPECT_EQ(1234u, wp->panid);

	ri = (Csmp__RPLInstance *)tlv_at(&a, &dg[0], 13, &t);
	ASSERT_NE(NULL, ri);
	EXPECT_EQ(33u, t.len);
	EXPECT_EQ(256, ri->rank);

	fw = (Csmp__FirmwareImageInfo *)tlv_at(&a, &dg[0], 14, &t);
	ASSERT_NE(NULL, fw);
	EXPECT_EQ(92u, t.len);
	EXPECT_STREQ("vendor firmware", fw->file_name);
	EXPECT_STREQ("1.0.0", fw->version);
	EXPECT_EQ(246272u, fw->file_size);
	EXPECT_TRUE(fw->is_default);
	EXPECT_TRUE(fw->is_running);
	ASSERT_NE(NULL, fw->hw_info);
	EXPECT_STREQ("", fw->hw_info->hw_id);
	EXPECT_PRESENT(fw->hw_info, 1);
	EXPECT_STREQ("vendor hardware ID", fw->hw_info->vendor_hw_id);
	EXPECT_EQ(0u, a.failed);
}

TEST(registration_ack_fields_and_signature_region)
{
	struct csmp_arena a;
	struct csmp_coap_msg m;
	struct csmp_tlv t;
	Csmp__ReportSubscribe *rs;
	Csmp__SessionID *sid;
	Csmp__SignatureValidity *sv;
	Csmp__Signature *sig;
	uint8_t region[64];
	int n = fx_load("opencsmp-register.pcap", dg, 40);

	if (n == -ENOENT)
		SKIP(return, "fixture opencsmp-register.pcap not found");
	ASSERT_EQ(2, n);
	EXPECT_EQ(125u, dg[1].len);
	ASSERT_EQ(0, csmp_coap_parse(dg[1].data, dg[1].len, &m));
	EXPECT_EQ(CSMP_COAP_ACK, m.type);
	EXPECT_EQ(CSMP_COAP_VALID, m.code);
	EXPECT_EQ(0, m.mid);
	EXPECT_EQ(0, m.n_opts);
	csmp_arena_init(&a, arena_buf, sizeof(arena_buf));

	rs = (Csmp__ReportSubscribe *)tlv_at(&a, &dg[1], 0, &t);
	ASSERT_NE(NULL, rs);
	EXPECT_EQ(20u, rs->interval);
	ASSERT_EQ(2u, rs->n_tlvid);
	EXPECT_STREQ("2", rs->tlvid[0]);
	EXPECT_STREQ("22", rs->tlvid[1]);
	sid = (Csmp__SessionID *)tlv_at(&a, &dg[1], 1, &t);
	ASSERT_NE(NULL, sid);
	EXPECT_STREQ("1", sid->id);
	sv = (Csmp__SignatureValidity *)tlv_at(&a, &dg[1], 2, &t);
	ASSERT_NE(NULL, sv);
	EXPECT_EQ(1557295060u, sv->not_before);
	EXPECT_EQ(1667295060u, sv->not_after);
	EXPECT_EQ(110000000u, sv->not_after - sv->not_before);
	EXPECT_GE((uint64_t)sv->not_after, dg[1].ts_sec);
	EXPECT_LE((uint64_t)sv->not_before, dg[1].ts_sec);
	sig = (Csmp__Signature *)tlv_at(&a, &dg[1], 3, &t);
	ASSERT_NE(NULL, sig);
	EXPECT_EQ(86u, sig->value.len);
	/* OID ecdsa-with-SHA256 inside the DER envelope. */
	EXPECT_EQ(0, memcmp(sig->value.data + 4,
			    "\x2a\x86\x48\xce\x3d\x04\x03\x02", 8));
	/* The signed region is the payload up to the Signature TLV. */
	n = fx_unhex("0d0908141201321202323207030a01314c0c08d4dfc9e60510d4ce"
		     "839b06", region, sizeof(region));
	EXPECT_EQ((uint32_t)(n + m.payload_off), t.hdr + m.payload_off);
	EXPECT_EQ(0, memcmp(region, dg[1].data + m.payload_off, (size_t)n));
}

TEST(get_capture_requests_and_replies_pair_up)
{
	static const uint32_t empty_q[] = { 7, 55, 58 };
	struct csmp_arena a;
	int n = fx_load("opencsmp-get.pcap", dg, 40), i, pairs = 0;

	if (n == -ENOENT)
		SKIP(return, "fixture opencsmp-get.pcap not found");
	ASSERT_EQ(36, n);
	csmp_arena_init(&a, arena_buf, sizeof(arena_buf));
	for (i = 0; i + 1 < n; i++) {
		struct csmp_coap_msg q, r;
		struct csmp_tlvid ids[4];
		struct csmp_tlv_iter it;
		struct csmp_tlv t;
		uint16_t off, len;
		size_t k;
		int cnt = 0, empty = 0;

		ASSERT_EQ(0, csmp_coap_parse(dg[i].data, dg[i].len, &q));
		if (q.code != CSMP_COAP_GET)
			continue;
		ASSERT_EQ(0, csmp_coap_parse(dg[i + 1].data, dg[i + 1].len, &r));
		EXPECT_EQ(62590, dg[i].f.sport);
		EXPECT_EQ(CSMP_COAP_CON, q.type);
		EXPECT_EQ(CSMP_COAP_ACK, r.type);
		EXPECT_EQ(CSMP_COAP_CONTENT, r.code);
		EXPECT_EQ(q.mid, r.mid);
		EXPECT_EQ(q.tkl, r.tkl);
		EXPECT_EQ(0, memcmp(q.token, r.token, q.tkl));
		if (q.mid) {	/* tokens 01..10 follow the MIDs */
			EXPECT_EQ(q.mid, q.token[0]);
		}
		EXPECT_TRUE(csmp_coap_path1(dg[i].data, &q, 'c'));
		ASSERT_EQ(0, csmp_coap_query_get(dg[i].data, &q, "q", &off,
						 &len));
		ASSERT_EQ(1, csmp_tlvid_list((char *)dg[i].data + off, len,
					     ids, 4));
		for (k = 0; k < 3; k++)
			empty |= ids[0].type == empty_q[k];
		csmp_arena_reset(&a);
		csmp_tlv_init(&it, dg[i + 1].data + r.payload_off,
			      r.payload_len);
		while (csmp_tlv_next(&it, &t) > 0) {
			ProtobufCMessage *pm;

			EXPECT_EQ(ids[0].type, t.type);
			ASSERT_EQ(0, csmp_tlv_decode(&a, dg[i + 1].data +
						     r.payload_off, &t, &pm));
			EXPECT_EQ(0u, pm->n_unknown_fields);
			cnt++;
		}
		EXPECT_EQ(0u, it.reason);
		if (empty) {
			EXPECT_EQ(0, cnt);
		} else {
			EXPECT_GT(cnt, 0);
		}
		pairs++;
	}
	EXPECT_EQ(17, pairs);
}

TEST(get_capture_tlv_index_and_json)
{
	static const char *const want[] = { "1", "2", "7", "55", "58", "13",
		"11", "12", "16", "17", "18", "22", "23", "25", "35", "53",
		"75" };
	struct csmp_arena a;
	struct csmp_tlv t;
	Csmp__TlvIndex *ti;
	char js[1024];
	struct csmp_sb sb;
	size_t i;
	int n = fx_load("opencsmp-get.pcap", dg, 40);

	if (n == -ENOENT)
		SKIP(return, "fixture opencsmp-get.pcap not found");
	csmp_arena_init(&a, arena_buf, sizeof(arena_buf));
	ti = (Csmp__TlvIndex *)tlv_at(&a, &dg[1], 0, &t);
	ASSERT_NE(NULL, ti);
	EXPECT_EQ(65u, t.len);
	ASSERT_EQ(17u, ti->n_tlvid);
	for (i = 0; i < 17; i++)
		EXPECT_STREQ(want[i], ti->tlvid[i]);

	/* The line csmp-request prints, for FirmwareImageInfo (q=75). */
	csmp_sb_init(&sb, js, sizeof(js));
	ASSERT_NE(NULL, tlv_at(&a, &dg[35], 0, &t));
	ASSERT_EQ(0, csmp_tlv_line(&sb, &a, dg[35].data, &t));
	EXPECT_STREQ("[75/FirmwareImageInfo]: {\"index\":1,\"fileHash\":"
		     "\"3132333435000000000000000000000000000000000000000000000000000000\","
		     "\"fileName\":\"vendor firmware\",\"version\":\"1.0.0\","
		     "\"fileSize\":246272,\"isDefault\":true,\"isRunning\":true,"
		     "\"hwInfo\":{\"hwId\":\"\",\"vendorHwId\":\"vendor hardware ID\"}}",
		     csmp_sb_str(&sb));
	/* ReportSubscribe{interval 0}: the zero is present, so printed. */
	csmp_sb_reset(&sb);
	ASSERT_NE(NULL, tlv_at(&a, &dg[13], 0, &t));
	csmp_tlv_line(&sb, &a, dg[13].data, &t);
	EXPECT_STREQ("[13/ReportSubscribe]: {\"interval\":0}", csmp_sb_str(&sb));
}

TEST_HARNESS_MAIN
