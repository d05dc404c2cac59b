/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The config file as the running daemon holds it (conf/runtime.c): what
 * the file said at start, and the policy snapshot the workers read, with
 * its reload. Only the rooms that consume file-only settings (the
 * registry's commit tuning) look inside.
 */
#ifndef CSMPD_CONF_RUNTIME_H
#define CSMPD_CONF_RUNTIME_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "conf/config.h"

struct csmpd_conf_state {
	struct csmp_conf conf;		/* the file at start */
	bool have_conf;			/* --config given */
	const char *path;
	pthread_mutex_t reload_lock;	/* one reload at a time */
	struct csmp_policy_ref pol;	/* what the workers read */
	bool pol_ready;
	_Atomic uint64_t reloads, reload_errors;
};

#endif /* CSMPD_CONF_RUNTIME_H */
