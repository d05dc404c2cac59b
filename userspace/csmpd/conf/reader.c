// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The config reader (config.h): how a reload reads files csmpd can no
 * longer open once it runs as an unprivileged user.
 *
 * Why a process: the files a reload reads are the config file and the
 * allow files it names, and an operator edits them by replacing them
 * (editors and sed -i write a new file and rename it), so a descriptor
 * kept from before the privilege drop would go on showing the old text,
 * and a directory descriptor does not help because permissions are checked
 * at every open. Keeping a capability such as CAP_DAC_READ_SEARCH in csmpd
 * would let any compromised thread read every file of the host. Instead,
 * when csmpd starts as root, it forks before anything else (no socket, no
 * key, no thread yet) a reader that keeps root's uid, drops every
 * capability and its bounding set, and sets no_new_privs: it can read what
 * root's file permissions allow and nothing more. It takes no input from
 * csmpd but a one-byte request, parses csmpd's own command line (and so
 * its config and allow files) with the same code as the start-up, and
 * answers with the policy in its byte form (policy.c) or the error text.
 * It exits when csmpd closes its end or dies.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "conf/config.h"

#define READER_TIMEOUT_MS	10000
#define ANSWER_MAX		(512u << 20)

struct csmpd_conf_reader {
	int argc;
	char **argv;
	pid_t pid;		/* 0: no process, parse in place; -1: lost */
	int fd;
};

struct answer {
	int32_t status;		/* 0 or -errno */
	uint32_t len;		/* the policy, or the error text */
};

static int send_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n ? -errno : -EPIPE;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* len bytes, each within timeout_ms of the one before (or -ETIMEDOUT). */
static int recv_all(int fd, void *buf, size_t len, int timeout_ms)
{
	char *p = buf;

	while (len) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t n;
		int r;

		r = poll(&pfd, 1, timeout_ms);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (!r)
			return -ETIMEDOUT;
		n = recv(fd, p, len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n ? -errno : -EPIPE;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int drop_capabilities(void)
{
	cap_t none;
	int cap, ret;

	for (cap = 0; cap <= CAP_LAST_CAP; cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) && errno != EINVAL)
			return -errno;
	none = cap_init();
	if (!none)
		return -ENOMEM;
	ret = cap_set_proc(none) ? -errno : 0;
	cap_free(none);
	if (!ret && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		ret = -errno;
	return ret;
}

static void __attribute__((noreturn)) serve(int fd, pid_t parent, int argc,
					    char **argv)
{
	char req, err[512];

	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() != parent)
		_exit(1);
	/* Nothing of csmpd's but our end of the socket. */
	if (fd != 3) {
		if (dup2(fd, 3) < 0)
			_exit(1);
		fd = 3;
	}
	close_range(4, ~0u, 0);
	if (drop_capabilities())
		_exit(1);
	while (recv_all(fd, &req, 1, -1) == 0) {
		struct csmp_policy *p = NULL;
		struct answer a = { 0 };
		void *buf = NULL;
		size_t len = 0;

		err[0] = 0;
		a.status = csmpd_conf_policy(argc, argv, &p, err, sizeof(err));
		if (!a.status) {
			a.status = csmp_policy_pack(p, &buf, &len);
			csmp_policy_free(p);
			if (a.status)
				snprintf(err, sizeof(err), "config reader: %s",
					 strerror(-a.status));
		}
		if (a.status) {
			buf = NULL;
			len = strlen(err);
		}
		a.len = (uint32_t)len;
		if (send_all(fd, &a, sizeof(a)) ||
		    send_all(fd, buf ? buf : err, len))
			_exit(1);
		free(buf);
	}
	_exit(0);
}

int csmpd_conf_reader_start(int argc, char **argv,
			    struct csmpd_conf_reader **out)
{
	struct csmpd_conf_reader *r;
	pid_t parent = getpid();
	int sv[2];

	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->argc = argc;
	r->argv = argv;
	r->fd = -1;
	if (geteuid() != 0)
		goto out;	/* no privilege drop: csmpd reads as itself */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		goto err_free;
	fflush(NULL);	/* nothing buffered is written twice */
	r->pid = fork();
	if (r->pid < 0) {
		close(sv[0]);
		close(sv[1]);
		goto err_free;
	}
	if (!r->pid) {
		close(sv[0]);
		serve(sv[1], parent, argc, argv);
	}
	close(sv[1]);
	r->fd = sv[0];
out:
	*out = r;
	return 0;

err_free:
	free(r);
	return -errno;
}

/* A request that failed half-way leaves the stream out of step: end it. */
static int lost(struct csmpd_conf_reader *r, int ret, char *err, size_t errlen)
{
	snprintf(err, errlen, "config reader (pid %d): %s; restart csmpd to reload",
		 (int)r->pid, ret == -EPIPE ? "gone" : strerror(-ret));
	kill(r->pid, SIGKILL);
	waitpid(r->pid, NULL, 0);
	close(r->fd);
	r->fd = -1;
	r->pid = -1;
	return ret;
}

int csmpd_conf_reader_policy(struct csmpd_conf_reader *r,
			     struct csmp_policy **out, char *err,
			     size_t errlen)
{
	struct answer a;
	char req = 1, *buf;
	int ret;

	if (!r->pid)
		return csmpd_conf_policy(r->argc, r->argv, out, err, errlen);
	if (r->pid < 0) {
		snprintf(err, errlen, "config reader lost; restart csmpd to reload");
		return -EPIPE;
	}
	ret = send_all(r->fd, &req, 1);
	if (!ret)
		ret = recv_all(r->fd, &a, sizeof(a), READER_TIMEOUT_MS);
	if (!ret && a.len > ANSWER_MAX)
		ret = -EPROTO;
	if (ret)
		return lost(r, ret, err, errlen);
	buf = malloc(a.len + 1);
	if (!buf) {
		snprintf(err, errlen, "config reader: out of memory");
		return -ENOMEM;
	}
	ret = recv_all(r->fd, buf, a.len, READER_TIMEOUT_MS);
	if (ret) {
		lost(r, ret, err, errlen);
	} else if (a.status) {
		buf[a.len] = 0;
		snprintf(err, errlen, "%s", buf);
		ret = a.status < 0 ? a.status : -EINVAL;
	} else {
		ret = csmp_policy_unpack(buf, a.len, out);
		if (ret)
			snprintf(err, errlen, "config reader: a policy that does not unpack");
	}
	free(buf);
	return ret;
}

void csmpd_conf_reader_stop(struct csmpd_conf_reader *r)
{
	if (!r)
		return;
	if (r->pid > 0) {
		close(r->fd);	/* it exits at end of file */
		waitpid(r->pid, NULL, 0);
	}
	free(r);
}
