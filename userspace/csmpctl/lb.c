// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * csmpctl lb: the operator's front end to csmp_lb (libcsmp lbctl.h). Every
 * change edits the persisted state file first, then writes the pinned maps
 * (the Maglev table is swapped in one update), so a restart or another LB
 * host loading the same file computes the same table. --preview on a
 * backend change and `table preview` report how many table slots, and how
 * many of the devices this LB has seen register, would move, without
 * applying anything.
 */
#include <errno.h>
#include <limits.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "csmpctl.h"
#include "lbcmd.h"
#include "lbctl.h"
#include "maglev.h"
#include "names.h"
#include <csmp/reason.h>

static void lb_help(FILE *f)
{
	fprintf(f,
"usage: csmpctl [--json] lb [--state FILE] [--pin-dir DIR] COMMAND\n"
"  attach IFACE --vip ADDR [--vip ADDR] --lb-addr ADDR [--mode encap|local] [--generic]\n"
"  detach\n"
"  backend add ID ADDR [--weight W] [--ports LO-HI] [--preview]\n"
"  backend remove|drain|activate ID [--preview]\n"
"  backend weight ID W [--preview]\n"
"  table show | table preview\n"
"  pin EID BACKEND | pin EID --remove\n"
"  limits [--eid-rate R] [--eid-burst B] [--global-rate R] [--global-burst B]\n"
"         registration storm control, in registrations/s and registrations\n"
"         (0 = no limit); with no option, print the limits\n"
"  eid EID [EID...]    owner of each EID and why (one line, or JSON object, each)\n"
"  stats [--interval SECONDS]\n"
"  sync --db CONNINFO [--interval S] [--timeout S] [--once]\n"
"         the backend set from a cluster's nodes table (live csmpd\n"
"         nodes: heartbeat younger than --timeout), applied as it changes\n"
"Defaults: --state %s, --pin-dir %s\n"
"Example:\n"
"  csmpctl lb --state /tmp/lb.state --pin-dir /sys/fs/bpf/csmp-demo attach veth0 \\\n"
"      --vip 2001:db8::53 --lb-addr 2001:db8:1::1\n"
"  csmpctl --json lb --state /tmp/lb.state --pin-dir /sys/fs/bpf/csmp-demo eid 0A0027FFFE3B2AB2\n",
		CSMP_LB_STATE_DEFAULT, CSMP_LB_PIN_ROOT);
}

static int lb_usage(FILE *f)
{
	lb_help(f);
	return 2;
}

int lb_load_state(struct lbctx *c, bool create)
{
	char err[512];
	int rc = csmp_lb_state_load(c->state_path, c->st, err, sizeof(err));

	if (rc == -ENOENT && create)
		return csmp_lb_state_init(c->st);
	if (rc)
		fprintf(stderr, "csmpctl lb: %s\n", err);
	return rc;
}

