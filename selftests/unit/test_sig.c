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
	int n = unhex(ack_payload, p, sizeof(p));
	int rn = unhex(ack_region, region, sizeof(region));

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
	int n = unhex(ack_payload, p, sizeof(p));

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

/* Flip one bit anywhere in a signed payload: it never verifies. */
static void every_bit_flip_fails(struct __test_metadata *_metadata,
				 enum csmp_sig_suite suite)
{
	uint8_t buf[256], t[256];
	struct csmp_key *k;
	struct csmp_signer *s;
	int n, i, b, r;

	ASSERT_EQ(0, csmp_key_generate(suite, &k));
	ASSERT_EQ(0, csmp_signer_new(k, 0, &s));
	n = make_signed(s, buf, sizeof(buf), NOW - 100, NOW + 100);
	ASSERT_GT(n, 0);
	for (i = 0; i < n; i++) {
		for (b = 0; b < 8; b++) {
			memcpy(t, buf, (size_t)n);
			t[i] ^= (uint8_t)(1 << b);
			r = check(NULL, k, t, (size_t)n, NOW);
			if (r == CSMP_R_OK)
				TH_LOG("byte %d bit %d verified", i, b);
			ASSERT_NE(CSMP_R_OK, r);
		}
	}
	csmp_signer_free(s);
	csmp_key_put(k);
}

TEST(p256_any_flipped_bit_is_rejected)
{
	every_bit_flip_fails(_metadata, CSMP_SUITE_P256);
}

TEST(ed25519_any_flipped_bit_is_rejected)
{
	every_bit_flip_fails(_metadata, CSMP_SUITE_ED25519);
}

/* Named tampering: the payload, r, s, the OID, a length. */
FIXTURE(signed_p256) {
	struct csmp_key *k;
	struct csmp_signer *s;
	uint8_t buf[256];
	int n;
	struct csmp_sig_loc loc;
	size_t sig_off;		/* offset of the inner DER in buf */
	size_t oid_off;		/* offset of the OID's content in buf */
};

FIXTURE_SETUP(signed_p256)
{
	ASSERT_EQ(0, csmp_key_generate(CSMP_SUITE_P256, &self->k));
	ASSERT_EQ(0, csmp_signer_new(self->k, 0, &self->s));
	self->n = make_signed(self->s, self->buf, sizeof(self->buf),
			      NOW - 100, NOW + 100);
	ASSERT_GT(self->n, 0);
	ASSERT_EQ(0, csmp_sig_locate(self->buf, (size_t)self->n, &self->loc));
	self->sig_off = (size_t)(self->loc.sig - self->buf);
	self->oid_off = (size_t)(self->loc.value - self->buf) + 4;
	ASSERT_EQ(CSMP_R_OK, check(NULL, self->k, self->buf,
				   (size_t)self->n, NOW));
}

FIXTURE_TEARDOWN(signed_p256)
{
	csmp_signer_free(self->s);
	csmp_key_put(self->k);
}

TEST_F(signed_p256, flipped_payload_bit_is_bad)
{
	self->buf[2] ^= 0x01;	/* ReportSubscribe.interval 20 -> 21 */
	EXPECT_EQ(CSMP_R_SIG_BAD, check(NULL, self->k, self->buf,
					(size_t)self->n, NOW));
}

TEST_F(signed_p256, flipped_r_is_bad)
{
	size_t rl = self->buf[self->sig_off + 3];

	/* Last byte of r: 30 LL 02 rl <r...> */
	self->buf[self->sig_off + 3 + rl] ^= 0x01;
	EXPECT_EQ(CSMP_R_SIG_BAD, check(NULL, self->k, self->buf,
					(size_t)self->n, NOW));
}

TEST_F(signed_p256, flipped_s_is_bad)
{
	/* Last byte of s is the last byte of the payload. */
	self->buf[self->n - 1] ^= 0x01;
	EXPECT_EQ(CSMP_R_SIG_BAD, check(NULL, self->k, self->buf,
					(size_t)self->n, NOW));
}

TEST_F(signed_p256, flipped_oid_is_malformed)
{
	struct csmp_sig_loc loc;

	self->buf[self->oid_off + 7] ^= 0x01;	/* ...4.3.2 -> 4.3.3 (SHA-384) */
	EXPECT_EQ(CSMP_R_SIG_MALFORMED, check(NULL, self->k, self->buf,
					      (size_t)self->n, NOW));
	EXPECT_EQ(-EPROTONOSUPPORT,
		  csmp_sig_locate(self->buf, (size_t)self->n, &loc));
}

TEST_F(signed_p256, wrong_inner_length_is_malformed)
{
	struct csmp_sig_loc loc;

	self->buf[self->sig_off + 1]--;	/* Ecdsa-Sig-Value length */
	EXPECT_EQ(CSMP_R_SIG_MALFORMED, check(NULL, self->k, self->buf,
					      (size_t)self->n, NOW));
	EXPECT_EQ(-EBADMSG, csmp_sig_locate(self->buf, (size_t)self->n, &loc));
	self->buf[self->sig_off + 1] += 2;
	EXPECT_EQ(-EOVERFLOW,
		  csmp_sig_locate(self->buf, (size_t)self->n, &loc));
}

