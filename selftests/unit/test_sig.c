// SPDX-License-Identifier: GPL-2.0-only
/*
 * CSMP signatures (userspace/lib/sig.h): sign/verify round trips for both
 * suites, tamper rejection, validity-window outcomes, structural failures,
 * and the signed registration ACK of the agent's capture (structure only:
 * it was signed by a key nobody published).
 */
#include <errno.h>
#include <string.h>
#include <linux/types.h>
#include "kselftest_harness.h"
#include "csmp/tlv.h"
#include "sig.h"
#include "testutil.h"

/* Frame 2 of opencsmp-register.pcap (wire facts §7.2), CoAP payload only. */
static const char ack_payload[] =
	"0d0908141201321202323207030a01314c0c08d4dfc9e60510d4ce"
	"839b064d580a56305406082a8648ce3d0403020348003045022100a9041435c2"
	"db2974a37a953f19ad78942458393387ea422f7ce7e96706d7849602201ec225"
	"fb324ca2f20b48f18536340d99f9dc513a7443fb36041743e483c5842e";
static const char ack_region[] =
	"0d0908141201321202323207030a01314c0c08d4dfc9e60510d4ce839b06";

#define FIX_NB	1557295060u
#define FIX_NA	1667295060u
#define NOW	1600000000u

/* ReportSubscribe{20, ["2","22"]}, SessionID{"1"}: the fixture's body. */
static const uint8_t body[] = {
	0x0d, 0x09, 0x08, 0x14, 0x12, 0x01, 0x32, 0x12, 0x02, 0x32, 0x32,
	0x07, 0x03, 0x0a, 0x01, 0x31,
};

/* The reason as an int: the harness compares like with like. */
static int check(struct csmp_verifier *v, const struct csmp_key *k,
		 const uint8_t *p, size_t len, uint64_t now)
{
	return (int)csmp_sig_check(v, k, p, len, now);
}

/* A signed copy of body[] in buf; returns its length. */
static int make_signed(struct csmp_signer *s, uint8_t *buf, size_t cap,
		       uint32_t nb, uint32_t na)
{
	memcpy(buf, body, sizeof(body));
	return csmp_sig_append(s, buf, sizeof(body), cap, nb, na);
}

TEST(fixture_ack_signature_parses_structurally)
{
	uint8_t p[256], region[64];
	struct csmp_sig_loc loc;
	int n = fx_unhex(ack_payload, p, sizeof(p));
	int rn = fx_unhex(ack_region, region, sizeof(region));

	ASSERT_EQ(120, n);
	ASSERT_EQ(30, rn);
	ASSERT_EQ(0, csmp_sig_locate(p, (size_t)n, &loc));
	EXPECT_EQ(CSMP_R_OK, loc.reason);
	EXPECT_EQ(CSMP_SUITE_P256, (int)loc.suite);
	EXPECT_EQ(30u, loc.region_len);
	EXPECT_EQ(0, memcmp(p, region, 30));
	EXPECT_EQ(FIX_NB, loc.not_before);
	EXPECT_EQ(FIX_NA, loc.not_after);
	EXPECT_EQ(86u, loc.value_len);
	EXPECT_EQ(71u, loc.sig_len);
	/* The inner DER is the Ecdsa-Sig-Value: SEQUENCE of 0x45 bytes. */
	EXPECT_EQ(0x30, loc.sig[0]);
	EXPECT_EQ(0x45, loc.sig[1]);
}

TEST(fixture_ack_does_not_verify_with_fresh_key)
{
	uint8_t p[256];
	struct csmp_key *k;
	int n = fx_unhex(ack_payload, p, sizeof(p));

	ASSERT_EQ(0, csmp_key_generate(CSMP_SUITE_P256, &k));
	EXPECT_EQ(CSMP_R_SIG_BAD, check(NULL, k, p, (size_t)n, NOW));
	/* Outside its window it fails earlier, before any crypto. */
	EXPECT_EQ(CSMP_R_SIG_EXPIRED,
		  check(NULL, k, p, (size_t)n, FIX_NA + 1));
	EXPECT_EQ(CSMP_R_SIG_UNKNOWN_KEY,
		  check(NULL, NULL, p, (size_t)n, NOW));
	csmp_key_put(k);
}

static void round_trip(struct __test_metadata *_metadata,
		       enum csmp_sig_suite suite)
{
	uint8_t buf[256];
	struct csmp_key *k, *pub;
	struct csmp_signer *s;
	struct csmp_sig_loc loc;
	uint8_t raw[CSMP_SIG_PUB_MAX];
	int n, rl;

	ASSERT_EQ(0, csmp_key_generate(suite, &k));
	ASSERT_EQ(0, csmp_signer_new(k, 0, &s));
	n = make_signed(s, buf, sizeof(buf), NOW - 10, NOW + 10);
	ASSERT_GT(n, (int)sizeof(body));
	ASSERT_LE(n, (int)(sizeof(body) + CSMP_SIG_TLVS_MAX));
	ASSERT_EQ(0, csmp_sig_locate(buf, (size_t)n, &loc));
	EXPECT_EQ(suite, loc.suite);
	EXPECT_EQ(NOW - 10, loc.not_before);
	EXPECT_EQ(NOW + 10, loc.not_after);
	EXPECT_LE(loc.value_len, (uint32_t)CSMP_SIG_VALUE_MAX);
	EXPECT_EQ(CSMP_R_OK, check(NULL, k, buf, (size_t)n, NOW));

	/* The public half alone, as a device key is enrolled. */
	rl = csmp_key_public_raw(k, raw, sizeof(raw));
	ASSERT_GT(rl, 0);
	ASSERT_EQ(0, csmp_key_from_raw(suite, raw, (size_t)rl, &pub));
	EXPECT_FALSE(csmp_key_has_private(pub));
	EXPECT_EQ(0, memcmp(csmp_key_id(k), csmp_key_id(pub), 32));
	EXPECT_EQ(CSMP_R_OK, check(NULL, pub, buf, (size_t)n, NOW));

	csmp_key_put(pub);
	csmp_signer_free(s);
	csmp_key_put(k);
}

TEST(p256_sign_verify_round_trip)
{
	round_trip(_metadata, CSMP_SUITE_P256);
}

TEST(ed25519_sign_verify_round_trip)
{
	round_trip(_metadata, CSMP_SUITE_ED25519);
}

TEST_HARNESS_MAIN
