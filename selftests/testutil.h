/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Helpers shared by the C tests (selftests/unit, selftests/bpf) and the net
 * suite's helper binaries: hex strings to bytes, and the CSMP datagrams of a
 * capture, read with libpcap at run time from shared/fixtures (never copied
 * into the repository) or from a path given on the command line. The
 * fixture directory is $CSMP_TOP/../shared/fixtures (selftests/run exports
 * CSMP_TOP), else found relative to the test binary's repository
 * (build/selftests/<suite>/<test> -> ../../../../shared/fixtures).
 */
#ifndef CSMP_TESTUTIL_H
#define CSMP_TESTUTIL_H

#include <errno.h>
#include <limits.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "csmp.h"

struct fx_dgram {
	uint8_t data[CSMP_MAX_DGRAM];
	uint32_t len;
	uint64_t ts_sec;
	struct csmp_frame f;	/* addresses and ports; payload -> data */
};

static inline const char *fx_dir(void)
{
	static char dir[PATH_MAX];
	const char *top = getenv("CSMP_TOP");
	char exe[PATH_MAX];
	ssize_t n;
	int i;

	if (top) {
		n = snprintf(dir, sizeof(dir), "%s/../shared/fixtures", top);
		if (n > 0 && (size_t)n < sizeof(dir) && !access(dir, R_OK))
			return dir;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return NULL;
	exe[n] = '\0';
	/* <repo>/build/selftests/<suite>/<test>: strip four components. */
	for (i = 0; i < 4; i++) {
		char *s = strrchr(exe, '/');

		if (!s)
			return NULL;
		*s = '\0';
	}
	n = snprintf(dir, sizeof(dir), "%s/../shared/fixtures", exe);
	if (n <= 0 || (size_t)n >= sizeof(dir))
		return NULL;
	return access(dir, R_OK) ? NULL : dir;
}

static inline int fx_path(const char *name, char *out, size_t cap)
{
	const char *d = fx_dir();
	int n;

	if (!d)
		return -ENOENT;
	n = snprintf(out, cap, "%s/%s", d, name);
	if (n <= 0 || (size_t)n >= cap)
		return -ENAMETOOLONG;
	return access(out, R_OK) ? -ENOENT : 0;
}

/*
 * Every CSMP datagram (UDP to or from a CSMP port, any link type libcsmp's
 * frame parser knows) of the capture file at `path` into dg[0..max).
 * Returns how many, or -EIO when the file is not a capture.
 */
static inline int fx_load_path(const char *path, struct fx_dgram *dg, int max)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *pkt;
	pcap_t *p;
	int n = 0, r;

	p = pcap_open_offline(path, errbuf);
	if (!p)
		return -EIO;
	while ((r = pcap_next_ex(p, &h, &pkt)) == 1 && n < max) {
		struct csmp_frame f;

		if (csmp_frame_parse(pcap_datalink(p), pkt, h->caplen, &f) ||
		    !csmp_frame_is_csmp(&f) || f.len > CSMP_MAX_DGRAM)
			continue;
		memcpy(dg[n].data, f.payload, f.len);
		dg[n].len = f.len;
		dg[n].ts_sec = (uint64_t)h->ts.tv_sec;
		dg[n].f = f;
		dg[n].f.payload = dg[n].data;
		n++;
	}
	pcap_close(p);
	return n;
}

/*
 * Every CSMP datagram of fixture capture `name` into dg[0..max). Returns
 * how many, or -errno (-ENOENT when the fixture cannot be found).
 */
static inline int fx_load(const char *name, struct fx_dgram *dg, int max)
{
	char path[PATH_MAX];

	if (fx_path(name, path, sizeof(path)))
		return -ENOENT;
	return fx_load_path(path, dg, max);
}

/*
 * Hex string -> bytes (spaces between bytes allowed); returns the count or
 * -1 when out is too small.
 */
static inline int fx_unhex(const char *h, uint8_t *out, size_t cap)
{
	size_t n = 0;

	for (; h[0] && h[1]; h += 2) {
		if (h[0] == ' ') {
			h--;
			continue;
		}
		if (n == cap)
			return -1;
		out[n++] = (uint8_t)(csmp_hexval((__u8)h[0]) << 4 |
				     csmp_hexval((__u8)h[1]));
	}
	return (int)n;
}

#endif /* CSMP_TESTUTIL_H */
