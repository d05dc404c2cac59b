/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The kfunc ABI between csmp.ko and the BPF programs (csmp_lb, csmp_reuseport,
 * csmp_srcfix). The module registers these for BPF_PROG_TYPE_XDP,
 * BPF_PROG_TYPE_SCHED_CLS and BPF_PROG_TYPE_SK_REUSEPORT; the programs
 * declare them `extern ... __ksym __weak` (CSMP_KFUNC_DECLS below) and call
 * them only when the loader, after finding them in the kernel's BTF, has set
 * the program's `use_kfuncs` .rodata flag. Without the module the same
 * programs run their own BPF parser and SipHash, and both paths must give the
 * same struct csmp_class and the same hash for the same bytes.
 *
 * Calling convention, chosen so one signature works from every program type
 * on 6.1, 6.12 and later kernels:
 *  - the caller copies the UDP payload (at most CSMP_MAX_DGRAM bytes) into a
 *    per-CPU scratch map value and passes that buffer, never a packet
 *    pointer: a packet pointer with a variable length cannot be proven in
 *    bounds by the 6.1 verifier, and the scratch copy works the same from XDP,
 *    TC and sk_reuseport;
 *  - `buf__sz` is the number of valid bytes (the `__sz` suffix makes the
 *    verifier check buf against it); it may be 0;
 *  - the result is written to *out (24 bytes, all scalars, so a pointer to
 *    the caller's stack is accepted as memory of that size);
 *  - the return value is csmp_classify()'s: 0, or -errno with
 *    out->msg_class == CSMP_C_MALFORMED and out->reason the cause.
 *    A payload larger than CSMP_MAX_DGRAM cannot be passed; the caller
 *    classifies it as CSMP_R_COAP_OVERSIZE itself, exactly as csmp_classify
 *    would.
 *
 * bpf_csmp_eid_hash(eid) == csmp_eid_siphash(k0, k1, eid) (siphash.h) under
 * the 128-bit key the loader writes to /sys/module/csmp/parameters/hash_key
 * (32 lowercase hex digits: bytes 0..15 of the key, k0 = LE bytes 0..7,
 * k1 = LE bytes 8..15) -- the same key and byte order as the LB state file.
 *
 * Includes nothing; the includer provides __u8..__u64 and struct csmp_class
 * (classify.h).
 */
#ifndef CSMP_KFUNCS_H
#define CSMP_KFUNCS_H

/* Names, for BTF probing by the loader (btf__find_by_name_kind). */
#define CSMP_KFUNC_CLASSIFY	"bpf_csmp_classify"
#define CSMP_KFUNC_EID_HASH	"bpf_csmp_eid_hash"

/* The module's key parameter (sysfs), written by the loader. */
#define CSMP_KMOD_KEY_PATH	"/sys/module/csmp/parameters/hash_key"

/*
 * The prototypes, as BPF programs declare them. The module defines the
 * same functions with `__bpf_kfunc` (6.12) / plain `noinline` (6.1).
 */
#define CSMP_KFUNC_DECLS                                                       \
	extern int bpf_csmp_classify(const __u8 *buf, __u32 buf__sz,           \
				     struct csmp_class *out) __ksym __weak;    \
	extern __u64 bpf_csmp_eid_hash(__u64 eid) __ksym __weak;

#endif /* CSMP_KFUNCS_H */
