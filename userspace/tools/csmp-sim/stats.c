// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * csmp-sim figures: log-linear latency histograms (about 3% resolution,
 * constant memory however many devices or attempts), the one-line progress
 * report on stderr and the exit summary, as text or as one JSON object.
 */
#include <math.h>
#include <stdio.h>

#include "sim.h"

static unsigned int hist_bucket(uint64_t v)
{
	unsigned int e, b;

	if (v < SIM_HIST_SUB)
		return (unsigned int)v;
	e = 63u - (unsigned int)__builtin_clzll(v);	/* >= 5 */
	b = (e - 4) * SIM_HIST_SUB + (unsigned int)((v >> (e - 5)) & 31);
	return b < SIM_HIST_N ? b : SIM_HIST_N - 1;
}

static double hist_value(unsigned int b)
{
	unsigned int e, sub;
	uint64_t lo;

	if (b < SIM_HIST_SUB)
		return b;
	e = b / SIM_HIST_SUB + 4;
	sub = b % SIM_HIST_SUB;
	lo = (uint64_t)(SIM_HIST_SUB + sub) << (e - 5);
	return (double)lo + (double)(1ull << (e - 5)) / 2;
}

void sim_hist_add(struct sim_hist *h, uint64_t usec)
{
	h->b[hist_bucket(usec)]++;
	h->n++;
	if (usec > h->max)
		h->max = usec;
}

/* The pct-th percentile in microseconds, 0 when empty. */
double sim_hist_pct(const struct sim_hist *h, double pct)
{
	uint64_t want, acc = 0;

	if (!h->n)
		return 0;
	want = (uint64_t)ceil(pct / 100.0 * (double)h->n);
	if (want < 1)
		want = 1;
	for (unsigned int b = 0; b < SIM_HIST_N; b++) {
		acc += h->b[b];
		if (acc >= want) {
			double v = hist_value(b);

			return v > (double)h->max ? (double)h->max : v;
		}
	}
	return (double)h->max;
}

static double secs(uint64_t ns)
{
	return (double)ns / 1e9;
}

static double per_s(uint64_t n, uint64_t from, uint64_t to)
{
	if (!from || to <= from)
		return 0;
	return (double)n / secs(to - from);
}

void sim_progress(struct sim *s, FILE *f)
{
	const struct sim_stats *st = &s->st;

	fprintf(f, "csmp-sim %5.1fs  registered %llu/%u  attempts %llu  "
		"reports %llu  acks ok %llu bad-sig %llu  rx %llu tx %llu\n",
		secs(s->now - s->t0), (unsigned long long)st->registered,
		s->o.devices, (unsigned long long)st->reg_attempts,
		(unsigned long long)st->reports_sent,
		(unsigned long long)st->acks_verified,
		(unsigned long long)st->acks_bad_signature,
		(unsigned long long)st->acks_rx,
		(unsigned long long)st->tx_datagrams);
	fflush(f);
}

#define U(x) ((unsigned long long)(x))

