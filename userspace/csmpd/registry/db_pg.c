// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The PostgreSQL backend of the registry (db_backend.h), through libpq: a
 * registry that several csmpd nodes share. The schema is db_sqlite.c's at
 * the same version (the same tables, columns and meaning; PostgreSQL
 * types), migrated one step per transaction under an advisory lock, so
 * nodes that start together migrate once.
 *
 * Writes are batched: apply() only appends the record, as COPY text rows,
 * to two buffers; commit() sends them with COPY into temporary staging
 * tables and merges those into the registry with one set-based statement
 * per table, then COMMIT, all in one round trip after the COPYs. The
 * merges apply a transaction's records with the order-dependent meaning
 * the SQLite backend gives them one by one (the last registration of a
 * device wins, reports after it set the address, a table TLV's last set
 * replaces the stored one). Reports and TLVs only touch devices this node
 * owns (or that nobody owns yet): a node that lost a device to another one
 * never overwrites it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <libpq-fe.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry/db_backend.h"

/* Serialises the schema migrations of nodes that start together. */
#define PG_MIGRATE_LOCK	0x63736d70	/* "csmp" */

/* Schema history, step for step db_sqlite.c's (same versions). */
static const char *const migrations[] = {
	/* 0 -> 1 */
	"CREATE TABLE devices ("
	"  eid text PRIMARY KEY,"		/* 16 upper-case hex digits */
	"  session_id text NOT NULL,"
	"  addr text NOT NULL,"
	"  port integer NOT NULL,"
	"  grp text NOT NULL DEFAULT '',"
	"  first_reg bigint NOT NULL,"		/* ms since the epoch */
	"  last_reg bigint NOT NULL,"
	"  last_seen bigint NOT NULL,"
	"  registrations bigint NOT NULL DEFAULT 0,"
	"  reports bigint NOT NULL DEFAULT 0,"
	"  hw_model text NOT NULL DEFAULT '',"
	"  hw_serial text NOT NULL DEFAULT '',"
	"  fw_version text NOT NULL DEFAULT ''"
	");"
	"CREATE TABLE tlv_values ("		/* latest value per TLV id */
	"  eid text NOT NULL,"
	"  tlv bigint NOT NULL,"
	"  idx bigint NOT NULL,"		/* table TLVs: instance number */
	"  value bytea NOT NULL,"
	"  updated bigint NOT NULL,"
	"  PRIMARY KEY (eid, tlv, idx)"
	");"
	"CREATE TABLE meta ("			/* daemon-wide state */
	"  key text PRIMARY KEY,"
	"  value bytea NOT NULL"
	");",
	/* 1 -> 2: enrolled device keys for uplink signatures */
	"CREATE TABLE device_keys ("
	"  eid text PRIMARY KEY,"
	"  suite integer NOT NULL,"		/* enum csmp_sig_suite */
	"  pub bytea NOT NULL,"			/* raw public key */
	"  enrolled bigint NOT NULL"		/* ms since the epoch */
	");",
	/* 2 -> 3: cluster nodes and device ownership */
	"ALTER TABLE devices ADD COLUMN owner integer NOT NULL DEFAULT 0,"
	"  ADD COLUMN epoch bigint NOT NULL DEFAULT 0;"
	"CREATE INDEX devices_owner ON devices (owner);"
	"CREATE TABLE nodes ("
	"  node integer PRIMARY KEY,"		/* backend id */
	"  addr text NOT NULL DEFAULT '',"
	"  reply_port_lo integer NOT NULL DEFAULT 0,"
	"  reply_port_hi integer NOT NULL DEFAULT 0,"
	"  state text NOT NULL DEFAULT 'up',"
	"  started bigint NOT NULL,"		/* ms since the epoch */
	"  heartbeat bigint NOT NULL,"		/* the server's clock */
	"  epoch bigint NOT NULL DEFAULT 0"	/* starts so far */
	");",
};

_Static_assert(sizeof(migrations) / sizeof(migrations[0]) ==
	       CSMP_DB_SCHEMA_VERSION, "one migration per schema version");

/* The writer's per-session staging tables (emptied by every commit). */
static const char stage_sql[] =
	"CREATE TEMP TABLE csmp_stage_rec (n bigint, op smallint, eid text,"
	" session text, addr text, port integer, grp text, ts bigint,"
	" hw_model text, hw_serial text, fw_version text, suite integer,"
	" pub bytea) ON COMMIT DELETE ROWS;"
	"CREATE TEMP TABLE csmp_stage_tlv (n bigint, eid text, tlv bigint,"
	" idx bigint, value bytea, ts bigint) ON COMMIT DELETE ROWS";

/*
 * The merge of a transaction's staged records, then COMMIT (%1$u: this
 * node). "last" of a device is the ordinal of its last registration in
 * the transaction: what a report before it changed, that registration
 * overwrote.
 */
