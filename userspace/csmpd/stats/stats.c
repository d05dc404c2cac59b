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

/* ---- Prometheus ----------------------------------------------------------- */

struct fam {
	const char *name, *type, *help;
	size_t off;		/* in struct csmpd_counters */
};

#define CTR(f) offsetof(struct csmpd_counters, f)

static const struct fam fams[] = {
	{ "csmp_rx_datagrams_total", "counter", "Datagrams received.", CTR(rx_dgrams) },
	{ "csmp_rx_bytes_total", "counter", "Bytes received.", CTR(rx_bytes) },
	{ "csmp_tx_datagrams_total", "counter", "Datagrams sent.", CTR(tx_dgrams) },
	{ "csmp_tx_errors_total", "counter", "Sends that failed.", CTR(tx_errors) },
	{ "csmp_registrations_total", "counter", "Registrations answered 2.03 (new work).", CTR(reg_ok) },
	{ "csmp_registrations_refused_total", "counter", "Registrations refused 4.03 by policy.", CTR(reg_refused) },
	{ "csmp_registrations_duplicate_total", "counter", "Retransmitted registrations answered from cache.", CTR(reg_dup) },
	{ "csmp_registrations_withheld_total", "counter", "Registrations not answered: their record could not be queued or committed.", CTR(reg_withheld) },
	{ "csmp_registrations_held", "gauge", "Registration answers waiting for their registry commit.", CTR(parked) },
	{ "csmp_reports_total", "counter", "Reports matched to a session.", CTR(reports) },
	{ "csmp_reports_unknown_session_total", "counter", "Reports with an unknown SessionID.", CTR(reports_unknown) },
	{ "csmp_notifications_total", "counter", "CGMSNotification messages.", CTR(notifications) },
	{ "csmp_signed_total", "counter", "Downlink messages signed.", CTR(signed_msgs) },
	{ "csmp_signature_cache_hits_total", "counter", "Downlink signatures reused from the cache.", CTR(sig_cache_hits) },
	{ "csmp_signatures_pooled_total", "counter", "Downlink signatures computed with a precomputed nonce.", CTR(sig_pooled) },
	{ "csmp_signature_pool_empty_total", "counter", "Downlink signatures computed afresh: the nonce pool was empty.", CTR(sig_pool_empty) },
	{ "csmp_dropped_total", "counter", "Valid CSMP not acted on.", CTR(dropped) },
	{ "csmp_devices", "gauge", "Devices in the worker's shard.", CTR(devices) },
	{ "csmp_requests_sent_total", "counter", "Head-end requests sent (retries included).", CTR(req_sent) },
	{ "csmp_requests_answered_total", "counter", "Head-end requests the device answered.", CTR(req_answered) },
	{ "csmp_requests_timeouts_total", "counter", "Head-end requests with no answer in time.", CTR(req_timeouts) },
	{ "csmp_requests_unmatched_total", "counter", "Datagrams on a request socket that answer no request of ours.", CTR(req_unmatched) },
	{ "csmp_requests_refused_total", "counter", "Head-end requests not sent (unknown device, signing, full).", CTR(req_refused) },
	{ "csmp_signature_verified_total", "counter", "Uplink signatures verified good.", CTR(verified_ok) },
};

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

	for (k = 0; k < sizeof(fams) / sizeof(fams[0]); k++) {
		csmp_metric_family(b, fams[k].name, fams[k].type, fams[k].help);
		for (i = 0; i < d->n_workers; i++) {
			snprintf(l, sizeof(l), "worker=\"%u\"", i);
			csmp_metric_sample(b, fams[k].name, l,
					   ctr_at(&d->workers[i].ctr, fams[k].off));
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
	csmp_metric_family(b, "csmp_registry_commits_total", "counter",
			   "Registry transactions committed.");
	csmp_metric_sample(b, "csmp_registry_commits_total", "", ds.commits);
	csmp_metric_family(b, "csmp_registry_records_total", "counter",
			   "Registry records written.");
	csmp_metric_sample(b, "csmp_registry_records_total", "", ds.records);
	csmp_metric_family(b, "csmp_registry_errors_total", "counter",
			   "Registry transactions that failed (retried).");
	csmp_metric_sample(b, "csmp_registry_errors_total", "", ds.errors);
	csmp_metric_family(b, "csmp_registry_failing", "gauge",
			   "1 while the registry cannot be written.");
	csmp_metric_sample(b, "csmp_registry_failing", "", ds.failing);
	csmp_metric_family(b, "csmp_events_dropped_total", "counter",
			   "Events dropped because the event queue was full.");
	csmp_metric_sample(b, "csmp_events_dropped_total", "",
			   csmp_events_dropped(d->events));
	csmp_metric_family(b, "csmp_config_reloads_total", "counter",
			   "Policy reloads applied.");
	csmp_metric_sample(b, "csmp_config_reloads_total", "",
			   csmpd_conf_reloads(d));
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
		wj = json_pack(
			"{s:i,s:I,s:I,s:o,s:I,s:o,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:o,s:I,s:I}",
			"worker", (int)i,
			"received", (json_int_t)s.rx_dgrams,
			"sent", (json_int_t)s.tx_dgrams,
			"by_class", cls,
			"verified_ok", (json_int_t)s.verified_ok,
			"verify_failed", sigf,
			"unsigned_accepted", (json_int_t)s.unsigned_accepted,
			"signed", (json_int_t)s.signed_msgs,
			"signature_cache_hits", (json_int_t)s.sig_cache_hits,
			"queue_depth", (json_int_t)(db ? csmp_db_queue_depth(db, i) : 0),
			"dropped", (json_int_t)s.dropped,
			"registry_dropped", (json_int_t)s.registry_dropped,
			"devices", (json_int_t)s.devices,
			"registrations", (json_int_t)s.reg_ok,
			"registrations_held", (json_int_t)s.parked,
			"registrations_withheld", (json_int_t)s.reg_withheld,
			"registrations_duplicate_held", (json_int_t)s.reg_dup_held,
			"reasons", reasons_json(s.reason),
			"reports", (json_int_t)s.reports,
			"reports_unknown_session", (json_int_t)s.reports_unknown);

		/* Downlink nonces (proto/sign.c, the nonce pool). */
		json_object_set_new(wj, "signed_pooled",
				    json_integer((json_int_t)s.sig_pooled));
		json_object_set_new(wj, "sign_pool_empty",
				    json_integer((json_int_t)s.sig_pool_empty));
		/* Head-end requests (proto/request.c). */
		json_object_set_new(wj, "requests", json_pack(
			"{s:I,s:I,s:I,s:I,s:I}",
			"sent", (json_int_t)s.req_sent,
			"answered", (json_int_t)s.req_answered,
			"timeouts", (json_int_t)s.req_timeouts,
			"unmatched", (json_int_t)s.req_unmatched,
			"refused", (json_int_t)s.req_refused));
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

void csmpd_stats_log_shutdown(struct csmpd_daemon *d)
{
	struct csmpd_counters tot;

	csmpd_counters_sum(d, &tot);
	csmpd_log(CSMPD_NOTICE, "STOPPED",
		  "rx %llu tx %llu registrations %llu (dup %llu, refused %llu, bad %llu) reports %llu (unknown session %llu) notifications %llu malformed %llu signed %llu (cache hits %llu)",
		  (unsigned long long)tot.rx_dgrams,
		  (unsigned long long)tot.tx_dgrams,
		  (unsigned long long)tot.reg_ok,
		  (unsigned long long)tot.reg_dup,
		  (unsigned long long)tot.reg_refused,
		  (unsigned long long)tot.reg_bad,
		  (unsigned long long)tot.reports,
		  (unsigned long long)tot.reports_unknown,
		  (unsigned long long)tot.notifications,
		  (unsigned long long)tot.msg_class[CSMP_C_MALFORMED],
		  (unsigned long long)tot.signed_msgs,
		  (unsigned long long)tot.sig_cache_hits);
	csmpd_log(CSMPD_INFO, "STOPPED_IO",
		  "batches %llu truncated %llu enobufs %llu rearm %llu tx errors %llu tx full %llu handoff out %llu in %llu dropped %llu tlv unknown %llu",
		  (unsigned long long)tot.batches,
		  (unsigned long long)tot.rx_truncated,
		  (unsigned long long)tot.rx_enobufs,
		  (unsigned long long)tot.rx_rearm,
		  (unsigned long long)tot.tx_errors,
		  (unsigned long long)tot.tx_full,
		  (unsigned long long)tot.handoff_out,
		  (unsigned long long)tot.handoff_in,
		  (unsigned long long)tot.handoff_dropped,
		  (unsigned long long)tot.tlv_unknown);
}
