// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The listening sockets: one SO_REUSEPORT UDP socket per listening address
 * per worker, bound to what --listen says (normally the wildcard), with
 * IPV6_RECVPKTINFO / IP_PKTINFO so each datagram tells which local address
 * it was sent to, and the control-message helpers that put that address
 * back as the source of the reply. Replying from the address the device
 * used is what lets a VIP on lo (behind csmp_lb) answer as the VIP.
 *
 * csmpd_sockets_open() creates the whole group of one address before the
 * next and then calls csmpd_steer_group: the place where csmp_reuseport
 * (the sk_reuseport program) is attached to the group.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stddef.h>
#include <sys/un.h>
#include <unistd.h>

#include "csmpd.h"

/*
 * "[v6]:port" or "a.b.c.d:port" (the port after the last colon),
 * read by libcsmp's one host:port parser (a port required); a listening
 * address also needs a port other than 0, one a device can be told.
 */
int csmpd_parse_listen(const char *s, struct csmpd_listen *l)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int err;

	memset(l, 0, sizeof(*l));
	if (strlen(s) >= sizeof(l->text))
		return -EINVAL;
	err = csmp_hostport_parse(s, -1, &ss, &len, NULL, 0);
	if (err)
		return err;
	if (len > sizeof(l->addr.in6))
		return -EINVAL;
	memcpy(&l->addr.in6, &ss, len);
	l->addr.len = len;
	if (!(ss.ss_family == AF_INET6 ? l->addr.in6.sin6_port :
					 l->addr.in.sin_port))
		return -EINVAL;
	strcpy(l->text, s);
	return 0;
}

static int setopt(int fd, int level, int name, int val)
{
	return setsockopt(fd, level, name, &val, sizeof(val)) ? -errno : 0;
}

/*
 * One socket of a listening group. An IPv6 socket is dual-stack (IPv4
 * arrives v4-mapped, with IP_PKTINFO and IPV6_PKTINFO both available)
 * unless v6only is asked because an IPv4 socket shares the port.
 */
static int socket_open(const struct csmpd_listen *l, bool v6only)
{
	int fd, err, af = l->addr.sa.sa_family;

	fd = socket(af, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	err = setopt(fd, SOL_SOCKET, SO_REUSEPORT, 1);
	if (err)
		goto err_close;
	/* Room for bursts while a worker signs: try the privileged variant
	 * first (root may exceed rmem_max), then the ordinary one. */
	if (setopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, 4 << 20))
		setopt(fd, SOL_SOCKET, SO_RCVBUF, 4 << 20);
	if (af == AF_INET6) {
		err = setopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, v6only);
		if (err)
			goto err_close;
		err = setopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1);
		if (err)
			goto err_close;
	}
	err = setopt(fd, IPPROTO_IP, IP_PKTINFO, 1);
	if (err && af == AF_INET)
		goto err_close;
	if (bind(fd, &l->addr.sa, l->addr.len)) {
		err = -errno;
		goto err_close;
	}
	return fd;

err_close:
	close(fd);
	return err;
}

int csmpd_socket_open(const struct csmpd_listen *l)
{
	return socket_open(l, false);
}

/* An IPv6 wildcard that shares its port with an IPv4 listener must not
 * also take IPv4, or the two groups collide. */
static bool needs_v6only(const struct csmpd_config *c, unsigned int i)
{
	const struct csmpd_listen *l = &c->listen[i];
	unsigned int j;

	if (l->addr.sa.sa_family != AF_INET6)
		return false;
	for (j = 0; j < c->n_listen; j++)
		if (c->listen[j].addr.sa.sa_family == AF_INET &&
		    c->listen[j].addr.in.sin_port == l->addr.in6.sin6_port)
			return true;
	return false;
}

/*
 * One csmpd per listening address. SO_REUSEPORT would let a second csmpd
 * on the same address and port join the group and silently take a share
 * of the devices, so each address is first claimed with an abstract Unix
 * socket named after it: the kernel frees the name when the holder dies,
 * however it dies (kill -9 too), and the name is per network namespace,
 * as the UDP port is. The claim listens, so a second csmpd can ask it
 * who holds it (SO_PEERCRED). Returns the claim's fd or -EADDRINUSE.
 */
