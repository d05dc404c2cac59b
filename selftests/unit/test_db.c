// SPDX-License-Identifier: GPL-2.0-only
/*
 * The registry's SQLite persistence (userspace/csmpd/registry/db.c) on real
 * files: schema creation and versioning, what a registration and a report store,
 * the start-up load, refusal of corrupt, unwritable and too-new databases,
 * group commit under load, the durability contract across a real kill -9
 * of a writing process (what the writer publishes as committed is what
 * csmpd waits for before it answers a registration), and a disk that
 * fills up: nothing is published as committed until the records really
 * are, and they are once there is space again.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/types.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "csmp/tlv.h"
#include "testutil.h"
#include "registry/db.h"
#include "db_test.h"

FIXTURE(db)
{
	char dir[64];
	char path[96];
	struct csmp_db *db;
	char err[256];
};

FIXTURE_SETUP(db)
{
	struct csmp_db_opts o = { .producers = 2 };

	strcpy(self->dir, "/tmp/csmp-test-db-XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	snprintf(self->path, sizeof(self->path), "%s/registry.db", self->dir);
	o.path = self->path;
	ASSERT_EQ(0, csmp_db_open(&o, &self->db, self->err,
				  sizeof(self->err))) {
		TH_LOG("%s", self->err);
	}
}

FIXTURE_TEARDOWN(db)
{
	char cmd[128];

	csmp_db_close(self->db);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", self->dir);
	if (system(cmd))
		TH_LOG("cleanup of %s failed", self->dir);
}

TEST_F(db, new_file_gets_current_schema_version)
{
	sqlite3 *sql;
	sqlite3_stmt *st;

	ASSERT_EQ(SQLITE_OK, sqlite3_open(self->path, &sql));
	ASSERT_EQ(SQLITE_OK, sqlite3_prepare_v2(sql, "PRAGMA user_version",
						-1, &st, NULL));
	ASSERT_EQ(SQLITE_ROW, sqlite3_step(st));
	EXPECT_EQ(CSMP_DB_SCHEMA_VERSION, sqlite3_column_int(st, 0));
	sqlite3_finalize(st);
	ASSERT_EQ(SQLITE_OK, sqlite3_prepare_v2(sql, "PRAGMA journal_mode",
						-1, &st, NULL));
	ASSERT_EQ(SQLITE_ROW, sqlite3_step(st));
	EXPECT_STREQ("wal", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	sqlite3_close(sql);
}

TEST_F(db, registration_and_report_are_stored_and_reloaded)
{
	struct csmp_db_reader *rd;
	struct csmp_db_rec *r;
	struct csmp_db_dev d;
	struct tlv_seen seen = { 0 };
	uint64_t n = 0, seq, eid = REG_EID;
	int len;

	ASSERT_EQ(0, csmp_db_start(self->db));
	r = csmp_db_reserve(self->db, 0);
	ASSERT_NE(NULL, r);
	fill_reg(r, REG_EID, "0001abcd00000001");
	len = fx_unhex(reg_tlvs, r->payload, sizeof(r->payload));
	ASSERT_EQ(595, len);
	r->len = (uint16_t)len;
	csmp_db_push(self->db, 0);

	/* A report: SessionID, CurrentTime, Uptime{sysUpTime 1234}. */
	r = csmp_db_reserve(self->db, 1);
	ASSERT_NE(NULL, r);
	fill_reg(r, REG_EID, "");
	r->op = CSMP_DB_OP_REPORT;
	r->ts_ms += 5;
	len = fx_unhex("07020a01" "1202" "0801" "160308d209", r->payload,
		    sizeof(r->payload));
	r->len = (uint16_t)len;
	seq = csmp_db_push(self->db, 1);
	ASSERT_EQ(0, wait_committed(self->db, 1, seq));
	ASSERT_EQ(0, wait_committed(self->db, 0, 1));

	ASSERT_EQ(0, csmp_db_reader_open(self->path, &rd, self->err,
					 sizeof(self->err)));
	ASSERT_EQ(0, csmp_db_count(rd, &n));
	EXPECT_EQ(1u, n);
	ASSERT_EQ(0, csmp_db_devices(rd, &eid, copy_cb, &d));
	EXPECT_EQ(REG_EID, d.eid);
	EXPECT_STREQ("0001abcd00000001", d.session);
	EXPECT_STREQ("meters", d.group);
	EXPECT_EQ(46790, ntohs(d.addr.sin6_port));
	EXPECT_EQ(1u, d.registrations);
	EXPECT_EQ(1u, d.reports);
	EXPECT_STREQ("CSMP AGENT LIB", d.hw_model);
	EXPECT_STREQ("0A0027FFFE3B2AB2", d.hw_serial);
	EXPECT_STREQ("1.0.0", d.fw_version);
	EXPECT_LE(d.first_reg_ms, d.last_seen_ms);
	ASSERT_EQ(0, csmp_db_tlvs(rd, REG_EID, tlv_cb, &seen));
	EXPECT_EQ(3u, seen.ip_addrs);	/* a table TLV keeps every instance */
	EXPECT_EQ(98u, seen.hw_len);
	eid = 1;
	EXPECT_EQ(-ENOENT, csmp_db_devices(rd, &eid, copy_cb, &d));
	csmp_db_reader_close(rd);

	/* A restart finds the device through the start-up load. */
	csmp_db_close(self->db);
	{
		struct csmp_db_opts o = { .path = self->path, .producers = 1 };
		unsigned int rows = 0;

		ASSERT_EQ(0, csmp_db_open(&o, &self->db, self->err,
					  sizeof(self->err)));
		ASSERT_EQ(0, csmp_db_load(self->db, count_cb, &rows,
					  self->err, sizeof(self->err)));
		EXPECT_EQ(1u, rows);
	}
}

