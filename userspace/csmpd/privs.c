// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * Privilege drop through libcap (privs.h). The order matters: the
 * bounding set can only be reduced while CAP_SETPCAP is held, and the
 * kept capabilities survive setuid() only with PR_SET_KEEPCAPS, after
 * which they must be raised into the effective set again.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "csmpd.h"
#include "privs.h"

int csmp_privs_user(const char *name, uid_t *uid, gid_t *gid,
		    const char **resolved)
{
	struct passwd *pw = NULL;

	if (name)
		pw = getpwnam(name);
	else if (!(pw = getpwnam("csmpd")))
		pw = getpwnam("nobody");
	if (!pw)
		return -ENOENT;
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	if (resolved)
		*resolved = name ? name : (strcmp(pw->pw_name, "csmpd") ?
					   "nobody" : "csmpd");
	return 0;
}

int csmp_privs_chown(const char *path, uid_t uid, gid_t gid)
{
	if (chown(path, uid, gid) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

static bool kept(cap_value_t c, const cap_value_t *keep, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (keep[i] == c)
			return true;
	return false;
}

int csmp_privs_drop(uid_t uid, gid_t gid, const cap_value_t *keep,
		    unsigned int n, char *err, size_t errlen)
{
	cap_value_t c;
	cap_t caps;
	int ret = 0;

	if (geteuid() == 0) {
		for (c = 0; c <= CAP_LAST_CAP; c++)
			if (!kept(c, keep, n) && cap_drop_bound(c) < 0 &&
			    errno != EINVAL) {
				ret = -errno;
				snprintf(err, errlen, "cannot drop capability %d "
					 "from the bounding set: %s", c,
					 strerror(errno));
				return ret;
			}
		if (n && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) {
			ret = -errno;
			snprintf(err, errlen, "PR_SET_KEEPCAPS: %s",
				 strerror(errno));
			return ret;
		}
		if (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 ||
		    setresuid(uid, uid, uid) < 0) {
			ret = -errno;
			snprintf(err, errlen, "cannot become uid %u gid %u: %s",
				 (unsigned int)uid, (unsigned int)gid,
				 strerror(errno));
			return ret;
		}
	}
	caps = cap_init();	/* all clear */
	if (!caps) {
		snprintf(err, errlen, "cap_init: %s", strerror(errno));
		return -ENOMEM;
	}
	if (n && (cap_set_flag(caps, CAP_PERMITTED, (int)n, keep, CAP_SET) ||
		  cap_set_flag(caps, CAP_EFFECTIVE, (int)n, keep, CAP_SET))) {
		ret = -EINVAL;
		snprintf(err, errlen, "cap_set_flag: %s", strerror(errno));
		goto out;
	}
	if (cap_set_proc(caps) < 0) {
		ret = -errno;
		snprintf(err, errlen, "cap_set_proc: %s", strerror(errno));
		goto out;
	}
	cap_reset_ambient();
	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0 ||
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		ret = -errno;
		snprintf(err, errlen, "prctl: %s", strerror(errno));
	}
out:
	cap_free(caps);
	return ret;
}

int csmp_privs_capeff(unsigned long long *mask)
{
	char line[256];
	FILE *f = fopen("/proc/thread-self/status", "re");
	int ret = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", mask) == 1) {
			ret = 0;
			break;
		}
	fclose(f);
	return ret;
}

/* The daemon's drop, once its sockets and files are open and before any
 * thread exists: to --user (or csmpd, or nobody) with no capability, the
 * registry's files given to that user first. Not root: nothing to do. */
int csmpd_privs_drop(struct csmpd_daemon *d)
{
	static const char *const sfx[] = { "", "-wal", "-shm" };
	const struct csmpd_config *cfg = &d->cfg;
	const char *user = NULL;
	char err[512], path[4200];
	unsigned int i;
	uid_t uid;
	gid_t gid;
	int ret;

	if (geteuid() != 0) {
		unsigned long long eff = 0;

		/* Started as its user with capabilities for the start only
		 * (systemd's AmbientCapabilities= for steer-workers): they
		 * go now, as root's do. */
		if (csmp_privs_capeff(&eff) || !eff)
			return 0;
		ret = csmp_privs_drop(getuid(), getgid(), NULL, 0, err,
				      sizeof(err));
		if (ret) {
			csmpd_log(CSMPD_CRIT, "PRIVS", "%s", err);
			return ret;
		}
		csmpd_log(CSMPD_INFO, "PRIVS",
			  "capabilities %llx of the start dropped", eff);
		return 0;
	}
	ret = csmp_privs_user(cfg->user, &uid, &gid, &user);
	if (ret) {
		csmpd_log(CSMPD_CRIT, "PRIVS", "user %s does not exist",
			  cfg->user ? cfg->user : "nobody");
		return ret;
	}
	/* What csmpd keeps writing after the drop. */
	for (i = 0; cfg->db_path && i < 3; i++) {
		snprintf(path, sizeof(path), "%s%s", cfg->db_path, sfx[i]);
		csmp_privs_chown(path, uid, gid);
	}
	ret = csmp_privs_drop(uid, gid, NULL, 0, err, sizeof(err));
	if (ret) {
		csmpd_log(CSMPD_CRIT, "PRIVS", "%s", err);
		return ret;
	}
	csmpd_log(CSMPD_INFO, "PRIVS", "running as %s (uid %u), no capabilities",
		  user, (unsigned int)uid);
	return 0;
}
