// SPDX-License-Identifier: GPL-2.0-only
/*
 * The DER envelope of Signature.value (csmp_sig_der_parse/_build): the
 * capture's value round-trips byte for byte, and every malformation is
 * refused with its own errno. Values here are written by hand from the
 * X.690 rules, independently of the encoder under test.
 */
#include <errno.h>
#include <string.h>
#include <linux/types.h>
#include "kselftest_harness.h"
#include "csmp/tlv.h"
#include "sig.h"

/* Signature.value of frame 2 of opencsmp-register.pcap (86 bytes). */
static const uint8_t fix[] = {
	0x30, 0x54, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02,
	0x03, 0x48, 0x00, 0x30, 0x45, 0x02, 0x21, 0x00, 0xa9, 0x04, 0x14, 0x35,
	0xc2, 0xdb, 0x29, 0x74, 0xa3, 0x7a, 0x95, 0x3f, 0x19, 0xad, 0x78, 0x94,
	0x24, 0x58, 0x39, 0x33, 0x87, 0xea, 0x42, 0x2f, 0x7c, 0xe7, 0xe9, 0x67,
	0x06, 0xd7, 0x84, 0x96, 0x02, 0x20, 0x1e, 0xc2, 0x25, 0xfb, 0x32, 0x4c,
	0xa2, 0xf2, 0x0b, 0x48, 0xf1, 0x85, 0x36, 0x34, 0x0d, 0x99, 0xf9, 0xdc,
	0x51, 0x3a, 0x74, 0x43, 0xfb, 0x36, 0x04, 0x17, 0x43, 0xe4, 0x83, 0xc5,
	0x84, 0x2e,
};
#define FIX_INNER	15	/* offset of the Ecdsa-Sig-Value */

static int parse(const uint8_t *v, size_t len)
{
	enum csmp_sig_suite su;
	const uint8_t *sig;
	size_t sl;

	return csmp_sig_der_parse(v, len, &su, &sig, &sl);
}

/*
 * Build a P-256 value by hand from r and s contents (already in INTEGER
 * form), optionally with extra bytes inside the Ecdsa-Sig-Value.
 */
static size_t hand_value(uint8_t *out, const uint8_t *r, size_t rl,
			 const uint8_t *s, size_t sl, size_t extra)
{
	size_t seq = 2 + rl + 2 + sl + extra, n = 0, i;

	out[n++] = 0x30;
	out[n++] = (uint8_t)(10 + 2 + 1 + 2 + seq);
	out[n++] = 0x06;
	out[n++] = 0x08;
	memcpy(out + n, fix + 4, 8);
	n += 8;
	out[n++] = 0x03;
	out[n++] = (uint8_t)(1 + 2 + seq);
	out[n++] = 0x00;
	out[n++] = 0x30;
	out[n++] = (uint8_t)seq;
	out[n++] = 0x02;
	out[n++] = (uint8_t)rl;
	memcpy(out + n, r, rl);
	n += rl;
	out[n++] = 0x02;
	out[n++] = (uint8_t)sl;
	memcpy(out + n, s, sl);
	n += sl;
	for (i = 0; i < extra; i++)
		out[n++] = 0x00;
	return n;
}

TEST(fixture_value_parses)
{
	enum csmp_sig_suite su;
	const uint8_t *sig;
	size_t sl;

	ASSERT_EQ(0, csmp_sig_der_parse(fix, sizeof(fix), &su, &sig, &sl));
	EXPECT_EQ(CSMP_SUITE_P256, (int)su);
	EXPECT_EQ(71u, sl);
	EXPECT_EQ(fix + FIX_INNER, sig);
}

TEST(build_reproduces_fixture_value)
{
	uint8_t out[CSMP_SIG_VALUE_MAX];

	ASSERT_EQ((int)sizeof(fix),
		  csmp_sig_der_build(CSMP_SUITE_P256, fix + FIX_INNER, 71, out,
				     sizeof(out)));
	EXPECT_EQ(0, memcmp(out, fix, sizeof(fix)));
	EXPECT_EQ(-ENOSPC, csmp_sig_der_build(CSMP_SUITE_P256, fix + FIX_INNER,
					      71, out, 85));
	/* The builder refuses to wrap a broken Ecdsa-Sig-Value. */
	EXPECT_EQ(-EOVERFLOW, csmp_sig_der_build(CSMP_SUITE_P256,
					       fix + FIX_INNER, 70, out,
					       sizeof(out)));
	EXPECT_EQ(-EPROTONOSUPPORT,
		  csmp_sig_der_build(CSMP_SUITE_NONE, fix, 64, out,
				     sizeof(out)));
}

