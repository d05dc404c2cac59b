// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The persistent registry as the workers see it: open it at start (with
 * the shard key that must survive restarts and the enrolled keys), load
 * its devices into the workers' shards, queue each worker's records for
 * the writer thread, and tell a worker which of its records are durable
 * (ack-after-commit, server/worker.c). Without --db every call is a
 * no-op that reports nothing to wait for.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>

#include "csmpd.h"
#include "registry/records.h"

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

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

int csmpd_registry_record(struct csmpd_worker *w, struct csmpd_device *dev,
			  int op, __u64 *seq)
{
	struct csmpd_registry *reg = w->d->reg;
	struct csmp_db_rec *r;
	unsigned int i;
	size_t used = 0;

	*seq = 0;
	if (!reg)
		return 0;
	r = csmp_db_reserve(reg->db, w->idx);
	if (!r) {
		CSMPD_INC(&w->ctr, registry_dropped);
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
	snprintf(r->group, sizeof(r->group), "%s",
		 csmpd_policy_group_name(w, dev->eid));
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
	*seq = csmp_db_push(reg->db, w->idx);
	return 0;
}

/* With a registry, answers wait for their record (ack-after-commit). */
bool csmpd_registry_durable(const struct csmpd_daemon *d)
{
	return d->reg && d->cfg.ack_after_commit;
}

/* The highest commit sequence of this worker's records that is durable:
 * one atomic load. */
__u64 csmpd_registry_committed(struct csmpd_worker *w)
{
	return w->d->reg ? csmp_db_committed(w->d->reg->db, w->idx) :
			   UINT64_MAX;
}

int csmpd_registry_key(struct csmpd_daemon *d, uint64_t eid, int suite,
		       const void *pub, size_t len)
{
	struct csmp_db_rec *rec;

	if (!d->reg)
		return -ENODEV;
	if (len > sizeof(rec->payload))
		return -EINVAL;
	rec = csmp_db_reserve(d->reg->db, d->n_workers);
	if (!rec)
		return -EBUSY;
	rec->op = CSMP_DB_OP_KEY;
	rec->pad = (uint8_t)suite;
	rec->eid = eid;
	rec->ts_ms = now_ms();
	memcpy(rec->payload, pub, len);
	rec->len = (uint16_t)len;
	csmp_db_push(d->reg->db, d->n_workers);
	return 0;
}

/* A first read opens what the backend opens lazily (SQLite's -wal and
 * -shm) while csmpd may still open it. */
static int reader_open(struct csmpd_daemon *d, char *err, size_t errlen)
{
	struct csmpd_registry *reg = d->reg;
	uint64_t n;
	int ret;

	ret = csmp_db_reader_open(d->cfg.db_path, &reg->reader, err, errlen);
	if (ret)
		return ret;
	ret = csmp_db_count(reg->reader, &n);
	if (ret) {
		snprintf(err, errlen, "%s: cannot read: %s",
			 csmp_db_name(reg->db), strerror(-ret));
		csmp_db_reader_close(reg->reader);
		reg->reader = NULL;
	}
	return ret;
}

int csmpd_registry_reader(struct csmpd_daemon *d, struct csmp_db_reader **out,
			  char *err, size_t errlen)
{
	struct csmpd_registry *reg = d->reg;
	char why[512];
	int ret;

	if (!reg)
		return -ENODEV;
	if (!reg->reader) {
		ret = reader_open(d, why, sizeof(why));
		if (ret) {
			/* The reason found before the drop says more than
			 * the one found as the run user. */
			snprintf(err, errlen, "%s", reg->reader_err[0] ?
				 reg->reader_err : why);
			return ret;
		}
	}
	*out = reg->reader;
	return 0;
}

/* ---- start-up ------------------------------------------------------------ */

static int key_from_db(void *ctx, uint64_t eid, int suite, const void *pub,
		       size_t len)
{
	struct csmpd_daemon *d = ctx;
	struct csmp_key *k;
	int ret;

	ret = csmp_key_from_raw((enum csmp_sig_suite)suite, pub, len, &k);
	if (ret) {
		csmpd_log(CSMPD_WARNING, "KEY_BAD",
			  "stored key of %016llX unusable: %s",
			  (unsigned long long)eid, strerror(-ret));
		return 0;
	}
	ret = csmpd_keys_put(d, eid, k);
	csmp_key_put(k);
	return ret;
}

struct load_ctx {
	struct csmpd_daemon *d;
	unsigned int n, bad;
};

/* A device goes to the shard that owns its routing bucket. */
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

/* The EID -> shard key must survive restarts, or resumed SessionIDs would
 * route to the wrong worker: restored from the registry, else made and
 * stored there. A cluster's nodes share it (the first node's), so that a
 * device keeps its worker whichever node serves it. */
static int bucket_key(struct csmpd_daemon *d, struct csmp_db *db)
{
	int ret;

	if (getrandom(d->bucket_key, sizeof(d->bucket_key), 0) !=
	    sizeof(d->bucket_key)) {
		ret = -errno;
		csmpd_log(CSMPD_CRIT, "START", "getrandom: %s", strerror(-ret));
		return ret;
	}
	ret = csmp_db_meta_init(db, "bucket_key", d->bucket_key,
				sizeof(d->bucket_key));
	if (ret == sizeof(d->bucket_key))
		return 0;
	if (ret >= 0)
		ret = -EBADMSG;
	csmpd_log(CSMPD_CRIT, "DB_OPEN", "%s: cannot store the shard key: %s",
		  csmp_db_name(db), strerror(-ret));
	return ret;
}

/* The SQLite file and its -wal, -shm made 0600 (a PostgreSQL conninfo
 * names no file: nothing to do). */
static void private_files(const char *db)
{
	static const char *const sfx[] = { "", "-wal", "-shm" };
	char path[4200];
	struct stat st;
	unsigned int i;

	for (i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s%s", db, sfx[i]);
		if (lstat(path, &st) == 0 && S_ISREG(st.st_mode) &&
		    (st.st_mode & 077) && chmod(path, 0600) < 0)
			csmpd_log(CSMPD_WARNING, "DB_OPEN", "chmod %s: %s",
				  path, strerror(errno));
	}
}

/* After the workers' state and the key store exist, before the sockets. */
int csmpd_registry_init(struct csmpd_daemon *d)
{
	struct csmp_db_opts dbo = {
		.path = d->cfg.db_path,
		.producers = d->n_workers + 1,	/* + control */
		.commit_interval_ms = d->cfg.commit_interval_ms,
		.commit_batch = d->cfg.commit_batch,
		.sync_full = d->cfg.db_sync == CSMPD_DB_SYNC_FULL,
		.node = d->cfg.backend_id,
		.node_addr = d->cfg.node_addr,
		.reply_port_lo = d->cfg.reply.lo,
		.reply_port_hi = d->cfg.reply.hi,
	};
	struct load_ctx lc = { .d = d };
	struct csmpd_registry *reg;
	char err[512];
	unsigned int i;
	mode_t old;
	int ret;

	if (!d->cfg.db_path)
		return 0;
	reg = calloc(1, sizeof(*reg));
	if (!reg)
		return -ENOMEM;
	/* The registry holds the bucket key and every device: no one but
	 * the run user reads it. SQLite gives its -wal and -shm the file's
	 * mode; one made by an older csmpd is narrowed. No thread runs yet,
	 * so the umask change is seen by no one else. */
	old = umask(0077);
	ret = csmp_db_open(&dbo, &reg->db, err, sizeof(err));
	umask(old);
	private_files(d->cfg.db_path);
	if (ret) {
		csmpd_log(CSMPD_CRIT, "DB_OPEN", "%s", err);
		free(reg);
		return ret;
	}
	d->reg = reg;
	ret = bucket_key(d, reg->db);
	if (ret)
		goto err;
	ret = csmp_db_keys(reg->db, key_from_db, d);
	if (ret) {
		csmpd_log(CSMPD_CRIT, "DB_OPEN", "%s: device keys: %s",
			  csmp_db_name(reg->db), strerror(-ret));
		goto err;
	}
	ret = csmp_db_load(reg->db, load_one, &lc, err, sizeof(err));
	if (ret) {
		csmpd_log(CSMPD_CRIT, "DB_OPEN", "%s", err);
		goto err;
	}
	if (csmp_db_bad_rows(reg->db))
		csmpd_log(CSMPD_ERR, "DB_BAD_ROW",
			  "%s: %u malformed device rows skipped (those devices "
			  "re-register)", csmp_db_name(reg->db),
			  csmp_db_bad_rows(reg->db));
	csmpd_log(CSMPD_NOTICE, "REGISTRY_LOADED",
		  "%u devices resumed from %s%s", lc.n, csmp_db_name(reg->db),
		  lc.bad ? " (some SessionIDs clashed: those re-register)" : "");
	for (i = 0; i < d->n_workers; i++)
		d->workers[i].commit_fd = csmp_db_notify_fd(reg->db, i);
	/* Without a reader csmpd still registers: devices says why. */
	old = umask(0077);
	ret = reader_open(d, reg->reader_err, sizeof(reg->reader_err));
	umask(old);
	private_files(d->cfg.db_path);
	if (ret)
		csmpd_log(CSMPD_WARNING, "DB_OPEN",
			  "no reader for csmpctl devices: %s", reg->reader_err);
	csmpd_log(CSMPD_INFO, "REGISTRY",
		  "%s: db-sync %s, registrations answered %s",
		  csmp_db_name(reg->db),
		  dbo.sync_full ? "full" : "normal",
		  d->cfg.ack_after_commit ?
		  "once their record is committed (ack-after-commit)" :
		  "before their record is committed (ack-after-commit = false)");
	return 0;

err:
	csmpd_registry_fini(d);
	return ret;
}

int csmpd_registry_start(struct csmpd_daemon *d)
{
	return d->reg ? csmp_db_start(d->reg->db) : 0;
}

/* The workers are gone: every record they pushed gets committed. */
void csmpd_registry_fini(struct csmpd_daemon *d)
{
	struct csmpd_registry *reg = d->reg;
	unsigned int i;

	if (!reg)
		return;
	for (i = 0; i < d->n_workers; i++)
		d->workers[i].commit_fd = -1;
	csmp_db_reader_close(reg->reader);
	csmp_db_close(reg->db);
	free(reg);
	d->reg = NULL;
}
