// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The config file as the running daemon uses it: its settings applied to
 * struct csmpd_config before the command-line flags, the device policy
 * published to the workers (an RCU-style snapshot, config.h), the read
 * bracket the worker loop opens and closes around each batch, the policy
 * look-ups the protocol makes inside it, and the reload (SIGHUP,
 * `csmpctl reload`).
 *
 * A worker holds a snapshot only between csmpd_policy_enter() and
 * csmpd_policy_leave(); the worker loop (server/worker.c) is the only
 * caller of both, so a worker that waits in I/O never holds one and a
 * reload never waits for an idle worker.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "csmpd.h"
#include "conf/runtime.h"

#define POLICY_WAIT_MS	2000

static struct csmpd_conf_state *state_new(struct csmpd_daemon *d)
{
	struct csmpd_conf_state *c = d->conf;

	if (c)
		return c;
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	pthread_mutex_init(&c->reload_lock, NULL);
	d->conf = c;
	return c;
}

/* Read --config FILE into d->cfg, before the flags are applied over it.
 * Prints FILE:LINE on error; returns -errno. */
int csmpd_conf_file(struct csmpd_daemon *d, const char *path)
{
	struct csmpd_config *cfg = &d->cfg;
	struct csmpd_conf_state *o = state_new(d);
	struct csmp_conf *c;
	char err[512];
	unsigned int i;
	int ret;

	if (!o)
		return -ENOMEM;
	c = &o->conf;
	ret = csmp_conf_load(path, c, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "%%CSMP-2-CONFIG: %s\n", err);
		return ret;
	}
	o->have_conf = true;
	o->path = path;
#define FILESET(bit) (c->set & (1ull << (bit)))
	if (FILESET(CSMP_CONF_LISTEN)) {
		cfg->n_listen = 0;
		for (i = 0; i < c->n_listen; i++) {
			if (csmpd_parse_listen(c->listen[i],
					       &cfg->listen[cfg->n_listen])) {
				fprintf(stderr, "%%CSMP-2-CONFIG: %s: listen: '%s' is not ADDR:PORT\n",
					path, c->listen[i]);
				return -EINVAL;
			}
			cfg->n_listen++;
		}
	}
	if (FILESET(CSMP_CONF_WORKERS))
		cfg->workers = c->workers;
	if (FILESET(CSMP_CONF_IO))
		cfg->io = !strcmp(c->io, "uring") ? CSMPD_IO_URING :
			  !strcmp(c->io, "mmsg") ? CSMPD_IO_MMSG : CSMPD_IO_AUTO;
	if (FILESET(CSMP_CONF_BACKEND_ID))
		cfg->backend_id = (__u16)c->backend_id;
	if (FILESET(CSMP_CONF_REPLY_PORTS)) {
		cfg->reply.lo = (__u16)c->reply_lo;
		cfg->reply.hi = (__u16)c->reply_hi;
	}
	if (FILESET(CSMP_CONF_LOG_LEVEL))
		cfg->log_level = c->log_level;
	if (FILESET(CSMP_CONF_REPORT_INTERVAL))
		cfg->report_interval = c->report_interval;
	if (FILESET(CSMP_CONF_SIG_LIFETIME))
		cfg->sig_lifetime = c->sig_lifetime;
	if (FILESET(CSMP_CONF_METRICS))
		cfg->metrics_addr = c->metrics;
	if (FILESET(CSMP_CONF_EVENTS))
		cfg->events_path = c->events;
	if (FILESET(CSMP_CONF_USER))
		cfg->user = c->user;
	cfg->ack_after_commit = c->ack_after_commit;
	if (FILESET(CSMP_CONF_NMS_KEY) || access(c->nms_key, R_OK) == 0)
		cfg->nms_key_path = c->nms_key;
	/* With a config file, the documented defaults of these apply. */
	cfg->db_path = c->db;
	cfg->control_path = c->control;
	cfg->device_keys = c->device_keys;
	if (c->policy->allowlist)
		cfg->policy = CSMPD_POLICY_ALLOWLIST;
	return 0;
}

void csmpd_conf_free(struct csmpd_daemon *d)
{
	struct csmpd_conf_state *c = d->conf;

	if (!c)
		return;
	csmp_conf_free(&c->conf);
	pthread_mutex_destroy(&c->reload_lock);
	free(c);
	d->conf = NULL;
}

/* The first snapshot: the file's policy, or an open one without a file;
 * and the --allow file, which holds beside it. */
