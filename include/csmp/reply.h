/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Reply-port blocks (ARCHITECTURE.md §2, steering key 1): how a datagram
 * from a device's CSMP port finds the head-end node, and inside it the
 * worker, that sent the request it answers. Each backend sends its
 * head-end-initiated requests from its own block of UDP source ports; the
 * LB's csmp_ports map holds, for every port of the LB's reply range, the
 * backend whose block contains it (csmp_reply_block_has), and csmpd splits
 * its block evenly between its workers (csmp_reply_worker_port), so the
 * destination port of an answer names the node and the worker with no
 * per-request state anywhere on the path.
 *
 * A block is [lo, hi], inclusive, host order. Worker w of n owns the
 * sub-range lo + w * per .. lo + (w + 1) * per - 1 with per = size / n
 * (ports past n * per are unused); it sends from the first port of its
 * sub-range, the others are reserved to it.
 *
 * Includes nothing; the includer provides __u16/__u32.
 */
#ifndef CSMP_REPLY_H
#define CSMP_REPLY_H

/* The LB's default reply range; csmpd's default block is its start. */
#define CSMP_REPLY_RANGE_LO	40000
#define CSMP_REPLY_RANGE_HI	49999
#define CSMP_REPLY_BLOCK_DEF_HI	40999

struct csmp_reply_block {
	__u16 lo;	/* first port, inclusive */
	__u16 hi;	/* last port, inclusive */
};
_Static_assert(sizeof(struct csmp_reply_block) == 4, "csmp_reply_block layout");

static inline __u32 csmp_reply_block_size(const struct csmp_reply_block *b)
{
	return b->hi >= b->lo && b->lo ? (__u32)b->hi - b->lo + 1 : 0;
}

/* 1 when port belongs to the block (the csmp_ports entry is its backend). */
static inline int csmp_reply_block_has(const struct csmp_reply_block *b,
				       __u32 port)
{
	return csmp_reply_block_size(b) && port >= b->lo && port <= b->hi;
}

/* Ports each of n workers owns (0: the block is too small for n). */
static inline __u32 csmp_reply_worker_span(const struct csmp_reply_block *b,
					   __u32 n_workers)
{
	return n_workers ? csmp_reply_block_size(b) / n_workers : 0;
}

/* The port worker w sends its requests from, or 0 when it has none. */
static inline __u16 csmp_reply_worker_port(const struct csmp_reply_block *b,
					   __u32 n_workers, __u32 w)
{
	__u32 per = csmp_reply_worker_span(b, n_workers);

	if (!per || w >= n_workers)
		return 0;
	return (__u16)(b->lo + w * per);
}

/* The worker whose sub-range holds port, or -1. */
static inline int csmp_reply_port_worker(const struct csmp_reply_block *b,
					 __u32 n_workers, __u32 port)
{
	__u32 per = csmp_reply_worker_span(b, n_workers), w;

	if (!per || !csmp_reply_block_has(b, port))
		return -1;
	w = (port - b->lo) / per;
	return w < n_workers ? (int)w : -1;
}

#endif /* CSMP_REPLY_H */
