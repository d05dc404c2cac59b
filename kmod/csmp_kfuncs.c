// SPDX-License-Identifier: GPL-2.0-only
/*
 * The kfuncs (ABI in include/csmp/kfuncs.h): bpf_csmp_classify runs the
 * freestanding classifier of include/csmp/classify.h, the very source
 * libcsmp compiles, and bpf_csmp_eid_hash the SipHash-2-4 of
 * include/csmp/siphash.h under the key held by this module. Both are pure
 * functions of their arguments (and the key), safe in any context a BPF
 * program runs in; they take no locks other than the key's seqlock.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bpf.h>
#include <linux/errno.h>
#include <linux/module.h>
#include <linux/types.h>

#include "csmp.h"

#include "csmp/classify.h"
#include "csmp/siphash.h"
#include "csmp/kfuncs.h"

__bpf_kfunc_start_defs();

/*
 * Classify buf__sz bytes of UDP payload into *out. The verifier has checked
 * buf against buf__sz and out against sizeof(struct csmp_class) (a struct
 * of scalars), so both are valid kernel memory of that size.
 */
__bpf_kfunc int bpf_csmp_classify(const u8 *buf, u32 buf__sz,
				  struct csmp_class *out)
{
	return csmp_classify(buf, buf__sz, out);
}

/* SipHash-2-4 of the 8-byte big-endian EID under the module's key. */
__bpf_kfunc u64 bpf_csmp_eid_hash(u64 eid)
{
	u64 k0, k1;

	csmp_key_get(&k0, &k1);
	return csmp_eid_siphash(k0, k1, eid);
}

__bpf_kfunc_end_defs();

BTF_KFUNCS_START(csmp_kfunc_ids)
BTF_ID_FLAGS(func, bpf_csmp_classify)
BTF_ID_FLAGS(func, bpf_csmp_eid_hash)
BTF_KFUNCS_END(csmp_kfunc_ids)

static const struct btf_kfunc_id_set csmp_kfunc_set = {
	.owner	= THIS_MODULE,
	.set	= &csmp_kfunc_ids,
};

/*
 * Program types that may call the kfuncs. sk_reuseport is optional: no
 * kernel up to 6.12 maps BPF_PROG_TYPE_SK_REUSEPORT to a kfunc hook, so
 * registration fails there with -EINVAL and csmp_reuseport keeps to its own
 * BPF code (its loader probes, like every other). It must come first: a
 * failed registration frees the module's whole kfunc table (6.1
 * btf_populate_kfunc_set, "goto end"), which would silently drop the XDP
 * and TC sets registered before it.
 */
static const struct {
	enum bpf_prog_type type;
	const char *name;
	bool required;
} csmp_prog_types[] = {
	{ BPF_PROG_TYPE_SK_REUSEPORT,	"sk_reuseport",	false },
	{ BPF_PROG_TYPE_XDP,		"xdp",		true },
	{ BPF_PROG_TYPE_SCHED_CLS,	"tc",		true },
};

int csmp_kfuncs_register(void)
{
	unsigned int i;
	int err;

	/*
	 * resolve_btfids fills in the ids at build time; zeros mean the .ko
	 * was built without it and no program could ever find the kfuncs.
	 */
	if (csmp_kfunc_ids.cnt != 2) {
		pr_err("kfunc set has %u entries, expected 2: built without resolve_btfids?\n",
		       csmp_kfunc_ids.cnt);
		return -ENOENT;
	}
	for (i = 0; i < csmp_kfunc_ids.cnt; i++) {
		if (!csmp_kfunc_ids.pairs[i].id) {
			pr_err("kfunc set entry %u has no BTF id: built without resolve_btfids?\n",
			       i);
			return -ENOENT;
		}
	}

	for (i = 0; i < ARRAY_SIZE(csmp_prog_types); i++) {
		err = register_btf_kfunc_id_set(csmp_prog_types[i].type,
						&csmp_kfunc_set);
		if (!err)
			continue;
		if (csmp_prog_types[i].required) {
			pr_err("cannot register kfuncs for %s programs: %d\n",
			       csmp_prog_types[i].name, err);
			return err;
		}
		pr_info("kfuncs not offered to %s programs on this kernel (%d)\n",
			csmp_prog_types[i].name, err);
	}
	return 0;
}