TEST_F(db, meta_value_survives_reopen)
{
	struct csmp_db_opts o = { .path = self->path, .producers = 1 };
	uint8_t key[16], back[16];
	unsigned int i;

	for (i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)(i * 7 + 1);
	EXPECT_EQ(-ENOENT, csmp_db_meta_get(self->db, "bucket_key", back,
					    sizeof(back)));
	ASSERT_EQ(0, csmp_db_meta_set(self->db, "bucket_key", key,
				      sizeof(key)));
	csmp_db_close(self->db);
	ASSERT_EQ(0, csmp_db_open(&o, &self->db, self->err, sizeof(self->err)));
	ASSERT_EQ(16, csmp_db_meta_get(self->db, "bucket_key", back,
				       sizeof(back)));
	EXPECT_EQ(0, memcmp(key, back, sizeof(key)));
}

TEST_F(db, meta_init_keeps_the_first_value)
{
	uint8_t a[16], b[16];

	memset(a, 0xaa, sizeof(a));
	memset(b, 0xbb, sizeof(b));
	EXPECT_EQ(16, csmp_db_meta_init(self->db, "bucket_key", a, 16));
	EXPECT_EQ(16, csmp_db_meta_init(self->db, "bucket_key", b, 16));
	EXPECT_EQ(0, memcmp(a, b, 16));
	EXPECT_EQ(0xaa, b[0]);
}

TEST_F(db, group_commit_batches_many_records)
{
	struct csmp_db_stats st;
	struct csmp_db_reader *rd;
	uint64_t seq[2] = { 0 }, n = 0;
	unsigned int i, p;

	ASSERT_EQ(0, csmp_db_start(self->db));
	for (i = 0; i < 20000; i++) {
		struct csmp_db_rec *r;

		p = i & 1;
		while (!(r = csmp_db_reserve(self->db, p)))
			usleep(100);	/* ring full: the writer catches up */
		fill_reg(r, 0x1000 + i, "s");
		seq[p] = csmp_db_push(self->db, p);
	}
	ASSERT_EQ(0, wait_committed(self->db, 0, seq[0]));
	ASSERT_EQ(0, wait_committed(self->db, 1, seq[1]));
	csmp_db_get_stats(self->db, &st);
	EXPECT_EQ(20000u, st.records);
	EXPECT_EQ(0u, st.errors);
	EXPECT_LT(st.commits, 20000u);	/* grouped, not one per record */
	TH_LOG("20000 records in %llu commits, slowest %llu us",
	       (unsigned long long)st.commits,
	       (unsigned long long)st.max_commit_us);
	ASSERT_EQ(0, csmp_db_reader_open(self->path, &rd, self->err,
					 sizeof(self->err)));
	ASSERT_EQ(0, csmp_db_count(rd, &n));
	EXPECT_EQ(20000u, n);
	csmp_db_reader_close(rd);
}

