// SPDX-License-Identifier: GPL-2.0-only
/*
 * The two ends of the csmp_srcfix network test, over real UDP sockets.
 *
 *   steer_udp_peer serve PORT...
 *	A third-party head-end at its simplest: one wildcard dual-stack
 *	socket per port, answering every datagram with a CoAP ACK 2.03
 *	(MID echoed) by plain sendto, so the kernel picks the source
 *	address: the interface's own, not the VIP the device addressed.
 *	Runs until SIGTERM/SIGINT.
 *   steer_udp_peer ask ADDR PORT
 *	A device: sends the agent's registration header (CON POST /r,
 *	MID 0x1234) to ADDR:PORT and prints "from=ADDR port=PORT" of the
 *	answer. Exit 0 with an answer, 1 when none came within 2 s (the
 *	kernel drops a datagram whose checksum is wrong before we see it).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <netinet/in.h>

#define MAX_PORTS 4

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int serve(int argc, char **argv)
{
	struct pollfd p[MAX_PORTS];
	int n = 0, i, zero = 0;

	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	for (i = 0; i < argc && n < MAX_PORTS; i++, n++) {
		struct sockaddr_in6 a = { .sin6_family = AF_INET6,
					  .sin6_port = htons((uint16_t)atoi(argv[i])),
					  .sin6_addr = IN6ADDR_ANY_INIT };

		p[n].fd = socket(AF_INET6, SOCK_DGRAM, 0);
		p[n].events = POLLIN;
		if (p[n].fd < 0 ||
		    setsockopt(p[n].fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero,
			       sizeof(zero)) ||
		    bind(p[n].fd, (struct sockaddr *)&a, sizeof(a))) {
			perror("steer_udp_peer: serve");
			return 1;
		}
	}
	printf("ready\n");
	fflush(stdout);
	while (!stop) {
		if (poll(p, (nfds_t)n, 200) <= 0)
			continue;
		for (i = 0; i < n; i++) {
			struct sockaddr_storage from;
			socklen_t fl = sizeof(from);
			uint8_t in[2048], ack[4] = { 0x60, 0x43, 0, 0 };
			ssize_t len;

			if (!(p[i].revents & POLLIN))
				continue;
			len = recvfrom(p[i].fd, in, sizeof(in), MSG_DONTWAIT,
				       (struct sockaddr *)&from, &fl);
			if (len < 4)
				continue;
			ack[2] = in[2];
			ack[3] = in[3];
			sendto(p[i].fd, ack, sizeof(ack), 0,
			       (struct sockaddr *)&from, fl);
		}
	}
	return 0;
}

static int ask(const char *addr, const char *port)
{
	static const uint8_t reg[] = { 0x40, 0x02, 0x12, 0x34, 0xb1, 'r',
				       0xff, 0x02, 0x94, 0x00 };
	struct sockaddr_storage to = { 0 }, from;
	socklen_t tl, fl = sizeof(from);
	char host[INET6_ADDRSTRLEN];
	struct pollfd p;
	uint8_t buf[2048];
	ssize_t n;
	int fd;

	if (inet_pton(AF_INET6, addr,
		      &((struct sockaddr_in6 *)&to)->sin6_addr) == 1) {
		((struct sockaddr_in6 *)&to)->sin6_family = AF_INET6;
		((struct sockaddr_in6 *)&to)->sin6_port = htons((uint16_t)atoi(port));
		tl = sizeof(struct sockaddr_in6);
	} else if (inet_pton(AF_INET, addr,
			     &((struct sockaddr_in *)&to)->sin_addr) == 1) {
		((struct sockaddr_in *)&to)->sin_family = AF_INET;
		((struct sockaddr_in *)&to)->sin_port = htons((uint16_t)atoi(port));
		tl = sizeof(struct sockaddr_in);
	} else {
		fprintf(stderr, "steer_udp_peer: bad address %s\n", addr);
		return 2;
	}
	fd = socket(to.ss_family, SOCK_DGRAM, 0);
	if (fd < 0 || sendto(fd, reg, sizeof(reg), 0, (struct sockaddr *)&to,
			     tl) != (ssize_t)sizeof(reg)) {
		perror("steer_udp_peer: ask");
		return 2;
	}
	p.fd = fd;
	p.events = POLLIN;
	if (poll(&p, 1, 2000) != 1) {
		printf("no answer\n");
		return 1;
	}
	n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
	if (n != 4 || buf[1] != 0x43 || buf[2] != 0x12 || buf[3] != 0x34) {
		printf("unexpected answer (%zd bytes)\n", n);
		return 1;
	}
	if (from.ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&from)->sin6_addr,
			  host, sizeof(host));
	else
		inet_ntop(AF_INET, &((struct sockaddr_in *)&from)->sin_addr,
			  host, sizeof(host));
	printf("from=%s port=%u\n", host,
	       ntohs(((struct sockaddr_in *)&from)->sin_port));
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && !strcmp(argv[1], "serve"))
		return serve(argc - 2, argv + 2);
	if (argc == 4 && !strcmp(argv[1], "ask"))
		return ask(argv[2], argv[3]);
	fprintf(stderr,
		"usage: steer_udp_peer serve PORT... | ask ADDR PORT\n"
		"example: steer_udp_peer serve 61628 5683 & steer_udp_peer ask ::1 61628\n");
	return 2;
}
