// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The control socket's commands (ctl/control.c serves the socket):
 * devices (from the registry's reader), stats (stats/), enroll (a device
 * key into the key store and the registry), reload (conf/), and request
 * (ctl/request.c, answered by a worker). Every command runs on the control
 * thread.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "csmpd.h"
#include "ctl/control.h"
#include "eid.h"
#include "names.h"
#include "pbjson.h"
#include "privs.h"
#include "registry/records.h"
#include "stats/process.h"
#include "stats/stats.h"
#include "tlvmsg.h"
#include "arena.h"

struct csmpd_ctl {
	struct csmp_ctl *ctl;
	void *req_ctl;			/* ctl/request.c's "request" */
	struct csmp_arena arena;	/* TLV values decoded for JSON */
	void *arena_buf;
};

/* ---- devices -------------------------------------------------------------- */

struct stream {
	struct csmpd_ctl *c;
	struct csmp_ctl_req *r;
	unsigned int n;
	json_t *one;
};

static int stream_dev(void *arg, const struct csmp_db_dev *dv)
{
	struct stream *s = arg;
	json_t *j = csmp_db_dev_json(dv);
	char *txt;
	int ret;

	if (!j)
		return -ENOMEM;
	txt = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (!txt)
		return -ENOMEM;
	ret = s->n++ ? csmp_ctl_write(s->r, ",", 1) : 0;
	if (!ret)
		ret = csmp_ctl_write(s->r, txt, strlen(txt));
	free(txt);
	return ret;
}

static int one_dev(void *arg, const struct csmp_db_dev *dv)
{
	struct stream *s = arg;

	s->one = csmp_db_dev_json(dv);
	return s->one ? 0 : -ENOMEM;
}

static int tlv_to_json(void *arg, uint32_t tlv, uint32_t idx, const void *v,
		       size_t len, int64_t ts)
{
	struct stream *s = arg;
	json_t *arr = json_object_get(s->one, "tlvs");
	char buf[8192];
	struct csmp_sb sb;
	struct csmp_tlv t = { .type = tlv, .off = 0, .len = (uint32_t)len };
	json_t *val;

	if (!arr) {
		arr = json_array();
		json_object_set_new(s->one, "tlvs", arr);
	}
	csmp_sb_init(&sb, buf, sizeof(buf));
	csmp_arena_reset(&s->c->arena);
	if (tlv == CSMP_TLV_VENDOR) {
		/* Stored with its header: walk it to find the value. */
		struct csmp_tlv_iter it;

		csmp_tlv_init(&it, v, (uint32_t)len);
		if (csmp_tlv_next(&it, &t) != 1)
			return 0;
	}
	csmp_tlv_json(&sb, &s->c->arena, v, &t);
	val = csmp_sb_str(&sb) ? json_loads(csmp_sb_str(&sb), 0, NULL) : NULL;
	json_array_append_new(arr, json_pack("{s:i,s:s,s:i,s:I,s:o}", "id",
					     (int)tlv, "name",
					     csmp_tlv_name(tlv), "index",
					     (int)idx, "updated_ms",
					     (json_int_t)ts, "value",
					     val ? val : json_null()));
	return 0;
}

static int cmd_devices(void *ctx, struct csmp_ctl_req *r, json_t *req)
{
	struct csmpd_daemon *d = ctx;
	json_t *eidj = json_object_get(req, "eid");
	const char *eids = json_string_value(eidj);
	struct stream s = { .c = d->ctl, .r = r };
	struct csmp_db_reader *rd;
	char err[512];
	uint64_t n, eid;
	int ret;

	/* Any "eid" but a string (1, null, []) asked for one device: never
	 * answer it with the whole registry. */
	if (eidj && !eids)
		return csmp_ctl_error(r, "\"eid\" must be a string of 16 hex digits");
	ret = csmpd_registry_reader(d, &rd, err, sizeof(err));
	if (ret == -ENODEV)
		return csmp_ctl_error(r, "no registry: csmpd runs without --db");
	if (ret)
		return csmp_ctl_error(r, "registry not readable: %s", err);
	if (json_is_true(json_object_get(req, "count"))) {
		ret = csmp_db_count(rd, &n);
		if (ret)
			return ret;
		return csmp_ctl_reply(r, json_pack("{s:I}", "count",
						   (json_int_t)n));
	}
	if (eids) {
		if (csmp_eid_parse(eids, &eid))
			return csmp_ctl_error(r, "'%s' is not an EID (16 hex digits)",
					      eids);
		ret = csmp_db_devices(rd, &eid, one_dev, &s);
		if (ret == -ENOENT)
			return csmp_ctl_error(r, "device %s is not registered",
					      eids);
		if (ret)
			return ret;
		csmp_db_tlvs(rd, eid, tlv_to_json, &s);
		return csmp_ctl_reply(r, json_pack("{s:o}", "device", s.one));
	}
	/* Streamed: one line however many devices there are. */
	ret = csmp_ctl_write(r, "{\"ok\":true,\"devices\":[", 22);
	if (!ret)
		ret = csmp_db_devices(rd, NULL, stream_dev, &s);
	if (!ret)
		ret = csmp_ctl_write(r, "]}\n", 3);
	return ret < 0 && ret != -EPIPE ? 0 : 0;
}

/* ---- enroll --------------------------------------------------------------- */