TEST(corrupt_file_is_refused_with_reason)
{
	char path[] = "/tmp/csmp-test-corrupt-XXXXXX", err[256] = "";
	struct csmp_db_opts o = { .path = path, .producers = 1 };
	struct csmp_db *db = NULL;
	char junk[4096];
	int fd;

	fd = mkstemp(path);
	ASSERT_LE(0, fd);
	memset(junk, 0x5a, sizeof(junk));
	ASSERT_EQ((ssize_t)sizeof(junk), write(fd, junk, sizeof(junk)));
	close(fd);
	EXPECT_EQ(-EBADMSG, csmp_db_open(&o, &db, err, sizeof(err)));
	EXPECT_EQ(NULL, db);
	EXPECT_NE(NULL, strstr(err, "not a usable SQLite database"));
	EXPECT_NE(NULL, strstr(err, path));
	TH_LOG("%s", err);
	unlink(path);
}

TEST(newer_schema_is_refused)
{
	char path[] = "/tmp/csmp-test-newer-XXXXXX", err[256] = "";
	struct csmp_db_opts o = { .path = path, .producers = 1 };
	struct csmp_db *db = NULL;
	sqlite3 *sql;
	int fd;

	fd = mkstemp(path);
	ASSERT_LE(0, fd);
	close(fd);
	ASSERT_EQ(SQLITE_OK, sqlite3_open(path, &sql));
	ASSERT_EQ(SQLITE_OK, sqlite3_exec(sql, "PRAGMA user_version = 99",
					  NULL, NULL, NULL));
	sqlite3_close(sql);
	EXPECT_EQ(-EPROTO, csmp_db_open(&o, &db, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "newer"));
	unlink(path);
}

/* A file a csmpd of schema 2 left (before nodes and owners). */
TEST(version_2_file_is_migrated_to_current)
{
	char path[] = "/tmp/csmp-test-v2-XXXXXX", err[256] = "";
	struct csmp_db_opts o = { .path = path, .producers = 1, .node = 7 };
	struct csmp_db_reader *rd;
	struct csmp_db *db = NULL;
	struct csmp_db_dev d;
	uint64_t eid = 0x42;
	sqlite3_stmt *st;
	sqlite3 *sql;
	int fd, rc;

	fd = mkstemp(path);
	ASSERT_LE(0, fd);
	close(fd);
	ASSERT_EQ(SQLITE_OK, sqlite3_open(path, &sql));
	rc = sqlite3_exec(sql,
		"CREATE TABLE devices (eid TEXT PRIMARY KEY NOT NULL,"
		" session_id TEXT NOT NULL, addr TEXT NOT NULL,"
		" port INTEGER NOT NULL, grp TEXT NOT NULL DEFAULT '',"
		" first_reg INTEGER NOT NULL, last_reg INTEGER NOT NULL,"
		" last_seen INTEGER NOT NULL,"
		" registrations INTEGER NOT NULL DEFAULT 0,"
		" reports INTEGER NOT NULL DEFAULT 0,"
		" hw_model TEXT NOT NULL DEFAULT '',"
		" hw_serial TEXT NOT NULL DEFAULT '',"
		" fw_version TEXT NOT NULL DEFAULT '') WITHOUT ROWID;"
		"CREATE TABLE tlv_values (eid TEXT NOT NULL, tlv INTEGER NOT NULL,"
		" idx INTEGER NOT NULL, value BLOB NOT NULL,"
		" updated INTEGER NOT NULL, PRIMARY KEY (eid, tlv, idx))"
		" WITHOUT ROWID;"
		"CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL,"
		" value BLOB NOT NULL);"
		"CREATE TABLE device_keys (eid TEXT PRIMARY KEY NOT NULL,"
		" suite INTEGER NOT NULL, pub BLOB NOT NULL,"
		" enrolled INTEGER NOT NULL) WITHOUT ROWID;"
		"INSERT INTO devices (eid, session_id, addr, port, first_reg,"
		" last_reg, last_seen, registrations) VALUES"
		" ('0000000000000042', '0001000000000042', '::1', 61628, 1, 2,"
		" 3, 1);"
		"PRAGMA user_version = 2", NULL, NULL, NULL);
	ASSERT_EQ(SQLITE_OK, rc);
	sqlite3_close(sql);
	ASSERT_EQ(0, csmp_db_open(&o, &db, err, sizeof(err))) {
		TH_LOG("%s", err);
	}
	csmp_db_close(db);
	ASSERT_EQ(0, csmp_db_reader_open(path, &rd, err, sizeof(err)));
	ASSERT_EQ(0, csmp_db_devices(rd, &eid, copy_cb, &d));
	EXPECT_STREQ("0001000000000042", d.session);
	EXPECT_EQ(0, d.owner);
	csmp_db_reader_close(rd);
	ASSERT_EQ(SQLITE_OK, sqlite3_open(path, &sql));
	rc = sqlite3_prepare_v2(sql, "SELECT (SELECT user_version FROM"
				" pragma_user_version), (SELECT count(*) FROM"
				" nodes)", -1, &st, NULL);
	ASSERT_EQ(SQLITE_OK, rc);
	ASSERT_EQ(SQLITE_ROW, sqlite3_step(st));
	EXPECT_EQ(CSMP_DB_SCHEMA_VERSION, sqlite3_column_int(st, 0));
	EXPECT_EQ(0, sqlite3_column_int(st, 1));
	sqlite3_finalize(st);
	sqlite3_close(sql);
	unlink(path);
}

