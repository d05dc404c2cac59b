// SPDX-License-Identifier: GPL-2.0-only
/* EID text form and the EUI-64 <-> modified EUI-64 interface identifier. */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include "kselftest_harness.h"
#include "csmp.h"

TEST(parse_and_format_upper_case)
{
	char s[CSMP_EID_STRLEN];
	uint64_t eid;

	ASSERT_EQ(0, csmp_eid_parse("0A0027FFFE3B2AB2", &eid));
	EXPECT_EQ(0x0a0027fffe3b2ab2ull, eid);
	ASSERT_EQ(0, csmp_eid_parse("0a0027fffe3b2ab2", &eid));
	EXPECT_EQ(0x0a0027fffe3b2ab2ull, eid);
	EXPECT_STREQ("0A0027FFFE3B2AB2", csmp_eid_format(eid, s));
	EXPECT_STREQ("0000000000000000", csmp_eid_format(0, s));
	EXPECT_STREQ("FFFFFFFFFFFFFFFF", csmp_eid_format(~0ull, s));
}

TEST(parse_refuses_anything_but_16_hex_digits)
{
	static const char *const bad[] = {
		"", "0A0027FFFE3B2AB", "0A0027FFFE3B2AB23", "0A0027FFFE3B2AG2",
		"0A0027FFFE3B2AB ", " A0027FFFE3B2AB2", "0x0027FFFE3B2AB2",
		"0A:00:27:FF:FE:3B",
	};
	uint64_t eid = 7;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		EXPECT_EQ(-EINVAL, csmp_eid_parse(bad[i], &eid));
		EXPECT_EQ(7u, eid);
	}
	EXPECT_EQ(-EINVAL, csmp_eid_parse(NULL, &eid));
	EXPECT_EQ(0, csmp_eid_parse_n("0A0027FFFE3B2AB2xyz", 16, &eid));
}

TEST(modified_eui64_flips_the_universal_bit)
{
	/* Wire facts §5: 0007810800E76FDA <-> ...:207:8108:e7:6fda. */
	uint8_t iid[8], addr[16];
	uint64_t eid;

	ASSERT_EQ(0, csmp_eid_parse("0007810800E76FDA", &eid));
	csmp_eid_to_iid(eid, iid);
	EXPECT_EQ(0, memcmp(iid, "\x02\x07\x81\x08\x00\xe7\x6f\xda", 8));
	EXPECT_EQ(eid, csmp_iid_to_eid(iid));
	ASSERT_EQ(1, inet_pton(AF_INET6, "fd00:abd:51:c000:207:8108:e7:6fda",
			       addr));
	EXPECT_EQ(eid, csmp_in6_to_eid(addr));
	/* A locally administered EUI-64 maps the other way. */
	csmp_eid_to_iid(0x0200000000000001ull, iid);
	EXPECT_EQ(0, iid[0]);
}

TEST(bytes_round_trip)
{
	uint8_t b[8];

	csmp_eid_to_bytes(0x0a0027fffe3b2ab2ull, b);
	EXPECT_EQ(0, memcmp(b, "\x0a\x00\x27\xff\xfe\x3b\x2a\xb2", 8));
	EXPECT_EQ(0x0a0027fffe3b2ab2ull, csmp_eid_from_bytes(b));
}

TEST_HARNESS_MAIN
