// SPDX-License-Identifier: GPL-2.0-only
/*
 * csmp.ko: an optional accelerator for the csmpd BPF programs
 * (ARCHITECTURE.md §4). It offers two kfuncs, full CSMP classification and
 * the keyed EID hash, to XDP and TC programs (sk_reuseport where the kernel
 * allows). A module whose kfuncs no program can see is worse than none: the
 * loader would find nothing and the operator would believe the accelerator
 * is on. So init checks that the module's BTF really reached the kernel and
 * refuses to load otherwise; 6.1 itself only logs "missing module BTF" and
 * reports success.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/kernfs.h>
#include <linux/kobject.h>
#include <linux/module.h>

#include "csmp.h"

/*
 * The kernel publishes each module's BTF as /sys/kernel/btf/<module> once
 * it has parsed and accepted it (before our init runs). With
 * CONFIG_MODULE_ALLOW_BTF_MISMATCH, which Debian sets, a .ko built against
 * another vmlinux still loads, minus its BTF: this catches that too. kernfs
 * is looked up directly, so it works whether or not sysfs is mounted.
 */
static int csmp_btf_visible(void)
{
	struct kernfs_node *btf_dir, *mod;

	if (!THIS_MODULE->btf_data || !THIS_MODULE->btf_data_size) {
		pr_err("csmp.ko has no .BTF section: rebuild it with the target kernel's vmlinux (scripts/kmod-build.sh)\n");
		return -ENOENT;
	}
	btf_dir = kernfs_find_and_get(kernel_kobj->sd, "btf");
	if (!btf_dir) {
		pr_err("/sys/kernel/btf is missing: kernel without BTF support\n");
		return -ENOENT;
	}
	mod = kernfs_find_and_get(btf_dir, KBUILD_MODNAME);
	kernfs_put(btf_dir);
	if (!mod) {
		pr_err("the kernel rejected csmp.ko's BTF (built against another kernel's vmlinux?): kfuncs would be invisible\n");
		return -ENOENT;
	}
	kernfs_put(mod);
	return 0;
}

static int __init csmp_init(void)
{
	int err;

	err = csmp_btf_visible();
	if (err)
		return err;
	csmp_key_init();
	err = csmp_kfuncs_register();
	if (err)
		return err;
	pr_info("kfuncs bpf_csmp_classify and bpf_csmp_eid_hash registered\n");
	return 0;
}

/*
 * Nothing to undo: kfunc sets have no unregister call; they go with the
 * module's BTF, and a loaded program that calls a kfunc holds a reference
 * on the module, so exit never races a caller.
 */
static void __exit csmp_exit(void)
{
}

module_init(csmp_init);
module_exit(csmp_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("CSMP classification and EID hashing kfuncs for csmpd's BPF programs");
MODULE_AUTHOR("csmpd developers");
