// SPDX-License-Identifier: GPL-2.0-only
/*
 * The registry's PostgreSQL backend (userspace/csmpd/db_pg.c) against a
 * real server that this test starts itself (selftests/pg.sh: initdb in a
 * temporary directory, a Unix socket only, removed when the test ends):
 * migrations from an empty database and their re-run, concurrent starts,
 * records written and reloaded, the batched merge giving the same registry
 * as the SQLite backend for the same records, meta values and keys, group
 * commit, the node heartbeat, and a server that goes away under the
 * writer: nothing is published as committed until it is, and everything
 * is once the server is back.
 */
#include <errno.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "csmp/tlv.h"
#include "testutil.h"
#include "registry/db.h"
#include "db_test.h"


/* The server of this test run (started once, before the tests fork). */
static char pg_dir[64];
static char pg_base[256];	/* conninfo of the "postgres" database */
static const char *pg_skip;	/* why there is no server */
static pid_t pg_owner;

static const char *top(void)
{
	const char *t = getenv("CSMP_TOP");

	return t && *t ? t : ".";
}

static int pg_cmd(const char *verb, const char *arg)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "bash %s/selftests/pg.sh %s %s %s >/dev/null",
		 top(), verb, pg_dir, arg ? arg : "");
	return system(cmd);
}

__attribute__((constructor)) static void pg_up(void)
{
	char cmd[512];
	FILE *f;
	int rc;

	strcpy(pg_dir, "/tmp/csmp-test-pg-XXXXXX");
	if (!mkdtemp(pg_dir)) {
		pg_skip = "mkdtemp failed";
		return;
	}
	pg_owner = getpid();
	snprintf(cmd, sizeof(cmd), "bash %s/selftests/pg.sh start %s %d",
		 top(), pg_dir, (int)pg_owner);
	f = popen(cmd, "r");
	if (!f || !fgets(pg_base, sizeof(pg_base), f))
		pg_base[0] = 0;
	rc = f ? pclose(f) : -1;
	pg_base[strcspn(pg_base, "\n")] = 0;
	if (rc || !pg_base[0])
		pg_skip = WIFEXITED(rc) && WEXITSTATUS(rc) == 4 ?
			  "no PostgreSQL server installed (scripts/setup.sh)" :
			  "the PostgreSQL test server did not start";
}

__attribute__((destructor)) static void pg_down(void)
{
	if (getpid() == pg_owner && pg_dir[0])
		pg_cmd("stop", NULL);
}

/* One SQL statement on conninfo; the first value of its result in out. */
static int sql1(const char *conninfo, const char *q, char *out, size_t cap)
{
	PGconn *c = PQconnectdb(conninfo);
	PGresult *res;
	int ret = -EIO;

	if (PQstatus(c) != CONNECTION_OK)
		goto out;
	res = PQexec(c, q);
	if (PQresultStatus(res) == PGRES_TUPLES_OK ||
	    PQresultStatus(res) == PGRES_COMMAND_OK) {
		ret = 0;
		if (out)
			snprintf(out, cap, "%s", PQntuples(res) > 0 ?
				 PQgetvalue(res, 0, 0) : "");
	} else {
		fprintf(stderr, "# %s: %s", q, PQresultErrorMessage(res));
	}
	PQclear(res);
out:
	PQfinish(c);
	return ret;
}

FIXTURE(pg)
{
	char conninfo[320];
	struct csmp_db *db;
	char err[256];
};

/* Every test gets a database of its own, empty. */
FIXTURE_SETUP(pg)
{
	static unsigned int seq;
	char q[96], name[32];

	if (pg_skip)
		SKIP(return, "%s", pg_skip);
	snprintf(name, sizeof(name), "t_%d_%u", (int)getpid(), seq++);
	snprintf(q, sizeof(q), "CREATE DATABASE %s", name);
	ASSERT_EQ(0, sql1(pg_base, q, NULL, 0));
	snprintf(self->conninfo, sizeof(self->conninfo), "%s", pg_base);
	*strstr(self->conninfo, "dbname=postgres") = 0;
	snprintf(self->conninfo + strlen(self->conninfo),
		 sizeof(self->conninfo) - strlen(self->conninfo),
		 "dbname=%s user=postgres", name);
	self->db = NULL;
}

