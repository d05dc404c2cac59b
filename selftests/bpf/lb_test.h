/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Shared by the csmp_lb BPF_PROG_TEST_RUN tests: a private network
 * namespace with a veth device and permanent neighbours (so bpf_fib_lookup
 * gives fixed MAC addresses), csmp_lb loaded from its skeleton with its maps
 * pinned in a directory of the test's own, a frame builder with correct
 * IPv4/IPv6/UDP checksums and the expected encapsulated frame, and the
 * agent's real registration read from the shared pcap at run time.
 */
#ifndef CSMP_LB_TEST_H
#define CSMP_LB_TEST_H

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <csmp/classify.h>
#include <csmp/lb.h>
#include <csmp/lb_parse.h>
#include "lbctl.h"
#include "maglev.h"
#include "csmp_lb.skel.h"

#define LBT_DEV		"lbt0"
#define LBT_MAC		{ 0x02, 0, 0, 0, 0, 0x01 }
#define LBT_PEER_MAC	{ 0x02, 0, 0, 0, 0, 0x99 }
#define LBT_LB_ADDR	"2001:db8:ff::1"
#define LBT_VIP6	"2018::2"	/* the NMS of the agent's captures */
#define LBT_VIP4	"192.0.2.53"
#define LBT_DEVICE	"2018::188"	/* the agent of the captures */
#define LBT_BE(n)	"2001:db8:ff::" #n
#define LBT_BE_MAC(n)	{ 0x02, 0, 0, 0, 0, n }

static inline int lbt_sh(const char *cmd)
{
	int rc = system(cmd);

	return rc == 0 ? 0 : -1;
}

/* A fresh netns with LBT_DEV (a veth), forwarding on, backends ::a ::b ::c ::d
 * reachable with permanent neighbours, ::e on-link without one. */
static inline int lbt_netns(void)
{
	if (unshare(CLONE_NEWNET))
		return -errno;
	return lbt_sh("ip link set lo up && "
		      "ip link add " LBT_DEV " type veth peer name lbt1 && ip link set lbt1 up && "
		      "ip link set " LBT_DEV " address 02:00:00:00:00:01 up && "
		      "sysctl -qw net.ipv6.conf.all.forwarding=1 && "
		      "ip -6 addr add " LBT_LB_ADDR "/64 dev " LBT_DEV " nodad && "
		      "ip -6 neigh add 2001:db8:ff::a lladdr 02:00:00:00:00:0a dev " LBT_DEV " nud permanent && "
		      "ip -6 neigh add 2001:db8:ff::b lladdr 02:00:00:00:00:0b dev " LBT_DEV " nud permanent && "
		      "ip -6 neigh add 2001:db8:ff::c lladdr 02:00:00:00:00:0c dev " LBT_DEV " nud permanent && "
		      "ip -6 neigh add 2001:db8:ff::d lladdr 02:00:00:00:00:0d dev " LBT_DEV " nud permanent");
}

static inline int lbt_bpffs(void)
{
	struct stat a, b;

	if (stat("/sys/fs/bpf", &a) || stat("/sys/fs", &b))
		return -errno;
	if (a.st_dev != b.st_dev)
		return 0;
	return mount("bpf", "/sys/fs/bpf", "bpf", 0, NULL) ? -errno : 0;
}

/* ---- frames ---- */

struct lbt_frame {
	int v4;
	int vlan;		/* 0: none, else the TCI */
	const char *src, *dst;
	uint16_t sport, dport;
	const uint8_t *ext;	/* IPv6 extension headers, ending in UDP */
	size_t ext_len;
	uint8_t ext_first;
	const uint8_t *v4opt;	/* IPv4 options (multiple of 4) */
	size_t v4opt_len;
};

static inline uint32_t lbt_sum(const uint8_t *p, size_t n, uint32_t s)
{
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		s += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	return s;
}

