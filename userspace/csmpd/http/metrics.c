// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The metrics endpoint (metrics.h). One request per connection, answered
 * and closed, as Prometheus scrapes: a blocking thread with short socket
 * timeouts is all it takes and keeps the workers out of it entirely.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hostport.h"
#include "http/metrics.h"

struct csmp_metrics {
	int fd;
	csmp_metrics_render fn;
	void *ctx;
	pthread_t thread;
	bool started;
	atomic_int stop;
};

void csmp_buf_printf(struct csmp_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->err)
		return;
	for (;;) {
		size_t room = b->cap - b->len;

		va_start(ap, fmt);
		n = vsnprintf(b->p ? b->p + b->len : NULL, room, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->err = -EINVAL;
			return;
		}
		if ((size_t)n < room) {
			b->len += (size_t)n;
			return;
		}
		size_t cap = b->cap ? b->cap * 2 : 16384;

		while (cap - b->len <= (size_t)n)
			cap *= 2;
		char *p = realloc(b->p, cap);

		if (!p) {
			b->err = -ENOMEM;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
}

void csmp_metric_family(struct csmp_buf *b, const char *name,
			const char *type, const char *help)
{
	csmp_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
			type);
}

void csmp_metric_sample(struct csmp_buf *b, const char *name,
			const char *labels, uint64_t value)
{
	if (labels && *labels)
		csmp_buf_printf(b, "%s{%s} %llu\n", name, labels,
				(unsigned long long)value);
	else
		csmp_buf_printf(b, "%s %llu\n", name,
				(unsigned long long)value);
}

int csmp_metrics_open(const char *addr, csmp_metrics_render fn, void *ctx,
		      struct csmp_metrics **out, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	struct csmp_metrics *m;
	socklen_t sslen;
	char why[128];
	int one = 1, ret;

	if (csmp_hostport_parse(addr, -1, &ss, &sslen, why, sizeof(why))) {
		snprintf(err, errlen, "--metrics %s: not ADDR:PORT: %s", addr,
			 why);
		return -EINVAL;
	}
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->fn = fn;
	m->ctx = ctx;
	m->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (m->fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "metrics socket: %s", strerror(errno));
		goto err_free;
	}
	setsockopt(m->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(m->fd, (struct sockaddr *)&ss, sslen) < 0 ||
	    listen(m->fd, 16) < 0) {
		ret = -errno;
		snprintf(err, errlen, "metrics %s: %s", addr, strerror(errno));
		goto err_close;
	}
	*out = m;
	return 0;

err_close:
	close(m->fd);
err_free:
	free(m);
	return ret;
}

int csmp_metrics_port(const struct csmp_metrics *m)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(m->fd, (struct sockaddr *)&ss, &len) < 0)
		return -errno;
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

static void send_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n <= 0)
			return;
		p += n;
		len -= (size_t)n;
	}
}

static void serve(struct csmp_metrics *m, int fd)
{
	struct csmp_buf body = { 0 };
	char req[2048], hdr[256];
	size_t len = 0;
	int n;

	/* Read the request head (we only need its first line). */
	while (len < sizeof(req) - 1) {
		ssize_t r = recv(fd, req + len, sizeof(req) - 1 - len, 0);

		if (r <= 0)
			break;
		len += (size_t)r;
		req[len] = 0;
		if (strstr(req, "\r\n\r\n") || strstr(req, "\n\n"))
			break;
	}
	req[len] = 0;
	if (strncmp(req, "GET ", 4)) {
		static const char bad[] = "HTTP/1.0 405 Method Not Allowed\r\n"
					  "Allow: GET\r\nContent-Length: 0\r\n\r\n";

		send_all(fd, bad, sizeof(bad) - 1);
		return;
	}
	if (strncmp(req + 4, "/metrics ", 9) && strncmp(req + 4, "/ ", 2)) {
		static const char nf[] = "HTTP/1.0 404 Not Found\r\n"
					 "Content-Type: text/plain\r\n"
					 "Content-Length: 22\r\n\r\n"
					 "try GET /metrics here\n";

		send_all(fd, nf, sizeof(nf) - 1);
		return;
	}
	m->fn(m->ctx, &body);
	if (body.err) {
		static const char ise[] = "HTTP/1.0 500 Internal Server Error\r\n"
					  "Content-Length: 0\r\n\r\n";

		send_all(fd, ise, sizeof(ise) - 1);
		free(body.p);
		return;
	}
	n = snprintf(hdr, sizeof(hdr),
		     "HTTP/1.0 200 OK\r\n"
		     "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
		     "Content-Length: %zu\r\n\r\n", body.len);
	send_all(fd, hdr, (size_t)n);
	send_all(fd, body.p ? body.p : "", body.len);
	free(body.p);
}

static void *metrics_thread(void *arg)
{
	struct csmp_metrics *m = arg;
	struct timeval tv = { .tv_sec = 2 };

	while (!atomic_load(&m->stop)) {
		struct pollfd p = { .fd = m->fd, .events = POLLIN };
		int fd;

		if (poll(&p, 1, 200) <= 0)
			continue;
		fd = accept4(m->fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		serve(m, fd);
		close(fd);
	}
	return NULL;
}

int csmp_metrics_start(struct csmp_metrics *m)
{
	int ret = -pthread_create(&m->thread, NULL, metrics_thread, m);

	if (ret)
		return ret;
	pthread_setname_np(m->thread, "csmpd-metrics");
	m->started = true;
	return 0;
}

void csmp_metrics_close(struct csmp_metrics *m)
{
	if (!m)
		return;
	if (m->started) {
		atomic_store(&m->stop, 1);
		pthread_join(m->thread, NULL);
	}
	close(m->fd);
	free(m);
}
