/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * csmp_srcfix control: load the TC egress program for one interface (its
 * L2 length from the device type), pin its maps by name under the pin
 * directory (so every interface shares one address table and one set of
 * counters), attach it to the interface's clsact egress hook with a fixed
 * handle and priority (so a later `detach` from another process finds it),
 * and edit the address table: head-end source -> VIP and CSMP ports.
 */
#ifndef LIBCSMP_SRCFIX_H
#define LIBCSMP_SRCFIX_H

#include <stdint.h>
#include <linux/types.h>
#include <linux/bpf.h>
#include <csmp/wire.h>
#include <csmp/lb.h>

/* The tc filter's identity on the clsact egress hook. */
#define CSMP_SRCFIX_TC_HANDLE	0xc5f1
#define CSMP_SRCFIX_TC_PRIO	0xc5

/* Load, pin the maps under pin_dir, attach to ifindex's egress. */
int csmp_srcfix_attach(const char *pin_dir, unsigned int ifindex);
/* Remove the filter (the clsact qdisc and the pinned maps stay). */
int csmp_srcfix_detach(unsigned int ifindex);

/* Rewrite UDP from `from` (IPv6 or IPv4 mapped, same family as vip). */
int csmp_srcfix_set(const char *pin_dir, const struct csmp_addr *from,
		    const struct csmp_srcfix_cfg *cfg);
/* Forget `from`; -ENOENT when it was not there. */
int csmp_srcfix_del(const char *pin_dir, const struct csmp_addr *from);

#endif /* LIBCSMP_SRCFIX_H */
