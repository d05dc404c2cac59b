// SPDX-License-Identifier: GPL-2.0-only
/*
 * Firmware image checks (userspace/lib/fwimage.c): the TPD header, its
 * CRC-32 (MSB first, init 0, no final XOR), the SHA-256 of the file, and
 * each refusal with its own -errno and reason.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "kselftest_harness.h"
#include "fwimage.h"

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static void seal(uint8_t *buf)
{
	put32(buf + CSMP_FW_CRC_OFF, csmp_fw_crc32(buf, CSMP_FW_CRC_OFF));
}

/* A valid image of len bytes: version 6.9.99, hwid OPENCSMP. */
static void make_image(uint8_t *buf, size_t len)
{
	memset(buf, 0, CSMP_FW_HDR_LEN);
	put32(buf + 0, 2);
	put32(buf + 4, 256);
	put32(buf + 8, 6);
	put32(buf + 12, 9);
	put32(buf + 16, 99);
	put32(buf + 20, (uint32_t)len);
	memcpy(buf + 24, "opencsmp-node", 13);
	memcpy(buf + 56, "gitBranch", 9);
	memcpy(buf + 88, "gitCommi", 8);	/* the field full: no NUL */
	put32(buf + 96, 1);
	memcpy(buf + 100, "Mar 15 2024", 11);
	memcpy(buf + 116, "OPENCSMP", 8);
	memcpy(buf + 180, "6.9", 3);
	for (size_t i = CSMP_FW_HDR_LEN; i < len; i++)
		buf[i] = (uint8_t)(i * 7 + 3);
	seal(buf);
}

TEST(crc_is_msb_first_init_zero_no_final_xor)
{
	/* CRC-32/POSIX's check value is 0x765E7680 after its final XOR. */
	EXPECT_EQ(0x765E7680u ^ 0xffffffffu,
		  csmp_fw_crc32((const uint8_t *)"123456789", 9));
	EXPECT_EQ(0u, csmp_fw_crc32((const uint8_t *)"", 0));
}

TEST(good_image_fields_and_hash)
{
	/* sha256 of make_image(24114): computed outside (python hashlib). */
	static const char want[] =
		"5a57a729196a5bba1c535b7211ec598e0e3409fa5eb125b76c08ceb6c7f6eab5";
	struct csmp_fw_image img;
	char why[160], hex[CSMP_FW_HASH_STRLEN];
	uint8_t *buf = malloc(24114);

	ASSERT_NE(NULL, buf);
	make_image(buf, 24114);
	ASSERT_EQ(0, csmp_fw_parse(buf, 24114, 30720, &img, why, sizeof(why)));
	EXPECT_STREQ("opencsmp-node", img.name);
	EXPECT_STREQ("6.9.99", img.version);
	EXPECT_STREQ("OPENCSMP", img.hwid);
	EXPECT_STREQ("gitCommi", img.commit);
	EXPECT_STREQ("Mar 15 2024", img.date);
	EXPECT_STREQ("6.9", img.kernel_rev);
	EXPECT_EQ(24114u, img.app_len);
	EXPECT_EQ(24114u, img.size);
	EXPECT_STREQ(want, csmp_fw_hash_hex(img.hash, hex));
	free(buf);
}

TEST(trailing_vendor_signature_is_part_of_the_file)
{
	struct csmp_fw_image a, b;
	uint8_t buf[1200];

	make_image(buf, 1000);
	ASSERT_EQ(0, csmp_fw_parse(buf, 1000, 0, &a, NULL, 0));
	/* app_len 1000, 200 bytes of signature after it: the hash covers
	 * the whole file, as fileHash does. */
	memset(buf + 1000, 0x5a, 200);
	ASSERT_EQ(0, csmp_fw_parse(buf, 1200, 0, &b, NULL, 0));
	EXPECT_EQ(1200u, b.size);
	EXPECT_NE(0, memcmp(a.hash, b.hash, CSMP_FW_HASH_LEN));
}

TEST(bad_header_refused)
{
	struct csmp_fw_image img;
	uint8_t buf[512];
	char why[160];

	make_image(buf, sizeof(buf));
	put32(buf + 0, 1);
	seal(buf);
	EXPECT_EQ(-EPROTONOSUPPORT, csmp_fw_parse(buf, sizeof(buf), 0, &img,
						  why, sizeof(why)));
	EXPECT_STREQ("header version 1, not 2", why);

	make_image(buf, sizeof(buf));
	put32(buf + 4, 128);
	seal(buf);
	EXPECT_EQ(-EBADMSG, csmp_fw_parse(buf, sizeof(buf), 0, &img, why,
					  sizeof(why)));
	EXPECT_STREQ("header length 128, not 256", why);

	make_image(buf, sizeof(buf));
	put32(buf + 16, 0);
	seal(buf);
	EXPECT_EQ(-EBADMSG, csmp_fw_parse(buf, sizeof(buf), 0, &img, why,
					  sizeof(why)));
	EXPECT_NE(NULL, strstr(why, "build number is 0"));

	make_image(buf, sizeof(buf));
	put32(buf + 20, 100);
	seal(buf);
	EXPECT_EQ(-EBADMSG, csmp_fw_parse(buf, sizeof(buf), 0, &img, why,
					  sizeof(why)));
	EXPECT_STREQ("app_len 100 is shorter than the header", why);

	make_image(buf, sizeof(buf));
	memset(buf + 116, 0, 32);
	seal(buf);
	EXPECT_EQ(-EBADMSG, csmp_fw_parse(buf, sizeof(buf), 0, &img, why,
					  sizeof(why)));
	EXPECT_STREQ("the header's hwid is empty", why);
}

