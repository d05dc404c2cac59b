// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * csmpctl lb sync --db CONNINFO [--interval S] [--timeout S] [--once]: the
 * LB's backend set from a cluster's nodes table. Every csmpd of the cluster
 * heartbeats its row (node id = backend id, the address the LB tunnels to,
 * its reply-port block, its state); each interval this reads the rows and
 * makes the state's backends exactly the live nodes:
 *   state up, heartbeat younger than --timeout      -> active
 *   state draining, heartbeat younger than --timeout -> draining
 *   anything else (expired, down, no address)         -> no backend
 * The age of a heartbeat is measured by the clock that stamped it (the
 * PostgreSQL server's), not this host's, and the backends get fixed
 * weights: every LB host that reads the same database, with the same
 * Maglev key in its state, computes the same table. A change is made as
 * `lb backend add/remove/drain` make theirs (under the state lock, the
 * preview printed, then saved and the table swapped in one update). When
 * the database cannot be read the table stays as it is: an outage of the
 * database is not a death of every node.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lbcmd.h"
#include "maglev.h"
#include "registry/db.h"

#define SYNC_WEIGHT	100	/* every node alike: the table is the set's */

enum node_status {
	NS_NONE = 0,		/* no row */
	NS_ACTIVE,
	NS_DRAINING,
	NS_EXPIRED,
	NS_DOWN,		/* stopped cleanly, or a state we do not know */
	NS_NO_ADDR,		/* csmpd without --node-addr: not offered */
	NS_BAD_ADDR,
	NS_BAD_ID,
};

static const char *const status_name[] = {
	[NS_NONE] = "gone", [NS_ACTIVE] = "active", [NS_DRAINING] = "draining",
	[NS_EXPIRED] = "expired", [NS_DOWN] = "down",
	[NS_NO_ADDR] = "no address", [NS_BAD_ADDR] = "bad address",
	[NS_BAD_ID] = "bad id",
};

struct sync {
	struct lbctx *c;
	const char *db;
	int64_t interval_ms, timeout_ms;
	bool once;
	/* This round: what each node id is, and the backends it gives. */
	uint8_t status[CSMP_LB_MAX_BACKENDS];
	uint8_t last[CSMP_LB_MAX_BACKENDS];	/* the previous round's */
	struct csmp_lb_be be[CSMP_LB_STATE_MAX_BE];
	unsigned int n_be;
	unsigned int too_many;
	bool db_failing;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int node_cb(void *ctx, const struct csmp_db_node *n)
{
	struct sync *s = ctx;
	struct csmp_lb_be b = { .id = n->node, .weight = SYNC_WEIGHT,
				.port_lo = n->reply_port_lo,
				.port_hi = n->reply_port_hi };
	enum node_status st;

	if (!n->node || n->node >= CSMP_LB_MAX_BACKENDS) {
		fprintf(stderr, "csmpctl lb sync: node %u: not a backend id "
			"(1..%u): ignored\n", n->node, CSMP_LB_MAX_BACKENDS - 1);
		return 0;
	}
	if (n->age_ms >= s->timeout_ms)
		st = NS_EXPIRED;
	else if (!strcmp(n->state, "up"))
		st = NS_ACTIVE;
	else if (!strcmp(n->state, "draining"))
		st = NS_DRAINING;
	else
		st = NS_DOWN;
	if (st <= NS_DRAINING && !n->addr[0])
		st = NS_NO_ADDR;
	else if (st <= NS_DRAINING && csmp_lb_parse_addr(n->addr, &b.addr))
		st = NS_BAD_ADDR;
	s->status[n->node] = (uint8_t)st;
	/* Said once, when it changes, not every interval. */
	if (st != s->last[n->node] && st >= NS_EXPIRED)
		fprintf(stderr, "csmpctl lb sync: node %u: %s (state %s, "
			"heartbeat %.1f s ago%s%s)\n", n->node, status_name[st],
			n->state, n->age_ms / 1e3, n->addr[0] ? ", address " : "",
			n->addr);
	if (st > NS_DRAINING)
		return 0;
	if (s->n_be == CSMP_LB_STATE_MAX_BE) {
		s->too_many++;
		return 0;
	}
	b.state = st == NS_ACTIVE ? CSMP_BE_ACTIVE : CSMP_BE_DRAINING;
	s->be[s->n_be++] = b;
	return 0;
}

static bool be_equal(const struct csmp_lb_be *a, const struct csmp_lb_be *b)
{
	return a->id == b->id && a->state == b->state &&
	       a->weight == b->weight && a->port_lo == b->port_lo &&
	       a->port_hi == b->port_hi &&
	       !memcmp(&a->addr, &b->addr, sizeof(a->addr));
}

/* The state already has exactly this round's backends. */
static bool same_set(struct sync *s, struct csmp_lb_state *st)
{
	unsigned int i;

	if (st->n_be != s->n_be)
		return false;
	for (i = 0; i < s->n_be; i++) {
		const struct csmp_lb_be *b = csmp_lb_state_be(st, s->be[i].id);

		if (!b || !be_equal(b, &s->be[i]))
			return false;
	}
	return true;
}

static const char *be_state(uint32_t st)
{
	return st == CSMP_BE_ACTIVE ? "active" :
	       st == CSMP_BE_DRAINING ? "draining" : "down";
}

/* One line per backend that changes, then the new set. */
static void log_changes(struct sync *s, struct csmp_lb_state *old)
{
	const struct lbctx *c = s->c;
	char a[INET6_ADDRSTRLEN];
	bool first = true;
	unsigned int i;

	for (i = 0; i < old->n_be; i++) {
		uint16_t id = old->be[i].id;
		unsigned int j;

		for (j = 0; j < s->n_be && s->be[j].id != id; j++)
			;
		if (j == s->n_be && !c->o->json)
			printf("backend %u: removed (node %s)\n", id,
			       status_name[s->status[id]]);
	}
	for (i = 0; i < s->n_be; i++) {
		const struct csmp_lb_be *b = &s->be[i];
		const struct csmp_lb_be *was = csmp_lb_state_be(old, b->id);

		if (c->o->json || (was && be_equal(was, b)))
			continue;
		csmp_lb_format_addr(&b->addr, a, sizeof(a));
		printf("backend %u: %s %s at %s, reply ports %u-%u\n", b->id,
		       was ? "now" : "added", be_state(b->state), a,
		       b->port_lo, b->port_hi);
		if (b->port_lo && (b->port_lo < old->reply_lo ||
				   b->port_hi > old->reply_hi))
			fprintf(stderr, "csmpctl lb sync: node %u: reply ports "
				"%u-%u outside the LB's %u-%u: replies to the "
				"rest are not steered\n", b->id, b->port_lo,
				b->port_hi, old->reply_lo, old->reply_hi);
	}
	if (!c->o->json)
		return;
	printf("{\"sync\":true,\"backends\":[");
	for (i = 0; i < s->n_be; i++) {
		csmp_lb_format_addr(&s->be[i].addr, a, sizeof(a));
		printf("%s{\"id\":%u,\"addr\":\"%s\",\"state\":\"%s\","
		       "\"ports\":[%u,%u]}", i ? "," : "", s->be[i].id, a,
		       be_state(s->be[i].state), s->be[i].port_lo,
		       s->be[i].port_hi);
	}
	printf("],\"removed\":[");
	for (i = 0; i < old->n_be; i++) {
		uint16_t id = old->be[i].id;
		unsigned int j;

		for (j = 0; j < s->n_be && s->be[j].id != id; j++)
			;
		if (j < s->n_be)
			continue;
		printf("%s%u", first ? "" : ",", id);
		first = false;
	}
	printf("]}\n");
}

/*
 * One round: the nodes, then (under the lock) the state made equal to
 * them. Returns 0 (applied or nothing to do), 1 when the database could
 * not be read (the table is left alone; the next round tries again), or
 * -errno when the edit failed.
 */
static int sync_round(struct sync *s, struct csmp_db_reader **rd,
		      struct csmp_lb_state *old, uint32_t *live, bool *changed)
{
	struct lbctx *c = s->c;
	struct csmp_lb_lock lk = { -1, -1 };
	char msg[512];
	uint32_t *want = live + CSMP_MAGLEV_M;
	int ret;

	*changed = false;
	memset(s->status, 0, sizeof(s->status));
	s->n_be = 0;
	s->too_many = 0;
	ret = *rd ? 0 : csmp_db_reader_open(s->db, rd, msg, sizeof(msg));
	if (!ret) {
		ret = csmp_db_nodes(*rd, node_cb, s);
		snprintf(msg, sizeof(msg), "reading the nodes: %s",
			 strerror(-ret));
	}
	if (ret) {
		/* Said when it starts, not every interval while it lasts. */
		if (!s->db_failing)
			fprintf(stderr, "csmpctl lb sync: %s; the table stays "
				"as it is\n", msg);
		s->db_failing = true;
		return 1;
	}
	if (s->db_failing)
		fprintf(stderr, "csmpctl lb sync: the nodes are readable again\n");
	s->db_failing = false;
	if (s->too_many)
		fprintf(stderr, "csmpctl lb sync: %u live nodes beyond %u "
			"backends left out\n", s->too_many, CSMP_LB_STATE_MAX_BE);
	memcpy(s->last, s->status, sizeof(s->last));

	ret = csmp_lb_lock(&lk, c->state_path, c->pin_dir, LB_LOCK_TIMEOUT_MS,
			   msg, sizeof(msg));
	if (ret) {
		fprintf(stderr, "csmpctl lb sync: %s\n", msg);
		return ret;
	}
	/* No fresh state: the Maglev key must be the other LB hosts'. */
	ret = lb_load_state(c, false);
	if (ret == -ENOENT)
		fprintf(stderr, "csmpctl lb sync: no LB state in %s: attach "
			"csmp_lb first (with the Maglev key of the other LB "
			"hosts)\n", c->state_path);
	if (ret)
		goto out;
	*old = *c->st;
	/* Before: the live table when loaded, else the file's. */
	if (!lb_maps_present(c) || csmp_lb_read_table(c->pin_dir, live))
		csmp_lb_state_table(c->st, live);
	if (same_set(s, c->st)) {
		/* Same set, but the live table may not be the state's
		 * (csmp_lb reloaded, an apply cut short): write it again. */
		ret = csmp_lb_state_table(c->st, want);
		if (ret || !lb_maps_present(c) ||
		    !memcmp(want, live, sizeof(*want) * CSMP_MAGLEV_M))
			goto out;
	} else {
		memcpy(c->st->be, s->be, sizeof(s->be[0]) * s->n_be);
		c->st->n_be = s->n_be;
	}
	log_changes(s, old);
	ret = lb_report_move(c, live, "preview");
	if (!ret)
		ret = lb_commit(c);
	*changed = !ret;
out:
	csmp_lb_unlock(&lk);
	return ret;
}

static int parse_seconds(const char *opt, const char *v, int64_t *ms)
{
	char *end;
	double d;

	errno = 0;
	d = strtod(v, &end);
	if (end == v || *end || errno || !isfinite(d) || d < 0.01 ||
	    d > 86400) {
		fprintf(stderr, "csmpctl lb sync: --%s: '%s' is not a number "
			"of seconds (0.01 to 86400)\n", opt, v);
		return -EINVAL;
	}
	*ms = (int64_t)(d * 1000 + 0.5);
	return 0;
}

static void sleep_ms(int64_t ms)
{
	struct timespec ts = { .tv_sec = ms / 1000,
			       .tv_nsec = (ms % 1000) * 1000000 };

	/* A signal cuts it short: stop is then set. */
	nanosleep(&ts, NULL);
}

int lb_sync(struct lbctx *c, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "interval", required_argument, NULL, 'i' },
		{ "timeout", required_argument, NULL, 't' },
		{ "once", no_argument, NULL, '1' },
		{ 0 },
	};
	struct sigaction sa = { .sa_handler = on_signal };
	struct csmp_db_reader *rd = NULL;
	struct csmp_lb_state *old = NULL;
	uint32_t *tables = NULL;
	struct sync *s;
	bool changed;
	int opt, ret, rc = 1;

	s = calloc(1, sizeof(*s));
	if (!s)
		return 1;
	s->c = c;
	s->interval_ms = 1000;
	s->timeout_ms = 3000;
	optind = 0;
	while ((opt = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (opt) {
		case 'd':
			s->db = optarg;
			break;
		case 'i':
			if (parse_seconds("interval", optarg, &s->interval_ms))
				goto usage;
			break;
		case 't':
			if (parse_seconds("timeout", optarg, &s->timeout_ms))
				goto usage;
			break;
		case '1':
			s->once = true;
			break;
		default:
			goto usage;
		}
	}
	if (optind != argc || !s->db || !*s->db) {
		fprintf(stderr, "usage: csmpctl lb [--state F] [--pin-dir D] "
			"sync --db CONNINFO [--interval S] [--timeout S] "
			"[--once]\n");
		goto usage;
	}
	old = malloc(sizeof(*old));
	tables = malloc(2 * sizeof(*tables) * CSMP_MAGLEV_M);
	if (!old || !tables)
		goto out;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	/* Output goes to a log or a pipe: each line as it happens. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	do {
		ret = sync_round(s, &rd, old, tables, &changed);
		if (ret < 0)
			break;	/* the LB's side: not the database's */
		if (!ret && !changed && s->once && c->o->json)
			printf("{\"sync\":true,\"changed\":false,"
			       "\"backends\":%u}\n", s->n_be);
		else if (!ret && !changed && s->once)
			printf("in sync: %u backends\n", s->n_be);
		rc = ret ? 1 : 0;
		if (s->once)
			break;
		/* A reader whose reads fail is opened afresh next time. */
		if (ret && rd) {
			csmp_db_reader_close(rd);
			rd = NULL;
		}
		if (!stop)
			sleep_ms(s->interval_ms);
		rc = 0;
	} while (!stop);
out:
	csmp_db_reader_close(rd);
	free(tables);
	free(old);
	free(s);
	return rc;
usage:
	free(s);
	return 2;
}