TEST_F(signed_p256, truncated_payload_is_malformed)
{
	struct csmp_sig_loc loc;

	EXPECT_EQ(CSMP_R_SIG_MALFORMED, check(NULL, self->k, self->buf,
					      (size_t)self->n - 1, NOW));
	EXPECT_EQ(-EOVERFLOW,
		  csmp_sig_locate(self->buf, (size_t)self->n - 1, &loc));
}

TEST_F(signed_p256, other_key_is_bad_and_no_key_is_unknown)
{
	struct csmp_key *other, *ed;

	ASSERT_EQ(0, csmp_key_generate(CSMP_SUITE_P256, &other));
	ASSERT_EQ(0, csmp_key_generate(CSMP_SUITE_ED25519, &ed));
	EXPECT_EQ(CSMP_R_SIG_BAD, check(NULL, other, self->buf,
					(size_t)self->n, NOW));
	EXPECT_EQ(CSMP_R_SIG_BAD, check(NULL, ed, self->buf,
					(size_t)self->n, NOW));
	EXPECT_EQ(CSMP_R_SIG_UNKNOWN_KEY, check(NULL, NULL, self->buf,
						(size_t)self->n, NOW));
	csmp_key_put(other);
	csmp_key_put(ed);
}

TEST_F(signed_p256, tlv_after_signature_is_malformed)
{
	struct csmp_sig_loc loc;
	int n = self->n;

	self->buf[n++] = 0x07;	/* SessionID{"1"} after the Signature */
	self->buf[n++] = 0x03;
	self->buf[n++] = 0x0a;
	self->buf[n++] = 0x01;
	self->buf[n++] = 0x31;
	EXPECT_EQ(CSMP_R_SIG_MALFORMED, check(NULL, self->k, self->buf,
					      (size_t)n, NOW));
	EXPECT_EQ(-ENOTEMPTY, csmp_sig_locate(self->buf, (size_t)n, &loc));
	EXPECT_EQ(CSMP_R_SIG_MALFORMED, loc.reason);
}

/* Window outcomes against `now`, without and with skew. */
TEST(validity_window_edges_and_skew)
{
	struct csmp_verifier_opts o = { .skew = 5, .replay_entries = 0 };
	struct csmp_verifier *v;
	struct csmp_signer *s;
	struct csmp_key *k;
	uint8_t buf[256];
	size_t n;
	int r;

	ASSERT_EQ(0, csmp_key_generate(CSMP_SUITE_P256, &k));
	ASSERT_EQ(0, csmp_signer_new(k, 0, &s));
	ASSERT_EQ(0, csmp_verifier_new(&o, &v));
	r = make_signed(s, buf, sizeof(buf), 1000, 2000);
	ASSERT_GT(r, 0);
	n = (size_t)r;

	EXPECT_EQ(CSMP_R_SIG_NOT_YET, check(NULL, k, buf, n, 999));
	EXPECT_EQ(CSMP_R_OK, check(NULL, k, buf, n, 1000));
	EXPECT_EQ(CSMP_R_OK, check(NULL, k, buf, n, 2000));
	EXPECT_EQ(CSMP_R_SIG_EXPIRED, check(NULL, k, buf, n, 2001));
	EXPECT_EQ(CSMP_R_SIG_NOT_YET, check(NULL, k, buf, n, 0));

	EXPECT_EQ(CSMP_R_SIG_NOT_YET, check(v, k, buf, n, 994));
	EXPECT_EQ(CSMP_R_OK, check(v, k, buf, n, 995));
	EXPECT_EQ(CSMP_R_OK, check(v, k, buf, n, 2005));
	EXPECT_EQ(CSMP_R_SIG_EXPIRED, check(v, k, buf, n, 2006));
	/* Far future: no 32-bit wrap of notAfter + skew. */
	EXPECT_EQ(CSMP_R_SIG_EXPIRED, check(v, k, buf, n, 1ull << 40));

	/* A window ending at the last 32-bit second plus skew. */
	r = make_signed(s, buf, sizeof(buf), 1000, UINT32_MAX);
	ASSERT_GT(r, 0);
	EXPECT_EQ(CSMP_R_OK, check(v, k, buf, (size_t)r, UINT32_MAX + 5ull));
	EXPECT_EQ(CSMP_R_SIG_EXPIRED,
		  check(v, k, buf, (size_t)r, UINT32_MAX + 6ull));

	EXPECT_EQ(-EINVAL, csmp_sig_append(s, buf, sizeof(body), sizeof(buf),
					   2000, 1000));
	csmp_verifier_free(v);
	csmp_signer_free(s);
	csmp_key_put(k);
}

