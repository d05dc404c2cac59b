/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The daemon's counters as the outside reads them (stats/stats.c): the
 * Prometheus families, the `stats` answer of the control socket (the keys
 * csmpctl reads) and the shutdown lines, all from the workers' counters.
 */
#ifndef CSMPD_STATS_H
#define CSMPD_STATS_H

#include <jansson.h>

struct csmpd_daemon;
struct csmp_buf;

/* Prometheus text for GET /metrics (http/). */
void csmpd_stats_prometheus(void *daemon, struct csmp_buf *out);
/* The control socket's "stats" answer; NULL on ENOMEM. */
json_t *csmpd_stats_json(struct csmpd_daemon *d);
/* The lines logged once the workers have stopped. */
void csmpd_stats_log_shutdown(struct csmpd_daemon *d);

#endif /* CSMPD_STATS_H */
