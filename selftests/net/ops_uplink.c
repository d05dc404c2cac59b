// SPDX-License-Identifier: GPL-2.0-only
/*
 * A device report signed for uplink verification, for ops_*.sh: NON POST
 * /c with SessionID, CurrentTime and Uptime, then SignatureValidity and
 * Signature made with the device key through libcsmp's signer, optionally
 * spoiled the way each verification outcome needs:
 *
 *   good      signed now, valid for an hour
 *   payload   a byte of Uptime changed after signing
 *   sig       a byte of the signature changed
 *   expired   window ended an hour ago
 *   notyet    window starts in an hour
 *   unsigned  no signature TLVs at all
 *
 *   ops_uplink --target ADDR:PORT --session SID --key PEM --mode MODE
 *
 * Load mode for scripts/bench/verify.sh: --mode flood --sessions FILE
 * --distinct M --bad-rate F --rate R --seconds S pre-signs M distinct
 * reports over the sessions in FILE (every 1/F-th with a spoiled
 * signature), then sends them round-robin at R datagrams/s for S seconds
 * with sendmmsg, and prints {"sent":N,"seconds":S}.
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "hostport.h"
#include "sig.h"

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

struct msg {
	uint8_t buf[512];
	size_t len;
};

/* One report for sid, signed with signer (NULL: unsigned), spoiled per
 * mode. Returns 0 or -errno. */
static int build(struct msg *m, const char *sid, uint32_t uptime,
		 struct csmp_signer *signer, const char *mode)
{
	uint32_t now = (uint32_t)time(NULL), nb = now - 60, na = now + 3600;
	uint8_t *pl, ct[8], up[8];
	size_t len = 0, plen = 0, n, u;
	int ret, uptime_at;

	m->buf[len++] = 0x50;
	m->buf[len++] = 0x02;
	m->buf[len++] = (uint8_t)(uptime >> 8);
	m->buf[len++] = (uint8_t)uptime;
	m->buf[len++] = 0xb1;
	m->buf[len++] = 'c';
	m->buf[len++] = 0xff;
	pl = m->buf + len;
	pl[plen++] = 0x07;			/* SessionID */
	pl[plen++] = (uint8_t)(2 + strlen(sid));
	pl[plen++] = 0x0a;
	pl[plen++] = (uint8_t)strlen(sid);
	memcpy(pl + plen, sid, strlen(sid));
	plen += strlen(sid);
	n = varint(ct, now);			/* CurrentTime{posix} */
	pl[plen++] = 0x12;
	pl[plen++] = (uint8_t)(1 + n);
	pl[plen++] = 0x08;
	memcpy(pl + plen, ct, n);
	plen += n;
	u = varint(up, uptime);			/* Uptime{sysUpTime} */
	pl[plen++] = 0x16;
	pl[plen++] = (uint8_t)(1 + u);
	pl[plen++] = 0x08;
	uptime_at = (int)plen;
	memcpy(pl + plen, up, u);
	plen += u;

