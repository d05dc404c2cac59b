// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * Link, network and transport headers of a captured frame (see frame.h).
 * Every read is bounds-checked against the captured length: captures come
 * from anywhere, and this code is fuzzed through csmpdump's corpus.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include "csmp.h"

#define ETH_P_IPV4	0x0800
#define ETH_P_IPV6_	0x86dd
#define ETH_P_VLAN	0x8100
#define ETH_P_QINQ	0x88a8
#define MAX_VLANS	2
#define MAX_EXTHDRS	8

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static int fail(struct csmp_frame *f, unsigned int reason, int err)
{
	f->reason = reason;
	return err;
}

static int udp(const uint8_t *p, size_t len, struct csmp_frame *f)
{
	uint32_t ulen;

	if (len < 8)
		return fail(f, CSMP_R_UDP_TRUNC, -EBADMSG);
	f->sport = be16(p);
	f->dport = be16(p + 2);
	ulen = be16(p + 4);
	if (ulen < 8)
		return fail(f, CSMP_R_UDP_LEN, -EBADMSG);
	f->udp_len = ulen - 8;
	f->payload = p + 8;
	f->len = f->udp_len;
	if (f->len > len - 8) {
		f->len = (uint32_t)(len - 8);
		f->truncated = 1;
	}
	return 0;
}

static int ipv4(const uint8_t *p, size_t len, struct csmp_frame *f)
{
	size_t ihl, tot;

	if (len < 20)
		return fail(f, CSMP_R_L3_TRUNC, -EBADMSG);
	ihl = (size_t)(p[0] & 15) * 4;
	tot = be16(p + 2);
	if ((p[0] >> 4) != 4 || ihl < 20 || ihl > len || tot < ihl)
		return fail(f, CSMP_R_L3_TRUNC, -EBADMSG);
	f->family = AF_INET;
	memcpy(f->src, p + 12, 4);
	memcpy(f->dst, p + 16, 4);
	if (p[9] != IPPROTO_UDP)
		return fail(f, CSMP_R_NOT_CSMP, -ENOENT);
	if (be16(p + 6) & 0x3fff)	/* MF or a fragment offset */
		return fail(f, CSMP_R_FRAGMENT, -EAGAIN);
	if (tot < len)
		len = tot;	/* Ethernet padding */
	return udp(p + ihl, len - ihl, f);
}

static int ipv6(const uint8_t *p, size_t len, struct csmp_frame *f)
{
	size_t pos = 40, plen;
	uint8_t nh;
	int i;

	if (len < 40 || (p[0] >> 4) != 6)
		return fail(f, CSMP_R_L3_TRUNC, -EBADMSG);
	f->family = AF_INET6;
	memcpy(f->src, p + 8, 16);
	memcpy(f->dst, p + 24, 16);
	plen = be16(p + 4);
	if (40 + plen < len)
		len = 40 + plen;
	nh = p[6];
	for (i = 0; i < MAX_EXTHDRS; i++) {
		switch (nh) {
		case IPPROTO_UDP:
			return udp(p + pos, len - pos, f);
		case IPPROTO_HOPOPTS:
		case IPPROTO_ROUTING:
		case IPPROTO_DSTOPTS:
			if (pos + 8 > len)
				return fail(f, CSMP_R_IPV6_EXTHDR, -EBADMSG);
			nh = p[pos];
			pos += 8 + (size_t)p[pos + 1] * 8;
			if (pos > len)
				return fail(f, CSMP_R_IPV6_EXTHDR, -EBADMSG);
			break;
		case IPPROTO_FRAGMENT:
			return fail(f, CSMP_R_FRAGMENT, -EAGAIN);
		default:
			return fail(f, CSMP_R_NOT_CSMP, -ENOENT);
		}
	}
	return fail(f, CSMP_R_IPV6_EXTHDR, -EBADMSG);
}