TEST(bad_crc_refused)
{
	struct csmp_fw_image img;
	uint8_t buf[512];
	char why[160];

	make_image(buf, sizeof(buf));
	buf[30] ^= 0x20;	/* the name changed after sealing */
	EXPECT_EQ(-EILSEQ, csmp_fw_parse(buf, sizeof(buf), 0, &img, why,
					 sizeof(why)));
	EXPECT_NE(NULL, strstr(why, "header CRC-32 is 0x"));
	/* A change after the header is not the header CRC's business. */
	make_image(buf, sizeof(buf));
	buf[400] ^= 1;
	EXPECT_EQ(0, csmp_fw_parse(buf, sizeof(buf), 0, &img, NULL, 0));
}

TEST(truncated_refused)
{
	struct csmp_fw_image img;
	uint8_t buf[1000];
	char why[160];

	make_image(buf, sizeof(buf));
	EXPECT_EQ(-ENODATA, csmp_fw_parse(buf, 999, 0, &img, why, sizeof(why)));
	EXPECT_STREQ("truncated: 999 bytes, the header's app_len says 1000", why);
	EXPECT_EQ(-ENODATA, csmp_fw_parse(buf, 255, 0, &img, why, sizeof(why)));
	EXPECT_STREQ("truncated: 255 bytes, shorter than the 256-byte header", why);
	EXPECT_EQ(-ENODATA, csmp_fw_parse(buf, 0, 0, &img, why, sizeof(why)));
}

TEST(too_large_refused)
{
	struct csmp_fw_image img;
	char why[160], path[] = "/tmp/test_fwimage.XXXXXX";
	size_t big = CSMP_FW_MAX_SIZE + 1;
	uint8_t *buf = malloc(big);
	int fd;

	ASSERT_NE(NULL, buf);
	make_image(buf, 30721);
	EXPECT_EQ(-EFBIG, csmp_fw_parse(buf, 30721, 30720, &img, why, sizeof(why)));
	EXPECT_STREQ("image is 30721 bytes, more than the 30720 a device can take", why);
	make_image(buf, 30720);
	EXPECT_EQ(0, csmp_fw_parse(buf, 30720, 30720, &img, NULL, 0));
	make_image(buf, big);
	EXPECT_EQ(-EFBIG, csmp_fw_parse(buf, big, 0, &img, why, sizeof(why)));
	/* From a file: refused from its size, before reading it. */
	fd = mkstemp(path);
	ASSERT_LE(0, fd);
	ASSERT_EQ((ssize_t)big, write(fd, buf, big));
	close(fd);
	EXPECT_EQ(-EFBIG, csmp_fw_load(path, 0, &img, NULL, why, sizeof(why)));
	EXPECT_NE(NULL, strstr(why, "more than the 1048576"));
	unlink(path);
	free(buf);
}

TEST(load_reads_and_checks_a_file)
{
	char why[160], path[] = "/tmp/test_fwimage.XXXXXX";
	struct csmp_fw_image a, b;
	uint8_t buf[3000], *data = NULL;
	int fd;

	make_image(buf, sizeof(buf));
	fd = mkstemp(path);
	ASSERT_LE(0, fd);
	ASSERT_EQ((ssize_t)sizeof(buf), write(fd, buf, sizeof(buf)));
	close(fd);
	ASSERT_EQ(0, csmp_fw_load(path, 0, &a, &data, why, sizeof(why)));
	ASSERT_EQ(0, csmp_fw_parse(buf, sizeof(buf), 0, &b, NULL, 0));
	EXPECT_EQ(0, memcmp(a.hash, b.hash, CSMP_FW_HASH_LEN));
	EXPECT_EQ(0, memcmp(data, buf, sizeof(buf)));
	free(data);
	unlink(path);
	EXPECT_EQ(-ENOENT, csmp_fw_load(path, 0, &a, NULL, why, sizeof(why)));
	EXPECT_EQ(-EINVAL, csmp_fw_load("/tmp", 0, &a, NULL, why, sizeof(why)));
}

TEST(hash_hex_round_trip)
{
	uint8_t h[CSMP_FW_HASH_LEN], g[CSMP_FW_HASH_LEN];
	char hex[CSMP_FW_HASH_STRLEN];

	for (int i = 0; i < CSMP_FW_HASH_LEN; i++)
		h[i] = (uint8_t)(i * 37);
	csmp_fw_hash_hex(h, hex);
	ASSERT_EQ(0, csmp_fw_hash_parse(hex, g));
	EXPECT_EQ(0, memcmp(h, g, sizeof(h)));
	hex[5] = 'G';
	EXPECT_EQ(-EINVAL, csmp_fw_hash_parse(hex, g));
	EXPECT_EQ(-EINVAL, csmp_fw_hash_parse("abcd", g));
}

TEST_HARNESS_MAIN
