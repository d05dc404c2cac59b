// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * csmp-sim engine: sockets, the deadline heap, batched I/O and the main
 * loop. In prefix mode a few sockets bound to [::]:0 carry every device;
 * each datagram leaves with the device's own source address (IPV6_PKTINFO,
 * allowed by IPV6_FREEBIND), and the answer is routed back by the local /64
 * on lo and matched to its device by the destination address the kernel
 * reports (IPV6_RECVPKTINFO). In ports mode each device owns one socket, so
 * the head-end tells devices apart by source port. Nothing here knows CSMP:
 * proto.c decides what a device sends and what it makes of an answer.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>

#include "sim.h"

#define SIM_SOCKBUF	(8 << 20)
#define SIM_TAG_DEV	(1ull << 32)	/* epoll data: per-device socket */
#define SIM_TAG_SIG	(2ull << 32)

uint64_t sim_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

/* xorshift32: per-device streams, reproducible under --seed. */
uint32_t sim_rand(uint32_t *x)
{
	uint32_t v = *x;

	v ^= v << 13;
	v ^= v >> 17;
	v ^= v << 5;
	*x = v;
	return v;
}

uint64_t sim_rand_between(uint32_t *x, uint64_t lo, uint64_t hi)
{
	uint64_t r;

	if (hi <= lo)
		return lo;
	r = ((uint64_t)sim_rand(x) << 32) | sim_rand(x);
	return lo + r % (hi - lo + 1);
}

/* ---- deadline heap: one entry per device, O(log n) per operation ---- */

static inline uint64_t hkey(const struct sim *s, uint32_t i)
{
	return s->dev[s->heap[i]].deadline;
}

static void heap_swap(struct sim *s, uint32_t a, uint32_t b)
{
	uint32_t t = s->heap[a];

	s->heap[a] = s->heap[b];
	s->heap[b] = t;
	s->dev[s->heap[a]].hpos = a;
	s->dev[s->heap[b]].hpos = b;
}

static void heap_up(struct sim *s, uint32_t i)
{
	while (i > 0) {
		uint32_t p = (i - 1) / 2;

		if (hkey(s, p) <= hkey(s, i))
			break;
		heap_swap(s, i, p);
		i = p;
	}
}

static void heap_down(struct sim *s, uint32_t i)
{
	for (;;) {
		uint32_t l = 2 * i + 1, r = l + 1, m = i;

		if (l < s->heap_n && hkey(s, l) < hkey(s, m))
			m = l;
		if (r < s->heap_n && hkey(s, r) < hkey(s, m))
			m = r;
		if (m == i)
			break;
		heap_swap(s, i, m);
		i = m;
	}
}

static void heap_remove(struct sim *s, uint32_t idx)
{
	uint32_t i = s->dev[idx].hpos;

	if (i == SIM_NOPOS)
		return;
	s->dev[idx].hpos = SIM_NOPOS;
	if (i == --s->heap_n)
		return;
	s->heap[i] = s->heap[s->heap_n];
	s->dev[s->heap[i]].hpos = i;
	heap_down(s, i);
	heap_up(s, i);
}

/* Arm (or re-arm) a device's only timer; deadline 0 disarms it. */
void sim_timer_set(struct sim *s, uint32_t idx, uint64_t deadline)
{
	struct sim_dev *d = &s->dev[idx];

	heap_remove(s, idx);
	if (!deadline)
		return;
	d->deadline = deadline;
	d->hpos = s->heap_n;
	s->heap[s->heap_n++] = idx;
	heap_up(s, d->hpos);
}

/* ---- transmit ---- */

static void sock_flush(struct sim *s, struct sim_sock *k)
{
	unsigned int done = 0;

	while (done < k->n) {
		int r = sendmmsg(k->fd, k->msg + done, k->n - done,
				 MSG_DONTWAIT);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			/* The datagram is lost, as over a radio; count it. */
			s->st.tx_errors++;
			done++;
			continue;
		}
		for (int i = 0; i < r; i++)
			s->st.tx_bytes += k->msg[done + i].msg_len;
		s->st.tx_datagrams += (uint64_t)r;
		done += (unsigned int)r;
	}
	k->n = 0;
}

