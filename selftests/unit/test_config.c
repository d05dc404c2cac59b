// SPDX-License-Identifier: GPL-2.0-only
/*
 * csmpd's configuration file (userspace/csmpd/conf/config.c): the shipped
 * example parses commented and uncommented, every kind of bad value is
 * refused with FILE:LINE, group and allowlist look-ups, and the policy
 * publication frees old snapshots only after every reader moved on (ASan
 * would catch a use after free).
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "conf/config.h"

static char *write_tmp(const char *text)
{
	static char path[64];
	int fd;

	strcpy(path, "/tmp/csmp-test-conf-XXXXXX");
	fd = mkstemp(path);
	if (fd < 0)
		return NULL;
	if (write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
		close(fd);
		return NULL;
	}
	close(fd);
	return path;
}

/* Load text; returns the error string (or "" on success). */
static int load_text(const char *text, struct csmp_conf *c, char *err,
		     size_t errlen, char *path_out)
{
	char *path = write_tmp(text);
	int ret;

	if (!path)
		return -EIO;
	ret = csmp_conf_load(path, c, err, errlen);
	if (path_out)
		strcpy(path_out, path);
	unlink(path);
	return ret;
}

static const char *example_path(void)
{
	static char p[512];
	const char *top = getenv("CSMP_TOP");

	snprintf(p, sizeof(p), "%s/csmpd.conf.example", top ? top : ".");
	return p;
}

TEST(shipped_example_parses_with_defaults)
{
	struct csmp_conf c;
	char err[256] = "";

	ASSERT_EQ(0, csmp_conf_load(example_path(), &c, err, sizeof(err))) {
		TH_LOG("%s", err);
	}
	EXPECT_EQ(0u, c.set);	/* everything is commented out */
	EXPECT_EQ(2u, c.n_listen);
	EXPECT_STREQ("[::]:61628", c.listen[0]);
	EXPECT_STREQ(CSMP_DEF_DB, c.db);
	EXPECT_EQ(50u, c.commit_interval_ms);
	EXPECT_TRUE(c.db_sync_full);	/* an fsync per group commit */
	EXPECT_TRUE(c.ack_after_commit);	/* answered once durable */
	EXPECT_FALSE(c.policy->allowlist);
	EXPECT_EQ((unsigned int)CSMP_SIGPOL_OFF, c.policy->uplink_sig);
	csmp_conf_free(&c);
}

/* Every option of the example, uncommented, is accepted as written. */
TEST(shipped_example_uncommented_parses)
{
	char line[512], allow[] = "/tmp/csmp-test-allow-XXXXXX", *text;
	char err[256] = "";
	size_t len = 0, cap = 1 << 16;
	struct csmp_conf c;
	FILE *f;
	int fd;

	fd = mkstemp(allow);
	ASSERT_LE(0, fd);
	ASSERT_EQ(17, write(fd, "0A0027FFFE3B2AB3\n", 17));
	close(fd);
	f = fopen(example_path(), "r");
	ASSERT_NE(NULL, f);
	text = calloc(1, cap);
	while (fgets(line, sizeof(line), f)) {
		const char *l = line;

		if (line[0] == '#' && (line[1] == '[' ||
				       (line[1] >= 'a' && line[1] <= 'z')))
			l = line + 1;
		if (!strncmp(l, "allow-file", 10)) {
			snprintf(line, sizeof(line), "allow-file = %s\n", allow);
			l = line;
		}
		len += (size_t)snprintf(text + len, cap - len, "%s", l);
	}
	fclose(f);
	ASSERT_EQ(0, load_text(text, &c, err, sizeof(err), NULL)) {
		TH_LOG("%s", err);
	}
	EXPECT_EQ(2u, c.n_listen);
	EXPECT_EQ(2u, c.workers);
	EXPECT_TRUE(c.ack_after_commit);
	EXPECT_NE(0ull, c.set & (1ull << CSMP_CONF_ACK_AFTER_COMMIT));
	EXPECT_STREQ("127.0.0.1:9628", c.metrics);
	EXPECT_TRUE(c.policy->allowlist == false);
	EXPECT_EQ(3u, c.policy->n_allow);
	ASSERT_EQ(1u, c.policy->n_groups);
	EXPECT_STREQ("meters", c.policy->groups[0].name);
	EXPECT_EQ(17u, c.policy->groups[0].config_group);
	EXPECT_EQ((unsigned int)CSMP_SIGPOL_REQUIRED, c.policy->groups[0].uplink_sig);
	csmp_conf_free(&c);
	free(text);
	unlink(allow);
}