static const char merge_fmt[] =
	"INSERT INTO devices AS d (eid, session_id, addr, port, grp,"
	" first_reg, last_reg, last_seen, registrations, hw_model, hw_serial,"
	" fw_version, owner)"
	" SELECT eid, (array_agg(session ORDER BY n DESC))[1],"
	" (array_agg(addr ORDER BY n DESC))[1],"
	" (array_agg(port ORDER BY n DESC))[1],"
	" (array_agg(grp ORDER BY n DESC))[1], min(ts),"
	" (array_agg(ts ORDER BY n DESC))[1], (array_agg(ts ORDER BY n DESC))[1],"
	" count(*),"
	" coalesce((array_agg(hw_model ORDER BY n DESC)"
	"  FILTER (WHERE hw_model <> ''))[1], ''),"
	" coalesce((array_agg(hw_serial ORDER BY n DESC)"
	"  FILTER (WHERE hw_serial <> ''))[1], ''),"
	" coalesce((array_agg(fw_version ORDER BY n DESC)"
	"  FILTER (WHERE fw_version <> ''))[1], ''), %1$u"
	" FROM csmp_stage_rec WHERE op = 1 GROUP BY eid"
	" ON CONFLICT (eid) DO UPDATE SET session_id = excluded.session_id,"
	" addr = excluded.addr, port = excluded.port, grp = excluded.grp,"
	" last_reg = excluded.last_reg, last_seen = excluded.last_seen,"
	" registrations = d.registrations + excluded.registrations,"
	" hw_model = CASE excluded.hw_model WHEN '' THEN d.hw_model"
	"  ELSE excluded.hw_model END,"
	" hw_serial = CASE excluded.hw_serial WHEN '' THEN d.hw_serial"
	"  ELSE excluded.hw_serial END,"
	" fw_version = CASE excluded.fw_version WHEN '' THEN d.fw_version"
	"  ELSE excluded.fw_version END,"
	" epoch = CASE d.owner WHEN excluded.owner THEN d.epoch"
	"  ELSE d.epoch + 1 END,"
	" owner = excluded.owner;"

	"UPDATE devices AS d SET last_seen = GREATEST(d.last_seen, u.ts),"
	" addr = coalesce(u.addr, d.addr), port = coalesce(u.port, d.port),"
	" reports = d.reports + u.reports"
	" FROM (SELECT s.eid,"
	"  max(s.ts) FILTER (WHERE s.n > coalesce(r.last, 0)) AS ts,"
	"  (array_agg(s.addr ORDER BY s.n DESC)"
	"   FILTER (WHERE s.n > coalesce(r.last, 0)))[1] AS addr,"
	"  (array_agg(s.port ORDER BY s.n DESC)"
	"   FILTER (WHERE s.n > coalesce(r.last, 0)))[1] AS port,"
	"  count(*) FILTER (WHERE s.op = 2) AS reports"
	"  FROM csmp_stage_rec s LEFT JOIN (SELECT eid, max(n) AS last"
	"   FROM csmp_stage_rec WHERE op = 1 GROUP BY eid) r USING (eid)"
	"  WHERE s.op IN (2, 3) GROUP BY s.eid) u"
	" WHERE d.eid = u.eid AND d.owner IN (%1$u, 0);"

	"DELETE FROM tlv_values t USING (SELECT DISTINCT eid, tlv"
	" FROM csmp_stage_tlv) k WHERE t.eid = k.eid AND t.tlv = k.tlv"
	" AND NOT EXISTS (SELECT 1 FROM devices d WHERE d.eid = k.eid"
	"  AND d.owner NOT IN (%1$u, 0));"

	"INSERT INTO tlv_values (eid, tlv, idx, value, updated)"
	" SELECT eid, tlv, idx, value, ts FROM (SELECT s.*,"
	"  max(s.n) OVER (PARTITION BY s.eid, s.tlv) AS last"
	"  FROM csmp_stage_tlv s) x"
	" WHERE n = last AND NOT EXISTS (SELECT 1 FROM devices d"
	"  WHERE d.eid = x.eid AND d.owner NOT IN (%1$u, 0))"
	" ON CONFLICT (eid, tlv, idx) DO UPDATE SET value = excluded.value,"
	" updated = excluded.updated;"

	"INSERT INTO device_keys (eid, suite, pub, enrolled)"
	" SELECT DISTINCT ON (eid) eid, suite, pub, ts FROM csmp_stage_rec"
	" WHERE op = 4 ORDER BY eid, n DESC"
	" ON CONFLICT (eid) DO UPDATE SET suite = excluded.suite,"
	" pub = excluded.pub, enrolled = excluded.enrolled;"

	"COMMIT";

