/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The configuration as the running daemon holds it (conf/runtime.c): the
 * policy snapshot the workers read, with its reload. Everything else of
 * the command line and the file is in struct csmpd_config.
 */
#ifndef CSMPD_CONF_RUNTIME_H
#define CSMPD_CONF_RUNTIME_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "conf/config.h"

struct csmpd_conf_state {
	pthread_mutex_t reload_lock;	/* one reload at a time */
	struct csmp_policy_ref pol;	/* what the workers read */
	bool pol_ready;
	_Atomic uint64_t reloads, reload_errors;
};

#endif /* CSMPD_CONF_RUNTIME_H */
