/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The one Maglev table builder (Eisenbud et al., NSDI 2016) that csmpctl,
 * csmpd and the tests use, so every LB host computes the same table from
 * the same backend list and key. M = CSMP_MAGLEV_M slots; backend i's
 * permutation is offset = SipHash(k0,k1,id) % M, skip = SipHash(k1,k0,id) %
 * (M - 1) + 1; weights by credit (a backend claims one slot per round for
 * each max-weight of credit it has accumulated), so shares follow weights and
 * removing one of N equal backends moves about 1/N of the slots.
 */
#ifndef LIBCSMP_MAGLEV_H
#define LIBCSMP_MAGLEV_H

#include <stdint.h>
#include <linux/types.h>
#include <csmp/siphash.h>

struct csmp_maglev_backend {
	uint16_t id;		/* 1..CSMP_LB_MAX_BACKENDS-1 */
	uint32_t weight;	/* 1..CSMP_MAGLEV_MAX_WEIGHT */
};

/*
 * Fill table[CSMP_MAGLEV_M] with backend ids. The result depends only on
 * the key and the set of (id, weight), not on the order of `be`. n == 0
 * gives an all-zero table (no backend). Returns 0 or -EINVAL (duplicate
 * id, id 0, weight out of range) or -ENOMEM.
 */
int csmp_maglev_build(uint64_t k0, uint64_t k1,
		      const struct csmp_maglev_backend *be, unsigned int n,
		      uint32_t *table);

/* The slot of an EID and the backend the table gives it. */
static inline uint32_t csmp_maglev_lookup(const uint32_t *table, uint64_t k0,
					  uint64_t k1, uint64_t eid)
{
	return table[csmp_maglev_slot(k0, k1, eid)];
}

/* Number of slots whose backend differs between two tables. */
unsigned int csmp_maglev_moved(const uint32_t *a, const uint32_t *b);

/* Per-backend slot counts: counts[id] for id < n_counts. */
void csmp_maglev_count(const uint32_t *table, unsigned int *counts,
		       unsigned int n_counts);

#endif /* LIBCSMP_MAGLEV_H */
