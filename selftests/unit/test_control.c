// SPDX-License-Identifier: GPL-2.0-only
/*
 * csmpd's control socket (userspace/csmpd/ctl/control.c) with the shared
 * client (userspace/lib/ctl_client.c) over a real Unix socket: mode 0600,
 * dispatch by "cmd", error answers, a deferred answer completed from
 * another thread, a second csmpd refused on the same path, and a client
 * sending garbage does not disturb the next one.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "ctl_client.h"
#include "ctl/control.h"

static int echo(void *ctx, struct csmp_ctl_req *r, json_t *req)
{
	(*(int *)ctx)++;
	return csmp_ctl_reply(r, json_pack("{s:O}", "echo",
					   json_object_get(req, "x")));
}

static int fails(void *ctx, struct csmp_ctl_req *r, json_t *req)
{
	return -ENOENT;
}

static void *later(void *arg)
{
	usleep(50000);
	csmp_ctl_finish(arg, json_pack("{s:s}", "answer", "from a worker"));
	return NULL;
}

static pthread_t later_th;

static int deferred(void *ctx, struct csmp_ctl_req *r, json_t *req)
{
	if (pthread_create(&later_th, NULL, later, r))
		return -EAGAIN;
	return CSMP_CTL_DEFERRED;
}

FIXTURE(ctl)
{
	char path[64];
	struct csmp_ctl *c;
	int calls;
};

FIXTURE_SETUP(ctl)
{
	char err[256];

	snprintf(self->path, sizeof(self->path), "/tmp/csmp-test-ctl-%d.sock",
		 getpid());
	self->calls = 0;
	ASSERT_EQ(0, csmp_ctl_open(self->path, &self->c, err, sizeof(err))) {
		TH_LOG("%s", err);
	}
	ASSERT_EQ(0, csmp_ctl_register(self->c, "echo", echo, &self->calls));
	ASSERT_EQ(0, csmp_ctl_register(self->c, "fails", fails, NULL));
	ASSERT_EQ(0, csmp_ctl_register(self->c, "later", deferred, NULL));
	ASSERT_EQ(0, csmp_ctl_start(self->c));
}

FIXTURE_TEARDOWN(ctl)
{
	csmp_ctl_close(self->c);
}

static json_t *call(const char *path, json_t *req)
{
	char err[256];
	json_t *resp = NULL;

	if (csmp_ctl_call(path, req, &resp, 2000, err, sizeof(err)))
		fprintf(stderr, "# %s\n", err);
	json_decref(req);
	return resp;
}

TEST_F(ctl, socket_is_mode_0600)
{
	struct stat st;

	ASSERT_EQ(0, stat(self->path, &st));
	EXPECT_TRUE(S_ISSOCK(st.st_mode));
	EXPECT_EQ(0600u, st.st_mode & 0777);
}

TEST_F(ctl, command_is_dispatched_and_answered)
{
	json_t *r = call(self->path, json_pack("{s:s,s:i}", "cmd", "echo",
					       "x", 42));

	ASSERT_NE(NULL, r);
	EXPECT_TRUE(json_is_true(json_object_get(r, "ok")));
	EXPECT_EQ(42, json_integer_value(json_object_get(r, "echo")));
	EXPECT_EQ(1, self->calls);
	json_decref(r);
}

TEST_F(ctl, unknown_command_and_handler_error_are_answered)
{
	json_t *r = call(self->path, json_pack("{s:s}", "cmd", "nope"));

	ASSERT_NE(NULL, r);
	EXPECT_TRUE(json_is_false(json_object_get(r, "ok")));
	EXPECT_STREQ("unknown command 'nope'",
		     json_string_value(json_object_get(r, "error")));
	json_decref(r);
	r = call(self->path, json_pack("{s:s}", "cmd", "fails"));
	ASSERT_NE(NULL, r);
	EXPECT_TRUE(json_is_false(json_object_get(r, "ok")));
	EXPECT_NE(NULL, strstr(json_string_value(json_object_get(r, "error")),
			       "No such file"));
	json_decref(r);
}

TEST_F(ctl, deferred_answer_comes_from_another_thread)
{
	json_t *r = call(self->path, json_pack("{s:s}", "cmd", "later"));

	pthread_join(later_th, NULL);
	ASSERT_NE(NULL, r);
	EXPECT_TRUE(json_is_true(json_object_get(r, "ok")));
	EXPECT_STREQ("from a worker",
		     json_string_value(json_object_get(r, "answer")));
	json_decref(r);
}

TEST_F(ctl, garbage_gets_an_error_and_the_next_client_is_served)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char buf[256] = "";
	json_t *r;
	ssize_t n;
	int fd;

	strcpy(sun.sun_path, self->path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	ASSERT_EQ(0, connect(fd, (struct sockaddr *)&sun, sizeof(sun)));
	ASSERT_EQ(12, write(fd, "{not json}\n[", 12));
	n = read(fd, buf, sizeof(buf) - 1);
	ASSERT_LT(0, n);
	EXPECT_NE(NULL, strstr(buf, "\"ok\":false"));
	EXPECT_NE(NULL, strstr(buf, "not a JSON object"));
	r = call(self->path, json_pack("{s:s,s:s}", "cmd", "echo", "x", "y"));
	ASSERT_NE(NULL, r);
	EXPECT_STREQ("y", json_string_value(json_object_get(r, "echo")));
	json_decref(r);
	close(fd);
}

TEST_F(ctl, second_daemon_on_the_same_path_is_refused)
{
	struct csmp_ctl *c2 = NULL;
	char err[256] = "";

	EXPECT_EQ(-EADDRINUSE, csmp_ctl_open(self->path, &c2, err,
					     sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "another csmpd"));
}

TEST(client_reports_a_missing_daemon)
{
	char err[256] = "";
	json_t *req = json_pack("{s:s}", "cmd", "stats"), *resp = NULL;

	EXPECT_EQ(-ENOENT, csmp_ctl_call("/tmp/csmp-test-no-such.sock", req,
					 &resp, 500, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "is csmpd running"));
	json_decref(req);
}

TEST_HARNESS_MAIN