static int cmd_enroll(void *ctx, struct csmp_ctl_req *r, json_t *req)
{
	struct csmpd_daemon *d = ctx;
	const char *eids = json_string_value(json_object_get(req, "eid"));
	const char *pem = json_string_value(json_object_get(req, "pem"));
	uint8_t pub[CSMP_SIG_PUB_MAX];
	struct csmp_key *k, *pk;
	enum csmp_sig_suite suite;
	uint64_t eid;
	int len, ret;

	if (!eids || csmp_eid_parse(eids, &eid))
		return csmp_ctl_error(r, "enroll: \"eid\" must be 16 hex digits");
	if (!pem)
		return csmp_ctl_error(r, "enroll: \"pem\" (a public key) missing");
	ret = csmp_key_from_pem(pem, strlen(pem), &k);
	if (ret)
		return csmp_ctl_error(r, "enroll: not a P-256 or Ed25519 key: %s",
				      strerror(-ret));
	len = csmp_key_public_raw(k, pub, sizeof(pub));
	if (len < 0) {
		csmp_key_put(k);
		return len;
	}
	/* Keep only the public half, whatever the file held. */
	ret = csmp_key_from_raw(csmp_key_suite(k), pub, (size_t)len, &pk);
	csmp_key_put(k);
	if (ret)
		return ret;
	ret = csmpd_keys_put(d, eid, pk);
	if (!ret)
		ret = csmpd_registry_key(d, eid, (int)csmp_key_suite(pk), pub,
					 (size_t)len);
	if (ret == -EBUSY) {
		csmp_key_put(pk);
		return csmp_ctl_error(r, "enroll: registry busy, retry");
	}
	if (ret && ret != -ENODEV) {
		csmp_key_put(pk);
		return ret;
	}
	csmpd_log(CSMPD_NOTICE, "KEY_ENROLLED", "device %s: %s key enrolled",
		  eids, csmp_key_suite(pk) == CSMP_SUITE_P256 ? "P-256" :
								"Ed25519");
	suite = csmp_key_suite(pk);
	csmp_key_put(pk);
	return csmp_ctl_reply(r, json_pack("{s:s,s:s,s:b}", "eid", eids,
					   "suite",
					   suite == CSMP_SUITE_P256 ?
					   "p256" : "ed25519", "persisted",
					   d->reg != NULL));
}

/* ---- stats, reload -------------------------------------------------------- */

static int cmd_stats(void *ctx, struct csmp_ctl_req *r, json_t *req)
{
	json_t *resp = csmpd_stats_json(ctx);

	return resp ? csmp_ctl_reply(r, resp) : -ENOMEM;
}

static int cmd_reload(void *ctx, struct csmp_ctl_req *r, json_t *req)
{
	char err[512];
	int ret = csmpd_conf_reload(ctx, err, sizeof(err));

	csmpd_reload_note(!ret);
	if (ret) {
		/* Logged as a refused SIGHUP is: the operator reads one log. */
		csmpd_log(CSMPD_ERR, "CONFIG_RELOAD",
			  "%s; keeping the running policy (csmpctl reload)", err);
		return csmp_ctl_error(r, "reload refused: %s", err);
	}
	return csmp_ctl_reply(r, json_pack("{s:I}", "policy_generation",
					   (json_int_t)csmpd_policy_generation(ctx)));
}

/* ---- life cycle ------------------------------------------------------------ */

/* Before the privilege drop: the socket is bound where root may write. */
int csmpd_ctl_init(struct csmpd_daemon *d)
{
	const char *path = d->cfg.control_path;
	struct csmpd_ctl *c;
	char err[512], dir[4096], *slash;
	uid_t uid;
	gid_t gid;
	int ret;

	if (!path)
		return 0;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	d->ctl = c;
	c->arena_buf = malloc(CSMPD_ARENA_BYTES);
	if (!c->arena_buf) {
		ret = -ENOMEM;
		goto err;
	}
	csmp_arena_init(&c->arena, c->arena_buf, CSMPD_ARENA_BYTES);
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	/* /run/csmpd on a fresh host: made as systemd's RuntimeDirectory=
	 * would be, the run user's, so that csmpd can still remove its
	 * socket at exit after the privilege drop. */
	if (slash && slash != dir) {
		*slash = 0;
		if (mkdir(dir, 0750) == 0 && geteuid() == 0 &&
		    !csmp_privs_user(d->cfg.user, &uid, &gid, NULL) &&
		    chown(dir, uid, gid) < 0)
			csmpd_log(CSMPD_WARNING, "CONTROL", "chown %s: %s", dir,
				  strerror(errno));
	}
	ret = csmp_ctl_open(path, &c->ctl, err, sizeof(err));
	if (ret) {
		csmpd_log(CSMPD_CRIT, "CONTROL", "%s", err);
		goto err;
	}
	csmp_ctl_register(c->ctl, "devices", cmd_devices, d);
	csmp_ctl_register(c->ctl, "stats", cmd_stats, d);
	csmp_ctl_register(c->ctl, "enroll", cmd_enroll, d);
	csmp_ctl_register(c->ctl, "reload", cmd_reload, d);
	ret = csmpd_req_ctl_register(d, c->ctl, &c->req_ctl);
	if (ret)
		goto err;
	return 0;

err:
	csmpd_ctl_fini(d);
	return ret;
}

int csmpd_ctl_start(struct csmpd_daemon *d)
{
	return d->ctl ? csmp_ctl_start(d->ctl->ctl) : 0;
}

void csmpd_ctl_fini(struct csmpd_daemon *d)
{
	struct csmpd_ctl *c = d->ctl;
	int ret;

	if (!c)
		return;
	ret = csmp_ctl_close(c->ctl);
	if (ret)
		csmpd_log(CSMPD_WARNING, "CONTROL",
			  "control socket %s left behind: %s (the run user "
			  "cannot write its directory; the next csmpd "
			  "replaces it)", d->cfg.control_path, strerror(-ret));
	csmpd_req_ctl_free(c->req_ctl);
	free(c->arena_buf);
	free(c);
	d->ctl = NULL;
}