FIXTURE_TEARDOWN(pg)
{
	csmp_db_close(self->db);
}

static int open_db(const char *conninfo, unsigned int producers,
		   struct csmp_db **db, char *err, size_t errlen)
{
	struct csmp_db_opts o = {
		.path = conninfo, .producers = producers, .node = 0x00a1,
		.node_addr = "2001:db8::a1", .reply_port_lo = 40000,
		.reply_port_hi = 40999, .heartbeat_ms = 100,
	};

	return csmp_db_open(&o, db, err, errlen);
}

TEST(conninfo_forms_select_postgresql)
{
	char shown[128];

	EXPECT_TRUE(csmp_db_is_pg("postgresql:///csmp?host=/run/pg"));
	EXPECT_TRUE(csmp_db_is_pg("postgres://u@db/csmp"));
	EXPECT_TRUE(csmp_db_is_pg("host=/tmp dbname=csmp"));
	EXPECT_TRUE(csmp_db_is_pg(" dbname = csmp"));
	EXPECT_FALSE(csmp_db_is_pg("/var/lib/csmpd/registry.db"));
	EXPECT_FALSE(csmp_db_is_pg("registry.db"));
	EXPECT_FALSE(csmp_db_is_pg("./a=b.db"));
	csmp_db_display("postgresql://csmp:s3cret@db/csmp", shown,
			sizeof(shown));
	EXPECT_STREQ("postgresql://csmp:***@db/csmp", shown);
	csmp_db_display("host=db password=s3cret dbname=csmp", shown,
			sizeof(shown));
	EXPECT_STREQ("host=db password=*** dbname=csmp", shown);
	csmp_db_display("/var/lib/csmpd/registry.db", shown, sizeof(shown));
	EXPECT_STREQ("/var/lib/csmpd/registry.db", shown);
}

TEST_F(pg, empty_database_is_migrated_and_rerun_is_idempotent)
{
	char v[32];

	ASSERT_EQ(0, open_db(self->conninfo, 1, &self->db, self->err,
			     sizeof(self->err))) {
		TH_LOG("%s", self->err);
	}
	ASSERT_EQ(0, sql1(self->conninfo, "SELECT version FROM csmp_schema",
			  v, sizeof(v)));
	EXPECT_EQ(CSMP_DB_SCHEMA_VERSION, atoi(v));
	ASSERT_EQ(0, sql1(self->conninfo, "SELECT count(*) FROM"
			  " information_schema.tables WHERE table_name IN"
			  " ('devices', 'tlv_values', 'meta', 'device_keys',"
			  " 'nodes')", v, sizeof(v)));
	EXPECT_STREQ("5", v);
	ASSERT_EQ(0, sql1(self->conninfo, "SELECT count(*) FROM"
			  " information_schema.columns WHERE table_name ="
			  " 'devices' AND column_name IN ('owner', 'epoch')",
			  v, sizeof(v)));
	EXPECT_STREQ("2", v);
	ASSERT_EQ(0, csmp_db_meta_set(self->db, "bucket_key", "0123456789abcdef",
				      16));
	csmp_db_close(self->db);
	self->db = NULL;

	/* Again: nothing to migrate, nothing lost, one version row. */
	ASSERT_EQ(0, open_db(self->conninfo, 1, &self->db, self->err,
			     sizeof(self->err)));
	ASSERT_EQ(0, sql1(self->conninfo, "SELECT count(*) || ' ' ||"
			  " max(version) FROM csmp_schema", v, sizeof(v)));
	snprintf(self->err, sizeof(self->err), "1 %d", CSMP_DB_SCHEMA_VERSION);
	EXPECT_STREQ(self->err, v);
	EXPECT_EQ(16, csmp_db_meta_get(self->db, "bucket_key", v, sizeof(v)));
	EXPECT_EQ(0, memcmp(v, "0123456789abcdef", 16));
}