static int claim_listen(const struct csmpd_listen *l)
{
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	char addr[INET6_ADDRSTRLEN];
	socklen_t len;
	int fd, n, err;
	__u16 port;

	if (l->addr.sa.sa_family == AF_INET6) {
		inet_ntop(AF_INET6, &l->addr.in6.sin6_addr, addr, sizeof(addr));
		port = ntohs(l->addr.in6.sin6_port);
	} else {
		inet_ntop(AF_INET, &l->addr.in.sin_addr, addr, sizeof(addr));
		port = ntohs(l->addr.in.sin_port);
	}
	/* sun_path[0] = 0: the abstract namespace. */
	n = snprintf(un.sun_path + 1, sizeof(un.sun_path) - 1,
		     "csmpd/udp/%s/%u", addr, port);
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (!bind(fd, (struct sockaddr *)&un, len) && !listen(fd, 1))
		return fd;
	err = -errno;
	close(fd);
	if (err == -EADDRINUSE) {
		struct ucred cr = { 0 };
		socklen_t crl = sizeof(cr);

		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && !connect(fd, (struct sockaddr *)&un, len) &&
		    !getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &crl) &&
		    cr.pid > 0)
			csmpd_log(CSMPD_CRIT, "LISTEN_BUSY",
				  "%s is served by another csmpd (pid %d): stop it first",
				  l->text, (int)cr.pid);
		else
			csmpd_log(CSMPD_CRIT, "LISTEN_BUSY",
				  "%s is served by another csmpd: stop it first",
				  l->text);
		if (fd >= 0)
			close(fd);
	}
	return err;
}

int csmpd_sockets_open(struct csmpd_daemon *d)
{
	unsigned int i, w;
	int fds[CSMPD_MAX_WORKERS];
	int err;

	for (i = 0; i < CSMPD_MAX_LISTEN; i++)
		d->listen_claim[i] = -1;
	for (i = 0; i < d->cfg.n_listen; i++) {
		err = claim_listen(&d->cfg.listen[i]);
		if (err < 0)
			goto err_close;
		d->listen_claim[i] = err;
	}

	for (w = 0; w < d->n_workers; w++) {
		for (i = 0; i < CSMPD_MAX_SOCKS; i++)
			d->workers[w].socks[i] = -1;
		d->workers[w].n_socks = d->cfg.n_listen;
		d->workers[w].req_sock = -1;
	}

	for (i = 0; i < d->cfg.n_listen; i++) {
		const struct csmpd_listen *l = &d->cfg.listen[i];
		bool v6only = needs_v6only(&d->cfg, i);

		for (w = 0; w < d->n_workers; w++) {
			int fd = socket_open(l, v6only);

			if (fd < 0) {
				err = fd;
				csmpd_log(CSMPD_ERR, "LISTEN_FAIL",
					  "cannot listen on %s: %s", l->text,
					  strerror(-err));
				goto err_close;
			}
			d->workers[w].socks[i] = fd;
			fds[w] = fd;
		}
		/* The group is complete: sk_reuseport steering goes here. */
		if (d->cfg.steer_workers) {
			err = csmpd_steer_group(d, i, fds, d->n_workers);
			if (err)
				goto err_close;
		}
		csmpd_log(CSMPD_INFO, "LISTEN", "listening on %s (%u sockets%s)",
			  l->text, d->n_workers, v6only ? ", IPv6 only" : "");
	}
	/* Each worker's request socket, on its port of the reply block. */
	for (w = 0; w < d->n_workers; w++) {
		err = csmpd_req_socket(d, w);
		if (err)
			goto err_close;
	}
	return 0;

err_close:
	csmpd_sockets_close(d);
	return err;
}

