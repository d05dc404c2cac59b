// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The device policy (config.h): look-ups on a snapshot, its publication to
 * the workers with one pointer exchange and quiescent-state reclamation,
 * and its byte form for the config reader (reader.c).
 *
 * Publication: a worker announces, each time it reads the pointer, the
 * grace period it has seen, so a publisher knows when no worker can still
 * hold the snapshot it replaced. Where a worker opens and closes its read
 * bracket is the worker loop's business; this file only counts.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conf/config.h"

const char *csmp_sigpol_name(enum csmp_sigpol p)
{
	switch (p) {
	case CSMP_SIGPOL_OFF:
		return "off";
	case CSMP_SIGPOL_OPTIONAL:
		return "optional";
	case CSMP_SIGPOL_REQUIRED:
		return "required";
	}
	return "?";
}

void csmp_policy_free(struct csmp_policy *p)
{
	size_t i;

	if (!p)
		return;
	for (i = 0; i < p->n_groups; i++)
		free(p->groups[i].members);
	free(p->groups);
	free(p->allow);
	free(p);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

const struct csmp_group *csmp_policy_group(const struct csmp_policy *p,
					   uint64_t eid)
{
	size_t i, j;

	for (i = 0; i < p->n_groups; i++)
		for (j = 0; j < p->groups[i].n_members; j++) {
			const struct csmp_eid_match *m = &p->groups[i].members[j];

			if ((eid & m->mask) == m->value)
				return &p->groups[i];
		}
	return NULL;
}

bool csmp_policy_allowed(const struct csmp_policy *p, uint64_t eid)
{
	if (!p->allowlist)
		return true;
	if (p->n_allow && bsearch(&eid, p->allow, p->n_allow, sizeof(uint64_t), cmp_u64))
		return true;
	/* Listing a device in a group is enrolling it. */
	return csmp_policy_group(p, eid) != NULL;
}

enum csmp_sigpol csmp_policy_uplink(const struct csmp_policy *p, uint64_t eid)
{
	const struct csmp_group *g = csmp_policy_group(p, eid);

	return g ? g->uplink_sig : p->uplink_sig;
}

uint32_t csmp_policy_config_group(const struct csmp_policy *p, uint64_t eid)
{
	const struct csmp_group *g = csmp_policy_group(p, eid);

	return g && g->config_group ? g->config_group : p->config_group;
}

/* ---- byte form -------------------------------------------------------------
 *
 * Native byte order and layout: both ends are the same csmpd binary. The
 * header, the allow EIDs, then per group its fixed part and its members.
 */

#define PACK_MAGIC	0x43534d50u	/* "CSMP" */

struct pack_hdr {
	uint32_t magic;
	uint32_t allowlist;
	uint32_t uplink_sig;
	uint32_t config_group;
	uint32_t sig_skew;
	uint32_t n_groups;
	uint64_t n_allow;
};

struct pack_group {
	char name[CSMP_CONF_NAME_MAX];
	uint32_t config_group;
	uint32_t uplink_sig;
	uint64_t n_members;
};

int csmp_policy_pack(const struct csmp_policy *p, void **buf, size_t *len)
{
	struct pack_hdr h = {
		.magic = PACK_MAGIC, .allowlist = p->allowlist,
		.uplink_sig = p->uplink_sig, .config_group = p->config_group,
		.sig_skew = p->sig_skew, .n_groups = (uint32_t)p->n_groups,
		.n_allow = p->n_allow,
	};
	size_t n = sizeof(h) + p->n_allow * sizeof(uint64_t), i;
	char *b, *at;

	for (i = 0; i < p->n_groups; i++)
		n += sizeof(struct pack_group) +
		     p->groups[i].n_members * sizeof(struct csmp_eid_match);
	b = malloc(n);
	if (!b)
		return -ENOMEM;
	memcpy(b, &h, sizeof(h));
	at = b + sizeof(h);
	if (p->n_allow)
		memcpy(at, p->allow, p->n_allow * sizeof(uint64_t));
	at += p->n_allow * sizeof(uint64_t);
	for (i = 0; i < p->n_groups; i++) {
		const struct csmp_group *g = &p->groups[i];
		struct pack_group pg = {
			.config_group = g->config_group,
			.uplink_sig = g->uplink_sig, .n_members = g->n_members,
		};
		size_t ml = g->n_members * sizeof(*g->members);

		memcpy(pg.name, g->name, sizeof(pg.name));
		memcpy(at, &pg, sizeof(pg));
		at += sizeof(pg);
		if (ml)
			memcpy(at, g->members, ml);
		at += ml;
	}
	*buf = b;
	*len = n;
	return 0;
}

/* Take n bytes at *at of the len - *at left, or fail. */
static const char *take(const char *buf, size_t len, size_t *at, uint64_t n)
{
	const char *p = buf + *at;

	if (n > len - *at)
		return NULL;
	*at += n;
	return p;
}

int csmp_policy_unpack(const void *buf, size_t len, struct csmp_policy **out)
{
	const char *b = buf, *s;
	struct csmp_policy *p;
	struct pack_hdr h;
	size_t at = 0, i;
	int ret = -EINVAL;

	s = take(b, len, &at, sizeof(h));
	if (!s)
		return -EINVAL;
	memcpy(&h, s, sizeof(h));
	if (h.magic != PACK_MAGIC || h.uplink_sig > CSMP_SIGPOL_REQUIRED ||
	    h.n_allow > len / sizeof(uint64_t) ||
	    h.n_groups > len / sizeof(struct pack_group))
		return -EINVAL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->allowlist = h.allowlist;
	p->uplink_sig = (enum csmp_sigpol)h.uplink_sig;
	p->config_group = h.config_group;
	p->sig_skew = h.sig_skew;
	s = take(b, len, &at, h.n_allow * sizeof(uint64_t));
	if (!s)
		goto err_free;
	if (h.n_allow) {
		ret = -ENOMEM;
		p->allow = malloc(h.n_allow * sizeof(uint64_t));
		if (!p->allow)
			goto err_free;
		memcpy(p->allow, s, h.n_allow * sizeof(uint64_t));
		p->n_allow = h.n_allow;
	}
	ret = -ENOMEM;
	p->groups = calloc(h.n_groups ? h.n_groups : 1, sizeof(*p->groups));
	if (!p->groups)
		goto err_free;
	for (i = 0; i < h.n_groups; i++) {
		struct csmp_group *g = &p->groups[i];
		struct pack_group pg;

		ret = -EINVAL;
		s = take(b, len, &at, sizeof(pg));
		if (!s)
			goto err_free;
		memcpy(&pg, s, sizeof(pg));
		if (pg.uplink_sig > CSMP_SIGPOL_REQUIRED ||
		    pg.n_members > len / sizeof(*g->members) ||
		    memchr(pg.name, 0, sizeof(pg.name)) == NULL)
			goto err_free;
		p->n_groups++;
		memcpy(g->name, pg.name, sizeof(g->name));
		g->config_group = pg.config_group;
		g->uplink_sig = (enum csmp_sigpol)pg.uplink_sig;
		s = take(b, len, &at, pg.n_members * sizeof(*g->members));
		if (!s)
			goto err_free;
		if (pg.n_members) {
			ret = -ENOMEM;
			g->members = malloc(pg.n_members * sizeof(*g->members));
			if (!g->members)
				goto err_free;
			memcpy(g->members, s, pg.n_members * sizeof(*g->members));
			g->n_members = pg.n_members;
		}
	}
	ret = -EINVAL;
	if (at != len)
		goto err_free;
	*out = p;
	return 0;

err_free:
	csmp_policy_free(p);
	return ret;
}

/* ---- publication ------------------------------------------------------- */

#define GP_IDLE UINT64_MAX

int csmp_policy_ref_init(struct csmp_policy_ref *r, unsigned int n_readers,
			 struct csmp_policy *initial)
{
	unsigned int i;

	r->readers = aligned_alloc(64, sizeof(*r->readers) *
					   (n_readers ? n_readers : 1));
	if (!r->readers)
		return -ENOMEM;
	r->n_readers = n_readers;
	for (i = 0; i < n_readers; i++)
		atomic_init(&r->readers[i].seen, GP_IDLE);
	atomic_init(&r->gp, 1);
	initial->generation = 1;
	atomic_init(&r->cur, initial);
	return 0;
}

void csmp_policy_ref_fini(struct csmp_policy_ref *r)
{
	if (!r)
		return;
	csmp_policy_free(atomic_load(&r->cur));
	free(r->readers);
	r->readers = NULL;
}

struct csmp_policy *csmp_policy_get(struct csmp_policy_ref *r, unsigned int i)
{
	/* Announce first, then load: a publisher that swapped before our
	 * load waits for this reader's next announcement. */
	atomic_store(&r->readers[i].seen, atomic_load(&r->gp));
	return atomic_load(&r->cur);
}

void csmp_policy_idle(struct csmp_policy_ref *r, unsigned int i)
{
	atomic_store(&r->readers[i].seen, GP_IDLE);
}

int csmp_policy_publish(struct csmp_policy_ref *r, struct csmp_policy *p,
			unsigned int timeout_ms)
{
	struct csmp_policy *old;
	struct timespec t0, t;
	uint64_t gp;
	unsigned int i;

	p->generation = atomic_load(&r->gp) + 1;
	old = atomic_exchange(&r->cur, p);
	gp = atomic_fetch_add(&r->gp, 1) + 1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < r->n_readers;) {
		uint64_t s = atomic_load(&r->readers[i].seen);

		if (s >= gp) {
			i++;
			continue;
		}
		clock_gettime(CLOCK_MONOTONIC, &t);
		if ((t.tv_sec - t0.tv_sec) * 1000 +
		    (t.tv_nsec - t0.tv_nsec) / 1000000 >= (long)timeout_ms)
			return -ETIMEDOUT;	/* old is leaked on purpose */
		usleep(1000);
	}
	csmp_policy_free(old);
	return 0;
}
