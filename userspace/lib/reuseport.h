/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * csmp_reuseport control: load the sk_reuseport program for one group of
 * SO_REUSEPORT UDP sockets (one per worker, all bound to the same
 * address), put each socket at its worker's slot of the group's socket
 * array, attach the program with SO_ATTACH_REUSEPORT_EBPF, and put a
 * restarted worker's new socket back at its slot. csmp_rp_predict says
 * which worker the program picks for a datagram, from the same steer.h
 * functions csmpd shards its registry on: csmpd, the program and the tests
 * agree by construction, and the tests check that they do.
 *
 * Counters (csmp_rp_stats by reason, csmp_rp_steer by steering key,
 * csmp_rp_wcount by worker; per-CPU struct csmp_count) are pinned by name
 * under the pin directory, shared by every group loaded with it.
 */
#ifndef LIBCSMP_REUSEPORT_H
#define LIBCSMP_REUSEPORT_H

#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>
#include <linux/bpf.h>
#include <csmp/wire.h>
#include <csmp/lb.h>

struct csmp_rp;

struct csmp_rp_opts {
	const char *pin_dir;	/* counters pinned here; NULL: not pinned */
	__u64 k0, k1;		/* csmpd's bucket key */
	unsigned int n_workers;	/* 1..CSMP_LB_MAX_WORKERS */
};

/*
 * Load csmp_reuseport for the group fds[0..n_workers) (fds[i] is worker
 * i's socket, bound, SO_REUSEPORT), fill the socket array and attach the
 * program to the group. Returns 0 and *out, or -errno (nothing attached).
 */
int csmp_rp_attach(const struct csmp_rp_opts *o, const int *fds,
		   struct csmp_rp **out);
/* Put worker's (new) socket at its slot; the socket must be in the group. */
int csmp_rp_set_worker(struct csmp_rp *rp, unsigned int worker, int fd);
/*
 * Close the handle. The program stays attached to the group (it holds the
 * socket array) until the group's last socket closes.
 */
void csmp_rp_destroy(struct csmp_rp *rp);

/*
 * The worker csmp_reuseport picks for the UDP payload dg[0..len) sent from
 * src (IPv6, or IPv4 mapped); *key (may be NULL) gets the enum
 * csmp_steer_key that decided.
 */
unsigned int csmp_rp_predict(const struct csmp_rp_config *cfg,
			     const uint8_t *dg, size_t len,
			     const struct csmp_addr *src, __u32 *key);

/* Create a pin directory and its parents (0700), as the loaders do. */
int csmp_pin_dir_make(const char *path);

#endif /* LIBCSMP_REUSEPORT_H */