static void flush_all(struct sim *s)
{
	for (unsigned int i = 0; i < s->n_socks; i++)
		if (s->socks[i]->n)
			sock_flush(s, s->socks[i]);
}

/* The device's own address in prefix mode: the /64 + its modified EUI-64. */
void sim_dev_addr(const struct sim *s, uint32_t idx, struct in6_addr *a)
{
	uint64_t iid = sim_dev_eid(s, idx) ^ (0x02ull << 56);

	memcpy(a->s6_addr, s->o.src_prefix.s6_addr, 8);
	for (int i = 0; i < 8; i++)
		a->s6_addr[8 + i] = (uint8_t)(iid >> (56 - 8 * i));
}

/*
 * A buffer for the device's next datagram. In prefix mode it is a slot of
 * the device's socket batch; in ports mode one scratch slot sent at once.
 */
uint8_t *sim_tx_slot(struct sim *s, uint32_t idx)
{
	struct sim_sock *k = s->socks[s->dev[idx].sock];

	if (k->n == SIM_BATCH)
		sock_flush(s, k);
	return k->data[k->n];
}

void sim_tx_commit(struct sim *s, uint32_t idx, size_t len)
{
	struct sim_sock *k = s->socks[s->dev[idx].sock];
	unsigned int n = k->n;

	if (!s->first_send)
		s->first_send = s->now;
	if (sim_radio_lost(s, idx)) {
		s->st.tx_lost++;	/* --loss: made, never arrives */
		return;
	}
	k->iov[n].iov_len = len;
	if (s->src_mode == SIM_SRC_PREFIX) {
		struct cmsghdr *c = CMSG_FIRSTHDR(&k->msg[n].msg_hdr);
		struct in6_pktinfo *pi = (struct in6_pktinfo *)CMSG_DATA(c);

		sim_dev_addr(s, idx, &pi->ipi6_addr);
		pi->ipi6_ifindex = 0;
		k->n++;
		return;
	}
	/* Ports mode: the device's own socket, no batching possible. */
	if (sendto(s->dev_fd[idx], k->data[n], len, MSG_DONTWAIT,
		   (struct sockaddr *)&s->o.target, s->o.target_len) < 0) {
		s->st.tx_errors++;
		return;
	}
	s->st.tx_datagrams++;
	s->st.tx_bytes += len;
}

/* ---- receive ---- */

static int dev_from_dst(const struct sim *s, const struct msghdr *mh,
			uint32_t *idx)
{
	struct cmsghdr *c;

	for (c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR((struct msghdr *)mh, c)) {
		const struct in6_pktinfo *pi;
		uint64_t iid = 0, eid;

		if (c->cmsg_level != IPPROTO_IPV6 || c->cmsg_type != IPV6_PKTINFO)
			continue;
		pi = (const struct in6_pktinfo *)CMSG_DATA(c);
		if (memcmp(pi->ipi6_addr.s6_addr, s->o.src_prefix.s6_addr, 8))
			return -ENOENT;
		for (int i = 0; i < 8; i++)
			iid = (iid << 8) | pi->ipi6_addr.s6_addr[8 + i];
		eid = iid ^ (0x02ull << 56);
		if (eid - s->o.eid_base >= s->o.devices)
			return -ENOENT;
		*idx = (uint32_t)(eid - s->o.eid_base);
		return 0;
	}
	return -ENOENT;
}

/*
 * When the kernel queued the datagram (SO_TIMESTAMPNS, CLOCK_REALTIME) on
 * the monotonic clock, so an RTT leaves out the sim's own queueing.
 */
static uint64_t rx_time(const struct sim *s, struct msghdr *mh)
{
	struct cmsghdr *c;

	for (c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		const struct timespec *ts;
		uint64_t rt;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_TIMESTAMPNS)
			continue;
		ts = (const struct timespec *)CMSG_DATA(c);
		rt = (uint64_t)ts->tv_sec * NSEC_PER_SEC + (uint64_t)ts->tv_nsec;
		if (rt < s->rt_offset || rt - s->rt_offset > s->now)
			return s->now;
		return rt - s->rt_offset;
	}
	return s->now;
}

