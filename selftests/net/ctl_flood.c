// SPDX-License-Identifier: GPL-2.0-only
/*
 * The control socket attack of issue 16 item 4, for csmpd_ctl_flood.sh:
 *
 *   ctl_flood SOCKET IDLE SLOW SECONDS
 *
 * opens IDLE connections that never send anything and SLOW connections
 * that send a large batch of requests (devices and stats, about a
 * megabyte of answers) in one write and never read, prints "ready", then
 * holds them for SECONDS and prints what csmpd closed:
 * "idle_closed=N slow_closed=N first_close_ms=N" (first_close_ms: -1 when
 * nothing was closed). Exit 0, or 1 when the attack could not be set up.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define BATCH	2000

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int dial(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		fprintf(stderr, "ctl_flood: %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

int main(int argc, char **argv)
{
	static const char dev[] = "{\"cmd\":\"devices\"}\n";
	static const char st[] = "{\"cmd\":\"stats\"}\n";
	int idle, slow, n, i, closed_idle = 0, closed_slow = 0;
	long long t0, end, first = -1;
	struct pollfd *pfd;
	char *batch, *p;

	if (argc != 5) {
		fprintf(stderr, "usage: ctl_flood SOCKET IDLE SLOW SECONDS\n");
		return 1;
	}
	idle = atoi(argv[2]);
	slow = atoi(argv[3]);
	n = idle + slow;
	pfd = calloc((size_t)n, sizeof(*pfd));
	batch = malloc(BATCH * sizeof(dev));
	if (!pfd || !batch)
		return 1;
	for (p = batch, i = 0; i < BATCH; i++) {
		const char *q = i % 2 ? st : dev;

		memcpy(p, q, strlen(q));
		p += strlen(q);
	}
	t0 = now_ms();
	for (i = 0; i < n; i++) {
		pfd[i].fd = dial(argv[1]);
		pfd[i].events = POLLIN;
		if (pfd[i].fd < 0)
			return 1;
		/* Whatever csmpd sends, this side holds as little as it may. */
		setsockopt(pfd[i].fd, SOL_SOCKET, SO_RCVBUF, &(int){ 1024 },
			   sizeof(int));
	}
	for (i = idle; i < n; i++)
		if (send(pfd[i].fd, batch, (size_t)(p - batch), MSG_NOSIGNAL) !=
		    p - batch) {
			fprintf(stderr, "ctl_flood: send: %s\n", strerror(errno));
			return 1;
		}
	printf("ready\n");
	fflush(stdout);
	end = now_ms() + atoll(argv[4]) * 1000;
	/* An idle connection sees EOF when closed; a slow one sees its
	 * queued answer first, so it is watched with MSG_PEEK-free checks
	 * on POLLHUP/POLLRDHUP only: it never reads. */
	for (i = idle; i < n; i++)
		pfd[i].events = POLLRDHUP;
	while (now_ms() < end) {
		int left = (int)(end - now_ms());

		if (poll(pfd, (nfds_t)n, left > 0 ? left : 0) <= 0)
			continue;
		for (i = 0; i < n; i++) {
			char c;

			if (pfd[i].fd < 0 || !pfd[i].revents)
				continue;
			if (i < idle && recv(pfd[i].fd, &c, 1, MSG_DONTWAIT) > 0)
				continue;	/* "too many clients", then EOF */
			if (i >= idle && !(pfd[i].revents &
					   (POLLHUP | POLLRDHUP | POLLERR)))
				continue;
			if (first < 0)
				first = now_ms() - t0;
			*(i < idle ? &closed_idle : &closed_slow) += 1;
			close(pfd[i].fd);
			pfd[i].fd = -1;
		}
	}
	printf("idle_closed=%d slow_closed=%d first_close_ms=%lld\n",
	       closed_idle, closed_slow, first);
	for (i = 0; i < n; i++)
		if (pfd[i].fd >= 0)
			close(pfd[i].fd);
	free(pfd);
	free(batch);
	return 0;
}