static int by_ethertype(uint16_t et, const uint8_t *p, size_t len,
			struct csmp_frame *f)
{
	if (et == ETH_P_IPV4)
		return ipv4(p, len, f);
	if (et == ETH_P_IPV6_)
		return ipv6(p, len, f);
	return fail(f, CSMP_R_NOT_CSMP, -ENOENT);
}

static int by_version(const uint8_t *p, size_t len, struct csmp_frame *f)
{
	if (!len)
		return fail(f, CSMP_R_L3_TRUNC, -EBADMSG);
	if ((p[0] >> 4) == 4)
		return ipv4(p, len, f);
	if ((p[0] >> 4) == 6)
		return ipv6(p, len, f);
	return fail(f, CSMP_R_NOT_CSMP, -ENOENT);
}

static int ethernet(const uint8_t *p, size_t len, struct csmp_frame *f)
{
	size_t pos = 12;
	uint16_t et;
	int i;

	if (len < 14)
		return fail(f, CSMP_R_L2_TRUNC, -EBADMSG);
	et = be16(p + pos);
	pos += 2;
	for (i = 0; et == ETH_P_VLAN || et == ETH_P_QINQ; i++) {
		if (i == MAX_VLANS)
			return fail(f, CSMP_R_VLAN, -EBADMSG);
		if (pos + 4 > len)
			return fail(f, CSMP_R_L2_TRUNC, -EBADMSG);
		if (!i)
			f->vlan = be16(p + pos) & 0x0fff;
		et = be16(p + pos + 2);
		pos += 4;
	}
	return by_ethertype(et, p + pos, len - pos, f);
}

int csmp_frame_parse(int linktype, const uint8_t *p, size_t caplen,
		     struct csmp_frame *f)
{
	memset(f, 0, sizeof(*f));
	switch (linktype) {
	case CSMP_DLT_EN10MB:
		return ethernet(p, caplen, f);
	case CSMP_DLT_LINUX_SLL:
		/* 16 bytes; protocol (ethertype) in the last two. */
		if (caplen < 16)
			return fail(f, CSMP_R_L2_TRUNC, -EBADMSG);
		return by_ethertype(be16(p + 14), p + 16, caplen - 16, f);
	case CSMP_DLT_LINUX_SLL2:
		/* 20 bytes; protocol first. */
		if (caplen < 20)
			return fail(f, CSMP_R_L2_TRUNC, -EBADMSG);
		return by_ethertype(be16(p), p + 20, caplen - 20, f);
	case CSMP_DLT_NULL:
		/* 4-byte address family in host order of the writer. */
		if (caplen < 4)
			return fail(f, CSMP_R_L2_TRUNC, -EBADMSG);
		return by_version(p + 4, caplen - 4, f);
	case CSMP_DLT_RAW:
	case CSMP_DLT_RAW_BSD:
	case CSMP_LINKTYPE_RAW:
	case CSMP_DLT_IPV4:
	case CSMP_DLT_IPV6:
		return by_version(p, caplen, f);
	default:
		f->reason = CSMP_R_NOT_CSMP;
		return -EPROTONOSUPPORT;
	}
}

int csmp_frame_is_csmp(const struct csmp_frame *f)
{
	return f->sport == CSMP_PORT || f->dport == CSMP_PORT ||
	       f->sport == CSMP_PORT_ALT || f->dport == CSMP_PORT_ALT;
}

char *csmp_frame_addr_str(const struct csmp_frame *f, int dst, char *out,
			  size_t cap)
{
	char a[INET6_ADDRSTRLEN];
	const uint8_t *ip = dst ? f->dst : f->src;
	uint16_t port = dst ? f->dport : f->sport;

	if (!inet_ntop(f->family, ip, a, sizeof(a)))
		snprintf(a, sizeof(a), "?");
	snprintf(out, cap, f->family == AF_INET6 ? "[%s]:%u" : "%s:%u", a,
		 port);
	return out;
}