static const char node_sql[] =
	"INSERT INTO nodes (node, addr, reply_port_lo, reply_port_hi, state,"
	" started, heartbeat, epoch) VALUES ($1, $2, $3, $4, $5, $6,"
	" (extract(epoch FROM clock_timestamp()) * 1000)::bigint, 1)"
	" ON CONFLICT (node) DO UPDATE SET addr = excluded.addr,"
	" reply_port_lo = excluded.reply_port_lo,"
	" reply_port_hi = excluded.reply_port_hi, state = excluded.state,"
	" heartbeat = excluded.heartbeat,"
	" epoch = CASE WHEN nodes.started = excluded.started THEN nodes.epoch"
	"  ELSE nodes.epoch + 1 END, started = excluded.started";

struct buf {
	char *p;
	size_t len, cap;
	bool oom;
};

struct pg_conn {
	struct csmp_db_conn c;
	PGconn *pg;
	char *target;
	char shown[256];
	bool writer;
	uint16_t node;
	char *merge;			/* merge_fmt for this node */
	struct buf rec, tlv;		/* COPY rows of the open transaction */
	uint64_t n;			/* records in it */
	const struct csmp_db_rec *r;	/* apply(): the record being staged */
};

static struct pg_conn *pgc(struct csmp_db_conn *c)
{
	return (struct pg_conn *)c;
}

/* libpq's messages end with a newline; logs want one line. */
static void set_msg(struct pg_conn *p, const char *what, const char *why)
{
	size_t n;

	snprintf(p->c.msg, sizeof(p->c.msg), "%s%s%s", what, why ? ": " : "",
		 why ? why : "");
	n = strlen(p->c.msg);
	while (n && (p->c.msg[n - 1] == '\n' || p->c.msg[n - 1] == ' '))
		p->c.msg[--n] = 0;
	for (char *s = p->c.msg; *s; s++)
		if (*s == '\n')
			*s = ' ';
}

/* -errno for a failed call: a lost connection, a full disk, ... */
static int pg_errno(struct pg_conn *p, const PGresult *res)
{
	const char *st = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

	if (PQstatus(p->pg) != CONNECTION_OK)
		return -ECONNRESET;
	if (!st)
		return -EIO;
	if (!strncmp(st, "53", 2))
		return !strcmp(st, "53100") ? -ENOSPC : -ENOMEM;
	if (!strncmp(st, "28", 2) || !strcmp(st, "42501"))
		return -EACCES;
	if (!strcmp(st, "25006"))
		return -EROFS;
	if (!strncmp(st, "40", 2) || !strcmp(st, "55P03"))
		return -EBUSY;
	return -EIO;
}

/* Run sql (no parameters); 0 when it returned expect. */
static int exec(struct pg_conn *p, const char *sql, ExecStatusType expect,
		const char *what)
{
	PGresult *res = PQexec(p->pg, sql);
	int ret = 0;

	if (PQresultStatus(res) != expect) {
		set_msg(p, what, res ? PQresultErrorMessage(res) :
				       PQerrorMessage(p->pg));
		ret = pg_errno(p, res);
	}
	PQclear(res);
	return ret;
}

static int ensure_conn(struct pg_conn *p);

/*
 * A statement outside the writer's transaction, parameters and result in
 * text form. One that finds the connection lost (the server restarted
 * since the last call) is sent once more on a new connection.
 */
static PGresult *query(struct pg_conn *p, const char *sql, int n,
		       const char *const *vals, ExecStatusType expect,
		       const char *what, int *ret)
{
	PGresult *res = PQexecParams(p->pg, sql, n, NULL, vals, NULL, NULL, 0);

	*ret = 0;
	if (PQresultStatus(res) != expect &&
	    PQstatus(p->pg) != CONNECTION_OK && !ensure_conn(p)) {
		PQclear(res);
		res = PQexecParams(p->pg, sql, n, NULL, vals, NULL, NULL, 0);
	}
	if (PQresultStatus(res) != expect) {
		set_msg(p, what, res ? PQresultErrorMessage(res) :
				       PQerrorMessage(p->pg));
		*ret = pg_errno(p, res);
		PQclear(res);
		return NULL;
	}
	return res;
}

/* What every session needs, again after each reconnection. */
static int session_setup(struct pg_conn *p)
{
	int ret;

	/* COMMIT returns once the WAL is flushed, whatever the server's
	 * default: the 2.03 of a registration follows that COMMIT. */
	ret = exec(p, "SET synchronous_commit = on;"
		   " SET client_min_messages = warning", PGRES_COMMAND_OK,
		   "session set-up");
	if (!ret && p->writer)
		ret = exec(p, stage_sql, PGRES_COMMAND_OK, "staging tables");
	return ret;
}

static int pg_connect(struct pg_conn *p)
{
	/* Defaults that the target may override (it is expanded last). */
	static const char *const kw[] = {
		"connect_timeout", "application_name", "keepalives_idle",
		"keepalives_interval", "keepalives_count", "dbname", NULL,
	};
	const char *val[] = { "5", "csmpd", "5", "2", "3", p->target, NULL };

	p->pg = PQconnectdbParams(kw, val, 1);
	if (!p->pg) {
		set_msg(p, "out of memory", NULL);
		return -ENOMEM;
	}
	if (PQstatus(p->pg) != CONNECTION_OK) {
		set_msg(p, "cannot connect", PQerrorMessage(p->pg));
		return -ECONNREFUSED;
	}
	return 0;
}