/* Drain one socket; dev_idx is the owner in ports mode, else SIM_NOPOS. */
static void sock_drain(struct sim *s, int fd, uint32_t dev_idx)
{
	static uint8_t buf[SIM_BATCH][SIM_BUF];
	static union {
		char b[CMSG_SPACE(sizeof(struct in6_pktinfo)) +
		       CMSG_SPACE(sizeof(struct timespec))];
		struct cmsghdr align;
	} cm[SIM_BATCH];
	struct mmsghdr mm[SIM_BATCH];
	struct iovec iov[SIM_BATCH];
	int turns = 0;

	/* Bounded so timers and sends are not starved under a flood. */
	while (turns++ < 16) {
		int n;

		for (int i = 0; i < SIM_BATCH; i++) {
			iov[i].iov_base = buf[i];
			iov[i].iov_len = SIM_BUF;
			memset(&mm[i].msg_hdr, 0, sizeof(mm[i].msg_hdr));
			mm[i].msg_hdr.msg_iov = &iov[i];
			mm[i].msg_hdr.msg_iovlen = 1;
			mm[i].msg_hdr.msg_control = cm[i].b;
			mm[i].msg_hdr.msg_controllen = sizeof(cm[i].b);
		}
		n = recvmmsg(fd, mm, SIM_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			return;
		s->now = sim_mono_ns();
		for (int i = 0; i < n; i++) {
			uint32_t idx = dev_idx;

			s->st.acks_rx++;
			s->st.rx_bytes += mm[i].msg_len;
			if (mm[i].msg_hdr.msg_flags & MSG_TRUNC) {
				s->st.rx_malformed++;
				continue;
			}
			if (idx == SIM_NOPOS &&
			    dev_from_dst(s, &mm[i].msg_hdr, &idx)) {
				s->st.rx_unknown_dev++;
				continue;
			}
			s->rx_at = rx_time(s, &mm[i].msg_hdr);
			sim_dev_rx(s, idx, buf[i], mm[i].msg_len);
		}
		if (n < SIM_BATCH)
			return;
	}
}

/* ---- setup ---- */

static void sock_bufs(int fd)
{
	int v = SIM_SOCKBUF;

	/* FORCE works as root; the plain call is capped by rmem_max. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &v, sizeof(v)))
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &v, sizeof(v)))
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v));
}

static int open_udp(int family, bool prefix_mode)
{
	struct sockaddr_storage any = { .ss_family = (sa_family_t)family };
	int fd, on = 1, err;

	fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (prefix_mode &&
	    (setsockopt(fd, IPPROTO_IPV6, IPV6_FREEBIND, &on, sizeof(on)) ||
	     setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof(on)))) {
		err = -errno;
		goto err_close;
	}
	sock_bufs(fd);
	setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof(on));
	if (bind(fd, (struct sockaddr *)&any, family == AF_INET6 ?
		 sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in))) {
		err = -errno;
		goto err_close;
	}
	return fd;
err_close:
	close(fd);
	return err;
}

static int epoll_add(int epfd, int fd, uint64_t data)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = data };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

static struct sim_sock *sock_new(struct sim *s, int fd)
{
	struct sim_sock *k = calloc(1, sizeof(*k));

	if (!k)
		return NULL;
	k->fd = fd;
	for (int i = 0; i < SIM_BATCH; i++) {
		struct msghdr *mh = &k->msg[i].msg_hdr;

		k->iov[i].iov_base = k->data[i];
		mh->msg_iov = &k->iov[i];
		mh->msg_iovlen = 1;
		mh->msg_name = &s->o.target;
		mh->msg_namelen = s->o.target_len;
		if (s->src_mode == SIM_SRC_PREFIX) {
			struct cmsghdr *c;

			mh->msg_control = k->cmsg[i].buf;
			mh->msg_controllen = sizeof(k->cmsg[i].buf);
			c = CMSG_FIRSTHDR(mh);
			c->cmsg_level = IPPROTO_IPV6;
			c->cmsg_type = IPV6_PKTINFO;
			c->cmsg_len = CMSG_LEN(sizeof(struct in6_pktinfo));
		}
	}
	return k;
}

static bool target_is_loopback(const struct sim_opts *o)
{
	const struct sockaddr_in6 *t = (const struct sockaddr_in6 *)&o->target;

	return o->target.ss_family == AF_INET6 &&
	       IN6_IS_ADDR_LOOPBACK(&t->sin6_addr);
}

static int setup_prefix(struct sim *s)
{
	int err;

	if (!s->o.src_prefix_set) {
		/* Unique per process: tests and demos may run side by side. */
		uint16_t p = (uint16_t)getpid();

		inet_pton(AF_INET6, "fd00:c5::", &s->o.src_prefix);
		s->o.src_prefix.s6_addr[6] = (uint8_t)(p >> 8);
		s->o.src_prefix.s6_addr[7] = (uint8_t)p;
	}
	memset(s->o.src_prefix.s6_addr + 8, 0, 8);
	err = sim_route_local(&s->o.src_prefix, 64, true);
	if (err == -EEXIST)
		return 0;	/* someone's route: use it, leave it */
	if (err)
		return err;
	s->route_added = true;
	return 0;
}

