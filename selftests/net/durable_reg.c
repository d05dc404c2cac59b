// SPDX-License-Identifier: GPL-2.0-only
/*
 * A fleet of registering devices that remembers exactly which answers it
 * received, for the ack-after-commit tests and benchmark (durable_*.sh,
 * scripts/bench/durable.sh). Registrations are the OpenCSMP capture (frame
 * 1 of the fixture pcap, read with libpcap) with the DeviceID of each
 * device written in; every attempt has a new MID, as the agent does.
 *
 *   durable_reg flood  --target ADDR:PORT --pcap FILE [--devices N]
 *                      [--eid-base HEX] [--window W] [--seconds S]
 *                      [--retry-ms MS] [--sockets K] [--out FILE]
 *       Keeps W registrations outstanding (closed loop) until every
 *       device is answered or S seconds have passed; an attempt without an
 *       answer after MS is sent again with a new MID. Every 2.03 received
 *       is written to FILE as "EID SESSIONID" (the first one per device),
 *       including a late answer to an attempt already given up (the
 *       device did receive it).
 *       Prints one JSON object: attempts, answered, other_codes,
 *       late_answers, rate (answers/s), latency p50/p99/max in µs (first
 *       send of the attempt to its answer) and last_answer_ms (wall
 *       clock of the last answer, ms since the epoch).
 *
 *   durable_reg report --target ADDR:PORT --in FILE [--rate R]
 *       One report (NON POST /c: SessionID, CurrentTime) per line of FILE,
 *       paced at R/s (default 20000). Prints {"sent":N}.
 *
 *   durable_reg repeat --target ADDR:PORT --pcap FILE --eid HEX [--mid M]
 *                      [--count C] [--interval-ms I] [--seconds S]
 *       The same registration datagram (same MID) C times, I ms apart,
 *       listening S seconds in all: prints {"answers":N,"distinct":D,
 *       "first_answer_ms":T} (T since the first send; -1: none).
 *
 * Exit status 0, 1 on errors, 2 on bad usage.
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "csmp.h"

#define MAX_SOCKS	32
#define NO_DEV		UINT32_MAX
#define RETIRED		0x80000000u	/* by_mid: an attempt given up */

