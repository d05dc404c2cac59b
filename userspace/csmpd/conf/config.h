/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * csmpd's configuration file (INI; csmpd.conf.example documents every
 * option and its default) and the device policy it carries: the device
 * allowlist and the device groups with their uplink signature policy.
 *
 * The policy is an immutable snapshot. SIGHUP parses the file again and
 * publishes a new snapshot with one pointer swap; workers pick it up at
 * their next batch and the old one is freed once every worker has moved
 * on (quiescent-state reclamation: a worker announces, each time it reads
 * the pointer, that it no longer holds the previous one). Traffic never
 * waits for a reload, and a bad file leaves the running policy untouched.
 */
#ifndef CSMPD_CONFIG_H
#define CSMPD_CONFIG_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CSMP_CONF_MAX_LISTEN	8
#define CSMP_CONF_NAME_MAX	32

enum csmp_sigpol {
	CSMP_SIGPOL_OFF		= 0,	/* signatures ignored */
	CSMP_SIGPOL_OPTIONAL	= 1,	/* verified when present */
	CSMP_SIGPOL_REQUIRED	= 2,	/* unsigned or invalid: dropped */
};

const char *csmp_sigpol_name(enum csmp_sigpol p);

/* An EID or an EID prefix: eid & mask == value. */
struct csmp_eid_match {
	uint64_t value;
	uint64_t mask;
};

struct csmp_group {
	char name[CSMP_CONF_NAME_MAX];
	uint32_t config_group;		/* GroupAssign id (type 1); 0: none */
	enum csmp_sigpol uplink_sig;
	struct csmp_eid_match *members;
	size_t n_members;
};

struct csmp_policy {
	bool allowlist;			/* devices = allowlist */
	uint64_t *allow;		/* sorted, unique */
	size_t n_allow;
	struct csmp_group *groups;	/* file order: first match wins */
	size_t n_groups;
	enum csmp_sigpol uplink_sig;	/* devices in no group */
	uint32_t sig_skew;		/* clock skew tolerated, seconds */
	uint64_t generation;		/* set when published */
};

/* Which [csmpd] options the file set (flags override only those). */
enum csmp_conf_bit {
	CSMP_CONF_LISTEN, CSMP_CONF_WORKERS, CSMP_CONF_IO, CSMP_CONF_BACKEND_ID,
	CSMP_CONF_DB, CSMP_CONF_DB_SYNC, CSMP_CONF_COMMIT_INTERVAL,
	CSMP_CONF_COMMIT_BATCH, CSMP_CONF_NMS_KEY, CSMP_CONF_DEVICE_KEYS,
	CSMP_CONF_CONTROL, CSMP_CONF_METRICS, CSMP_CONF_EVENTS, CSMP_CONF_USER,
	CSMP_CONF_LOG_LEVEL, CSMP_CONF_REPORT_INTERVAL, CSMP_CONF_SIG_LIFETIME,
	CSMP_CONF_ACK_AFTER_COMMIT,
	CSMP_CONF_REPLY_PORTS,
	CSMP_CONF__MAX,
};

struct csmp_conf {
	uint64_t set;			/* 1 << enum csmp_conf_bit */
	char *listen[CSMP_CONF_MAX_LISTEN];
	unsigned int n_listen;
	unsigned int workers;
	char *io;			/* auto | uring | mmsg */
	unsigned int backend_id;
	unsigned int reply_lo, reply_hi;	/* reply-ports, 0 0: ephemeral */
	char *db;
	bool db_sync_full;		/* default true: an fsync per commit */
	bool ack_after_commit;		/* default true: answer once durable */
	unsigned int commit_interval_ms;
	unsigned int commit_batch;
	char *nms_key;
	char *device_keys;		/* directory of enrolled device keys */
	char *control;
	char *metrics;			/* ADDR:PORT */
	char *events;			/* PATH or "-" */
	char *user;
	int log_level;
	unsigned int report_interval;
	unsigned int sig_lifetime;
	struct csmp_policy *policy;
};

/*
 * Parse FILE. On success fills c (free with csmp_conf_free) and returns 0;
 * on failure returns -errno with "FILE:LINE: message" in err and leaves c
 * empty. Defaults are filled for everything the file does not set.
 */
int csmp_conf_load(const char *path, struct csmp_conf *c, char *err,
		   size_t errlen);
void csmp_conf_free(struct csmp_conf *c);
void csmp_policy_free(struct csmp_policy *p);

/* The defaults (csmpd.conf.example shows the same values). */
#define CSMP_DEF_DB			"/var/lib/csmpd/registry.db"
#define CSMP_DEF_NMS_KEY		"/etc/csmpd/nms-key.pem"
#define CSMP_DEF_DEVICE_KEYS		"/etc/csmpd/device-keys"
#define CSMP_DEF_CONTROL		"/run/csmpd/control.sock"
#define CSMP_DEF_COMMIT_INTERVAL_MS	50
#define CSMP_DEF_COMMIT_BATCH		1024
#define CSMP_DEF_SIG_SKEW		30
#define CSMP_DEF_LOG_LEVEL		6

/* Policy look-ups (any thread, on a snapshot it holds). */
const struct csmp_group *csmp_policy_group(const struct csmp_policy *p,
					   uint64_t eid);
bool csmp_policy_allowed(const struct csmp_policy *p, uint64_t eid);
enum csmp_sigpol csmp_policy_uplink(const struct csmp_policy *p,
				    uint64_t eid);

/* ---- the published policy (RCU-style) ---------------------------------- */

struct csmp_policy_slot {
	_Alignas(64) _Atomic uint64_t seen;	/* grace period seen */
};

struct csmp_policy_ref {
	_Atomic(struct csmp_policy *) cur;
	_Atomic uint64_t gp;
	unsigned int n_readers;
	struct csmp_policy_slot *readers;
};

/* Takes ownership of initial. */
int csmp_policy_ref_init(struct csmp_policy_ref *r, unsigned int n_readers,
			 struct csmp_policy *initial);
void csmp_policy_ref_fini(struct csmp_policy_ref *r);

/*
 * Reader `i` (a worker, once per batch): returns the current snapshot,
 * valid until the same reader's next call or csmp_policy_idle().
 */
struct csmp_policy *csmp_policy_get(struct csmp_policy_ref *r,
				    unsigned int i);
/* Reader `i` holds no snapshot (blocked in I/O, or exiting). */
void csmp_policy_idle(struct csmp_policy_ref *r, unsigned int i);

/*
 * Publish p (taking ownership) and free the previous snapshot once every
 * reader has passed a quiescent point. Returns 0, or -ETIMEDOUT when a
 * reader did not move on within timeout_ms: the old snapshot is then
 * leaked rather than freed under a reader's feet.
 */
int csmp_policy_publish(struct csmp_policy_ref *r, struct csmp_policy *p,
			unsigned int timeout_ms);

#endif /* CSMPD_CONFIG_H */
