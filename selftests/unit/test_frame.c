// SPDX-License-Identifier: GPL-2.0-only
/*
 * Captured frames down to UDP (userspace/lib/frame.c): every link type
 * csmpdump reads, IPv4 and IPv6 (extension headers, fragments), VLAN tags,
 * and the truncations, each with its reason.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include "kselftest_harness.h"
#include "testutil.h"

/* IPv6 2018::188 -> 2018::2, UDP 46790 -> 61628, payload "\x40\x01\x00\x00". */
static size_t ipv6_udp(uint8_t *p, uint8_t nh_first, int ext)
{
	size_t pos = 40;

	memset(p, 0, 80);
	p[0] = 0x60;
	p[6] = ext ? nh_first : IPPROTO_UDP;
	p[7] = 64;
	inet_pton(AF_INET6, "2018::188", p + 8);
	inet_pton(AF_INET6, "2018::2", p + 24);
	if (ext) {
		p[pos] = IPPROTO_UDP;	/* next header */
		p[pos + 1] = 0;		/* 8 bytes */
		pos += 8;
	}
	p[pos] = 46790 >> 8;
	p[pos + 1] = 46790 & 255;
	p[pos + 2] = 61628 >> 8;
	p[pos + 3] = 61628 & 255;
	p[pos + 5] = 12;
	memcpy(p + pos + 8, "\x40\x01\x00\x00", 4);
	p[5] = (uint8_t)(pos - 40 + 12);
	return pos + 12;
}

static size_t ipv4_udp(uint8_t *p, int opts)
{
	size_t ihl = opts ? 24 : 20;

	memset(p, 0, 64);
	p[0] = (uint8_t)(0x40 | ihl / 4);
	p[3] = (uint8_t)(ihl + 12);
	p[8] = 64;
	p[9] = IPPROTO_UDP;
	inet_pton(AF_INET, "10.0.0.1", p + 12);
	inet_pton(AF_INET, "10.0.0.2", p + 16);
	p[ihl] = 61628 >> 8;
	p[ihl + 1] = 61628 & 255;
	p[ihl + 2] = 61624 >> 8;
	p[ihl + 3] = 61624 & 255;
	p[ihl + 5] = 12;
	memcpy(p + ihl + 8, "\x50\x02\x00\x01", 4);
	return ihl + 12;
}

TEST(ethernet_vlan_ipv6_ext_header)
{
	uint8_t f[128];
	struct csmp_frame fr;
	char s[64];
	size_t n;

	memset(f, 0, 12);
	memcpy(f + 12, "\x81\x00\x00\x2a\x88\xa8\x00\x07\x86\xdd", 10);
	n = 22 + ipv6_udp(f + 22, IPPROTO_DSTOPTS, 1);
	ASSERT_EQ(0, csmp_frame_parse(CSMP_DLT_EN10MB, f, n, &fr));
	EXPECT_EQ(AF_INET6, fr.family);
	EXPECT_EQ(42, fr.vlan);
	EXPECT_EQ(46790, fr.sport);
	EXPECT_EQ(61628, fr.dport);
	EXPECT_EQ(4u, fr.len);
	EXPECT_EQ(0, memcmp(fr.payload, "\x40\x01\x00\x00", 4));
	EXPECT_TRUE(csmp_frame_is_csmp(&fr));
	EXPECT_STREQ("[2018::188]:46790", csmp_frame_addr_str(&fr, 0, s,
							       sizeof(s)));
	EXPECT_STREQ("[2018::2]:61628", csmp_frame_addr_str(&fr, 1, s,
							     sizeof(s)));

	/* A third tag is more than we walk. */
	memcpy(f + 12, "\x81\x00\x00\x2a\x81\x00\x00\x07\x81\x00", 10);
	EXPECT_EQ(-EBADMSG, csmp_frame_parse(CSMP_DLT_EN10MB, f, n, &fr));
	EXPECT_EQ((unsigned int)CSMP_R_VLAN, fr.reason);
}

