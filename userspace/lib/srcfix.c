// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * csmp_srcfix control (see srcfix.h): device type -> L2 length, load with
 * pinned maps, clsact egress attach and detach through libbpf's bpf_tc_*
 * API, and the address table.
 */
#include <errno.h>
#include <stdarg.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "srcfix.h"
#include "lbctl.h"
#include "reuseport.h"
#include "csmp_srcfix.skel.h"

/* Bytes before the network header on egress, from the device type. */
static int l2_len_of(unsigned int ifindex)
{
	struct ifreq ifr = { 0 };
	int fd, err = 0;

	if (!if_indextoname(ifindex, ifr.ifr_name))
		return -errno;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (ioctl(fd, SIOCGIFHWADDR, &ifr))
		err = -errno;
	close(fd);
	if (err)
		return err;
	switch (ifr.ifr_hwaddr.sa_family) {
	case ARPHRD_ETHER:
	case ARPHRD_LOOPBACK:
		return 14;
	case ARPHRD_NONE:	/* tun, wireguard */
	case ARPHRD_TUNNEL:	/* ipip */
	case ARPHRD_TUNNEL6:	/* ip6tnl */
	case ARPHRD_SIT:
		return 0;
	default:
		return -EOPNOTSUPP;
	}
}

/* The expected "no qdisc yet" of the first attach is not worth a line. */
static int quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return 0;
}

int csmp_srcfix_attach(const char *pin_dir, unsigned int ifindex)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo, .pin_root_path = pin_dir);
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = (int)ifindex,
		    .attach_point = BPF_TC_EGRESS);
	LIBBPF_OPTS(bpf_tc_opts, tc, .handle = CSMP_SRCFIX_TC_HANDLE,
		    .priority = CSMP_SRCFIX_TC_PRIO,
		    .flags = BPF_TC_F_REPLACE);
	libbpf_print_fn_t old_print;
	struct csmp_srcfix *skel;
	int err, l2;

	l2 = l2_len_of(ifindex);
	if (l2 < 0)
		return l2;
	err = csmp_pin_dir_make(pin_dir);
	if (err)
		return err;
	skel = csmp_srcfix__open_opts(&oo);
	if (!skel)
		return -errno;
	skel->rodata->l2_len = (__u32)l2;
	err = csmp_srcfix__load(skel);
	if (err)
		goto out_destroy;
	tc.prog_fd = bpf_program__fd(skel->progs.csmp_srcfix);
	/* The clsact qdisc may be there already (ours or another tool's):
	 * create it only when attaching says it is missing. */
	old_print = libbpf_set_print(quiet);
	err = bpf_tc_attach(&hook, &tc);
	libbpf_set_print(old_print);
	if (err == -EINVAL || err == -ENOENT) {
		err = bpf_tc_hook_create(&hook);
		if (err && err != -EEXIST)
			goto out_destroy;
		err = bpf_tc_attach(&hook, &tc);
	}
out_destroy:
	/* Attached, the filter holds the program; the maps stay pinned. */
	csmp_srcfix__destroy(skel);
	return err;
}

int csmp_srcfix_detach(unsigned int ifindex)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = (int)ifindex,
		    .attach_point = BPF_TC_EGRESS);
	LIBBPF_OPTS(bpf_tc_opts, tc, .handle = CSMP_SRCFIX_TC_HANDLE,
		    .priority = CSMP_SRCFIX_TC_PRIO);

	return bpf_tc_detach(&hook, &tc);
}

static int is_v4(const struct csmp_addr *a)
{
	static const uint8_t pfx[12] = { [10] = 0xff, [11] = 0xff };

	return !memcmp(a->a, pfx, sizeof(pfx));
}

int csmp_srcfix_set(const char *pin_dir, const struct csmp_addr *from,
		    const struct csmp_srcfix_cfg *cfg)
{
	int fd, err = 0;

	if (is_v4(from) != is_v4(&cfg->vip) || !cfg->port)
		return -EINVAL;
	fd = csmp_lb_map_fd(pin_dir, CSMP_STR(CSMP_MAP_SRCFIX));
	if (fd < 0)
		return fd;
	if (bpf_map_update_elem(fd, from, cfg, BPF_ANY))
		err = -errno;
	close(fd);
	return err;
}

int csmp_srcfix_del(const char *pin_dir, const struct csmp_addr *from)
{
	int fd, err = 0;

	fd = csmp_lb_map_fd(pin_dir, CSMP_STR(CSMP_MAP_SRCFIX));
	if (fd < 0)
		return fd;
	if (bpf_map_delete_elem(fd, from))
		err = -errno;
	close(fd);
	return err;
}