TEST(ed25519_value_round_trip)
{
	uint8_t raw[64], out[CSMP_SIG_VALUE_MAX];
	enum csmp_sig_suite su;
	const uint8_t *sig;
	size_t sl;
	int n;
	static const uint8_t head[] = { 0x30, 0x48, 0x06, 0x03, 0x2b, 0x65,
					0x70, 0x03, 0x41, 0x00 };

	memset(raw, 0xa5, sizeof(raw));
	n = csmp_sig_der_build(CSMP_SUITE_ED25519, raw, 64, out, sizeof(out));
	ASSERT_EQ(74, n);
	EXPECT_EQ(0, memcmp(out, head, sizeof(head)));
	ASSERT_EQ(0, csmp_sig_der_parse(out, (size_t)n, &su, &sig, &sl));
	EXPECT_EQ(CSMP_SUITE_ED25519, (int)su);
	EXPECT_EQ(64u, sl);
	EXPECT_EQ(0, memcmp(sig, raw, 64));
	EXPECT_EQ(-ERANGE, csmp_sig_der_build(CSMP_SUITE_ED25519, raw, 63, out,
					      sizeof(out)));
	/* A 63-byte Ed25519 signature in a well-formed envelope. */
	out[1]--;
	out[8]--;
	EXPECT_EQ(-ERANGE, parse(out, (size_t)n - 1));
}

TEST(size_limits)
{
	uint8_t v[CSMP_SIG_VALUE_MAX + 1];

	memset(v, 0, sizeof(v));
	EXPECT_EQ(-ENODATA, parse(fix, 0));
	EXPECT_EQ(-EMSGSIZE, parse(v, sizeof(v)));
}

TEST(every_truncation_is_refused)
{
	size_t n;

	for (n = 1; n < sizeof(fix); n++)
		EXPECT_NE(0, parse(fix, n));
}

TEST(wrong_tags_are_eproto)
{
	static const size_t at[] = { 0, 2, 12, FIX_INNER, FIX_INNER + 2,
				     FIX_INNER + 37 };
	uint8_t v[sizeof(fix)];
	size_t i;

	for (i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		memcpy(v, fix, sizeof(fix));
		v[at[i]] ^= 0x20;
		EXPECT_EQ(-EPROTO, parse(v, sizeof(v)));
	}
}

TEST(length_encodings)
{
	uint8_t v[sizeof(fix) + 2];

	memcpy(v, fix, sizeof(fix));
	/* Outer length one too long: runs past the value. */
	v[1] = 0x55;
	EXPECT_EQ(-EOVERFLOW, parse(v, sizeof(fix)));
	/* One too short: a byte is left after the SEQUENCE. */
	v[1] = 0x53;
	EXPECT_EQ(-EBADMSG, parse(v, sizeof(fix)));
	/* Indefinite length. */
	v[1] = 0x80;
	EXPECT_EQ(-EILSEQ, parse(v, sizeof(fix)));
	/* Three length octets. */
	v[1] = 0x83;
	EXPECT_EQ(-EILSEQ, parse(v, sizeof(fix)));
	/* Long form of a well-formed length >= 128: past the end. */
	v[1] = 0x81;
	v[2] = 0x80;
	EXPECT_EQ(-EOVERFLOW, parse(v, sizeof(fix)));
	/* Long form truncated: the length octet itself is missing. */
	EXPECT_EQ(-EOVERFLOW, parse(v, 2));

	/* Long form of 84: the right value, not minimal (BER, not DER). */
	v[0] = 0x30;
	v[1] = 0x81;
	v[2] = 0x54;
	memcpy(v + 3, fix + 2, sizeof(fix) - 2);
	EXPECT_EQ(-EILSEQ, parse(v, sizeof(fix) + 1));
	v[1] = 0x82;
	v[2] = 0x00;
	v[3] = 0x54;
	memcpy(v + 4, fix + 2, sizeof(fix) - 2);
	EXPECT_EQ(-EILSEQ, parse(v, sizeof(fix) + 2));

	/* BIT STRING one byte short inside the outer SEQUENCE. */
	memcpy(v, fix, sizeof(fix));
	v[13] = 0x47;
	EXPECT_EQ(-EBADMSG, parse(v, sizeof(fix)));
	/* OID length past the SEQUENCE's end. */
	v[13] = 0x48;
	v[3] = 0x60;
	EXPECT_EQ(-EOVERFLOW, parse(v, sizeof(fix)));
}

