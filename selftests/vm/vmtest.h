/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Layouts shared by the vm suite's BPF programs (progs/kfunc_test.bpf.c)
 * and the guest test binary (csmp_vmtest.c). Test-only: nothing here is
 * project ABI. The includer provides __u32/__u64 and struct csmp_class.
 */
#ifndef CSMP_VMTEST_H
#define CSMP_VMTEST_H

/* Larger than CSMP_MAX_DGRAM so the oversize path is exercised too. */
#define VT_MAX_PAYLOAD		2112

#define VT_MAP_RESULT		csmp_vt_res
#define VT_MAP_BUF		csmp_vt_buf
#define VT_MAP_COUNT		csmp_vt_count

struct vt_result {
	__s32 ret;		/* the kfunc's return value */
	__u32 len;		/* payload bytes passed */
	struct csmp_class c;
	__u64 hash;		/* vt_xdp_hash */
	__u64 runs;
};
_Static_assert(sizeof(struct vt_result) == 48, "vt_result layout");

enum vt_counter {
	VT_C_NOT_CSMP	= 0,
	VT_C_CSMP	= 1,
	VT_C_MALFORMED	= 2,
	VT_C_BAD_VERSION = 3,	/* pktgen's payload starts 0xbe: version 2 */
	VT_C__MAX	= 4,
};

#endif /* CSMP_VMTEST_H */
