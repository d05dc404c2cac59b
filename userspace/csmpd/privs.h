/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Privilege drop (STYLE.md 9: privileged set-up first, then drop, then the
 * hot loop). After its sockets are bound, its BPF loaded and its files
 * opened, csmpd becomes an unprivileged user and keeps only the
 * capabilities it names (normally none). Capabilities are per thread, so
 * this runs before any thread is started; the threads inherit the result.
 */
#ifndef CSMPD_PRIVS_H
#define CSMPD_PRIVS_H

#include <stddef.h>
#include <sys/types.h>
#include <sys/capability.h>

/* The user to run as: name, else "csmpd" if it exists, else "nobody".
 * Returns 0 with uid/gid, or -ENOENT. */
int csmp_privs_user(const char *name, uid_t *uid, gid_t *gid,
		    const char **resolved);

/* Give a file csmpd keeps writing after the drop (database, its WAL, the
 * key directory) to the run user. Missing files are not an error. */
int csmp_privs_chown(const char *path, uid_t uid, gid_t gid);

/*
 * Become uid/gid (no supplementary groups), keep the n capabilities in
 * keep (permitted and effective; none inheritable or ambient), drop every
 * other one from the bounding set, and set no_new_privs. Not root: only
 * the capability part applies. Returns 0 or -errno with err set.
 */
int csmp_privs_drop(uid_t uid, gid_t gid, const cap_value_t *keep,
		    unsigned int n, char *err, size_t errlen);

/* CapEff of the calling thread from /proc/self/status, or -errno. */
int csmp_privs_capeff(unsigned long long *mask);

#endif /* CSMPD_PRIVS_H */
