// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * Registry persistence (db.h): schema and migrations, the writer thread
 * with group commit, the start-up load and the read side used by the
 * control socket. The writer decodes the TLVs of each record itself, so
 * the workers only copy bytes into their ring.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/types.h>
#include <poll.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "csmp/tlv.h"
#include "registry/db.h"
#include "server/ring.h"

/*
 * Schema history: migrations[i] takes user_version i to i + 1. Never edit a
 * released step; append one.
 */
static const char *const migrations[] = {
	/* 0 -> 1 */
	"CREATE TABLE devices ("
	"  eid TEXT PRIMARY KEY NOT NULL,"	/* 16 upper-case hex digits */
	"  session_id TEXT NOT NULL,"
	"  addr TEXT NOT NULL,"
	"  port INTEGER NOT NULL,"
	"  grp TEXT NOT NULL DEFAULT '',"
	"  first_reg INTEGER NOT NULL,"		/* ms since the epoch */
	"  last_reg INTEGER NOT NULL,"
	"  last_seen INTEGER NOT NULL,"
	"  registrations INTEGER NOT NULL DEFAULT 0,"
	"  reports INTEGER NOT NULL DEFAULT 0,"
	"  hw_model TEXT NOT NULL DEFAULT '',"
	"  hw_serial TEXT NOT NULL DEFAULT '',"
	"  fw_version TEXT NOT NULL DEFAULT ''"
	") WITHOUT ROWID;"
	"CREATE TABLE tlv_values ("		/* latest value per TLV id */
	"  eid TEXT NOT NULL,"
	"  tlv INTEGER NOT NULL,"
	"  idx INTEGER NOT NULL,"		/* table TLVs: instance number */
	"  value BLOB NOT NULL,"
	"  updated INTEGER NOT NULL,"
	"  PRIMARY KEY (eid, tlv, idx)"
	") WITHOUT ROWID;"
	"CREATE TABLE meta ("			/* daemon-wide state */
	"  key TEXT PRIMARY KEY NOT NULL,"
	"  value BLOB NOT NULL"
	");",
	/* 1 -> 2: enrolled device keys for uplink signatures */
	"CREATE TABLE device_keys ("
	"  eid TEXT PRIMARY KEY NOT NULL,"
	"  suite INTEGER NOT NULL,"		/* enum csmp_sig_suite */
	"  pub BLOB NOT NULL,"			/* raw public key */
	"  enrolled INTEGER NOT NULL"		/* ms since the epoch */
	") WITHOUT ROWID;",
};

_Static_assert(sizeof(migrations) / sizeof(migrations[0]) ==
	       CSMP_DB_SCHEMA_VERSION, "one migration per schema version");

enum {
	ST_REG,
	ST_REPORT,
	ST_TLV_DEL,
	ST_TLV_INS,
	ST_KEY,
	ST_BEGIN,
	ST_COMMIT,
	ST__MAX,
};

static const char *const stmt_sql[ST__MAX] = {
	[ST_REG] =
	"INSERT INTO devices (eid, session_id, addr, port, grp, first_reg,"
	" last_reg, last_seen, registrations, hw_model, hw_serial, fw_version)"
	" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?6, 1, ?7, ?8, ?9)"
	" ON CONFLICT (eid) DO UPDATE SET session_id = excluded.session_id,"
	" addr = excluded.addr, port = excluded.port, grp = excluded.grp,"
	" last_reg = excluded.last_reg, last_seen = excluded.last_seen,"
	" registrations = registrations + 1,"
	" hw_model = CASE excluded.hw_model WHEN '' THEN hw_model"
	"  ELSE excluded.hw_model END,"
	" hw_serial = CASE excluded.hw_serial WHEN '' THEN hw_serial"
	"  ELSE excluded.hw_serial END,"
	" fw_version = CASE excluded.fw_version WHEN '' THEN fw_version"
	"  ELSE excluded.fw_version END",
	[ST_REPORT] =
	"UPDATE devices SET last_seen = MAX(last_seen, ?2), addr = ?3,"
	" port = ?4, reports = reports + ?5 WHERE eid = ?1",
	[ST_TLV_DEL] = "DELETE FROM tlv_values WHERE eid = ?1 AND tlv = ?2",
	[ST_TLV_INS] =
	"INSERT OR REPLACE INTO tlv_values (eid, tlv, idx, value, updated)"
	" VALUES (?1, ?2, ?3, ?4, ?5)",
	[ST_KEY] =
	"INSERT OR REPLACE INTO device_keys (eid, suite, pub, enrolled)"
	" VALUES (?1, ?2, ?3, ?4)",
	[ST_BEGIN] = "BEGIN",
	[ST_COMMIT] = "COMMIT",
};

