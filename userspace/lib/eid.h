/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Device identity. The EID is the device's EUI-64 as a 64-bit number; its
 * text form is 16 hex digits (the agent writes upper case, e.g.
 * "0A0027FFFE3B2AB2"; either case is accepted). An IPv6 interface id
 * derived from it is the modified EUI-64: the same bytes with the 0x02 bit
 * of the first one flipped (RFC 4291 App. A).
 */
#ifndef LIBCSMP_EID_H
#define LIBCSMP_EID_H

#include <stddef.h>
#include <stdint.h>

#define CSMP_EID_STRLEN	(16 + 1)

/* Exactly 16 hex digits, NUL-terminated. 0 or -EINVAL. */
int csmp_eid_parse(const char *s, uint64_t *eid);
/* Same from a counted string (a protobuf field). */
int csmp_eid_parse_n(const char *s, size_t len, uint64_t *eid);
/* Upper-case 16 hex digits + NUL into out[CSMP_EID_STRLEN]. */
char *csmp_eid_format(uint64_t eid, char *out);

/* EID <-> 8 bytes, network order. */
void csmp_eid_to_bytes(uint64_t eid, uint8_t out[8]);
uint64_t csmp_eid_from_bytes(const uint8_t in[8]);

/* EID -> modified EUI-64 interface identifier (bytes 8..15 of an address). */
void csmp_eid_to_iid(uint64_t eid, uint8_t iid[8]);
/* Interface identifier -> EID (the inverse flip). */
uint64_t csmp_iid_to_eid(const uint8_t iid[8]);
/* EID of an IPv6 address's interface identifier (bytes 8..15). */
uint64_t csmp_in6_to_eid(const uint8_t addr[16]);

#endif /* LIBCSMP_EID_H */
