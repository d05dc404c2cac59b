// SPDX-License-Identifier: GPL-2.0-only
/*
 * The 128-bit SipHash key of bpf_csmp_eid_hash, set by the loader through
 * the write-only module parameter hash_key (CSMP_KMOD_KEY_PATH: 32 hex
 * digits, bytes 0..15 of the key, the LB state file's encoding). The key is
 * a secret that spreads chosen DeviceIDs over the Maglev table, so it cannot
 * be read back. Until the loader writes it the key is random, never a
 * guessable constant. Readers run in XDP/TC context on any CPU while a
 * writer may replace the key: a seqlock gives them both words of one key.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/errno.h>
#include <linux/kernel.h>
#include <linux/moduleparam.h>
#include <linux/random.h>
#include <linux/seqlock.h>
#include <linux/string.h>

#include "csmp.h"

#define CSMP_KEY_BYTES	16

static DEFINE_SEQLOCK(csmp_key_lock);
static u64 csmp_k0, csmp_k1;
static bool csmp_key_set;

void csmp_key_get(u64 *k0, u64 *k1)
{
	unsigned int seq;

	do {
		seq = read_seqbegin(&csmp_key_lock);
		*k0 = csmp_k0;
		*k1 = csmp_k1;
	} while (read_seqretry(&csmp_key_lock, seq));
}

static u64 csmp_le64(const u8 *p)
{
	u64 v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* Writers are process context; readers may be softirq on the same CPU. */
static void csmp_key_store(const u8 key[CSMP_KEY_BYTES])
{
	u64 k0 = csmp_le64(key), k1 = csmp_le64(key + 8);

	write_seqlock_bh(&csmp_key_lock);
	csmp_k0 = k0;
	csmp_k1 = k1;
	csmp_key_set = true;
	write_sequnlock_bh(&csmp_key_lock);
}

/* A random key until the loader sets one (also at insmod hash_key=...). */
void csmp_key_init(void)
{
	u8 key[CSMP_KEY_BYTES];

	get_random_bytes(key, sizeof(key));
	write_seqlock_bh(&csmp_key_lock);
	if (!csmp_key_set) {
		csmp_k0 = csmp_le64(key);
		csmp_k1 = csmp_le64(key + 8);
	}
	write_sequnlock_bh(&csmp_key_lock);
	memzero_explicit(key, sizeof(key));
}

static int csmp_key_param_set(const char *val, const struct kernel_param *kp)
{
	u8 key[CSMP_KEY_BYTES];
	size_t len = strlen(val);

	/* echo adds a newline; accept exactly one. */
	if (len && val[len - 1] == '\n')
		len--;
	if (len != 2 * CSMP_KEY_BYTES) {
		pr_err("hash_key: expected %d hex digits, got %zu characters\n",
		       2 * CSMP_KEY_BYTES, len);
		return -EINVAL;
	}
	if (hex2bin(key, val, CSMP_KEY_BYTES)) {
		pr_err("hash_key: not hexadecimal\n");
		return -EINVAL;
	}
	csmp_key_store(key);
	memzero_explicit(key, sizeof(key));
	return 0;
}

/* The key is secret: reading the parameter is refused. */
static int csmp_key_param_get(char *buf, const struct kernel_param *kp)
{
	return -EPERM;
}

static const struct kernel_param_ops csmp_key_param_ops = {
	.set	= csmp_key_param_set,
	.get	= csmp_key_param_get,
};

module_param_cb(hash_key, &csmp_key_param_ops, NULL, 0200);
MODULE_PARM_DESC(hash_key,
		 "SipHash-2-4 key of bpf_csmp_eid_hash: 32 hex digits (write-only)");