static int setup_ports(struct sim *s)
{
	struct rlimit rl;
	int err;

	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < s->o.devices + 64u) {
		rl.rlim_cur = rl.rlim_max;
		if (rl.rlim_cur < s->o.devices + 64u) {
			rl.rlim_cur = rl.rlim_max = s->o.devices + 64u;
		}
		if (setrlimit(RLIMIT_NOFILE, &rl)) {
			fprintf(stderr, "csmp-sim: %u devices need %u file "
				"descriptors in ports mode: %s\n", s->o.devices,
				s->o.devices + 64u, strerror(errno));
			return -errno;
		}
	}
	s->dev_fd = malloc(sizeof(int) * s->o.devices);
	if (!s->dev_fd)
		return -ENOMEM;
	for (uint32_t i = 0; i < s->o.devices; i++)
		s->dev_fd[i] = -1;
	for (uint32_t i = 0; i < s->o.devices; i++) {
		int fd = open_udp(s->o.target.ss_family, false);

		if (fd < 0)
			return fd;
		s->dev_fd[i] = fd;
		/* Small buffers: one device has one datagram in flight. */
		err = epoll_add(s->epfd, fd, SIM_TAG_DEV | i);
		if (err)
			return err;
	}
	return 0;
}

int sim_setup(struct sim *s)
{
	unsigned int nsock;
	sigset_t mask;
	int err, fd;

	s->dev = calloc(s->o.devices, sizeof(*s->dev));
	s->heap = calloc(s->o.devices, sizeof(*s->heap));
	if (!s->dev || !s->heap)
		return -ENOMEM;
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (s->epfd < 0)
		return -errno;

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	s->sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (s->sigfd < 0)
		return -errno;
	err = epoll_add(s->epfd, s->sigfd, SIM_TAG_SIG);
	if (err)
		return err;

	s->src_mode = s->o.src_mode;
	if (s->src_mode == SIM_SRC_AUTO)
		s->src_mode = s->o.target.ss_family == AF_INET6 &&
			      geteuid() == 0 &&
			      (target_is_loopback(&s->o) || s->o.src_prefix_set) ?
			      SIM_SRC_PREFIX : SIM_SRC_PORTS;
	if (s->src_mode == SIM_SRC_PREFIX) {
		if (s->o.target.ss_family != AF_INET6) {
			fprintf(stderr, "csmp-sim: --src prefix needs an IPv6 target\n");
			return -EAFNOSUPPORT;
		}
		err = setup_prefix(s);
		if (err) {
			if (s->o.src_mode == SIM_SRC_PREFIX) {
				fprintf(stderr, "csmp-sim: local route for the "
					"device prefix: %s\n", strerror(-err));
				return err;
			}
			if (!s->o.quiet)
				fprintf(stderr, "csmp-sim: no local route (%s): "
					"one source port per device instead\n",
					strerror(-err));
			s->src_mode = SIM_SRC_PORTS;
		}
	}

	/* Prefix mode: a few shared sockets; ports mode: one tx scratch. */
	nsock = s->src_mode == SIM_SRC_PREFIX ? s->o.sockets : 1;
	if (nsock > SIM_MAX_SOCKS)
		nsock = SIM_MAX_SOCKS;
	for (unsigned int i = 0; i < nsock; i++) {
		fd = -1;
		if (s->src_mode == SIM_SRC_PREFIX) {
			fd = open_udp(AF_INET6, true);
			if (fd < 0)
				return fd;
			err = epoll_add(s->epfd, fd, i);
			if (err) {
				close(fd);
				return err;
			}
		}
		s->socks[i] = sock_new(s, fd);
		if (!s->socks[i]) {
			if (fd >= 0)
				close(fd);
			return -ENOMEM;
		}
		s->n_socks++;
	}
	if (s->src_mode == SIM_SRC_PORTS) {
		err = setup_ports(s);
		if (err)
			return err;
	}
	for (uint32_t i = 0; i < s->o.devices; i++) {
		s->dev[i].hpos = SIM_NOPOS;
		s->dev[i].sock = (uint8_t)(s->src_mode == SIM_SRC_PREFIX ?
					   i % s->n_socks : 0);
	}
	/* Head-end requests, firmware slots, the radio between them, uplink
	 * signatures (their own files). */
	err = sim_fw_setup(s);
	if (err)
		return err;
	if (s->o.serve) {
		err = sim_radio_setup(s);
		if (err)
			return err;
	}
	err = sim_serve_setup(s);
	if (err)
		return err;
	return sim_uplink_setup(s);
}

