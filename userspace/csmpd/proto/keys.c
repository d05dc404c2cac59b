// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * Enrolled device keys for uplink verification: one store, EID -> parsed
 * public key, filled at start from --device-keys and the registry and
 * later by `csmpctl enroll`; every worker reads it through a cache of its
 * own, so the per-datagram path takes the store's read lock only on a
 * miss. The store's generation tells a worker its cache is stale
 * (enrolment is rare: a change empties every cache).
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csmpd.h"
#include "eid.h"

#define KEYSTORE_MIN	64
#define KEYCACHE_SLOTS	4096

/* Open addressing, rwlock: only enrolment writes. */
struct csmpd_keys {
	pthread_rwlock_t lock;
	uint64_t *eids;
	struct csmp_key **keys;
	size_t cap, n;
	_Atomic uint64_t gen;		/* bumped on every change */
};

static size_t slot(const struct csmpd_keys *ks, uint64_t eid)
{
	size_t i = (size_t)((eid * 0x9e3779b97f4a7c15ull) >> 17) & (ks->cap - 1);

	while (ks->keys[i] && ks->eids[i] != eid)
		i = (i + 1) & (ks->cap - 1);
	return i;
}

int csmpd_keys_init(struct csmpd_daemon *d)
{
	struct csmpd_keys *ks = calloc(1, sizeof(*ks));

	if (!ks)
		return -ENOMEM;
	pthread_rwlock_init(&ks->lock, NULL);
	ks->cap = KEYSTORE_MIN;
	ks->eids = calloc(ks->cap, sizeof(*ks->eids));
	ks->keys = calloc(ks->cap, sizeof(*ks->keys));
	d->keys = ks;
	if (!ks->eids || !ks->keys) {
		csmpd_keys_fini(d);
		return -ENOMEM;
	}
	return 0;
}

void csmpd_keys_fini(struct csmpd_daemon *d)
{
	struct csmpd_keys *ks = d->keys;
	size_t i;

	if (!ks)
		return;
	for (i = 0; ks->keys && i < ks->cap; i++)
		csmp_key_put(ks->keys[i]);
	free(ks->eids);
	free(ks->keys);
	pthread_rwlock_destroy(&ks->lock);
	free(ks);
	d->keys = NULL;
}

static int grow(struct csmpd_keys *ks)
{
	size_t cap = ks->cap * 2, k;
	uint64_t *e = calloc(cap, sizeof(*e));
	struct csmp_key **kk = calloc(cap, sizeof(*kk));
	struct csmpd_keys n = { .cap = cap, .eids = e, .keys = kk };

	if (!e || !kk) {
		free(e);
		free(kk);
		return -ENOMEM;
	}
	for (k = 0; k < ks->cap; k++)
		if (ks->keys[k]) {
			size_t s = slot(&n, ks->eids[k]);

			e[s] = ks->eids[k];
			kk[s] = ks->keys[k];
		}
	free(ks->eids);
	free(ks->keys);
	ks->eids = e;
	ks->keys = kk;
	ks->cap = cap;
	return 0;
}

/* Takes a reference of its own. */
int csmpd_keys_put(struct csmpd_daemon *d, __u64 eid, struct csmp_key *key)
{
	struct csmpd_keys *ks = d->keys;
	size_t i;
	int ret = 0;

	pthread_rwlock_wrlock(&ks->lock);
	if ((ks->n + 1) * 2 > ks->cap && (ret = grow(ks)))
		goto out;
	i = slot(ks, eid);
	if (ks->keys[i])
		csmp_key_put(ks->keys[i]);
	else
		ks->n++;
	ks->eids[i] = eid;
	ks->keys[i] = csmp_key_get(key);
	atomic_fetch_add(&ks->gen, 1);
out:
	pthread_rwlock_unlock(&ks->lock);
	return ret;
}

/* A new reference, or NULL. */
static struct csmp_key *keys_get(struct csmpd_keys *ks, uint64_t eid)
{
	struct csmp_key *k;

	pthread_rwlock_rdlock(&ks->lock);
	k = ks->keys[slot(ks, eid)];
	if (k)
		k = csmp_key_get(k);
	pthread_rwlock_unlock(&ks->lock);
	return k;
}

int csmpd_worker_keys_init(struct csmpd_worker *w)
{
	return csmp_keycache_new(KEYCACHE_SLOTS, &w->keycache);
}

void csmpd_worker_keys_fini(struct csmpd_worker *w)
{
	csmp_keycache_free(w->keycache);
	w->keycache = NULL;
}

/* Once per batch, before any look-up: a key changed, so forget every
 * cached one (enrolment is rare: correctness over a warm cache). Not in
 * the look-up itself, which would free keys the batch still holds. */
void csmpd_worker_keys_sync(struct csmpd_worker *w)
{
	uint64_t gen = atomic_load_explicit(&w->d->keys->gen,
					    memory_order_acquire);
	struct csmp_keycache *kc;

	if (gen == w->keycache_gen ||
	    csmp_keycache_new(KEYCACHE_SLOTS, &kc))
		return;
	csmp_keycache_free(w->keycache);
	w->keycache = kc;
	w->keycache_gen = gen;
}

/* Worker side: its own cache first, the shared store on a miss. A
 * borrowed pointer, valid until the worker's next look-up. */
const struct csmp_key *csmpd_worker_key(struct csmpd_worker *w, __u64 eid)
{
	struct csmp_key *k = csmp_keycache_lookup(w->keycache, eid);

	if (k)
		return k;
	k = keys_get(w->d->keys, eid);
	if (!k)
		return NULL;
	csmp_keycache_put(w->keycache, eid, k);
	csmp_key_put(k);
	return csmp_keycache_lookup(w->keycache, eid);
}

/* Device keys from the --device-keys directory: <EID>.pem each. */
int csmpd_keys_load_dir(struct csmpd_daemon *d, const char *dir)
{
	struct dirent *de;
	unsigned int n = 0;
	DIR *dh;
	int ret = 0;

	dh = opendir(dir);
	if (!dh) {
		if (errno == ENOENT)
			return 0;
		ret = -errno;
		csmpd_log(CSMPD_ERR, "KEY_DIR", "%s: %s", dir, strerror(-ret));
		return ret;
	}
	while ((de = readdir(dh))) {
		char path[4096];
		struct csmp_key *k;
		uint64_t eid;

		if (strlen(de->d_name) != 20 ||
		    strcmp(de->d_name + 16, ".pem") ||
		    csmp_eid_parse_n(de->d_name, 16, &eid))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		ret = csmp_key_load_pem(path, &k);
		if (ret) {
			csmpd_log(CSMPD_WARNING, "KEY_BAD", "%s: %s", path,
				  strerror(-ret));
			ret = 0;
			continue;
		}
		ret = csmpd_keys_put(d, eid, k);
		csmp_key_put(k);
		if (ret)
			break;
		n++;
	}
	closedir(dh);
	if (n)
		csmpd_log(CSMPD_INFO, "KEYS", "%u device keys from %s", n, dir);
	return ret;
}