static inline uint16_t lbt_fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static inline void lbt_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Ethernet [+ VLAN] + IP + UDP + payload into out; returns the length. */
static inline size_t lbt_build(uint8_t *out, const struct lbt_frame *f,
			       const uint8_t *pl, size_t plen)
{
	static const uint8_t dmac[6] = LBT_MAC, smac[6] = LBT_PEER_MAC;
	size_t off = 12, ipoff, udpoff;
	uint8_t ph[40];
	uint32_t s;

	memcpy(out, dmac, 6);
	memcpy(out + 6, smac, 6);
	if (f->vlan) {
		lbt_put16(out + 12, 0x8100);
		lbt_put16(out + 14, (uint16_t)f->vlan);
		off = 16;
	}
	lbt_put16(out + off, f->v4 ? 0x0800 : 0x86dd);
	ipoff = off + 2;
	if (f->v4) {
		size_t ihl = 20 + f->v4opt_len;
		struct in_addr a;

		memset(out + ipoff, 0, 20);
		out[ipoff] = (uint8_t)(0x40 | (ihl / 4));
		lbt_put16(out + ipoff + 2, (uint16_t)(ihl + 8 + plen));
		out[ipoff + 8] = 64;
		out[ipoff + 9] = 17;
		inet_pton(AF_INET, f->src, &a);
		memcpy(out + ipoff + 12, &a, 4);
		inet_pton(AF_INET, f->dst, &a);
		memcpy(out + ipoff + 16, &a, 4);
		if (f->v4opt_len)
			memcpy(out + ipoff + 20, f->v4opt, f->v4opt_len);
		lbt_put16(out + ipoff + 10, lbt_fold(lbt_sum(out + ipoff, ihl, 0)));
		udpoff = ipoff + ihl;
		memcpy(ph, out + ipoff + 12, 8);
		ph[8] = 0;
		ph[9] = 17;
		lbt_put16(ph + 10, (uint16_t)(8 + plen));
		s = lbt_sum(ph, 12, 0);
	} else {
		struct in6_addr a;

		memset(out + ipoff, 0, 40);
		out[ipoff] = 0x60;
		lbt_put16(out + ipoff + 4, (uint16_t)(f->ext_len + 8 + plen));
		out[ipoff + 6] = f->ext_len ? f->ext_first : 17;
		out[ipoff + 7] = 64;
		inet_pton(AF_INET6, f->src, &a);
		memcpy(out + ipoff + 8, &a, 16);
		inet_pton(AF_INET6, f->dst, &a);
		memcpy(out + ipoff + 24, &a, 16);
		if (f->ext_len)
			memcpy(out + ipoff + 40, f->ext, f->ext_len);
		udpoff = ipoff + 40 + f->ext_len;
		memcpy(ph, out + ipoff + 8, 32);
		s = lbt_sum(ph, 32, 0);
		s += 8 + (uint32_t)plen;
		s += 17;
	}
	lbt_put16(out + udpoff, f->sport);
	lbt_put16(out + udpoff + 2, f->dport);
	lbt_put16(out + udpoff + 4, (uint16_t)(8 + plen));
	lbt_put16(out + udpoff + 6, 0);
	memcpy(out + udpoff + 8, pl, plen);
	{
		uint16_t c = lbt_fold(lbt_sum(out + udpoff, 8 + plen, s));

		lbt_put16(out + udpoff + 6, c ? c : 0xffff);
	}
	return udpoff + 8 + plen;
}

/* UDP checksum of a built frame verifies (sum over pseudo header = 0). */
static inline int lbt_udp_csum_ok(const uint8_t *fr, size_t l3, int v4)
{
	uint8_t ph[40];
	size_t udp, ulen;
	uint32_t s;

	if (v4) {
		size_t ihl = (size_t)(fr[l3] & 15) * 4;

		udp = l3 + ihl;
		ulen = (size_t)fr[udp + 4] << 8 | fr[udp + 5];
		memcpy(ph, fr + l3 + 12, 8);
		ph[8] = 0;
		ph[9] = 17;
		lbt_put16(ph + 10, (uint16_t)ulen);
		s = lbt_sum(ph, 12, 0);
	} else {
		uint8_t nh = fr[l3 + 6];

		udp = l3 + 40;
		while (nh == 0 || nh == 43 || nh == 60) {
			nh = fr[udp];
			udp += ((size_t)fr[udp + 1] + 1) * 8;
		}
		ulen = (size_t)fr[udp + 4] << 8 | fr[udp + 5];
		s = lbt_sum(fr + l3 + 8, 32, 0) + (uint32_t)ulen + 17;
	}
	return lbt_fold(lbt_sum(fr + udp, ulen, s)) == 0;
}

/* What csmp_lb sends: the input re-addressed and wrapped in outer IPv6. */
static inline size_t lbt_expect_encap(uint8_t *out, const uint8_t *in,
				      size_t inlen, int vlan,
				      const uint8_t dmac[6],
				      const char *be_addr, uint64_t eid)
{
	static const uint8_t smac[6] = LBT_MAC;
	size_t l2 = vlan ? 18 : 14, ilen = inlen - l2, o;
	uint32_t flow = (uint32_t)(eid ^ (eid >> 20) ^ (eid >> 40)) & 0xfffff;
	int inner_v4 = in[l2 - 2] == 0x08;
	struct in6_addr a;

	memcpy(out, dmac, 6);
	memcpy(out + 6, smac, 6);
	if (vlan) {
		memcpy(out + 12, in + 12, 4);
		lbt_put16(out + 16, 0x86dd);
	} else {
		lbt_put16(out + 12, 0x86dd);
	}
	o = l2;
	memset(out + o, 0, 40);
	out[o] = 0x60;
	out[o + 1] = (uint8_t)(flow >> 16);
	out[o + 2] = (uint8_t)(flow >> 8);
	out[o + 3] = (uint8_t)flow;
	lbt_put16(out + o + 4, (uint16_t)ilen);
	out[o + 6] = inner_v4 ? 4 : 41;
	out[o + 7] = 64;
	inet_pton(AF_INET6, LBT_LB_ADDR, &a);
	memcpy(out + o + 8, &a, 16);
	inet_pton(AF_INET6, be_addr, &a);
	memcpy(out + o + 24, &a, 16);
	memcpy(out + o + 40, in + l2, ilen);
	return o + 40 + ilen;
}

