// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The event stream (events.h): per-producer rings of formatted lines and
 * a writer thread that gathers them into one write(2) per round.
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
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "csmpd.h"
#include "events.h"
#include "server/ring.h"

struct ev_slot {
	uint32_t len;
	char line[CSMP_EVENT_MAX];
};

struct csmp_events {
	int fd;
	bool own_fd;
	char *path;		/* for csmp_events_reopen */
	unsigned int n;
	struct csmp_spsc *rings;
	_Atomic uint64_t *dropped;	/* per producer */
	_Atomic uint64_t written;
	pthread_t thread;
	bool started;
	atomic_int stop;
};

/*
 * The events file, never waited for: O_NONBLOCK makes open(2) of a FIFO
 * without a reader fail (ENXIO) instead of blocking csmpd's start with its
 * signals blocked. Only a regular file or a character device (/dev/null, a
 * terminal) is taken: a FIFO or socket whose reader stalls would stall the
 * writer thread. The descriptor is made blocking again for the writes.
 */
static int events_file(const char *path, char *err, size_t errlen)
{
	struct stat st;
	int fd, ret;

	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NONBLOCK,
		  0640);
	if (fd < 0 && errno == ENXIO) {
		snprintf(err, errlen, "%s: a FIFO without a reader: events go "
			 "to a regular file (or - for standard output)", path);
		return -ENXIO;
	}
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return ret;
	}
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto err;
	}
	if (!S_ISREG(st.st_mode) && !S_ISCHR(st.st_mode)) {
		ret = -EINVAL;
		snprintf(err, errlen, "%s: not a regular file (a %s): events go "
			 "to a regular file (or - for standard output)", path,
			 S_ISFIFO(st.st_mode) ? "FIFO" :
			 S_ISSOCK(st.st_mode) ? "socket" : "special file");
		goto err;
	}
	if (fcntl(fd, F_SETFL, O_APPEND) < 0) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto err;
	}
	return fd;

err:
	close(fd);
	return ret;
}

int csmp_events_open(const char *path, unsigned int producers,
		     struct csmp_events **out, char *err, size_t errlen)
{
	struct csmp_events *ev;
	unsigned int i;
	int ret;

	ev = calloc(1, sizeof(*ev));
	if (!ev)
		return -ENOMEM;
	ev->n = producers;
	ev->rings = calloc(producers, sizeof(*ev->rings));
	ev->dropped = calloc(producers, sizeof(*ev->dropped));
	if (!ev->rings || !ev->dropped) {
		ret = -ENOMEM;
		goto err_free;
	}
	if (!strcmp(path, "-")) {
		ev->fd = STDOUT_FILENO;
	} else {
		ev->fd = events_file(path, err, errlen);
		if (ev->fd < 0) {
			ret = ev->fd;
			goto err_free;
		}
		ev->own_fd = true;
		ev->path = strdup(path);
		if (!ev->path) {
			ret = -ENOMEM;
			snprintf(err, errlen, "events: out of memory");
			goto err_rings;
		}
	}
	for (i = 0; i < producers; i++) {
		ret = csmp_spsc_init(&ev->rings[i], 1024, sizeof(struct ev_slot));
		if (ret) {
			snprintf(err, errlen, "events: out of memory");
			goto err_rings;
		}
	}
	*out = ev;
	return 0;

err_rings:
	for (i = 0; i < producers; i++)
		csmp_spsc_fini(&ev->rings[i]);
	if (ev->own_fd)
		close(ev->fd);
err_free:
	free(ev->path);
	free(ev->rings);
	free(ev->dropped);
	free(ev);
	return ret;
}

