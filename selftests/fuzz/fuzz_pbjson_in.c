// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target for the TLV-from-JSON reader (userspace/lib/pbjson_in.c,
 * what csmpctl request's "post" goes through): the input is parsed as JSON
 * and, when it is JSON, turned into TLVs. Whatever it returns, the bytes
 * written must stay in the buffer, a success must write TLVs that walk
 * cleanly (as many as it counted), and a refusal must say why.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "arena.h"
#include "csmp.h"
#include "pbjson_in.h"
#include "tlvmsg.h"

#define CHECK(c) do { if (!(c)) abort(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t len);

int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t len)
{
	static uint8_t out[2048], abuf[64 << 10];
	struct csmp_tlv_iter it;
	struct csmp_arena a;
	struct csmp_tlvw w;
	struct csmp_tlv t;
	char err[256] = "";
	json_t *j;
	int n, r, count = 0;

	j = json_loadb((const char *)buf, len, JSON_DECODE_ANY, NULL);
	if (!j)
		return 0;
	csmp_arena_init(&a, abuf, sizeof(abuf));
	csmp_tlvw_init(&w, out, sizeof(out), 0);
	n = csmp_tlvs_from_json(&w, &a, j, err, sizeof(err));
	json_decref(j);
	CHECK(w.len <= sizeof(out));
	if (n < 0) {
		CHECK(err[0]);
		return 0;
	}
	csmp_tlv_init(&it, out, (uint32_t)w.len);
	while ((r = csmp_tlv_next(&it, &t)) > 0)
		count++;
	CHECK(r == 0);
	CHECK(count == n);
	return 0;
}
