/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * A bounded single-producer single-consumer ring of fixed-size slots, the
 * hand-off between a worker and one of csmpd's background threads (the
 * registry writer, the event writer). A worker never waits on it: when the
 * ring is full, reserve() returns NULL and the caller decides what that
 * costs (a registration goes unanswered, a report's persistence is counted
 * as dropped). Producer and consumer indices live on their own cache lines.
 */
#ifndef CSMPD_RING_H
#define CSMPD_RING_H

#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#define CSMP_CACHELINE 64

struct csmp_spsc {
	_Alignas(CSMP_CACHELINE) _Atomic uint64_t head;	/* written by producer */
	uint64_t tail_cache;				/* producer's view */
	_Alignas(CSMP_CACHELINE) _Atomic uint64_t tail;	/* written by consumer */
	_Alignas(CSMP_CACHELINE) uint32_t mask;
	uint32_t slot_size;
	unsigned char *slots;
};

/* slots must be a power of two. Returns 0 or -errno. */
static inline int csmp_spsc_init(struct csmp_spsc *r, uint32_t slots,
				 uint32_t slot_size)
{
	if (!slots || (slots & (slots - 1)))
		return -EINVAL;
	r->slots = calloc(slots, slot_size);
	if (!r->slots)
		return -ENOMEM;
	atomic_init(&r->head, 0);
	atomic_init(&r->tail, 0);
	r->tail_cache = 0;
	r->mask = slots - 1;
	r->slot_size = slot_size;
	return 0;
}

static inline void csmp_spsc_fini(struct csmp_spsc *r)
{
	if (!r)
		return;
	free(r->slots);
	r->slots = NULL;
}

/* Producer: the next free slot, or NULL when the ring is full. */
static inline void *csmp_spsc_reserve(struct csmp_spsc *r)
{
	uint64_t h = atomic_load_explicit(&r->head, memory_order_relaxed);

	if (h - r->tail_cache > r->mask) {
		r->tail_cache = atomic_load_explicit(&r->tail,
						     memory_order_acquire);
		if (h - r->tail_cache > r->mask)
			return NULL;
	}
	return r->slots + (size_t)(h & r->mask) * r->slot_size;
}

/* Producer: publish the slot reserve() returned. Returns its sequence. */
static inline uint64_t csmp_spsc_push(struct csmp_spsc *r)
{
	uint64_t h = atomic_load_explicit(&r->head, memory_order_relaxed);

	atomic_store_explicit(&r->head, h + 1, memory_order_release);
	return h + 1;
}

/* Consumer: the oldest published slot, or NULL when empty. */
static inline void *csmp_spsc_peek(struct csmp_spsc *r)
{
	uint64_t t = atomic_load_explicit(&r->tail, memory_order_relaxed);

	if (t == atomic_load_explicit(&r->head, memory_order_acquire))
		return NULL;
	return r->slots + (size_t)(t & r->mask) * r->slot_size;
}

/* Consumer: give the slot peek() returned back to the producer. */
static inline void csmp_spsc_pop(struct csmp_spsc *r)
{
	uint64_t t = atomic_load_explicit(&r->tail, memory_order_relaxed);

	atomic_store_explicit(&r->tail, t + 1, memory_order_release);
}

/*
 * Consumer: the i-th published slot after the oldest (peek_at(r, 0) is
 * peek()), or NULL when fewer are published. With pop_n() it lets a
 * consumer read ahead and free slots only once it is done with them (the
 * registry writer keeps a transaction's records until it has committed,
 * so a failed commit can be retried from the same slots).
 */
static inline void *csmp_spsc_peek_at(struct csmp_spsc *r, uint64_t i)
{
	uint64_t t = atomic_load_explicit(&r->tail, memory_order_relaxed);

	if (atomic_load_explicit(&r->head, memory_order_acquire) - t <= i)
		return NULL;
	return r->slots + (size_t)((t + i) & r->mask) * r->slot_size;
}

/* Consumer: give the n oldest slots back to the producer. */
static inline void csmp_spsc_pop_n(struct csmp_spsc *r, uint64_t n)
{
	uint64_t t = atomic_load_explicit(&r->tail, memory_order_relaxed);

	atomic_store_explicit(&r->tail, t + n, memory_order_release);
}

/* Either side: slots in use (a gauge for queue depth). */
static inline uint64_t csmp_spsc_depth(struct csmp_spsc *r)
{
	return atomic_load_explicit(&r->head, memory_order_relaxed) -
	       atomic_load_explicit(&r->tail, memory_order_relaxed);
}

#endif /* CSMPD_RING_H */