TEST(unsigned_payload_is_missing)
{
	uint8_t buf[64];
	struct csmp_sig_loc loc;
	struct csmp_key *k;
	int n;

	ASSERT_EQ(0, csmp_key_generate(CSMP_SUITE_ED25519, &k));
	EXPECT_EQ(CSMP_R_SIG_MISSING, check(NULL, k, body, sizeof(body), NOW));
	EXPECT_EQ(-ENOENT, csmp_sig_locate(body, sizeof(body), &loc));
	EXPECT_EQ(CSMP_R_SIG_MISSING, check(NULL, k, body, 0, NOW));
	/* SignatureValidity alone is still unsigned. */
	memcpy(buf, body, sizeof(body));
	n = csmp_sig_put_validity(buf, sizeof(body), sizeof(buf), 1, 2);
	ASSERT_GT(n, 0);
	EXPECT_EQ(CSMP_R_SIG_MISSING, check(NULL, k, buf, (size_t)n, NOW));
	csmp_key_put(k);
}

/* A Signature with no SignatureValidity, or a broken one. */
TEST(validity_missing_or_broken_is_malformed)
{
	uint8_t buf[256], value[CSMP_SIG_VALUE_MAX];
	struct csmp_sig_loc loc;
	struct csmp_key *k;
	struct csmp_signer *s;
	int n, vl;
	/* SignatureValidity{notBefore: 5} without notAfter. */
	static const uint8_t half[] = { 0x4c, 0x02, 0x08, 0x05 };
	/* SignatureValidity{9, 3}: ends before it starts. */
	static const uint8_t rev[] = { 0x4c, 0x04, 0x08, 0x09, 0x10, 0x03 };
	/* SignatureValidity with notAfter = 2^32. */
	static const uint8_t big[] = { 0x4c, 0x08, 0x08, 0x01, 0x10,
				       0x80, 0x80, 0x80, 0x80, 0x10 };
	/* SignatureValidity whose protobuf runs past its value. */
	static const uint8_t bad[] = { 0x4c, 0x02, 0x08, 0x80 };
	static const struct {
		const uint8_t *tlv;
		size_t len;
		int err;
	} cases[] = {
		{ NULL, 0, -ESRCH },
		{ half, sizeof(half), -ENOMSG },
		{ rev, sizeof(rev), -ETIME },
		{ big, sizeof(big), -EFBIG },
		{ bad, sizeof(bad), -EBADE },
	};
	size_t i;

	ASSERT_EQ(0, csmp_key_generate(CSMP_SUITE_P256, &k));
	ASSERT_EQ(0, csmp_signer_new(k, 0, &s));
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memcpy(buf, body, sizeof(body));
		n = sizeof(body);
		if (cases[i].tlv) {
			memcpy(buf + n, cases[i].tlv, cases[i].len);
			n += (int)cases[i].len;
		}
		vl = csmp_signer_sign(s, buf, (size_t)n, value);
		ASSERT_GT(vl, 0);
		n = csmp_sig_put_signature(buf, (size_t)n, sizeof(buf), value,
					   (size_t)vl);
		ASSERT_GT(n, 0);
		EXPECT_EQ(cases[i].err, csmp_sig_locate(buf, (size_t)n, &loc));
		EXPECT_EQ(CSMP_R_SIG_MALFORMED, loc.reason);
		EXPECT_EQ(CSMP_R_SIG_MALFORMED,
			  check(NULL, k, buf, (size_t)n, NOW));
	}
	/* Signature TLV whose message has no value field. */
	memcpy(buf, body, sizeof(body));
	n = csmp_sig_put_validity(buf, sizeof(body), sizeof(buf), 1, 2);
	ASSERT_GT(n, 0);
	buf[n++] = 0x4d;
	buf[n++] = 0x02;
	buf[n++] = 0x10;	/* field 2, varint 0 */
	buf[n++] = 0x00;
	EXPECT_EQ(-ENOMSG, csmp_sig_locate(buf, (size_t)n, &loc));
	csmp_signer_free(s);
	csmp_key_put(k);
}

/* The writer's output is what the agent reads: both bounds, even zero. */
TEST(validity_tlv_writes_zero_bounds)
{
	uint8_t buf[32];
	static const uint8_t want[] = { 0x4c, 0x04, 0x08, 0x00, 0x10, 0x00 };

	ASSERT_EQ(6, csmp_sig_put_validity(buf, 0, sizeof(buf), 0, 0));
	EXPECT_EQ(0, memcmp(buf, want, sizeof(want)));
	EXPECT_EQ(-ENOSPC, csmp_sig_put_validity(buf, 0, 5, 0, 0));
	/* The fixture's SignatureValidity, byte for byte. */
	ASSERT_EQ(14, csmp_sig_put_validity(buf, 0, sizeof(buf), FIX_NB,
					    FIX_NA));
	{
		uint8_t p[256];

		ASSERT_EQ(120, unhex(ack_payload, p, sizeof(p)));
		EXPECT_EQ(0, memcmp(buf, p + 16, 14));
	}
}

TEST_HARNESS_MAIN
