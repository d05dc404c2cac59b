// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The in-memory device registry, one shard per worker: two open-addressing
 * tables of device pointers (by EID, by SessionID) that only the owning
 * worker reads or writes (worker.c explains how datagrams reach the owner).
 * Also the latest reported TLVs of a device (raw bytes per TLV type,
 * bounded). The allowlist is the policy's (conf/). Persistence (SQLite)
 * hooks in through struct csmpd_hooks and csmpd_device.ext.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csmpd.h"

#define SHARD_MIN_CAP	1024

static __u64 mix64(__u64 x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	x ^= x >> 33;
	return x;
}

static __u64 hash_str(const char *s, size_t len)
{
	__u64 h = 0xcbf29ce484222325ull;
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ (__u8)s[i]) * 0x100000001b3ull;
	return mix64(h);
}

int csmpd_shard_init(struct csmpd_shard *s)
{
	s->cap = SHARD_MIN_CAP;
	s->n = 0;
	s->by_eid = calloc(s->cap, sizeof(*s->by_eid));
	s->by_session = calloc(s->cap, sizeof(*s->by_session));
	if (!s->by_eid || !s->by_session) {
		csmpd_shard_fini(s);
		return -ENOMEM;
	}
	return 0;
}

void csmpd_shard_fini(struct csmpd_shard *s)
{
	__u32 i;

	if (s->by_eid) {
		for (i = 0; i < s->cap; i++) {
			if (!s->by_eid[i])
				continue;
			free(s->by_eid[i]->tlv_blob);
			free(s->by_eid[i]);
		}
	}
	free(s->by_eid);
	free(s->by_session);
	s->by_eid = s->by_session = NULL;
	s->cap = s->n = 0;
}

static struct csmpd_device **eid_slot(struct csmpd_device **t, __u32 cap,
				      __u64 eid)
{
	__u32 i = (__u32)mix64(eid) & (cap - 1);

	while (t[i] && t[i]->eid != eid)
		i = (i + 1) & (cap - 1);
	return &t[i];
}

static struct csmpd_device **sid_slot(struct csmpd_device **t, __u32 cap,
				      const char *sid, size_t len)
{
	__u32 i = (__u32)hash_str(sid, len) & (cap - 1);

	while (t[i] && (t[i]->session_len != len ||
			memcmp(t[i]->session, sid, len)))
		i = (i + 1) & (cap - 1);
	return &t[i];
}

struct csmpd_device *csmpd_dev_by_eid(struct csmpd_shard *s, __u64 eid)
{
	return *eid_slot(s->by_eid, s->cap, eid);
}

struct csmpd_device *csmpd_dev_by_session(struct csmpd_shard *s,
					  const char *sid, size_t len)
{
	if (!len || len > CSMP_SESSION_ID_MAX)
		return NULL;
	return *sid_slot(s->by_session, s->cap, sid, len);
}

/* Double both tables at 50 % load; devices only ever get added. */
static int shard_grow(struct csmpd_shard *s)
{
	__u32 cap = s->cap * 2, i;
	struct csmpd_device **e, **t;

	e = calloc(cap, sizeof(*e));
	t = calloc(cap, sizeof(*t));
	if (!e || !t) {
		free(e);
		free(t);
		return -ENOMEM;
	}
	for (i = 0; i < s->cap; i++) {
		struct csmpd_device *d = s->by_eid[i];

		if (!d)
			continue;
		*eid_slot(e, cap, d->eid) = d;
		if (d->session_len)
			*sid_slot(t, cap, d->session, d->session_len) = d;
	}
	free(s->by_eid);
	free(s->by_session);
	s->by_eid = e;
	s->by_session = t;
	s->cap = cap;
	return 0;
}

struct csmpd_device *csmpd_dev_add(struct csmpd_shard *s, __u64 eid)
{
	struct csmpd_device *d, **slot;

	if ((s->n + 1) * 2 > s->cap && shard_grow(s))
		return NULL;
	slot = eid_slot(s->by_eid, s->cap, eid);
	if (*slot)
		return *slot;
	d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->eid = eid;
	*slot = d;
	s->n++;
	return d;
}

/* Give a device its SessionID. -EEXIST when another device holds it. */
int csmpd_dev_set_session(struct csmpd_shard *s, struct csmpd_device *dev,
			  const char *sid, size_t len)
{
	struct csmpd_device **slot;

	if (!len || len > CSMP_SESSION_ID_MAX)
		return -EINVAL;
	slot = sid_slot(s->by_session, s->cap, sid, len);
	if (*slot && *slot != dev)
		return -EEXIST;
	if (dev->session_len) {
		/* Replace: linear probing cannot just empty a slot, so
		 * rebuild the chain after the old one. */
		struct csmpd_device **old = sid_slot(s->by_session, s->cap,
						     dev->session,
						     dev->session_len);
		__u32 i = (__u32)(old - s->by_session);

		*old = NULL;
		for (i = (i + 1) & (s->cap - 1); s->by_session[i];
		     i = (i + 1) & (s->cap - 1)) {
			struct csmpd_device *m = s->by_session[i];

			s->by_session[i] = NULL;
			*sid_slot(s->by_session, s->cap, m->session,
				  m->session_len) = m;
		}
		slot = sid_slot(s->by_session, s->cap, sid, len);
	}
	memcpy(dev->session, sid, len);
	dev->session[len] = 0;
	dev->session_len = (__u8)len;
	*slot = dev;
	return 0;
}

