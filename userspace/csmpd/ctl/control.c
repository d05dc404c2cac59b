// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The control socket server (control.h): one thread polls the listening
 * socket, its clients and an eventfd through which other threads complete
 * deferred requests. Nothing blocks the thread on a client: answers are
 * queued per client and sent as the socket takes them, a client whose
 * queue outgrows CTL_MAX_OUT without reading is dropped, one idle for
 * CTL_IDLE_MS is closed, and when every slot is taken the client idle the
 * longest makes room, so idle or non-reading clients cannot lock csmpctl
 * out (issue 16 item 4).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ctl/control.h"

#define CTL_MAX_CLIENTS	128
#define CTL_MAX_LINE	(1 << 20)
#define CTL_MAX_CMDS	32
/* An answer queued beyond this waits for its reader (CTL_STALL_MS without
 * progress drops it): the whole device list of a registry of ~80,000
 * devices fits, so only a larger answer ever makes the thread wait. */
#define CTL_MAX_OUT	(16u << 20)
#define CTL_STALL_MS	100
#define CTL_IDLE_MS	10000
#define CTL_TURN_LINES	4	/* requests served per client per turn */

struct csmp_ctl_client {
	int fd;			/* -1: slot free */
	unsigned int pending;	/* deferred requests not yet finished */
	char *buf;
	size_t len, cap;
	char *out;		/* queued answer bytes: out[off..olen) */
	size_t off, olen, ocap;
	uint64_t seen_ms;	/* last byte received or sent */
	bool ready;		/* a complete request line is buffered */
};

struct csmp_ctl_req {
	struct csmp_ctl *c;
	struct csmp_ctl_client *cl;
	json_t *done;		/* deferred answer, set by finish() */
	struct csmp_ctl_req *next;
};

struct csmp_ctl {
	char *path;
	dev_t dev;		/* the socket file bound, removed at close */
	ino_t ino;		/* only while it is still this one */
	int lfd;
	int evfd;
	pthread_t thread;
	bool started;
	atomic_int stop;
	struct {
		const char *name;
		csmp_ctl_fn fn;
		void *ctx;
	} cmds[CTL_MAX_CMDS];
	unsigned int n_cmds;
	struct csmp_ctl_client clients[CTL_MAX_CLIENTS];
	pthread_mutex_t lock;		/* guards done */
	struct csmp_ctl_req *done;	/* finished deferred requests */
};

int csmp_ctl_open(const char *path, struct csmp_ctl **out, char *err,
		  size_t errlen)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct csmp_ctl *c;
	struct stat st;
	unsigned int i;
	mode_t old;
	int ret;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "%s: path too long for a Unix socket",
			 path);
		return -ENAMETOOLONG;
	}
	strcpy(sun.sun_path, path);
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->evfd = -1;
	c->path = strdup(path);
	if (!c->path) {
		ret = -ENOMEM;
		goto err_free;
	}
	for (i = 0; i < CTL_MAX_CLIENTS; i++)
		c->clients[i].fd = -1;
	pthread_mutex_init(&c->lock, NULL);
	c->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (c->lfd < 0) {
		ret = -errno;
		snprintf(err, errlen, "socket: %s", strerror(errno));
		goto err_free;
	}
	/* A socket file left by a dead csmpd: refuse if one still answers. */
	if (connect(c->lfd, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
		ret = -EADDRINUSE;
		snprintf(err, errlen, "%s: another csmpd is listening", path);
		goto err_close;
	}
	close(c->lfd);
	c->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (c->lfd < 0) {
		ret = -errno;
		snprintf(err, errlen, "socket: %s", strerror(errno));
		goto err_free;
	}
	unlink(path);
	/* Never a window where the socket is reachable by others. */
	old = umask(0177);
	ret = bind(c->lfd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (ret < 0) {
		ret = -errno;
		snprintf(err, errlen, "%s: bind: %s", path, strerror(errno));
		goto err_close;
	}
	if (chmod(path, 0600) < 0 || stat(path, &st) < 0 ||
	    listen(c->lfd, 16) < 0) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto err_unlink;
	}
	c->dev = st.st_dev;
	c->ino = st.st_ino;
	c->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (c->evfd < 0) {
		ret = -errno;
		snprintf(err, errlen, "eventfd: %s", strerror(errno));
		goto err_unlink;
	}
	*out = c;
	return 0;

err_unlink:
	unlink(path);
err_close:
	close(c->lfd);
err_free:
	free(c->path);
	free(c);
	return ret;
}