int csmp_event(struct csmp_events *ev, unsigned int p, const char *event,
	       uint64_t eid, json_t *members)
{
	char ts_text[64], eid_text[17];
	struct ev_slot *s;
	struct timespec ts;
	struct tm tm;
	json_t *o;
	size_t n;

	if (!ev) {
		json_decref(members);
		return 0;
	}
	s = csmp_spsc_reserve(&ev->rings[p]);
	if (!s)
		goto dropped;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(ts_text, sizeof(ts_text), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		 tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
	snprintf(eid_text, sizeof(eid_text), "%016llX",
		 (unsigned long long)eid);
	o = json_pack("{s:s,s:s,s:s}", "ts", ts_text, "event", event, "eid",
		      eid_text);
	if (!o || (members && json_object_update(o, members))) {
		json_decref(o);
		goto dropped;
	}
	/* jansson escapes every string and keeps the members in order. */
	n = json_dumpb(o, s->line, sizeof(s->line) - 1, JSON_COMPACT);
	json_decref(o);
	if (!n || n >= sizeof(s->line) - 1)
		goto dropped;	/* too long for a line: counted, not cut */
	json_decref(members);
	s->line[n++] = '\n';
	s->len = (uint32_t)n;
	csmp_spsc_push(&ev->rings[p]);
	return 0;

dropped:
	json_decref(members);
	atomic_fetch_add_explicit(&ev->dropped[p], 1, memory_order_relaxed);
	return -ENOBUFS;
}

/* One round: everything queued, in one write per producer batch. */
static bool flush_round(struct csmp_events *ev)
{
	char buf[64 * 1024];
	bool any = false;
	unsigned int i;

	for (i = 0; i < ev->n; i++) {
		struct ev_slot *s;
		size_t len = 0;

		while ((s = csmp_spsc_peek(&ev->rings[i]))) {
			if (len + s->len > sizeof(buf))
				break;
			memcpy(buf + len, s->line, s->len);
			len += s->len;
			csmp_spsc_pop(&ev->rings[i]);
			atomic_fetch_add_explicit(&ev->written, 1,
						  memory_order_relaxed);
		}
		if (len) {
			const char *p = buf;

			any = true;
			while (len) {
				ssize_t w = write(ev->fd, p, len);

				if (w < 0 && errno == EINTR)
					continue;
				if (w <= 0)
					break;	/* disk full: lines lost */
				p += w;
				len -= (size_t)w;
			}
		}
	}
	return any;
}

static void *events_thread(void *arg)
{
	struct csmp_events *ev = arg;

	while (!atomic_load(&ev->stop)) {
		if (!flush_round(ev))
			usleep(5000);	/* events are not latency-critical */
	}
	while (flush_round(ev))
		;
	return NULL;
}

int csmp_events_start(struct csmp_events *ev)
{
	int ret = -pthread_create(&ev->thread, NULL, events_thread, ev);

	if (ret)
		return ret;
	pthread_setname_np(ev->thread, "csmpd-events");
	ev->started = true;
	return 0;
}

uint64_t csmp_events_dropped(struct csmp_events *ev)
{
	uint64_t n = 0;
	unsigned int i;

	if (!ev)
		return 0;
	for (i = 0; i < ev->n; i++)
		n += atomic_load_explicit(&ev->dropped[i], memory_order_relaxed);
	return n;
}

uint64_t csmp_events_written(struct csmp_events *ev)
{
	return ev ? atomic_load(&ev->written) : 0;
}

void csmp_events_close(struct csmp_events *ev)
{
	unsigned int i;

	if (!ev)
		return;
	if (ev->started) {
		atomic_store(&ev->stop, 1);
		pthread_join(ev->thread, NULL);
	} else {
		while (flush_round(ev))
			;
	}
	for (i = 0; i < ev->n; i++)
		csmp_spsc_fini(&ev->rings[i]);
	if (ev->own_fd)
		close(ev->fd);
	free(ev->path);
	free(ev->rings);
	free(ev->dropped);
	free(ev);
}

/* dup3 swaps the writer thread's descriptor in one step: each write(2)
 * goes whole to the old file or whole to the new one. */
int csmp_events_reopen(struct csmp_events *ev, char *err, size_t errlen)
{
	char why[512];
	int fd, ret = 0;

	if (!ev || !ev->own_fd)
		return 0;
	fd = events_file(ev->path, why, sizeof(why));
	if (fd < 0) {
		snprintf(err, errlen, "cannot reopen %s: writing on to the old "
			 "file", why);
		return fd;
	}
	if (dup3(fd, ev->fd, O_CLOEXEC) < 0) {
		ret = -errno;
		snprintf(err, errlen, "%s: dup3: %s", ev->path, strerror(errno));
	}
	close(fd);
	return ret;
}

/* ---- as the daemon runs it (--events) ------------------------------------ */

/* Opened before the privilege drop, one producer per worker. */
int csmpd_events_init(struct csmpd_daemon *d)
{
	char err[512];
	int ret;

	if (!d->cfg.events_path)
		return 0;
	ret = csmp_events_open(d->cfg.events_path, d->n_workers, &d->events,
			       err, sizeof(err));
	if (ret)
		csmpd_log(CSMPD_CRIT, "EVENTS", "%s", err);
	return ret;
}

int csmpd_events_start(struct csmpd_daemon *d)
{
	return d->events ? csmp_events_start(d->events) : 0;
}

/* After the workers: what they queued is written first. */
void csmpd_events_fini(struct csmpd_daemon *d)
{
	csmp_events_close(d->events);
	d->events = NULL;
}
