// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The SQLite backend of the registry (db_backend.h): one file in WAL mode,
 * schema versioned by PRAGMA user_version, one prepared statement per write
 * and one transaction per group commit. The embedded default: a single
 * node, so a device's owner is recorded but never fences a write.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry/db_backend.h"

/*
 * Schema history: migrations[i] takes user_version i to i + 1. Never edit a
 * released step; append one (and the same step to db_pg.c's list).
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
	/* 2 -> 3: cluster nodes and device ownership */
	"ALTER TABLE devices ADD COLUMN owner INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE devices ADD COLUMN epoch INTEGER NOT NULL DEFAULT 0;"
	"CREATE TABLE nodes ("
	"  node INTEGER PRIMARY KEY NOT NULL,"	/* backend id */
	"  addr TEXT NOT NULL DEFAULT '',"
	"  reply_port_lo INTEGER NOT NULL DEFAULT 0,"
	"  reply_port_hi INTEGER NOT NULL DEFAULT 0,"
	"  state TEXT NOT NULL DEFAULT 'up',"
	"  started INTEGER NOT NULL,"		/* ms since the epoch */
	"  heartbeat INTEGER NOT NULL,"
	"  epoch INTEGER NOT NULL DEFAULT 0"	/* starts so far */
	");",
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
	ST_NODE,
	ST__MAX,
};

static const char *const stmt_sql[ST__MAX] = {
	[ST_REG] =
	"INSERT INTO devices (eid, session_id, addr, port, grp, first_reg,"
	" last_reg, last_seen, registrations, hw_model, hw_serial, fw_version,"
	" owner)"
	" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?6, 1, ?7, ?8, ?9, ?10)"
	" ON CONFLICT (eid) DO UPDATE SET session_id = excluded.session_id,"
	" addr = excluded.addr, port = excluded.port, grp = excluded.grp,"
	" last_reg = excluded.last_reg, last_seen = excluded.last_seen,"
	" registrations = registrations + 1,"
	" hw_model = CASE excluded.hw_model WHEN '' THEN hw_model"
	"  ELSE excluded.hw_model END,"
	" hw_serial = CASE excluded.hw_serial WHEN '' THEN hw_serial"
	"  ELSE excluded.hw_serial END,"
	" fw_version = CASE excluded.fw_version WHEN '' THEN fw_version"
	"  ELSE excluded.fw_version END,"
	" epoch = CASE owner WHEN excluded.owner THEN epoch ELSE epoch + 1 END,"
	" owner = excluded.owner",
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
	[ST_NODE] =
	"INSERT INTO nodes (node, addr, reply_port_lo, reply_port_hi, state,"
	" started, heartbeat, epoch) VALUES (?1, ?2, ?3, ?4, ?5, ?7, ?6, 1)"
	" ON CONFLICT (node) DO UPDATE SET addr = excluded.addr,"
	" reply_port_lo = excluded.reply_port_lo,"
	" reply_port_hi = excluded.reply_port_hi, state = excluded.state,"
	" heartbeat = excluded.heartbeat,"
	" epoch = CASE WHEN started = ?7 THEN epoch ELSE epoch + 1 END,"
	" started = ?7",
};

struct sq_conn {
	struct csmp_db_conn c;
	sqlite3 *sql;
	sqlite3_stmt *st[ST__MAX];
	const char *path;
	uint16_t node;
};