void sim_summary_json(struct sim *s, FILE *f)
{
	const struct sim_stats *st = &s->st;
	uint64_t end = s->t_end ? s->t_end : s->now;

	fprintf(f, "{\"devices\":%u,\"registered\":%llu,\"reg_attempts\":%llu,"
		"\"reports_sent\":%llu,\"notifications_sent\":%llu,"
		"\"acks_rx\":%llu,\"acks_2xx\":%llu,\"acks_verified\":%llu,"
		"\"acks_unverified\":%llu,\"acks_bad_signature\":%llu,"
		"\"acks_bad_validity\":%llu,\"acks_rejected\":%llu,"
		"\"acks_error_code\":%llu,\"acks_token\":%llu,"
		"\"acks_unexpected\":%llu,\"reregistrations\":%llu,\"rx_malformed\":%llu,"
		"\"rx_unknown_dev\":%llu,\"tx_datagrams\":%llu,"
		"\"tx_errors\":%llu,",
		s->o.devices, U(st->registered), U(st->reg_attempts),
		U(st->reports_sent), U(st->notifications_sent), U(st->acks_rx),
		U(st->acks_2xx), U(st->acks_verified), U(st->acks_unverified),
		U(st->acks_bad_signature), U(st->acks_bad_validity),
		U(st->acks_rejected), U(st->acks_error_code), U(st->acks_token),
		U(st->acks_unexpected), U(st->reregistrations), U(st->rx_malformed),
		U(st->rx_unknown_dev), U(st->tx_datagrams), U(st->tx_errors));
	fprintf(f, "\"reg_latency_ms\":{\"p50\":%.3f,\"p90\":%.3f,"
		"\"p99\":%.3f,\"max\":%.3f},"
		"\"rtt_ms\":{\"p50\":%.3f,\"p90\":%.3f,\"p99\":%.3f,"
		"\"max\":%.3f},",
		sim_hist_pct(&s->lat, 50) / 1e3, sim_hist_pct(&s->lat, 90) / 1e3,
		sim_hist_pct(&s->lat, 99) / 1e3, (double)s->lat.max / 1e3,
		sim_hist_pct(&s->rtt, 50) / 1e3, sim_hist_pct(&s->rtt, 90) / 1e3,
		sim_hist_pct(&s->rtt, 99) / 1e3, (double)s->rtt.max / 1e3);
	fprintf(f, "\"elapsed_s\":%.3f,\"all_registered_s\":",
		secs(end - s->t0));
	if (s->all_registered_at)
		fprintf(f, "%.3f,", secs(s->all_registered_at - s->t0));
	else
		fprintf(f, "null,");
	fprintf(f, "\"rates\":{\"registrations_per_s\":%.1f,"
		"\"attempts_per_s\":%.1f,\"acks_2xx_per_s\":%.1f,"
		"\"reports_per_s\":%.1f,\"tx_per_s\":%.1f,\"rx_per_s\":%.1f},"
		"\"open_loop_rate\":%.1f,\"src_mode\":\"%s\",\"sockets\":%u",
		per_s(st->registered, s->first_send, s->last_reg),
		per_s(st->reg_attempts, s->t0, end),
		per_s(st->acks_2xx, s->first_send, s->last_rx),
		per_s(st->reports_sent, s->t0, end),
		per_s(st->tx_datagrams, s->t0, end),
		per_s(st->acks_rx, s->t0, end), s->o.rate,
		s->src_mode == SIM_SRC_PREFIX ? "prefix" : "ports",
		s->src_mode == SIM_SRC_PREFIX ? s->n_socks : s->o.devices);
	fprintf(f, ",\"reboots\":%llu,\"async_sent\":%llu,\"tx_lost\":%llu,"
		"\"rx_lost\":%llu,\"stopping_devices\":%u,"
		"\"wrong_key_devices\":%u",
		U(st->reboots), U(st->async_sent), U(st->tx_lost),
		U(st->rx_lost), s->n_stops, s->n_wrong_key);
	sim_serve_json(s, f);
	sim_uplink_json(s, f);
	sim_fw_json(s, f);
	sim_radio_json(s, f);
	fprintf(f, "}\n");
}

void sim_summary_text(struct sim *s, FILE *f)
{
	const struct sim_stats *st = &s->st;

	fprintf(f, "csmp-sim: %llu/%u registered in %.2fs (%llu attempts), "
		"%llu reports, %llu notifications\n"
		"  ACKs: %llu verified, %llu bad signature, %llu bad validity, "
		"%llu rejected, %llu error code, %llu with token\n"
		"  registration latency ms: p50 %.1f p99 %.1f max %.1f; "
		"attempt RTT ms: p50 %.2f p99 %.2f\n",
		U(st->registered), s->o.devices,
		secs((s->all_registered_at ? s->all_registered_at : s->now) - s->t0),
		U(st->reg_attempts), U(st->reports_sent),
		U(st->notifications_sent), U(st->acks_verified),
		U(st->acks_bad_signature), U(st->acks_bad_validity),
		U(st->acks_rejected), U(st->acks_error_code), U(st->acks_token),
		sim_hist_pct(&s->lat, 50) / 1e3, sim_hist_pct(&s->lat, 99) / 1e3,
		(double)s->lat.max / 1e3, sim_hist_pct(&s->rtt, 50) / 1e3,
		sim_hist_pct(&s->rtt, 99) / 1e3);
}