int csmp_ctl_register(struct csmp_ctl *c, const char *cmd, csmp_ctl_fn fn,
		      void *ctx)
{
	if (c->started || c->n_cmds == CTL_MAX_CMDS)
		return -EBUSY;
	c->cmds[c->n_cmds].name = cmd;
	c->cmds[c->n_cmds].fn = fn;
	c->cmds[c->n_cmds].ctx = ctx;
	c->n_cmds++;
	return 0;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void client_close(struct csmp_ctl_client *cl)
{
	if (cl->fd >= 0)
		close(cl->fd);
	cl->fd = -1;
	free(cl->buf);
	cl->buf = NULL;
	cl->len = cl->cap = 0;
	free(cl->out);
	cl->out = NULL;
	cl->off = cl->olen = cl->ocap = 0;
	cl->ready = false;
}

/* Send what the socket takes now. 0, or -EPIPE once the client is gone. */
static int client_flush(struct csmp_ctl_client *cl)
{
	while (cl->off < cl->olen) {
		ssize_t n = send(cl->fd, cl->out + cl->off, cl->olen - cl->off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n <= 0) {
			client_close(cl);
			return -EPIPE;
		}
		cl->off += (size_t)n;
		cl->seen_ms = now_ms();
	}
	cl->off = cl->olen = 0;
	return 0;
}

/* With CTL_MAX_OUT queued: wait while the client reads, drop it when it
 * stops. */
static int client_drain(struct csmp_ctl_client *cl)
{
	while (cl->olen - cl->off >= CTL_MAX_OUT) {
		struct pollfd p = { .fd = cl->fd, .events = POLLOUT };
		size_t before = cl->off;

		if (poll(&p, 1, CTL_STALL_MS) < 0 && errno != EINTR)
			break;
		if (client_flush(cl))
			return -EPIPE;
		if (cl->off == before && cl->olen)
			break;
	}
	if (cl->olen - cl->off < CTL_MAX_OUT)
		return 0;
	client_close(cl);
	return -EPIPE;
}

int csmp_ctl_write(struct csmp_ctl_req *r, const void *buf, size_t len)
{
	struct csmp_ctl_client *cl = r->cl;
	int ret;

	if (cl->fd < 0)
		return -EPIPE;
	if (cl->off) {
		memmove(cl->out, cl->out + cl->off, cl->olen - cl->off);
		cl->olen -= cl->off;
		cl->off = 0;
	}
	if (cl->olen + len > cl->ocap) {
		size_t cap = cl->ocap ? cl->ocap : 8192;
		char *o;

		while (cap < cl->olen + len)
			cap *= 2;
		o = realloc(cl->out, cap);
		if (!o) {
			client_close(cl);
			return -ENOMEM;
		}
		cl->out = o;
		cl->ocap = cap;
	}
	memcpy(cl->out + cl->olen, buf, len);
	cl->olen += len;
	ret = client_flush(cl);
	return ret ? ret : client_drain(cl);
}

int csmp_ctl_reply(struct csmp_ctl_req *r, json_t *resp)
{
	char *s;
	int ret;

	if (!resp)
		return csmp_ctl_error(r, "out of memory");
	if (!json_object_get(resp, "ok"))
		json_object_set_new(resp, "ok", json_true());
	s = json_dumps(resp, JSON_COMPACT);
	json_decref(resp);
	if (!s)
		return -ENOMEM;
	ret = csmp_ctl_write(r, s, strlen(s));
	if (!ret)
		ret = csmp_ctl_write(r, "\n", 1);
	free(s);
	return ret;
}

int csmp_ctl_error(struct csmp_ctl_req *r, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return csmp_ctl_reply(r, json_pack("{s:b,s:s}", "ok", 0, "error", msg));
}

void csmp_ctl_finish(struct csmp_ctl_req *r, json_t *resp)
{
	struct csmp_ctl *c = r->c;
	uint64_t one = 1;

	r->done = resp ? resp : json_pack("{s:b,s:s}", "ok", 0, "error",
					  "no answer");
	pthread_mutex_lock(&c->lock);
	r->next = c->done;
	c->done = r;
	pthread_mutex_unlock(&c->lock);
	if (write(c->evfd, &one, sizeof(one)) < 0) {
		/* EAGAIN: already signalled */
	}
}

static void drain_done(struct csmp_ctl *c)
{
	struct csmp_ctl_req *r, *next;
	uint64_t v;

	if (read(c->evfd, &v, sizeof(v)) < 0) {
		/* EAGAIN: spurious */
	}
	pthread_mutex_lock(&c->lock);
	r = c->done;
	c->done = NULL;
	pthread_mutex_unlock(&c->lock);
	for (; r; r = next) {
		next = r->next;
		r->cl->pending--;
		if (r->cl->fd >= 0)
			csmp_ctl_reply(r, r->done);
		else
			json_decref(r->done);
		free(r);
	}
}

static void handle_line(struct csmp_ctl *c, struct csmp_ctl_client *cl,
			char *line)
{
	struct csmp_ctl_req stack = { .c = c, .cl = cl }, *r = &stack;
	const char *cmd;
	json_error_t jerr;
	json_t *req;
	unsigned int i;
	int ret;

	req = json_loads(line, 0, &jerr);
	if (!req || !json_is_object(req)) {
		csmp_ctl_error(r, "request is not a JSON object: %s",
			       req ? "wrong type" : jerr.text);
		json_decref(req);
		return;
	}
	cmd = json_string_value(json_object_get(req, "cmd"));
	if (!cmd) {
		csmp_ctl_error(r, "request has no \"cmd\"");
		goto out;
	}
	for (i = 0; i < c->n_cmds && strcmp(c->cmds[i].name, cmd); i++)
		;
	if (i == c->n_cmds) {
		csmp_ctl_error(r, "unknown command '%s'", cmd);
		goto out;
	}
	/* A deferred request outlives this frame. */
	r = calloc(1, sizeof(*r));
	if (!r) {
		csmp_ctl_error(&stack, "out of memory");
		goto out;
	}
	*r = stack;
	cl->pending++;
	ret = c->cmds[i].fn(c->cmds[i].ctx, r, req);
	if (ret == CSMP_CTL_DEFERRED)
		goto out;
	cl->pending--;
	if (ret < 0)
		csmp_ctl_error(r, "%s: %s", cmd, strerror(-ret));
	free(r);
out:
	json_decref(req);
}

/*
 * Serve a few of the client's buffered request lines, and only while its
 * answers are taken: a client that pipelines requests without reading
 * holds at most a socket buffer of answers, and every client gets its
 * turn. Sets cl->ready when a complete line is still waiting.
 */
static void client_lines(struct csmp_ctl *c, struct csmp_ctl_client *cl)
{
	char *nl, *start = cl->buf;
	unsigned int turn = 0;

	while (cl->fd >= 0 && !cl->olen && turn < CTL_TURN_LINES &&
	       (nl = memchr(start, '\n', cl->len - (size_t)(start - cl->buf)))) {
		*nl = 0;
		if (nl > start) {
			handle_line(c, cl, start);
			turn++;
		}
		start = nl + 1;
	}
	if (cl->fd < 0)
		return;
	cl->len -= (size_t)(start - cl->buf);
	memmove(cl->buf, start, cl->len);
	cl->ready = memchr(cl->buf, '\n', cl->len) != NULL;
}

static void client_read(struct csmp_ctl *c, struct csmp_ctl_client *cl)
{
	ssize_t n;

	if (cl->cap - cl->len < 4096) {
		size_t cap = cl->cap ? cl->cap * 2 : 8192;
		char *b;

		if (cap > CTL_MAX_LINE) {
			client_close(cl);
			return;
		}
		b = realloc(cl->buf, cap);
		if (!b) {
			client_close(cl);
			return;
		}
		cl->buf = b;
		cl->cap = cap;
	}
	n = recv(cl->fd, cl->buf + cl->len, cl->cap - cl->len - 1, 0);
	if (n <= 0) {
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		client_close(cl);
		return;
	}
	cl->len += (size_t)n;
	cl->seen_ms = now_ms();
	client_lines(c, cl);
}

/* A free slot, else the one of the client idle the longest (none waits for
 * a deferred answer), closed; -1 when every client waits for one. */
static int free_slot(struct csmp_ctl *c)
{
	int i, oldest = -1;

	for (i = 0; i < CTL_MAX_CLIENTS; i++) {
		struct csmp_ctl_client *cl = &c->clients[i];

		/* A slot is reusable once its deferred answers are done. */
		if (cl->pending)
			continue;
		if (cl->fd < 0)
			return i;
		if (oldest < 0 || cl->seen_ms < c->clients[oldest].seen_ms)
			oldest = i;
	}
	if (oldest >= 0)
		client_close(&c->clients[oldest]);
	return oldest;
}

/* Idle clients (nothing received or sent for CTL_IDLE_MS) are closed. */
static void close_idle(struct csmp_ctl *c)
{
	uint64_t now = now_ms();
	unsigned int i;

	for (i = 0; i < CTL_MAX_CLIENTS; i++) {
		struct csmp_ctl_client *cl = &c->clients[i];

		if (cl->fd >= 0 && !cl->pending &&
		    now - cl->seen_ms > CTL_IDLE_MS)
			client_close(cl);
	}
}

static void accept_one(struct csmp_ctl *c)
{
	int fd, i;

	fd = accept4(c->lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0)
		return;
	i = free_slot(c);
	if (i < 0) {
		static const char busy[] =
			"{\"ok\":false,\"error\":\"too many clients\"}\n";

		if (send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL) < 0) {
			/* nothing more to say */
		}
		close(fd);
		return;
	}
	c->clients[i].fd = fd;
	c->clients[i].seen_ms = now_ms();
}

