/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * csmpd's control socket: a Unix stream socket (mode 0600) speaking JSON
 * lines. A request is one JSON object with a "cmd" member; the answer is
 * one line, {"ok":true,...} or {"ok":false,"error":"..."}. One thread
 * serves every client; commands are registered by the parts of the daemon
 * that own the data (devices, stats, enroll, request, reload). A command
 * whose answer comes from a worker (request) completes later, from any
 * thread, without blocking the control thread.
 */
#ifndef CSMPD_CONTROL_H
#define CSMPD_CONTROL_H

#include <jansson.h>
#include <stddef.h>

struct csmp_ctl;
struct csmp_ctl_req;

/* Returned by a handler that will answer later with csmp_ctl_finish(). */
#define CSMP_CTL_DEFERRED 1

/*
 * A command handler, on the control thread. It answers with
 * csmp_ctl_reply() (or streams with csmp_ctl_write()) and returns 0, or
 * returns -errno for a generic error answer, or CSMP_CTL_DEFERRED.
 */
typedef int (*csmp_ctl_fn)(void *ctx, struct csmp_ctl_req *r, json_t *req);

int csmp_ctl_open(const char *path, struct csmp_ctl **out, char *err,
		  size_t errlen);
int csmp_ctl_register(struct csmp_ctl *c, const char *cmd, csmp_ctl_fn fn,
		      void *ctx);
int csmp_ctl_start(struct csmp_ctl *c);
/* Stops the thread, closes every client, removes the socket file if it is
 * still the one bound (same inode). 0, or -errno of that removal. */
int csmp_ctl_close(struct csmp_ctl *c);

/* Send one answer object (adds "ok": true unless it has "ok"); steals it. */
int csmp_ctl_reply(struct csmp_ctl_req *r, json_t *resp);
/* Send {"ok":false,"error":msg}. */
int csmp_ctl_error(struct csmp_ctl_req *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Stream raw bytes of an answer (the handler writes the final '\n'). */
int csmp_ctl_write(struct csmp_ctl_req *r, const void *buf, size_t len);

/* Complete a deferred request from any thread (steals resp). */
void csmp_ctl_finish(struct csmp_ctl_req *r, json_t *resp);

#endif /* CSMPD_CONTROL_H */
