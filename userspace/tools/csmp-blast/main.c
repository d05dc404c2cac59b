// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * csmp-blast: the load generator of the I/O benchmark. csmp-sim builds
 * every message and runs a device state machine per datagram, so one of
 * its cores offers a few tens of thousands of datagrams per second, too
 * few to saturate one csmpd worker. csmp-blast instead builds its
 * datagrams once, before the clock starts, from one captured CSMP
 * registration (a raw UDP payload, e.g. from `csmpdump -x`): one copy per
 * device with its own DeviceID, each send with a fresh CoAP Message ID so
 * that csmpd treats it as new work and never as a retransmission. It then
 * sends them open loop with sendmmsg in large batches from several
 * sockets (distinct source ports, so that the head-end sees distinct
 * peers), and reads the answers back to count them. It stops by itself
 * after --duration seconds and prints what it sent and received.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "hostport.h"

#define BLAST_MAX_DGRAM	1280
#define BLAST_MAX_SOCKS	64
#define BLAST_MAX_BATCH	1024
#define BLAST_EID_HEX	16

struct blast {
	struct sockaddr_storage dst;
	socklen_t dst_len;
	unsigned int devices, socks, batch;
	double duration;
	bool json;
	unsigned char tmpl[BLAST_MAX_DGRAM];
	size_t tmpl_len;
	size_t eid_off;
	unsigned char *dgrams;		/* devices x tmpl_len */
	int fd[BLAST_MAX_SOCKS];
	unsigned long long sent, send_fail, answers;
};

static void usage(FILE *f)
{
	fprintf(f,
"usage: csmp-blast --target ADDR:PORT --template FILE [options]\n"
"\n"
"Saturating CSMP load for the I/O benchmark: one captured registration\n"
"(a raw UDP payload: CoAP CON POST /r with a DeviceID TLV) is copied once\n"
"per device with the device's own EUI-64 in its DeviceID, then sent open\n"
"loop with sendmmsg from several sockets, every datagram with a new CoAP\n"
"Message ID. Answers are read back and counted.\n"
"\n"
"  -t, --target ADDR:PORT  where to send ([::1]:61628, 127.0.0.1:61628)\n"
"  -T, --template FILE     the datagram to copy (csmpdump -x writes these)\n"
"  -n, --devices N         distinct DeviceIDs (default 4096)\n"
"  -s, --sockets N         sending sockets, one source port each (default 8)\n"
"  -b, --batch N           datagrams per sendmmsg (default 256)\n"
"  -d, --duration S        seconds to send (default 3)\n"
"  -j, --json              print the summary as one JSON object\n"
"  -h, --help              this text\n"
"      --version           print the version\n"
"\n"
"Example (csmpd listening on [::1]:61628 with --unsigned):\n"
"  csmpdump -r ../shared/fixtures/opencsmp-register.pcap -x /tmp/tpl -q\n"
"  csmp-blast --target '[::1]:61628' --template /tmp/tpl/1.bin --duration 2 --json\n");
}

static bool is_hex_upper(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
}

/* The template: a CoAP CON POST whose first run of 16 upper-case hex
 * digits is the DeviceID's id (the agent's EUI-64 format). */
static int load_template(struct blast *b, const char *path)
{
	FILE *f = fopen(path, "rb");
	size_t i, run = 0;

	if (!f)
		return -errno;
	b->tmpl_len = fread(b->tmpl, 1, sizeof(b->tmpl), f);
	fclose(f);
	if (b->tmpl_len < 4 || (b->tmpl[0] >> 6) != 1 ||
	    ((b->tmpl[0] >> 4) & 3) != 0 || b->tmpl[1] != 0x02) {
		fprintf(stderr, "csmp-blast: %s: not a CoAP CON POST\n", path);
		return -EINVAL;
	}
	for (i = 4; i < b->tmpl_len; i++) {
		run = is_hex_upper(b->tmpl[i]) ? run + 1 : 0;
		if (run == BLAST_EID_HEX) {
			b->eid_off = i + 1 - BLAST_EID_HEX;
			return 0;
		}
	}
	fprintf(stderr, "csmp-blast: %s: no 16-digit DeviceID found\n", path);
	return -EINVAL;
}

static int build(struct blast *b)
{
	unsigned long long base;
	char hex[BLAST_EID_HEX + 1], save[BLAST_EID_HEX + 1];
	unsigned int i;

	memcpy(save, b->tmpl + b->eid_off, BLAST_EID_HEX);
	save[BLAST_EID_HEX] = 0;
	base = strtoull(save, NULL, 16);
	b->dgrams = malloc((size_t)b->devices * b->tmpl_len);
	if (!b->dgrams)
		return -ENOMEM;
	for (i = 0; i < b->devices; i++) {
		unsigned char *d = b->dgrams + (size_t)i * b->tmpl_len;

		memcpy(d, b->tmpl, b->tmpl_len);
		snprintf(hex, sizeof(hex), "%016llX", base + i);
		memcpy(d + b->eid_off, hex, BLAST_EID_HEX);
	}
	return 0;
}