void sim_teardown(struct sim *s)
{
	if (!s)
		return;
	sim_serve_teardown(s);
	sim_radio_teardown(s);
	sim_fw_teardown(s);
	sim_uplink_teardown(s);
	if (s->route_added)
		sim_route_local(&s->o.src_prefix, 64, false);
	s->route_added = false;
	for (unsigned int i = 0; i < s->n_socks; i++) {
		if (s->socks[i]->fd >= 0)
			close(s->socks[i]->fd);
		free(s->socks[i]);
	}
	s->n_socks = 0;
	if (s->dev_fd) {
		for (uint32_t i = 0; i < s->o.devices; i++)
			if (s->dev_fd[i] >= 0)
				close(s->dev_fd[i]);
		free(s->dev_fd);
		s->dev_fd = NULL;
	}
	if (s->sigfd > 0)
		close(s->sigfd);
	if (s->epfd > 0)
		close(s->epfd);
	free(s->heap);
	free(s->dev);
	s->heap = NULL;
	s->dev = NULL;
}

/* ---- main loop ---- */

static void fire_timers(struct sim *s)
{
	unsigned int budget = 4096;	/* keep receiving under a burst */

	while (s->heap_n && budget--) {
		uint32_t idx = s->heap[0];

		if (s->dev[idx].deadline > s->now)
			break;
		heap_remove(s, idx);
		sim_dev_timer(s, idx);
	}
}

/* Open-loop: attempts at --rate per second whatever the answers. */
static uint64_t pace(struct sim *s)
{
	uint64_t el = s->now - s->t0;
	uint64_t due = (uint64_t)((double)el * s->o.rate / 1e9);
	unsigned int budget = 4096;

	while (s->rate_sent < due && budget--) {
		uint32_t idx = s->rate_next;

		s->rate_next = s->rate_next + 1 == s->o.devices ? 0 :
			       s->rate_next + 1;
		sim_dev_register_now(s, idx);
		s->rate_sent++;
	}
	return s->t0 + (uint64_t)((double)(s->rate_sent + 1) * 1e9 / s->o.rate);
}

/* Open-loop reports from the registered devices in turn. */
static uint64_t pace_reports(struct sim *s)
{
	uint64_t start = s->t0 + (uint64_t)(s->o.report_start * 1e9);
	uint64_t due;
	unsigned int budget = 4096;

	if (s->now < start)
		return start;
	due = (uint64_t)((double)(s->now - start) * s->o.report_rate / 1e9);
	while (s->rrate_sent < due && budget--) {
		uint32_t tries = 0;

		/* Skip devices not (yet) registered, a bounded number. */
		while (!sim_dev_report_now(s, s->rrate_next) && ++tries < 64)
			s->rrate_next = s->rrate_next + 1 == s->o.devices ?
					0 : s->rrate_next + 1;
		s->rrate_next = s->rrate_next + 1 == s->o.devices ? 0 :
				s->rrate_next + 1;
		s->rrate_sent++;
	}
	return start + (uint64_t)((double)(s->rrate_sent + 1) * 1e9 /
				  s->o.report_rate);
}