bool lb_maps_present(const struct lbctx *c)
{
	int fd = csmp_lb_map_fd(c->pin_dir, CSMP_STR(CSMP_MAP_CFG));

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

/* Devices this LB has seen register (the learned map), for previews. */
static int learned_eids(const char *pin_dir, uint64_t **out, size_t *n)
{
	struct csmp_addr k, nk;
	size_t cap = 1024;
	int fd = csmp_lb_map_fd(pin_dir, CSMP_STR(CSMP_MAP_LEARNED));
	uint64_t *v, eid;
	void *prev = NULL;

	*n = 0;
	*out = NULL;
	if (fd < 0)
		return fd == -ENOENT ? 0 : fd;
	v = malloc(cap * sizeof(*v));
	if (!v) {
		close(fd);
		return -ENOMEM;
	}
	while (!bpf_map_get_next_key(fd, prev, &nk)) {
		k = nk;
		prev = &k;
		if (bpf_map_lookup_elem(fd, &k, &eid))
			continue;
		if (*n == cap) {
			uint64_t *nv = realloc(v, 2 * cap * sizeof(*v));

			if (!nv)
				break;
			v = nv;
			cap *= 2;
		}
		v[(*n)++] = eid;
	}
	close(fd);
	*out = v;
	return 0;
}

/* Compare the state's table with `old` and print what would move. */
int lb_report_move(struct lbctx *c, const uint32_t *old, const char *what)
{
	uint32_t *nt = malloc(sizeof(*nt) * CSMP_MAGLEV_M);
	uint64_t *eids = NULL, k0, k1;
	size_t n = 0, i, moved_eids = 0;
	unsigned int moved;
	int err;

	if (!nt)
		return -ENOMEM;
	err = csmp_lb_state_table(c->st, nt);
	if (err)
		goto out;
	moved = csmp_maglev_moved(old, nt);
	csmp_lb_key_words(c->st->key, &k0, &k1);
	if (lb_maps_present(c) && !learned_eids(c->pin_dir, &eids, &n))
		for (i = 0; i < n; i++)
			moved_eids += csmp_maglev_lookup(old, k0, k1, eids[i]) !=
				      csmp_maglev_lookup(nt, k0, k1, eids[i]);
	if (c->o->json)
		printf("{\"%s\":true,\"slots\":%u,\"slots_moved\":%u,"
		       "\"fraction\":%.6f,\"known_devices\":%zu,"
		       "\"known_devices_moved\":%zu}\n",
		       what, CSMP_MAGLEV_M, moved, (double)moved / CSMP_MAGLEV_M,
		       n, moved_eids);
	else
		printf("%s: %u of %u slots move (%.2f%%); %zu of %zu known devices move\n",
		       what, moved, CSMP_MAGLEV_M, 100.0 * moved / CSMP_MAGLEV_M,
		       moved_eids, n);
out:
	free(eids);
	free(nt);
	return err;
}

/* Save the state and, when the program is loaded, apply it. */
int lb_commit(struct lbctx *c)
{
	char msg[PATH_MAX + 128];
	unsigned int moved = 0;
	int err;

	c->st->generation++;
	err = csmp_lb_state_save(c->state_path, c->st, msg, sizeof(msg));
	if (err) {
		fprintf(stderr, "csmpctl lb: %s\n", msg);
		return err;
	}
	if (!lb_maps_present(c))
		return 0;
	err = csmp_lb_apply(c->pin_dir, c->st, &moved);
	if (err) {
		fprintf(stderr, "csmpctl lb: apply: %s\n", strerror(-err));
		return err;
	}
	if (c->o->json)
		printf("{\"applied\":true,\"generation\":%u,\"slots_moved\":%u}\n",
		       c->st->generation, moved);
	else
		printf("applied generation %u: %u slots moved\n",
		       c->st->generation, moved);
	return 0;
}

static int parse_id(const char *s, uint16_t *id)
{
	char *end;
	long v = strtol(s, &end, 0);

	if (*end || v <= 0 || v >= CSMP_LB_MAX_BACKENDS)
		return -EINVAL;
	*id = (uint16_t)v;
	return 0;
}

static int cmd_attach(struct lbctx *c, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "vip", required_argument, NULL, 'v' },
		{ "mode", required_argument, NULL, 'm' },
		{ "lb-addr", required_argument, NULL, 'a' },
		{ "generic", no_argument, NULL, 'g' },
		{ 0 },
	};
	unsigned int ifindex, nv = 0;
	bool kf = false;
	int opt, err, fd;

	if (lb_load_state(c, true))
		return 1;
	optind = 0;	/* glibc: 0 re-initialises after main's getopt */
	while ((opt = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (opt) {
		case 'v':
			if (nv == 0)
				c->st->n_vips = 0;
			if (c->st->n_vips == CSMP_LB_MAX_VIPS ||
			    csmp_lb_parse_addr(optarg, &c->st->vips[c->st->n_vips])) {
				fprintf(stderr, "csmpctl lb attach: bad --vip %s\n", optarg);
				return 2;
			}
			c->st->n_vips++;
			nv++;
			break;
		case 'm':
			if (!strcmp(optarg, "encap"))
				c->st->mode = CSMP_LB_MODE_ENCAP;
			else if (!strcmp(optarg, "local"))
				c->st->mode = CSMP_LB_MODE_LOCAL;
			else
				return lb_usage(stderr);
			break;
		case 'a':
			if (csmp_lb_parse_addr(optarg, &c->st->lb_addr)) {
				fprintf(stderr, "csmpctl lb attach: bad --lb-addr %s\n", optarg);
				return 2;
			}
			break;
		case 'g':
			c->generic = true;
			break;
		default:
			return lb_usage(stderr);
		}
	}
	if (optind != argc - 1 || !c->st->n_vips)
		return lb_usage(stderr);
	ifindex = if_nametoindex(argv[optind]);
	if (!ifindex) {
		fprintf(stderr, "csmpctl lb attach: %s: no such interface\n", argv[optind]);
		return 1;
	}
	snprintf(c->st->iface, sizeof(c->st->iface), "%s", argv[optind]);
	fd = csmp_lb_load(c->pin_dir, -1, &kf);
	if (fd < 0) {
		fprintf(stderr, "csmpctl lb attach: load: %s\n", strerror(-fd));
		return 1;
	}
	close(fd);
	if (lb_commit(c))
		return 1;
	err = csmp_lb_attach(c->pin_dir, ifindex, c->generic);
	if (err) {
		fprintf(stderr, "csmpctl lb attach: %s: %s\n", argv[optind], strerror(-err));
		return 1;
	}
	if (c->o->json)
		printf("{\"attached\":\"%s\",\"kfuncs\":%s,\"pin_dir\":\"%s\"}\n",
		       c->st->iface, kf ? "true" : "false", c->pin_dir);
	else
		printf("csmp_lb attached to %s (%s, classifier: %s)\n", c->st->iface,
		       c->st->mode == CSMP_LB_MODE_LOCAL ? "local" : "encap",
		       kf ? "csmp.ko kfunc" : "BPF");
	return 0;
}

