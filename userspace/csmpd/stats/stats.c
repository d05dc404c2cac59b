// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The workers' counters as the outside reads them: Prometheus families
 * (http/ serves them), the control socket's `stats` answer (the keys
 * csmpctl reads) and the lines logged at shutdown. Counters are per worker,
 * written by that worker only; readers take a relaxed snapshot of each.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "csmpd.h"
#include "conf/runtime.h"
#include "events.h"
#include "http/metrics.h"
#include "registry/records.h"
#include "stats/process.h"
#include "stats/stats.h"

/* One worker's counters, each word read once (relaxed, never torn). */
static void snapshot(const struct csmpd_counters *k, struct csmpd_counters *s)
{
	const __u64 *src = (const __u64 *)k;
	__u64 *dst = (__u64 *)s;
	size_t f;

	for (f = 0; f < sizeof(*s) / sizeof(__u64); f++)
		dst[f] = __atomic_load_n(&src[f], __ATOMIC_RELAXED);
}

static struct csmp_db *db_of(struct csmpd_daemon *d)
{
	return d->reg ? d->reg->db : NULL;
}

/* ---- the counter list ------------------------------------------------------ */

/* One row of stats/counters.def: where its value is and where it goes. */
struct ctr_row {
	size_t off;		/* in struct csmpd_counters */
	const char *kind;	/* "counter" / "gauge" */
	const char *prom;	/* family, or NULL */
	const char *json;	/* "key" or "object.key", or NULL */
	int line;		/* shutdown line: 5, 6, or 0 */
	const char *label;
	const char *help;
};

#define CTR(f) offsetof(struct csmpd_counters, f)
#define KIND_COUNTER "counter"
#define KIND_GAUGE "gauge"

