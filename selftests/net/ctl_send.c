// SPDX-License-Identifier: GPL-2.0-only
/*
 * One raw request on csmpd's control socket, for the tests that send what
 * csmpctl never would (a malformed "eid"):
 *
 *   ctl_send SOCKET JSON
 *
 * sends JSON and a newline, prints the answer line (5 s at most). Exit 0
 * when an answer came, 1 otherwise.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	static char buf[1 << 20];
	size_t len = 0;
	int fd, ret = 1;

	if (argc != 3) {
		fprintf(stderr, "usage: ctl_send SOCKET JSON\n");
		return 1;
	}
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", argv[1]);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    send(fd, argv[2], strlen(argv[2]), MSG_NOSIGNAL) < 0 ||
	    send(fd, "\n", 1, MSG_NOSIGNAL) < 0) {
		fprintf(stderr, "ctl_send: %s: %s\n", argv[1], strerror(errno));
		goto out;
	}
	while (len < sizeof(buf) - 1) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, 5000) <= 0)
			break;
		n = recv(fd, buf + len, sizeof(buf) - 1 - len, 0);
		if (n <= 0)
			break;
		len += (size_t)n;
		if (memchr(buf, '\n', len)) {
			ret = 0;
			break;
		}
	}
	fwrite(buf, 1, len, stdout);
out:
	if (fd >= 0)
		close(fd);
	return ret;
}
