// SPDX-License-Identifier: GPL-2.0-only
/* The shared classifier (include/csmp/classify.h) on the agent's captures. */
#include <errno.h>
#include <linux/types.h>
#include "kselftest_harness.h"
#include "csmp/classify.h"
#include "testutil.h"

/* Frame 2 of opencsmp-register.pcap: ACK 2.03, MID 0, signed. */
static const char reg_ack[] =
	"60430000ff0d0908141201321202323207030a01314c0c08d4dfc9e60510d4ce"
	"839b064d580a56305406082a8648ce3d0403020348003045022100a9041435c2"
	"db2974a37a953f19ad78942458393387ea422f7ce7e96706d7849602201ec225"
	"fb324ca2f20b48f18536340d99f9dc513a7443fb36041743e483c5842e";

TEST(registration_ack_is_signed_response)
{
	__u8 buf[256];
	struct csmp_class c;
	int n = fx_unhex(reg_ack, buf, sizeof(buf));

	ASSERT_EQ(125, n);
	ASSERT_EQ(0, csmp_classify(buf, (__u32)n, &c));
	EXPECT_EQ(CSMP_C_RESPONSE, c.msg_class);
	EXPECT_EQ(CSMP_COAP_VALID, c.coap_code);
	EXPECT_EQ(4, c.n_tlvs);
	EXPECT_EQ(CSMP_TLV_REPORT_SUBSCRIBE, c.first_tlv);
	EXPECT_TRUE(c.flags & CSMP_CF_SIGNED);
	EXPECT_TRUE(c.flags & CSMP_CF_VALIDITY);
	EXPECT_TRUE(c.flags & CSMP_CF_SESSION);
	EXPECT_FALSE(c.flags & CSMP_CF_SIG_NOT_LAST);
	/* SessionID "1" is shorter than a backend token. */
	EXPECT_FALSE(c.flags & CSMP_CF_BACKEND);
}

TEST(get_request)
{
	__u8 buf[] = { 0x40, 0x01, 0x00, 0x00, 0xb1, 0x63, 0x43, 0x71, 0x3d, 0x31 };
	struct csmp_class c;

	ASSERT_EQ(0, csmp_classify(buf, sizeof(buf), &c));
	EXPECT_EQ(CSMP_C_REQUEST, c.msg_class);
	EXPECT_EQ(0, c.n_tlvs);
}

TEST(tkl_over_8_is_erange)
{
	__u8 buf[] = { 0x49, 0x01, 0x00, 0x00, 1, 2, 3, 4, 5, 6, 7, 8, 9 };
	struct csmp_class c;

	EXPECT_EQ(-ERANGE, csmp_classify(buf, sizeof(buf), &c));
	EXPECT_EQ(CSMP_C_MALFORMED, c.msg_class);
	EXPECT_EQ(CSMP_R_COAP_TKL, c.reason);
}

TEST_HARNESS_MAIN
