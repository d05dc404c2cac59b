// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * --steer-workers: csmp_reuseport on every listening group. Called by
 * csmpd_sockets_open once the group's sockets exist (sock.c) and the
 * bucket key is final (main.c's start-up order), it loads the sk_reuseport
 * program with that key, puts worker i's socket at slot i and attaches the program to the
 * group, so each datagram arrives on the worker that owns its device
 * (include/csmp/steer.h) and csmpd_route finds nothing to hand off. The
 * program then lives as long as the group: nothing is kept here.
 */
#include <errno.h>
#include <string.h>
#include <sys/statfs.h>
#include <linux/magic.h>

#include "csmpd.h"
#include "reuseport.h"

/* The pin directory, or its nearest existing parent, is on a bpffs. */
static int on_bpffs(const char *dir)
{
	char p[256];
	struct statfs fs;
	char *slash;

	if (snprintf(p, sizeof(p), "%s", dir) >= (int)sizeof(p))
		return -ENAMETOOLONG;
	for (;;) {
		if (!statfs(p, &fs))
			return fs.f_type == BPF_FS_MAGIC ? 0 : -ENOTDIR;
		if (errno != ENOENT)
			return -errno;
		slash = strrchr(p, '/');
		if (!slash || slash == p)
			return -ENOTDIR;
		*slash = 0;
	}
}

int csmpd_steer_group(struct csmpd_daemon *d, unsigned int listen,
		      const int *fds, unsigned int n)
{
	const char *pin = d->cfg.steer_pin ? d->cfg.steer_pin :
					     CSMP_LB_PIN_ROOT;
	struct csmp_rp_opts o = {
		.pin_dir = pin,
		.k0 = d->bucket_key[0],
		.k1 = d->bucket_key[1],
		.n_workers = n,
	};
	struct csmp_rp *rp;
	int err;

	err = on_bpffs(pin);
	if (err) {
		csmpd_log(CSMPD_ERR, "STEER_FAIL",
			  "--steer-workers: %s is not on a bpf filesystem (mount -t bpf bpf /sys/fs/bpf): %s",
			  pin, strerror(-err));
		return err;
	}
	err = csmp_rp_attach(&o, fds, &rp);
	if (err) {
		csmpd_log(CSMPD_ERR, "STEER_FAIL",
			  "csmp_reuseport on %s: %s", d->cfg.listen[listen].text,
			  strerror(-err));
		return err;
	}
	csmp_rp_destroy(rp);
	csmpd_log(CSMPD_INFO, "STEER",
		  "csmp_reuseport on %s: %u workers, counters in %s",
		  d->cfg.listen[listen].text, n, pin);
	return 0;
}
