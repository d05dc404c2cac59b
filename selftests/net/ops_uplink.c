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
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

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

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "target", required_argument, NULL, 't' },
		{ "session", required_argument, NULL, 's' },
		{ "key", required_argument, NULL, 'k' },
		{ "mode", required_argument, NULL, 'm' },
		{ 0 },
	};
	const char *target = NULL, *sid = NULL, *keyp = NULL, *mode = "good";
	uint8_t buf[1024], *pl, ct[8];
	struct addrinfo hints = { .ai_socktype = SOCK_DGRAM }, *ai;
	struct csmp_signer *signer;
	struct csmp_key *key;
	char host[128], *port;
	size_t len = 0, plen, n;
	uint32_t now = (uint32_t)time(NULL), nb = now - 60, na = now + 3600;
	int opt, fd, ret, uptime_at;

	while ((opt = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (opt) {
		case 't': target = optarg; break;
		case 's': sid = optarg; break;
		case 'k': keyp = optarg; break;
		case 'm': mode = optarg; break;
		default: return 2;
		}
	}
	if (!target || !sid || (!keyp && strcmp(mode, "unsigned"))) {
		fprintf(stderr, "usage: ops_uplink --target ADDR:PORT --session SID --key PEM --mode MODE\n");
		return 2;
	}
	/* CoAP NON POST /c, MID from the clock, no token. */
	buf[len++] = 0x50;
	buf[len++] = 0x02;
	buf[len++] = (uint8_t)(now >> 8);
	buf[len++] = (uint8_t)now;
	buf[len++] = 0xb1;
	buf[len++] = 'c';
	buf[len++] = 0xff;
	pl = buf + len;
	plen = 0;
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
	pl[plen++] = 0x16;			/* Uptime{sysUpTime 5} */
	pl[plen++] = 0x02;
	pl[plen++] = 0x08;
	uptime_at = (int)plen;
	pl[plen++] = 0x05;

	if (!strcmp(mode, "expired")) {
		nb = now - 7200;
		na = now - 3600;
	} else if (!strcmp(mode, "notyet")) {
		nb = now + 3600;
		na = now + 7200;
	}
	if (strcmp(mode, "unsigned")) {
		ret = csmp_key_load_pem(keyp, &key);
		if (ret || csmp_signer_new(key, 0, &signer)) {
			fprintf(stderr, "ops_uplink: %s: %s\n", keyp, strerror(-ret));
			return 1;
		}
		ret = csmp_sig_append(signer, pl, plen,
				      sizeof(buf) - len, nb, na);
		if (ret < 0) {
			fprintf(stderr, "ops_uplink: sign: %s\n", strerror(-ret));
			return 1;
		}
		plen = (size_t)ret;
		if (!strcmp(mode, "payload"))
			pl[uptime_at] ^= 0x01;
		else if (!strcmp(mode, "sig"))
			pl[plen - 1] ^= 0x01;	/* last byte of s */
		csmp_signer_free(signer);
		csmp_key_put(key);
	}
	len += plen;

	snprintf(host, sizeof(host), "%s", target);
	port = strrchr(host, ':');
	if (!port)
		return 2;
	*port++ = 0;
	if (host[0] == '[') {
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = 0;
	}
	if (getaddrinfo(host, port, &hints, &ai))
		return 1;
	fd = socket(ai->ai_family, SOCK_DGRAM, 0);
	if (fd < 0 || sendto(fd, buf, len, 0, ai->ai_addr, ai->ai_addrlen) !=
			      (ssize_t)len) {
		perror("ops_uplink: sendto");
		return 1;
	}
	freeaddrinfo(ai);
	close(fd);
	return 0;
}