static int open_socks(struct blast *b)
{
	unsigned int i;

	for (i = 0; i < b->socks; i++) {
		int fd = socket(b->dst.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);

		if (fd < 0)
			return -errno;
		b->fd[i] = fd;
		/* connect: the kernel skips the route lookup per datagram,
		 * and only the target's answers reach this socket. */
		if (connect(fd, (struct sockaddr *)&b->dst, b->dst_len))
			return -errno;
	}
	return 0;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Read every answer waiting on socket i. */
static void drain(struct blast *b, unsigned int i, struct mmsghdr *m,
		  unsigned int n)
{
	int r;

	do {
		r = recvmmsg(b->fd[i], m, n, MSG_DONTWAIT, NULL);
		if (r > 0)
			b->answers += (unsigned long long)r;
	} while (r == (int)n);
}

static int run(struct blast *b)
{
	static struct mmsghdr sm[BLAST_MAX_BATCH], rm[BLAST_MAX_BATCH];
	static struct iovec siov[BLAST_MAX_BATCH], riov[BLAST_MAX_BATCH];
	static unsigned char rbuf[BLAST_MAX_BATCH][64];
	unsigned int dev = 0, s = 0, k;
	unsigned short mid = 1;
	double end = now_s() + b->duration;
	unsigned long long loops = 0;

	for (k = 0; k < b->batch; k++) {
		riov[k].iov_base = rbuf[k];
		riov[k].iov_len = sizeof(rbuf[k]);	/* MSG_TRUNC: fine */
		rm[k].msg_hdr.msg_iov = &riov[k];
		rm[k].msg_hdr.msg_iovlen = 1;
		sm[k].msg_hdr.msg_iov = &siov[k];
		sm[k].msg_hdr.msg_iovlen = 1;
	}
	for (;;) {
		int r;

		/* The clock once per round of every socket. */
		if (s == 0 && (loops++ & 7) == 0 && now_s() >= end)
			break;
		for (k = 0; k < b->batch; k++) {
			unsigned char *d = b->dgrams +
					   (size_t)dev * b->tmpl_len;

			/* A new MID per send: never a retransmission. */
			d[2] = (unsigned char)(mid >> 8);
			d[3] = (unsigned char)mid;
			mid++;
			siov[k].iov_base = d;
			siov[k].iov_len = b->tmpl_len;
			if (++dev == b->devices)
				dev = 0;
		}
		r = sendmmsg(b->fd[s], sm, b->batch, 0);
		if (r < 0) {
			/* ECONNREFUSED: nobody listening yet (ICMP). */
			if (errno != ECONNREFUSED && errno != EINTR &&
			    errno != EAGAIN && errno != ENOBUFS)
				return -errno;
			b->send_fail += b->batch;
		} else {
			b->sent += (unsigned long long)r;
			b->send_fail += b->batch - (unsigned int)r;
		}
		drain(b, s, rm, b->batch);
		if (++s == b->socks)
			s = 0;
	}
	/* The last answers. */
	usleep(100 * 1000);
	for (s = 0; s < b->socks; s++)
		drain(b, s, rm, b->batch);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "target", required_argument, NULL, 't' },
		{ "template", required_argument, NULL, 'T' },
		{ "devices", required_argument, NULL, 'n' },
		{ "sockets", required_argument, NULL, 's' },
		{ "batch", required_argument, NULL, 'b' },
		{ "duration", required_argument, NULL, 'd' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	static struct blast b = { .devices = 4096, .socks = 8, .batch = 256,
				  .duration = 3 };
	const char *target = NULL, *tpl = NULL;
	char errbuf[160];
	double t0, t;
	int c, err;

	if (csmp_cli_answered(argc, argv, "csmp-blast", usage))
		return 0;
	while ((c = getopt_long(argc, argv, "t:T:n:s:b:d:jh", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			target = optarg;
			break;
		case 'T':
			tpl = optarg;
			break;
		case 'n':
			b.devices = (unsigned int)strtoul(optarg, NULL, 0);
			break;
		case 's':
			b.socks = (unsigned int)strtoul(optarg, NULL, 0);
			break;
		case 'b':
			b.batch = (unsigned int)strtoul(optarg, NULL, 0);
			break;
		case 'd':
			b.duration = strtod(optarg, NULL);
			break;
		case 'j':
			b.json = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!target || !tpl || !b.devices || !b.socks ||
	    b.socks > BLAST_MAX_SOCKS || !b.batch ||
	    b.batch > BLAST_MAX_BATCH || !(b.duration > 0)) {
		usage(stderr);
		return 2;
	}
	if (csmp_hostport_parse(target, -1, &b.dst, &b.dst_len, errbuf,
				sizeof(errbuf))) {
		fprintf(stderr, "csmp-blast: --target %s\n", errbuf);
		return 2;
	}
	if (!csmp_hostport_port(&b.dst)) {
		fprintf(stderr, "csmp-blast: --target %s: port 0 is no destination\n",
			target);
		return 2;
	}
	err = load_template(&b, tpl);
	if (err) {
		if (err != -EINVAL)
			fprintf(stderr, "csmp-blast: %s: %s\n", tpl,
				strerror(-err));
		return 2;
	}
	err = build(&b);
	if (!err)
		err = open_socks(&b);
	if (err) {
		fprintf(stderr, "csmp-blast: %s\n", strerror(-err));
		return 1;
	}
	t0 = now_s();
	err = run(&b);
	t = now_s() - t0;
	if (err) {
		fprintf(stderr, "csmp-blast: sendmmsg: %s\n", strerror(-err));
		return 1;
	}
	if (b.json)
		printf("{\"seconds\":%.3f,\"devices\":%u,\"sockets\":%u,"
		       "\"batch\":%u,\"datagram_bytes\":%zu,\"sent\":%llu,"
		       "\"send_failed\":%llu,\"answers\":%llu,"
		       "\"sent_per_s\":%.1f,\"answers_per_s\":%.1f}\n",
		       t, b.devices, b.socks, b.batch, b.tmpl_len, b.sent,
		       b.send_fail, b.answers, (double)b.sent / t,
		       (double)b.answers / t);
	else
		printf("sent %llu (%.0f/s), failed %llu, answers %llu (%.0f/s) "
		       "in %.2f s\n", b.sent, (double)b.sent / t, b.send_fail,
		       b.answers, (double)b.answers / t, t);
	free(b.dgrams);
	return 0;
}
