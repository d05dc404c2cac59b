// SPDX-License-Identifier: GPL-2.0-only
/*
 * The control-socket client (ctl_client.h) says why csmpd cannot be
 * reached in words an operator can act on: no socket, a socket file left
 * behind, a path that is no socket, no answer in time, a connection closed
 * without an answer; and reads a real answer. A thread plays csmpd.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include "kselftest_harness.h"
#include "ctl_client.h"

FIXTURE(cli)
{
	char dir[64];
	char path[128];
	int lfd;
};

FIXTURE_SETUP(cli)
{
	strcpy(self->dir, "/tmp/csmp-test-ctlcli.XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	snprintf(self->path, sizeof(self->path), "%s/control.sock", self->dir);
	self->lfd = -1;
}

FIXTURE_TEARDOWN(cli)
{
	if (self->lfd >= 0)
		close(self->lfd);
	unlink(self->path);
	rmdir(self->dir);
}

static int listen_on(const char *path, int backlog)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	strcpy(sun.sun_path, path);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) ||
	    (backlog >= 0 && listen(fd, backlog)))
		return -1;
	return fd;
}

static int call(const char *path, unsigned int ms, char *err, size_t len,
		json_t **resp)
{
	json_t *req = json_pack("{s:s}", "cmd", "stats");
	int ret;

	*resp = NULL;
	ret = csmp_ctl_call(path, req, resp, ms, err, len);
	json_decref(req);
	return ret;
}

TEST_F(cli, no_socket_says_is_csmpd_running)
{
	char err[512] = "";
	json_t *resp;

	EXPECT_EQ(-ENOENT, call(self->path, 500, err, sizeof(err), &resp));
	EXPECT_NE(NULL, strstr(err, "no control socket at"));
	EXPECT_NE(NULL, strstr(err, "is csmpd running"));
	EXPECT_NE(NULL, strstr(err, self->path));
}

TEST_F(cli, socket_file_left_behind_is_named_so)
{
	char err[512] = "";
	json_t *resp;
	int fd = listen_on(self->path, -1);	/* bound, never listening */

	ASSERT_LE(0, fd);
	close(fd);	/* as a csmpd killed with -9 leaves it */
	EXPECT_EQ(-ECONNREFUSED, call(self->path, 500, err, sizeof(err), &resp));
	EXPECT_NE(NULL, strstr(err, "nothing listens on"));
	EXPECT_NE(NULL, strstr(err, "left the socket file behind"));
}

TEST_F(cli, a_path_that_is_no_socket_is_named_so)
{
	char err[512] = "";
	json_t *resp;
	FILE *f = fopen(self->path, "w");

	ASSERT_NE(NULL, f);
	fclose(f);
	EXPECT_EQ(-ECONNREFUSED, call(self->path, 500, err, sizeof(err), &resp));
	EXPECT_NE(NULL, strstr(err, "is not a socket"));
}

TEST_F(cli, silence_is_a_timeout_with_its_length)
{
	char err[512] = "";
	json_t *resp;

	/* Listening but never accepting: connect and send still succeed. */
	self->lfd = listen_on(self->path, 4);
	ASSERT_LE(0, self->lfd);
	EXPECT_EQ(-ETIMEDOUT, call(self->path, 200, err, sizeof(err), &resp));
	EXPECT_NE(NULL, strstr(err, "did not answer within 200 ms"));
}

struct peer {
	int lfd;
	const char *answer;	/* NULL: close without one */
};

static void *peer_run(void *arg)
{
	struct peer *p = arg;
	char buf[512];
	int fd = accept(p->lfd, NULL, NULL);

	if (fd < 0)
		return NULL;
	if (recv(fd, buf, sizeof(buf), 0) > 0 && p->answer)
		send(fd, p->answer, strlen(p->answer), MSG_NOSIGNAL);
	close(fd);
	return NULL;
}

TEST_F(cli, closed_without_an_answer_is_named_so)
{
	struct peer p = { .answer = NULL };
	char err[512] = "";
	pthread_t t;
	json_t *resp;

	self->lfd = p.lfd = listen_on(self->path, 4);
	ASSERT_LE(0, p.lfd);
	ASSERT_EQ(0, pthread_create(&t, NULL, peer_run, &p));
	EXPECT_EQ(-ECONNRESET, call(self->path, 2000, err, sizeof(err), &resp));
	EXPECT_NE(NULL, strstr(err, "closed the connection without an answer"));
	pthread_join(t, NULL);
}

TEST_F(cli, an_answer_is_read)
{
	struct peer p = { .answer = "{\"ok\":true,\"workers\":[]}\n" };
	char err[512] = "";
	pthread_t t;
	json_t *resp;

	self->lfd = p.lfd = listen_on(self->path, 4);
	ASSERT_LE(0, p.lfd);
	ASSERT_EQ(0, pthread_create(&t, NULL, peer_run, &p));
	ASSERT_EQ(0, call(self->path, 2000, err, sizeof(err), &resp));
	EXPECT_TRUE(json_is_true(json_object_get(resp, "ok")));
	json_decref(resp);
	pthread_join(t, NULL);
}

/* 0 when a call to path is refused for permission, with that reason. */
static int denied(const char *path)
{
	char err[512] = "";
	json_t *resp;

	return call(path, 500, err, sizeof(err), &resp) == -EACCES &&
	       strstr(err, "permission denied") ? 0 : 1;
}

TEST_F(cli, permission_denied_says_whose_socket_it_is)
{
	int st;
	pid_t pid;

	self->lfd = listen_on(self->path, 4);
	ASSERT_LE(0, self->lfd);
	ASSERT_EQ(0, chmod(self->dir, 0755));
	ASSERT_EQ(0, chmod(self->path, 0600));
	if (geteuid() != 0) {
		ASSERT_EQ(0, chmod(self->path, 0));
		EXPECT_EQ(0, denied(self->path));
		return;
	}
	/* Root passes every permission check: ask as nobody. */
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		_exit(setgid(65534) || setuid(65534) ? 2 : denied(self->path));
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	EXPECT_TRUE(WIFEXITED(st));
	EXPECT_EQ(0, WEXITSTATUS(st));
}

TEST_HARNESS_MAIN
