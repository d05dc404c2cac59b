// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* csmpctl's calls to csmpd's control socket (ctl_common.h). */
#include <stdio.h>

#include "ctl_client.h"
#include "ctl_common.h"

int csmpctl_call(const struct csmpctl_opts *o, json_t *req, json_t **resp)
{
	char err[512];
	int ret;

	ret = csmp_ctl_call(o->control, req, resp, CSMPCTL_TIMEOUT_MS, err,
			    sizeof(err));
	json_decref(req);
	if (ret) {
		fprintf(stderr, "csmpctl: %s\n", err);
		return 1;
	}
	if (!json_is_true(json_object_get(*resp, "ok"))) {
		const char *e = json_string_value(json_object_get(*resp, "error"));

		fprintf(stderr, "csmpctl: %s\n", e ? e : "csmpd refused");
		json_decref(*resp);
		*resp = NULL;
		return 1;
	}
	return 0;
}
