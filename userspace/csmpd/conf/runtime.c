// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The configuration as the running daemon uses it: the device policy the
 * command line and the file made (conf/options.c), published to the
 * workers (an RCU-style snapshot, config.h, policy.c), the read
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

void csmpd_conf_free(struct csmpd_daemon *d)
{
	struct csmpd_conf_state *c = d->conf;

	csmpd_conf_reader_stop(d->cfg.reader);
	d->cfg.reader = NULL;
	csmpd_config_free(&d->cfg);
	if (!c)
		return;
	pthread_mutex_destroy(&c->reload_lock);
	free(c);
	d->conf = NULL;
}

/* The first snapshot: the policy the command line and the file made. */
int csmpd_policy_init(struct csmpd_daemon *d)
{
	struct csmpd_conf_state *c = state_new(d);
	struct csmp_policy *p = d->cfg.policy;
	int ret;

	if (!c)
		return -ENOMEM;
	if (p->allowlist)
		csmpd_log(CSMPD_INFO, "ALLOWLIST", "%zu EIDs allowed, %zu groups",
			  p->n_allow, p->n_groups);
	ret = csmp_policy_ref_init(&c->pol, d->n_workers, p);
	if (ret)
		return ret;
	d->cfg.policy = NULL;	/* the reference's now */
	c->pol_ready = true;
	return 0;
}

void csmpd_policy_fini(struct csmpd_daemon *d)
{
	struct csmpd_conf_state *c = d->conf;

	if (c && c->pol_ready) {
		csmp_policy_ref_fini(&c->pol);
		c->pol_ready = false;
	}
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

/* May eid register? Open, or listed (allow, allow-file, a group). */
bool csmpd_policy_allowed(struct csmpd_worker *w, __u64 eid)
{
	const struct csmp_policy *p = w->policy;

	return !p || csmp_policy_allowed(p, eid);
}

/* The config group (GroupAssign type 1) of a registering device: its
 * policy group's, else [policy]'s config-group; false for none. */
bool csmpd_policy_config_group(struct csmpd_worker *w, __u64 eid, __u32 *id)
{
	const struct csmp_policy *p = w->policy;

	*id = p ? csmp_policy_config_group(p, eid) : 0;
	return *id != 0;
}

const char *csmpd_policy_group_name(struct csmpd_worker *w, __u64 eid)
{
	const struct csmp_group *g = w->policy ?
				     csmp_policy_group(w->policy, eid) : NULL;

	return g ? g->name : "";
}

/* "open" or "allowlist", of the published policy: read under the lock
 * that a reload holds until the snapshot it replaced is freed. */
const char *csmpd_policy_devices(struct csmpd_daemon *d)
{
	struct csmpd_conf_state *o = d->conf;
	const char *s;

	pthread_mutex_lock(&o->reload_lock);
	s = atomic_load(&o->pol.cur)->allowlist ? "allowlist" : "open";
	pthread_mutex_unlock(&o->reload_lock);
	return s;
}

__u64 csmpd_policy_generation(struct csmpd_daemon *d)
{
	return atomic_load(&d->conf->pol.cur)->generation;
}

__u64 csmpd_conf_reloads(struct csmpd_daemon *d)
{
	return atomic_load(&d->conf->reloads);
}

/* Parse the command line and the config file again (through the config
 * reader, which reads what root can when csmpd started as root) and
 * publish their policy. Returns 0 or -errno with the reason in err
 * (FILE:LINE for a bad file). */
int csmpd_conf_reload(struct csmpd_daemon *d, char *err, size_t errlen)
{
	struct csmpd_conf_state *o = d->conf;
	struct csmp_policy *p;
	int ret;

	pthread_mutex_lock(&o->reload_lock);
	ret = csmpd_conf_reader_policy(d->cfg.reader, &p, err, errlen);
	if (ret) {
		atomic_fetch_add(&o->reload_errors, 1);
		pthread_mutex_unlock(&o->reload_lock);
		return ret;
	}
	ret = csmp_policy_publish(&o->pol, p, POLICY_WAIT_MS);
	if (ret == -ETIMEDOUT)
		csmpd_log(CSMPD_WARNING, "CONFIG_RELOAD",
			  "a worker did not pass a batch boundary in %u ms: "
			  "the old policy is kept in memory", POLICY_WAIT_MS);
	atomic_fetch_add(&o->reloads, 1);
	pthread_mutex_unlock(&o->reload_lock);
	csmpd_log(CSMPD_NOTICE, "CONFIG_RELOAD",
		  "%s: policy generation %llu: %zu groups, devices %s, "
		  "uplink-signature %s",
		  d->cfg.config_path ? d->cfg.config_path : "command line",
		  (unsigned long long)p->generation, p->n_groups,
		  p->allowlist ? "allowlist" : "open",
		  csmp_sigpol_name(p->uplink_sig));
	return 0;
}
