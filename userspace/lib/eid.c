// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * EID text form and the EUI-64 <-> modified EUI-64 interface identifier
 * mapping (see eid.h). Parsing reuses the shared csmp_eid_from_hex() so the
 * kernel, the BPF fallback and userspace accept exactly the same strings.
 */
#include <errno.h>
#include <string.h>
#include "csmp.h"

int csmp_eid_parse_n(const char *s, size_t len, uint64_t *eid)
{
	__u64 v;

	if (!s || len != CSMP_EID_HEX_LEN)
		return -EINVAL;
	if (csmp_eid_from_hex((const __u8 *)s, (__u32)len, &v))
		return -EINVAL;
	*eid = v;
	return 0;
}

int csmp_eid_parse(const char *s, uint64_t *eid)
{
	return s ? csmp_eid_parse_n(s, strlen(s), eid) : -EINVAL;
}

char *csmp_eid_format(uint64_t eid, char *out)
{
	static const char hex[] = "0123456789ABCDEF";
	int i;

	for (i = 0; i < CSMP_EID_HEX_LEN; i++)
		out[i] = hex[(eid >> (60 - 4 * i)) & 15];
	out[CSMP_EID_HEX_LEN] = '\0';
	return out;
}

void csmp_eid_to_bytes(uint64_t eid, uint8_t out[8])
{
	int i;

	for (i = 0; i < 8; i++)
		out[i] = (uint8_t)(eid >> (56 - 8 * i));
}

uint64_t csmp_eid_from_bytes(const uint8_t in[8])
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | in[i];
	return v;
}

void csmp_eid_to_iid(uint64_t eid, uint8_t iid[8])
{
	csmp_eid_to_bytes(eid, iid);
	iid[0] ^= 0x02;
}

uint64_t csmp_iid_to_eid(const uint8_t iid[8])
{
	return csmp_eid_from_bytes(iid) ^ ((uint64_t)0x02 << 56);
}

uint64_t csmp_in6_to_eid(const uint8_t addr[16])
{
	return csmp_iid_to_eid(addr + 8);
}
