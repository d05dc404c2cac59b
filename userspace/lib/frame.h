/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Captured frames down to the UDP payload, for tools that read pcap files
 * or live interfaces (csmpdump, the tests, the fuzz corpus): Ethernet with
 * up to two VLAN tags, Linux cooked (SLL and SLL2), raw IP and BSD
 * loopback; IPv4 (with options) and IPv6 (with extension headers). No
 * libpcap here: callers pass the link type number libpcap reports.
 */
#ifndef LIBCSMP_FRAME_H
#define LIBCSMP_FRAME_H

#include <stddef.h>
#include <stdint.h>

/* libpcap DLT_* / LINKTYPE_* values this parser understands. */
#define CSMP_DLT_NULL		0
#define CSMP_DLT_EN10MB		1
#define CSMP_DLT_RAW		12	/* DLT_RAW on Linux */
#define CSMP_DLT_RAW_BSD	14
#define CSMP_LINKTYPE_RAW	101
#define CSMP_DLT_LINUX_SLL	113
#define CSMP_DLT_IPV4		228
#define CSMP_DLT_IPV6		229
#define CSMP_DLT_LINUX_SLL2	276

struct csmp_frame {
	int family;		/* AF_INET or AF_INET6 */
	uint8_t src[16];	/* IPv4 addresses in the first 4 bytes */
	uint8_t dst[16];
	uint16_t sport;
	uint16_t dport;
	uint16_t vlan;		/* outer VLAN id, 0 when untagged */
	uint8_t truncated;	/* capture shorter than the UDP length */
	const uint8_t *payload;	/* UDP payload inside the frame */
	uint32_t len;		/* its length (what was captured of it) */
	uint32_t udp_len;	/* UDP payload length by the UDP header */
	unsigned int reason;	/* enum csmp_reason when parsing failed */
};

/*
 * Parse one frame. Returns 0 for a UDP datagram, -ENOENT for anything else
 * (not IP, not UDP: reason CSMP_R_NOT_CSMP), -EAGAIN for a non-first
 * fragment or a fragmented datagram (CSMP_R_FRAGMENT), -EBADMSG for a
 * malformed or truncated frame (reason L2/L3/UDP), -EPROTONOSUPPORT for an
 * unknown link type.
 */
int csmp_frame_parse(int linktype, const uint8_t *p, size_t caplen,
		     struct csmp_frame *f);
/* A CSMP port (61628 or 61624) at either end. */
int csmp_frame_is_csmp(const struct csmp_frame *f);
/* "[2018::2]:61628" or "10.0.0.1:61628" into out (at least 64 bytes). */
char *csmp_frame_addr_str(const struct csmp_frame *f, int dst, char *out,
			  size_t cap);

#endif /* LIBCSMP_FRAME_H */