/* ---- the agent's capture ---- */

/*
 * Frame `index` (0-based) of a shared fixture pcap. The classic pcap file
 * format is read directly: libpcap's header defines a struct bpf_insn of
 * its own that clashes with linux/bpf.h.
 */
static inline int lbt_pcap_frame(const char *name, int index, uint8_t *frame,
				 size_t cap, size_t *len)
{
	char path[4096];
	const char *top = getenv("CSMP_TOP");
	uint8_t gh[24], rh[16];
	uint32_t magic, incl;
	int i, swap, err = -ENOENT;
	FILE *f;

	snprintf(path, sizeof(path), "%s/../shared/fixtures/%s",
		 top ? top : ".", name);
	f = fopen(path, "rb");
	if (!f)
		return -errno;
	if (fread(gh, 1, 24, f) != 24)
		goto out;
	memcpy(&magic, gh, 4);
	if (magic != 0xa1b2c3d4 && magic != 0xd4c3b2a1 &&
	    magic != 0xa1b23c4d && magic != 0x4d3cb2a1) {
		err = -EINVAL;
		goto out;
	}
	swap = magic == 0xd4c3b2a1 || magic == 0x4d3cb2a1;
	for (i = 0; fread(rh, 1, 16, f) == 16; i++) {
		memcpy(&incl, rh + 8, 4);
		if (swap)
			incl = __builtin_bswap32(incl);
		if (incl > 65535) {
			err = -EINVAL;
			goto out;
		}
		if (i != index) {
			if (fseek(f, incl, SEEK_CUR))
				goto out;
			continue;
		}
		if (incl > cap) {
			err = -E2BIG;
			goto out;
		}
		if (fread(frame, 1, incl, f) != incl)
			goto out;
		*len = incl;
		err = 0;
		break;
	}
out:
	fclose(f);
	return err;
}

/* ---- running the program ---- */

static inline int lbt_run(int prog, int ifindex, const uint8_t *in,
			  size_t len, uint8_t *out, size_t *outlen)
{
	struct xdp_md ctx = { .data = 0, .data_end = (__u32)len,
			      .ingress_ifindex = (__u32)ifindex };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in,
		    .data_size_in = (__u32)len, .data_out = out,
		    .data_size_out = 8192, .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx), .repeat = 1);
	int err = bpf_prog_test_run_opts(prog, &o);

	if (err)
		return -errno;
	*outlen = o.data_size_out;
	return (int)o.retval;
}

/* The fallback classifier's verdict of the last run on this CPU (0). */
static inline int lbt_scratch_class(int map_fd, struct csmp_class *c)
{
	int ncpu = libbpf_num_possible_cpus();
	struct csmp_scratch *v = calloc((size_t)ncpu, sizeof(*v));
	uint32_t zero = 0;
	int err = 0;

	if (!v)
		return -ENOMEM;
	if (bpf_map_lookup_elem(map_fd, &zero, v))
		err = -errno;
	else
		*c = v[0].st.c;
	free(v);
	return err;
}

static inline uint64_t lbt_count(int map_fd, uint32_t idx)
{
	struct csmp_count c;

	if (csmp_lb_count_sum(map_fd, idx, &c))
		return ~0ULL;
	return c.packets;
}

/* A CSMP payload: CoAP header + Uri-Path + marker + TLVs. */
static inline size_t lbt_coap(uint8_t *out, uint8_t type, uint8_t code,
			      char path, const uint8_t *tlvs, size_t tlen)
{
	size_t n = 0;

	out[n++] = (uint8_t)(0x40 | type << 4);
	out[n++] = code;
	out[n++] = 0x12;
	out[n++] = 0x34;
	if (path) {
		out[n++] = 0xb1;
		out[n++] = (uint8_t)path;
	}
	if (tlen) {
		out[n++] = 0xff;
		memcpy(out + n, tlvs, tlen);
		n += tlen;
	}
	return n;
}

/* DeviceID TLV with the agent's padded length: 02 94 00 08 01 12 10 <hex>. */
static inline size_t lbt_tlv_devid(uint8_t *out, uint64_t eid)
{
	size_t n = 0;

	out[n++] = 0x02;
	out[n++] = 0x94;
	out[n++] = 0x00;
	out[n++] = 0x08;
	out[n++] = 0x01;
	out[n++] = 0x12;
	out[n++] = 0x10;
	snprintf((char *)out + n, 17, "%016llX", (unsigned long long)eid);
	return n + 16;
}

/* SessionID TLV: 07 <len> 0a <slen> <id>. */
static inline size_t lbt_tlv_session(uint8_t *out, const char *id)
{
	size_t l = strlen(id);

	out[0] = 0x07;
	out[1] = (uint8_t)(l + 2);
	out[2] = 0x0a;
	out[3] = (uint8_t)l;
	memcpy(out + 4, id, l);
	return l + 4;
}

#endif /* CSMP_LB_TEST_H */