TEST(linux_cooked_and_raw_ipv4_with_options)
{
	uint8_t f[128];
	struct csmp_frame fr;
	char s[64];
	size_t n;

	memset(f, 0, 16);
	f[14] = 0x08;
	n = 16 + ipv4_udp(f + 16, 1);
	ASSERT_EQ(0, csmp_frame_parse(CSMP_DLT_LINUX_SLL, f, n, &fr));
	EXPECT_EQ(AF_INET, fr.family);
	EXPECT_STREQ("10.0.0.1:61628", csmp_frame_addr_str(&fr, 0, s,
							    sizeof(s)));
	EXPECT_EQ(0, memcmp(fr.payload, "\x50\x02\x00\x01", 4));

	memset(f, 0, 20);
	f[0] = 0x86;
	f[1] = 0xdd;
	n = 20 + ipv6_udp(f + 20, 0, 0);
	ASSERT_EQ(0, csmp_frame_parse(CSMP_DLT_LINUX_SLL2, f, n, &fr));
	EXPECT_EQ(AF_INET6, fr.family);

	n = ipv4_udp(f, 0);
	ASSERT_EQ(0, csmp_frame_parse(CSMP_DLT_RAW, f, n, &fr));
	ASSERT_EQ(0, csmp_frame_parse(CSMP_LINKTYPE_RAW, f, n, &fr));
	EXPECT_EQ(61624, fr.dport);
	EXPECT_EQ(-EPROTONOSUPPORT, csmp_frame_parse(147, f, n, &fr));
}

TEST(fragments_truncations_and_other_protocols)
{
	uint8_t f[128];
	struct csmp_frame fr;
	size_t n;

	n = ipv6_udp(f, IPPROTO_FRAGMENT, 1);
	EXPECT_EQ(-EAGAIN, csmp_frame_parse(CSMP_DLT_RAW, f, n, &fr));
	EXPECT_EQ((unsigned int)CSMP_R_FRAGMENT, fr.reason);

	n = ipv4_udp(f, 0);
	f[6] = 0x20;	/* MF */
	EXPECT_EQ(-EAGAIN, csmp_frame_parse(CSMP_DLT_RAW, f, n, &fr));
	f[6] = 0;
	f[9] = IPPROTO_TCP;
	EXPECT_EQ(-ENOENT, csmp_frame_parse(CSMP_DLT_RAW, f, n, &fr));
	EXPECT_EQ((unsigned int)CSMP_R_NOT_CSMP, fr.reason);
	f[9] = IPPROTO_UDP;
	EXPECT_EQ(-EBADMSG, csmp_frame_parse(CSMP_DLT_RAW, f, 19, &fr));
	EXPECT_EQ((unsigned int)CSMP_R_L3_TRUNC, fr.reason);
	EXPECT_EQ(-EBADMSG, csmp_frame_parse(CSMP_DLT_RAW, f, 25, &fr));
	EXPECT_EQ((unsigned int)CSMP_R_UDP_TRUNC, fr.reason);

	/* Captured short of the UDP length: what is there, flagged. */
	ASSERT_EQ(0, csmp_frame_parse(CSMP_DLT_RAW, f, n - 2, &fr));
	EXPECT_EQ(1, fr.truncated);
	EXPECT_EQ(2u, fr.len);
	EXPECT_EQ(4u, fr.udp_len);

	/* UDP length below its header. */
	f[25] = 4;
	EXPECT_EQ(-EBADMSG, csmp_frame_parse(CSMP_DLT_RAW, f, n, &fr));
	EXPECT_EQ((unsigned int)CSMP_R_UDP_LEN, fr.reason);

	/* Extension header running past the end. */
	n = ipv6_udp(f, IPPROTO_HOPOPTS, 1);
	f[41] = 20;
	EXPECT_EQ(-EBADMSG, csmp_frame_parse(CSMP_DLT_RAW, f, n, &fr));
	EXPECT_EQ((unsigned int)CSMP_R_IPV6_EXTHDR, fr.reason);

	memset(f, 0, 14);
	EXPECT_EQ(-EBADMSG, csmp_frame_parse(CSMP_DLT_EN10MB, f, 13, &fr));
	EXPECT_EQ((unsigned int)CSMP_R_L2_TRUNC, fr.reason);
	f[12] = 0x08;
	f[13] = 0x06;	/* ARP */
	EXPECT_EQ(-ENOENT, csmp_frame_parse(CSMP_DLT_EN10MB, f, 60, &fr));
}

TEST_HARNESS_MAIN