static struct {
	const char *target, *pcap, *out, *in;
	uint64_t eid_base, eid;
	unsigned int devices, window, sockets, count;
	double seconds, rate;
	unsigned int retry_ms, interval_ms;
	int mid;
} o = {
	.target = "[::1]:61628", .eid_base = 0x00D0000000000000ull,
	.devices = 1000, .window = 64, .sockets = 8, .count = 5,
	.seconds = 10, .rate = 20000, .retry_ms = 1000, .interval_ms = 200,
	.mid = 0x1234,
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int open_socks(int *fds, unsigned int n, struct sockaddr_storage *dst,
		      socklen_t *dlen)
{
	int rcv = 4 << 20;
	char err[160];
	unsigned int i;

	if (csmp_hostport_parse(o.target, -1, dst, dlen, err, sizeof(err))) {
		fprintf(stderr, "durable_reg: --target %s\n", err);
		return -1;
	}
	for (i = 0; i < n; i++) {
		fds[i] = socket(dst->ss_family, SOCK_DGRAM | SOCK_NONBLOCK, 0);
		if (fds[i] < 0) {
			perror("durable_reg: socket");
			return -1;
		}
		setsockopt(fds[i], SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	}
	return 0;
}

/* ---- the registration template ------------------------------------------ */

struct tmpl {
	uint8_t buf[1280];
	size_t len;
	size_t hex_off;		/* the 16 DeviceID hex digits */
};

/* Frame 1's UDP payload (Ethernet, IPv6 without extension headers, UDP),
 * with its DeviceID replaced by one we can rewrite per device. */
static int tmpl_build(struct tmpl *t)
{
	char errbuf[PCAP_ERRBUF_SIZE], hex[17];
	uint8_t orig[2048];
	struct pcap_pkthdr *h;
	const u_char *d;
	struct csmp_coap_msg m;
	struct csmp_tlv_iter it;
	struct csmp_tlv tlv;
	Csmp__DeviceID did = CSMP__DEVICE_ID__INIT;
	struct csmp_tlvw w;
	size_t n, len;
	uint8_t *hit;
	pcap_t *p;

	p = pcap_open_offline(o.pcap, errbuf);
	if (!p) {
		fprintf(stderr, "durable_reg: %s: %s\n", o.pcap, errbuf);
		return -1;
	}
	if (pcap_next_ex(p, &h, &d) != 1 || h->caplen < 14 + 40 + 8 ||
	    d[12] != 0x86 || d[13] != 0xdd || d[14 + 6] != 17 ||
	    h->caplen - 62 > sizeof(orig)) {
		pcap_close(p);
		fprintf(stderr, "durable_reg: %s: frame 1 is not Ethernet/IPv6/UDP\n",
			o.pcap);
		return -1;
	}
	n = h->caplen - 62;
	memcpy(orig, d + 62, n);
	pcap_close(p);
	if (csmp_coap_parse(orig, (__u32)n, &m)) {
		fprintf(stderr, "durable_reg: fixture does not parse\n");
		return -1;
	}
	memcpy(t->buf, orig, m.payload_off);
	len = m.payload_off;
	/* A marker EID no real TLV byte sequence repeats. */
	snprintf(hex, sizeof(hex), "%016llX", 0xFEDCBA9876543210ull);
	did.type = 1;
	did.id = hex;
	csmp_pb_set_present(&did.base, 1);
	csmp_pb_set_present(&did.base, 2);
	csmp_tlvw_init(&w, t->buf + len, sizeof(t->buf) - len, CSMP_TLVW_PAD);
	csmp_tlvw_put(&w, CSMP_TLV_DEVICE_ID, &did.base);
	if (csmp_tlvw_finish(&w) < 0)
		return -1;
	len += w.len;
	csmp_tlv_init(&it, orig + m.payload_off, m.payload_len);
	while (csmp_tlv_next(&it, &tlv) > 0) {
		size_t sz = tlv.off + tlv.len - tlv.hdr;

		if (tlv.type == CSMP_TLV_DEVICE_ID)
			continue;
		if (len + sz > sizeof(t->buf))
			return -1;
		memcpy(t->buf + len, orig + m.payload_off + tlv.hdr, sz);
		len += sz;
	}
	t->len = len;
	hit = memmem(t->buf, len, hex, 16);
	if (!hit)
		return -1;
	t->hex_off = (size_t)(hit - t->buf);
	return 0;
}

static void tmpl_set(struct tmpl *t, uint64_t eid, uint16_t mid)
{
	char hex[17];

	snprintf(hex, sizeof(hex), "%016llX", (unsigned long long)eid);
	memcpy(t->buf + t->hex_off, hex, 16);
	t->buf[2] = (uint8_t)(mid >> 8);
	t->buf[3] = (uint8_t)mid;
}

/* The answer's code and SessionID. Returns 0 for a parsed ACK. */
static int parse_answer(const uint8_t *a, size_t n, uint16_t *mid,
			uint8_t *code, char *sid, size_t cap)
{
	struct csmp_coap_msg m;
	struct csmp_tlv_iter it;
	struct csmp_tlv t;
	const uint8_t *pl;

	sid[0] = 0;
	if (csmp_coap_parse(a, (__u32)n, &m) || m.type != CSMP_COAP_ACK)
		return -1;
	*mid = m.mid;
	*code = m.code;
	pl = a + m.payload_off;
	csmp_tlv_init(&it, pl, m.payload_len);
	while (csmp_tlv_next(&it, &t) > 0) {
		__u32 off, l;
		__u16 b;

		if (t.type != CSMP_TLV_SESSION_ID)
			continue;
		if (csmp_sessionid(pl + t.off, t.len, &off, &l, &b) < 0 ||
		    l + 1 > cap)
			return -1;
		memcpy(sid, pl + t.off + off, l);
		sid[l] = 0;
	}
	return 0;
}

/* ---- flood ----------------------------------------------------------------- */

struct dev {
	uint64_t sent_ns;	/* first send of the current attempt */
	uint32_t mid;		/* current attempt's MID; UINT32_MAX: none */
	bool answered;
};

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int flood(void)
{
	struct sockaddr_storage dst;
	socklen_t dlen;
	int fds[MAX_SOCKS];
	struct pollfd pfd[MAX_SOCKS];
	uint32_t *by_mid = malloc(65536 * sizeof(*by_mid));
	struct dev *devs = calloc(o.devices, sizeof(*devs));
	uint64_t *lat = calloc(o.devices, sizeof(*lat));
	uint32_t *retry = calloc(o.devices, sizeof(*retry));
	unsigned int next = 0, outstanding = 0, answered = 0, i;
	unsigned long attempts = 0, other = 0, late = 0, send_err = 0;
	uint64_t t0, deadline, last_ns = 0, last_scan = 0;
	int64_t last_wall = 0;
	uint16_t mid_next = 1;
	struct tmpl t;
	FILE *out = NULL;
	int ret = 1;

	if (!by_mid || !devs || !lat || !retry || tmpl_build(&t) ||
	    open_socks(fds, o.sockets, &dst, &dlen))
		goto out;
	if (o.out && !(out = fopen(o.out, "w"))) {
		perror(o.out);
		goto out;
	}
	for (i = 0; i < 65536; i++)
		by_mid[i] = NO_DEV;
	for (i = 0; i < o.devices; i++)
		devs[i].mid = UINT32_MAX;
	for (i = 0; i < o.sockets; i++)
		pfd[i] = (struct pollfd){ .fd = fds[i], .events = POLLIN };

	t0 = mono_ns();
	deadline = t0 + (uint64_t)(o.seconds * 1e9);
	for (;;) {
		uint64_t now = mono_ns();
		unsigned int nretry = 0;

		if (answered == o.devices || now >= deadline)
			break;
		/* Attempts that waited too long go again, with a new MID. */
		if (outstanding && now - last_scan > 10000000ull) {
			last_scan = now;
			for (i = 0; i < next; i++)
				if (devs[i].mid != UINT32_MAX &&
				    now - devs[i].sent_ns >
					    (uint64_t)o.retry_ms * 1000000ull)
					retry[nretry++] = i;
		}
		for (unsigned int k = 0; k < nretry + o.window; k++) {
			unsigned int d;
			uint16_t mid;
			ssize_t r;

			if (k < nretry) {
				d = retry[k];
				/* A late answer still counts as received. */
				by_mid[devs[d].mid] |= RETIRED;
				outstanding--;
			} else {
				if (outstanding >= o.window || next == o.devices)
					break;
				d = next++;
			}
			/* A MID no outstanding attempt uses. */
			do
				mid = mid_next++;
			while (by_mid[mid] != NO_DEV && !(by_mid[mid] & RETIRED));
			by_mid[mid] = d;
			devs[d].mid = mid;
			devs[d].sent_ns = mono_ns();
			outstanding++;
			attempts++;
			tmpl_set(&t, o.eid_base + d, mid);
			r = sendto(fds[d % o.sockets], t.buf, t.len, 0,
				   (struct sockaddr *)&dst, dlen);
			if (r < 0)
				send_err++;
		}
		if (poll(pfd, o.sockets, 10) <= 0)
			continue;
		for (i = 0; i < o.sockets; i++) {
			uint8_t buf[2048];
			char sid[32];
			uint16_t mid;
			uint8_t code;
			ssize_t n;

			if (!(pfd[i].revents & POLLIN))
				continue;
			while ((n = recv(fds[i], buf, sizeof(buf), 0)) > 0) {
				uint32_t d;

				if (parse_answer(buf, (size_t)n, &mid, &code,
						 sid, sizeof(sid)))
					continue;
				d = by_mid[mid];
				if (d == NO_DEV)
					continue;	/* not ours */
				by_mid[mid] = NO_DEV;
				if (d & RETIRED) {
					late++;	/* an attempt given up */
					d &= ~RETIRED;
				} else {
					devs[d].mid = UINT32_MAX;
					outstanding--;
				}
				if (code != CSMP_COAP_VALID || !sid[0]) {
					other++;
					continue;
				}
				if (devs[d].answered)
					continue;
				devs[d].answered = true;
				if (devs[d].mid != UINT32_MAX) {
					/* Its retry is outstanding: drop it. */
					by_mid[devs[d].mid] = NO_DEV;
					devs[d].mid = UINT32_MAX;
					outstanding--;
				}
				last_ns = mono_ns();
				last_wall = wall_ms();
				lat[answered++] = (last_ns - devs[d].sent_ns) / 1000;
				if (out)
					fprintf(out, "%016llX %s\n",
						(unsigned long long)(o.eid_base + d),
						sid);
			}
		}
	}
	qsort(lat, answered, sizeof(*lat), cmp_u64);
	printf("{\"devices\":%u,\"attempts\":%lu,\"answered\":%u,"
	       "\"other_codes\":%lu,\"late_answers\":%lu,\"send_errors\":%lu,"
	       "\"seconds\":%.3f,\"rate\":%.1f,\"latency_p50_us\":%llu,"
	       "\"latency_p99_us\":%llu,\"latency_max_us\":%llu,"
	       "\"last_answer_ms\":%lld}\n",
	       o.devices, attempts, answered, other, late, send_err,
	       (double)((last_ns ? last_ns : mono_ns()) - t0) / 1e9,
	       answered && last_ns > t0 ?
		       answered / ((double)(last_ns - t0) / 1e9) : 0.0,
	       (unsigned long long)(answered ? lat[answered / 2] : 0),
	       (unsigned long long)(answered ? lat[(answered * 99) / 100] : 0),
	       (unsigned long long)(answered ? lat[answered - 1] : 0),
	       (long long)last_wall);
	ret = 0;
out:
	if (out && fclose(out))
		ret = 1;
	free(by_mid);
	free(devs);
	free(lat);
	free(retry);
	return ret;
}

/* ---- reports ----------------------------------------------------------------- */

static size_t varint(uint8_t *p, uint32_t v)
{
	size_t n = 0;

	while (v >= 0x80) {
		p[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (uint8_t)v;
	return n;
}

static size_t build_report(uint8_t *b, const char *sid, uint16_t mid)
{
	uint32_t now = (uint32_t)time(NULL);
	size_t len = 0, sl = strlen(sid), n;
	uint8_t ct[8];

	b[len++] = 0x50;		/* CoAP 1, NON, no token */
	b[len++] = 0x02;		/* POST */
	b[len++] = (uint8_t)(mid >> 8);
	b[len++] = (uint8_t)mid;
	b[len++] = 0xb1;		/* Uri-Path "c" */
	b[len++] = 'c';
	b[len++] = 0xff;
	b[len++] = CSMP_TLV_SESSION_ID;
	b[len++] = (uint8_t)(2 + sl);
	b[len++] = 0x0a;		/* SessionID.id */
	b[len++] = (uint8_t)sl;
	memcpy(b + len, sid, sl);
	len += sl;
	n = varint(ct, now);
	b[len++] = CSMP_TLV_CURRENT_TIME;
	b[len++] = (uint8_t)(1 + n);
	b[len++] = 0x08;		/* CurrentTime.posix */
	memcpy(b + len, ct, n);
	return len + n;
}

static int report(void)
{
	struct sockaddr_storage dst;
	socklen_t dlen;
	char line[128], eid[32], sid[32];
	unsigned long sent = 0;
	uint64_t t0;
	int fd;
	FILE *in;

	if (open_socks(&fd, 1, &dst, &dlen))
		return 1;
	in = fopen(o.in, "r");
	if (!in) {
		perror(o.in);
		return 1;
	}
	t0 = mono_ns();
	while (fgets(line, sizeof(line), in)) {
		uint8_t b[128];
		size_t n;

		if (sscanf(line, "%31s %16s", eid, sid) != 2)
			continue;
		n = build_report(b, sid, (uint16_t)sent);
		/* Paced: the time this report is due, at o.rate per second. */
		while (mono_ns() - t0 < (uint64_t)(sent * 1e9 / o.rate))
			;
		while (sendto(fd, b, n, 0, (struct sockaddr *)&dst, dlen) < 0)
			usleep(100);	/* EAGAIN: the socket buffer is full */
		sent++;
	}
	fclose(in);
	printf("{\"sent\":%lu}\n", sent);
	return 0;
}

/* ---- one registration, repeated ------------------------------------------------ */

static int repeat(void)
{
	struct sockaddr_storage dst;
	socklen_t dlen;
	struct pollfd pfd;
	uint8_t first[2048];
	size_t first_len = 0;
	unsigned int sent = 0, answers = 0, distinct = 0;
	int64_t first_ms = -1;
	uint64_t t0, end;
	struct tmpl t;
	int fd;

	if (tmpl_build(&t) || open_socks(&fd, 1, &dst, &dlen))
		return 1;
	tmpl_set(&t, o.eid, (uint16_t)o.mid);
	pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
	t0 = mono_ns();
	end = t0 + (uint64_t)(o.seconds * 1e9);
	for (;;) {
		uint64_t now = mono_ns(), due = t0 + (uint64_t)sent *
					       o.interval_ms * 1000000ull;
		uint8_t buf[2048];
		ssize_t n;
		int wait;

		if (now >= end)
			break;
		if (sent < o.count && now >= due) {
			if (sendto(fd, t.buf, t.len, 0,
				   (struct sockaddr *)&dst, dlen) < 0)
				perror("durable_reg: sendto");
			sent++;
			continue;
		}
		wait = (int)(((sent < o.count && due < end ? due : end) - now) /
			     1000000) + 1;
		if (poll(&pfd, 1, wait) <= 0)
			continue;
		while ((n = recv(fd, buf, sizeof(buf), 0)) > 0) {
			if (!answers) {
				first_ms = (int64_t)((mono_ns() - t0) / 1000000);
				memcpy(first, buf, (size_t)n);
				first_len = (size_t)n;
				distinct = 1;
			} else if ((size_t)n != first_len ||
				   memcmp(buf, first, first_len)) {
				distinct++;
			}
			answers++;
		}
	}
	printf("{\"sent\":%u,\"answers\":%u,\"distinct\":%u,"
	       "\"first_answer_ms\":%lld}\n", sent, answers, distinct,
	       (long long)first_ms);
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
"usage: durable_reg flood|report|repeat --target ADDR:PORT [options]\n"
"  flood   --pcap FILE [--devices N] [--eid-base HEX] [--window W]\n"
"          [--seconds S] [--retry-ms MS] [--sockets K] [--out FILE]\n"
"  report  --in FILE [--rate R]\n"
"  repeat  --pcap FILE --eid HEX [--mid M] [--count C] [--interval-ms I]\n"
"          [--seconds S]\n"
"Example (csmpd on [::1]:61628):\n"
"  durable_reg flood --target '[::1]:61628' \\\n"
"      --pcap ../shared/fixtures/opencsmp-register.pcap --devices 1000 \\\n"
"      --out answered.txt\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "target", required_argument, 0, 't' },
		{ "pcap", required_argument, 0, 'p' },
		{ "devices", required_argument, 0, 'n' },
		{ "eid-base", required_argument, 0, 'b' },
		{ "eid", required_argument, 0, 'e' },
		{ "window", required_argument, 0, 'w' },
		{ "seconds", required_argument, 0, 's' },
		{ "retry-ms", required_argument, 0, 'r' },
		{ "sockets", required_argument, 0, 'k' },
		{ "out", required_argument, 0, 'o' },
		{ "in", required_argument, 0, 'i' },
		{ "rate", required_argument, 0, 'R' },
		{ "mid", required_argument, 0, 'm' },
		{ "count", required_argument, 0, 'c' },
		{ "interval-ms", required_argument, 0, 'I' },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	const char *mode;
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 't': o.target = optarg; break;
		case 'p': o.pcap = optarg; break;
		case 'n': o.devices = (unsigned int)strtoul(optarg, NULL, 0); break;
		case 'b': o.eid_base = strtoull(optarg, NULL, 16); break;
		case 'e': o.eid = strtoull(optarg, NULL, 16); break;
		case 'w': o.window = (unsigned int)strtoul(optarg, NULL, 0); break;
		case 's': o.seconds = atof(optarg); break;
		case 'r': o.retry_ms = (unsigned int)strtoul(optarg, NULL, 0); break;
		case 'k': o.sockets = (unsigned int)strtoul(optarg, NULL, 0); break;
		case 'o': o.out = optarg; break;
		case 'i': o.in = optarg; break;
		case 'R': o.rate = atof(optarg); break;
		case 'm': o.mid = (int)strtol(optarg, NULL, 0); break;
		case 'c': o.count = (unsigned int)strtoul(optarg, NULL, 0); break;
		case 'I': o.interval_ms = (unsigned int)strtoul(optarg, NULL, 0); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc - 1 || !o.devices || !o.window || !o.sockets ||
	    o.sockets > MAX_SOCKS || o.rate <= 0 || o.mid < 0 ||
	    o.mid > 0xffff) {
		usage(stderr);
		return 2;
	}
	mode = argv[optind];
	if (!strcmp(mode, "flood") && o.pcap)
		return flood();
	if (!strcmp(mode, "report") && o.in)
		return report();
	if (!strcmp(mode, "repeat") && o.pcap && o.eid)
		return repeat();
	usage(stderr);
	return 2;
}