/*
 * The connection was lost (the server restarted, a network cut): connect
 * again. The caller's back-off paces the attempts; each blocks for at most
 * connect_timeout.
 */
static int ensure_conn(struct pg_conn *p)
{
	if (PQstatus(p->pg) == CONNECTION_OK)
		return 0;
	PQreset(p->pg);
	if (PQstatus(p->pg) != CONNECTION_OK) {
		set_msg(p, "connection lost, reconnecting",
			PQerrorMessage(p->pg));
		return -ECONNRESET;
	}
	return session_setup(p);
}

static int migrate(struct pg_conn *p)
{
	char lock[96];
	PGresult *res;
	long ver;
	int ret;

	snprintf(lock, sizeof(lock),
		 "BEGIN; SELECT pg_advisory_xact_lock(%d)", PG_MIGRATE_LOCK);
	for (;;) {
		ret = exec(p, lock, PGRES_TUPLES_OK, "cannot begin the schema "
			   "migration");
		if (!ret)
			ret = exec(p, "CREATE TABLE IF NOT EXISTS csmp_schema"
				   " (version integer NOT NULL);"
				   " INSERT INTO csmp_schema SELECT 0 WHERE NOT"
				   " EXISTS (SELECT 1 FROM csmp_schema)",
				   PGRES_COMMAND_OK, "cannot read the schema "
				   "version");
		if (ret)
			goto err_rollback;
		res = query(p, "SELECT version FROM csmp_schema", 0, NULL,
			    PGRES_TUPLES_OK, "cannot read the schema version",
			    &ret);
		if (!res)
			goto err_rollback;
		ver = PQntuples(res) == 1 ? strtol(PQgetvalue(res, 0, 0),
						   NULL, 10) : -1;
		PQclear(res);
		if (ver < 0 || ver > CSMP_DB_SCHEMA_VERSION) {
			snprintf(p->c.msg, sizeof(p->c.msg),
				 "schema version %ld is newer than this csmpd "
				 "knows (%d)", ver, CSMP_DB_SCHEMA_VERSION);
			ret = -EPROTO;
			goto err_rollback;
		}
		if (ver == CSMP_DB_SCHEMA_VERSION)
			return exec(p, "COMMIT", PGRES_COMMAND_OK,
				    "schema check");
		ret = exec(p, migrations[ver], PGRES_COMMAND_OK,
			   "schema migration failed");
		if (!ret) {
			char q[96];

			snprintf(q, sizeof(q), "UPDATE csmp_schema SET version"
				 " = %ld; COMMIT", ver + 1);
			ret = exec(p, q, PGRES_COMMAND_OK,
				   "schema migration failed");
		}
		if (ret)
			goto err_rollback;
	}

err_rollback:
	PQclear(PQexec(p->pg, "ROLLBACK"));
	return ret;
}

static void pg_close(struct csmp_db_conn *c)
{
	struct pg_conn *p = pgc(c);

	if (!c)
		return;
	PQfinish(p->pg);
	free(p->rec.p);
	free(p->tlv.p);
	free(p->merge);
	free(p->target);
	free(p);
}

static int pg_open(const struct csmp_db_conn_opts *o,
		   struct csmp_db_conn **out, char *err, size_t errlen)
{
	struct pg_conn *p;
	PGresult *res;
	int ret, n;

	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->c.be = &csmp_db_pg;
	p->writer = o->writer;
	p->node = o->node;
	csmp_db_display(o->target, p->shown, sizeof(p->shown));
	p->target = strdup(o->target);
	if (!p->target) {
		set_msg(p, "out of memory", NULL);
		ret = -ENOMEM;
		goto err_close;
	}
	ret = pg_connect(p);
	if (!ret)
		ret = session_setup(p);
	if (ret)
		goto err_close;
	if (o->writer) {
		res = query(p, "SELECT pg_is_in_recovery()", 0, NULL,
			    PGRES_TUPLES_OK, "cannot query the server", &ret);
		if (!res)
			goto err_close;
		if (!strcmp(PQgetvalue(res, 0, 0), "t")) {
			set_msg(p, "the server is a read-only standby", NULL);
			ret = -EROFS;
		}
		PQclear(res);
		if (!ret)
			ret = migrate(p);
		if (ret)
			goto err_close;
		n = snprintf(NULL, 0, merge_fmt, (unsigned int)o->node);
		p->merge = malloc((size_t)n + 1);
		if (!p->merge) {
			set_msg(p, "out of memory", NULL);
			ret = -ENOMEM;
			goto err_close;
		}
		snprintf(p->merge, (size_t)n + 1, merge_fmt,
			 (unsigned int)o->node);
	}
	*out = &p->c;
	return 0;

err_close:
	if (err && errlen)
		snprintf(err, errlen, "%s: %s", p->shown, p->c.msg);
	pg_close(&p->c);
	return ret;
}