TEST(unknown_oid_and_bit_string_padding)
{
	uint8_t v[sizeof(fix)];

	memcpy(v, fix, sizeof(fix));
	v[11] = 0x03;	/* ecdsa-with-SHA384 */
	EXPECT_EQ(-EPROTONOSUPPORT, parse(v, sizeof(v)));
	memcpy(v, fix, sizeof(fix));
	v[14] = 0x01;	/* one unused bit */
	EXPECT_EQ(-EINVAL, parse(v, sizeof(v)));
}

TEST(ecdsa_integers)
{
	uint8_t v[CSMP_SIG_VALUE_MAX + 8];
	uint8_t r[34], s[33];
	size_t n;

	memset(r, 0x11, sizeof(r));
	memset(s, 0x22, sizeof(s));
	/* 32-byte r and s, no padding: fine. */
	n = hand_value(v, r, 32, s, 32, 0);
	EXPECT_EQ(0, parse(v, n));
	/* High bit set without a 00 prefix: negative. */
	r[0] = 0x80;
	n = hand_value(v, r, 32, s, 32, 0);
	EXPECT_EQ(-EDOM, parse(v, n));
	/* 00 prefix that was not needed. */
	r[0] = 0x00;
	r[1] = 0x11;
	n = hand_value(v, r, 33, s, 32, 0);
	EXPECT_EQ(-EDOM, parse(v, n));
	/* 00 prefix that was needed: fine. */
	r[1] = 0x91;
	n = hand_value(v, r, 33, s, 32, 0);
	EXPECT_EQ(0, parse(v, n));
	/* 33 significant bytes: wider than the curve. */
	r[0] = 0x01;
	n = hand_value(v, r, 33, s, 32, 0);
	EXPECT_EQ(-ERANGE, parse(v, n));
	/* Zero and empty. */
	r[0] = 0x00;
	n = hand_value(v, r, 1, s, 32, 0);
	EXPECT_EQ(-EDOM, parse(v, n));
	n = hand_value(v, r, 0, s, 32, 0);
	EXPECT_EQ(-EDOM, parse(v, n));
	/* s negative. */
	r[0] = 0x11;
	s[0] = 0xff;
	n = hand_value(v, r, 32, s, 32, 0);
	EXPECT_EQ(-EDOM, parse(v, n));
	/* A byte after s inside the Ecdsa-Sig-Value. */
	s[0] = 0x22;
	n = hand_value(v, r, 32, s, 32, 1);
	EXPECT_EQ(-EBADMSG, parse(v, n));
}

/*
 * Every single-byte change of the fixture value is either refused or
 * still parses as P-256 with the inner signature inside the value: the
 * parser never points outside its input.
 */
TEST(every_byte_change_is_bounded)
{
	uint8_t v[sizeof(fix)];
	enum csmp_sig_suite su;
	const uint8_t *sig;
	size_t i, sl;
	int b, err;

	for (i = 0; i < sizeof(fix); i++) {
		for (b = 0; b < 256; b++) {
			memcpy(v, fix, sizeof(fix));
			v[i] = (uint8_t)b;
			err = csmp_sig_der_parse(v, sizeof(v), &su, &sig, &sl);
			if (err)
				continue;
			ASSERT_TRUE(sig >= v && sig + sl <= v + sizeof(v));
		}
	}
}

TEST_HARNESS_MAIN