static void *ctl_thread(void *arg)
{
	struct csmp_ctl *c = arg;
	struct pollfd pfd[2 + CTL_MAX_CLIENTS];
	int map[2 + CTL_MAX_CLIENTS];

	while (!atomic_load(&c->stop)) {
		unsigned int n = 0, i;
		bool ready = false;

		pfd[n++] = (struct pollfd){ .fd = c->lfd, .events = POLLIN };
		pfd[n++] = (struct pollfd){ .fd = c->evfd, .events = POLLIN };
		close_idle(c);
		for (i = 0; i < CTL_MAX_CLIENTS; i++) {
			struct csmp_ctl_client *cl = &c->clients[i];

			if (cl->fd < 0)
				continue;
			map[n] = (int)i;
			/* A client with an answer queued is read only once
			 * it has taken it, one with requests buffered only
			 * once they are served: nothing piles up. */
			pfd[n++] = (struct pollfd){
				.fd = cl->fd,
				.events = cl->olen ? POLLOUT :
					  cl->ready ? 0 : POLLIN };
			ready |= cl->ready && !cl->olen;
		}
		if (poll(pfd, n, ready ? 0 : 200) < 0)
			continue;
		if (pfd[1].revents)
			drain_done(c);
		for (i = 2; i < n; i++) {
			struct csmp_ctl_client *cl = &c->clients[map[i]];

			if (cl->fd != pfd[i].fd)
				continue;
			if (pfd[i].revents && cl->olen)
				client_flush(cl);
			else if (pfd[i].revents)
				client_read(c, cl);
			if (cl->fd >= 0 && cl->ready && !cl->olen)
				client_lines(c, cl);
		}
		if (pfd[0].revents)
			accept_one(c);
	}
	return NULL;
}

int csmp_ctl_start(struct csmp_ctl *c)
{
	int ret = -pthread_create(&c->thread, NULL, ctl_thread, c);

	if (ret)
		return ret;
	pthread_setname_np(c->thread, "csmpd-ctl");
	c->started = true;
	return 0;
}

int csmp_ctl_close(struct csmp_ctl *c)
{
	unsigned int i;
	struct stat st;
	int ret = 0;

	if (!c)
		return 0;
	if (c->started) {
		atomic_store(&c->stop, 1);
		pthread_join(c->thread, NULL);
		/* Deferred requests still out belong to their completers,
		 * which must have stopped before this call. */
		drain_done(c);
	}
	for (i = 0; i < CTL_MAX_CLIENTS; i++)
		client_close(&c->clients[i]);
	close(c->lfd);
	if (c->evfd >= 0)
		close(c->evfd);
	/* A socket another csmpd bound over ours since is not ours. */
	if (lstat(c->path, &st) == 0 && st.st_dev == c->dev &&
	    st.st_ino == c->ino && unlink(c->path) < 0)
		ret = -errno;
	pthread_mutex_destroy(&c->lock);
	free(c->path);
	free(c);
	return ret;
}
