/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * systemd glue (sd.c): the service manager's notifications (READY,
 * RELOADING, STOPPING, STATUS) and the watchdog, and where log lines go
 * (log.c): the journal when systemd started csmpd, else standard error
 * with an RFC 3339 timestamp, or syslog(3) when asked. Every call is a
 * no-op outside systemd, so csmpd runs the same from a shell.
 */
#ifndef CSMPD_SD_H
#define CSMPD_SD_H

#include <stdbool.h>
#include <time.h>

struct csmpd_daemon;

/* Log sinks, in the order of the log-target option's names
 * (conf/options.def); AUTO: the journal when standard error is systemd's
 * journal stream (JOURNAL_STREAM), else STDERR. */
enum csmpd_log_target {
	CSMPD_LOG_AUTO,
	CSMPD_LOG_STDERR,
	CSMPD_LOG_JOURNAL,
	CSMPD_LOG_SYSLOG,
};

/* log.c: choose the sink; returns the one in use (never AUTO). */
enum csmpd_log_target csmpd_log_target(enum csmpd_log_target t);
/* log.c: whether standard error is the journal stream systemd made. */
bool csmpd_log_stderr_is_journal(void);

/* Read NOTIFY_SOCKET and WATCHDOG_USEC once, at start. */
void csmpd_sd_init(void);
/* Sockets bound, registry loaded, privileges dropped, workers running. */
void csmpd_sd_ready(const struct csmpd_daemon *d);
void csmpd_sd_reloading(void);
/* After a reload, applied (ok) or refused: READY=1 either way (the
 * running configuration stays), with the outcome in STATUS. */
void csmpd_sd_reloaded(bool ok);
void csmpd_sd_stopping(void);
/*
 * The main loop's wait: half the watchdog interval in *ts and true, or
 * false when systemd set no watchdog (wait without timeout).
 */
bool csmpd_sd_watchdog_wait(struct timespec *ts);
/* One watchdog ping, sent only while no worker has failed: a worker
 * that stops takes csmpd down, and a hung main loop pings no more. */
void csmpd_sd_watchdog(const struct csmpd_daemon *d);

#endif /* CSMPD_SD_H */
