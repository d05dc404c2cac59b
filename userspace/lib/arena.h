/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * A bump arena behind protobuf-c's ProtobufCAllocator. protobuf-c allocates
 * the message, every string, bytes field, sub-message and repeated array;
 * with the arena each of those is a pointer bump in a buffer the caller owns
 * (one per worker), free() is a no-op, and csmp_arena_reset() after each
 * message (or batch) takes it all back. Never call *_free_unpacked() on a
 * message decoded through the arena. The arena is bounded: a hostile TLV
 * that wants more fails with -ENOMEM instead of growing memory.
 */
#ifndef LIBCSMP_ARENA_H
#define LIBCSMP_ARENA_H

#include <stddef.h>
#include <protobuf-c/protobuf-c.h>

#define CSMP_ARENA_ALIGN	16

struct csmp_arena {
	ProtobufCAllocator pb;	/* pass &arena->pb to protobuf-c */
	unsigned char *base;
	size_t cap;
	size_t used;
	size_t high;		/* high-water mark since init */
	unsigned int failed;	/* allocations refused since the last reset */
};

/* Arena over buf[0..cap). buf is aligned up to CSMP_ARENA_ALIGN. */
void csmp_arena_init(struct csmp_arena *a, void *buf, size_t cap);
/* Forget every allocation (and the failure count); keeps the high mark. */
void csmp_arena_reset(struct csmp_arena *a);
/* n bytes, 16-byte aligned, or NULL (and a->failed++) when exhausted. */
void *csmp_arena_alloc(struct csmp_arena *a, size_t n);

static inline size_t csmp_arena_used(const struct csmp_arena *a)
{
	return a->used;
}

#endif /* LIBCSMP_ARENA_H */
