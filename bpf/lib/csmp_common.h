/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What every steering program includes: UAPI packet headers, libbpf's BPF
 * helpers, the shared CSMP headers of include/csmp/ and the optional kfunc
 * declarations. vmlinux.h is not needed: the programs touch only UAPI
 * structures.
 */
#ifndef CSMP_BPF_COMMON_H
#define CSMP_BPF_COMMON_H

#include <stdbool.h>
#include <linux/types.h>
#include <linux/errno.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include <csmp/wire.h>
#include <csmp/reason.h>
#include <csmp/classify.h>
#include <csmp/siphash.h>
#include <csmp/steer.h>
#include <csmp/lb.h>
#include <csmp/lb_parse.h>
#include <csmp/kfuncs.h>

CSMP_KFUNC_DECLS

/* Fail the build, not the verifier, when a layout drifts. */
_Static_assert(sizeof(struct csmp_class) == 24, "kfunc ABI");

#endif /* CSMP_BPF_COMMON_H */