struct csmp_db_prod {
	struct csmp_spsc ring;
	_Alignas(CSMP_CACHELINE) _Atomic uint64_t committed;
	uint64_t consumed;	/* writer only: records committed */
	uint64_t applied;	/* writer only: in the open transaction */
	int notify_fd;
};

struct csmp_db {
	sqlite3 *sql;
	sqlite3_stmt *st[ST__MAX];
	char *path;
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
};

struct csmp_db_reader {
	sqlite3 *sql;
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

static int sql_errno(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_READONLY:
	case SQLITE_PERM:
	case SQLITE_AUTH:
		return -EACCES;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_CANTOPEN:
		return -ENOENT;
	case SQLITE_NOTADB:
	case SQLITE_CORRUPT:
	case SQLITE_FORMAT:
		return -EBADMSG;
	default:
		return -EIO;
	}
}

static int fail(char *err, size_t errlen, int ret, const char *path,
		const char *what, sqlite3 *sql)
{
	if (err && errlen)
		snprintf(err, errlen, "%s: %s%s%s", path, what,
			 sql ? ": " : "", sql ? sqlite3_errmsg(sql) : "");
	return ret;
}

static int exec_int(sqlite3 *sql, const char *q, int64_t *val)
{
	sqlite3_stmt *st;
	int rc;

	rc = sqlite3_prepare_v2(sql, q, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return rc;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*val = sqlite3_column_int64(st, 0);
		rc = SQLITE_OK;
	} else if (rc == SQLITE_DONE) {
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	return rc;
}

static int migrate(sqlite3 *sql, const char *path, char *err, size_t errlen)
{
	int64_t ver = 0;
	char q[64];
	int rc;

	rc = exec_int(sql, "PRAGMA user_version", &ver);
	if (rc != SQLITE_OK)
		return fail(err, errlen, sql_errno(rc), path,
			    "cannot read the schema version", sql);
	if (ver > CSMP_DB_SCHEMA_VERSION) {
		snprintf(q, sizeof(q), "schema version %lld", (long long)ver);
		if (err && errlen)
			snprintf(err, errlen,
				 "%s: %s is newer than this csmpd knows (%d)",
				 path, q, CSMP_DB_SCHEMA_VERSION);
		return -EPROTO;
	}
	for (; ver < CSMP_DB_SCHEMA_VERSION; ver++) {
		rc = sqlite3_exec(sql, "BEGIN IMMEDIATE", NULL, NULL, NULL);
		if (rc != SQLITE_OK)
			return fail(err, errlen, sql_errno(rc), path,
				    "cannot begin the schema migration", sql);
		rc = sqlite3_exec(sql, migrations[ver], NULL, NULL, NULL);
		if (rc == SQLITE_OK) {
			snprintf(q, sizeof(q), "PRAGMA user_version = %lld",
				 (long long)ver + 1);
			rc = sqlite3_exec(sql, q, NULL, NULL, NULL);
		}
		if (rc == SQLITE_OK)
			rc = sqlite3_exec(sql, "COMMIT", NULL, NULL, NULL);
		if (rc != SQLITE_OK) {
			int ret = fail(err, errlen, sql_errno(rc), path,
				       "schema migration failed", sql);

			sqlite3_exec(sql, "ROLLBACK", NULL, NULL, NULL);
			return ret;
		}
	}
	return 0;
}

int csmp_db_open(const struct csmp_db_opts *o, struct csmp_db **out,
		 char *err, size_t errlen)
{
	unsigned int slots = o->ring_slots ? o->ring_slots : 4096;
	struct csmp_db *db;
	int64_t dummy;
	unsigned int i;
	int rc, ret;

	if (!o->path || !*o->path || !o->producers)
		return fail(err, errlen, -EINVAL, o->path ? o->path : "(null)",
			    "no database path or no producer", NULL);
	db = calloc(1, sizeof(*db));
	if (!db)
		return fail(err, errlen, -ENOMEM, o->path, "out of memory",
			    NULL);
	db->wake_fd = -1;
	db->interval_ms = o->commit_interval_ms ? o->commit_interval_ms : 50;
	db->batch = o->commit_batch ? o->commit_batch : 1024;
	db->path = strdup(o->path);
	if (!db->path) {
		ret = fail(err, errlen, -ENOMEM, o->path, "out of memory",
			   NULL);
		goto err_free;
	}

	rc = sqlite3_open_v2(o->path, &db->sql,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
			     SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		ret = fail(err, errlen, sql_errno(rc), o->path,
			   "cannot open", db->sql);
		goto err_close_sql;
	}
	sqlite3_extended_result_codes(db->sql, 1);
	if (sqlite3_db_readonly(db->sql, "main") == 1) {
		ret = fail(err, errlen, -EACCES, o->path,
			   "database is read-only", NULL);
		goto err_close_sql;
	}
	/* The first statement reads the header: garbage fails here. */
	rc = sqlite3_exec(db->sql, "PRAGMA journal_mode = WAL", NULL, NULL,
			  NULL);
	if (rc == SQLITE_OK)
		rc = exec_int(db->sql, "SELECT count(*) FROM sqlite_schema",
			      &dummy);
	if (rc != SQLITE_OK) {
		ret = fail(err, errlen, sql_errno(rc), o->path,
			   "not a usable SQLite database", db->sql);
		goto err_close_sql;
	}
	rc = sqlite3_exec(db->sql, o->sync_full ? "PRAGMA synchronous = FULL" :
					"PRAGMA synchronous = NORMAL",
			  NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_busy_timeout(db->sql, 5000);
	if (rc != SQLITE_OK) {
		ret = fail(err, errlen, sql_errno(rc), o->path,
			   "cannot configure", db->sql);
		goto err_close_sql;
	}
	ret = migrate(db->sql, o->path, err, errlen);
	if (ret)
		goto err_close_sql;
	/* A write proves the file and its directory (the WAL) are writable. */
	rc = sqlite3_exec(db->sql, "BEGIN IMMEDIATE; COMMIT", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		ret = fail(err, errlen, sql_errno(rc), o->path,
			   "database is not writable", db->sql);
		goto err_close_sql;
	}
	for (i = 0; i < ST__MAX; i++) {
		rc = sqlite3_prepare_v3(db->sql, stmt_sql[i], -1,
					SQLITE_PREPARE_PERSISTENT, &db->st[i],
					NULL);
		if (rc != SQLITE_OK) {
			ret = fail(err, errlen, sql_errno(rc), o->path,
				   "unexpected schema", db->sql);
			goto err_finalize;
		}
	}

	db->nprod = o->producers;
	db->prod = calloc(db->nprod, sizeof(*db->prod));
	if (!db->prod) {
		ret = fail(err, errlen, -ENOMEM, o->path, "out of memory",
			   NULL);
		goto err_finalize;
	}
	for (i = 0; i < db->nprod; i++)
		db->prod[i].notify_fd = -1;
	for (i = 0; i < db->nprod; i++) {
		ret = csmp_spsc_init(&db->prod[i].ring, slots,
				     sizeof(struct csmp_db_rec));
		if (ret) {
			fail(err, errlen, ret, o->path,
			     "cannot allocate the record rings", NULL);
			goto err_rings;
		}
		db->prod[i].notify_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (db->prod[i].notify_fd < 0) {
			ret = fail(err, errlen, -errno, o->path,
				   "eventfd", NULL);
			goto err_rings;
		}
	}
	db->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (db->wake_fd < 0) {
		ret = fail(err, errlen, -errno, o->path, "eventfd", NULL);
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
err_finalize:
	for (i = 0; i < ST__MAX; i++)
		sqlite3_finalize(db->st[i]);
err_close_sql:
	sqlite3_close(db->sql);
	free(db->path);
err_free:
	free(db);
	return ret;
}

static void text_col(sqlite3_stmt *st, int col, char *out, size_t cap)
{
	const unsigned char *t = sqlite3_column_text(st, col);

	snprintf(out, cap, "%s", t ? (const char *)t : "");
}

#define DEV_COLS "eid, session_id, addr, port, grp, first_reg, last_reg," \
		 " last_seen, registrations, reports, hw_model, hw_serial," \
		 " fw_version"

/* Fill d from a row of DEV_COLS. Returns 0 or -EBADMSG. */
static int dev_from_row(sqlite3_stmt *st, struct csmp_db_dev *d)
{
	char addr[INET6_ADDRSTRLEN];

	memset(d, 0, sizeof(*d));
	if (csmp_db_eid_parse((const char *)sqlite3_column_text(st, 0),
			      &d->eid))
		return -EBADMSG;
	text_col(st, 1, d->session, sizeof(d->session));
	text_col(st, 2, addr, sizeof(addr));
	d->addr.sin6_family = AF_INET6;
	if (inet_pton(AF_INET6, addr, &d->addr.sin6_addr) != 1)
		return -EBADMSG;
	d->addr.sin6_port = htons((uint16_t)sqlite3_column_int(st, 3));
	text_col(st, 4, d->group, sizeof(d->group));
	d->first_reg_ms = sqlite3_column_int64(st, 5);
	d->last_reg_ms = sqlite3_column_int64(st, 6);
	d->last_seen_ms = sqlite3_column_int64(st, 7);
	d->registrations = (uint64_t)sqlite3_column_int64(st, 8);
	d->reports = (uint64_t)sqlite3_column_int64(st, 9);
	text_col(st, 10, d->hw_model, sizeof(d->hw_model));
	text_col(st, 11, d->hw_serial, sizeof(d->hw_serial));
	text_col(st, 12, d->fw_version, sizeof(d->fw_version));
	return 0;
}

/* Walk the rows of a prepared DEV_COLS query through cb. */
static int walk_devices(sqlite3 *sql, sqlite3_stmt *st, csmp_db_dev_cb cb,
			void *ctx, unsigned int *rows, char *err,
			size_t errlen, const char *path)
{
	struct csmp_db_dev d;
	int rc, ret;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (dev_from_row(st, &d))
			return fail(err, errlen, -EBADMSG, path,
				    "malformed device row", NULL);
		(*rows)++;
		ret = cb(ctx, &d);
		if (ret)
			return ret;
	}
	if (rc != SQLITE_DONE)
		return fail(err, errlen, sql_errno(rc), path,
			    "cannot read the devices", sql);
	return 0;
}

int csmp_db_load(struct csmp_db *db, csmp_db_dev_cb cb, void *ctx, char *err,
		 size_t errlen)
{
	sqlite3_stmt *st;
	unsigned int rows = 0;
	int rc, ret;

	rc = sqlite3_prepare_v2(db->sql, "SELECT " DEV_COLS " FROM devices",
				-1, &st, NULL);
	if (rc != SQLITE_OK)
		return fail(err, errlen, sql_errno(rc), db->path,
			    "cannot read the devices", db->sql);
	ret = walk_devices(db->sql, st, cb, ctx, &rows, err, errlen, db->path);
	sqlite3_finalize(st);
	return ret;
}

static void bind_eid(sqlite3_stmt *st, int col, uint64_t eid)
{
	char s[17];

	csmp_db_eid_str(eid, s);
	sqlite3_bind_text(st, col, s, 16, SQLITE_TRANSIENT);
}

/* Run one write statement. A failure fails the whole transaction (the
 * writer rolls it back and retries it): its message is kept for the
 * alarm, which the writer logs once per failure streak. */
static int step_reset(struct csmp_db *db, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	if (rc != SQLITE_DONE)
		snprintf(db->fail_msg, sizeof(db->fail_msg), "%s",
			 sqlite3_errmsg(db->sql));
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE ? 0 : sql_errno(rc);
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

/*
 * Store every TLV of the record as the device's latest value for its id:
 * the instances of one id replace the previous ones (tables come whole).
 */
static int store_tlvs(struct csmp_db *db, const struct csmp_db_rec *r,
		      char *hw_model, char *hw_serial, char *fw_version)
{
	uint32_t ids[CSMP_MAX_TLVS], count[CSMP_MAX_TLVS];
	sqlite3_stmt *del = db->st[ST_TLV_DEL], *ins = db->st[ST_TLV_INS];
	struct csmp_tlv_iter it;
	struct csmp_tlv t;
	unsigned int n = 0, k;
	bool fw_running = false;
	int ret;

	csmp_tlv_init(&it, r->payload, r->len);
	while (csmp_tlv_next(&it, &t) == 1) {
		const __u8 *v = r->payload + t.off;
		__u64 running = 0;

		if (t.type == CSMP_TLV_SIGNATURE ||
		    t.type == CSMP_TLV_SIGNATURE_VALIDITY)
			continue;
		for (k = 0; k < n && ids[k] != t.type; k++)
			;
		if (k == n) {
			/* First instance in this message: it replaces the
			 * whole previous set (tables come whole). */
			if (n == CSMP_MAX_TLVS)
				break;
			ids[n] = t.type;
			count[n++] = 0;
			bind_eid(del, 1, r->eid);
			sqlite3_bind_int64(del, 2, t.type);
			ret = step_reset(db, del);
			if (ret)
				return ret;
		}
		bind_eid(ins, 1, r->eid);
		sqlite3_bind_int64(ins, 2, t.type);
		sqlite3_bind_int64(ins, 3, count[k]++);
		/* Vendor TLVs keep their header: PEN and type are in it. */
		if (t.type == CSMP_TLV_VENDOR)
			sqlite3_bind_blob(ins, 4, r->payload + t.hdr,
					  (int)(t.off + t.len - t.hdr),
					  SQLITE_STATIC);
		else
			sqlite3_bind_blob(ins, 4, v, (int)t.len, SQLITE_STATIC);
		sqlite3_bind_int64(ins, 5, r->ts_ms);
		ret = step_reset(db, ins);
		if (ret)
			return ret;

		if (t.type == CSMP_TLV_HARDWARE_DESC && !hw_model[0]) {
			pb_string(v, t.len, 13, hw_model, CSMP_DB_TEXT_MAX);
			pb_string(v, t.len, 11, hw_serial, CSMP_DB_TEXT_MAX);
		}
		if (t.type == CSMP_TLV_FIRMWARE_IMAGE_INFO && !fw_running) {
			csmp_pb_find(v, t.len, 9, 0, &running, NULL, NULL);
			if (running || !fw_version[0])
				pb_string(v, t.len, 4, fw_version,
					  CSMP_DB_TEXT_MAX);
			fw_running = running;
		}
	}
	/* A malformed tail loses only itself: the worker already parsed it. */
	return 0;
}

static int apply(struct csmp_db *db, const struct csmp_db_rec *r)
{
	char addr[INET6_ADDRSTRLEN] = "::";
	char hw_model[CSMP_DB_TEXT_MAX] = "", hw_serial[CSMP_DB_TEXT_MAX] = "";
	char fw_version[CSMP_DB_TEXT_MAX] = "";
	sqlite3_stmt *st;
	int ret;

	if (r->op == CSMP_DB_OP_KEY) {
		st = db->st[ST_KEY];
		bind_eid(st, 1, r->eid);
		sqlite3_bind_int(st, 2, r->pad);
		sqlite3_bind_blob(st, 3, r->payload, r->len, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, r->ts_ms);
		return step_reset(db, st);
	}
	inet_ntop(AF_INET6, &r->addr.sin6_addr, addr, sizeof(addr));
	ret = store_tlvs(db, r, hw_model, hw_serial, fw_version);
	if (ret)
		return ret;
	switch (r->op) {
	case CSMP_DB_OP_REGISTER:
		st = db->st[ST_REG];
		bind_eid(st, 1, r->eid);
		sqlite3_bind_text(st, 2, r->session,
				  (int)strnlen(r->session, sizeof(r->session)),
				  SQLITE_STATIC);
		sqlite3_bind_text(st, 3, addr, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int(st, 4, ntohs(r->addr.sin6_port));
		sqlite3_bind_text(st, 5, r->group,
				  (int)strnlen(r->group, sizeof(r->group)),
				  SQLITE_STATIC);
		sqlite3_bind_int64(st, 6, r->ts_ms);
		sqlite3_bind_text(st, 7, hw_model, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 8, hw_serial, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 9, fw_version, -1, SQLITE_TRANSIENT);
		return step_reset(db, st);
	case CSMP_DB_OP_REPORT:
	case CSMP_DB_OP_NOTIFY:
		st = db->st[ST_REPORT];
		bind_eid(st, 1, r->eid);
		sqlite3_bind_int64(st, 2, r->ts_ms);
		sqlite3_bind_text(st, 3, addr, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int(st, 4, ntohs(r->addr.sin6_port));
		sqlite3_bind_int(st, 5, r->op == CSMP_DB_OP_REPORT);
		return step_reset(db, st);
	default:
		/* Only this file's callers make records: never reached. */
		snprintf(db->fail_msg, sizeof(db->fail_msg),
			 "record with unknown op %u", r->op);
		return -EINVAL;
	}
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

	if (!sqlite3_get_autocommit(db->sql))
		sqlite3_exec(db->sql, "ROLLBACK", NULL, NULL, NULL);
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
	int rc;

	if (ok) {
		rc = sqlite3_step(db->st[ST_COMMIT]);
		sqlite3_reset(db->st[ST_COMMIT]);
		if (rc != SQLITE_DONE) {
			snprintf(db->fail_msg, sizeof(db->fail_msg),
				 "commit: %s", sqlite3_errmsg(db->sql));
			ok = false;
		}
	}
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
				ret = step_reset(db, db->st[ST_BEGIN]);
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
			ret = apply(db, r);
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

static void *writer(void *arg)
{
	struct csmp_db *db = arg;
	unsigned int pending = 0;
	int64_t first_us = 0;
	bool urgent = false;

	for (;;) {
		int took = fill(db, &pending, &first_us, &urgent);
		int64_t wait_us = 100000;

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
	if (held(db))
		fprintf(stderr, "%%CSMP-3-DB_WRITE: %s: stopping with %llu "
			"records not committed: %s\n", db->path,
			(unsigned long long)held(db),
			db->fail_msg[0] ? db->fail_msg : "commit failed");
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
	for (i = 0; i < ST__MAX; i++)
		sqlite3_finalize(db->st[i]);
	sqlite3_close(db->sql);
	for (i = 0; i < db->nprod; i++) {
		csmp_spsc_fini(&db->prod[i].ring);
		close(db->prod[i].notify_fd);
	}
	close(db->wake_fd);
	free(db->prod);
	free(db->path);
	free(db);
}

int csmp_db_keys(struct csmp_db *db, csmp_db_key_cb cb, void *ctx)
{
	sqlite3_stmt *st;
	uint64_t eid;
	int rc, ret = 0;

	rc = sqlite3_prepare_v2(db->sql, "SELECT eid, suite, pub FROM device_keys",
				-1, &st, NULL);
	if (rc != SQLITE_OK)
		return sql_errno(rc);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (csmp_db_eid_parse((const char *)sqlite3_column_text(st, 0),
				      &eid))
			continue;
		ret = cb(ctx, eid, sqlite3_column_int(st, 1),
			 sqlite3_column_blob(st, 2),
			 (size_t)sqlite3_column_bytes(st, 2));
		if (ret)
			break;
	}
	if (!ret && rc != SQLITE_DONE)
		ret = sql_errno(rc);
	sqlite3_finalize(st);
	return ret;
}

uint64_t csmp_db_queue_depth(struct csmp_db *db, unsigned int p)
{
	return csmp_spsc_depth(&db->prod[p].ring);
}

int csmp_db_meta_get(struct csmp_db *db, const char *key, void *val,
		     size_t cap)
{
	sqlite3_stmt *st;
	int rc, ret;

	rc = sqlite3_prepare_v2(db->sql, "SELECT value FROM meta WHERE key = ?1",
				-1, &st, NULL);
	if (rc != SQLITE_OK)
		return sql_errno(rc);
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		int n = sqlite3_column_bytes(st, 0);

		ret = n;
		memcpy(val, sqlite3_column_blob(st, 0),
		       (size_t)n < cap ? (size_t)n : cap);
	} else {
		ret = rc == SQLITE_DONE ? -ENOENT : sql_errno(rc);
	}
	sqlite3_finalize(st);
	return ret;
}

int csmp_db_meta_set(struct csmp_db *db, const char *key, const void *val,
		     size_t len)
{
	sqlite3_stmt *st;
	int rc;

	if (db->started)
		return -EBUSY;	/* the writer thread owns the connection */
	rc = sqlite3_prepare_v2(db->sql,
				"INSERT OR REPLACE INTO meta (key, value)"
				" VALUES (?1, ?2)", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return sql_errno(rc);
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, val, (int)len, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : sql_errno(rc);
}

int csmp_db_reader_open(const char *path, struct csmp_db_reader **out,
			char *err, size_t errlen)
{
	struct csmp_db_reader *r;
	int rc, ret;

	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	rc = sqlite3_open_v2(path, &r->sql, SQLITE_OPEN_READONLY |
			     SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		ret = fail(err, errlen, sql_errno(rc), path, "cannot open",
			   r->sql);
		goto err_close;
	}
	sqlite3_busy_timeout(r->sql, 2000);
	*out = r;
	return 0;

err_close:
	sqlite3_close(r->sql);
	free(r);
	return ret;
}

void csmp_db_reader_close(struct csmp_db_reader *r)
{
	if (!r)
		return;
	sqlite3_close(r->sql);
	free(r);
}

int csmp_db_count(struct csmp_db_reader *r, uint64_t *n)
{
	int64_t v = 0;
	int rc;

	rc = exec_int(r->sql, "SELECT count(*) FROM devices", &v);
	if (rc != SQLITE_OK)
		return sql_errno(rc);
	*n = (uint64_t)v;
	return 0;
}

int csmp_db_devices(struct csmp_db_reader *r, const uint64_t *eid,
		    csmp_db_dev_cb cb, void *ctx)
{
	sqlite3_stmt *st;
	unsigned int rows = 0;
	int rc, ret;

	rc = sqlite3_prepare_v2(r->sql, eid ?
				"SELECT " DEV_COLS " FROM devices WHERE eid = ?1" :
				"SELECT " DEV_COLS " FROM devices ORDER BY eid",
				-1, &st, NULL);
	if (rc != SQLITE_OK)
		return sql_errno(rc);
	if (eid)
		bind_eid(st, 1, *eid);
	ret = walk_devices(r->sql, st, cb, ctx, &rows, NULL, 0, "");
	sqlite3_finalize(st);
	if (!ret && eid && !rows)
		return -ENOENT;
	return ret;
}

int csmp_db_tlvs(struct csmp_db_reader *r, uint64_t eid, csmp_db_tlv_cb cb,
		 void *ctx)
{
	sqlite3_stmt *st;
	int rc, ret = 0;

	rc = sqlite3_prepare_v2(r->sql,
				"SELECT tlv, idx, value, updated FROM tlv_values"
				" WHERE eid = ?1 ORDER BY tlv, idx", -1, &st,
				NULL);
	if (rc != SQLITE_OK)
		return sql_errno(rc);
	bind_eid(st, 1, eid);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		ret = cb(ctx, (uint32_t)sqlite3_column_int64(st, 0),
			 (uint32_t)sqlite3_column_int64(st, 1),
			 sqlite3_column_blob(st, 2),
			 (size_t)sqlite3_column_bytes(st, 2),
			 sqlite3_column_int64(st, 3));
		if (ret)
			break;
	}
	if (!ret && rc != SQLITE_DONE)
		ret = sql_errno(rc);
	sqlite3_finalize(st);
	return ret;
}