static int cmd_detach(struct lbctx *c)
{
	unsigned int ifindex;
	int err;

	if (lb_load_state(c, false))
		return 1;
	ifindex = if_nametoindex(c->st->iface);
	if (!ifindex) {
		fprintf(stderr, "csmpctl lb detach: %s: no such interface\n", c->st->iface);
		return 1;
	}
	err = csmp_lb_detach(ifindex);
	if (err) {
		fprintf(stderr, "csmpctl lb detach: %s\n", strerror(-err));
		return 1;
	}
	if (c->o->json)
		printf("{\"detached\":\"%s\"}\n", c->st->iface);
	else
		printf("csmp_lb detached from %s (maps stay pinned in %s)\n",
		       c->st->iface, c->pin_dir);
	return 0;
}

static int cmd_backend(struct lbctx *c, int argc, char **argv)
{
	struct csmp_lb_be *be;
	uint32_t *old;
	uint16_t id;
	int i, err = 0, rc = 1;

	/* Flags may follow the positional words. */
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--preview")) {
			c->preview = true;
			memmove(&argv[i], &argv[i + 1], sizeof(*argv) * (argc - i));
			argc--;
			i--;
		}
	}
	if (argc < 3 || parse_id(argv[2], &id))
		return lb_usage(stderr);
	if (lb_load_state(c, true))
		return 1;
	old = malloc(sizeof(*old) * CSMP_MAGLEV_M);
	if (!old)
		return 1;
	/* Before: the live table when loaded, else the file's. */
	if (!lb_maps_present(c) || csmp_lb_read_table(c->pin_dir, old))
		csmp_lb_state_table(c->st, old);
	be = csmp_lb_state_be(c->st, id);
	if (!strcmp(argv[1], "add")) {
		struct csmp_lb_be nb = { .id = id, .state = CSMP_BE_ACTIVE, .weight = 100 };

		if (argc < 4 || csmp_lb_parse_addr(argv[3], &nb.addr)) {
			rc = lb_usage(stderr);
			goto out;
		}
		for (i = 4; i + 1 < argc; i += 2) {
			unsigned int lo, hi;

			if (!strcmp(argv[i], "--weight")) {
				nb.weight = (uint32_t)atoi(argv[i + 1]);
			} else if (!strcmp(argv[i], "--ports") &&
				   sscanf(argv[i + 1], "%u-%u", &lo, &hi) == 2 &&
				   lo <= hi && hi <= 65535) {
				nb.port_lo = (uint16_t)lo;
				nb.port_hi = (uint16_t)hi;
			} else {
				rc = lb_usage(stderr);
				goto out;
			}
		}
		if (i != argc || !nb.weight || nb.weight > CSMP_MAGLEV_MAX_WEIGHT) {
			rc = lb_usage(stderr);
			goto out;
		}
		if (be) {
			*be = nb;
		} else if (c->st->n_be < CSMP_LB_STATE_MAX_BE) {
			c->st->be[c->st->n_be++] = nb;
		} else {
			fprintf(stderr, "csmpctl lb: too many backends\n");
			goto out;
		}
	} else if (!be) {
		fprintf(stderr, "csmpctl lb backend: no backend %u\n", id);
		goto out;
	} else if (!strcmp(argv[1], "remove")) {
		*be = c->st->be[--c->st->n_be];
	} else if (!strcmp(argv[1], "drain")) {
		be->state = CSMP_BE_DRAINING;
	} else if (!strcmp(argv[1], "activate")) {
		be->state = CSMP_BE_ACTIVE;
	} else if (!strcmp(argv[1], "weight") && argc == 4) {
		be->weight = (uint32_t)atoi(argv[3]);
		if (!be->weight || be->weight > CSMP_MAGLEV_MAX_WEIGHT) {
			rc = lb_usage(stderr);
			goto out;
		}
	} else {
		rc = lb_usage(stderr);
		goto out;
	}
	if (c->preview) {
		err = lb_report_move(c, old, "preview");
		rc = err ? 1 : 0;
		goto out;
	}
	rc = lb_commit(c) ? 1 : 0;