	if (!strcmp(mode, "expired")) {
		nb = now - 7200;
		na = now - 3600;
	} else if (!strcmp(mode, "notyet")) {
		nb = now + 3600;
		na = now + 7200;
	}
	if (signer) {
		ret = csmp_sig_append(signer, pl, plen,
				      sizeof(m->buf) - len, nb, na);
		if (ret < 0)
			return ret;
		plen = (size_t)ret;
		if (!strcmp(mode, "payload"))
			pl[uptime_at] ^= 0x01;
		else if (!strcmp(mode, "sig"))
			pl[plen - 1] ^= 0x01;	/* last byte of s */
	}
	m->len = len + plen;
	return 0;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int flood(int fd, const char *sfile, struct csmp_signer *signer,
		 unsigned int distinct, double bad_rate, double rate,
		 double seconds)
{
	char (*sids)[24] = calloc(65536, sizeof(*sids));
	unsigned int nsid = 0, i, every = bad_rate > 0 ?
		(unsigned int)(1.0 / bad_rate + 0.5) : 0;
	struct mmsghdr mm[64];
	struct iovec iov[64];
	struct msg *msgs;
	unsigned long sent = 0;
	double t0, t;
	FILE *f;

	f = fopen(sfile, "r");
	if (!f || !sids)
		return 1;
	while (nsid < 65536 && fscanf(f, "%23s", sids[nsid]) == 1)
		nsid++;
	fclose(f);
	msgs = calloc(distinct, sizeof(*msgs));
	if (!nsid || !msgs)
		return 1;
	for (i = 0; i < distinct; i++)
		if (build(&msgs[i], sids[i % nsid], i, signer,
			  every && i % every == every - 1 ? "sig" : "good"))
			return 1;
	memset(mm, 0, sizeof(mm));
	t0 = now_s();
	for (i = 0;;) {
		unsigned int k;
		int n;

		t = now_s() - t0;
		if (t >= seconds)
			break;
		if (sent > rate * t) {
			usleep(200);
			continue;
		}
		for (k = 0; k < 64; k++, i = (i + 1) % distinct) {
			iov[k].iov_base = msgs[i].buf;
			iov[k].iov_len = msgs[i].len;
			mm[k].msg_hdr.msg_iov = &iov[k];
			mm[k].msg_hdr.msg_iovlen = 1;
		}
		n = sendmmsg(fd, mm, 64, 0);
		if (n > 0)
			sent += (unsigned long)n;
	}
	printf("{\"sent\":%lu,\"seconds\":%.3f}\n", sent, now_s() - t0);
	free(msgs);
	free(sids);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "target", required_argument, NULL, 't' },
		{ "session", required_argument, NULL, 's' },
		{ "key", required_argument, NULL, 'k' },
		{ "mode", required_argument, NULL, 'm' },
		{ "sessions", required_argument, NULL, 'S' },
		{ "distinct", required_argument, NULL, 'd' },
		{ "bad-rate", required_argument, NULL, 'b' },
		{ "rate", required_argument, NULL, 'r' },
		{ "seconds", required_argument, NULL, 'x' },
		{ 0 },
	};
	const char *target = NULL, *sid = NULL, *keyp = NULL, *mode = "good";
	const char *sfile = NULL;
	unsigned int distinct = 20000;
	double bad_rate = 0, rate = 10000, seconds = 5;
	struct sockaddr_storage dst;
	socklen_t dlen;
	struct csmp_signer *signer = NULL;
	struct csmp_key *key = NULL;
	char err[160];
	struct msg m;
	int opt, fd, ret;

	while ((opt = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (opt) {
		case 't': target = optarg; break;
		case 's': sid = optarg; break;
		case 'k': keyp = optarg; break;
		case 'm': mode = optarg; break;
		case 'S': sfile = optarg; break;
		case 'd': distinct = (unsigned int)atoi(optarg); break;
		case 'b': bad_rate = atof(optarg); break;
		case 'r': rate = atof(optarg); break;
		case 'x': seconds = atof(optarg); break;
		default: return 2;
		}
	}
	if (!target || (!sid && !sfile) || (!keyp && strcmp(mode, "unsigned"))) {
		fprintf(stderr, "usage: ops_uplink --target ADDR:PORT --session SID --key PEM --mode MODE\n");
		return 2;
	}
	if (strcmp(mode, "unsigned")) {
		ret = csmp_key_load_pem(keyp, &key);
		if (ret || csmp_signer_new(key, 0, &signer)) {
			fprintf(stderr, "ops_uplink: %s: %s\n", keyp, strerror(-ret));
			return 1;
		}
	}
	if (csmp_hostport_parse(target, -1, &dst, &dlen, err, sizeof(err))) {
		fprintf(stderr, "ops_uplink: --target %s\n", err);
		return 2;
	}
	fd = socket(dst.ss_family, SOCK_DGRAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&dst, dlen)) {
		perror("ops_uplink: connect");
		return 1;
	}
	if (!strcmp(mode, "flood"))
		ret = flood(fd, sfile, signer, distinct, bad_rate, rate, seconds);
	else if (build(&m, sid, 5, signer, mode))
		ret = 1;
	else
		ret = send(fd, m.buf, m.len, 0) == (ssize_t)m.len ? 0 : 1;
	csmp_signer_free(signer);
	csmp_key_put(key);
	close(fd);
	return ret;
}
