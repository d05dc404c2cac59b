/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The reverse of pbjson.h: CSMP TLVs from JSON, driven by the same
 * protobuf-c descriptors, for what an operator POSTs to a device
 * (csmp-request --post, csmpd's control "request" command). A value reads
 * back as pbjson prints it: field names in lowerCamelCase (snake_case is
 * accepted too), integers as JSON numbers, bools as true/false, bytes as
 * hex strings, enums as numbers, nested messages as objects, repeated
 * fields as arrays. Every field given is marked present, so a zero is
 * written (the agent tests presence). Unknown fields, wrong types and
 * out-of-range numbers are refused with the field's path in the message.
 */
#ifndef LIBCSMP_PBJSON_IN_H
#define LIBCSMP_PBJSON_IN_H

#include <jansson.h>
#include <stddef.h>
#include <protobuf-c/protobuf-c.h>

struct csmp_arena;
struct csmp_tlvw;

/*
 * Build message `desc` from JSON object j in the arena. Returns 0 and
 * *out, or -EINVAL (a message in err), -ENOMEM (arena exhausted).
 */
int csmp_pb_from_json(struct csmp_arena *a,
		      const ProtobufCMessageDescriptor *desc, const json_t *j,
		      ProtobufCMessage **out, char *err, size_t errlen);

/*
 * Append the TLVs described by j to w: an object {"<id or name>": value}
 * (one TLV per member, in order; an array value means one TLV per element,
 * for table TLVs), or an array of such objects. Ids 76/77 are refused: the
 * signature is the sender's to add. Returns the number of TLVs written or
 * -errno with a message in err.
 */
int csmp_tlvs_from_json(struct csmp_tlvw *w, struct csmp_arena *a,
			const json_t *j, char *err, size_t errlen);

#endif /* LIBCSMP_PBJSON_IN_H */
