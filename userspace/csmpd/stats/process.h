/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * What an operator's dashboards ask of any service (stats/process.c):
 * csmp_build_info, the standard process_* families of Prometheus client
 * libraries (CPU, memory, file descriptors, start time) and the outcome
 * of the last configuration reload, by SIGHUP or `csmpctl reload`.
 */
#ifndef CSMPD_STATS_PROCESS_H
#define CSMPD_STATS_PROCESS_H

#include <stdbool.h>

struct csmpd_daemon;
struct csmp_buf;

/* The configuration was loaded (ok: at start or by a reload) or a
 * reload was refused. Any thread. */
void csmpd_reload_note(bool ok);
/* Appends the families above to a /metrics answer. */
void csmpd_process_prometheus(const struct csmpd_daemon *d, struct csmp_buf *b);

#endif /* CSMPD_STATS_PROCESS_H */
