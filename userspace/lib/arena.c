// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The protobuf-c arena allocator (see arena.h). Alignment is 16 so that any
 * type protobuf-c places in a block (pointers, size_t, uint64_t, double) is
 * aligned whatever the order of allocations.
 */
#include <stdint.h>
#include "arena.h"

static void *arena_pb_alloc(void *data, size_t n)
{
	return csmp_arena_alloc(data, n);
}

static void arena_pb_free(void *data, void *p)
{
	/* Everything goes at once in csmp_arena_reset(). */
}

void csmp_arena_init(struct csmp_arena *a, void *buf, size_t cap)
{
	uintptr_t p = (uintptr_t)buf;
	size_t skip = (CSMP_ARENA_ALIGN - (p & (CSMP_ARENA_ALIGN - 1))) &
		      (CSMP_ARENA_ALIGN - 1);

	a->pb.alloc = arena_pb_alloc;
	a->pb.free = arena_pb_free;
	a->pb.allocator_data = a;
	if (!buf || cap < skip) {
		a->base = NULL;
		a->cap = 0;
	} else {
		a->base = (unsigned char *)buf + skip;
		a->cap = cap - skip;
	}
	a->used = 0;
	a->high = 0;
	a->failed = 0;
}

void csmp_arena_reset(struct csmp_arena *a)
{
	a->used = 0;
	a->failed = 0;
}

void *csmp_arena_alloc(struct csmp_arena *a, size_t n)
{
	size_t need;
	void *p;

	/* A 0-byte request gets the current position: a valid pointer that
	 * is never dereferenced, and costs no space. */
	need = (n + CSMP_ARENA_ALIGN - 1) & ~(size_t)(CSMP_ARENA_ALIGN - 1);
	if (need < n || need > a->cap - a->used) {
		a->failed++;
		return NULL;
	}
	p = a->base + a->used;
	a->used += need;
	if (a->used > a->high)
		a->high = a->used;
	return p;
}