int csmpd_policy_init(struct csmpd_daemon *d)
{
	struct csmpd_conf_state *c = state_new(d);
	struct csmp_policy *p;
	int ret;

	if (!c)
		return -ENOMEM;
	if (d->cfg.allow_path) {
		ret = csmpd_allow_load(&d->allow, d->cfg.allow_path);
		if (ret)
			return ret;
		csmpd_log(CSMPD_INFO, "ALLOWLIST", "%zu EIDs allowed (%s)",
			  d->allow.n, d->cfg.allow_path);
	}
	if (c->have_conf) {
		p = c->conf.policy;
		c->conf.policy = NULL;
	} else {
		p = calloc(1, sizeof(*p));
		if (!p) {
			ret = -ENOMEM;
			goto err_allow;
		}
		p->sig_skew = CSMP_DEF_SIG_SKEW;
	}
	ret = csmp_policy_ref_init(&c->pol, d->n_workers, p);
	if (ret) {
		csmp_policy_free(p);
		goto err_allow;
	}
	c->pol_ready = true;
	return 0;

err_allow:
	csmpd_allow_free(&d->allow);
	return ret;
}

void csmpd_policy_fini(struct csmpd_daemon *d)
{
	struct csmpd_conf_state *c = d->conf;

	if (c && c->pol_ready) {
		csmp_policy_ref_fini(&c->pol);
		c->pol_ready = false;
	}
	csmpd_allow_free(&d->allow);
}

void csmpd_policy_enter(struct csmpd_worker *w)
{
	w->policy = csmp_policy_get(&w->d->conf->pol, w->idx);
}

void csmpd_policy_leave(struct csmpd_worker *w)
{
	w->policy = NULL;
	csmp_policy_idle(&w->d->conf->pol, w->idx);
}

/* Under --policy allowlist: listed in --allow, or by the file's policy. */
bool csmpd_policy_allowed(struct csmpd_worker *w, __u64 eid)
{
	const struct csmp_policy *p = w->policy;

	if (csmpd_allow_has(&w->d->allow, eid))
		return true;
	return p && p->allowlist && csmp_policy_allowed(p, eid);
}

/* The config group (GroupAssign type 1) of a registering device: its
 * policy group's, else --group; false for none. */
bool csmpd_policy_config_group(struct csmpd_worker *w, __u64 eid, __u32 *id)
{
	const struct csmp_policy *p = w->policy;
	const struct csmp_group *g = p ? csmp_policy_group(p, eid) : NULL;

	if (g && g->config_group) {
		*id = g->config_group;
		return true;
	}
	*id = w->d->cfg.group_id;
	return w->d->cfg.group_set;
}

const char *csmpd_policy_group_name(struct csmpd_worker *w, __u64 eid)
{
	const struct csmp_group *g = w->policy ?
				     csmp_policy_group(w->policy, eid) : NULL;

	return g ? g->name : "";
}

__u64 csmpd_policy_generation(struct csmpd_daemon *d)
{
	return atomic_load(&d->conf->pol.cur)->generation;
}

__u64 csmpd_conf_reloads(struct csmpd_daemon *d)
{
	return atomic_load(&d->conf->reloads);
}

/* Re-read the config file's policy and publish it. Returns 0 or -errno
 * with the reason in err (FILE:LINE for a bad file). */
int csmpd_conf_reload(struct csmpd_daemon *d, char *err, size_t errlen)
{
	struct csmpd_conf_state *o = d->conf;
	struct csmp_conf c;
	struct csmp_policy *p;
	int ret;

	if (!o->path) {
		snprintf(err, errlen, "csmpd was started without --config");
		return -ENOENT;
	}
	pthread_mutex_lock(&o->reload_lock);
	ret = csmp_conf_load(o->path, &c, err, errlen);
	if (ret) {
		atomic_fetch_add(&o->reload_errors, 1);
		pthread_mutex_unlock(&o->reload_lock);
		return ret;
	}
	p = c.policy;
	c.policy = NULL;
	csmp_conf_free(&c);
	ret = csmp_policy_publish(&o->pol, p, POLICY_WAIT_MS);
	if (ret == -ETIMEDOUT)
		csmpd_log(CSMPD_WARNING, "CONFIG_RELOAD",
			  "a worker did not pass a batch boundary in %u ms: "
			  "the old policy is kept in memory", POLICY_WAIT_MS);
	atomic_fetch_add(&o->reloads, 1);
	pthread_mutex_unlock(&o->reload_lock);
	csmpd_log(CSMPD_NOTICE, "CONFIG_RELOAD",
		  "%s: policy generation %llu: %zu groups, devices %s, "
		  "uplink-signature %s", o->path,
		  (unsigned long long)p->generation, p->n_groups,
		  p->allowlist ? "allowlist" : "open",
		  csmp_sigpol_name(p->uplink_sig));
	return 0;
}
