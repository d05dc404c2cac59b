// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * csmpctl stats [--json]: csmpd's per-worker counters (received, sent, by
 * message class, uplink verification by outcome, signing, registry queue).
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "ctl_common.h"

#define I(obj, k) ((long long)json_integer_value(json_object_get(obj, k)))

static void stats_usage(FILE *f)
{
	fprintf(f, "usage: csmpctl stats [--json]\n"
		   "Per-worker counters of the running csmpd.\n"
		   "Example: csmpctl --control ./run/control.sock stats --json\n");
}

static int cmd_stats(int argc, char **argv, const struct csmpctl_opts *o)
{
	static const struct option lo[] = {
		{ "json", no_argument, NULL, 'j' },
		{ 0 },
	};
	json_t *resp, *w, *v;
	bool json = o->json;
	const char *k;
	size_t i;
	int opt, ret;

	while ((opt = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (opt != 'j') {
			stats_usage(stderr);
			return 2;
		}
		json = true;
	}
	if (optind != argc) {
		stats_usage(stderr);
		return 2;
	}
	ret = csmpctl_call(o, json_pack("{s:s}", "cmd", "stats"), &resp);
	if (ret)
		return ret;
	if (json) {
		json_object_del(resp, "ok");
		json_dumpf(resp, stdout, JSON_COMPACT);
		putchar('\n');
		json_decref(resp);
		return 0;
	}
	printf("%-6s %10s %10s %8s %10s %8s %9s %9s %6s %8s %7s\n", "WORKER",
	       "RECEIVED", "SENT", "DEVICES", "REPORTS", "SIGNED", "CACHEHIT",
	       "VERIFIED", "BADSIG", "DROPPED", "QUEUE");
	json_array_foreach(json_object_get(resp, "workers"), i, w) {
		long long bad = 0;

		json_object_foreach(json_object_get(w, "verify_failed"), k, v)
			bad += json_integer_value(v);
		printf("%-6lld %10lld %10lld %8lld %10lld %8lld %9lld %9lld %6lld %8lld %7lld\n",
		       I(w, "worker"), I(w, "received"), I(w, "sent"),
		       I(w, "devices"), I(w, "reports"), I(w, "signed"),
		       I(w, "signature_cache_hits"), I(w, "verified_ok"), bad,
		       I(w, "dropped"), I(w, "queue_depth"));
	}
	json_array_foreach(json_object_get(resp, "workers"), i, w) {
		json_object_foreach(json_object_get(w, "verify_failed"), k, v)
			if (json_integer_value(v))
				printf("worker %lld: verification failed (%s): %lld\n",
				       I(w, "worker"), k,
				       (long long)json_integer_value(v));
	}
	w = json_object_get(resp, "registry");
	printf("registry: %lld records in %lld commits (slowest %lld us), "
	       "%lld errors\n", I(w, "records"), I(w, "commits"),
	       I(w, "max_commit_us"), I(w, "errors"));
	json_decref(resp);
	return 0;
}

CSMPCTL_COMMAND_HELP(stats, "stats", "stats [--json]",
		     "per-worker counters of the running csmpd", cmd_stats,
		     stats_usage)
