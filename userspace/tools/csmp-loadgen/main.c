// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * csmp-loadgen: signed uplink reports at a head-end, for capacity tests and
 * for `make bench` (scripts/bench/verify.sh). Every datagram is built and
 * signed before the clock starts (M distinct reports over the SessionIDs of
 * a file, every 1/F-th with a spoiled signature), then the sending loop
 * only hands prepared buffers to sendmmsg, 64 at a time, from a few
 * sockets with distinct source ports. The sender's cost per datagram is
 * thus a small fraction of what verifying it costs the receiver, so on a
 * small machine it can share the host with csmpd (pin the two apart) or
 * fill csmpd's socket buffers ahead of a timed drain (--count).
 *
 * A report is what a meter sends each interval: NON POST /c with SessionID,
 * CurrentTime, Uptime and IPRouteRPLMetrics, then SignatureValidity (now -
 * 60 s .. now + 1 h) and Signature made with the device key (P-256 or
 * Ed25519, whichever the PEM holds). Distinct reports differ in MID,
 * uptime and metrics, so neither csmpd's replay cache nor its duplicate
 * detection short-cuts them while the set is larger than those caches.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "csmp.h"
#include "sig.h"

#define MSG_MAX		512
#define SEND_BATCH	64
#define MAX_SOCKS	64
#define MAX_SESSIONS	(1u << 20)

static const char usage_text[] =
	"usage: csmp-loadgen --target ADDR:PORT --sessions FILE --key PEM\n"
	"                    [--distinct M] [--bad-rate F] [--rate R]\n"
	"                    [--seconds S] [--count N] [--sockets K]\n"
	"\n"
	"Builds M distinct signed reports (NON POST /c: SessionID, CurrentTime,\n"
	"Uptime, IPRouteRPLMetrics, SignatureValidity, Signature) round-robin\n"
	"over the SessionIDs in FILE (one per line, as `csmpctl devices --json`\n"
	"lists them), signed with the device key in PEM (P-256 or Ed25519), then\n"
	"sends them in a loop with sendmmsg and prints one JSON object:\n"
	"{\"sent\":N,\"seconds\":S,\"distinct\":M,\"bad\":B,\"build_seconds\":T}.\n"
	"\n"
	"  --distinct M  reports built before sending (default 20000)\n"
	"  --bad-rate F  share of them with a spoiled signature (default 0)\n"
	"  --rate R      datagrams per second, 0 = as fast as possible (default 0)\n"
	"  --seconds S   stop after S seconds (default 5)\n"
	"  --count N     stop after N datagrams (default: no limit)\n"
	"  --sockets K   sending sockets, each its own source port (default 8)\n"
	"  -h, --help    this text\n"
	"  --version     print the version\n"
	"\n"
	"example (csmpd on [::1]:61628 with the devices' key enrolled):\n"
	"  csmpctl devices --json | jq -r '.devices[].session' > sessions\n"
	"  csmp-loadgen --target '[::1]:61628' --sessions sessions \\\n"
	"      --key device.pem --rate 20000 --seconds 2\n";

static void usage(FILE *f)
{
	fputs(usage_text, f);
}

struct msg {
	uint16_t len;
	uint8_t buf[MSG_MAX];
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A protobuf varint field (wire type 0). */
static size_t pb_u32(uint8_t *p, uint32_t field, uint32_t v)
{
	size_t n = csmp_varint_put(p, field << 3);

	return n + csmp_varint_put(p + n, v);
}

static uint32_t zigzag(int32_t v)
{
	return ((uint32_t)v << 1) ^ (uint32_t)(v >> 31);
}

/*
 * Report i for session sid, signed by signer; a bad one has the last byte
 * of its signature flipped. Returns 0 or -errno.
 */
static int build(struct msg *m, const char *sid, uint32_t i,
		 struct csmp_signer *signer, uint32_t now, bool bad)
{
	uint8_t v[64], *pl;
	struct csmp_tlvw w;
	size_t hl = 0, n;
	int len;

	m->buf[hl++] = 0x50;			/* v1, NON, no token */
	m->buf[hl++] = CSMP_COAP_POST;
	m->buf[hl++] = (uint8_t)(i >> 8);	/* MID */
	m->buf[hl++] = (uint8_t)i;
	m->buf[hl++] = 0xb1;			/* Uri-Path "c" */
	m->buf[hl++] = 'c';
	m->buf[hl++] = 0xff;
	pl = m->buf + hl;
	csmp_tlvw_init(&w, pl, sizeof(m->buf) - hl - CSMP_SIG_TLVS_MAX, 0);

