/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * csmpd's configuration: the command line and the INI config file, both
 * generated from the one option table conf/options.def (options.c), and
 * the device policy the [policy] and [group NAME] sections carry
 * (policy.c): the allowlist and the device groups with their uplink
 * signature policy and config group.
 *
 * The policy is an immutable snapshot. A reload parses the command line
 * and the file again and publishes a new snapshot with one pointer swap;
 * workers pick it up at their next batch and the old one is freed once
 * every worker has moved on. A bad file leaves the running policy alone.
 *
 * Self-contained (csmpd.h includes it for the policy types): struct
 * csmpd_config is csmpd.h's, seen here only through pointers.
 */
#ifndef CSMPD_CONF_CONFIG_H
#define CSMPD_CONF_CONFIG_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CSMP_CONF_NAME_MAX	32

struct csmpd_config;

enum csmp_sigpol {
	CSMP_SIGPOL_OFF		= 0,	/* signatures ignored */
	CSMP_SIGPOL_OPTIONAL	= 1,	/* verified when present */
	CSMP_SIGPOL_REQUIRED	= 2,	/* unsigned or invalid: dropped */
};

const char *csmp_sigpol_name(enum csmp_sigpol p);

/* db-sync: the order of its names in options.def. */
enum csmpd_db_sync {
	CSMPD_DB_SYNC_NORMAL	= 0,
	CSMPD_DB_SYNC_FULL	= 1,
};

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
	uint32_t config_group;		/* devices in no group; 0: none */
	uint32_t sig_skew;		/* clock skew tolerated, seconds */
	uint64_t generation;		/* set when published */
};

/* ---- options (options.c) --------------------------------------------------- */

/*
 * argv -> c: defaults, then the file of --config (or --check-config FILE),
 * then every other option of argv over it; c->policy is the policy they
 * make. Returns 0 with *done false: run; 0 with *done true: --help,
 * --version or a good --check-config printed its answer, exit 0; -errno:
 * the reason was printed on stderr ("FILE:LINE: ..." for the file), exit
 * 2. c is left empty on every path but "run"; free it with
 * csmpd_conf_free. Opens nothing but the config and allow files.
 */
int csmpd_conf_init(struct csmpd_config *c, int argc, char **argv, bool *done);
void csmpd_config_free(struct csmpd_config *c);

/*
 * The policy argv (as csmpd_conf_init got it) makes now: the file is read
 * again, [csmpd] options are parsed and checked but not applied. Returns 0
 * and *out, or -errno with the reason in err.
 */
int csmpd_conf_policy(int argc, char **argv, struct csmp_policy **out,
		      char *err, size_t errlen);

/* `csmpd --help`, from the option table. */
void csmpd_conf_usage(FILE *f);

/* The option table, for its tests and documentation checks. */
struct csmpd_conf_option {
	const char *name;
	const char *section;		/* "csmpd" or "policy" */
	const char *def;		/* as written; NULL: none */
	const char *arg;		/* ENUM: the names, '|'-separated */
	unsigned long min, max;		/* ranged: UINT, POW2, TLVS, PORTS */
	bool ranged;
	bool enumerated;		/* one of arg's names */
	bool boolean;
	bool value_optional;		/* on the command line */
	bool is_file;			/* the value names a file read now */
};
size_t csmpd_conf_n_options(void);
void csmpd_conf_option(size_t i, struct csmpd_conf_option *out);
/* Option i's value in c as it would be written ("" when unset). */
int csmpd_conf_value(const struct csmpd_config *c, size_t i, char *buf,
		     size_t len);

/*
 * Reloads re-read files that may be readable by root only (a 0600
 * config, an allow file in a 0700 directory) while csmpd runs as an
 * unprivileged user: started as root before the privilege drop, the
 * reader is a process that keeps root's file permissions (and no
 * capability) and answers each request with the policy it parsed from
 * csmpd's own argv; it takes no path or other input from csmpd. Not
 * root, or without --config: no process, the reload parses in place.
 */
struct csmpd_conf_reader;
int csmpd_conf_reader_start(int argc, char **argv,
			    struct csmpd_conf_reader **out);
int csmpd_conf_reader_policy(struct csmpd_conf_reader *r,
			     struct csmp_policy **out, char *err,
			     size_t errlen);
void csmpd_conf_reader_stop(struct csmpd_conf_reader *r);

/* ---- the policy (policy.c) --------------------------------------------------- */

void csmp_policy_free(struct csmp_policy *p);

/* Policy look-ups (any thread, on a snapshot it holds). */
const struct csmp_group *csmp_policy_group(const struct csmp_policy *p,
					   uint64_t eid);
bool csmp_policy_allowed(const struct csmp_policy *p, uint64_t eid);
enum csmp_sigpol csmp_policy_uplink(const struct csmp_policy *p,
				    uint64_t eid);
/* The config group to assign eid, 0: none. */
uint32_t csmp_policy_config_group(const struct csmp_policy *p, uint64_t eid);

/* One byte string <-> a policy (the reader's answer). */
int csmp_policy_pack(const struct csmp_policy *p, void **buf, size_t *len);
int csmp_policy_unpack(const void *buf, size_t len, struct csmp_policy **out);

/* ---- the published policy (RCU-style) ---------------------------------------- */

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

#endif /* CSMPD_CONF_CONFIG_H */
