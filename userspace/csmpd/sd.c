// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * sd_notify(3) for csmpd.service (Type=notify, WatchdogSec=): see sd.h.
 * libsystemd's sd_notify is a no-op when NOTIFY_SOCKET is unset, so none
 * of this changes csmpd started from a shell or a test.
 */
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <systemd/sd-daemon.h>

#include "csmpd.h"
#include "sd.h"

static uint64_t watchdog_usec;	/* 0: no watchdog */

void csmpd_sd_init(void)
{
	uint64_t usec = 0;

	/* unset_environment = 0: the variables stay for a re-exec. */
	if (sd_watchdog_enabled(0, &usec) > 0)
		watchdog_usec = usec;
}

void csmpd_sd_ready(const struct csmpd_daemon *d)
{
	sd_notifyf(0, "READY=1\nSTATUS=%u workers, %s, backend id %04x",
		   d->n_workers, d->io->name, d->cfg.backend_id);
}

void csmpd_sd_reloading(void)
{
	struct timespec ts;

	/* MONOTONIC_USEC lets systemd 253+ tie READY=1 to this reload;
	 * older versions ignore the field. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=reloading",
		   (unsigned long long)ts.tv_sec * 1000000ull +
			   (unsigned long long)ts.tv_nsec / 1000);
}

void csmpd_sd_reloaded(bool ok)
{
	sd_notify(0, ok ? "READY=1\nSTATUS=reloaded" :
			  "READY=1\nSTATUS=reload refused: running configuration kept");
}

void csmpd_sd_stopping(void)
{
	sd_notify(0, "STOPPING=1\nSTATUS=draining");
}

bool csmpd_sd_watchdog_wait(struct timespec *ts)
{
	uint64_t half = watchdog_usec / 2;

	if (!half)
		return false;
	ts->tv_sec = (time_t)(half / 1000000);
	ts->tv_nsec = (long)(half % 1000000) * 1000;
	return true;
}

void csmpd_sd_watchdog(const struct csmpd_daemon *d)
{
	if (watchdog_usec && !__atomic_load_n(&d->stop, __ATOMIC_RELAXED))
		sd_notify(0, "WATCHDOG=1");
}