void csmpd_sockets_close(struct csmpd_daemon *d)
{
	unsigned int i, w;

	for (i = 0; i < CSMPD_MAX_LISTEN; i++)
		if (d->listen_claim[i] >= 0) {
			close(d->listen_claim[i]);
			d->listen_claim[i] = -1;
		}
	if (!d->workers)
		return;
	for (w = 0; w < d->n_workers; w++)
		for (i = 0; i < CSMPD_MAX_SOCKS; i++)
			if (d->workers[w].socks[i] >= 0) {
				close(d->workers[w].socks[i]);
				d->workers[w].socks[i] = -1;
			}
}

/*
 * The destination of a received datagram from its control messages.
 * IPV6_PKTINFO wins on an IPv6 socket (IPv4 shows up v4-mapped there, which
 * is also what the reply's IPV6_PKTINFO needs); IP_PKTINFO otherwise.
 * Returns 0, or -ENOENT when neither was present.
 */
int csmpd_rx_cmsg(struct msghdr *msg, struct csmpd_local *dst)
{
	struct cmsghdr *c;
	bool have4 = false;
	struct in_pktinfo pi4;

	dst->family = 0;
	for (c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
		if (c->cmsg_level == IPPROTO_IPV6 &&
		    c->cmsg_type == IPV6_PKTINFO &&
		    c->cmsg_len >= CMSG_LEN(sizeof(struct in6_pktinfo))) {
			struct in6_pktinfo pi;

			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			dst->family = AF_INET6;
			dst->a6 = pi.ipi6_addr;
			dst->ifindex = (int)pi.ipi6_ifindex;
			return 0;
		}
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO &&
		    c->cmsg_len >= CMSG_LEN(sizeof(struct in_pktinfo))) {
			memcpy(&pi4, CMSG_DATA(c), sizeof(pi4));
			have4 = true;
		}
	}
	if (!have4)
		return -ENOENT;
	dst->family = AF_INET;
	dst->a4 = pi4.ipi_addr;		/* the header's destination */
	dst->ifindex = pi4.ipi_ifindex;
	return 0;
}

/*
 * Fill tx->msg for one reply. The source is the address the request was
 * sent to; the interface is left to routing (0) except for link-local
 * sources, which are only meaningful on the interface they came in on.
 * A multicast destination cannot be a source: routing picks one then.
 */
void csmpd_tx_msghdr(struct csmpd_tx *tx)
{
	struct msghdr *m = &tx->msg;
	struct cmsghdr *c;

	memset(m, 0, sizeof(*m));
	tx->iov.iov_base = tx->buf;
	tx->iov.iov_len = tx->len;
	m->msg_name = &tx->peer.sa;
	m->msg_namelen = tx->peer.len;
	m->msg_iov = &tx->iov;
	m->msg_iovlen = 1;
	memset(&tx->ctrl, 0, sizeof(tx->ctrl));

	if (tx->src.family == AF_INET6 &&
	    !IN6_IS_ADDR_MULTICAST(&tx->src.a6) &&
	    !IN6_IS_ADDR_UNSPECIFIED(&tx->src.a6)) {
		struct in6_pktinfo pi = { .ipi6_addr = tx->src.a6 };

		if (IN6_IS_ADDR_LINKLOCAL(&tx->src.a6))
			pi.ipi6_ifindex = (unsigned int)tx->src.ifindex;
		m->msg_control = tx->ctrl.buf;
		m->msg_controllen = CMSG_SPACE(sizeof(pi));
		c = CMSG_FIRSTHDR(m);
		c->cmsg_level = IPPROTO_IPV6;
		c->cmsg_type = IPV6_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
	} else if (tx->src.family == AF_INET &&
		   !IN_MULTICAST(ntohl(tx->src.a4.s_addr)) &&
		   tx->src.a4.s_addr != INADDR_ANY) {
		struct in_pktinfo pi = { .ipi_spec_dst = tx->src.a4 };

		m->msg_control = tx->ctrl.buf;
		m->msg_controllen = CMSG_SPACE(sizeof(pi));
		c = CMSG_FIRSTHDR(m);
		c->cmsg_level = IPPROTO_IP;
		c->cmsg_type = IP_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
	}
}
