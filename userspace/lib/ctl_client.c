// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * csmpd control socket client (ctl_client.h). The answer may be large (a
 * device list streamed by csmpd), so it is read into a growing buffer up
 * to the first newline.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ctl_client.h"

static long left_ms(const struct timespec *end)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (end->tv_sec - now.tv_sec) * 1000 +
	       (end->tv_nsec - now.tv_nsec) / 1000000;
}

/* Why csmpd cannot be reached, in the words an operator can act on. */
static void connect_error(const char *path, int ret, char *err, size_t errlen)
{
	struct stat sb;

	switch (ret) {
	case -ENOENT:
		snprintf(err, errlen, "no control socket at %s: is csmpd running, "
			 "and with this --control?", path);
		break;
	case -ECONNREFUSED:
		if (!stat(path, &sb) && !S_ISSOCK(sb.st_mode))
			snprintf(err, errlen, "%s is not a socket: is --control "
				 "csmpd's control socket?", path);
		else
			snprintf(err, errlen, "nothing listens on %s: csmpd "
				 "stopped and left the socket file behind? "
				 "(is csmpd running?)", path);
		break;
	case -EACCES:
	case -EPERM:
		snprintf(err, errlen, "%s: permission denied: the control socket "
			 "is csmpd's (0600); run this as csmpd's user or root",
			 path);
		break;
	case -ENOTDIR:
		snprintf(err, errlen, "no control socket at %s: a part of the "
			 "path is not a directory", path);
		break;
	default:
		snprintf(err, errlen, "cannot connect to csmpd at %s: %s", path,
			 strerror(-ret));
	}
}

static int wait_fd(int fd, short ev, const struct timespec *end)
{
	struct pollfd p = { .fd = fd, .events = ev };
	long ms = left_ms(end);
	int n;

	if (ms <= 0)
		return -ETIMEDOUT;
	n = poll(&p, 1, (int)ms);
	if (n < 0)
		return -errno;
	return n ? 0 : -ETIMEDOUT;
}

int csmp_ctl_call(const char *path, json_t *req, json_t **resp,
		  unsigned int timeout_ms, char *err, size_t errlen)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	size_t len = 0, cap = 0, off = 0, reqlen;
	struct timespec end;
	json_error_t jerr;
	char *out, *buf = NULL, *nl = NULL;
	int fd, ret;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "%s: path too long", path);
		return -ENAMETOOLONG;
	}
	strcpy(sun.sun_path, path);
	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += timeout_ms / 1000;
	end.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
	if (end.tv_nsec >= 1000000000) {
		end.tv_sec++;
		end.tv_nsec -= 1000000000;
	}
	out = json_dumps(req, JSON_COMPACT);
	if (!out) {
		snprintf(err, errlen, "cannot encode the request");
		return -ENOMEM;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "socket: %s", strerror(errno));
		goto err_free_out;
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		ret = -errno;
		connect_error(path, ret, err, errlen);
		goto err_close;
	}
	reqlen = strlen(out);
	out[reqlen++] = '\n';	/* json_dumps left room: it wrote a NUL */
	while (off < reqlen) {
		ssize_t n = send(fd, out + off, reqlen - off, MSG_NOSIGNAL);

		if (n < 0 && errno == EAGAIN) {
			ret = wait_fd(fd, POLLOUT, &end);
			if (ret)
				goto err_io;
			continue;
		}
		if (n < 0) {
			ret = -errno;
			goto err_io;
		}
		off += (size_t)n;
	}
	while (!nl) {
		ssize_t n;

		if (cap - len < 4096) {
			char *b = realloc(buf, cap ? cap * 2 : 65536);

			if (!b) {
				ret = -ENOMEM;
				goto err_io;
			}
			buf = b;
			cap = cap ? cap * 2 : 65536;
		}
		n = recv(fd, buf + len, cap - len - 1, 0);
		if (n < 0 && errno == EAGAIN) {
			ret = wait_fd(fd, POLLIN, &end);
			if (ret)
				goto err_io;
			continue;
		}
		if (n < 0) {
			ret = -errno;
			goto err_io;
		}
		if (n == 0) {
			ret = -ECONNRESET;
			goto err_io;
		}
		nl = memchr(buf + len, '\n', (size_t)n);
		len += (size_t)n;
	}
	*nl = 0;
	*resp = json_loads(buf, 0, &jerr);
	if (!*resp) {
		ret = -EBADMSG;
		snprintf(err, errlen, "bad answer from csmpd: %s", jerr.text);
		goto err_free_buf;
	}
	free(buf);
	close(fd);
	free(out);
	return 0;

err_io:
	if (ret == -ETIMEDOUT)
		snprintf(err, errlen, "csmpd at %s did not answer within %u ms",
			 path, timeout_ms);
	else if (ret == -ECONNRESET || ret == -EPIPE)
		snprintf(err, errlen, "csmpd at %s closed the connection without "
			 "an answer", path);
	else
		snprintf(err, errlen, "%s: %s", path, strerror(-ret));
err_free_buf:
	free(buf);
err_close:
	close(fd);
err_free_out:
	free(out);
	return ret;
}