TEST_F(pg, database_at_an_older_version_is_migrated_forward)
{
	struct csmp_db_reader *rd;
	struct csmp_db_dev d;
	uint64_t eid = 0x42;
	char v[32];

	/* Version 1 as a csmpd of that time left it, with one device. */
	ASSERT_EQ(0, sql1(self->conninfo,
			  "CREATE TABLE csmp_schema (version integer NOT NULL);"
			  " INSERT INTO csmp_schema VALUES (1);"
			  " CREATE TABLE devices (eid text PRIMARY KEY,"
			  " session_id text NOT NULL, addr text NOT NULL,"
			  " port integer NOT NULL, grp text NOT NULL DEFAULT '',"
			  " first_reg bigint NOT NULL, last_reg bigint NOT NULL,"
			  " last_seen bigint NOT NULL,"
			  " registrations bigint NOT NULL DEFAULT 0,"
			  " reports bigint NOT NULL DEFAULT 0,"
			  " hw_model text NOT NULL DEFAULT '',"
			  " hw_serial text NOT NULL DEFAULT '',"
			  " fw_version text NOT NULL DEFAULT '');"
			  " CREATE TABLE tlv_values (eid text NOT NULL,"
			  " tlv bigint NOT NULL, idx bigint NOT NULL,"
			  " value bytea NOT NULL, updated bigint NOT NULL,"
			  " PRIMARY KEY (eid, tlv, idx));"
			  " CREATE TABLE meta (key text PRIMARY KEY,"
			  " value bytea NOT NULL);"
			  " INSERT INTO devices (eid, session_id, addr, port,"
			  " first_reg, last_reg, last_seen, registrations)"
			  " VALUES ('0000000000000042', '00a1000000000042', '::1',"
			  " 61628, 1, 2, 3, 1)", NULL, 0));
	ASSERT_EQ(0, open_db(self->conninfo, 1, &self->db, self->err,
			     sizeof(self->err))) {
		TH_LOG("%s", self->err);
	}
	ASSERT_EQ(0, sql1(self->conninfo, "SELECT version FROM csmp_schema",
			  v, sizeof(v)));
	EXPECT_EQ(CSMP_DB_SCHEMA_VERSION, atoi(v));
	ASSERT_EQ(0, csmp_db_reader_open(self->conninfo, &rd, self->err,
					 sizeof(self->err)));
	ASSERT_EQ(0, csmp_db_devices(rd, &eid, copy_cb, &d));
	EXPECT_STREQ("00a1000000000042", d.session);
	EXPECT_EQ(0, d.owner);	/* nobody recorded yet */
	csmp_db_reader_close(rd);
}

TEST_F(pg, newer_schema_is_refused)
{
	ASSERT_EQ(0, sql1(self->conninfo,
			  "CREATE TABLE csmp_schema (version integer NOT NULL);"
			  " INSERT INTO csmp_schema VALUES (99)", NULL, 0));
	EXPECT_EQ(-EPROTO, open_db(self->conninfo, 1, &self->db, self->err,
				   sizeof(self->err)));
	EXPECT_NE(NULL, strstr(self->err, "schema version 99 is newer"));
	TH_LOG("%s", self->err);
}

/* Two nodes start on an empty registry: both end with the first one's
 * shard key, whichever asks second (a plain get-then-set left each with
 * its own while the registry kept the last). */