struct bad {
	const char *text;
	unsigned int line;
	const char *msg;
};

static const struct bad bads[] = {
	{ "[csmpd]\nworkers = 0\n", 2, "workers: '0' is not a number in 1..256" },
	{ "[csmpd]\n\nworkers = many\n", 3, "not a number" },
	{ "[csmpd]\nio = epoll\n", 2, "io: 'epoll' is not auto, uring or mmsg" },
	{ "[csmpd]\nbogus = 1\n", 2, "unknown option 'bogus' in [csmpd]" },
	{ "[csmpd]\nlisten = 61628\n", 2, "not ADDR:PORT" },
	{ "[csmpd]\ndb-sync = sometimes\n", 2, "not normal or full" },
	{ "[csmpd]\nack-after-commit = later\n", 2,
	  "ack-after-commit: 'later' is not true or false" },
	{ "[csmpd]\nbackend-id = 70000\n", 2, "0..65535" },
	{ "[csmpd]\nreply-ports = 41000-40000\n", 2, "reply-ports: '41000-40000' is not LO-HI" },
	{ "workers = 2\n", 1, "outside a section" },
	{ "[nope]\n", 1, "unknown section [nope]" },
	{ "[csmpd\n", 1, "without ']'" },
	{ "[csmpd]\nworkers\n", 2, "expected 'key = value'" },
	{ "[policy]\ndevices = closed\n", 2, "not open or allowlist" },
	{ "[policy]\nallow = 0A0027FFFE3B2AB2 12345\n", 2, "'12345' is not an EID" },
	{ "[policy]\nuplink-signature = maybe\n", 2, "not off, optional or required" },
	{ "[group a]\n[group a]\n", 2, "defined twice" },
	{ "[group bad name!]\n", 1, "use letters" },
	{ "[group g]\nmembers = 0007810G*\n", 2, "not an EID" },
	{ "[group g]\nconfig-group = 0\n", 2, "config-group" },
	{ "[group g]\ncolour = red\n", 2, "unknown option 'colour' in [group g]" },
	{ "[policy]\nallow-file = /nonexistent/csmp\n", 2, "cannot open /nonexistent/csmp" },
};

TEST(bad_values_are_refused_with_file_and_line)
{
	unsigned int i;

	for (i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		struct csmp_conf c;
		char err[256] = "", path[64], want[96];

		EXPECT_EQ(-EINVAL, load_text(bads[i].text, &c, err,
					     sizeof(err), path));
		snprintf(want, sizeof(want), "%s:%u: ", path, bads[i].line);
		EXPECT_EQ(0, strncmp(err, want, strlen(want))) {
			TH_LOG("case %u: got '%s', want prefix '%s'", i, err,
			       want);
		}
		EXPECT_NE(NULL, strstr(err, bads[i].msg)) {
			TH_LOG("case %u: got '%s', want '%s'", i, err,
			       bads[i].msg);
		}
	}
}

TEST(bad_line_in_allow_file_names_that_file)
{
	char allow[] = "/tmp/csmp-test-allow-XXXXXX", text[128], want[96];
	char err[256] = "";
	struct csmp_conf c;
	int fd;

	fd = mkstemp(allow);
	ASSERT_LE(0, fd);
	ASSERT_EQ(34, write(fd, "# meters\n0A0027FFFE3B2AB2\nnot-eid\n", 34));
	close(fd);
	snprintf(text, sizeof(text), "[policy]\nallow-file = %s\n", allow);
	EXPECT_EQ(-EINVAL, load_text(text, &c, err, sizeof(err), NULL));
	snprintf(want, sizeof(want), "%s:3: ", allow);
	EXPECT_EQ(0, strncmp(err, want, strlen(want))) {
		TH_LOG("%s", err);
	}
	unlink(allow);
}