static struct sq_conn *sq(struct csmp_db_conn *c)
{
	return (struct sq_conn *)c;
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
		if (err && errlen)
			snprintf(err, errlen,
				 "%s: schema version %lld is newer than this "
				 "csmpd knows (%d)", path, (long long)ver,
				 CSMP_DB_SCHEMA_VERSION);
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

static void sq_close(struct csmp_db_conn *c)
{
	struct sq_conn *s = sq(c);
	unsigned int i;

	if (!c)
		return;
	for (i = 0; i < ST__MAX; i++)
		sqlite3_finalize(s->st[i]);
	sqlite3_close(s->sql);
	free(s);
}

/* The writer's connection: WAL, the schema migrated, writable. */
static int open_writer(struct sq_conn *s, const struct csmp_db_conn_opts *o,
		       char *err, size_t errlen)
{
	int64_t dummy;
	unsigned int i;
	int rc;

	rc = sqlite3_open_v2(o->target, &s->sql,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
			     SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK)
		return fail(err, errlen, sql_errno(rc), o->target,
			    "cannot open", s->sql);
	sqlite3_extended_result_codes(s->sql, 1);
	if (sqlite3_db_readonly(s->sql, "main") == 1)
		return fail(err, errlen, -EACCES, o->target,
			    "database is read-only", NULL);
	/* The first statement reads the header: garbage fails here. */
	rc = sqlite3_exec(s->sql, "PRAGMA journal_mode = WAL", NULL, NULL,
			  NULL);
	if (rc == SQLITE_OK)
		rc = exec_int(s->sql, "SELECT count(*) FROM sqlite_schema",
			      &dummy);
	if (rc != SQLITE_OK)
		return fail(err, errlen, sql_errno(rc), o->target,
			    "not a usable SQLite database", s->sql);
	rc = sqlite3_exec(s->sql, o->sync_full ? "PRAGMA synchronous = FULL" :
					"PRAGMA synchronous = NORMAL",
			  NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_busy_timeout(s->sql, 5000);
	if (rc != SQLITE_OK)
		return fail(err, errlen, sql_errno(rc), o->target,
			    "cannot configure", s->sql);
	rc = migrate(s->sql, o->target, err, errlen);
	if (rc)
		return rc;
	/* A write proves the file and its directory (the WAL) are writable. */
	rc = sqlite3_exec(s->sql, "BEGIN IMMEDIATE; COMMIT", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return fail(err, errlen, sql_errno(rc), o->target,
			    "database is not writable", s->sql);
	for (i = 0; i < ST__MAX; i++) {
		rc = sqlite3_prepare_v3(s->sql, stmt_sql[i], -1,
					SQLITE_PREPARE_PERSISTENT, &s->st[i],
					NULL);
		if (rc != SQLITE_OK)
			return fail(err, errlen, sql_errno(rc), o->target,
				    "unexpected schema", s->sql);
	}
	return 0;
}

static int sq_open(const struct csmp_db_conn_opts *o,
		   struct csmp_db_conn **out, char *err, size_t errlen)
{
	struct sq_conn *s;
	int rc, ret;

	s = calloc(1, sizeof(*s));
	if (!s)
		return fail(err, errlen, -ENOMEM, o->target, "out of memory",
			    NULL);
	s->c.be = &csmp_db_sqlite;
	s->path = o->target;
	s->node = o->node;
	if (o->writer) {
		ret = open_writer(s, o, err, errlen);
		if (ret)
			goto err_close;
	} else {
		rc = sqlite3_open_v2(o->target, &s->sql, SQLITE_OPEN_READONLY |
				     SQLITE_OPEN_NOMUTEX, NULL);
		if (rc != SQLITE_OK) {
			ret = fail(err, errlen, sql_errno(rc), o->target,
				   "cannot open", s->sql);
			goto err_close;
		}
		sqlite3_busy_timeout(s->sql, 2000);
	}
	*out = &s->c;
	return 0;

err_close:
	sq_close(&s->c);
	return ret;
}

/* Walk the rows of a prepared CSMP_DB_DEV_COLS query through cb. */
static int walk_devices(struct sq_conn *s, sqlite3_stmt *st,
			csmp_db_dev_cb cb, void *ctx, unsigned int *rows)
{
	const char *col[15];
	struct csmp_db_dev d;
	int rc, ret, i;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		for (i = 0; i < 15; i++)
			col[i] = (const char *)sqlite3_column_text(st, i);
		/* One bad row must not cost the rest (nor stop csmpd's
		 * start): skipped and counted. */
		if (csmp_db_dev_from_text(&d, col)) {
			s->c.bad_rows++;
			continue;
		}
		(*rows)++;
		ret = cb(ctx, &d);
		if (ret)
			return ret;
	}
	if (rc != SQLITE_DONE) {
		snprintf(s->c.msg, sizeof(s->c.msg), "cannot read the devices: %s",
			 sqlite3_errmsg(s->sql));
		return sql_errno(rc);
	}
	return 0;
}

static int sq_load(struct csmp_db_conn *c, csmp_db_dev_cb cb, void *ctx)
{
	struct sq_conn *s = sq(c);
	sqlite3_stmt *st;
	unsigned int rows = 0;
	int rc, ret;

	rc = sqlite3_prepare_v2(s->sql, "SELECT " CSMP_DB_DEV_COLS
				" FROM devices", -1, &st, NULL);
	if (rc != SQLITE_OK) {
		snprintf(c->msg, sizeof(c->msg), "cannot read the devices: %s",
			 sqlite3_errmsg(s->sql));
		return sql_errno(rc);
	}
	ret = walk_devices(s, st, cb, ctx, &rows);
	sqlite3_finalize(st);
	return ret;
}

static void bind_eid(sqlite3_stmt *st, int col, uint64_t eid)
{
	char e[17];

	csmp_db_eid_str(eid, e);
	sqlite3_bind_text(st, col, e, 16, SQLITE_TRANSIENT);
}

/* Run one write statement. A failure fails the whole transaction (the
 * writer rolls it back and retries it): its message is kept for the
 * alarm, which the writer logs once per failure streak. */
static int step_reset(struct sq_conn *s, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	if (rc != SQLITE_DONE)
		snprintf(s->c.msg, sizeof(s->c.msg), "%s",
			 sqlite3_errmsg(s->sql));
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE ? 0 : sql_errno(rc);
}

struct tlv_ctx {
	struct sq_conn *s;
	const struct csmp_db_rec *r;
};

static int store_tlv(void *arg, uint32_t tlv, bool first, uint32_t idx,
		     const void *val, size_t len)
{
	struct tlv_ctx *t = arg;
	sqlite3_stmt *del = t->s->st[ST_TLV_DEL], *ins = t->s->st[ST_TLV_INS];
	int ret;

	if (first) {
		bind_eid(del, 1, t->r->eid);
		sqlite3_bind_int64(del, 2, tlv);
		ret = step_reset(t->s, del);
		if (ret)
			return ret;
	}
	bind_eid(ins, 1, t->r->eid);
	sqlite3_bind_int64(ins, 2, tlv);
	sqlite3_bind_int64(ins, 3, idx);
	sqlite3_bind_blob(ins, 4, val, (int)len, SQLITE_STATIC);
	sqlite3_bind_int64(ins, 5, t->r->ts_ms);
	return step_reset(t->s, ins);
}

static int sq_apply(struct csmp_db_conn *c, const struct csmp_db_rec *r)
{
	struct sq_conn *s = sq(c);
	struct tlv_ctx t = { .s = s, .r = r };
	char addr[INET6_ADDRSTRLEN] = "::";
	struct csmp_db_fields f;
	sqlite3_stmt *st;
	int ret;

	if (r->op == CSMP_DB_OP_KEY) {
		st = s->st[ST_KEY];
		bind_eid(st, 1, r->eid);
		sqlite3_bind_int(st, 2, r->pad);
		sqlite3_bind_blob(st, 3, r->payload, r->len, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, r->ts_ms);
		return step_reset(s, st);
	}
	inet_ntop(AF_INET6, &r->addr.sin6_addr, addr, sizeof(addr));
	ret = csmp_db_rec_tlvs(r, store_tlv, &t, &f);
	if (ret)
		return ret;
	switch (r->op) {
	case CSMP_DB_OP_REGISTER:
		st = s->st[ST_REG];
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
		sqlite3_bind_text(st, 7, f.hw_model, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 8, f.hw_serial, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 9, f.fw_version, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int(st, 10, s->node);
		return step_reset(s, st);
	case CSMP_DB_OP_REPORT:
	case CSMP_DB_OP_NOTIFY:
		st = s->st[ST_REPORT];
		bind_eid(st, 1, r->eid);
		sqlite3_bind_int64(st, 2, r->ts_ms);
		sqlite3_bind_text(st, 3, addr, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int(st, 4, ntohs(r->addr.sin6_port));
		sqlite3_bind_int(st, 5, r->op == CSMP_DB_OP_REPORT);
		return step_reset(s, st);
	default:
		/* Only db.c's callers make records: never reached. */
		snprintf(c->msg, sizeof(c->msg), "record with unknown op %u",
			 r->op);
		return -EINVAL;
	}
}

static int sq_begin(struct csmp_db_conn *c)
{
	return step_reset(sq(c), sq(c)->st[ST_BEGIN]);
}

static int sq_commit(struct csmp_db_conn *c)
{
	struct sq_conn *s = sq(c);
	int rc;

	rc = sqlite3_step(s->st[ST_COMMIT]);
	sqlite3_reset(s->st[ST_COMMIT]);
	if (rc != SQLITE_DONE) {
		snprintf(c->msg, sizeof(c->msg), "commit: %s",
			 sqlite3_errmsg(s->sql));
		return sql_errno(rc);
	}
	return 0;
}

static void sq_rollback(struct csmp_db_conn *c)
{
	if (!sqlite3_get_autocommit(sq(c)->sql))
		sqlite3_exec(sq(c)->sql, "ROLLBACK", NULL, NULL, NULL);
}

static int sq_heartbeat(struct csmp_db_conn *c, const struct csmp_db_node *n)
{
	struct sq_conn *s = sq(c);
	sqlite3_stmt *st = s->st[ST_NODE];

	sqlite3_bind_int(st, 1, n->node);
	sqlite3_bind_text(st, 2, n->addr, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, n->reply_port_lo);
	sqlite3_bind_int(st, 4, n->reply_port_hi);
	sqlite3_bind_text(st, 5, n->state, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, n->heartbeat_ms);
	sqlite3_bind_int64(st, 7, n->started_ms);
	return step_reset(s, st);
}

static int sq_keys(struct csmp_db_conn *c, csmp_db_key_cb cb, void *ctx)
{
	sqlite3_stmt *st;
	uint64_t eid;
	int rc, ret = 0;

	rc = sqlite3_prepare_v2(sq(c)->sql,
				"SELECT eid, suite, pub FROM device_keys", -1,
				&st, NULL);
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

static int sq_meta_get(struct csmp_db_conn *c, const char *key, void *val,
		       size_t cap)
{
	sqlite3_stmt *st;
	int rc, ret;

	rc = sqlite3_prepare_v2(sq(c)->sql,
				"SELECT value FROM meta WHERE key = ?1", -1,
				&st, NULL);
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

static int meta_put(struct csmp_db_conn *c, const char *sql,
		    const char *key, const void *val, size_t len)
{
	sqlite3_stmt *st;
	int rc;

	rc = sqlite3_prepare_v2(sq(c)->sql, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return sql_errno(rc);
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, val, (int)len, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : sql_errno(rc);
}

static int sq_meta_set(struct csmp_db_conn *c, const char *key,
		       const void *val, size_t len)
{
	return meta_put(c, "INSERT OR REPLACE INTO meta (key, value)"
			" VALUES (?1, ?2)", key, val, len);
}

static int sq_meta_add(struct csmp_db_conn *c, const char *key,
		       const void *val, size_t len)
{
	return meta_put(c, "INSERT OR IGNORE INTO meta (key, value)"
			" VALUES (?1, ?2)", key, val, len);
}

static int sq_count(struct csmp_db_conn *c, uint64_t *n)
{
	int64_t v = 0;
	int rc;

	rc = exec_int(sq(c)->sql, "SELECT count(*) FROM devices", &v);
	if (rc != SQLITE_OK)
		return sql_errno(rc);
	*n = (uint64_t)v;
	return 0;
}

static int sq_devices(struct csmp_db_conn *c, const uint64_t *eid,
		      csmp_db_dev_cb cb, void *ctx)
{
	sqlite3_stmt *st;
	unsigned int rows = 0;
	int rc, ret;

	rc = sqlite3_prepare_v2(sq(c)->sql, eid ?
				"SELECT " CSMP_DB_DEV_COLS " FROM devices"
				" WHERE eid = ?1" :
				"SELECT " CSMP_DB_DEV_COLS " FROM devices"
				" ORDER BY eid", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return sql_errno(rc);
	if (eid)
		bind_eid(st, 1, *eid);
	ret = walk_devices(sq(c), st, cb, ctx, &rows);
	sqlite3_finalize(st);
	if (!ret && eid && !rows)
		return -ENOENT;
	return ret;
}

static int sq_tlvs(struct csmp_db_conn *c, uint64_t eid, csmp_db_tlv_cb cb,
		   void *ctx)
{
	sqlite3_stmt *st;
	int rc, ret = 0;

	rc = sqlite3_prepare_v2(sq(c)->sql,
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

static int sq_nodes(struct csmp_db_conn *c, csmp_db_node_cb cb, void *ctx)
{
	struct csmp_db_node n;
	sqlite3_stmt *st;
	int rc, ret = 0;

	rc = sqlite3_prepare_v2(sq(c)->sql,
				"SELECT node, addr, reply_port_lo, reply_port_hi,"
				" state, started, heartbeat, epoch,"
				/* heartbeats carry the node's wall clock */
				" CAST((julianday('now') - 2440587.5)"
				" * 86400000 AS INTEGER) - heartbeat"
				" FROM nodes ORDER BY node", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return sql_errno(rc);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&n, 0, sizeof(n));
		n.node = (uint16_t)sqlite3_column_int(st, 0);
		snprintf(n.addr, sizeof(n.addr), "%s",
			 (const char *)sqlite3_column_text(st, 1) ?: "");
		n.reply_port_lo = (uint16_t)sqlite3_column_int(st, 2);
		n.reply_port_hi = (uint16_t)sqlite3_column_int(st, 3);
		snprintf(n.state, sizeof(n.state), "%s",
			 (const char *)sqlite3_column_text(st, 4) ?: "");
		n.started_ms = sqlite3_column_int64(st, 5);
		n.heartbeat_ms = sqlite3_column_int64(st, 6);
		n.epoch = (uint64_t)sqlite3_column_int64(st, 7);
		n.age_ms = sqlite3_column_int64(st, 8);
		ret = cb(ctx, &n);
		if (ret)
			break;
	}
	if (!ret && rc != SQLITE_DONE)
		ret = sql_errno(rc);
	sqlite3_finalize(st);
	return ret;
}

const struct csmp_db_backend csmp_db_sqlite = {
	.name = "sqlite",
	.open = sq_open,
	.close = sq_close,
	.load = sq_load,
	.meta_get = sq_meta_get,
	.meta_set = sq_meta_set,
	.meta_add = sq_meta_add,
	.keys = sq_keys,
	.begin = sq_begin,
	.apply = sq_apply,
	.commit = sq_commit,
	.rollback = sq_rollback,
	.heartbeat = sq_heartbeat,
	.count = sq_count,
	.devices = sq_devices,
	.tlvs = sq_tlvs,
	.nodes = sq_nodes,
};
