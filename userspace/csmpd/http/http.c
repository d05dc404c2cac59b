// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The daemon's HTTP endpoint (--metrics ADDR:PORT): bound before the
 * privilege drop, served by its own thread after it, answering GET
 * /metrics with the counters stats/ renders.
 */
#include "csmpd.h"
#include "http/metrics.h"
#include "stats/stats.h"

int csmpd_http_init(struct csmpd_daemon *d)
{
	char err[512];
	int ret;

	if (!d->cfg.metrics_addr)
		return 0;
	ret = csmp_metrics_open(d->cfg.metrics_addr, csmpd_stats_prometheus, d,
				&d->metrics, err, sizeof(err));
	if (ret)
		csmpd_log(CSMPD_CRIT, "METRICS", "%s", err);
	return ret;
}

int csmpd_http_start(struct csmpd_daemon *d)
{
	return d->metrics ? csmp_metrics_start(d->metrics) : 0;
}

void csmpd_http_fini(struct csmpd_daemon *d)
{
	csmp_metrics_close(d->metrics);
	d->metrics = NULL;
}
