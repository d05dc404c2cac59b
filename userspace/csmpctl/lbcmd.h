/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * What the csmpctl lb commands share (lb.c, sync.c): the command's context
 * and the steps of an edit. An edit runs under csmp_lb_lock(): load the
 * state, change it, print what moves, then lb_commit() saves it and writes
 * the pinned maps (the Maglev table swapped in one update).
 */
#ifndef CSMPCTL_LBCMD_H
#define CSMPCTL_LBCMD_H

#include <stdbool.h>
#include <stdint.h>

#include "csmpctl.h"
#include "lbctl.h"

/* How long an edit waits for the others to finish (each writes a table
 * of 65537 slots: a queue of a few dozen takes seconds on a busy host). */
#define LB_LOCK_TIMEOUT_MS	60000

struct lbctx {
	const char *state_path;
	const char *pin_dir;
	const struct csmpctl_opts *o;
	struct csmp_lb_state *st;
	bool preview;
	bool generic;
};

/* Read the state file into c->st (create: a fresh state when absent).
 * Prints the reason on failure. */
int lb_load_state(struct lbctx *c, bool create);
/* csmp_lb's maps are pinned in c->pin_dir. */
bool lb_maps_present(const struct lbctx *c);
/* Print how many slots and known devices move from old to c->st's table
 * ("what": the JSON key and text prefix). */
int lb_report_move(struct lbctx *c, const uint32_t *old, const char *what);
/* Bump the generation, save c->st and, when csmp_lb is loaded, apply it. */
int lb_commit(struct lbctx *c);

/* csmpctl lb sync (sync.c); argv[0] is "sync". Returns an exit status. */
int lb_sync(struct lbctx *c, int argc, char **argv);

#endif /* CSMPCTL_LBCMD_H */
