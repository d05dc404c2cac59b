/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Firmware images as FND and OpenCSMP devices take them (csmp-firmware.md,
 * "Image"): a 256-byte little-endian TPD header, the image, and an optional
 * vendor signature nobody checks. The device never checks the header, its
 * CRC or the hash it is sent, so everything a head-end must refuse is
 * refused here, each with its own -errno and a sentence saying why:
 *
 *   -ENODATA          shorter than the header, or than app_len says
 *   -EPROTONOSUPPORT  hdr_version is not 2
 *   -EBADMSG          hdr_len is not 256, app_len below it, build 0,
 *                     or the hwid or name empty
 *   -EILSEQ           the header CRC-32 does not match
 *   -EFBIG            larger than the limit the caller gives
 *
 * fileHash, what TransferRequest, ImageBlock and LoadRequest carry, is the
 * SHA-256 of the whole file.
 */
#ifndef LIBCSMP_FWIMAGE_H
#define LIBCSMP_FWIMAGE_H

#include <stddef.h>
#include <stdint.h>

#define CSMP_FW_HDR_LEN		256
#define CSMP_FW_HDR_VERSION	2
#define CSMP_FW_CRC_OFF		252
#define CSMP_FW_HASH_LEN	32
/*
 * The largest file any device can describe: 1024 blocks (the progress
 * bitmap has 1024 bits) of at most 1024 bytes.
 */
#define CSMP_FW_MAX_SIZE	(1024u * 1024u)

struct csmp_fw_image {
	uint32_t major, minor, build;
	uint32_t app_len;		/* header + image bytes */
	uint32_t git_flag;
	uint32_t crc;			/* the header's, checked */
	size_t size;			/* the whole file */
	char name[33];			/* header strings, NUL-terminated */
	char branch[33];
	char commit[9];
	char date[17];
	char hwid[33];
	char sub_hwid[33];
	char kernel_rev[17];
	char version[40];		/* "major.minor.build" */
	uint8_t hash[CSMP_FW_HASH_LEN];	/* SHA-256 of the whole file */
};

/* CRC-32 of the header: poly 0x04C11DB7, MSB first, init 0, no final XOR. */
uint32_t csmp_fw_crc32(const uint8_t *p, size_t len);

/*
 * Check a whole image file in memory and fill *img. max is the largest
 * size accepted (0: CSMP_FW_MAX_SIZE). On failure, why (when not NULL)
 * holds the reason as a sentence.
 */
int csmp_fw_parse(const uint8_t *buf, size_t len, size_t max,
		  struct csmp_fw_image *img, char *why, size_t why_len);

/*
 * Read PATH (at most max bytes, as above) and check it; *data is the file
 * (free() it) when data is not NULL.
 */
int csmp_fw_load(const char *path, size_t max, struct csmp_fw_image *img,
		 uint8_t **data, char *why, size_t why_len);

/* 64 lower-case hex digits + NUL. */
#define CSMP_FW_HASH_STRLEN	(2 * CSMP_FW_HASH_LEN + 1)
char *csmp_fw_hash_hex(const uint8_t *hash, char *out);
/* Parse 64 hex digits (either case); -EINVAL otherwise. */
int csmp_fw_hash_parse(const char *s, uint8_t *hash);

#endif /* LIBCSMP_FWIMAGE_H */
