// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * Firmware image checks (fwimage.h): the TPD header's fields, its CRC and
 * the file's SHA-256. The CRC is not zlib's: the TPD format takes the
 * polynomial MSB first with initial value 0 and no final XOR, where zlib's
 * crc32() is the reflected form with both inversions.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <openssl/evp.h>

#include "csmp/tlv.h"
#include "fwimage.h"

static uint32_t crc_table[256];

static void crc_table_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i << 24;

		for (int k = 0; k < 8; k++)
			c = c & 0x80000000u ? (c << 1) ^ 0x04C11DB7u : c << 1;
		crc_table[i] = c;
	}
}

uint32_t csmp_fw_crc32(const uint8_t *p, size_t len)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	uint32_t c = 0;

	pthread_once(&once, crc_table_init);
	for (size_t i = 0; i < len; i++)
		c = (c << 8) ^ crc_table[(c >> 24) ^ p[i]];
	return c;
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

/* A NUL-padded header string; a field filled to its end has no NUL. */
static void hdr_str(char *out, const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n && p[i]; i++)
		out[i] = (char)p[i];
	out[i] = 0;
}

static int refuse(int err, char *why, size_t why_len, const char *fmt, ...)
{
	va_list ap;

	if (why && why_len) {
		va_start(ap, fmt);
		vsnprintf(why, why_len, fmt, ap);
		va_end(ap);
	}
	return err;
}

int csmp_fw_parse(const uint8_t *buf, size_t len, size_t max,
		  struct csmp_fw_image *img, char *why, size_t why_len)
{
	uint32_t v, crc;

	if (!max)
		max = CSMP_FW_MAX_SIZE;
	memset(img, 0, sizeof(*img));
	if (len > max)
		return refuse(-EFBIG, why, why_len, "image is %zu bytes, more "
			      "than the %zu a device can take", len, max);
	if (len < CSMP_FW_HDR_LEN)
		return refuse(-ENODATA, why, why_len, "truncated: %zu bytes, "
			      "shorter than the %u-byte header", len,
			      CSMP_FW_HDR_LEN);
	v = le32(buf + 0);
	if (v != CSMP_FW_HDR_VERSION)
		return refuse(-EPROTONOSUPPORT, why, why_len, "header version "
			      "%u, not %u", v, CSMP_FW_HDR_VERSION);
	v = le32(buf + 4);
	if (v != CSMP_FW_HDR_LEN)
		return refuse(-EBADMSG, why, why_len, "header length %u, not "
			      "%u", v, CSMP_FW_HDR_LEN);
	crc = csmp_fw_crc32(buf, CSMP_FW_CRC_OFF);
	v = le32(buf + CSMP_FW_CRC_OFF);
	if (v != crc)
		return refuse(-EILSEQ, why, why_len, "header CRC-32 is 0x%08x, "
			      "the header's bytes give 0x%08x", v, crc);
	img->major = le32(buf + 8);
	img->minor = le32(buf + 12);
	img->build = le32(buf + 16);
	img->app_len = le32(buf + 20);
	img->git_flag = le32(buf + 96);
	img->crc = crc;
	if (!img->build)
		return refuse(-EBADMSG, why, why_len, "build number is 0 (the "
			      "format requires it non-zero)");
	if (img->app_len < CSMP_FW_HDR_LEN)
		return refuse(-EBADMSG, why, why_len, "app_len %u is shorter "
			      "than the header", img->app_len);
	if (img->app_len > len)
		return refuse(-ENODATA, why, why_len, "truncated: %zu bytes, "
			      "the header's app_len says %u", len, img->app_len);
	hdr_str(img->name, buf + 24, 32);
	hdr_str(img->branch, buf + 56, 32);
	hdr_str(img->commit, buf + 88, 8);
	hdr_str(img->date, buf + 100, 16);
	hdr_str(img->hwid, buf + 116, 32);
	hdr_str(img->sub_hwid, buf + 148, 32);
	hdr_str(img->kernel_rev, buf + 180, 16);
	/* Campaigns match hwid against the device type; TransferRequest
	 * sends it and the name. */
	if (!img->hwid[0])
		return refuse(-EBADMSG, why, why_len, "the header's hwid is "
			      "empty");
	if (!img->name[0])
		return refuse(-EBADMSG, why, why_len, "the header's name is "
			      "empty");
	snprintf(img->version, sizeof(img->version), "%u.%u.%u", img->major,
		 img->minor, img->build);
	img->size = len;
	if (!EVP_Digest(buf, len, img->hash, NULL, EVP_sha256(), NULL))
		return refuse(-ENOMEM, why, why_len, "SHA-256 failed");
	return 0;
}

int csmp_fw_load(const char *path, size_t max, struct csmp_fw_image *img,
		 uint8_t **data, char *why, size_t why_len)
{
	uint8_t *buf = NULL;
	struct stat st;
	size_t got = 0;
	int fd, err;

	if (!max)
		max = CSMP_FW_MAX_SIZE;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return refuse(-errno, why, why_len, "%s", strerror(errno));
	if (fstat(fd, &st)) {
		err = refuse(-errno, why, why_len, "%s", strerror(errno));
		goto err_close;
	}
	if (!S_ISREG(st.st_mode)) {
		err = refuse(-EINVAL, why, why_len, "not a regular file");
		goto err_close;
	}
	/* Refuse before reading a file that is too large anyway. */
	if ((uint64_t)st.st_size > max) {
		err = refuse(-EFBIG, why, why_len, "image is %lld bytes, more "
			     "than the %zu a device can take",
			     (long long)st.st_size, max);
		goto err_close;
	}
	buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!buf) {
		err = refuse(-ENOMEM, why, why_len, "out of memory");
		goto err_close;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = refuse(-errno, why, why_len, "%s", strerror(errno));
			goto err_free;
		}
		if (!n)
			break;	/* shrank under us: check what we have */
		got += (size_t)n;
	}
	err = csmp_fw_parse(buf, got, max, img, why, why_len);
	if (err)
		goto err_free;
	close(fd);
	if (data)
		*data = buf;
	else
		free(buf);
	return 0;
err_free:
	free(buf);
err_close:
	close(fd);
	return err;
}

char *csmp_fw_hash_hex(const uint8_t *hash, char *out)
{
	static const char hx[] = "0123456789abcdef";

	for (int i = 0; i < CSMP_FW_HASH_LEN; i++) {
		out[2 * i] = hx[hash[i] >> 4];
		out[2 * i + 1] = hx[hash[i] & 15];
	}
	out[2 * CSMP_FW_HASH_LEN] = 0;
	return out;
}

int csmp_fw_hash_parse(const char *s, uint8_t *hash)
{
	uint8_t h[CSMP_FW_HASH_LEN];

	if (!s || strlen(s) != 2 * CSMP_FW_HASH_LEN)
		return -EINVAL;
	for (int i = 0; i < CSMP_FW_HASH_LEN; i++) {
		int hi = csmp_hexval((uint8_t)s[2 * i]);
		int lo = csmp_hexval((uint8_t)s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		h[i] = (uint8_t)(hi << 4 | lo);
	}
	memcpy(hash, h, sizeof(h));
	return 0;
}
