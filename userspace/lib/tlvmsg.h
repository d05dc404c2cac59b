/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * CSMP TLVs in userspace. Reading is csmp_tlv_next() from
 * include/csmp/tlv.h (no allocation; both vendor forms, padded lengths);
 * this adds lookup, the draft vendor SubTLVs, the TLV id -> protobuf message
 * table, decoding one value through an arena, and the writer.
 *
 * The writer packs protobuf-c messages straight into the caller's buffer
 * (no temporary). Lengths are minimal unless CSMP_TLVW_PAD asks for the
 * agent's form: always 2 bytes, `80|len 00` below 128 (values of 16384
 * bytes or more cannot be padded and are written minimally).
 */
#ifndef LIBCSMP_TLVMSG_H
#define LIBCSMP_TLVMSG_H

#include <stddef.h>
#include <stdint.h>
#include <protobuf-c/protobuf-c.h>

struct csmp_arena;

/* ---- reading ---- */

/* Pointer to a TLV's value within the payload it was read from. */
static inline const uint8_t *csmp_tlv_value(const uint8_t *payload,
					    const struct csmp_tlv *t)
{
	return payload + t->off;
}

/*
 * The last TLV of `type` in the payload ("last one wins"). Returns 0,
 * -ENOENT, or the walk's -errno (then *reason, if given, is set).
 */
int csmp_tlv_find(const uint8_t *payload, size_t len, uint32_t type,
		  struct csmp_tlv *t, unsigned int *reason);
/* Number of TLVs, or the walk's -errno. */
int csmp_tlv_count(const uint8_t *payload, size_t len, unsigned int *reason);

/* Draft-form vendor SubTLVs (SubType | Length | Value) within a value. */
struct csmp_subtlv_iter {
	const uint8_t *p;
	uint32_t len;
	uint32_t pos;
};

struct csmp_subtlv {
	uint32_t type;
	uint32_t off;	/* offset of the value within the vendor TLV value */
	uint32_t len;
};

void csmp_subtlv_init(struct csmp_subtlv_iter *it, const uint8_t *value,
		      size_t len);
/* 1 and the next SubTLV, 0 at the end, -EBADMSG when malformed. */
int csmp_subtlv_next(struct csmp_subtlv_iter *it, struct csmp_subtlv *s);

/* ---- the TLV id table ---- */

#define CSMP_TLVI_TABLE		0x01	/* one TLV per entry, may repeat */
#define CSMP_TLVI_SIG_EXEMPT	0x02	/* may travel unsigned (67, 8) */

struct csmp_tlv_info {
	uint32_t type;
	const char *name;	/* "FirmwareImageInfo" */
	const ProtobufCMessageDescriptor *desc; /* NULL: value not decoded */
	uint32_t flags;		/* CSMP_TLVI_* */
};

/* The entry for a TLV id, or NULL when the id is not one we know. */
const struct csmp_tlv_info *csmp_tlv_info(uint32_t type);
/* By name ("SessionID"), case-insensitive; NULL when unknown. */
const struct csmp_tlv_info *csmp_tlv_info_by_name(const char *name);
/* The name of a TLV id, "Unknown" when not in the table. */
const char *csmp_tlv_name(uint32_t type);
/* Iterate the table: entry i, NULL past the end. */
const struct csmp_tlv_info *csmp_tlv_info_at(size_t i);

/*
 * Unpack `len` bytes as message `desc` with the arena. Returns 0 and *out,
 * -ENOMEM when the arena is exhausted, -EBADMSG when the bytes do not parse
 * (reason CSMP_R_PB_MALFORMED).
 */
int csmp_pb_unpack(struct csmp_arena *a, const ProtobufCMessageDescriptor *desc,
		   const uint8_t *data, size_t len, ProtobufCMessage **out);
/*
 * Decode one TLV (as returned by csmp_tlv_next over `payload`) into its
 * message: the agent's vendor form as VendorTlv. -ENOENT when the type has
 * no message (unknown ids, the draft vendor form); otherwise as
 * csmp_pb_unpack().
 */
int csmp_tlv_decode(struct csmp_arena *a, const uint8_t *payload,
		    const struct csmp_tlv *t, ProtobufCMessage **out);

/*
 * Mark scalar field `num` of a message as present (sets its
 * <field>_present_case): proto3 writes it then even when it is zero.
 * Returns 0, -ENOENT (no such field) or -EINVAL (not in a oneof).
 */
int csmp_pb_set_present(ProtobufCMessage *m, uint32_t num);
/* 1 when field `num` is present (set oneof / non-empty repeated / non-NULL). */
int csmp_pb_has(const ProtobufCMessage *m, uint32_t num);

/* ---- writing ---- */

#define CSMP_TLVW_PAD		0x01	/* the agent's 2-byte lengths */

struct csmp_tlvw {
	uint8_t *buf;
	size_t cap;
	size_t len;
	unsigned int flags;	/* CSMP_TLVW_* */
	int err;		/* sticky: the first error */
};

void csmp_tlvw_init(struct csmp_tlvw *w, void *buf, size_t cap,
		    unsigned int flags);
/* A TLV whose value is message m. Returns 0 or -ENOSPC (sticky). */
int csmp_tlvw_put(struct csmp_tlvw *w, uint32_t type,
		  const ProtobufCMessage *m);
/* A TLV whose value is raw bytes. */
int csmp_tlvw_put_raw(struct csmp_tlvw *w, uint32_t type, const void *v,
		      size_t len);
/* Vendor TLV, the agent's form: 7F <pen> <vtype> <len> VendorTlv{...}. */
int csmp_tlvw_put_vendor_agent(struct csmp_tlvw *w, uint32_t pen,
			       uint32_t vtype, const Csmp__VendorTlv *v);
/*
 * Vendor TLV, the draft's form: 7F <len> { 01 <len> <pen varint> } then
 * one SubTLV per subs[i] (type >= 16, value bytes).
 */
struct csmp_subtlv_val {
	uint32_t type;
	const void *val;
	size_t len;
};
int csmp_tlvw_put_vendor_draft(struct csmp_tlvw *w, uint32_t pen,
			       const struct csmp_subtlv_val *subs, size_t n);
/* Bytes written, or the first error. */
static inline int csmp_tlvw_finish(const struct csmp_tlvw *w)
{
	return w->err ? w->err : (int)w->len;
}

/* Write a varint (1-5 bytes) into out; returns its length. */
size_t csmp_varint_put(uint8_t *out, uint32_t v);

#endif /* LIBCSMP_TLVMSG_H */
