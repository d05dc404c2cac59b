// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * What makes csmpd operable, attached to the worker pool through the
 * csmpd_ext_* entry points and hooks of csmpd.h: the config file and its
 * SIGHUP reload, the persistent registry (load at start, records from the
 * workers' hooks), uplink signature verification as one batch per worker
 * before dispatch, enrolled device keys, the control socket commands, the
 * Prometheus endpoint, the event stream and the privilege drop.
 *
 * Threads: the workers (hooks, on their own devices), the registry writer,
 * the control thread (commands, reloads), the metrics and events threads.
 * Workers read the policy through an RCU-style snapshot and device keys
 * through a per-worker cache in front of a read-locked shared store that
 * only enrolment writes.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "csmpd.h"
#include "conf/config.h"
#include "ctl/control.h"
#include "registry/db.h"
#include "events.h"
#include "http/metrics.h"
#include "privs.h"
#include "names.h"
#include "pbjson.h"
#include "sig.h"
#include "tlvmsg.h"
#include "arena.h"

#define KEYSTORE_MIN	64
#define KEYCACHE_SLOTS	4096
#define POLICY_WAIT_MS	2000

/* Enrolled keys: EID -> parsed key, open addressing, rwlock. */
struct keystore {
	pthread_rwlock_t lock;
	uint64_t *eids;
	struct csmp_key **keys;
	size_t cap, n;
	_Atomic uint64_t gen;		/* bumped on every change */
};

struct ops_worker {
	struct csmp_verifier *verifier;
	struct csmp_keycache *kc;
	uint64_t kc_gen;
	/* Counters not in struct csmpd_counters (relaxed, one writer). */
	uint64_t verified_ok;
	uint64_t unsigned_ok;		/* unsigned, accepted by policy */
	uint64_t db_dropped;		/* registry ring full */
};

struct ops {
	struct csmp_conf conf;
	bool have_conf;
	const char *conf_path;
	pthread_mutex_t reload_lock;
	struct csmp_policy_ref pol;
	struct csmp_db *db;
	struct csmp_db_reader *reader;	/* control thread only */
	struct csmp_ctl *ctl;
	struct csmp_metrics *metrics;
	struct csmp_events *events;
	struct keystore ks;
	struct ops_worker *ow;
	unsigned int n_workers;
	_Atomic uint64_t reloads, reload_errors;
	struct csmp_arena arena;	/* control thread: TLV JSON */
	void *arena_buf;
	void *req_ctl;			/* request.c's "request" command */
};

static __thread struct csmp_policy *tl_policy;

static struct ops *ops_of(struct csmpd_daemon *d)
{
	return d->ext;
}

static void ctr_add(uint64_t *c, uint64_t n)
{
	__atomic_store_n(c, __atomic_load_n(c, __ATOMIC_RELAXED) + n,
			 __ATOMIC_RELAXED);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- key store --------------------------------------------------------- */

static size_t ks_slot(const struct keystore *ks, uint64_t eid)
{
	size_t i = (size_t)((eid * 0x9e3779b97f4a7c15ull) >> 17) & (ks->cap - 1);

	while (ks->keys[i] && ks->eids[i] != eid)
		i = (i + 1) & (ks->cap - 1);
	return i;
}

static int ks_init(struct keystore *ks)
{
	pthread_rwlock_init(&ks->lock, NULL);
	ks->cap = KEYSTORE_MIN;
	ks->eids = calloc(ks->cap, sizeof(*ks->eids));
	ks->keys = calloc(ks->cap, sizeof(*ks->keys));
	return ks->eids && ks->keys ? 0 : -ENOMEM;
}

static void ks_fini(struct keystore *ks)
{
	size_t i;

	for (i = 0; ks->keys && i < ks->cap; i++)
		csmp_key_put(ks->keys[i]);
	free(ks->eids);
	free(ks->keys);
	pthread_rwlock_destroy(&ks->lock);
}

/* Takes a reference of its own. */
static int ks_put(struct keystore *ks, uint64_t eid, struct csmp_key *key)
{
	size_t i;
	int ret = 0;

	pthread_rwlock_wrlock(&ks->lock);
	if ((ks->n + 1) * 2 > ks->cap) {
		size_t cap = ks->cap * 2, k;
		uint64_t *e = calloc(cap, sizeof(*e));
		struct csmp_key **kk = calloc(cap, sizeof(*kk));
		struct keystore n = { .cap = cap, .eids = e, .keys = kk };

		if (!e || !kk) {
			free(e);
			free(kk);
			ret = -ENOMEM;
			goto out;
		}
		for (k = 0; k < ks->cap; k++)
			if (ks->keys[k]) {
				size_t s = ks_slot(&n, ks->eids[k]);

				e[s] = ks->eids[k];
				kk[s] = ks->keys[k];
			}
		free(ks->eids);
		free(ks->keys);
		ks->eids = e;
		ks->keys = kk;
		ks->cap = cap;
	}
	i = ks_slot(ks, eid);
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
static struct csmp_key *ks_get(struct keystore *ks, uint64_t eid)
{
	struct csmp_key *k;

	pthread_rwlock_rdlock(&ks->lock);
	k = ks->keys[ks_slot(ks, eid)];
	if (k)
		k = csmp_key_get(k);
	pthread_rwlock_unlock(&ks->lock);
	return k;
}

/* Worker side: its own cache first, the shared store on a miss. */
static const struct csmp_key *worker_key(struct ops *o, struct ops_worker *ow,
					 uint64_t eid)
{
	struct csmp_key *k = csmp_keycache_lookup(ow->kc, eid);

	if (k)
		return k;
	k = ks_get(&o->ks, eid);
	if (!k)
		return NULL;
	csmp_keycache_put(ow->kc, eid, k);
	csmp_key_put(k);
	return csmp_keycache_lookup(ow->kc, eid);
}

static int key_from_db(void *ctx, uint64_t eid, int suite, const void *pub,
		       size_t len)
{
	struct ops *o = ctx;
	struct csmp_key *k;
	int ret;

	ret = csmp_key_from_raw((enum csmp_sig_suite)suite, pub, len, &k);
	if (ret) {
		csmpd_log(CSMPD_WARNING, "KEY_BAD",
			  "stored key of %016llX unusable: %s",
			  (unsigned long long)eid, strerror(-ret));
		return 0;
	}
	ret = ks_put(&o->ks, eid, k);
	csmp_key_put(k);
	return ret;
}

/* Device keys from the --device-keys directory: <EID>.pem each. */
static int keys_from_dir(struct ops *o, const char *dir)
{
	struct dirent *de;
	unsigned int n = 0;
	DIR *dh;

	dh = opendir(dir);
	if (!dh) {
		if (errno == ENOENT)
			return 0;
		csmpd_log(CSMPD_ERR, "KEY_DIR", "%s: %s", dir, strerror(errno));
		return -errno;
	}
	while ((de = readdir(dh))) {
		char eidhex[17], path[4096];
		struct csmp_key *k;
		uint64_t eid;
		int ret;

		if (strlen(de->d_name) != 20 ||
		    strcmp(de->d_name + 16, ".pem"))
			continue;
		memcpy(eidhex, de->d_name, 16);
		eidhex[16] = 0;
		if (csmp_db_eid_parse(eidhex, &eid))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		ret = csmp_key_load_pem(path, &k);
		if (ret) {
			csmpd_log(CSMPD_WARNING, "KEY_BAD", "%s: %s", path,
				  strerror(-ret));
			continue;
		}
		ret = ks_put(&o->ks, eid, k);
		csmp_key_put(k);
		if (ret)
			break;
		n++;
	}
	closedir(dh);
	if (n)
		csmpd_log(CSMPD_INFO, "KEYS", "%u device keys from %s", n, dir);
	return 0;
}

/* ---- policy ------------------------------------------------------------ */

static int hook_allowed(struct csmpd_daemon *d, __u64 eid)
{
	const struct csmp_policy *p = tl_policy;

	if (csmpd_allow_has(&d->allow, eid))
		return 1;
	return p && p->allowlist && csmp_policy_allowed(p, eid);
}

static bool hook_config_group(struct csmpd_worker *w, __u64 eid, __u32 *id)
{
	const struct csmp_policy *p = tl_policy;
	const struct csmp_group *g = p ? csmp_policy_group(p, eid) : NULL;

	if (g && g->config_group) {
		*id = g->config_group;
		return true;
	}
	*id = w->d->cfg.group_id;
	return w->d->cfg.group_set;
}

static const char *group_name(uint64_t eid)
{
	const struct csmp_group *g = tl_policy ?
				     csmp_policy_group(tl_policy, eid) : NULL;

	return g ? g->name : "";
}

/* ---- uplink signature verification --------------------------------------- */

static const char *sig_hint(unsigned int reason)
{
	switch (reason) {
	case CSMP_R_SIG_EXPIRED:
	case CSMP_R_SIG_NOT_YET:
		return "check clock synchronisation";
	case CSMP_R_SIG_UNKNOWN_KEY:
		return "enroll the device key: csmpctl enroll EID KEYFILE";
	case CSMP_R_SIG_MISSING:
		return "unsigned message where uplink-signature = required";
	case CSMP_R_SIG_MALFORMED:
		return "Signature/SignatureValidity TLVs malformed";
	default:
		return "signature does not verify with the enrolled key";
	}
}

static void sig_failed(struct csmpd_worker *w, struct csmpd_rx *rx,
		       uint64_t eid, unsigned int reason)
{
	struct ops *o = ops_of(w->d);
	char a[80];

	rx->flags |= CSMPD_RXF_DROP;
	CSMPD_INC(&w->ctr, reason[reason]);
	CSMPD_INC(&w->ctr, dropped);
	csmpd_log(CSMPD_ERR, "SIGNATURE_FAILURE",
		  "eid=%016llX reason=%s from %s (%s)",
		  (unsigned long long)eid, csmp_reason_name(reason),
		  csmpd_addr_str(&rx->peer, a, sizeof(a)), sig_hint(reason));
	csmp_event(o->events, w->idx, "signature_failure", eid,
		   ",\"reason\":\"%s\",\"class\":\"%s\",\"addr\":\"%s\"",
		   csmp_reason_name(reason),
		   csmp_msg_class_name(rx->cls.msg_class), a);
}

/* The EID behind an uplink message: DeviceID, else its session. */
static bool rx_eid(struct csmpd_worker *w, const struct csmpd_rx *rx,
		   uint64_t *eid)
{
	const __u8 *pl = rx->data + rx->cls.payload_off;
	__u32 len = rx->len - rx->cls.payload_off, off, sl;
	struct csmpd_device *dev;
	struct csmp_tlv_iter it;
	struct csmp_tlv t;
	__u16 b;

	if (rx->cls.flags & CSMP_CF_EID) {
		*eid = rx->cls.eid;
		return true;
	}
	csmp_tlv_init(&it, pl, len);
	if (csmp_tlv_next(&it, &t) != 1 || t.type != CSMP_TLV_SESSION_ID ||
	    csmp_sessionid(pl + t.off, t.len, &off, &sl, &b) < 0)
		return false;
	dev = csmpd_dev_by_session(&w->shard, (const char *)pl + t.off + off,
				   sl);
	if (!dev)
		return false;
	*eid = dev->eid;
	return true;
}

static bool uplink(const struct csmpd_rx *rx)
{
	switch (rx->cls.msg_class) {
	case CSMP_C_REGISTRATION:
	case CSMP_C_REPORT:
	case CSMP_C_NOTIFICATION:
	case CSMP_C_ASYNC_REPLY:
		return true;
	default:
		return false;
	}
}

/*
 * One batch: decide per message from the device's group policy, collect
 * the signed ones, verify them together, drop what fails. Unsigned under
 * "required" and any failure under "optional" or "required" are dropped
 * before a handler sees them.
 */
static void hook_verify(struct csmpd_worker *w, struct csmpd_rx **rx,
			unsigned int n)
{
	struct ops *o = ops_of(w->d);
	struct ops_worker *ow = &o->ow[w->idx];
	struct csmp_verify_item items[CSMPD_BATCH];
	uint8_t results[CSMPD_BATCH];
	unsigned int i, k = 0;
	uint64_t gen;

	tl_policy = csmp_policy_get(&o->pol, w->idx);
	gen = atomic_load_explicit(&o->ks.gen, memory_order_acquire);
	if (gen != ow->kc_gen) {
		/* A key changed: forget every cached one (enrolment is
		 * rare; correctness over a warm cache). */
		struct csmp_keycache *kc;

		if (!csmp_keycache_new(KEYCACHE_SLOTS, &kc)) {
			csmp_keycache_free(ow->kc);
			ow->kc = kc;
			ow->kc_gen = gen;
		}
	}
	for (i = 0; i < n && i < CSMPD_BATCH; i++) {
		struct csmpd_rx *r = rx[i];
		enum csmp_sigpol sp;
		uint64_t eid = 0;
		bool known, is_signed;

		if (!uplink(r))
			continue;
		known = rx_eid(w, r, &eid);
		sp = known ? csmp_policy_uplink(tl_policy, eid) :
			     tl_policy->uplink_sig;
		if (sp == CSMP_SIGPOL_OFF)
			continue;
		is_signed = r->cls.flags & (CSMP_CF_SIGNED | CSMP_CF_VALIDITY);
		if (!is_signed) {
			if (sp == CSMP_SIGPOL_REQUIRED)
				sig_failed(w, r, eid, CSMP_R_SIG_MISSING);
			else
				ctr_add(&ow->unsigned_ok, 1);
			continue;
		}
		csmp_verify_item_init(&items[k], r->data + r->cls.payload_off,
				      r->len - r->cls.payload_off,
				      known ? worker_key(o, ow, eid) : NULL);
		items[k].user = ((uint64_t)i << 56) | (eid & 0x00ffffffffffffffull);
		results[k] = 0;
		k++;
	}
	if (!k)
		return;
	csmp_verify_batch(ow->verifier, items, k, results, w->now);
	for (i = 0; i < k; i++) {
		unsigned int idx = (unsigned int)(items[i].user >> 56);
		uint64_t eid = 0;

		if (results[i] == CSMP_R_OK) {
			ctr_add(&ow->verified_ok, 1);
			continue;
		}
		rx_eid(w, rx[idx], &eid);
		sig_failed(w, rx[idx], eid, results[i]);
	}
}

static void hook_batch_end(struct csmpd_worker *w)
{
	struct ops *o = ops_of(w->d);

	tl_policy = NULL;
	csmp_policy_idle(&o->pol, w->idx);
}

/* ---- registry records and events ----------------------------------------- */

static void peer_in6(const struct csmpd_addr *a, struct sockaddr_in6 *out)
{
	memset(out, 0, sizeof(*out));
	out->sin6_family = AF_INET6;
	if (a->sa.sa_family == AF_INET6) {
		*out = a->in6;
		return;
	}
	if (a->sa.sa_family == AF_INET) {
		out->sin6_addr.s6_addr[10] = 0xff;
		out->sin6_addr.s6_addr[11] = 0xff;
		memcpy(&out->sin6_addr.s6_addr[12], &a->in.sin_addr, 4);
		out->sin6_port = a->in.sin_port;
	}
}

/* Queue the device's record for the writer. Returns its commit sequence,
 * 0 without a registry, or -ENOBUFS when the worker's ring is full (the
 * writer is behind or the database cannot be written). */
static int persist(struct csmpd_worker *w, struct csmpd_device *dev,
		   enum csmp_db_op op, __u64 *seq)
{
	struct ops *o = ops_of(w->d);
	struct csmp_db_rec *r;
	unsigned int i;
	size_t used = 0;

	*seq = 0;
	if (!o->db)
		return 0;
	r = csmp_db_reserve(o->db, w->idx);
	if (!r) {
		ctr_add(&o->ow[w->idx].db_dropped, 1);
		csmpd_log(CSMPD_WARNING, "DB_BACKLOG",
			  "registry queue of worker %u full: %016llX not "
			  "persisted%s", w->idx, (unsigned long long)dev->eid,
			  op == CSMP_DB_OP_REGISTER &&
			  w->d->cfg.ack_after_commit ?
			  " (registration not answered)" : "");
		return -ENOBUFS;
	}
	r->op = (uint8_t)op;
	r->eid = dev->eid;
	r->ts_ms = now_ms();
	peer_in6(&dev->peer, &r->addr);
	memcpy(r->session, dev->session, dev->session_len);
	r->session[dev->session_len] = 0;
	snprintf(r->group, sizeof(r->group), "%s", group_name(dev->eid));
	/*
	 * The device's latest TLVs, whole TLVs with their headers, those
	 * that changed since they were last handed over: the writer replaces
	 * the types a record carries and keeps the others (hardware and
	 * firmware columns included). A meter repeats much that does not
	 * change, in its reports as in its registrations, and each TLV costs
	 * the writer a delete and an insert. Nothing is lost: a device's
	 * TLVs start empty in memory at start-up, so everything it says
	 * first is new, and a record lost to a full ring leaves its bits set
	 * for the next one.
	 */
	for (i = 0; i < dev->n_tlvs; i++) {
		const struct csmpd_tlv_entry *e = &dev->tlvs[i];

		if (!(dev->tlv_dirty & (1u << i)))
			continue;
		if (used + e->len > sizeof(r->payload))
			break;
		memcpy(r->payload + used, dev->tlv_blob + e->off, e->len);
		used += e->len;
		dev->tlv_dirty &= (__u16)~(1u << i);
	}
	r->len = (uint16_t)used;
	*seq = csmp_db_push(o->db, w->idx);
	return 0;
}

static __u64 hook_committed(struct csmpd_worker *w)
{
	return csmp_db_committed(ops_of(w->d)->db, w->idx);
}

static int hook_registered(struct csmpd_worker *w, struct csmpd_device *dev,
			   bool new_device, __u64 *seq)
{
	struct ops *o = ops_of(w->d);
	char a[80];
	int ret;

	ret = persist(w, dev, CSMP_DB_OP_REGISTER, seq);
	if (ret && w->d->cfg.ack_after_commit)
		return ret;	/* not answered: no registration event */
	csmp_event(o->events, w->idx, "registration", dev->eid,
		   ",\"session\":\"%s\",\"addr\":\"%s\",\"new\":%s,"
		   "\"group\":\"%s\"", dev->session,
		   csmpd_addr_str(&dev->peer, a, sizeof(a)),
		   new_device ? "true" : "false", group_name(dev->eid));
	return ret;
}

static void hook_reported(struct csmpd_worker *w, struct csmpd_device *dev)
{
	struct ops *o = ops_of(w->d);
	__u64 seq;

	persist(w, dev, CSMP_DB_OP_REPORT, &seq);
	csmp_event(o->events, w->idx, "report", dev->eid,
		   ",\"session\":\"%s\",\"tlvs\":%u", dev->session,
		   dev->n_tlvs);
}

static void hook_notified(struct csmpd_worker *w, struct csmpd_device *dev,
			  __u64 eid, __u32 code)
{
	struct ops *o = ops_of(w->d);
	__u64 seq;

	if (dev)
		persist(w, dev, CSMP_DB_OP_NOTIFY, &seq);
	csmp_event(o->events, w->idx, "notification", eid, ",\"code\":%u",
		   code);
}

/* ---- start-up load ------------------------------------------------------ */

struct load_ctx {
	struct csmpd_daemon *d;
	unsigned int n, bad;
};

static int load_one(void *arg, const struct csmp_db_dev *r)
{
	struct load_ctx *lc = arg;
	struct csmpd_daemon *d = lc->d;
	unsigned int bucket = csmpd_eid_bucket(d, r->eid);
	struct csmpd_worker *w = &d->workers[csmpd_bucket_owner(d, bucket)];
	struct csmpd_device *dev;
	size_t sl = strlen(r->session);

	dev = csmpd_dev_by_eid(&w->shard, r->eid);
	if (!dev)
		dev = csmpd_dev_add(&w->shard, r->eid);
	if (!dev)
		return -ENOMEM;
	if (sl && csmpd_dev_set_session(&w->shard, dev, r->session, sl)) {
		lc->bad++;	/* a duplicate SessionID: it re-registers */
		return 0;
	}
	dev->bucket = (__u16)bucket;
	dev->registered_at = (__u64)(r->last_reg_ms / 1000);
	dev->last_seen = (__u64)(r->last_seen_ms / 1000);
	dev->registrations = (__u32)r->registrations;
	dev->reports = (__u32)r->reports;
	dev->peer.in6 = r->addr;
	dev->peer.len = sizeof(r->addr);
	CSMPD_INC(&w->ctr, devices);
	lc->n++;
	return 0;
}

static int hook_load(struct csmpd_daemon *d)
{
	struct ops *o = ops_of(d);
	struct load_ctx lc = { .d = d };
	char err[512];
	int ret;

	if (!o->db)
		return 0;
	ret = csmp_db_load(o->db, load_one, &lc, err, sizeof(err));
	if (ret) {
		csmpd_log(CSMPD_CRIT, "DB_OPEN", "%s", err);
		return ret;
	}
	csmpd_log(CSMPD_NOTICE, "REGISTRY_LOADED",
		  "%u devices resumed from %s%s", lc.n, d->cfg.db_path,
		  lc.bad ? " (some SessionIDs clashed: those re-register)" : "");
	return 0;
}

/* ---- control commands ----------------------------------------------------- */

static json_t *dev_json(struct ops *o, const struct csmp_db_dev *dv)
{
	char eid[17], addr[INET6_ADDRSTRLEN] = "";

	csmp_db_eid_str(dv->eid, eid);
	inet_ntop(AF_INET6, &dv->addr.sin6_addr, addr, sizeof(addr));
	return json_pack("{s:s,s:s,s:s,s:i,s:s,s:I,s:I,s:I,s:I,s:I,s:s,s:s,s:s}",
			 "eid", eid, "session", dv->session, "addr", addr,
			 "port", ntohs(dv->addr.sin6_port), "group", dv->group,
			 "first_registration_ms", (json_int_t)dv->first_reg_ms,
			 "last_registration_ms", (json_int_t)dv->last_reg_ms,
			 "last_seen_ms", (json_int_t)dv->last_seen_ms,
			 "registrations", (json_int_t)dv->registrations,
			 "reports", (json_int_t)dv->reports,
			 "hw_model", dv->hw_model, "hw_serial", dv->hw_serial,
			 "fw_version", dv->fw_version);
}

struct stream {
	struct ops *o;
	struct csmp_ctl_req *r;
	unsigned int n;
	json_t *one;
};

static int stream_dev(void *arg, const struct csmp_db_dev *dv)
{
	struct stream *s = arg;
	json_t *j = dev_json(s->o, dv);
	char *txt;
	int ret;

	if (!j)
		return -ENOMEM;
	txt = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (!txt)
		return -ENOMEM;
	ret = s->n++ ? csmp_ctl_write(s->r, ",", 1) : 0;
	if (!ret)
		ret = csmp_ctl_write(s->r, txt, strlen(txt));
	free(txt);
	return ret;
}

static int one_dev(void *arg, const struct csmp_db_dev *dv)
{
	struct stream *s = arg;

	s->one = dev_json(s->o, dv);
	return s->one ? 0 : -ENOMEM;
}

static int tlv_to_json(void *arg, uint32_t tlv, uint32_t idx, const void *v,
		       size_t len, int64_t ts)
{
	struct stream *s = arg;
	json_t *arr = json_object_get(s->one, "tlvs");
	char buf[8192];
	struct csmp_sb sb;
	struct csmp_tlv t = { .type = tlv, .off = 0, .len = (uint32_t)len };
	json_t *val;

	if (!arr) {
		arr = json_array();
		json_object_set_new(s->one, "tlvs", arr);
	}
	csmp_sb_init(&sb, buf, sizeof(buf));
	csmp_arena_reset(&s->o->arena);
	if (tlv == CSMP_TLV_VENDOR) {
		/* Stored with its header: walk it to find the value. */
		struct csmp_tlv_iter it;

		csmp_tlv_init(&it, v, (uint32_t)len);
		if (csmp_tlv_next(&it, &t) != 1)
			return 0;
	}
	csmp_tlv_json(&sb, &s->o->arena, v, &t);
	val = csmp_sb_str(&sb) ? json_loads(csmp_sb_str(&sb), 0, NULL) : NULL;
	json_array_append_new(arr, json_pack("{s:i,s:s,s:i,s:I,s:o}", "id",
					     (int)tlv, "name",
					     csmp_tlv_name(tlv), "index",
					     (int)idx, "updated_ms",
					     (json_int_t)ts, "value",
					     val ? val : json_null()));
	return 0;
}

static int reader(struct ops *o, struct csmpd_daemon *d)
{
	char err[512];

	if (o->reader)
		return 0;
	if (!o->db)
		return -ENODEV;
	return csmp_db_reader_open(d->cfg.db_path, &o->reader, err,
				   sizeof(err));
}

static int cmd_devices(void *ctx, struct csmp_ctl_req *r, json_t *req)
{
	struct csmpd_daemon *d = ctx;
	struct ops *o = ops_of(d);
	const char *eids = json_string_value(json_object_get(req, "eid"));
	struct stream s = { .o = o, .r = r };
	uint64_t n, eid;
	int ret;

	ret = reader(o, d);
	if (ret)
		return csmp_ctl_error(r, "no registry: csmpd runs without --db");
	if (json_is_true(json_object_get(req, "count"))) {
		ret = csmp_db_count(o->reader, &n);
		if (ret)
			return ret;
		return csmp_ctl_reply(r, json_pack("{s:I}", "count",
						   (json_int_t)n));
	}
	if (eids) {
		if (csmp_db_eid_parse(eids, &eid))
			return csmp_ctl_error(r, "'%s' is not an EID (16 hex digits)",
					      eids);
		ret = csmp_db_devices(o->reader, &eid, one_dev, &s);
		if (ret == -ENOENT)
			return csmp_ctl_error(r, "device %s is not registered",
					      eids);
		if (ret)
			return ret;
		csmp_db_tlvs(o->reader, eid, tlv_to_json, &s);
		return csmp_ctl_reply(r, json_pack("{s:o}", "device", s.one));
	}
	/* Streamed: one line however many devices there are. */
	ret = csmp_ctl_write(r, "{\"ok\":true,\"devices\":[", 22);
	if (!ret)
		ret = csmp_db_devices(o->reader, NULL, stream_dev, &s);
	if (!ret)
		ret = csmp_ctl_write(r, "]}\n", 3);
	return ret < 0 && ret != -EPIPE ? 0 : 0;
}

static json_t *reasons_json(const __u64 *reason)
{
	json_t *o = json_object();
	unsigned int i;

	for (i = 0; i < CSMP_R__MAX; i++)
		if (reason[i])
			json_object_set_new(o, csmp_reason_name(i),
					    json_integer((json_int_t)reason[i]));
	return o;
}

static int cmd_stats(void *ctx, struct csmp_ctl_req *r, json_t *req)
{
	struct csmpd_daemon *d = ctx;
	struct ops *o = ops_of(d);
	json_t *workers = json_array(), *resp;
	struct csmp_db_stats ds;
	struct timespec mono, cpu;
	unsigned int i, c;

	/* Read with the counters, so that two answers give rates per second
	 * and per CPU-second without the client's own latency in them. */
	clock_gettime(CLOCK_MONOTONIC, &mono);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu);
	for (i = 0; i < d->n_workers; i++) {
		const struct csmpd_counters *k = &d->workers[i].ctr;
		struct csmpd_counters s;
		const __u64 *src = (const __u64 *)k;
		__u64 *dst = (__u64 *)&s;
		struct ops_worker *ow = &o->ow[i];
		json_t *cls = json_object(), *sigf = json_object();
		size_t f;

		for (f = 0; f < sizeof(s) / sizeof(__u64); f++)
			dst[f] = __atomic_load_n(&src[f], __ATOMIC_RELAXED);
		for (c = 0; c < CSMP_C__MAX; c++)
			json_object_set_new(cls, csmp_msg_class_name(c),
					    json_integer((json_int_t)s.msg_class[c]));
		for (c = CSMP_R_SIG_BAD; c <= CSMP_R_SIG_MISSING; c++)
			json_object_set_new(sigf, csmp_reason_name(c),
					    json_integer((json_int_t)s.reason[c]));
		json_t *wj = json_pack(
			"{s:i,s:I,s:I,s:o,s:I,s:o,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:o,s:I,s:I}",
			"worker", (int)i,
			"received", (json_int_t)s.rx_dgrams,
			"sent", (json_int_t)s.tx_dgrams,
			"by_class", cls,
			"verified_ok", (json_int_t)__atomic_load_n(&ow->verified_ok, __ATOMIC_RELAXED),
			"verify_failed", sigf,
			"unsigned_accepted", (json_int_t)__atomic_load_n(&ow->unsigned_ok, __ATOMIC_RELAXED),
			"signed", (json_int_t)s.signed_msgs,
			"signature_cache_hits", (json_int_t)s.sig_cache_hits,
			"queue_depth", (json_int_t)(o->db ? csmp_db_queue_depth(o->db, i) : 0),
			"dropped", (json_int_t)s.dropped,
			"registry_dropped", (json_int_t)__atomic_load_n(&ow->db_dropped, __ATOMIC_RELAXED),
			"devices", (json_int_t)s.devices,
			"registrations", (json_int_t)s.reg_ok,
			"registrations_held", (json_int_t)s.parked,
			"registrations_withheld", (json_int_t)s.reg_withheld,
			"registrations_duplicate_held", (json_int_t)s.reg_dup_held,
			"reasons", reasons_json(s.reason),
			"reports", (json_int_t)s.reports,
			"reports_unknown_session", (json_int_t)s.reports_unknown);

		/* Head-end requests (request.c). */
		json_object_set_new(wj, "requests", json_pack(
			"{s:I,s:I,s:I,s:I,s:I}",
			"sent", (json_int_t)s.req_sent,
			"answered", (json_int_t)s.req_answered,
			"timeouts", (json_int_t)s.req_timeouts,
			"unmatched", (json_int_t)s.req_unmatched,
			"refused", (json_int_t)s.req_refused));
		json_array_append_new(workers, wj);
	}
	csmp_db_get_stats(o->db, &ds);
	resp = json_pack("{s:o,s:{s:I,s:I},s:{s:I,s:I,s:I,s:b,s:I,s:I,s:I},s:{s:I,s:I},s:I}",
			 "workers", workers,
			 "clock", "monotonic_ns",
			 (json_int_t)mono.tv_sec * 1000000000 + mono.tv_nsec,
			 "process_cpu_ns",
			 (json_int_t)cpu.tv_sec * 1000000000 + cpu.tv_nsec,
			 "registry", "records", (json_int_t)ds.records,
			 "commits", (json_int_t)ds.commits,
			 "errors", (json_int_t)ds.errors,
			 "failing", (int)ds.failing,
			 "max_commit_us", (json_int_t)ds.max_commit_us,
			 "queue_depth", (json_int_t)ds.queue_depth,
			 "writer_cpu_ns", (json_int_t)ds.writer_cpu_ns,
			 "events", "written",
			 (json_int_t)csmp_events_written(o->events),
			 "dropped", (json_int_t)csmp_events_dropped(o->events),
			 "policy_generation",
			 (json_int_t)atomic_load(&o->pol.cur)->generation);
	return csmp_ctl_reply(r, resp);
}

static int cmd_enroll(void *ctx, struct csmp_ctl_req *r, json_t *req)
{
	struct csmpd_daemon *d = ctx;
	struct ops *o = ops_of(d);
	const char *eids = json_string_value(json_object_get(req, "eid"));
	const char *pem = json_string_value(json_object_get(req, "pem"));
	uint8_t pub[CSMP_SIG_PUB_MAX];
	struct csmp_key *k, *pk;
	struct csmp_db_rec *rec;
	uint64_t eid;
	int len, ret;

	if (!eids || csmp_db_eid_parse(eids, &eid))
		return csmp_ctl_error(r, "enroll: \"eid\" must be 16 hex digits");
	if (!pem)
		return csmp_ctl_error(r, "enroll: \"pem\" (a public key) missing");
	ret = csmp_key_from_pem(pem, strlen(pem), &k);
	if (ret)
		return csmp_ctl_error(r, "enroll: not a P-256 or Ed25519 key: %s",
				      strerror(-ret));
	len = csmp_key_public_raw(k, pub, sizeof(pub));
	if (len < 0) {
		csmp_key_put(k);
		return len;
	}
	/* Keep only the public half, whatever the file held. */
	ret = csmp_key_from_raw(csmp_key_suite(k), pub, (size_t)len, &pk);
	csmp_key_put(k);
	if (ret)
		return ret;
	ret = ks_put(&o->ks, eid, pk);
	csmp_key_put(pk);
	if (ret)
		return ret;
	if (o->db) {
		/* The control thread is the registry's last producer. */
		rec = csmp_db_reserve(o->db, d->n_workers);
		if (!rec)
			return csmp_ctl_error(r, "enroll: registry busy, retry");
		rec->op = CSMP_DB_OP_KEY;
		rec->pad = (uint8_t)csmp_key_suite(pk);
		rec->eid = eid;
		rec->ts_ms = now_ms();
		memcpy(rec->payload, pub, (size_t)len);
		rec->len = (uint16_t)len;
		csmp_db_push(o->db, d->n_workers);
	}
	csmpd_log(CSMPD_NOTICE, "KEY_ENROLLED", "device %s: %s key enrolled",
		  eids, csmp_key_suite(pk) == CSMP_SUITE_P256 ? "P-256" :
								"Ed25519");
	return csmp_ctl_reply(r, json_pack("{s:s,s:s,s:b}", "eid", eids,
					   "suite",
					   csmp_key_suite(pk) == CSMP_SUITE_P256 ?
					   "p256" : "ed25519", "persisted",
					   o->db != NULL));
}

/* Re-read the config file's policy and publish it. Returns 0 or -errno
 * with the reason in err (FILE:LINE for a bad file). */
static int reload(struct csmpd_daemon *d, char *err, size_t errlen)
{
	struct ops *o = ops_of(d);
	struct csmp_conf c;
	struct csmp_policy *p;
	int ret;

	if (!o->conf_path) {
		snprintf(err, errlen, "csmpd was started without --config");
		return -ENOENT;
	}
	pthread_mutex_lock(&o->reload_lock);
	ret = csmp_conf_load(o->conf_path, &c, err, errlen);
	if (ret) {
		atomic_fetch_add(&o->reload_errors, 1);
		pthread_mutex_unlock(&o->reload_lock);
		return ret;
	}
	p = c.policy;
	c.policy = NULL;
	csmp_conf_free(&c);
	ret = csmp_policy_publish(&o->pol, p, POLICY_WAIT_MS);
	if (ret == -ETIMEDOUT)
		csmpd_log(CSMPD_WARNING, "CONFIG_RELOAD",
			  "a worker did not pass a batch boundary in %u ms: "
			  "the old policy is kept in memory", POLICY_WAIT_MS);
	atomic_fetch_add(&o->reloads, 1);
	pthread_mutex_unlock(&o->reload_lock);
	csmpd_log(CSMPD_NOTICE, "CONFIG_RELOAD",
		  "%s: policy generation %llu: %zu groups, devices %s, "
		  "uplink-signature %s", o->conf_path,
		  (unsigned long long)p->generation, p->n_groups,
		  p->allowlist ? "allowlist" : "open",
		  csmp_sigpol_name(p->uplink_sig));
	return 0;
}

static int cmd_reload(void *ctx, struct csmp_ctl_req *r, json_t *req)
{
	char err[512];
	struct ops *o = ops_of(ctx);

	if (reload(ctx, err, sizeof(err)))
		return csmp_ctl_error(r, "reload refused: %s", err);
	return csmp_ctl_reply(r, json_pack("{s:I}", "policy_generation",
					   (json_int_t)atomic_load(&o->pol.cur)->generation));
}

void csmpd_ext_reload(struct csmpd_daemon *d)
{
	char err[512];

	if (reload(d, err, sizeof(err)))
		csmpd_log(CSMPD_ERR, "CONFIG_RELOAD",
			  "%s; keeping the running policy", err);
}

/* ---- metrics ------------------------------------------------------------ */

struct fam {
	const char *name, *type, *help;
	size_t off;		/* in struct csmpd_counters */
};

#define CTR(f) offsetof(struct csmpd_counters, f)

static const struct fam fams[] = {
	{ "csmp_rx_datagrams_total", "counter", "Datagrams received.", CTR(rx_dgrams) },
	{ "csmp_rx_bytes_total", "counter", "Bytes received.", CTR(rx_bytes) },
	{ "csmp_tx_datagrams_total", "counter", "Datagrams sent.", CTR(tx_dgrams) },
	{ "csmp_tx_errors_total", "counter", "Sends that failed.", CTR(tx_errors) },
	{ "csmp_registrations_total", "counter", "Registrations answered 2.03 (new work).", CTR(reg_ok) },
	{ "csmp_registrations_refused_total", "counter", "Registrations refused 4.03 by policy.", CTR(reg_refused) },
	{ "csmp_registrations_duplicate_total", "counter", "Retransmitted registrations answered from cache.", CTR(reg_dup) },
	{ "csmp_registrations_withheld_total", "counter", "Registrations not answered: their record could not be queued or committed.", CTR(reg_withheld) },
	{ "csmp_registrations_held", "gauge", "Registration answers waiting for their registry commit.", CTR(parked) },
	{ "csmp_reports_total", "counter", "Reports matched to a session.", CTR(reports) },
	{ "csmp_reports_unknown_session_total", "counter", "Reports with an unknown SessionID.", CTR(reports_unknown) },
	{ "csmp_notifications_total", "counter", "CGMSNotification messages.", CTR(notifications) },
	{ "csmp_signed_total", "counter", "Downlink messages signed.", CTR(signed_msgs) },
	{ "csmp_signature_cache_hits_total", "counter", "Downlink signatures reused from the cache.", CTR(sig_cache_hits) },
	{ "csmp_dropped_total", "counter", "Valid CSMP not acted on.", CTR(dropped) },
	{ "csmp_devices", "gauge", "Devices in the worker's shard.", CTR(devices) },
	{ "csmp_requests_sent_total", "counter", "Head-end requests sent (retries included).", CTR(req_sent) },
	{ "csmp_requests_answered_total", "counter", "Head-end requests the device answered.", CTR(req_answered) },
	{ "csmp_requests_timeouts_total", "counter", "Head-end requests with no answer in time.", CTR(req_timeouts) },
	{ "csmp_requests_unmatched_total", "counter", "Datagrams on a request socket that answer no request of ours.", CTR(req_unmatched) },
	{ "csmp_requests_refused_total", "counter", "Head-end requests not sent (unknown device, signing, full).", CTR(req_refused) },
};

static __u64 ctr_at(const struct csmpd_counters *c, size_t off)
{
	return __atomic_load_n((const __u64 *)((const char *)c + off),
			       __ATOMIC_RELAXED);
}

static void render(void *ctx, struct csmp_buf *b)
{
	struct csmpd_daemon *d = ctx;
	struct ops *o = ops_of(d);
	struct csmp_db_stats ds;
	unsigned int i, k, c;
	char l[128];

	for (k = 0; k < sizeof(fams) / sizeof(fams[0]); k++) {
		csmp_metric_family(b, fams[k].name, fams[k].type, fams[k].help);
		for (i = 0; i < d->n_workers; i++) {
			snprintf(l, sizeof(l), "worker=\"%u\"", i);
			csmp_metric_sample(b, fams[k].name, l,
					   ctr_at(&d->workers[i].ctr, fams[k].off));
		}
	}
	csmp_metric_family(b, "csmp_messages_total", "counter",
			   "Datagrams by message class.");
	for (i = 0; i < d->n_workers; i++)
		for (c = 0; c < CSMP_C__MAX; c++) {
			snprintf(l, sizeof(l), "worker=\"%u\",class=\"%s\"", i,
				 csmp_msg_class_name(c));
			csmp_metric_sample(b, "csmp_messages_total", l,
					   ctr_at(&d->workers[i].ctr,
						  CTR(msg_class) + c * sizeof(__u64)));
		}
	csmp_metric_family(b, "csmp_reason_total", "counter",
			   "Datagrams dropped or refused, by reason.");
	for (i = 0; i < d->n_workers; i++)
		for (c = 1; c < CSMP_R__MAX; c++) {
			__u64 v = ctr_at(&d->workers[i].ctr,
					 CTR(reason) + c * sizeof(__u64));

			if (!v && (c < CSMP_R_SIG_BAD || c > CSMP_R_SIG_MISSING))
				continue;
			snprintf(l, sizeof(l), "worker=\"%u\",reason=\"%s\"", i,
				 csmp_reason_name(c));
			csmp_metric_sample(b, "csmp_reason_total", l, v);
		}
	csmp_metric_family(b, "csmp_signature_verified_total", "counter",
			   "Uplink signatures verified good.");
	for (i = 0; i < d->n_workers; i++) {
		snprintf(l, sizeof(l), "worker=\"%u\"", i);
		csmp_metric_sample(b, "csmp_signature_verified_total", l,
				   __atomic_load_n(&o->ow[i].verified_ok,
						   __ATOMIC_RELAXED));
	}
	csmp_metric_family(b, "csmp_registry_queue_depth", "gauge",
			   "Registry records waiting for the writer.");
	for (i = 0; i < d->n_workers; i++) {
		snprintf(l, sizeof(l), "worker=\"%u\"", i);
		csmp_metric_sample(b, "csmp_registry_queue_depth", l,
				   o->db ? csmp_db_queue_depth(o->db, i) : 0);
	}
	csmp_db_get_stats(o->db, &ds);
	csmp_metric_family(b, "csmp_registry_commits_total", "counter",
			   "Registry transactions committed.");
	csmp_metric_sample(b, "csmp_registry_commits_total", "", ds.commits);
	csmp_metric_family(b, "csmp_registry_records_total", "counter",
			   "Registry records written.");
	csmp_metric_sample(b, "csmp_registry_records_total", "", ds.records);
	csmp_metric_family(b, "csmp_registry_errors_total", "counter",
			   "Registry transactions that failed (retried).");
	csmp_metric_sample(b, "csmp_registry_errors_total", "", ds.errors);
	csmp_metric_family(b, "csmp_registry_failing", "gauge",
			   "1 while the registry cannot be written.");
	csmp_metric_sample(b, "csmp_registry_failing", "", ds.failing);
	csmp_metric_family(b, "csmp_events_dropped_total", "counter",
			   "Events dropped because the event queue was full.");
	csmp_metric_sample(b, "csmp_events_dropped_total", "",
			   csmp_events_dropped(o->events));
	csmp_metric_family(b, "csmp_config_reloads_total", "counter",
			   "Policy reloads applied.");
	csmp_metric_sample(b, "csmp_config_reloads_total", "",
			   atomic_load(&o->reloads));
}

/* ---- entry points ------------------------------------------------------- */

static struct ops *ops_new(struct csmpd_daemon *d)
{
	struct ops *o = d->ext;

	if (o)
		return o;
	o = calloc(1, sizeof(*o));
	if (!o)
		return NULL;
	pthread_mutex_init(&o->reload_lock, NULL);
	d->ext = o;
	return o;
}

int csmpd_ext_config(struct csmpd_daemon *d, const char *path)
{
	struct csmpd_config *cfg = &d->cfg;
	struct ops *o = ops_new(d);
	struct csmp_conf *c;
	char err[512];
	unsigned int i;
	int ret;

	if (!o)
		return -ENOMEM;
	c = &o->conf;
	ret = csmp_conf_load(path, c, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "%%CSMP-2-CONFIG: %s\n", err);
		return ret;
	}
	o->have_conf = true;
	o->conf_path = path;
#define FILESET(bit) (c->set & (1ull << (bit)))
	if (FILESET(CSMP_CONF_LISTEN)) {
		cfg->n_listen = 0;
		for (i = 0; i < c->n_listen; i++) {
			if (csmpd_parse_listen(c->listen[i],
					       &cfg->listen[cfg->n_listen])) {
				fprintf(stderr, "%%CSMP-2-CONFIG: %s: listen: '%s' is not ADDR:PORT\n",
					path, c->listen[i]);
				return -EINVAL;
			}
			cfg->n_listen++;
		}
	}
	if (FILESET(CSMP_CONF_WORKERS))
		cfg->workers = c->workers;
	if (FILESET(CSMP_CONF_IO))
		cfg->io = !strcmp(c->io, "uring") ? CSMPD_IO_URING :
			  !strcmp(c->io, "mmsg") ? CSMPD_IO_MMSG : CSMPD_IO_AUTO;
	if (FILESET(CSMP_CONF_BACKEND_ID))
		cfg->backend_id = (__u16)c->backend_id;
	if (FILESET(CSMP_CONF_REPLY_PORTS)) {
		cfg->reply.lo = (__u16)c->reply_lo;
		cfg->reply.hi = (__u16)c->reply_hi;
	}
	if (FILESET(CSMP_CONF_LOG_LEVEL))
		cfg->log_level = c->log_level;
	if (FILESET(CSMP_CONF_REPORT_INTERVAL))
		cfg->report_interval = c->report_interval;
	if (FILESET(CSMP_CONF_SIG_LIFETIME))
		cfg->sig_lifetime = c->sig_lifetime;
	if (FILESET(CSMP_CONF_METRICS))
		cfg->metrics_addr = c->metrics;
	if (FILESET(CSMP_CONF_EVENTS))
		cfg->events_path = c->events;
	if (FILESET(CSMP_CONF_USER))
		cfg->user = c->user;
	cfg->ack_after_commit = c->ack_after_commit;
	if (FILESET(CSMP_CONF_NMS_KEY) || access(c->nms_key, R_OK) == 0)
		cfg->nms_key_path = c->nms_key;
	/* With a config file, the documented defaults of these apply. */
	cfg->db_path = c->db;
	cfg->control_path = c->control;
	cfg->device_keys = c->device_keys;
	if (c->policy->allowlist)
		cfg->policy = CSMPD_POLICY_ALLOWLIST;
	return 0;
}

int csmpd_ext_init(struct csmpd_daemon *d)
{
	struct csmpd_config *cfg = &d->cfg;
	struct ops *o = ops_new(d);
	struct csmp_verifier_opts vo;
	struct csmp_policy *p;
	char err[512];
	unsigned int i;
	int ret;

	if (!o)
		return -ENOMEM;
	o->n_workers = d->n_workers;
	if (o->have_conf) {
		p = o->conf.policy;
		o->conf.policy = NULL;
	} else {
		p = calloc(1, sizeof(*p));
		if (!p)
			return -ENOMEM;
		p->sig_skew = CSMP_DEF_SIG_SKEW;
	}
	vo.skew = p->sig_skew;
	vo.replay_entries = 1024;
	ret = csmp_policy_ref_init(&o->pol, d->n_workers, p);
	if (ret) {
		csmp_policy_free(p);
		return ret;
	}
	ret = ks_init(&o->ks);
	if (ret)
		return ret;
	o->arena_buf = malloc(CSMPD_ARENA_BYTES);
	if (!o->arena_buf)
		return -ENOMEM;
	csmp_arena_init(&o->arena, o->arena_buf, CSMPD_ARENA_BYTES);
	o->ow = calloc(d->n_workers, sizeof(*o->ow));
	if (!o->ow)
		return -ENOMEM;
	for (i = 0; i < d->n_workers; i++) {
		ret = csmp_verifier_new(&vo, &o->ow[i].verifier);
		if (!ret)
			ret = csmp_keycache_new(KEYCACHE_SLOTS, &o->ow[i].kc);
		if (ret)
			return ret;
	}

	if (cfg->db_path) {
		struct csmp_db_opts dbo = {
			.path = cfg->db_path,
			.producers = d->n_workers + 1,	/* + control */
			.commit_interval_ms = o->have_conf ?
				o->conf.commit_interval_ms : 0,
			.commit_batch = o->have_conf ? o->conf.commit_batch : 0,
			.sync_full = !o->have_conf || o->conf.db_sync_full,
		};
		__u64 key[2];

		ret = csmp_db_open(&dbo, &o->db, err, sizeof(err));
		if (ret) {
			csmpd_log(CSMPD_CRIT, "DB_OPEN", "%s", err);
			return ret;
		}
		/* The EID -> shard key must survive restarts, or resumed
		 * SessionIDs would route to the wrong worker. */
		if (csmp_db_meta_get(o->db, "bucket_key", key, sizeof(key)) ==
		    sizeof(key)) {
			memcpy(d->bucket_key, key, sizeof(key));
		} else if (getrandom(d->bucket_key, sizeof(d->bucket_key), 0) !=
			   sizeof(d->bucket_key)) {
			ret = -errno;
			csmpd_log(CSMPD_CRIT, "START", "getrandom: %s",
				  strerror(errno));
			return ret;
		} else if ((ret = csmp_db_meta_set(o->db, "bucket_key",
						   d->bucket_key,
						   sizeof(d->bucket_key)))) {
			csmpd_log(CSMPD_CRIT, "DB_OPEN", "%s: cannot store "
				  "the shard key: %s", cfg->db_path,
				  strerror(-ret));
			return ret;
		}
		ret = csmp_db_keys(o->db, key_from_db, o);
		if (ret) {
			csmpd_log(CSMPD_CRIT, "DB_OPEN", "%s: device keys: %s",
				  cfg->db_path, strerror(-ret));
			return ret;
		}
	}
	if (cfg->device_keys) {
		ret = keys_from_dir(o, cfg->device_keys);
		if (ret)
			return ret;
	}

	ret = hook_load(d);
	if (ret)
		return ret;
	d->hooks.verify = hook_verify;
	d->hooks.batch_end = hook_batch_end;
	d->hooks.registered = hook_registered;
	if (o->db) {
		d->hooks.committed = hook_committed;
		for (i = 0; i < d->n_workers; i++)
			d->workers[i].commit_fd = csmp_db_notify_fd(o->db, i);
		csmpd_log(CSMPD_INFO, "REGISTRY",
			  "%s: db-sync %s, registrations answered %s",
			  cfg->db_path,
			  !o->have_conf || o->conf.db_sync_full ? "full" :
								  "normal",
			  cfg->ack_after_commit ?
			  "once their record is committed (ack-after-commit)" :
			  "before their record is committed "
			  "(ack-after-commit = false)");
	}
	d->hooks.reported = hook_reported;
	d->hooks.notified = hook_notified;
	d->hooks.allowed = hook_allowed;
	d->hooks.config_group = hook_config_group;

	if (cfg->events_path) {
		ret = csmp_events_open(cfg->events_path, d->n_workers,
				       &o->events, err, sizeof(err));
		if (ret) {
			csmpd_log(CSMPD_CRIT, "EVENTS", "%s", err);
			return ret;
		}
	}
	if (cfg->control_path) {
		char dir[4096], *slash;

		snprintf(dir, sizeof(dir), "%s", cfg->control_path);
		slash = strrchr(dir, '/');
		if (slash && slash != dir) {
			*slash = 0;
			mkdir(dir, 0750);	/* /run/csmpd on a fresh host */
		}
		ret = csmp_ctl_open(cfg->control_path, &o->ctl, err,
				    sizeof(err));
		if (ret) {
			csmpd_log(CSMPD_CRIT, "CONTROL", "%s", err);
			return ret;
		}
		csmp_ctl_register(o->ctl, "devices", cmd_devices, d);
		csmp_ctl_register(o->ctl, "stats", cmd_stats, d);
		csmp_ctl_register(o->ctl, "enroll", cmd_enroll, d);
		csmp_ctl_register(o->ctl, "reload", cmd_reload, d);
		ret = csmpd_req_ctl_register(d, o->ctl, &o->req_ctl);
		if (ret)
			return ret;
	}
	if (cfg->metrics_addr) {
		ret = csmp_metrics_open(cfg->metrics_addr, render, d,
					&o->metrics, err, sizeof(err));
		if (ret) {
			csmpd_log(CSMPD_CRIT, "METRICS", "%s", err);
			return ret;
		}
	}
	return 0;
}

int csmpd_ext_ready(struct csmpd_daemon *d)
{
	struct csmpd_config *cfg = &d->cfg;
	struct ops *o = ops_of(d);
	const char *user = NULL;
	char err[512], path[4200];
	uid_t uid;
	gid_t gid;
	int ret;

	if (geteuid() == 0) {
		ret = csmp_privs_user(cfg->user, &uid, &gid, &user);
		if (ret) {
			csmpd_log(CSMPD_CRIT, "PRIVS", "user %s does not exist",
				  cfg->user ? cfg->user : "nobody");
			return ret;
		}
		/* What csmpd keeps writing after the drop. */
		if (cfg->db_path) {
			static const char *const sfx[] = { "", "-wal", "-shm" };
			unsigned int i;

			for (i = 0; i < 3; i++) {
				snprintf(path, sizeof(path), "%s%s",
					 cfg->db_path, sfx[i]);
				csmp_privs_chown(path, uid, gid);
			}
		}
		ret = csmp_privs_drop(uid, gid, NULL, 0, err, sizeof(err));
		if (ret) {
			csmpd_log(CSMPD_CRIT, "PRIVS", "%s", err);
			return ret;
		}
		csmpd_log(CSMPD_INFO, "PRIVS",
			  "running as %s (uid %u), no capabilities", user,
			  (unsigned int)uid);
	}
	if (o->db && (ret = csmp_db_start(o->db)))
		return ret;
	if (o->events && (ret = csmp_events_start(o->events)))
		return ret;
	if (o->ctl && (ret = csmp_ctl_start(o->ctl)))
		return ret;
	if (o->metrics && (ret = csmp_metrics_start(o->metrics)))
		return ret;
	return 0;
}

void csmpd_ext_fini(struct csmpd_daemon *d)
{
	struct ops *o = ops_of(d);
	unsigned int i;

	if (!o)
		return;
	/* The workers are gone: every record they pushed gets committed. */
	csmp_ctl_close(o->ctl);
	csmpd_req_ctl_free(o->req_ctl);
	csmp_metrics_close(o->metrics);
	csmp_db_reader_close(o->reader);
	csmp_db_close(o->db);
	csmp_events_close(o->events);
	for (i = 0; o->ow && i < o->n_workers; i++) {
		csmp_verifier_free(o->ow[i].verifier);
		csmp_keycache_free(o->ow[i].kc);
	}
	free(o->ow);
	if (o->pol.readers)
		csmp_policy_ref_fini(&o->pol);
	ks_fini(&o->ks);
	free(o->arena_buf);
	csmp_conf_free(&o->conf);
	pthread_mutex_destroy(&o->reload_lock);
	free(o);
	d->ext = NULL;
}
