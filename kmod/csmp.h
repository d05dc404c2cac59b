/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Internal interface between the parts of csmp.ko: the kfunc set
 * (csmp_kfuncs.c), the SipHash key behind the hash_key module parameter
 * (csmp_key.c) and module init with its self-probe (csmp_main.c). Also the
 * compatibility layer over the kfunc API, which changed between Debian's
 * 6.1 headers and 6.12: one source builds against both.
 */
#ifndef CSMP_KMOD_H
#define CSMP_KMOD_H

#include <linux/btf.h>
#include <linux/btf_ids.h>
#include <linux/types.h>

/*
 * 6.1 has BTF_SET8_START/END only; 6.9+ requires kfunc sets to be tagged
 * with BTF_KFUNCS_START (registration of an untagged set fails there).
 */
#ifndef BTF_KFUNCS_START
#define BTF_KFUNCS_START(name)	BTF_SET8_START(name)
#define BTF_KFUNCS_END(name)	BTF_SET8_END(name)
#endif

/* 6.1 predates __bpf_kfunc: kfuncs only need to survive as real symbols. */
#ifndef __bpf_kfunc
#define __bpf_kfunc		__used noinline
#endif

/* Kfuncs are global functions without a prototype in any header. */
#ifndef __bpf_kfunc_start_defs
#define __bpf_kfunc_start_defs()					\
	__diag_push();							\
	__diag_ignore_all("-Wmissing-declarations",			\
			  "kfuncs are declared in BTF, not in a header");\
	__diag_ignore_all("-Wmissing-prototypes",			\
			  "kfuncs are declared in BTF, not in a header")
#define __bpf_kfunc_end_defs()	__diag_pop()
#endif

/*
 * Register the kfunc set for every program type that can use it; fails
 * with -ENOENT when resolve_btfids left the set's BTF ids unresolved.
 */
int csmp_kfuncs_register(void);

/* The 128-bit SipHash key (two little-endian words, siphash.h). */
void csmp_key_get(u64 *k0, u64 *k1);
void csmp_key_init(void);

#endif /* CSMP_KMOD_H */