TEST(unwritable_location_is_refused)
{
	char dir[] = "/tmp/csmp-test-ro-XXXXXX", path[96];
	int status;
	pid_t pid;

	ASSERT_NE(NULL, mkdtemp(dir));
	ASSERT_EQ(0, chmod(dir, 0755));
	snprintf(path, sizeof(path), "%s/registry.db", dir);
	/* Root writes anywhere: open as nobody, as csmpd runs after its
	 * privilege drop. */
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct csmp_db_opts o = { .path = path, .producers = 1 };
		struct csmp_db *db = NULL;
		char err[256] = "";
		int ret;

		if (getuid() == 0 && (setgid(65534) || setuid(65534)))
			_exit(3);
		ret = csmp_db_open(&o, &db, err, sizeof(err));
		fprintf(stderr, "# %d %s\n", ret, err);
		_exit(ret < 0 && strstr(err, path) ? 0 : 1);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	rmdir(dir);
}

/*
 * The durability contract with a real process and a real SIGKILL: a child
 * pushes N registrations, waits until the writer publishes them as
 * committed (the moment csmpd may answer them), tells the parent, and keeps
 * writing until it is killed mid-stream. Every one of the first N must be
 * in the file.
 */
TEST(kill_9_keeps_every_record_published_as_committed)
{
	char dir[] = "/tmp/csmp-test-kill-XXXXXX", path[96], cmd[128];
	const unsigned int n = 3000, interval_ms = 50;
	int pfd[2], status;
	char c;
	pid_t pid;

	ASSERT_NE(NULL, mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/registry.db", dir);
	ASSERT_EQ(0, pipe(pfd));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct csmp_db_opts o = { .path = path, .producers = 1,
					  .commit_interval_ms = interval_ms };
		struct csmp_db *db;
		char err[256];
		uint64_t i;

		close(pfd[0]);
		if (csmp_db_open(&o, &db, err, sizeof(err)) ||
		    csmp_db_start(db))
			_exit(2);
		for (i = 0;; i++) {
			struct csmp_db_rec *r;

			while (!(r = csmp_db_reserve(db, 0)))
				usleep(50);
			fill_reg(r, 0x100000 + i, "x");
			if (csmp_db_push(db, 0) == n) {
				if (wait_committed(db, 0, n))
					_exit(4);
				if (write(pfd[1], "k", 1) != 1)
					_exit(3);
			}
		}
	}
	close(pfd[1]);
	ASSERT_EQ(1, read(pfd[0], &c, 1));
	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFSIGNALED(status));
	close(pfd[0]);

	{
		struct csmp_db_opts o = { .path = path, .producers = 1 };
		struct csmp_db_reader *rd;
		struct csmp_db *db;
		struct csmp_db_dev d;
		char err[256];
		uint64_t total = 0, eid;
		unsigned int i, missing = 0;

		/* Recovery of the WAL happens at open, as in csmpd. */
		ASSERT_EQ(0, csmp_db_open(&o, &db, err, sizeof(err))) {
			TH_LOG("%s", err);
		}
		ASSERT_EQ(0, csmp_db_reader_open(path, &rd, err, sizeof(err)));
		ASSERT_EQ(0, csmp_db_count(rd, &total));
		for (i = 0; i < n; i++) {
			eid = 0x100000 + i;
			if (csmp_db_devices(rd, &eid, copy_cb, &d))
				missing++;
		}
		TH_LOG("%llu records survived, %u of the first %u missing",
		       (unsigned long long)total, missing, n);
		EXPECT_EQ(0u, missing);
		EXPECT_GE(total, n);
		csmp_db_reader_close(rd);
		csmp_db_close(db);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd))
		TH_LOG("cleanup failed");
}

