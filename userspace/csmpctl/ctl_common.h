/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * What the csmpctl commands that talk to csmpd share: one call over the
 * control socket that prints csmpd's error and returns an exit status.
 */
#ifndef CSMPCTL_CTL_COMMON_H
#define CSMPCTL_CTL_COMMON_H

#include <jansson.h>

#include "csmpctl.h"

#define CSMPCTL_TIMEOUT_MS 10000

/* Send req (stolen) to csmpd. Returns 0 with *resp (ok:true), else prints
 * the reason on stderr and returns the exit status (1). */
int csmpctl_call(const struct csmpctl_opts *o, json_t *req, json_t **resp);

#endif /* CSMPCTL_CTL_COMMON_H */