TEST(groups_allowlist_and_signature_policy)
{
	static const char text[] =
		"[policy]\n"
		"devices = allowlist\n"
		"allow = 00000000000000AA, 00000000000000BB\n"
		"uplink-signature = optional\n"
		"[group lights]\n"
		"members = 0A0027FFFE3B2AB2\n"
		"uplink-signature = required\n"
		"[group meters]\n"
		"members = 00078108*  0A00*\n"
		"config-group = 17\n";
	const struct csmp_group *g;
	struct csmp_conf c;
	char err[256] = "";

	ASSERT_EQ(0, load_text(text, &c, err, sizeof(err), NULL)) {
		TH_LOG("%s", err);
	}
	/* First match in file order wins. */
	g = csmp_policy_group(c.policy, 0x0A0027FFFE3B2AB2ull);
	ASSERT_NE(NULL, g);
	EXPECT_STREQ("lights", g->name);
	g = csmp_policy_group(c.policy, 0x0A0027FFFE3B2AB3ull);
	ASSERT_NE(NULL, g);
	EXPECT_STREQ("meters", g->name);
	g = csmp_policy_group(c.policy, 0x0007810800E76FDAull);
	ASSERT_NE(NULL, g);
	EXPECT_EQ(17u, g->config_group);
	EXPECT_EQ(NULL, csmp_policy_group(c.policy, 0x0007810900E76FDAull));

	EXPECT_EQ((unsigned int)CSMP_SIGPOL_REQUIRED,
		  csmp_policy_uplink(c.policy, 0x0A0027FFFE3B2AB2ull));
	/* meters did not say: it inherits [policy]'s. */
	EXPECT_EQ((unsigned int)CSMP_SIGPOL_OPTIONAL,
		  csmp_policy_uplink(c.policy, 0x0007810800000001ull));
	EXPECT_EQ((unsigned int)CSMP_SIGPOL_OPTIONAL, csmp_policy_uplink(c.policy, 0xAA));

	EXPECT_TRUE(csmp_policy_allowed(c.policy, 0xAA));
	EXPECT_TRUE(csmp_policy_allowed(c.policy, 0xBB));
	EXPECT_TRUE(csmp_policy_allowed(c.policy, 0x0007810800000001ull));
	EXPECT_FALSE(csmp_policy_allowed(c.policy, 0xCC));
	csmp_conf_free(&c);
}

/* ---- publication under concurrent readers ------------------------------ */

#define MAGIC 0x5eed5eedu

struct rcu_ctx {
	struct csmp_policy_ref ref;
	atomic_int stop;
	atomic_ulong reads;
	unsigned int idx;
	atomic_int bad;
};

struct reader_arg {
	struct rcu_ctx *ctx;
	unsigned int i;
};

static struct csmp_policy *mk_policy(void)
{
	struct csmp_policy *p = calloc(1, sizeof(*p));

	p->allow = calloc(1, sizeof(uint64_t));
	p->allow[0] = MAGIC;
	p->n_allow = 1;
	return p;
}

static void *reader(void *arg)
{
	struct reader_arg *a = arg;
	struct rcu_ctx *ctx = a->ctx;

	while (!atomic_load(&ctx->stop)) {
		struct csmp_policy *p = csmp_policy_get(&ctx->ref, a->i);
		int k;

		/* Hold it for a "batch": it must stay intact. */
		for (k = 0; k < 50; k++)
			if (p->allow[0] != MAGIC)
				atomic_store(&ctx->bad, 1);
		atomic_fetch_add(&ctx->reads, 1);
		if ((atomic_load(&ctx->reads) & 255) == 0) {
			csmp_policy_idle(&ctx->ref, a->i);
			usleep(100);
		}
	}
	csmp_policy_idle(&ctx->ref, a->i);
	return NULL;
}

TEST(publish_frees_old_snapshot_only_after_readers_move_on)
{
	struct rcu_ctx ctx = { 0 };
	struct reader_arg args[2];
	pthread_t th[2];
	unsigned int i;

	ASSERT_EQ(0, csmp_policy_ref_init(&ctx.ref, 2, mk_policy()));
	for (i = 0; i < 2; i++) {
		args[i] = (struct reader_arg){ &ctx, i };
		ASSERT_EQ(0, pthread_create(&th[i], NULL, reader, &args[i]));
	}
	for (i = 0; i < 200; i++)
		ASSERT_EQ(0, csmp_policy_publish(&ctx.ref, mk_policy(), 5000));
	atomic_store(&ctx.stop, 1);
	for (i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	EXPECT_EQ(0, atomic_load(&ctx.bad));
	EXPECT_EQ(201u, atomic_load(&ctx.ref.cur)->generation);
	csmp_policy_ref_fini(&ctx.ref);
}

TEST(publish_times_out_instead_of_freeing_a_held_snapshot)
{
	struct csmp_policy_ref ref;
	struct csmp_policy *held;

	ASSERT_EQ(0, csmp_policy_ref_init(&ref, 1, mk_policy()));
	held = csmp_policy_get(&ref, 0);	/* and never comes back */
	EXPECT_EQ(-ETIMEDOUT, csmp_policy_publish(&ref, mk_policy(), 20));
	EXPECT_EQ(MAGIC, held->allow[0]);	/* still valid: leaked */
	csmp_policy_free(held);
	csmp_policy_ref_fini(&ref);
}

TEST_HARNESS_MAIN