TEST_F(pg, nodes_share_the_first_shard_key)
{
	uint8_t a[16], b[16], first[16];
	struct csmp_db *db2;

	memset(a, 0xaa, sizeof(a));
	memset(b, 0xbb, sizeof(b));
	memcpy(first, a, sizeof(a));
	ASSERT_EQ(0, open_db(self->conninfo, 1, &self->db, self->err,
			     sizeof(self->err)));
	ASSERT_EQ(0, open_db(self->conninfo, 1, &db2, self->err,
			     sizeof(self->err)));
	EXPECT_EQ(-ENOENT, csmp_db_meta_get(self->db, "bucket_key", a, 16));
	EXPECT_EQ(-ENOENT, csmp_db_meta_get(db2, "bucket_key", b, 16));
	EXPECT_EQ(16, csmp_db_meta_init(self->db, "bucket_key", a, 16));
	EXPECT_EQ(16, csmp_db_meta_init(db2, "bucket_key", b, 16));
	EXPECT_EQ(0, memcmp(a, first, 16));
	EXPECT_EQ(0, memcmp(b, first, 16));
	csmp_db_close(db2);
}

struct racer {
	const char *conninfo;
	int ret;
	char err[256];
};

static void *race_open(void *arg)
{
	struct racer *r = arg;
	struct csmp_db *db = NULL;

	r->ret = open_db(r->conninfo, 1, &db, r->err, sizeof(r->err));
	csmp_db_close(db);
	return NULL;
}

TEST_F(pg, nodes_starting_together_migrate_once)
{
	struct racer r[4];
	pthread_t t[4];
	unsigned int i;
	char v[32];

	for (i = 0; i < 4; i++) {
		r[i].conninfo = self->conninfo;
		ASSERT_EQ(0, pthread_create(&t[i], NULL, race_open, &r[i]));
	}
	for (i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		EXPECT_EQ(0, r[i].ret) {
			TH_LOG("%s", r[i].err);
		}
	}
	ASSERT_EQ(0, sql1(self->conninfo, "SELECT count(*) FROM csmp_schema",
			  v, sizeof(v)));
	EXPECT_STREQ("1", v);
}

TEST(unreachable_server_is_refused_with_reason)
{
	struct csmp_db_opts o = {
		.path = "host=/nonexistent dbname=csmp connect_timeout=2",
		.producers = 1,
	};
	struct csmp_db *db;
	char err[256];

	EXPECT_EQ(-ECONNREFUSED, csmp_db_open(&o, &db, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "cannot connect"));
	TH_LOG("%s", err);
}

