/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Prometheus text exposition (format 0.0.4) over a tiny HTTP/1.0 responder
 * thread on --metrics ADDR:PORT. The daemon supplies a render callback
 * that appends families with csmp_metric_family() and samples with
 * csmp_metric_sample(); this file knows HTTP and the text format only.
 */
#ifndef CSMPD_METRICS_H
#define CSMPD_METRICS_H

#include <stddef.h>
#include <stdint.h>

struct csmp_buf {
	char *p;
	size_t len, cap;
	int err;		/* sticky -ENOMEM */
};

void csmp_buf_printf(struct csmp_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* "# HELP name help" and "# TYPE name counter|gauge". */
void csmp_metric_family(struct csmp_buf *b, const char *name,
			const char *type, const char *help);
/* name{labels} value; labels is "" or 'worker="0",reason="sig_bad"'. */
void csmp_metric_sample(struct csmp_buf *b, const char *name,
			const char *labels, uint64_t value);

typedef void (*csmp_metrics_render)(void *ctx, struct csmp_buf *out);

struct csmp_metrics;

/* Bind ADDR:PORT ("127.0.0.1:9628", "[::1]:9628"). */
int csmp_metrics_open(const char *addr, csmp_metrics_render fn, void *ctx,
		      struct csmp_metrics **out, char *err, size_t errlen);
int csmp_metrics_start(struct csmp_metrics *m);
void csmp_metrics_close(struct csmp_metrics *m);
/* The bound port (useful with port 0). */
int csmp_metrics_port(const struct csmp_metrics *m);

#endif /* CSMPD_METRICS_H */
