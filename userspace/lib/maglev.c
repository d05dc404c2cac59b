// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * Maglev table construction (see maglev.h). Backends are sorted by id first
 * so that the same set in any order gives the same table on every host.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <linux/bpf.h>
#include <csmp/wire.h>
#include <csmp/lb.h>
#include "maglev.h"

struct mg_perm {
	uint16_t id;
	uint32_t weight;
	uint32_t offset;
	uint32_t skip;
	uint32_t next;		/* next index into the permutation */
	uint64_t credit;
};

static int mg_cmp(const void *a, const void *b)
{
	const struct mg_perm *x = a, *y = b;

	return (int)x->id - (int)y->id;
}

int csmp_maglev_build(uint64_t k0, uint64_t k1,
		      const struct csmp_maglev_backend *be, unsigned int n,
		      uint32_t *table)
{
	const uint32_t M = CSMP_MAGLEV_M;
	struct mg_perm *p;
	uint32_t filled = 0, wmax = 0;
	unsigned int i;

	memset(table, 0, sizeof(*table) * M);
	if (!n)
		return 0;
	p = calloc(n, sizeof(*p));
	if (!p)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		if (!be[i].id || be[i].id >= CSMP_LB_MAX_BACKENDS ||
		    !be[i].weight || be[i].weight > CSMP_MAGLEV_MAX_WEIGHT) {
			free(p);
			return -EINVAL;
		}
		p[i].id = be[i].id;
		p[i].weight = be[i].weight;
		p[i].offset = (uint32_t)(csmp_eid_siphash(k0, k1, be[i].id) % M);
		p[i].skip = (uint32_t)(csmp_eid_siphash(k1, k0, be[i].id) %
				       (M - 1)) + 1;
		if (be[i].weight > wmax)
			wmax = be[i].weight;
	}
	qsort(p, n, sizeof(*p), mg_cmp);
	for (i = 1; i < n; i++) {
		if (p[i].id == p[i - 1].id) {
			free(p);
			return -EINVAL;
		}
	}

	/*
	 * Each round every backend earns its weight in credit and claims one
	 * slot per wmax of credit: the max-weight backends claim one slot per
	 * round exactly as in unweighted Maglev, the others proportionally.
	 */
	while (filled < M) {
		for (i = 0; i < n && filled < M; i++) {
			p[i].credit += p[i].weight;
			while (p[i].credit >= wmax && filled < M) {
				uint32_t c;

				p[i].credit -= wmax;
				do {
					c = (uint32_t)((p[i].offset +
							(uint64_t)p[i].next *
								p[i].skip) % M);
					p[i].next++;
				} while (table[c]);
				table[c] = p[i].id;
				filled++;
			}
		}
	}
	free(p);
	return 0;
}

unsigned int csmp_maglev_moved(const uint32_t *a, const uint32_t *b)
{
	unsigned int i, moved = 0;

	for (i = 0; i < CSMP_MAGLEV_M; i++)
		moved += a[i] != b[i];
	return moved;
}

void csmp_maglev_count(const uint32_t *table, unsigned int *counts,
		       unsigned int n_counts)
{
	unsigned int i;

	memset(counts, 0, sizeof(*counts) * n_counts);
	for (i = 0; i < CSMP_MAGLEV_M; i++)
		if (table[i] < n_counts)
			counts[table[i]]++;
}