/* ---- COPY rows ------------------------------------------------------------ */

static void buf_need(struct buf *b, size_t more)
{
	size_t cap;
	char *np;

	if (b->oom || b->len + more <= b->cap)
		return;
	cap = b->cap ? b->cap : 65536;
	while (cap < b->len + more)
		cap *= 2;
	np = realloc(b->p, cap);
	if (!np) {
		b->oom = true;
		return;
	}
	b->p = np;
	b->cap = cap;
}

static void buf_add(struct buf *b, const char *s, size_t n)
{
	buf_need(b, n);
	if (b->oom)
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

static void buf_fmt(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	buf_need(b, 64);
	if (b->oom)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n > 0 && (size_t)n < b->cap - b->len)
		b->len += (size_t)n;
	else
		b->oom = true;	/* never longer than 64: not reached */
}

/* One text column of a COPY row, then its delimiter. */
static void buf_text(struct buf *b, const char *s, size_t n, char delim)
{
	size_t i;

	buf_need(b, 2 * n + 1);
	if (b->oom)
		return;
	for (i = 0; i < n && s[i]; i++) {
		char c = s[i];

		switch (c) {
		case '\\': b->p[b->len++] = '\\'; b->p[b->len++] = '\\'; break;
		case '\t': b->p[b->len++] = '\\'; b->p[b->len++] = 't'; break;
		case '\n': b->p[b->len++] = '\\'; b->p[b->len++] = 'n'; break;
		case '\r': b->p[b->len++] = '\\'; b->p[b->len++] = 'r'; break;
		default: b->p[b->len++] = c;
		}
	}
	b->p[b->len++] = delim;
}

/* A bytea column in COPY text form: \\x and hex digits. */
static void buf_bytea(struct buf *b, const void *v, size_t n, char delim)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *u = v;
	size_t i;

	buf_need(b, 2 * n + 4);
	if (b->oom)
		return;
	b->p[b->len++] = '\\';
	b->p[b->len++] = '\\';
	b->p[b->len++] = 'x';
	for (i = 0; i < n; i++) {
		b->p[b->len++] = hex[u[i] >> 4];
		b->p[b->len++] = hex[u[i] & 15];
	}
	b->p[b->len++] = delim;
}

static int stage_tlv(void *arg, uint32_t tlv, bool first, uint32_t idx,
		     const void *val, size_t len)
{
	struct pg_conn *p = arg;
	char eid[17];

	csmp_db_eid_str(p->r->eid, eid);
	buf_fmt(&p->tlv, "%llu\t%s\t%u\t%u\t", (unsigned long long)p->n, eid,
		tlv, idx);
	buf_bytea(&p->tlv, val, len, '\t');
	buf_fmt(&p->tlv, "%lld\n", (long long)p->r->ts_ms);
	return 0;
}

static int pg_begin(struct csmp_db_conn *c)
{
	struct pg_conn *p = pgc(c);
	int ret;

	p->rec.len = p->tlv.len = 0;
	p->rec.oom = p->tlv.oom = false;
	p->n = 0;
	ret = ensure_conn(p);
	if (!ret)
		ret = exec(p, "BEGIN", PGRES_COMMAND_OK, "begin");
	return ret;
}

static int pg_apply(struct csmp_db_conn *c, const struct csmp_db_rec *r)
{
	struct pg_conn *p = pgc(c);
	char addr[INET6_ADDRSTRLEN] = "::", eid[17];
	struct csmp_db_fields f;
	struct buf *b = &p->rec;

	if (r->op < CSMP_DB_OP_REGISTER || r->op > CSMP_DB_OP_KEY) {
		snprintf(c->msg, sizeof(c->msg), "record with unknown op %u",
			 r->op);
		return -EINVAL;
	}
	p->n++;
	p->r = r;
	memset(&f, 0, sizeof(f));
	if (r->op != CSMP_DB_OP_KEY)
		csmp_db_rec_tlvs(r, stage_tlv, p, &f);
	inet_ntop(AF_INET6, &r->addr.sin6_addr, addr, sizeof(addr));
	csmp_db_eid_str(r->eid, eid);
	buf_fmt(b, "%llu\t%u\t%s\t", (unsigned long long)p->n, r->op, eid);
	buf_text(b, r->session, sizeof(r->session), '\t');
	buf_fmt(b, "%s\t%u\t", addr, ntohs(r->addr.sin6_port));
	buf_text(b, r->group, sizeof(r->group), '\t');
	buf_fmt(b, "%lld\t", (long long)r->ts_ms);
	buf_text(b, f.hw_model, sizeof(f.hw_model), '\t');
	buf_text(b, f.hw_serial, sizeof(f.hw_serial), '\t');
	buf_text(b, f.fw_version, sizeof(f.fw_version), '\t');
	if (r->op == CSMP_DB_OP_KEY) {
		buf_fmt(b, "%u\t", r->pad);
		buf_bytea(b, r->payload, r->len, '\n');
	} else {
		buf_add(b, "\\N\t\\N\n", 6);
	}
	if (p->rec.oom || p->tlv.oom) {
		set_msg(p, "out of memory staging the transaction", NULL);
		return -ENOMEM;
	}
	return 0;
}

