/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The client side of csmpd's control socket (JSON lines over a Unix
 * stream socket), shared by csmpctl and csmp-request: one request, one
 * answer line, bounded in time.
 */
#ifndef CSMP_CTL_CLIENT_H
#define CSMP_CTL_CLIENT_H

#include <jansson.h>
#include <stddef.h>

/*
 * Connect to path, send req, read one answer line. Returns 0 with *resp
 * set (the caller checks its "ok"), or -errno with a message in err.
 * timeout_ms bounds the whole exchange.
 */
int csmp_ctl_call(const char *path, json_t *req, json_t **resp,
		  unsigned int timeout_ms, char *err, size_t errlen);

#endif /* CSMP_CTL_CLIENT_H */