/*
 * A disk that fills up under the writer: a small tmpfs mounted over /tmp in
 * a mount namespace of this test process only (the harness forks one per
 * test), so nothing is created outside it and nothing is left behind,
 * whatever happens.
 */
static int fill_fs(const char *path)
{
	static char zero[65536];
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	if (fd < 0)
		return -errno;
	while (write(fd, zero, sizeof(zero)) > 0)
		;
	/* The last partial page too. */
	while (write(fd, zero, 512) > 0)
		;
	close(fd);
	return 0;
}

TEST(full_disk_holds_records_until_there_is_space)
{
	struct csmp_db_opts o = { .path = "/tmp/registry.db",
				  .producers = 1, .sync_full = true };
	struct csmp_db_stats st;
	struct csmp_db_reader *rd;
	struct csmp_db_dev d;
	struct csmp_db *db;
	struct csmp_db_rec *r;
	uint64_t seq, eid, n;
	char err[256];
	unsigned int i;

	if (unshare(CLONE_NEWNS) ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
		SKIP(return, "no mount namespace (needs root): %s",
		     strerror(errno));
	ASSERT_EQ(0, mount("csmp-test", "/tmp", "tmpfs", 0, "size=1m"));
	ASSERT_EQ(0, csmp_db_open(&o, &db, err, sizeof(err))) {
		TH_LOG("%s", err);
	}
	ASSERT_EQ(0, csmp_db_start(db));
	ASSERT_NE(NULL, r = csmp_db_reserve(db, 0));
	fill_reg(r, 0x2000, "before");
	seq = csmp_db_push(db, 0);
	ASSERT_EQ(0, wait_committed(db, 0, seq));

	ASSERT_EQ(0, fill_fs("/tmp/fill"));
	for (i = 0; i < 20; i++) {
		ASSERT_NE(NULL, r = csmp_db_reserve(db, 0));
		fill_reg(r, 0x3000 + i, "during");
		seq = csmp_db_push(db, 0);
	}
	usleep(500 * 1000);	/* several failed attempts */
	EXPECT_LT(csmp_db_committed(db, 0), seq - 19);
	csmp_db_get_stats(db, &st);
	EXPECT_EQ(1u, st.failing);
	EXPECT_LT(0u, st.errors);
	EXPECT_EQ(20u, st.queue_depth);	/* held, not dropped */

	ASSERT_EQ(0, unlink("/tmp/fill"));
	ASSERT_EQ(0, wait_committed(db, 0, seq));
	csmp_db_get_stats(db, &st);
	EXPECT_EQ(0u, st.failing);
	EXPECT_EQ(0u, st.queue_depth);
	EXPECT_EQ(21u, st.records);
	csmp_db_close(db);

	ASSERT_EQ(0, csmp_db_reader_open(o.path, &rd, err, sizeof(err)));
	ASSERT_EQ(0, csmp_db_count(rd, &n));
	EXPECT_EQ(21u, n);
	eid = 0x3000 + 19;
	ASSERT_EQ(0, csmp_db_devices(rd, &eid, copy_cb, &d));
	EXPECT_STREQ("during", d.session);
	EXPECT_EQ(1u, d.registrations);	/* applied once, not per attempt */
	csmp_db_reader_close(rd);
}

TEST_HARNESS_MAIN