TEST_F(pg, registration_and_report_are_stored_and_reloaded)
{
	struct csmp_db_reader *rd;
	struct csmp_db_rec *r;
	struct csmp_db_dev d;
	struct tlv_seen seen = { 0 };
	uint64_t n = 0, seq, eid = REG_EID;
	unsigned int rows = 0;
	int len;

	ASSERT_EQ(0, open_db(self->conninfo, 2, &self->db, self->err,
			     sizeof(self->err))) {
		TH_LOG("%s", self->err);
	}
	ASSERT_EQ(0, csmp_db_start(self->db));
	ASSERT_NE(NULL, r = csmp_db_reserve(self->db, 0));
	fill_reg(r, REG_EID, "00a1abcd00000001");
	len = fx_unhex(reg_tlvs, r->payload, sizeof(r->payload));
	ASSERT_EQ(595, len);
	r->len = (uint16_t)len;
	seq = csmp_db_push(self->db, 0);
	ASSERT_EQ(0, wait_committed(self->db, 0, seq));

	ASSERT_NE(NULL, r = csmp_db_reserve(self->db, 1));
	fill_reg(r, REG_EID, "");
	r->op = CSMP_DB_OP_REPORT;
	r->ts_ms += 5;
	r->addr.sin6_port = htons(46791);
	r->len = (uint16_t)fx_unhex("07020a01" "1202" "0801" "160308d209",
				    r->payload, sizeof(r->payload));
	seq = csmp_db_push(self->db, 1);
	ASSERT_EQ(0, wait_committed(self->db, 1, seq));

	ASSERT_EQ(0, csmp_db_reader_open(self->conninfo, &rd, self->err,
					 sizeof(self->err)));
	ASSERT_EQ(0, csmp_db_count(rd, &n));
	EXPECT_EQ(1u, n);
	ASSERT_EQ(0, csmp_db_devices(rd, &eid, copy_cb, &d));
	EXPECT_EQ(REG_EID, d.eid);
	EXPECT_STREQ("00a1abcd00000001", d.session);
	EXPECT_STREQ("meters", d.group);
	EXPECT_EQ(46791, ntohs(d.addr.sin6_port));	/* the report's */
	EXPECT_EQ(1u, d.registrations);
	EXPECT_EQ(1u, d.reports);
	EXPECT_STREQ("CSMP AGENT LIB", d.hw_model);
	EXPECT_STREQ("0A0027FFFE3B2AB2", d.hw_serial);
	EXPECT_STREQ("1.0.0", d.fw_version);
	EXPECT_EQ(0x00a1, d.owner);
	EXPECT_LE(d.first_reg_ms, d.last_seen_ms);
	ASSERT_EQ(0, csmp_db_tlvs(rd, REG_EID, tlv_cb, &seen));
	EXPECT_EQ(3u, seen.ip_addrs);	/* a table TLV keeps every instance */
	EXPECT_EQ(98u, seen.hw_len);
	eid = 1;
	EXPECT_EQ(-ENOENT, csmp_db_devices(rd, &eid, copy_cb, &d));
	csmp_db_reader_close(rd);

	csmp_db_close(self->db);
	self->db = NULL;
	ASSERT_EQ(0, open_db(self->conninfo, 1, &self->db, self->err,
			     sizeof(self->err)));
	ASSERT_EQ(0, csmp_db_load(self->db, count_cb, &rows, self->err,
				  sizeof(self->err)));
	EXPECT_EQ(1u, rows);
}

/*
 * The same records, in the same order, into both backends: the batched
 * PostgreSQL merge must leave the registry the SQLite backend leaves one
 * statement at a time (registrations of one device twice in a
 * transaction, reports before and after, a table TLV that shrinks, a key).
 */
static void push_script(struct csmp_db *db, uint64_t *seq)
{
	static const char *const sessions[] = { "s-one", "s-two" };
	struct csmp_db_rec *r;
	unsigned int i, k;

	for (i = 0; i < 60; i++) {
		for (k = 0; k < 2; k++) {
			r = csmp_db_reserve(db, 0);
			fill_reg(r, 0x5000 + i, sessions[k]);
			r->ts_ms = 1000000 + i * 10 + k;
			r->addr.sin6_port = htons((uint16_t)(1000 + k));
			if (k == 0 || i % 3 == 0)
				r->len = (uint16_t)fx_unhex(reg_tlvs, r->payload,
							    sizeof(r->payload));
			*seq = csmp_db_push(db, 0);
			/* A report between, and after, the registrations. */
			r = csmp_db_reserve(db, 0);
			fill_reg(r, 0x5000 + i, "");
			r->op = i % 2 ? CSMP_DB_OP_REPORT : CSMP_DB_OP_NOTIFY;
			r->ts_ms = 1000000 + i * 10 + k + 5;
			r->addr.sin6_port = htons((uint16_t)(2000 + k));
			/* IP address table: one instance instead of three. */
			r->len = (uint16_t)fx_unhex("07020a01" "10a100"
				"080110021a10000000000000000000000000000000"
				"01" "2001280130043801508001", r->payload,
				sizeof(r->payload));
			*seq = csmp_db_push(db, 0);
		}
	}
	r = csmp_db_reserve(db, 0);
	fill_reg(r, 0x5001, "");
	r->op = CSMP_DB_OP_KEY;
	r->pad = 1;
	r->len = 4;
	memcpy(r->payload, "\x01\x02\x03\x04", 4);
	*seq = csmp_db_push(db, 0);
}

