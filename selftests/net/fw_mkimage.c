// SPDX-License-Identifier: GPL-2.0-only
/*
 * Writes a TPD firmware image for the firmware tests: a 256-byte header
 * (version 2, length 256, the version, name and hwid given, CRC-32 over
 * bytes 0..251) and SIZE - 256 bytes from a seeded PRNG, so two images of
 * one version differ only by --seed. --spoil breaks one thing after the
 * fact: "version" (header version 1, CRC recomputed), "crc" (a name byte
 * changed after sealing), "trunc" (the last byte cut, app_len kept).
 *
 *   fw_mkimage OUT --size N [--version A.B.C] [--name S] [--hwid S]
 *              [--seed N] [--spoil version|crc|trunc]
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fwimage.h"

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "size", required_argument, NULL, 's' },
		{ "version", required_argument, NULL, 'v' },
		{ "name", required_argument, NULL, 'n' },
		{ "hwid", required_argument, NULL, 'w' },
		{ "seed", required_argument, NULL, 'r' },
		{ "spoil", required_argument, NULL, 'x' },
		{ 0 },
	};
	const char *ver = "6.9.99", *name = "opencsmp-node", *hwid = "OPENCSMP";
	const char *spoil = "";
	unsigned int maj, min, build;
	uint32_t seed = 1, x;
	size_t size = 0, out;
	uint8_t *buf;
	FILE *f;
	int opt;

	while ((opt = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (opt) {
		case 's': size = strtoul(optarg, NULL, 0); break;
		case 'v': ver = optarg; break;
		case 'n': name = optarg; break;
		case 'w': hwid = optarg; break;
		case 'r': seed = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'x': spoil = optarg; break;
		default: return 2;
		}
	}
	if (optind + 1 != argc || size < CSMP_FW_HDR_LEN ||
	    sscanf(ver, "%u.%u.%u", &maj, &min, &build) != 3) {
		fprintf(stderr, "usage: fw_mkimage OUT --size N (>= 256) [--version A.B.C] ...\n");
		return 2;
	}
	buf = calloc(1, size);
	if (!buf)
		return 1;
	put32(buf + 0, CSMP_FW_HDR_VERSION);
	put32(buf + 4, CSMP_FW_HDR_LEN);
	put32(buf + 8, maj);
	put32(buf + 12, min);
	put32(buf + 16, build);
	put32(buf + 20, (uint32_t)size);
	strncpy((char *)buf + 24, name, 32);
	strncpy((char *)buf + 100, "Dec 04 2026", 16);
	strncpy((char *)buf + 116, hwid, 32);
	x = seed * 2654435761u | 1;
	for (size_t i = CSMP_FW_HDR_LEN; i < size; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		buf[i] = (uint8_t)x;
	}
	if (!strcmp(spoil, "version"))
		put32(buf, 1);
	put32(buf + CSMP_FW_CRC_OFF, csmp_fw_crc32(buf, CSMP_FW_CRC_OFF));
	if (!strcmp(spoil, "crc"))
		buf[24] ^= 0x20;
	out = !strcmp(spoil, "trunc") ? size - 1 : size;
	f = fopen(argv[optind], "wb");
	if (!f || fwrite(buf, 1, out, f) != out || fclose(f)) {
		perror(argv[optind]);
		return 1;
	}
	free(buf);
	return 0;
}