out:
	free(old);
	return rc;
}

static int cmd_table(struct lbctx *c, int argc, char **argv)
{
	unsigned int counts[CSMP_LB_MAX_BACKENDS];
	uint32_t *t;
	unsigned int i, first = 1;
	int rc = 1;

	if (argc != 2 || (strcmp(argv[1], "show") && strcmp(argv[1], "preview")))
		return lb_usage(stderr);
	if (lb_load_state(c, false))
		return 1;
	t = malloc(sizeof(*t) * CSMP_MAGLEV_M);
	if (!t)
		return 1;
	if (!lb_maps_present(c) || csmp_lb_read_table(c->pin_dir, t)) {
		fprintf(stderr, "csmpctl lb table: csmp_lb is not loaded in %s\n",
			c->pin_dir);
		goto out;
	}
	if (!strcmp(argv[1], "preview")) {
		rc = lb_report_move(c, t, "preview") ? 1 : 0;
		goto out;
	}
	csmp_maglev_count(t, counts, CSMP_LB_MAX_BACKENDS);
	if (c->o->json)
		printf("{\"slots\":%u,\"generation\":%u,\"backends\":[",
		       CSMP_MAGLEV_M, c->st->generation);
	else
		printf("%-8s %-40s %-9s %6s %8s %8s\n", "backend", "address",
		       "state", "weight", "slots", "share");
	for (i = 0; i < c->st->n_be; i++) {
		const struct csmp_lb_be *be = &c->st->be[i];
		char a[INET6_ADDRSTRLEN];
		static const char *const sn[] = { "down", "active", "draining" };

		csmp_lb_format_addr(&be->addr, a, sizeof(a));
		if (c->o->json)
			printf("%s{\"id\":%u,\"addr\":\"%s\",\"state\":\"%s\","
			       "\"weight\":%u,\"slots\":%u,\"share\":%.6f}",
			       first ? "" : ",", be->id, a, sn[be->state % 3],
			       be->weight, counts[be->id],
			       (double)counts[be->id] / CSMP_MAGLEV_M);
		else
			printf("%-8u %-40s %-9s %6u %8u %7.3f%%\n", be->id, a,
			       sn[be->state % 3], be->weight, counts[be->id],
			       100.0 * counts[be->id] / CSMP_MAGLEV_M);
		first = 0;
	}
	if (c->o->json)
		printf("],\"unowned\":%u}\n", counts[0]);
	rc = 0;
out:
	free(t);
	return rc;
}