struct dump {
	char text[60][2048];
	uint64_t eid[60];
	unsigned int n;
};

static int tlv_line(void *ctx, uint32_t tlv, uint32_t idx, const void *v,
		    size_t len, int64_t ts)
{
	char *s = ctx;

	snprintf(s + strlen(s), 2048 - strlen(s), " %u/%u:%zu@%lld", tlv, idx,
		 len, (long long)ts);
	return 0;
}

static int dump_cb(void *ctx, const struct csmp_db_dev *d)
{
	struct dump *du = ctx;
	char *s = du->text[du->n++];

	snprintf(s, 2048, "%llx %s %u %s %lld %lld %lld %llu %llu %s %s %s %u",
		 (unsigned long long)d->eid, d->session,
		 ntohs(d->addr.sin6_port), d->group, (long long)d->first_reg_ms,
		 (long long)d->last_reg_ms, (long long)d->last_seen_ms,
		 (unsigned long long)d->registrations,
		 (unsigned long long)d->reports, d->hw_model, d->hw_serial,
		 d->fw_version, d->owner);
	du->eid[du->n - 1] = d->eid;
	return du->n < 60 ? 0 : 1;
}

static void dump(struct __test_metadata *_metadata, const char *target,
		 struct dump *du)
{
	char err[256];

	struct csmp_db_reader *rd;
	unsigned int i;

	memset(du, 0, sizeof(*du));
	ASSERT_EQ(0, csmp_db_reader_open(target, &rd, err, sizeof(err)));
	ASSERT_LE(0, csmp_db_devices(rd, NULL, dump_cb, du));
	/* After the walk: a callback must not use its reader. */
	for (i = 0; i < du->n; i++)
		ASSERT_EQ(0, csmp_db_tlvs(rd, du->eid[i], tlv_line,
					  du->text[i]));
	csmp_db_reader_close(rd);
}

static int key_cb(void *ctx, uint64_t eid, int suite, const void *pub,
		  size_t len)
{
	snprintf(ctx, 64, "%llx %d %zu %02x", (unsigned long long)eid, suite,
		 len, ((const uint8_t *)pub)[3]);
	return 0;
}