static int copy_in(struct pg_conn *p, const char *sql, const struct buf *b)
{
	PGresult *res;
	int ret = 0;

	if (!b->len)
		return 0;
	res = PQexec(p->pg, sql);
	if (PQresultStatus(res) != PGRES_COPY_IN) {
		set_msg(p, "copy", res ? PQresultErrorMessage(res) :
				   PQerrorMessage(p->pg));
		ret = pg_errno(p, res);
		PQclear(res);
		return ret;
	}
	PQclear(res);
	if (PQputCopyData(p->pg, b->p, (int)b->len) != 1 ||
	    PQputCopyEnd(p->pg, NULL) != 1) {
		set_msg(p, "copy", PQerrorMessage(p->pg));
		ret = pg_errno(p, NULL);
	}
	while ((res = PQgetResult(p->pg))) {
		if (!ret && PQresultStatus(res) != PGRES_COMMAND_OK) {
			set_msg(p, "copy", PQresultErrorMessage(res));
			ret = pg_errno(p, res);
		}
		PQclear(res);
	}
	return ret;
}

static int pg_commit(struct csmp_db_conn *c)
{
	struct pg_conn *p = pgc(c);
	PGresult *res;
	int ret;

	ret = copy_in(p, "COPY csmp_stage_rec FROM STDIN", &p->rec);
	if (!ret)
		ret = copy_in(p, "COPY csmp_stage_tlv FROM STDIN", &p->tlv);
	if (ret)
		return ret;
	/* The merges and COMMIT in one round trip. A statement that fails
	 * stops the rest: the result is then its error, never COMMIT's. */
	res = PQexec(p->pg, p->merge);
	if (PQresultStatus(res) != PGRES_COMMAND_OK ||
	    strcmp(PQcmdStatus(res), "COMMIT")) {
		set_msg(p, "commit", res ? PQresultErrorMessage(res) :
				     PQerrorMessage(p->pg));
		ret = pg_errno(p, res);
		if (!ret)
			ret = -EIO;
	}
	PQclear(res);
	return ret;
}

static void pg_rollback(struct csmp_db_conn *c)
{
	struct pg_conn *p = pgc(c);

	if (PQstatus(p->pg) == CONNECTION_OK &&
	    PQtransactionStatus(p->pg) != PQTRANS_IDLE)
		PQclear(PQexec(p->pg, "ROLLBACK"));
}

static int pg_heartbeat(struct csmp_db_conn *c, const struct csmp_db_node *n)
{
	struct pg_conn *p = pgc(c);
	char node[8], lo[8], hi[8], started[24];
	const char *vals[6] = { node, n->addr, lo, hi, n->state, started };
	PGresult *res;
	int ret;

	ret = ensure_conn(p);
	if (ret)
		return ret;
	snprintf(node, sizeof(node), "%u", n->node);
	snprintf(lo, sizeof(lo), "%u", n->reply_port_lo);
	snprintf(hi, sizeof(hi), "%u", n->reply_port_hi);
	snprintf(started, sizeof(started), "%lld", (long long)n->started_ms);
	res = query(p, node_sql, 6, vals, PGRES_COMMAND_OK, "heartbeat", &ret);
	PQclear(res);
	return ret;
}

/* ---- reads ---------------------------------------------------------------- */

/* The first column of a one-row result as bytes (bytea in text form). */
static int get_bytea(const PGresult *res, int row, int col, void *out,
		     size_t cap)
{
	unsigned char *v;
	size_t n;

	v = PQunescapeBytea((const unsigned char *)PQgetvalue(res, row, col),
			    &n);
	if (!v)
		return -ENOMEM;
	memcpy(out, v, n < cap ? n : cap);
	PQfreemem(v);
	return (int)n;
}

static int pg_meta_get(struct csmp_db_conn *c, const char *key, void *val,
		       size_t cap)
{
	struct pg_conn *p = pgc(c);
	PGresult *res;
	int ret;

	res = query(p, "SELECT value FROM meta WHERE key = $1", 1, &key,
		    PGRES_TUPLES_OK, "meta", &ret);
	if (!res)
		return ret;
	ret = PQntuples(res) ? get_bytea(res, 0, 0, val, cap) : -ENOENT;
	PQclear(res);
	return ret;
}

