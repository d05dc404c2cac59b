/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Events for downstream systems (registration, report, notification,
 * signature failure) as JSON lines, one object per line, to a file or
 * standard output (--events PATH|-). Workers format an event into their
 * own ring and never block: a writer thread does the I/O, and an event
 * that finds the ring full is counted as dropped, not waited for.
 *
 * Every line has "ts" (RFC 3339 UTC with milliseconds), "event" and "eid";
 * the rest depends on the event (see README "Events").
 */
#ifndef CSMPD_EVENTS_H
#define CSMPD_EVENTS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define CSMP_EVENT_MAX 1024	/* bytes per line, '\n' included */

struct csmp_events;

int csmp_events_open(const char *path, unsigned int producers,
		     struct csmp_events **out, char *err, size_t errlen);
int csmp_events_start(struct csmp_events *ev);
/*
 * Open the file again (after logrotate moved it) and write on to the new
 * one; lines already queued go to whichever is open when written. Accepts
 * NULL and standard output (nothing to do). 0 or -errno, reason in err.
 */
int csmp_events_reopen(struct csmp_events *ev, char *err, size_t errlen);
/* Writes what is queued, then closes. Accepts NULL. */
void csmp_events_close(struct csmp_events *ev);

/*
 * Producer p: one event, {"ts","event","eid"} then the members of
 * `members` (a JSON object, or NULL), built and escaped by jansson; takes
 * the reference. Returns 0 or -ENOBUFS (dropped, counted).
 */
int csmp_event(struct csmp_events *ev, unsigned int p, const char *event,
	       uint64_t eid, json_t *members);

uint64_t csmp_events_dropped(struct csmp_events *ev);
uint64_t csmp_events_written(struct csmp_events *ev);

#endif /* CSMPD_EVENTS_H */