/*
 * Whether the new bytes of entry e (in out) differ from what the device
 * holds for its type, or the held ones were never handed to persistence:
 * only those need writing again (csmpd_device.tlv_dirty).
 */
static bool tlv_changed(const struct csmpd_device *dev,
			const struct csmpd_tlv_entry *e, const __u8 *out)
{
	__u32 i;

	for (i = 0; i < dev->n_tlvs; i++) {
		const struct csmpd_tlv_entry *o = &dev->tlvs[i];

		if (o->type != e->type)
			continue;
		return (dev->tlv_dirty & (1u << i)) || o->len != e->len ||
		       memcmp(dev->tlv_blob + o->off, out + e->off, e->len);
	}
	return true;
}

/*
 * Keep the TLVs of a report as the device's latest values: every TLV type
 * in `payload` replaces the stored bytes of that type (all instances of a
 * table TLV together, header included); other types keep theirs. At most
 * CSMPD_DEV_TLV_TYPES types and CSMPD_DEV_TLV_BYTES bytes: what does not
 * fit is not kept (counted by the caller through the return value).
 * Returns the number of TLV types dropped for lack of room.
 */
int csmpd_dev_store_tlvs(struct csmpd_worker *w, struct csmpd_device *dev,
			 const __u8 *payload, __u32 len)
{
	struct csmpd_tlv_entry ent[CSMPD_DEV_TLV_TYPES];
	__u8 *out = w->scratch;
	__u32 used = 0, n = 0, i, dropped = 0;
	__u16 dirty = 0;
	struct csmp_tlv_iter it;
	struct csmp_tlv t;
	_Static_assert(sizeof(w->scratch) >= CSMPD_DEV_TLV_BYTES,
		       "scratch holds a device's TLVs");

	/* New types first, in payload order, each type's instances grouped. */
	csmp_tlv_init(&it, payload, len);
	while (csmp_tlv_next(&it, &t) > 0) {
		struct csmp_tlv_iter it2;
		struct csmp_tlv u;
		__u32 start = used, k;
		bool seen = false;

		if (!csmpd_tlv_known(t.type))
			continue;
		for (k = 0; k < n; k++)
			if (ent[k].type == t.type)
				seen = true;
		if (seen)
			continue;
		if (n == CSMPD_DEV_TLV_TYPES) {
			dropped++;
			continue;
		}
		csmp_tlv_init(&it2, payload, len);
		while (csmp_tlv_next(&it2, &u) > 0) {
			__u32 sz = u.off + u.len - u.hdr;

			if (u.type != t.type)
				continue;
			if (used + sz > CSMPD_DEV_TLV_BYTES) {
				used = start;
				break;
			}
			memcpy(out + used, payload + u.hdr, sz);
			used += sz;
		}
		if (used == start) {
			dropped++;
			continue;
		}
		ent[n].type = t.type;
		ent[n].off = (__u16)start;
		ent[n].len = (__u16)(used - start);
		if (tlv_changed(dev, &ent[n], out))
			dirty |= (__u16)(1u << n);
		n++;
	}
	/* Then the old types this report did not carry. */
	for (i = 0; i < dev->n_tlvs; i++) {
		const struct csmpd_tlv_entry *o = &dev->tlvs[i];
		__u32 k;
		bool seen = false;

		for (k = 0; k < n; k++)
			if (ent[k].type == o->type)
				seen = true;
		if (seen)
			continue;
		if (n == CSMPD_DEV_TLV_TYPES ||
		    used + o->len > CSMPD_DEV_TLV_BYTES) {
			dropped++;
			continue;
		}
		memcpy(out + used, dev->tlv_blob + o->off, o->len);
		ent[n] = *o;
		ent[n].off = (__u16)used;
		used += o->len;
		if (dev->tlv_dirty & (1u << i))
			dirty |= (__u16)(1u << n);
		n++;
	}
	/* A device's reports keep their size: the blob grows a few times in
	 * its life, then is reused. */
	if (used > dev->tlv_cap) {
		__u32 cap = used < 256 ? 256 : used + used / 4;
		__u8 *nb;

		if (cap > CSMPD_DEV_TLV_BYTES)
			cap = CSMPD_DEV_TLV_BYTES;
		nb = realloc(dev->tlv_blob, cap);
		if (!nb)
			return -ENOMEM;
		dev->tlv_blob = nb;
		dev->tlv_cap = (__u16)cap;
	}
	if (used)
		memcpy(dev->tlv_blob, out, used);
	memcpy(dev->tlvs, ent, n * sizeof(ent[0]));
	dev->n_tlvs = (__u8)n;
	dev->tlv_used = (__u16)used;
	dev->tlv_dirty = dirty;
	return (int)dropped;
}

/* The raw TLV bytes last reported for `type`, or NULL. */
const __u8 *csmpd_dev_tlv(const struct csmpd_device *dev, __u32 type,
			  __u16 *len)
{
	unsigned int i;

	for (i = 0; i < dev->n_tlvs; i++) {
		if (dev->tlvs[i].type == type) {
			*len = dev->tlvs[i].len;
			return dev->tlv_blob + dev->tlvs[i].off;
		}
	}
	return NULL;
}