static int cmd_pin(struct lbctx *c, int argc, char **argv)
{
	uint64_t eid = 0;
	unsigned int i;
	uint16_t id = 0;
	bool remove;
	char *end;

	if (argc != 3 || strlen(argv[1]) != 16)
		return lb_usage(stderr);
	eid = strtoull(argv[1], &end, 16);
	if (*end)
		return lb_usage(stderr);
	remove = !strcmp(argv[2], "--remove");
	if (!remove && parse_id(argv[2], &id))
		return lb_usage(stderr);
	if (lb_load_state(c, true))
		return 1;
	for (i = 0; i < c->st->n_pins; i++)
		if (c->st->pins[i].eid == eid)
			break;
	if (remove) {
		if (i == c->st->n_pins) {
			fprintf(stderr, "csmpctl lb pin: %s is not pinned\n", argv[1]);
			return 1;
		}
		c->st->pins[i] = c->st->pins[--c->st->n_pins];
	} else {
		if (!csmp_lb_state_be(c->st, id)) {
			fprintf(stderr, "csmpctl lb pin: no backend %u\n", id);
			return 1;
		}
		if (i == c->st->n_pins) {
			if (i == CSMP_LB_STATE_MAX_PINS)
				return 1;
			c->st->n_pins++;
		}
		c->st->pins[i].eid = eid;
		c->st->pins[i].backend = id;
	}
	return lb_commit(c) ? 1 : 0;
}

/* A rate or burst in registrations (3 decimals) into milli-registrations. */
static int parse_milli(const char *s, uint32_t *out)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || *end || !(v >= 0) || v * 1000 > UINT32_MAX)
		return -EINVAL;
	*out = (uint32_t)(v * 1000 + 0.5);
	return 0;
}

static int cmd_limits(struct lbctx *c, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "eid-rate", required_argument, NULL, 'e' },
		{ "eid-burst", required_argument, NULL, 'E' },
		{ "global-rate", required_argument, NULL, 'g' },
		{ "global-burst", required_argument, NULL, 'G' },
		{ 0 },
	};
	bool changed = false;
	uint32_t *f;
	int opt;

	if (lb_load_state(c, true))
		return 1;
	optind = 0;
	while ((opt = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (opt) {
		case 'e':
			f = &c->st->eid_rate;
			break;
		case 'E':
			f = &c->st->eid_burst;
			break;
		case 'g':
			f = &c->st->global_rate;
			break;
		case 'G':
			f = &c->st->global_burst;
			break;
		default:
			return lb_usage(stderr);
		}
		if (parse_milli(optarg, f)) {
			fprintf(stderr, "csmpctl lb limits: bad value %s\n", optarg);
			return 2;
		}
		changed = true;
	}
	if (optind != argc)
		return lb_usage(stderr);
	/* A bucket shallower than one registration would refuse everything. */
	if ((c->st->eid_rate && c->st->eid_burst < 1000) ||
	    (c->st->global_rate && c->st->global_burst < 1000)) {
		fprintf(stderr, "csmpctl lb limits: a burst must be at least 1 when its rate is set\n");
		return 2;
	}
	if (changed && lb_commit(c))
		return 1;
	if (c->o->json)
		printf("{\"eid_rate\":%.3f,\"eid_burst\":%.3f,"
		       "\"global_rate\":%.3f,\"global_burst\":%.3f}\n",
		       c->st->eid_rate / 1e3, c->st->eid_burst / 1e3,
		       c->st->global_rate / 1e3, c->st->global_burst / 1e3);
	else
		printf("per EID: %.3f registrations/s, burst %.3f; global: %.3f/s, burst %.3f (0 = no limit)\n",
		       c->st->eid_rate / 1e3, c->st->eid_burst / 1e3,
		       c->st->global_rate / 1e3, c->st->global_burst / 1e3);
	return 0;
}