static int meta_put(struct csmp_db_conn *c, const char *sql,
		    const char *key, const void *val, size_t len)
{
	struct pg_conn *p = pgc(c);
	const char *vals[2] = { key, val };
	int lens[2] = { 0, (int)len }, fmts[2] = { 0, 1 };
	PGresult *res;
	int ret = 0;

	res = PQexecParams(p->pg, sql, 2, NULL, vals, lens, fmts, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		set_msg(p, "meta", PQresultErrorMessage(res));
		ret = pg_errno(p, res);
	}
	PQclear(res);
	return ret;
}

static int pg_meta_set(struct csmp_db_conn *c, const char *key,
		       const void *val, size_t len)
{
	return meta_put(c, "INSERT INTO meta (key, value) VALUES ($1,"
			" $2::bytea) ON CONFLICT (key) DO UPDATE SET value ="
			" excluded.value", key, val, len);
}

static int pg_meta_add(struct csmp_db_conn *c, const char *key,
		       const void *val, size_t len)
{
	return meta_put(c, "INSERT INTO meta (key, value) VALUES ($1,"
			" $2::bytea) ON CONFLICT (key) DO NOTHING", key, val,
			len);
}

static int pg_keys(struct csmp_db_conn *c, csmp_db_key_cb cb, void *ctx)
{
	struct pg_conn *p = pgc(c);
	unsigned char *pub;
	PGresult *res;
	uint64_t eid;
	size_t n;
	int i, ret;

	res = query(p, "SELECT eid, suite, pub FROM device_keys", 0, NULL,
		    PGRES_TUPLES_OK, "device keys", &ret);
	if (!res)
		return ret;
	for (i = 0; !ret && i < PQntuples(res); i++) {
		if (csmp_db_eid_parse(PQgetvalue(res, i, 0), &eid))
			continue;
		pub = PQunescapeBytea((const unsigned char *)
				      PQgetvalue(res, i, 2), &n);
		if (!pub) {
			ret = -ENOMEM;
			break;
		}
		ret = cb(ctx, eid, atoi(PQgetvalue(res, i, 1)), pub, n);
		PQfreemem(pub);
	}
	PQclear(res);
	return ret;
}

/*
 * Rows of a device query, one at a time (single-row mode: a registry of
 * millions is never held whole in memory). param: NULL or one text value.
 */
static int walk_once(struct pg_conn *p, const char *sql, const char *param,
		     csmp_db_dev_cb cb, void *ctx, unsigned int *rows)
{
	const char *col[15];
	struct csmp_db_dev d;
	PGresult *res;
	int ret = 0, i;

	if (!PQsendQueryParams(p->pg, sql, param ? 1 : 0, NULL, &param, NULL,
			       NULL, 0) || !PQsetSingleRowMode(p->pg)) {
		set_msg(p, "cannot read the devices", PQerrorMessage(p->pg));
		ret = pg_errno(p, NULL);
		while ((res = PQgetResult(p->pg)))
			PQclear(res);
		return ret;
	}
	while ((res = PQgetResult(p->pg))) {
		ExecStatusType st = PQresultStatus(res);

		if (!ret && st == PGRES_SINGLE_TUPLE) {
			for (i = 0; i < 15; i++)
				col[i] = PQgetisnull(res, 0, i) ? NULL :
					 PQgetvalue(res, 0, i);
			/* Skipped and counted, as SQLite's. */
			if (csmp_db_dev_from_text(&d, col)) {
				p->c.bad_rows++;
			} else {
				(*rows)++;
				ret = cb(ctx, &d);
			}
		} else if (!ret && st != PGRES_TUPLES_OK) {
			set_msg(p, "cannot read the devices",
				PQresultErrorMessage(res));
			ret = pg_errno(p, res);
		}
		/* Stopping early still drains the result, as libpq requires. */
		PQclear(res);
	}
	return ret;
}

/* As query(): a walk that found the connection lost before its first row
 * is made once more on a new connection. */
static int walk_devices(struct pg_conn *p, const char *sql, const char *param,
			csmp_db_dev_cb cb, void *ctx, unsigned int *rows)
{
	int ret = walk_once(p, sql, param, cb, ctx, rows);

	if (ret == -ECONNRESET && !*rows && !ensure_conn(p))
		ret = walk_once(p, sql, param, cb, ctx, rows);
	return ret;
}

static int pg_load(struct csmp_db_conn *c, csmp_db_dev_cb cb, void *ctx)
{
	struct pg_conn *p = pgc(c);
	unsigned int rows = 0;
	char node[8];

	/* Only this node's devices: the others' stay with their owners. */
	snprintf(node, sizeof(node), "%u", p->node);
	return walk_devices(p, "SELECT " CSMP_DB_DEV_COLS " FROM devices"
			    " WHERE owner IN ($1::integer, 0)", node, cb, ctx,
			    &rows);
}

