// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * csmpctl devices [--count|EID]: the device registry as csmpd persisted it
 * (committed state, at most one commit interval behind the workers).
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ctl_common.h"
#include "registry/db.h"

static void fmt_ms(json_t *v, char *out, size_t cap)
{
	time_t t = (time_t)(json_integer_value(v) / 1000);
	struct tm tm;

	if (!json_integer_value(v)) {
		snprintf(out, cap, "-");
		return;
	}
	gmtime_r(&t, &tm);
	strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

#define S(obj, k) (json_string_value(json_object_get(obj, k)) ?: "")
#define I(obj, k) ((long long)json_integer_value(json_object_get(obj, k)))

static void print_one(json_t *d)
{
	char first[32], last[32], seen[32];
	json_t *t;
	size_t i;

	fmt_ms(json_object_get(d, "first_registration_ms"), first, sizeof(first));
	fmt_ms(json_object_get(d, "last_registration_ms"), last, sizeof(last));
	fmt_ms(json_object_get(d, "last_seen_ms"), seen, sizeof(seen));
	printf("EID               %s\nSessionID         %s\n"
	       "Address           [%s]:%lld\nGroup             %s\n"
	       "First registered  %s\nLast registered   %s\n"
	       "Last seen         %s\nRegistrations     %lld\n"
	       "Reports           %lld\nHardware          %s (serial %s)\n"
	       "Firmware          %s\nOwner             %04llx (epoch %lld)\n",
	       S(d, "eid"), S(d, "session"), S(d, "addr"), I(d, "port"),
	       *S(d, "group") ? S(d, "group") : "-", first, last, seen,
	       I(d, "registrations"), I(d, "reports"), S(d, "hw_model"),
	       S(d, "hw_serial"), S(d, "fw_version"), I(d, "owner"),
	       I(d, "epoch"));
	json_array_foreach(json_object_get(d, "tlvs"), i, t) {
		char *v = json_dumps(json_object_get(t, "value"),
				     JSON_COMPACT | JSON_ENCODE_ANY);

		printf("[%lld/%s]: %s\n", I(t, "id"), S(t, "name"),
		       v ? v : "null");
		free(v);
	}
}

static void devices_usage(FILE *f)
{
	fprintf(f, "usage: csmpctl devices [--json] [--db CONNINFO] [--count | EID]\n"
		   "The registered devices, their count, or one device in detail.\n"
		   "--db reads the registry itself (a cluster's PostgreSQL, or a SQLite file).\n"
		   "Example: csmpctl --control ./run/control.sock devices 0A0027FFFE3B2AB2\n");
}

static int cmd_devices(int argc, char **argv, const struct csmpctl_opts *o)
{
	static const struct option lo[] = {
		{ "count", no_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "db", required_argument, NULL, 'd' },
		{ 0 },
	};
	bool count = false, json = o->json;
	const char *db = NULL;
	char err[512];
	json_t *req, *resp, *d;
	size_t i;
	int opt, ret;

	while ((opt = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (opt) {
		case 'c':
			count = true;
			break;
		case 'j':
			json = true;
			break;
		case 'd':
			db = optarg;
			break;
		default:
			devices_usage(stderr);
			return 2;
		}
	}
	req = json_pack("{s:s}", "cmd", "devices");
	if (count)
		json_object_set_new(req, "count", json_true());
	if (optind < argc)
		json_object_set_new(req, "eid", json_string(argv[optind]));
	if (!db) {
		ret = csmpctl_call(o, req, &resp);
	} else {
		json_decref(req);
		ret = csmp_db_devices_answer(db, count, optind < argc ?
					     argv[optind] : NULL, &resp, err,
					     sizeof(err)) ? 1 : 0;
		if (ret)
			fprintf(stderr, "csmpctl: %s\n", err);
	}
	if (ret)
		return ret;
	if (json) {
		json_object_del(resp, "ok");
		json_dumpf(resp, stdout, JSON_COMPACT);
		putchar('\n');
	} else if (count) {
		printf("%lld\n", I(resp, "count"));
	} else if ((d = json_object_get(resp, "device"))) {
		print_one(d);
	} else {
		printf("%-16s  %-16s  %-40s  %-10s  %6s  %6s  %-20s  %s\n",
		       "EID", "SESSION", "ADDRESS", "GROUP", "REGS", "REPORTS",
		       "LAST SEEN", "OWNER");
		json_array_foreach(json_object_get(resp, "devices"), i, d) {
			char seen[32], addr[64];

			fmt_ms(json_object_get(d, "last_seen_ms"), seen,
			       sizeof(seen));
			snprintf(addr, sizeof(addr), "[%s]:%lld", S(d, "addr"),
				 I(d, "port"));
			printf("%-16s  %-16s  %-40s  %-10s  %6lld  %6lld  %-20s  %04llx\n",
			       S(d, "eid"), S(d, "session"), addr,
			       *S(d, "group") ? S(d, "group") : "-",
			       I(d, "registrations"), I(d, "reports"), seen,
			       I(d, "owner"));
		}
	}
	json_decref(resp);
	return 0;
}

CSMPCTL_COMMAND_HELP(devices, "devices", "devices [--json] [--count|EID]",
		     "registered devices, their count, or one device in detail",
		     cmd_devices, devices_usage)