static const struct ctr_row rows[] = {
#define CSMPD_CTR(field, kind, prom, json, line, label, help)                 \
	{ CTR(field), KIND_##kind, prom, json, line, label, help },
#define CSMPD_SHOW(expr, line, label)                                          \
	{ CTR(expr), NULL, NULL, NULL, line, label, NULL },
#include "stats/counters.def"
#undef CSMPD_CTR
#undef CSMPD_SHOW
};

#define N_ROWS (sizeof(rows) / sizeof(rows[0]))

/* ---- Prometheus ----------------------------------------------------------- */

static __u64 ctr_at(const struct csmpd_counters *c, size_t off)
{
	return __atomic_load_n((const __u64 *)((const char *)c + off),
			       __ATOMIC_RELAXED);
}

void csmpd_stats_prometheus(void *daemon, struct csmp_buf *b)
{
	struct csmpd_daemon *d = daemon;
	struct csmp_db *db = db_of(d);
	struct csmp_db_stats ds;
	unsigned int i, k, c;
	char l[128];

	for (k = 0; k < N_ROWS; k++) {
		if (!rows[k].prom)
			continue;
		csmp_metric_family(b, rows[k].prom, rows[k].kind, rows[k].help);
		for (i = 0; i < d->n_workers; i++) {
			snprintf(l, sizeof(l), "worker=\"%u\"", i);
			csmp_metric_sample(b, rows[k].prom, l,
					   ctr_at(&d->workers[i].ctr, rows[k].off));
		}
	}
	csmp_metric_family(b, "csmp_messages_total", "counter",
			   "Datagrams by message class.");
	for (i = 0; i < d->n_workers; i++)
		for (c = 0; c < CSMP_C__MAX; c++) {
			snprintf(l, sizeof(l), "worker=\"%u\",class=\"%s\"", i,
				 csmp_msg_class_name(c));
			csmp_metric_sample(b, "csmp_messages_total", l,
					   ctr_at(&d->workers[i].ctr,
						  CTR(msg_class) + c * sizeof(__u64)));
		}
	csmp_metric_family(b, "csmp_reason_total", "counter",
			   "Datagrams dropped or refused, by reason.");
	for (i = 0; i < d->n_workers; i++)
		for (c = 1; c < CSMP_R__MAX; c++) {
			__u64 v = ctr_at(&d->workers[i].ctr,
					 CTR(reason) + c * sizeof(__u64));

			if (!v && (c < CSMP_R_SIG_BAD || c > CSMP_R_SIG_MISSING))
				continue;
			snprintf(l, sizeof(l), "worker=\"%u\",reason=\"%s\"", i,
				 csmp_reason_name(c));
			csmp_metric_sample(b, "csmp_reason_total", l, v);
		}
	csmp_metric_family(b, "csmp_registry_queue_depth", "gauge",
			   "Registry records waiting for the writer.");
	for (i = 0; i < d->n_workers; i++) {
		snprintf(l, sizeof(l), "worker=\"%u\"", i);
		csmp_metric_sample(b, "csmp_registry_queue_depth", l,
				   db ? csmp_db_queue_depth(db, i) : 0);
	}
	csmp_db_get_stats(db, &ds);
	{
		/* The daemon-wide figures: one sample each, no label. */
		const struct {
			const char *name, *kind, *help;
			__u64 v;
		} one[] = {
			{ "csmp_registry_commits_total", "counter",
			  "Registry transactions committed.", ds.commits },
			{ "csmp_registry_records_total", "counter",
			  "Registry records written.", ds.records },
			{ "csmp_registry_errors_total", "counter",
			  "Registry transactions that failed (retried).",
			  ds.errors },
			{ "csmp_registry_failing", "gauge",
			  "1 while the registry cannot be written.",
			  ds.failing },
			{ "csmp_events_dropped_total", "counter",
			  "Events dropped because the event queue was full.",
			  csmp_events_dropped(d->events) },
			{ "csmp_config_reloads_total", "counter",
			  "Policy reloads applied.", csmpd_conf_reloads(d) },
		};

		for (k = 0; k < sizeof(one) / sizeof(one[0]); k++) {
			csmp_metric_family(b, one[k].name, one[k].kind,
					   one[k].help);
			csmp_metric_sample(b, one[k].name, "", one[k].v);
		}
	}
	csmpd_process_prometheus(d, b);
}

/* ---- the control socket's stats ------------------------------------------- */

static json_t *reasons_json(const __u64 *reason)
{
	json_t *o = json_object();
	unsigned int i;

	for (i = 0; i < CSMP_R__MAX; i++)
		if (reason[i])
			json_object_set_new(o, csmp_reason_name(i),
					    json_integer((json_int_t)reason[i]));
	return o;
}

/* Every row with a JSON key into the worker's object: "a.b" is member b
 * of member object a. */
static void rows_json(json_t *wj, const struct csmpd_counters *s)
{
	char obj[32];
	size_t k;

	for (k = 0; k < N_ROWS; k++) {
		const char *key = rows[k].json, *dot;
		json_t *v, *parent = wj;

		if (!key)
			continue;
		v = json_integer((json_int_t)*(const __u64 *)
				 ((const char *)s + rows[k].off));
		dot = strchr(key, '.');
		if (dot) {
			snprintf(obj, sizeof(obj), "%.*s", (int)(dot - key), key);
			parent = json_object_get(wj, obj);
			if (!parent) {
				parent = json_object();
				json_object_set_new(wj, obj, parent);
			}
			key = dot + 1;
		}
		json_object_set_new(parent, key, v);
	}
}

json_t *csmpd_stats_json(struct csmpd_daemon *d)
{
	struct csmp_db *db = db_of(d);
	json_t *workers = json_array(), *resp;
	struct csmp_db_stats ds;
	struct timespec mono, cpu;
	unsigned int i, c;

	/* Read with the counters, so that two answers give rates per second
	 * and per CPU-second without the client's own latency in them. */
	clock_gettime(CLOCK_MONOTONIC, &mono);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu);
	for (i = 0; i < d->n_workers; i++) {
		struct csmpd_counters s;
		json_t *cls = json_object(), *sigf = json_object(), *wj;

		snapshot(&d->workers[i].ctr, &s);
		for (c = 0; c < CSMP_C__MAX; c++)
			json_object_set_new(cls, csmp_msg_class_name(c),
					    json_integer((json_int_t)s.msg_class[c]));
		for (c = CSMP_R_SIG_BAD; c <= CSMP_R_SIG_MISSING; c++)
			json_object_set_new(sigf, csmp_reason_name(c),
					    json_integer((json_int_t)s.reason[c]));
		wj = json_pack("{s:i,s:o,s:o,s:o,s:I}", "worker", (int)i,
			       "by_class", cls, "verify_failed", sigf,
			       "reasons", reasons_json(s.reason),
			       "queue_depth",
			       (json_int_t)(db ? csmp_db_queue_depth(db, i) : 0));
		if (!wj)
			continue;
		rows_json(wj, &s);
		json_array_append_new(workers, wj);
	}
	csmp_db_get_stats(db, &ds);
	resp = json_pack("{s:o,s:{s:I,s:I},s:{s:I,s:I,s:I,s:b,s:I,s:I,s:I},s:{s:I,s:I},s:I}",
			 "workers", workers,
			 "clock", "monotonic_ns",
			 (json_int_t)mono.tv_sec * 1000000000 + mono.tv_nsec,
			 "process_cpu_ns",
			 (json_int_t)cpu.tv_sec * 1000000000 + cpu.tv_nsec,
			 "registry", "records", (json_int_t)ds.records,
			 "commits", (json_int_t)ds.commits,
			 "errors", (json_int_t)ds.errors,
			 "failing", (int)ds.failing,
			 "max_commit_us", (json_int_t)ds.max_commit_us,
			 "queue_depth", (json_int_t)ds.queue_depth,
			 "writer_cpu_ns", (json_int_t)ds.writer_cpu_ns,
			 "events", "written",
			 (json_int_t)csmp_events_written(d->events),
			 "dropped", (json_int_t)csmp_events_dropped(d->events),
			 "policy_generation",
			 (json_int_t)csmpd_policy_generation(d));
	if (resp && d->sign_pool) {
		struct csmp_sigpool_stats ps;

		csmp_sigpool_stats(d->sign_pool, &ps);
		json_object_set_new(resp, "sign_pool", json_pack(
			"{s:I,s:I,s:I,s:I,s:I,s:b}",
			"available", (json_int_t)ps.avail,
			"capacity", (json_int_t)ps.capacity,
			"made", (json_int_t)ps.made,
			"taken", (json_int_t)ps.taken,
			"errors", (json_int_t)ps.errors,
			"idle_priority", ps.sched == CSMP_SIGPOOL_SCHED_IDLE));
	}
	return resp;
}

/* ---- shutdown ------------------------------------------------------------- */

/* "label value label value ..." of one line's rows, in their order. */
static void shutdown_line(const struct csmpd_counters *tot, int line,
			  char *buf, size_t len)
{
	size_t k, o = 0;

	buf[0] = 0;
	for (k = 0; k < N_ROWS && o < len; k++)
		if (rows[k].line == line)
			o += (size_t)snprintf(buf + o, len - o, "%s%s %llu",
					      o ? " " : "", rows[k].label,
					      (unsigned long long)ctr_at(tot, rows[k].off));
}

void csmpd_stats_log_shutdown(struct csmpd_daemon *d)
{
	struct csmpd_counters tot;
	char buf[1024];

	csmpd_counters_sum(d, &tot);
	shutdown_line(&tot, 5, buf, sizeof(buf));
	csmpd_log(CSMPD_NOTICE, "STOPPED", "%s", buf);
	shutdown_line(&tot, 6, buf, sizeof(buf));
	csmpd_log(CSMPD_INFO, "STOPPED_IO", "%s", buf);
}