	v[0] = 0x0a;				/* SessionID{id} */
	v[1] = (uint8_t)strlen(sid);
	memcpy(v + 2, sid, v[1]);
	csmp_tlvw_put_raw(&w, CSMP_TLV_SESSION_ID, v, 2u + v[1]);
	n = pb_u32(v, 1, now);			/* CurrentTime{posix} */
	csmp_tlvw_put_raw(&w, CSMP_TLV_CURRENT_TIME, v, n);
	n = pb_u32(v, 1, 3600 + i);		/* Uptime{sysUpTime} */
	csmp_tlvw_put_raw(&w, CSMP_TLV_UPTIME, v, n);
	n = pb_u32(v, 1, 1);			/* IPRouteRPLMetrics */
	n += pb_u32(v + n, 2, 1);
	n += pb_u32(v + n, 3, 256 * (2 + i % 6));
	n += pb_u32(v + n, 4, 1 + i % 6);
	n += pb_u32(v + n, 5, 128 + i % 700);
	n += pb_u32(v + n, 6, 128 + i % 64);
	n += pb_u32(v + n, 7, zigzag(-60 - (int32_t)(i % 30)));
	n += pb_u32(v + n, 8, zigzag(-62 - (int32_t)(i % 29)));
	n += pb_u32(v + n, 11, 1000);
	csmp_tlvw_put_raw(&w, CSMP_TLV_IP_ROUTE_RPL_METRICS, v, n);
	len = csmp_tlvw_finish(&w);
	if (len < 0)
		return len;

