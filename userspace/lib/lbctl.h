/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The LB control library: the persisted LB state (hash key, VIPs, backends,
 * reply-port blocks, pins, limits), loading and pinning csmp_lb, attaching
 * it to an interface, writing the state into the pinned maps and swapping
 * the Maglev table atomically. csmpctl lb is a thin front end over this;
 * csmpd and the tests use the same calls, so every LB host that loads the
 * same state file computes the same table.
 *
 * State file: one directive per line, '#' comments, errors reported as
 * FILE:LINE: message. Written by csmp_lb_state_save, never by hand in
 * normal operation, but readable and editable:
 *   key 00112233445566778899aabbccddeeff
 *   iface eth0
 *   mode encap
 *   vip 2001:db8::53
 *   lb-addr 2001:db8:1::1
 *   ports 61628 61624
 *   reply-ports 40000 49999
 *   eid-rate 200 3000          (milli-registrations/s, burst in milli)
 *   global-rate 50000000 100000000
 *   learn on
 *   backend 1 2001:db8:2::1 active 100 40000 40999
 *   pin 0A0027FFFE3B2AB2 1
 */
#ifndef LIBCSMP_LBCTL_H
#define LIBCSMP_LBCTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <net/if.h>
#include <linux/types.h>
#include <linux/bpf.h>
#include <csmp/wire.h>
#include <csmp/lb.h>

#define CSMP_LB_STATE_DEFAULT	"/var/lib/csmpd/lb.state"
#define CSMP_LB_STATE_MAX_BE	256
#define CSMP_LB_STATE_MAX_PINS	4096

struct csmp_lb_be {
	uint16_t id;
	struct in6_addr addr;
	uint32_t state;		/* enum csmp_backend_state */
	uint32_t weight;
	uint16_t port_lo;	/* reply-port block, 0 0 when none */
	uint16_t port_hi;
};

struct csmp_lb_pin {
	uint64_t eid;
	uint16_t backend;
};

struct csmp_lb_state {
	uint8_t key[16];	/* SipHash key: k0 = LE bytes 0..7 */
	char iface[IF_NAMESIZE];
	uint32_t mode;		/* enum csmp_lb_mode */
	unsigned int n_vips;
	struct in6_addr vips[CSMP_LB_MAX_VIPS];	/* IPv4 as mapped */
	struct in6_addr lb_addr;
	uint16_t port, port_alt;
	uint16_t reply_lo, reply_hi;
	uint32_t eid_rate, eid_burst;
	uint32_t global_rate, global_burst;
	bool learn;
	uint32_t generation;
	unsigned int n_be;
	struct csmp_lb_be be[CSMP_LB_STATE_MAX_BE];
	unsigned int n_pins;
	struct csmp_lb_pin pins[CSMP_LB_STATE_MAX_PINS];
};

/* A fresh state: random key, default ports and limits, no backends. */
int csmp_lb_state_init(struct csmp_lb_state *st);
/*
 * Read a state file. -ENOENT when absent; -EINVAL with "FILE:LINE: why"
 * in err for a bad line. Nothing is partially applied.
 */
int csmp_lb_state_load(const char *path, struct csmp_lb_state *st,
		       char *err, size_t errlen);
/*
 * Read and write refuse a state file that is a symbolic link, not a
 * regular file, not owned by the effective uid or writable by group or
 * others (-ELOOP, -EINVAL, -EPERM, "PATH: why" in err): it holds the
 * Maglev key, and its directory may be world-writable.
 *
 * Write atomically, creating the directory: an unpredictable temporary
 * name in the same directory created with O_EXCL, mode 0600, fsync, rename
 * over the state, fsync of the directory. -errno with "PATH: why" in err.
 */
int csmp_lb_state_save(const char *path, const struct csmp_lb_state *st,
		       char *err, size_t errlen);

/*
 * The lock around every read-modify-write of the state file and of the
 * pinned maps (csmpctl lb holds it for each command): flock(2) on the
 * state file's directory (the file itself is replaced by rename, so it
 * cannot carry the lock), then on pin_dir when it exists, as xdp-tools'
 * prog_lock_acquire() locks its pin directory; always in that order.
 * Waits at most timeout_ms for another holder; -EWOULDBLOCK then, with
 * the reason in err. Creates the state file's directory.
 */
struct csmp_lb_lock {
	int state_dir_fd;
	int pin_dir_fd;
};
int csmp_lb_lock(struct csmp_lb_lock *lk, const char *state_path,
		 const char *pin_dir, unsigned int timeout_ms, char *err,
		 size_t errlen);
/* Release both (a lock never taken, all -1, is fine). */
void csmp_lb_unlock(struct csmp_lb_lock *lk);

void csmp_lb_key_words(const uint8_t key[16], uint64_t *k0, uint64_t *k1);
struct csmp_lb_be *csmp_lb_state_be(struct csmp_lb_state *st, uint16_t id);

/* The Maglev table the state gives (active backends only). */
int csmp_lb_state_table(const struct csmp_lb_state *st, uint32_t *table);

/* An address string (IPv6 or IPv4) into the 16-byte map form. */
int csmp_lb_parse_addr(const char *s, struct in6_addr *a);
void csmp_lb_format_addr(const struct in6_addr *a, char *out, size_t len);

/*
 * Load csmp_lb, pin its maps under pin_dir (reusing ones already pinned
 * there), pin the program as pin_dir/csmp_lb_prog. use_kfuncs: 1 on, 0 off,
 * -1 probe for csmp.ko. Returns the program fd (>= 0) or -errno.
 */
int csmp_lb_load(const char *pin_dir, int use_kfuncs, bool *kfuncs_used);
/* Attach the pinned program to ifindex (native XDP; generic if asked). */
int csmp_lb_attach(const char *pin_dir, unsigned int ifindex, bool generic);
int csmp_lb_detach(unsigned int ifindex);

/*
 * Write the state into the pinned maps: configuration, VIPs, backends,
 * reply ports, pins, then the Maglev table (built off to the side and
 * swapped in with one map update). *moved (may be NULL) gets the number
 * of table slots that changed.
 */
int csmp_lb_apply(const char *pin_dir, const struct csmp_lb_state *st,
		  unsigned int *moved);

/* Read the live table (the half of csmp_table in use) into table[CSMP_MAGLEV_M]. */
int csmp_lb_read_table(const char *pin_dir, uint32_t *table);

/* Open a pinned map by its lb.h name; returns the fd or -errno. */
int csmp_lb_map_fd(const char *pin_dir, const char *name);

/* Sum a per-CPU csmp_count array entry. */
int csmp_lb_count_sum(int fd, uint32_t idx, struct csmp_count *out);

/* Write the hash key to csmp.ko (-ENOENT when the module is absent). */
int csmp_lb_kmod_set_key(const uint8_t key[16]);

/* Probe BTF for csmp.ko's kfuncs: 1 present, 0 absent. */
int csmp_lb_kfuncs_present(void);

#endif /* LIBCSMP_LBCTL_H */
