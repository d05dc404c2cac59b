// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * A stored device as JSON, the one form that csmpd's devices command and
 * csmpctl devices --db (which reads a cluster's registry itself, without a
 * csmpd) both print.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "registry/db.h"

json_t *csmp_db_dev_json(const struct csmp_db_dev *dv)
{
	char eid[17], addr[INET6_ADDRSTRLEN] = "";

	csmp_db_eid_str(dv->eid, eid);
	inet_ntop(AF_INET6, &dv->addr.sin6_addr, addr, sizeof(addr));
	return json_pack("{s:s,s:s,s:s,s:i,s:s,s:I,s:I,s:I,s:I,s:I,s:s,s:s,s:s,"
			 "s:i,s:I}",
			 "eid", eid, "session", dv->session, "addr", addr,
			 "port", ntohs(dv->addr.sin6_port), "group", dv->group,
			 "first_registration_ms", (json_int_t)dv->first_reg_ms,
			 "last_registration_ms", (json_int_t)dv->last_reg_ms,
			 "last_seen_ms", (json_int_t)dv->last_seen_ms,
			 "registrations", (json_int_t)dv->registrations,
			 "reports", (json_int_t)dv->reports,
			 "hw_model", dv->hw_model, "hw_serial", dv->hw_serial,
			 "fw_version", dv->fw_version, "owner", (int)dv->owner,
			 "epoch", (json_int_t)dv->epoch);
}

static int add_dev(void *ctx, const struct csmp_db_dev *d)
{
	json_t *j = csmp_db_dev_json(d);

	return j && !json_array_append_new(ctx, j) ? 0 : -ENOMEM;
}

int csmp_db_devices_answer(const char *target, bool count, const char *eid,
			   json_t **out, char *err, size_t errlen)
{
	struct csmp_db_reader *rd;
	json_t *arr = NULL;
	uint64_t n, e;
	int ret;

	if (eid && csmp_db_eid_parse(eid, &e)) {
		snprintf(err, errlen, "'%s' is not an EID (16 hex digits)", eid);
		return -EINVAL;
	}
	ret = csmp_db_reader_open(target, &rd, err, errlen);
	if (ret)
		return ret;
	if (count) {
		ret = csmp_db_count(rd, &n);
		*out = ret ? NULL : json_pack("{s:I}", "count", (json_int_t)n);
	} else {
		arr = json_array();
		ret = arr ? csmp_db_devices(rd, eid ? &e : NULL, add_dev, arr) :
			    -ENOMEM;
		if (!ret)
			*out = eid ? json_pack("{s:O}", "device",
					       json_array_get(arr, 0)) :
				     json_pack("{s:O}", "devices", arr);
		json_decref(arr);
	}
	csmp_db_reader_close(rd);
	if (!ret && !*out)
		ret = -ENOMEM;
	if (ret)
		snprintf(err, errlen, "%s", ret == -ENOENT ?
			 "device is not registered" : strerror(-ret));
	return ret;
}
