/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * JSON of decoded CSMP messages, driven only by the protobuf-c descriptors:
 * field names in proto3 JSON's lowerCamelCase (ent_physical_descr ->
 * entPhysicalDescr), present fields only (a oneof-wrapped zero is present
 * and printed), bytes as lowercase hex, nested messages as objects,
 * repeated fields as arrays, unknown fields as "_unknown". Strings are
 * escaped; bytes that are not UTF-8 are printed as \u00XX.
 *
 * Output goes to a struct csmp_sb: a string builder over a caller buffer
 * that never allocates and records overflow (-ENOSPC) instead of failing
 * each call.
 */
#ifndef LIBCSMP_PBJSON_H
#define LIBCSMP_PBJSON_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <protobuf-c/protobuf-c.h>

struct csmp_arena;
struct csmp_tlv;

struct csmp_sb {
	char *buf;
	size_t cap;
	size_t len;
	int err;	/* -ENOSPC once something did not fit */
};

void csmp_sb_init(struct csmp_sb *sb, char *buf, size_t cap);
void csmp_sb_reset(struct csmp_sb *sb);
void csmp_sb_printf(struct csmp_sb *sb, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void csmp_sb_putc(struct csmp_sb *sb, char c);
void csmp_sb_puts(struct csmp_sb *sb, const char *s);
/* A JSON string literal, quotes included. */
void csmp_sb_json_str(struct csmp_sb *sb, const void *s, size_t len);
/* Lowercase hex, no quotes. */
void csmp_sb_hex(struct csmp_sb *sb, const void *p, size_t len);
/* The text (NUL-terminated even on overflow) or NULL after an overflow. */
static inline const char *csmp_sb_str(const struct csmp_sb *sb)
{
	return sb->err ? NULL : sb->buf;
}

/* The size of one element of a repeated field of this type (0: unknown). */
size_t csmp_pb_elem_size(ProtobufCType type);

/* One message as a JSON object. */
void csmp_pb_json(struct csmp_sb *sb, const ProtobufCMessage *m);

/*
 * One TLV's value as JSON: the decoded message, the agent's vendor form
 * as {"pen":..,"vtype":..,<VendorTlv fields>}, the draft's as
 * {"pen":..,"subTlvs":[{"type":..,"value":"hex"}]}, and a value without a
 * message (or one that does not parse) as {"raw":"hex"} (plus
 * "error":"<strerror>" for the latter). Returns what csmp_tlv_decode()
 * returned (0, -ENOENT, -EBADMSG, -ENOMEM); JSON is written in every case.
 */
int csmp_tlv_json(struct csmp_sb *sb, struct csmp_arena *a,
		  const uint8_t *payload, const struct csmp_tlv *t);
/*
 * The line csmp-request and csmpdump print for a TLV:
 * "[75/FirmwareImageInfo]: {json}" ("[127/Vendor e5771.127]: ..." for the
 * agent's vendor form). No newline. Returns as csmp_tlv_json().
 */
int csmp_tlv_line(struct csmp_sb *sb, struct csmp_arena *a,
		  const uint8_t *payload, const struct csmp_tlv *t);

#endif /* LIBCSMP_PBJSON_H */