static int pg_count(struct csmp_db_conn *c, uint64_t *n)
{
	struct pg_conn *p = pgc(c);
	PGresult *res;
	int ret;

	ret = ensure_conn(p);
	if (ret)
		return ret;
	res = query(p, "SELECT count(*) FROM devices", 0, NULL,
		    PGRES_TUPLES_OK, "count", &ret);
	if (!res)
		return ret;
	*n = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return 0;
}

static int pg_devices(struct csmp_db_conn *c, const uint64_t *eid,
		      csmp_db_dev_cb cb, void *ctx)
{
	struct pg_conn *p = pgc(c);
	unsigned int rows = 0;
	char e[17];
	int ret;

	ret = ensure_conn(p);
	if (ret)
		return ret;
	if (!eid)
		return walk_devices(p, "SELECT " CSMP_DB_DEV_COLS " FROM devices"
				    " ORDER BY eid", NULL, cb, ctx, &rows);
	csmp_db_eid_str(*eid, e);
	ret = walk_devices(p, "SELECT " CSMP_DB_DEV_COLS " FROM devices"
			   " WHERE eid = $1", e, cb, ctx, &rows);
	return !ret && !rows ? -ENOENT : ret;
}

static int pg_tlvs(struct csmp_db_conn *c, uint64_t eid, csmp_db_tlv_cb cb,
		   void *ctx)
{
	struct pg_conn *p = pgc(c);
	const char *param;
	unsigned char *v;
	PGresult *res;
	char e[17];
	size_t n;
	int i, ret;

	ret = ensure_conn(p);
	if (ret)
		return ret;
	csmp_db_eid_str(eid, e);
	param = e;
	res = query(p, "SELECT tlv, idx, value, updated FROM tlv_values"
		    " WHERE eid = $1 ORDER BY tlv, idx", 1, &param,
		    PGRES_TUPLES_OK, "tlv values", &ret);
	if (!res)
		return ret;
	for (i = 0; !ret && i < PQntuples(res); i++) {
		v = PQunescapeBytea((const unsigned char *)
				    PQgetvalue(res, i, 2), &n);
		if (!v) {
			ret = -ENOMEM;
			break;
		}
		ret = cb(ctx, (uint32_t)strtoul(PQgetvalue(res, i, 0), NULL, 10),
			 (uint32_t)strtoul(PQgetvalue(res, i, 1), NULL, 10), v, n,
			 strtoll(PQgetvalue(res, i, 3), NULL, 10));
		PQfreemem(v);
	}
	PQclear(res);
	return ret;
}

static int pg_nodes(struct csmp_db_conn *c, csmp_db_node_cb cb, void *ctx)
{
	struct pg_conn *p = pgc(c);
	struct csmp_db_node n;
	PGresult *res;
	int i, ret;

	ret = ensure_conn(p);
	if (ret)
		return ret;
	res = query(p, "SELECT node, addr, reply_port_lo, reply_port_hi, state,"
		    " started, heartbeat, epoch, (extract(epoch FROM"
		    " clock_timestamp()) * 1000)::bigint - heartbeat"
		    " FROM nodes ORDER BY node", 0,
		    NULL, PGRES_TUPLES_OK, "nodes", &ret);
	if (!res)
		return ret;
	for (i = 0; !ret && i < PQntuples(res); i++) {
		memset(&n, 0, sizeof(n));
		n.node = (uint16_t)atoi(PQgetvalue(res, i, 0));
		snprintf(n.addr, sizeof(n.addr), "%s", PQgetvalue(res, i, 1));
		n.reply_port_lo = (uint16_t)atoi(PQgetvalue(res, i, 2));
		n.reply_port_hi = (uint16_t)atoi(PQgetvalue(res, i, 3));
		snprintf(n.state, sizeof(n.state), "%s", PQgetvalue(res, i, 4));
		n.started_ms = strtoll(PQgetvalue(res, i, 5), NULL, 10);
		n.heartbeat_ms = strtoll(PQgetvalue(res, i, 6), NULL, 10);
		n.epoch = strtoull(PQgetvalue(res, i, 7), NULL, 10);
		n.age_ms = strtoll(PQgetvalue(res, i, 8), NULL, 10);
		ret = cb(ctx, &n);
	}
	PQclear(res);
	return ret;
}

const struct csmp_db_backend csmp_db_pg = {
	.name = "postgresql",
	.open = pg_open,
	.close = pg_close,
	.load = pg_load,
	.meta_get = pg_meta_get,
	.meta_set = pg_meta_set,
	.meta_add = pg_meta_add,
	.keys = pg_keys,
	.begin = pg_begin,
	.apply = pg_apply,
	.commit = pg_commit,
	.rollback = pg_rollback,
	.heartbeat = pg_heartbeat,
	.count = pg_count,
	.devices = pg_devices,
	.tlvs = pg_tlvs,
	.nodes = pg_nodes,
};