TEST_F(pg, batched_merge_leaves_what_sqlite_leaves)
{
	struct csmp_db_opts so = { .producers = 1, .node = 0x00a1,
				   .commit_batch = 1024,
				   .commit_interval_ms = 1000 };
	static struct dump a, b;
	char dir[] = "/tmp/csmp-test-dbpg-XXXXXX", path[64], cmd[96];
	char ka[64] = "", kb[64] = "";
	struct csmp_db_stats st;
	struct csmp_db *sq;
	uint64_t seq = 0;
	unsigned int i;

	ASSERT_NE(NULL, mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/registry.db", dir);
	so.path = path;
	ASSERT_EQ(0, csmp_db_open(&so, &sq, self->err, sizeof(self->err)));
	push_script(sq, &seq);
	ASSERT_EQ(0, csmp_db_start(sq));
	ASSERT_EQ(0, wait_committed(sq, 0, seq));
	csmp_db_close(sq);

	/* Every record in the ring before the writer starts: one
	 * transaction holds them all, the merge sees every duplicate. */
	so.path = self->conninfo;
	ASSERT_EQ(0, csmp_db_open(&so, &self->db, self->err,
				  sizeof(self->err))) {
		TH_LOG("%s", self->err);
	}
	push_script(self->db, &seq);
	ASSERT_EQ(0, csmp_db_start(self->db));
	ASSERT_EQ(0, wait_committed(self->db, 0, seq));
	csmp_db_get_stats(self->db, &st);
	EXPECT_EQ(1u, st.commits);

	dump(_metadata, path, &a);
	dump(_metadata, self->conninfo, &b);
	ASSERT_EQ(60u, a.n);
	ASSERT_EQ(a.n, b.n);
	for (i = 0; i < a.n; i++)
		EXPECT_STREQ(a.text[i], b.text[i]);
	TH_LOG("e.g. %s", b.text[0]);

	csmp_db_close(self->db);
	self->db = NULL;
	ASSERT_EQ(0, csmp_db_open(&so, &self->db, self->err,
				  sizeof(self->err)));
	ASSERT_EQ(0, csmp_db_keys(self->db, key_cb, kb));
	so.path = path;
	ASSERT_EQ(0, csmp_db_open(&so, &sq, self->err, sizeof(self->err)));
	ASSERT_EQ(0, csmp_db_keys(sq, key_cb, ka));
	csmp_db_close(sq);
	EXPECT_STREQ("5001 1 4 04", kb);
	EXPECT_STREQ(ka, kb);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	EXPECT_EQ(0, system(cmd));
}

TEST_F(pg, group_commit_batches_many_records)
{
	struct csmp_db_stats st;
	struct csmp_db_reader *rd;
	uint64_t seq[2] = { 0 }, n = 0;
	unsigned int i, p;

	ASSERT_EQ(0, open_db(self->conninfo, 2, &self->db, self->err,
			     sizeof(self->err)));
	ASSERT_EQ(0, csmp_db_start(self->db));
	for (i = 0; i < 20000; i++) {
		struct csmp_db_rec *r;

		p = i & 1;
		while (!(r = csmp_db_reserve(self->db, p)))
			usleep(100);
		fill_reg(r, 0x1000 + i, "s");
		seq[p] = csmp_db_push(self->db, p);
	}
	ASSERT_EQ(0, wait_committed(self->db, 0, seq[0]));
	ASSERT_EQ(0, wait_committed(self->db, 1, seq[1]));
	csmp_db_get_stats(self->db, &st);
	EXPECT_EQ(20000u, st.records);
	EXPECT_EQ(0u, st.errors);
	EXPECT_LT(st.commits, 20000u);
	TH_LOG("20000 records in %llu commits, slowest %llu us",
	       (unsigned long long)st.commits,
	       (unsigned long long)st.max_commit_us);
	ASSERT_EQ(0, csmp_db_reader_open(self->conninfo, &rd, self->err,
					 sizeof(self->err)));
	ASSERT_EQ(0, csmp_db_count(rd, &n));
	EXPECT_EQ(20000u, n);
	csmp_db_reader_close(rd);
}

struct node_seen {
	struct csmp_db_node n;
	unsigned int count;
};

static int node_cb(void *ctx, const struct csmp_db_node *n)
{
	struct node_seen *s = ctx;

	s->n = *n;
	s->count++;
	return 0;
}

TEST_F(pg, node_heartbeats_and_says_down_when_it_stops)
{
	struct csmp_db_reader *rd;
	struct node_seen s = { 0 };
	int64_t hb;

	ASSERT_EQ(0, open_db(self->conninfo, 1, &self->db, self->err,
			     sizeof(self->err)));
	ASSERT_EQ(0, csmp_db_start(self->db));
	usleep(300 * 1000);
	ASSERT_EQ(0, csmp_db_reader_open(self->conninfo, &rd, self->err,
					 sizeof(self->err)));
	ASSERT_EQ(0, csmp_db_nodes(rd, node_cb, &s));
	ASSERT_EQ(1u, s.count);
	EXPECT_EQ(0x00a1, s.n.node);
	EXPECT_STREQ("2001:db8::a1", s.n.addr);
	EXPECT_EQ(40000, s.n.reply_port_lo);
	EXPECT_EQ(40999, s.n.reply_port_hi);
	EXPECT_STREQ("up", s.n.state);
	EXPECT_EQ(1u, s.n.epoch);
	EXPECT_LT(llabs(now_ms() - s.n.heartbeat_ms), 2000);
	/* The age, by the server's clock, is within a heartbeat (100 ms). */
	EXPECT_GE(s.n.age_ms, 0);
	EXPECT_LT(s.n.age_ms, 1000);
	hb = s.n.heartbeat_ms;
	usleep(300 * 1000);
	s.count = 0;
	ASSERT_EQ(0, csmp_db_nodes(rd, node_cb, &s));
	EXPECT_LT(hb, s.n.heartbeat_ms);	/* it keeps beating */

	csmp_db_close(self->db);
	self->db = NULL;
	s.count = 0;
	ASSERT_EQ(0, csmp_db_nodes(rd, node_cb, &s));
	EXPECT_STREQ("down", s.n.state);
	/* No more heartbeats: the age grows by the server's clock. */
	usleep(400 * 1000);
	s.count = 0;
	ASSERT_EQ(0, csmp_db_nodes(rd, node_cb, &s));
	EXPECT_GE(s.n.age_ms, 400);

	/* A new start of the same node is a new epoch. */
	usleep(2000);
	ASSERT_EQ(0, open_db(self->conninfo, 1, &self->db, self->err,
			     sizeof(self->err)));
	ASSERT_EQ(0, csmp_db_start(self->db));
	usleep(200 * 1000);
	s.count = 0;
	ASSERT_EQ(0, csmp_db_nodes(rd, node_cb, &s));
	EXPECT_STREQ("up", s.n.state);
	EXPECT_EQ(2u, s.n.epoch);
	csmp_db_reader_close(rd);
}

/*
 * The server goes away under the writer (fast shutdown: every session
 * killed) and comes back: the records pushed meanwhile are held, nothing
 * is published as committed, the writer reconnects by itself and commits
 * them all. The reader reconnects too.
 */
TEST_F(pg, lost_server_holds_records_then_commits_them_all)
{
	struct csmp_db_stats st;
	struct csmp_db_reader *rd;
	struct csmp_db_rec *r;
	uint64_t seq, before, n = 0;
	unsigned int i;

	ASSERT_EQ(0, open_db(self->conninfo, 1, &self->db, self->err,
			     sizeof(self->err)));
	ASSERT_EQ(0, csmp_db_reader_open(self->conninfo, &rd, self->err,
					 sizeof(self->err)));
	ASSERT_EQ(0, csmp_db_start(self->db));
	ASSERT_NE(NULL, r = csmp_db_reserve(self->db, 0));
	fill_reg(r, 0x7000, "before");
	before = csmp_db_push(self->db, 0);
	ASSERT_EQ(0, wait_committed(self->db, 0, before));

	ASSERT_EQ(0, pg_cmd("halt", "fast"));
	for (i = 0; i < 50; i++) {
		ASSERT_NE(NULL, r = csmp_db_reserve(self->db, 0));
		fill_reg(r, 0x7100 + i, "during");
		seq = csmp_db_push(self->db, 0);
	}
	usleep(700 * 1000);	/* several failed attempts */
	EXPECT_EQ(before, csmp_db_committed(self->db, 0));
	csmp_db_get_stats(self->db, &st);
	EXPECT_EQ(1u, st.failing);
	EXPECT_LT(0u, st.errors);
	EXPECT_EQ(50u, st.queue_depth);

	ASSERT_EQ(0, pg_cmd("resume", NULL));
	ASSERT_EQ(0, wait_committed(self->db, 0, seq));
	csmp_db_get_stats(self->db, &st);
	EXPECT_EQ(0u, st.failing);
	EXPECT_EQ(0u, st.queue_depth);
	EXPECT_EQ(51u, st.records);
	ASSERT_EQ(0, csmp_db_count(rd, &n));
	EXPECT_EQ(51u, n);
	csmp_db_reader_close(rd);
}

TEST_HARNESS_MAIN