int sim_run(struct sim *s)
{
	uint64_t end, next_progress, wake;
	struct epoll_event ev[SIM_BATCH];

	{
		struct timespec rt;

		clock_gettime(CLOCK_REALTIME, &rt);
		s->now = s->t0 = sim_mono_ns();
		s->rt_offset = (uint64_t)rt.tv_sec * NSEC_PER_SEC +
			       (uint64_t)rt.tv_nsec - s->t0;
	}
	end = s->o.duration > 0 ? s->t0 + (uint64_t)(s->o.duration * 1e9) :
		UINT64_MAX;
	next_progress = s->t0 + NSEC_PER_SEC;
	for (uint32_t i = 0; i < s->o.devices; i++)
		sim_dev_init(s, i);

	while (!s->stop) {
		struct timespec ts;
		int n;

		s->now = sim_mono_ns();
		if (!s->draining && s->now >= end) {
			/*
			 * No new requests from here on, but answers already
			 * on their way are still taken (and a refused one
			 * still gets its notification), so the counters of
			 * both ends agree.
			 */
			uint64_t now = s->now;

			/*
			 * Open loop: catch up to the end exactly, so a run of
			 * D seconds at R/s makes floor(R * D) attempts even
			 * when the process was descheduled near the end.
			 */
			s->now = end;
			if (s->o.rate > 0)
				while (s->rate_sent <
				       (uint64_t)((double)(end - s->t0) * s->o.rate / 1e9))
					pace(s);
			s->now = now;
			s->draining = true;
			s->t_end = s->now;
			end = s->now + (uint64_t)(s->o.drain * 1e9);
		}
		if (!s->draining)
			fire_timers(s);
		/* Radio and deferred work go on while draining: answers in
		 * flight still arrive. */
		sim_radio_fire(s);
		wake = end;
		if (sim_radio_next(s) < wake)
			wake = sim_radio_next(s);
		if (s->o.rate > 0 && !s->draining) {
			uint64_t r = pace(s);

			if (r < wake)
				wake = r;
		}
		if (s->o.report_rate > 0 && !s->draining) {
			uint64_t r = pace_reports(s);

			if (r < wake)
				wake = r;
		}
		flush_all(s);
		if (!s->draining && s->heap_n &&
		    s->dev[s->heap[0]].deadline < wake)
			wake = s->dev[s->heap[0]].deadline;
		if (next_progress < wake)
			wake = next_progress;
		if (s->o.until_registered && s->all_registered_at &&
		    !s->draining) {
			uint64_t stop_at = s->all_registered_at +
					   (uint64_t)(s->o.linger * 1e9);

			if (s->now >= stop_at) {
				end = s->now;	/* drain, then stop */
				continue;
			}
			if (stop_at < wake)
				wake = stop_at;
		}
		if (s->draining && s->now >= end)
			break;
		s->now = sim_mono_ns();
		wake = wake > s->now ? wake - s->now : 0;
		ts.tv_sec = (time_t)(wake / NSEC_PER_SEC);
		ts.tv_nsec = (long)(wake % NSEC_PER_SEC);
		n = epoll_pwait2(s->epfd, ev, SIM_BATCH, &ts, NULL);
		if (n < 0 && errno != EINTR)
			return -errno;
		s->now = sim_mono_ns();
		for (int i = 0; i < n; i++) {
			uint64_t tag = ev[i].data.u64;

			if (tag == SIM_TAG_SIG) {
				struct signalfd_siginfo si;

				while (read(s->sigfd, &si, sizeof(si)) > 0)
					;
				s->stop = true;
			} else if (tag & SIM_TAG_MCAST) {
				sim_radio_mcast_rx(s, (uint32_t)tag);
			} else if (tag & SIM_TAG_SRV) {
				sim_serve_rx(s, (uint32_t)tag);
			} else if (tag & SIM_TAG_DEV) {
				uint32_t idx = (uint32_t)tag;

				sock_drain(s, s->dev_fd[idx], idx);
			} else {
				sock_drain(s, s->socks[tag]->fd, SIM_NOPOS);
			}
		}
		if (s->now >= next_progress) {
			if (!s->o.quiet)
				sim_progress(s, stderr);
			next_progress += NSEC_PER_SEC;
		}
	}
	flush_all(s);
	s->now = sim_mono_ns();
	if (!s->t_end)
		s->t_end = s->now;	/* stopped by a signal */
	return 0;
}