/* One line (or JSON object) per EID, from one read of the live table. */
static int cmd_eid(struct lbctx *c, int argc, char **argv)
{
	uint64_t eid, k0, k1;
	uint32_t *t, slot, id;
	const char *why;
	unsigned int i;
	int a;
	char *end;

	if (argc < 2)
		return lb_usage(stderr);
	for (a = 1; a < argc; a++) {
		errno = 0;
		if (strlen(argv[a]) != 16 || (strtoull(argv[a], &end, 16), *end || errno)) {
			fprintf(stderr, "csmpctl lb eid: %s is not 16 hex digits\n", argv[a]);
			return 2;
		}
	}
	if (lb_load_state(c, false))
		return 1;
	t = malloc(sizeof(*t) * CSMP_MAGLEV_M);
	if (!t)
		return 1;
	if (!lb_maps_present(c) || csmp_lb_read_table(c->pin_dir, t))
		csmp_lb_state_table(c->st, t);
	csmp_lb_key_words(c->st->key, &k0, &k1);
	for (a = 1; a < argc; a++) {
		eid = strtoull(argv[a], NULL, 16);
		slot = csmp_maglev_slot(k0, k1, eid);
		id = 0;
		why = "device_id";
		for (i = 0; i < c->st->n_pins; i++)
			if (c->st->pins[i].eid == eid) {
				id = c->st->pins[i].backend;
				why = "pin";
			}
		if (!id)
			id = t[slot];
		if (c->o->json)
			printf("{\"eid\":\"%016llX\",\"slot\":%u,\"table_backend\":%u,"
			       "\"backend\":%u,\"key\":\"%s\"}\n",
			       (unsigned long long)eid, slot, t[slot], id, why);
		else
			printf("EID %016llX: slot %u -> backend %u (%s%s)\n",
			       (unsigned long long)eid, slot, id,
			       !strcmp(why, "pin") ? "pinned" : "Maglev table",
			       id ? "" : ", no active backend");
	}
	free(t);
	return 0;
}

static void print_counts(const struct lbctx *c, const char *map, unsigned int n,
			 const char *(*name)(unsigned int), const char *label,
			 bool *first_section)
{
	int fd = csmp_lb_map_fd(c->pin_dir, map);
	unsigned int i, first = 1;

	if (fd < 0)
		return;
	if (c->o->json)
		printf("%s\"%s\":{", *first_section ? "" : ",", label);
	else
		printf("%s:\n", label);
	*first_section = false;
	for (i = 0; i < n; i++) {
		struct csmp_count s;

		if (csmp_lb_count_sum(fd, i, &s) || !s.packets)
			continue;
		if (c->o->json)
			printf("%s\"%s\":{\"packets\":%llu,\"bytes\":%llu}",
			       first ? "" : ",", name(i),
			       (unsigned long long)s.packets,
			       (unsigned long long)s.bytes);
		else
			printf("  %-24s %12llu packets %14llu bytes\n", name(i),
			       (unsigned long long)s.packets,
			       (unsigned long long)s.bytes);
		first = 0;
	}
	if (c->o->json)
		printf("}");
	close(fd);
}

static int cmd_stats(struct lbctx *c, int argc, char **argv)
{
	struct csmp_count *a, *b;
	unsigned int i, counts[CSMP_LB_MAX_BACKENDS], first = 1;
	double interval = 1.0;
	bool fs = true;
	uint32_t *t;
	int fd, rc = 1;

	if (argc == 3 && !strcmp(argv[1], "--interval"))
		interval = atof(argv[2]);
	else if (argc != 1)
		return lb_usage(stderr);
	if (interval <= 0 || lb_load_state(c, false))
		return 1;
	if (!lb_maps_present(c)) {
		fprintf(stderr, "csmpctl lb stats: csmp_lb is not loaded in %s\n",
			c->pin_dir);
		return 1;
	}
	a = calloc(CSMP_LB_MAX_BACKENDS, sizeof(*a));
	b = calloc(CSMP_LB_MAX_BACKENDS, sizeof(*b));
	t = malloc(sizeof(*t) * CSMP_MAGLEV_M);
	fd = csmp_lb_map_fd(c->pin_dir, CSMP_STR(CSMP_MAP_BSTATS));
	if (!a || !b || !t || fd < 0)
		goto out;
	for (i = 0; i < c->st->n_be; i++)
		csmp_lb_count_sum(fd, c->st->be[i].id, &a[c->st->be[i].id]);
	usleep((useconds_t)(interval * 1e6));
	for (i = 0; i < c->st->n_be; i++)
		csmp_lb_count_sum(fd, c->st->be[i].id, &b[c->st->be[i].id]);
	if (csmp_lb_read_table(c->pin_dir, t))
		goto out;
	csmp_maglev_count(t, counts, CSMP_LB_MAX_BACKENDS);

	if (c->o->json)
		printf("{");
	print_counts(c, CSMP_STR(CSMP_MAP_STATS), CSMP_R__MAX, csmp_reason_name,
		     "reasons", &fs);
	print_counts(c, CSMP_STR(CSMP_MAP_STEER), CSMP_K__MAX,
		     csmp_steer_key_name, "steer_keys", &fs);
	print_counts(c, CSMP_STR(CSMP_MAP_CLASSES), CSMP_C__MAX,
		     csmp_msg_class_name, "classes", &fs);
	if (c->o->json)
		printf(",\"backends\":[");
	else
		printf("backends (rates over %.1f s):\n", interval);
	for (i = 0; i < c->st->n_be; i++) {
		uint16_t id = c->st->be[i].id;
		double pps = (b[id].packets - a[id].packets) / interval;
		double bps = (b[id].bytes - a[id].bytes) / interval;

		if (c->o->json)
			printf("%s{\"id\":%u,\"packets\":%llu,\"bytes\":%llu,"
			       "\"pps\":%.1f,\"bytes_per_s\":%.1f,\"slots\":%u,"
			       "\"share\":%.6f}",
			       first ? "" : ",", id,
			       (unsigned long long)b[id].packets,
			       (unsigned long long)b[id].bytes, pps, bps,
			       counts[id], (double)counts[id] / CSMP_MAGLEV_M);
		else
			printf("  %-6u %12llu packets %10.1f pkt/s %12.1f B/s  table %6.3f%%\n",
			       id, (unsigned long long)b[id].packets, pps, bps,
			       100.0 * counts[id] / CSMP_MAGLEV_M);
		first = 0;
	}
	if (c->o->json)
		printf("]}\n");
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	free(t);
	free(b);
	free(a);
	return rc;
}

