// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * Registry persistence (db.h): the writer thread with group commit and
 * ack-after-commit publication, the start-up calls and the read side used
 * by the control socket and csmpctl, over one of the storage backends of
 * db_backend.h (SQLite or PostgreSQL, chosen by the target's form). The
 * TLVs of each record are decoded here, in the writer, so the workers only
 * copy bytes into their ring and both backends store the same values.
 */
#include <ctype.h>
#include <errno.h>
#include <linux/types.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "csmp/tlv.h"
#include "registry/db_backend.h"
#include "server/ring.h"

struct csmp_db_prod {
	struct csmp_spsc ring;
	_Alignas(CSMP_CACHELINE) _Atomic uint64_t committed;
	uint64_t consumed;	/* writer only: records committed */
	uint64_t applied;	/* writer only: in the open transaction */
	int notify_fd;
};

struct csmp_db {
	struct csmp_db_conn *conn;
	char *path;			/* the target as logs show it */
	unsigned int nprod;
	struct csmp_db_prod *prod;
	unsigned int interval_ms;
	unsigned int batch;
	pthread_t thread;
	bool started;
	int wake_fd;
	_Atomic int sleeping;
	_Atomic int stop;
	_Atomic int failing;		/* the last transaction failed */
	_Atomic uint64_t records, commits, errors, max_commit_us;
	/* Writer only: the last commit, for the group-commit wait. */
	int64_t last_commit_us, last_commit_end_us;
	/* Writer only: the current failure streak. */
	char fail_msg[256];
	int64_t fail_since_us, fail_logged_us;
	unsigned int fail_tries;
	/* Writer only: this node's heartbeat (hb_us 0: none). */
	struct csmp_db_node node;
	int64_t hb_us, hb_next_us;
};

struct csmp_db_reader {
	struct csmp_db_conn *conn;
};

void csmp_db_eid_str(uint64_t eid, char out[17])
{
	snprintf(out, 17, "%016llX", (unsigned long long)eid);
}

int csmp_db_eid_parse(const char *s, uint64_t *eid)
{
	__u64 v;

	if (!s || csmp_eid_from_hex((const __u8 *)s, (__u32)strlen(s), &v))
		return -EINVAL;
	*eid = v;
	return 0;
}

static int64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A URI, or key=value pairs (a keyword, then '='): libpq's two forms. */
bool csmp_db_is_pg(const char *t)
{
	if (!t)
		return false;
	if (!strncmp(t, "postgresql://", 13) || !strncmp(t, "postgres://", 11))
		return true;
	while (*t == ' ')
		t++;
	if (!islower((unsigned char)*t))
		return false;
	while (islower((unsigned char)*t) || *t == '_')
		t++;
	while (*t == ' ')
		t++;
	return *t == '=';
}

/* Logs and errors name the database, never its password. */
void csmp_db_display(const char *t, char *out, size_t cap)
{
	const char *p, *at, *colon;
	size_t n = 0;

	if (!cap)
		return;
	out[0] = 0;
	if (!t)
		return;
	if (!csmp_db_is_pg(t)) {
		snprintf(out, cap, "%s", t);
		return;
	}
	p = strstr(t, "://");
	at = p ? strchr(p + 3, '@') : NULL;
	colon = at ? memchr(p + 3, ':', (size_t)(at - p - 3)) : NULL;
	for (; *t && n + 4 < cap; t++) {
		if (t == colon) {
			n += (size_t)snprintf(out + n, cap - n, ":***");
			t = at - 1;
			continue;
		}
		if (!strncmp(t, "password=", 9)) {
			n += (size_t)snprintf(out + n, cap - n, "password=***");
			t += 9;
			while (*t && *t != ' ' && *t != '&')
				t++;
			t--;
			continue;
		}
		out[n++] = *t;
	}
	out[n] = 0;
}

/* A string field of a TLV value, copied as text (protobuf field num). */
static void pb_string(const __u8 *v, __u32 len, __u32 num, char *out,
		      size_t cap)
{
	__u32 off, l;
	size_t i, n = 0;

	if (csmp_pb_find(v, len, num, 2, NULL, &off, &l))
		return;
	for (i = 0; i < l && n + 1 < cap; i++) {
		unsigned char c = v[off + i];

		out[n++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	out[n] = 0;
}

int csmp_db_rec_tlvs(const struct csmp_db_rec *r, csmp_db_rec_tlv_cb cb,
		     void *ctx, struct csmp_db_fields *f)
{
	uint32_t ids[CSMP_MAX_TLVS], count[CSMP_MAX_TLVS];
	struct csmp_tlv_iter it;
	struct csmp_tlv t;
	unsigned int n = 0, k;
	bool fw_running = false;
	int ret;

	memset(f, 0, sizeof(*f));
	csmp_tlv_init(&it, r->payload, r->len);
	while (csmp_tlv_next(&it, &t) == 1) {
		const __u8 *v = r->payload + t.off;
		__u64 running = 0;
		bool first;

		if (t.type == CSMP_TLV_SIGNATURE ||
		    t.type == CSMP_TLV_SIGNATURE_VALIDITY)
			continue;
		for (k = 0; k < n && ids[k] != t.type; k++)
			;
		first = k == n;
		if (first) {
			if (n == CSMP_MAX_TLVS)
				break;
			ids[n] = t.type;
			count[n++] = 0;
		}
		/* Vendor TLVs keep their header: PEN and type are in it. */
		if (t.type == CSMP_TLV_VENDOR)
			ret = cb(ctx, t.type, first, count[k]++,
				 r->payload + t.hdr, t.off + t.len - t.hdr);
		else
			ret = cb(ctx, t.type, first, count[k]++, v, t.len);
		if (ret)
			return ret;

		if (t.type == CSMP_TLV_HARDWARE_DESC && !f->hw_model[0]) {
			pb_string(v, t.len, 13, f->hw_model, CSMP_DB_TEXT_MAX);
			pb_string(v, t.len, 11, f->hw_serial, CSMP_DB_TEXT_MAX);
		}
		if (t.type == CSMP_TLV_FIRMWARE_IMAGE_INFO && !fw_running) {
			csmp_pb_find(v, t.len, 9, 0, &running, NULL, NULL);
			if (running || !f->fw_version[0])
				pb_string(v, t.len, 4, f->fw_version,
					  CSMP_DB_TEXT_MAX);
			fw_running = running;
		}
	}
	/* A malformed tail loses only itself: the worker already parsed it. */
	return 0;
}

static bool int_col(const char *s, int64_t *v)
{
	char *end;

	if (!s || !*s)
		return false;
	errno = 0;
	*v = strtoll(s, &end, 10);
	return !errno && !*end;
}

int csmp_db_dev_from_text(struct csmp_db_dev *d, const char *const col[15])
{
	int64_t v[15];
	unsigned int i;

	memset(d, 0, sizeof(*d));
	if (csmp_db_eid_parse(col[0], &d->eid))
		return -EBADMSG;
	snprintf(d->session, sizeof(d->session), "%s", col[1] ?: "");
	d->addr.sin6_family = AF_INET6;
	if (!col[2] || inet_pton(AF_INET6, col[2], &d->addr.sin6_addr) != 1)
		return -EBADMSG;
	snprintf(d->group, sizeof(d->group), "%s", col[4] ?: "");
	for (i = 3; i < 15; i++)
		if ((i == 3 || (i >= 5 && i <= 9) || i >= 13) &&
		    !int_col(col[i], &v[i]))
			return -EBADMSG;
	d->addr.sin6_port = htons((uint16_t)v[3]);
	d->first_reg_ms = v[5];
	d->last_reg_ms = v[6];
	d->last_seen_ms = v[7];
	d->registrations = (uint64_t)v[8];
	d->reports = (uint64_t)v[9];
	snprintf(d->hw_model, sizeof(d->hw_model), "%s", col[10] ?: "");
	snprintf(d->hw_serial, sizeof(d->hw_serial), "%s", col[11] ?: "");
	snprintf(d->fw_version, sizeof(d->fw_version), "%s", col[12] ?: "");
	d->owner = (uint16_t)v[13];
	d->epoch = (uint64_t)v[14];
	return 0;
}

static const struct csmp_db_backend *backend_of(const char *target)
{
	return csmp_db_is_pg(target) ? &csmp_db_pg : &csmp_db_sqlite;
}

static int fail(char *err, size_t errlen, int ret, const char *path,
		const char *what)
{
	if (err && errlen)
		snprintf(err, errlen, "%s: %s", path, what);
	return ret;
}

int csmp_db_open(const struct csmp_db_opts *o, struct csmp_db **out,
		 char *err, size_t errlen)
{
	unsigned int slots = o->ring_slots ? o->ring_slots : 4096;
	struct csmp_db_conn_opts co = {
		.target = o->path,
		.writer = true,
		.sync_full = o->sync_full,
		.node = o->node,
	};
	char shown[512];
	struct csmp_db *db;
	unsigned int i;
	int ret;

	if (!o->path || !*o->path || !o->producers)
		return fail(err, errlen, -EINVAL, o->path ? o->path : "(null)",
			    "no database path or no producer");
	csmp_db_display(o->path, shown, sizeof(shown));
	db = calloc(1, sizeof(*db));
	if (!db)
		return fail(err, errlen, -ENOMEM, shown, "out of memory");
	db->wake_fd = -1;
	db->interval_ms = o->commit_interval_ms ? o->commit_interval_ms : 50;
	db->batch = o->commit_batch ? o->commit_batch : 1024;
	db->path = strdup(shown);
	if (!db->path) {
		ret = fail(err, errlen, -ENOMEM, shown, "out of memory");
		goto err_free;
	}
	/* A cluster's nodes heartbeat; a single SQLite node only if asked. */
	if (o->heartbeat_ms || csmp_db_is_pg(o->path))
		db->hb_us = (int64_t)(o->heartbeat_ms ? o->heartbeat_ms :
				      1000) * 1000;
	db->node.node = o->node;
	snprintf(db->node.addr, sizeof(db->node.addr), "%s",
		 o->node_addr ? o->node_addr : "");
	db->node.reply_port_lo = o->reply_port_lo;
	db->node.reply_port_hi = o->reply_port_hi;
	snprintf(db->node.state, sizeof(db->node.state), "up");
	db->node.started_ms = wall_ms();

	ret = backend_of(o->path)->open(&co, &db->conn, err, errlen);
	if (ret)
		goto err_free_path;

	db->nprod = o->producers;
	db->prod = calloc(db->nprod, sizeof(*db->prod));
	if (!db->prod) {
		ret = fail(err, errlen, -ENOMEM, shown, "out of memory");
		goto err_close_conn;
	}
	for (i = 0; i < db->nprod; i++)
		db->prod[i].notify_fd = -1;
	for (i = 0; i < db->nprod; i++) {
		ret = csmp_spsc_init(&db->prod[i].ring, slots,
				     sizeof(struct csmp_db_rec));
		if (ret) {
			fail(err, errlen, ret, shown,
			     "cannot allocate the record rings");
			goto err_rings;
		}
		db->prod[i].notify_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (db->prod[i].notify_fd < 0) {
			ret = fail(err, errlen, -errno, shown, "eventfd");
			goto err_rings;
		}
	}
	db->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (db->wake_fd < 0) {
		ret = fail(err, errlen, -errno, shown, "eventfd");
		goto err_rings;
	}
	*out = db;
	return 0;

err_rings:
	for (i = 0; i < db->nprod; i++) {
		csmp_spsc_fini(&db->prod[i].ring);
		if (db->prod[i].notify_fd >= 0)
			close(db->prod[i].notify_fd);
	}
	free(db->prod);
err_close_conn:
	db->conn->be->close(db->conn);
err_free_path:
	free(db->path);
err_free:
	free(db);
	return ret;
}

int csmp_db_load(struct csmp_db *db, csmp_db_dev_cb cb, void *ctx, char *err,
		 size_t errlen)
{
	int ret;

	db->conn->msg[0] = 0;
	db->conn->bad_rows = 0;
	ret = db->conn->be->load(db->conn, cb, ctx);
	if (ret && db->conn->msg[0])
		fail(err, errlen, ret, db->path, db->conn->msg);
	return ret;
}

unsigned int csmp_db_bad_rows(const struct csmp_db *db)
{
	return db->conn->bad_rows;
}

int csmp_db_keys(struct csmp_db *db, csmp_db_key_cb cb, void *ctx)
{
	return db->conn->be->keys(db->conn, cb, ctx);
}

int csmp_db_meta_get(struct csmp_db *db, const char *key, void *val,
		     size_t cap)
{
	return db->conn->be->meta_get(db->conn, key, val, cap);
}

int csmp_db_meta_set(struct csmp_db *db, const char *key, const void *val,
		     size_t len)
{
	if (db->started)
		return -EBUSY;	/* the writer thread owns the connection */
	return db->conn->be->meta_set(db->conn, key, val, len);
}

const char *csmp_db_name(const struct csmp_db *db)
{
	return db->path;
}

int csmp_db_meta_init(struct csmp_db *db, const char *key, void *val,
		      size_t len)
{
	int ret;

	if (db->started)
		return -EBUSY;
	ret = db->conn->be->meta_add(db->conn, key, val, len);
	return ret ? ret : csmp_db_meta_get(db, key, val, len);
}

uint64_t csmp_db_queue_depth(struct csmp_db *db, unsigned int p)
{
	return csmp_spsc_depth(&db->prod[p].ring);
}

/* Records of producer p published but not yet in a transaction. */
static uint64_t unread(struct csmp_db_prod *p)
{
	return csmp_spsc_depth(&p->ring) - p->applied;
}

static bool rings_drained(struct csmp_db *db)
{
	unsigned int i;

	for (i = 0; i < db->nprod; i++)
		if (unread(&db->prod[i]))
			return false;
	return true;
}

/*
 * The transaction is durable: free its slots and publish, per producer,
 * the highest committed sequence (release: a worker that reads it may
 * answer the registrations up to it), then wake the producers.
 */
static void committed(struct csmp_db *db, int64_t dt)
{
	uint64_t one = 1, max;
	unsigned int i;

	db->last_commit_us = dt;
	db->last_commit_end_us = mono_us();
	max = atomic_load(&db->max_commit_us);
	while ((uint64_t)dt > max &&
	       !atomic_compare_exchange_weak(&db->max_commit_us, &max,
					     (uint64_t)dt))
		;
	atomic_fetch_add(&db->commits, 1);
	for (i = 0; i < db->nprod; i++) {
		struct csmp_db_prod *p = &db->prod[i];

		if (!p->applied)
			continue;
		csmp_spsc_pop_n(&p->ring, p->applied);
		atomic_fetch_add_explicit(&db->records, p->applied,
					  memory_order_relaxed);
		p->consumed += p->applied;
		p->applied = 0;
		atomic_store_explicit(&p->committed, p->consumed,
				      memory_order_release);
		if (write(p->notify_fd, &one, sizeof(one)) < 0) {
			/* EAGAIN: the counter is saturated, still readable. */
		}
	}
}

static uint64_t held(struct csmp_db *db)
{
	uint64_t n = 0;
	unsigned int i;

	for (i = 0; i < db->nprod; i++)
		n += csmp_spsc_depth(&db->prod[i].ring);
	return n;
}

/*
 * The transaction failed (disk full, I/O error, a lock held too long):
 * roll it back and keep its records where they are, to be applied again
 * by the next attempt; nothing of them is published as committed. The
 * alarm is logged when a streak starts and every FAIL_LOG_US while it
 * lasts, never once per record.
 */
#define FAIL_LOG_US	(10 * 1000000)
#define RETRY_MIN_MS	50
#define RETRY_MAX_MS	1000

static void failed(struct csmp_db *db)
{
	int64_t now = mono_us();
	unsigned int i;

	db->conn->be->rollback(db->conn);
	if (db->conn->msg[0])
		snprintf(db->fail_msg, sizeof(db->fail_msg), "%s",
			 db->conn->msg);
	for (i = 0; i < db->nprod; i++)
		db->prod[i].applied = 0;
	atomic_fetch_add(&db->errors, 1);
	if (!db->fail_tries++) {
		db->fail_since_us = now;
		atomic_store(&db->failing, 1);
	} else if (now - db->fail_logged_us < FAIL_LOG_US) {
		return;
	}
	db->fail_logged_us = now;
	fprintf(stderr, "%%CSMP-2-DB_WRITE: %s: %s: registry not written "
		"for %lld ms, %llu records held (registrations are not "
		"answered until they are committed)\n", db->path,
		db->fail_msg[0] ? db->fail_msg : "commit failed",
		(long long)((now - db->fail_since_us) / 1000),
		(unsigned long long)held(db));
}

static void recovered(struct csmp_db *db)
{
	if (!db->fail_tries)
		return;
	fprintf(stderr, "%%CSMP-5-DB_RECOVERED: %s: registry written again "
		"after %lld ms (%u failed attempts)\n", db->path,
		(long long)((mono_us() - db->fail_since_us) / 1000),
		db->fail_tries);
	db->fail_tries = 0;
	db->fail_msg[0] = 0;
	atomic_store(&db->failing, 0);
}

/* Returns true when the transaction is committed. */
static bool commit(struct csmp_db *db, bool ok)
{
	int64_t t0 = mono_us();

	if (ok && db->conn->be->commit(db->conn))
		ok = false;
	if (!ok) {
		failed(db);
		return false;
	}
	recovered(db);
	committed(db, mono_us() - t0);
	return true;
}

/* Sleep ms, or until csmp_db_close() asks the writer to stop. The
 * producers do not wake it meanwhile (sleeping stays 0). */
static void backoff(struct csmp_db *db, unsigned int ms)
{
	int64_t until = mono_us() + (int64_t)ms * 1000;
	int64_t left;

	while (!atomic_load(&db->stop) && (left = until - mono_us()) > 0) {
		struct pollfd pfd = { .fd = db->wake_fd, .events = POLLIN };
		uint64_t v;

		if (poll(&pfd, 1, (int)((left + 999) / 1000)) > 0 &&
		    read(db->wake_fd, &v, sizeof(v)) < 0) {
			/* EAGAIN: another reader took it */
		}
	}
}

/*
 * Apply the unread records of every producer to the open transaction
 * (opening one if needed), at most `batch` records in a transaction.
 * Returns the number applied, or -errno when a statement failed (the
 * transaction is then doomed).
 */
static int fill(struct csmp_db *db, unsigned int *pending, int64_t *first_us,
		bool *urgent)
{
	unsigned int i, took = 0;
	int ret;

	for (i = 0; i < db->nprod && *pending < db->batch; i++) {
		struct csmp_db_prod *p = &db->prod[i];
		struct csmp_db_rec *r;

		while (*pending < db->batch &&
		       (r = csmp_spsc_peek_at(&p->ring, p->applied))) {
			if (!*pending) {
				db->conn->msg[0] = 0;
				ret = db->conn->be->begin(db->conn);
				if (ret)
					return ret;
				*first_us = mono_us();
			}
			p->applied++;
			(*pending)++;
			took++;
			/* An answered registration may wait for this commit
			 * (ack-after-commit), an enrolment's caller does. */
			if (r->op == CSMP_DB_OP_REGISTER ||
			    r->op == CSMP_DB_OP_KEY)
				*urgent = true;
			ret = db->conn->be->apply(db->conn, r);
			if (ret)
				return ret;
		}
	}
	return (int)took;
}

/*
 * Group commit. A commit costs about the same whatever it holds (the WAL
 * frames of the pages it touched, plus an fsync with synchronous=FULL), so
 * committing each time the rings run dry makes, under a steady load,
 * transactions of a few records whose commits cost more than their
 * statements (measured: 3 records a commit, the writer a third of csmpd's
 * CPU under signed reports). A drained transaction therefore waits until
 * COMMIT_GAP times the last commit's duration has passed since that commit
 * ended: on an idle registry a record is committed at once; under load,
 * commits take at most about 1/COMMIT_GAP of the time and a record waits
 * a few commit durations more (under a millisecond with synchronous=NORMAL,
 * a few fsyncs with FULL). A transaction holding a registration or a key
 * is committed as soon as the rings are drained, as before: its answer is
 * parked until then (ack-after-commit), and parking places are few. So
 * the wait applies to reports and notifications, the bulk of the load.
 * commit_batch and commit_interval bound it.
 */
#define COMMIT_GAP	8

/* Records are freed at commit: a ring half full is committed at once. */
static bool ring_half_full(struct csmp_db *db)
{
	unsigned int i;

	for (i = 0; i < db->nprod; i++) {
		struct csmp_spsc *r = &db->prod[i].ring;

		if (csmp_spsc_depth(r) >= (r->mask + 1) / 2)
			return true;
	}
	return false;
}

static int64_t commit_due(const struct csmp_db *db, int64_t first_us)
{
	int64_t due = first_us + (int64_t)db->interval_ms * 1000;
	int64_t gap = db->last_commit_end_us + COMMIT_GAP * db->last_commit_us;

	return gap < due ? gap : due;
}

/*
 * This node is alive: its row of the nodes table, between transactions,
 * every hb_us. A heartbeat that fails is tried again at the next one (a
 * lost connection is re-established by the backend); its absence is what
 * tells the cluster that this node cannot write.
 */
static void heartbeat(struct csmp_db *db, bool force)
{
	int64_t now = mono_us();

	if (!db->hb_us || (!force && now < db->hb_next_us))
		return;
	db->hb_next_us = now + db->hb_us;
	db->node.heartbeat_ms = wall_ms();
	db->conn->be->heartbeat(db->conn, &db->node);
}

static void *writer(void *arg)
{
	struct csmp_db *db = arg;
	unsigned int pending = 0;
	int64_t first_us = 0;
	bool urgent = false;

	for (;;) {
		int took;
		int64_t wait_us = 100000;

		if (!pending)
			heartbeat(db, false);
		took = fill(db, &pending, &first_us, &urgent);

		if (pending >= db->batch || ring_half_full(db) || urgent)
			wait_us = 0;
		else if (pending)
			wait_us = commit_due(db, first_us) - mono_us();
		if (took < 0 ||
		    (pending && (wait_us <= 0 || atomic_load(&db->stop)))) {
			bool ok = commit(db, took >= 0);

			pending = 0;
			urgent = false;
			if (ok)
				continue;
			if (atomic_load(&db->stop))
				break;
			backoff(db, db->fail_tries >= 5 ? RETRY_MAX_MS :
				    RETRY_MIN_MS << (db->fail_tries - 1));
			continue;
		}
		if (took)
			continue;
		if (atomic_load(&db->stop) && rings_drained(db))
			break;

		/*
		 * Idle, the first record wakes the writer. With records
		 * waiting for their commit it sleeps until the commit is due
		 * without asking to be woken: otherwise every record pushed
		 * meanwhile would cost its producer an eventfd write and both
		 * a context switch (measured: two per signed report, a fifth
		 * of csmpd's CPU on one core). A ring half full wakes it early
		 * (csmp_db_push).
		 */
		if (!pending)
			atomic_store(&db->sleeping, 1);
		atomic_thread_fence(memory_order_seq_cst);
		if ((pending || rings_drained(db)) && !atomic_load(&db->stop)) {
			struct pollfd pfd = { .fd = db->wake_fd,
					      .events = POLLIN };
			struct timespec ts = {
				.tv_sec = wait_us / 1000000,
				.tv_nsec = (wait_us % 1000000) * 1000,
			};
			uint64_t v;

			ppoll(&pfd, 1, &ts, NULL);
			if (read(db->wake_fd, &v, sizeof(v)) < 0) {
				/* EAGAIN: woken by the timeout */
			}
		}
		atomic_store(&db->sleeping, 0);
	}
	if (held(db)) {
		fprintf(stderr, "%%CSMP-3-DB_WRITE: %s: stopping with %llu "
			"records not committed: %s\n", db->path,
			(unsigned long long)held(db),
			db->fail_msg[0] ? db->fail_msg : "commit failed");
	} else {
		/* A clean stop: the cluster need not wait for a timeout. */
		snprintf(db->node.state, sizeof(db->node.state), "down");
		heartbeat(db, true);
	}
	return NULL;
}

int csmp_db_start(struct csmp_db *db)
{
	int ret;

	ret = -pthread_create(&db->thread, NULL, writer, db);
	if (ret)
		return ret;
	pthread_setname_np(db->thread, "csmpd-db");
	db->started = true;
	return 0;
}

struct csmp_db_rec *csmp_db_reserve(struct csmp_db *db, unsigned int p)
{
	struct csmp_db_rec *r = csmp_spsc_reserve(&db->prod[p].ring);

	if (r) {
		/* Callers fill what they know; the rest must read as empty. */
		r->len = 0;
		r->session[0] = 0;
		r->group[0] = 0;
	}
	return r;
}

uint64_t csmp_db_push(struct csmp_db *db, unsigned int p)
{
	struct csmp_spsc *r = &db->prod[p].ring;
	uint64_t seq = csmp_spsc_push(r);
	uint64_t one = 1;

	atomic_thread_fence(memory_order_seq_cst);
	if ((atomic_load_explicit(&db->sleeping, memory_order_relaxed) ||
	     csmp_spsc_depth(r) == (r->mask + 1) / 2) &&
	    write(db->wake_fd, &one, sizeof(one)) < 0) {
		/* EAGAIN: already signalled */
	}
	return seq;
}

uint64_t csmp_db_committed(struct csmp_db *db, unsigned int p)
{
	return atomic_load_explicit(&db->prod[p].committed,
				    memory_order_acquire);
}

int csmp_db_notify_fd(struct csmp_db *db, unsigned int p)
{
	return db->prod[p].notify_fd;
}

void csmp_db_get_stats(struct csmp_db *db, struct csmp_db_stats *s)
{
	struct timespec ts;
	unsigned int i;
	clockid_t cid;

	memset(s, 0, sizeof(*s));
	if (!db)
		return;
	s->records = atomic_load(&db->records);
	s->commits = atomic_load(&db->commits);
	s->errors = atomic_load(&db->errors);
	s->max_commit_us = atomic_load(&db->max_commit_us);
	s->failing = atomic_load(&db->failing);
	for (i = 0; i < db->nprod; i++)
		s->queue_depth += csmp_spsc_depth(&db->prod[i].ring);
	/* The writer's share of csmpd's CPU is what persistence costs. */
	if (db->started && !pthread_getcpuclockid(db->thread, &cid) &&
	    !clock_gettime(cid, &ts))
		s->writer_cpu_ns = (uint64_t)ts.tv_sec * 1000000000ull +
				   (uint64_t)ts.tv_nsec;
}

void csmp_db_close(struct csmp_db *db)
{
	uint64_t one = 1;
	unsigned int i;

	if (!db)
		return;
	if (db->started) {
		atomic_store(&db->stop, 1);
		if (write(db->wake_fd, &one, sizeof(one)) < 0) {
			/* already signalled */
		}
		pthread_join(db->thread, NULL);
	}
	db->conn->be->close(db->conn);
	for (i = 0; i < db->nprod; i++) {
		csmp_spsc_fini(&db->prod[i].ring);
		close(db->prod[i].notify_fd);
	}
	close(db->wake_fd);
	free(db->prod);
	free(db->path);
	free(db);
}

int csmp_db_reader_open(const char *path, struct csmp_db_reader **out,
			char *err, size_t errlen)
{
	struct csmp_db_conn_opts co = { .target = path };
	struct csmp_db_reader *r;
	int ret;

	if (!path || !*path)
		return fail(err, errlen, -EINVAL, "(null)", "no database");
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	ret = backend_of(path)->open(&co, &r->conn, err, errlen);
	if (ret) {
		free(r);
		return ret;
	}
	*out = r;
	return 0;
}

void csmp_db_reader_close(struct csmp_db_reader *r)
{
	if (!r)
		return;
	r->conn->be->close(r->conn);
	free(r);
}

int csmp_db_count(struct csmp_db_reader *r, uint64_t *n)
{
	return r->conn->be->count(r->conn, n);
}

int csmp_db_devices(struct csmp_db_reader *r, const uint64_t *eid,
		    csmp_db_dev_cb cb, void *ctx)
{
	return r->conn->be->devices(r->conn, eid, cb, ctx);
}

int csmp_db_tlvs(struct csmp_db_reader *r, uint64_t eid, csmp_db_tlv_cb cb,
		 void *ctx)
{
	return r->conn->be->tlvs(r->conn, eid, cb, ctx);
}

int csmp_db_nodes(struct csmp_db_reader *r, csmp_db_node_cb cb, void *ctx)
{
	return r->conn->be->nodes(r->conn, cb, ctx);
}
