/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * csmpdump's decoder of one captured CSMP datagram into text or a JSON
 * line; main.c feeds it frames from a pcap file or a live interface.
 */
#ifndef CSMPDUMP_DUMP_H
#define CSMPDUMP_DUMP_H

#include <stdint.h>
#include <stdio.h>
#include "csmp.h"

struct csmp_key;

struct dump_opts {
	int json;
	const struct csmp_key *nms_key;	/* --nms-pubkey, NULL when not given */
};

struct dump_stats {
	uint64_t frames;	/* frames read */
	uint64_t datagrams;	/* CSMP datagrams decoded */
	uint64_t malformed;	/* of which did not parse */
	uint64_t anomalies;	/* anomalies reported */
	uint64_t skipped;	/* frames that were not CSMP */
	uint64_t fragments;	/* fragmented CSMP-port datagrams (not decoded) */
	uint64_t sig_ok;
	uint64_t sig_failed;
};

/*
 * Decode and print one frame. `no` numbers the frame (1-based), `ts_us` is
 * the capture time in microseconds since the epoch.
 */
void dump_frame(FILE *out, const struct dump_opts *o, struct dump_stats *st,
		int linktype, const uint8_t *pkt, uint32_t caplen,
		uint64_t no, uint64_t ts_us);

#endif /* CSMPDUMP_DUMP_H */