static int lb_main(int argc, char **argv, const struct csmpctl_opts *o)
{
	struct lbctx c = { .state_path = CSMP_LB_STATE_DEFAULT,
			   .pin_dir = CSMP_LB_PIN_ROOT, .o = o };
	struct csmp_lb_lock lk = { -1, -1 };
	char msg[PATH_MAX + 128];
	int i = 1, rc;

	while (i + 1 < argc && argv[i][0] == '-') {
		if (!strcmp(argv[i], "--state"))
			c.state_path = argv[i + 1];
		else if (!strcmp(argv[i], "--pin-dir"))
			c.pin_dir = argv[i + 1];
		else
			break;
		i += 2;
	}
	if (i >= argc)
		return lb_usage(stderr);
	argc -= i;
	argv += i;
	c.st = calloc(1, sizeof(*c.st));
	if (!c.st)
		return 1;
	/* Every command but stats (which sleeps) reads the state and the
	 * maps, most then write both: one holder at a time, or two edits
	 * made at once would each save a state without the other's. sync
	 * runs for long and takes the lock for each of its edits. */
	if (strcmp(argv[0], "stats") && strcmp(argv[0], "sync") &&
	    csmp_lb_lock(&lk, c.state_path, c.pin_dir, LB_LOCK_TIMEOUT_MS, msg,
			 sizeof(msg))) {
		fprintf(stderr, "csmpctl lb: %s\n", msg);
		free(c.st);
		return 1;
	}
	if (!strcmp(argv[0], "attach"))
		rc = cmd_attach(&c, argc, argv);
	else if (!strcmp(argv[0], "detach") && argc == 1)
		rc = cmd_detach(&c);
	else if (!strcmp(argv[0], "backend"))
		rc = cmd_backend(&c, argc, argv);
	else if (!strcmp(argv[0], "table"))
		rc = cmd_table(&c, argc, argv);
	else if (!strcmp(argv[0], "pin"))
		rc = cmd_pin(&c, argc, argv);
	else if (!strcmp(argv[0], "eid"))
		rc = cmd_eid(&c, argc, argv);
	else if (!strcmp(argv[0], "limits"))
		rc = cmd_limits(&c, argc, argv);
	else if (!strcmp(argv[0], "stats"))
		rc = cmd_stats(&c, argc, argv);
	else if (!strcmp(argv[0], "sync"))
		rc = lb_sync(&c, argc, argv);
	else
		rc = lb_usage(stderr);
	csmp_lb_unlock(&lk);
	free(c.st);
	return rc;
}

CSMPCTL_COMMAND_HELP(lb, "lb", "lb [--state F] [--pin-dir D] attach|detach|backend|table|pin|eid|limits|stats|sync",
		     "XDP steering: attach csmp_lb, manage backends, pins, the Maglev table",
		     lb_main, lb_help)