	len = csmp_sig_append(signer, pl, (size_t)len, sizeof(m->buf) - hl,
			      now - 60, now + 3600);
	if (len < 0)
		return len;
	if (bad)
		pl[len - 1] ^= 0x01;	/* last byte of the signature */
	m->len = (uint16_t)(hl + (size_t)len);
	return 0;
}

static int read_sessions(const char *path, char (**out)[24], unsigned int *n)
{
	char (*sids)[24], line[64];
	unsigned int k = 0;
	FILE *f;

	f = fopen(path, "r");
	if (!f)
		return -errno;
	sids = calloc(MAX_SESSIONS, sizeof(*sids));
	if (!sids) {
		fclose(f);
		return -ENOMEM;
	}
	while (k < MAX_SESSIONS && fgets(line, sizeof(line), f)) {
		size_t l = strcspn(line, " \t\r\n");

		if (!l)
			continue;
		if (l > CSMP_SESSION_ID_MAX) {
			fclose(f);
			free(sids);
			return -EINVAL;
		}
		memcpy(sids[k], line, l);
		sids[k++][l] = 0;
	}
	fclose(f);
	if (!k) {
		free(sids);
		return -ENODATA;
	}
	*out = sids;
	*n = k;
	return 0;
}

static int open_socks(const struct sockaddr_storage *dst, socklen_t dlen,
		      int *fds, unsigned int k)
{
	unsigned int i;

	for (i = 0; i < k; i++) {
		int sz = 4 << 20;

		fds[i] = socket(dst->ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (fds[i] < 0 ||
		    connect(fds[i], (const struct sockaddr *)dst, dlen))
			return -errno;
		setsockopt(fds[i], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "target", required_argument, NULL, 't' },
		{ "sessions", required_argument, NULL, 'S' },
		{ "key", required_argument, NULL, 'k' },
		{ "distinct", required_argument, NULL, 'd' },
		{ "bad-rate", required_argument, NULL, 'b' },
		{ "rate", required_argument, NULL, 'r' },
		{ "seconds", required_argument, NULL, 's' },
		{ "count", required_argument, NULL, 'n' },
		{ "sockets", required_argument, NULL, 'K' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *target = NULL, *sfile = NULL, *keyp = NULL;
	unsigned long distinct = 20000, count = 0, sent = 0, nbad = 0;
	double bad_rate = 0, rate = 0, seconds = 5, t0, tb, t;
	unsigned int nsid = 0, nsock = 8, every = 0, i, s = 0;
	struct mmsghdr mm[SEND_BATCH];
	struct iovec iov[SEND_BATCH];
	struct csmp_signer *signer = NULL;
	struct csmp_key *key = NULL;
	char (*sids)[24] = NULL;
	int fds[MAX_SOCKS], opt, ret;
	struct sockaddr_storage dst;
	char errbuf[160];
	socklen_t dlen;
	struct msg *msgs;
	uint32_t now;

	if (csmp_cli_answered(argc, argv, "csmp-loadgen", usage))
		return 0;
	while ((opt = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (opt) {
		case 't': target = optarg; break;
		case 'S': sfile = optarg; break;
		case 'k': keyp = optarg; break;
		case 'd': distinct = strtoul(optarg, NULL, 0); break;
		case 'b': bad_rate = atof(optarg); break;
		case 'r': rate = atof(optarg); break;
		case 's': seconds = atof(optarg); break;
		case 'n': count = strtoul(optarg, NULL, 0); break;
		case 'K': nsock = (unsigned int)strtoul(optarg, NULL, 0); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!target || !sfile || !keyp || !distinct || distinct > 1000000 ||
	    !nsock || nsock > MAX_SOCKS || bad_rate < 0 || bad_rate > 1 ||
	    rate < 0 || seconds <= 0) {
		usage(stderr);
		return 2;
	}
	if (csmp_hostport_parse(target, -1, &dst, &dlen, errbuf,
				sizeof(errbuf))) {
		fprintf(stderr, "csmp-loadgen: --target %s\n", errbuf);
		return 2;
	}
	if (!csmp_hostport_port(&dst)) {
		fprintf(stderr, "csmp-loadgen: --target %s: port 0 is no destination\n",
			target);
		return 2;
	}
	if (bad_rate > 0)
		every = (unsigned int)(1.0 / bad_rate + 0.5);

	ret = read_sessions(sfile, &sids, &nsid);
	if (ret) {
		fprintf(stderr, "csmp-loadgen: %s: %s\n", sfile,
			ret == -ENODATA ? "no SessionIDs" :
			ret == -EINVAL ? "a line is not a SessionID" :
					 strerror(-ret));
		return 1;
	}
	ret = csmp_key_load_pem(keyp, &key);
	if (!ret)
		ret = csmp_signer_new(key, 0, &signer);
	if (ret) {
		fprintf(stderr, "csmp-loadgen: %s: %s\n", keyp, strerror(-ret));
		return 1;
	}
	ret = open_socks(&dst, dlen, fds, nsock);
	if (ret) {
		fprintf(stderr, "csmp-loadgen: %s: %s\n", target,
			strerror(-ret));
		return 1;
	}
	msgs = calloc(distinct, sizeof(*msgs));
	if (!msgs) {
		fprintf(stderr, "csmp-loadgen: out of memory\n");
		return 1;
	}

	tb = now_s();
	now = (uint32_t)time(NULL);
	for (i = 0; i < distinct; i++) {
		bool bad = every && i % every == every - 1;

		ret = build(&msgs[i], sids[i % nsid], i, signer, now, bad);
		if (ret) {
			fprintf(stderr, "csmp-loadgen: building report %u: %s\n",
				i, strerror(-ret));
			return 1;
		}
		nbad += bad;
	}
	tb = now_s() - tb;

	memset(mm, 0, sizeof(mm));
	t0 = now_s();
	for (i = 0;;) {
		unsigned int k, want = SEND_BATCH;
		int n;

		t = now_s() - t0;
		if (t >= seconds || (count && sent >= count))
			break;
		if (rate > 0 && (double)sent > rate * t) {
			struct timespec ts = {
				.tv_nsec = (long)(((double)sent / rate - t) * 1e9),
			};

			if (ts.tv_nsec > 1000000)
				ts.tv_nsec = 1000000;
			nanosleep(&ts, NULL);
			continue;
		}
		if (count && count - sent < want)
			want = (unsigned int)(count - sent);
		for (k = 0; k < want; k++, i = (i + 1) % distinct) {
			iov[k].iov_base = msgs[i].buf;
			iov[k].iov_len = msgs[i].len;
			mm[k].msg_hdr.msg_iov = &iov[k];
			mm[k].msg_hdr.msg_iovlen = 1;
		}
		n = sendmmsg(fds[s], mm, want, 0);
		s = (s + 1) % nsock;
		if (n > 0)
			sent += (unsigned long)n;
		else if (n < 0 && errno != EAGAIN && errno != ENOBUFS &&
			 errno != ECONNREFUSED && errno != EINTR) {
			fprintf(stderr, "csmp-loadgen: sendmmsg: %s\n",
				strerror(errno));
			return 1;
		}
	}
	printf("{\"sent\":%lu,\"seconds\":%.3f,\"distinct\":%lu,\"bad\":%lu,"
	       "\"build_seconds\":%.3f}\n", sent, now_s() - t0, distinct, nbad,
	       tb);
	for (i = 0; i < nsock; i++)
		close(fds[i]);
	free(msgs);
	free(sids);
	csmp_signer_free(signer);
	csmp_key_put(key);
	return 0;
}
