// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * What lies between a head-end and the simulated devices it talks to
 * (--serve): loss, the radio's rates, deferred work and multicast groups.
 *
 *  - --loss P drops each datagram with probability P, in each direction:
 *    a request before the device sees it, an answer or a device's own
 *    message (registration, report, notification) after it is made.
 *  - --link-rate B and --pan-rate B (bytes/s, counting 48 bytes of
 *    IPv6 + UDP headers) make every head-end request and its answer take
 *    radio time: a datagram waits for both the device's link and its
 *    PAN's shared medium (--pan-size devices per PAN), occupies the PAN
 *    for len/pan-rate and the link for len/link-rate, and reaches the
 *    device (or leaves it) when both are done. A PAN holds at most
 *    --pan-queue datagrams waiting; more are dropped, as a border
 *    router's queue drops them, so a head-end that does not pace loses
 *    blocks instead of only waiting.
 *  - Deferred work, one min-heap by time: requests and answers crossing
 *    the radio, the asynchronous answer to a NON request (a random delay
 *    up to a=, 20 s by default), a LoadRequest's time, a reboot.
 *  - Firmware groups: GroupAssign {type 2, id} joins the device to the
 *    group's IPv6 multicast address, --group-mcast PREFIX with the id in
 *    the low 32 bits (default ff05::c5:0:0). One socket per group takes
 *    the datagram once; the radio carries it once per PAN with members;
 *    each member (loss drawn per member) then handles it as its own.
 *    The groups are joined on --mcast-if (default lo); a network
 *    namespace's lo does not loop multicast back, a veth does.
 */
#include <errno.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/epoll.h>

#include "sim.h"

#define RADIO_HDR	48	/* IPv6 + UDP headers on the air */
#define RADIO_GROUPS	64

struct radio_ev {
	uint64_t at;
	uint32_t idx;
	uint32_t gen;
	uint8_t kind;
	uint8_t mcast;
	uint16_t len;
	int fd;
	struct sockaddr_in6 peer;
	uint8_t *data;
};

struct radio_group {
	uint32_t id;
	int fd;
	struct in6_addr addr;
};

struct sim_radio {
	struct radio_ev *ev;		/* min-heap by at */
	uint32_t n_ev, cap_ev;
	uint64_t *link_free;		/* per device, monotonic ns */
	uint64_t *pan_free;		/* per PAN */
	uint32_t *pan_queued;
	uint32_t n_pan;
	struct radio_group grp[RADIO_GROUPS];
	unsigned int n_grp;
	unsigned int mcast_ifindex;
	struct {
		uint64_t lost_down, lost_up;	/* --loss, served traffic */
		uint64_t queue_drops;		/* PAN queue full */
		uint64_t deferred;		/* crossed the radio late */
		uint64_t mcast_rx;		/* group datagrams taken */
		uint64_t mcast_deliveries;	/* ... handed to members */
		uint64_t joins;
		uint64_t bytes_down, bytes_up;
	} st;
};

static bool rates(const struct sim *s)
{
	return s->o.link_rate > 0 || s->o.pan_rate > 0;
}

int sim_radio_setup(struct sim *s)
{
	struct sim_radio *r;

	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	s->radio = r;
	r->n_pan = (s->o.devices + s->o.pan_size - 1) / s->o.pan_size;
	r->pan_free = calloc(r->n_pan, sizeof(*r->pan_free));
	r->pan_queued = calloc(r->n_pan, sizeof(*r->pan_queued));
	r->link_free = calloc(s->o.devices, sizeof(*r->link_free));
	if (!r->pan_free || !r->pan_queued || !r->link_free)
		return -ENOMEM;
	r->mcast_ifindex = if_nametoindex(s->o.mcast_if ? s->o.mcast_if : "lo");
	if (!r->mcast_ifindex) {
		fprintf(stderr, "csmp-sim: --mcast-if %s: no such interface\n",
			s->o.mcast_if ? s->o.mcast_if : "lo");
		return -ENODEV;
	}
	return 0;
}

void sim_radio_teardown(struct sim *s)
{
	struct sim_radio *r = s->radio;

	if (!r)
		return;
	for (uint32_t i = 0; i < r->n_ev; i++)
		free(r->ev[i].data);
	for (unsigned int i = 0; i < r->n_grp; i++)
		close(r->grp[i].fd);
	free(r->ev);
	free(r->link_free);
	free(r->pan_free);
	free(r->pan_queued);
	free(r);
	s->radio = NULL;
}

bool sim_radio_lost(struct sim *s, uint32_t idx)
{
	if (s->o.loss <= 0)
		return false;
	return (double)sim_rand(&s->dev[idx].rng) / 4294967296.0 < s->o.loss;
}

/* ---- the deferred-work heap ---- */

static void ev_swap(struct radio_ev *a, struct radio_ev *b)
{
	struct radio_ev t = *a;

	*a = *b;
	*b = t;
}

static int ev_push(struct sim_radio *r, const struct radio_ev *e)
{
	uint32_t i;

	if (r->n_ev == r->cap_ev) {
		uint32_t cap = r->cap_ev ? 2 * r->cap_ev : 1024;
		struct radio_ev *n = realloc(r->ev, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		r->ev = n;
		r->cap_ev = cap;
	}
	i = r->n_ev++;
	r->ev[i] = *e;
	while (i && r->ev[(i - 1) / 2].at > r->ev[i].at) {
		ev_swap(&r->ev[(i - 1) / 2], &r->ev[i]);
		i = (i - 1) / 2;
	}
	return 0;
}

static void ev_pop(struct sim_radio *r, struct radio_ev *out)
{
	uint32_t i = 0;

	*out = r->ev[0];
	r->ev[0] = r->ev[--r->n_ev];
	for (;;) {
		uint32_t l = 2 * i + 1, m = i;

		if (l < r->n_ev && r->ev[l].at < r->ev[m].at)
			m = l;
		if (l + 1 < r->n_ev && r->ev[l + 1].at < r->ev[m].at)
			m = l + 1;
		if (m == i)
			break;
		ev_swap(&r->ev[i], &r->ev[m]);
		i = m;
	}
}

static int later(struct sim *s, const struct radio_ev *tmpl,
		 const void *data, size_t len)
{
	struct radio_ev e = *tmpl;
	int err;

	e.data = NULL;
	e.len = (uint16_t)len;
	if (len) {
		e.data = malloc(len);
		if (!e.data)
			return -ENOMEM;
		memcpy(e.data, data, len);
	}
	err = ev_push(s->radio, &e);
	if (err)
		free(e.data);
	return err;
}

int sim_radio_later(struct sim *s, uint64_t at, uint32_t idx,
		    enum sim_ev_kind kind, uint32_t gen, const void *data,
		    size_t len)
{
	struct radio_ev e = { .at = at, .idx = idx, .kind = (uint8_t)kind,
			      .gen = gen, .fd = -1 };

	return later(s, &e, data, len);
}

uint64_t sim_radio_next(const struct sim *s)
{
	return s->radio && s->radio->n_ev ? s->radio->ev[0].at : UINT64_MAX;
}

/* ---- radio time ---- */

/*
 * When a datagram of len bytes to or from device idx is across; 0 when
 * the PAN's queue is full (dropped). pan_start: the PAN transmission was
 * made already (multicast: once per PAN), only the link is left.
 */
static uint64_t radio_slot(struct sim *s, uint32_t idx, size_t len,
			   uint64_t pan_done)
{
	struct sim_radio *r = s->radio;
	uint32_t p = idx / s->o.pan_size;
	uint64_t bytes = len + RADIO_HDR, start, done, tl = 0, tp = 0;

	if (r->pan_queued[p] >= s->o.pan_queue) {
		r->st.queue_drops++;
		return 0;
	}
	if (s->o.link_rate > 0)
		tl = (uint64_t)((double)bytes * 1e9 / s->o.link_rate);
	if (s->o.pan_rate > 0 && !pan_done)
		tp = (uint64_t)((double)bytes * 1e9 / s->o.pan_rate);
	start = s->now;
	if (r->link_free[idx] > start)
		start = r->link_free[idx];
	if (!pan_done && r->pan_free[p] > start)
		start = r->pan_free[p];
	if (pan_done > start)
		start = pan_done;
	r->link_free[idx] = start + tl;
	if (!pan_done)
		r->pan_free[p] = start + tp;
	done = start + (tl > tp ? tl : tp);
	r->pan_queued[p]++;
	return done > s->now ? done : s->now + 1;
}

int sim_radio_down(struct sim *s, uint32_t idx, const uint8_t *buf,
		   size_t len, const struct sockaddr_in6 *from)
{
	struct sim_radio *r = s->radio;
	struct radio_ev e = { .idx = idx, .kind = SIM_EV_RX, .fd = -1,
			      .peer = *from };

	if (sim_radio_lost(s, idx)) {
		r->st.lost_down++;
		return 0;
	}
	r->st.bytes_down += len;
	if (!rates(s)) {
		sim_serve_deliver(s, idx, buf, len, from, false);
		return 0;
	}
	e.at = radio_slot(s, idx, len, 0);
	if (!e.at)
		return 0;
	r->st.deferred++;
	return later(s, &e, buf, len);
}

int sim_radio_up(struct sim *s, uint32_t idx, int fd, const uint8_t *buf,
		 size_t len, const struct sockaddr_in6 *to)
{
	struct sim_radio *r = s->radio;
	struct radio_ev e = { .idx = idx, .kind = SIM_EV_TX, .fd = fd,
			      .peer = *to };

	if (sim_radio_lost(s, idx)) {
		r->st.lost_up++;
		return 0;
	}
	r->st.bytes_up += len;
	if (!rates(s))
		return sendto(fd, buf, len, MSG_DONTWAIT,
			      (const struct sockaddr *)to, sizeof(*to)) < 0 ?
			       -errno : 0;
	e.at = radio_slot(s, idx, len, 0);
	if (!e.at)
		return 0;
	r->st.deferred++;
	return later(s, &e, buf, len);
}

void sim_radio_fire(struct sim *s)
{
	struct sim_radio *r = s->radio;
	unsigned int budget = 4096;
	struct radio_ev e;

	while (r && r->n_ev && r->ev[0].at <= s->now && budget--) {
		ev_pop(r, &e);
		if (e.kind == SIM_EV_RX || e.kind == SIM_EV_TX)
			r->pan_queued[e.idx / s->o.pan_size]--;
		switch (e.kind) {
		case SIM_EV_RX:
			if (!sim_dev_down(s, e.idx))
				sim_serve_deliver(s, e.idx, e.data, e.len,
						  &e.peer, e.mcast);
			break;
		case SIM_EV_TX:
			sendto(e.fd, e.data, e.len, MSG_DONTWAIT,
			       (const struct sockaddr *)&e.peer, sizeof(e.peer));
			break;
		case SIM_EV_ASYNC:
			if (e.gen == s->dev[e.idx].async_gen &&
			    !sim_dev_down(s, e.idx))
				sim_dev_send_async(s, e.idx, e.data, e.len);
			break;
		case SIM_EV_LOAD:
			sim_fw_load_due(s, e.idx, e.gen);
			break;
		case SIM_EV_REBOOT:
			sim_dev_reboot(s, e.idx);
			break;
		}
		free(e.data);
	}
}

/* ---- multicast groups ---- */

static int group_socket(struct sim *s, const struct in6_addr *a)
{
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6,
				   .sin6_port = htons(s->o.serve_port),
				   .sin6_addr = *a };
	struct ipv6_mreq mr = { .ipv6mr_multiaddr = *a,
				.ipv6mr_interface = s->radio->mcast_ifindex };
	int fd, on = 1, err;

	fd = socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    setsockopt(fd, IPPROTO_IPV6, IPV6_JOIN_GROUP, &mr, sizeof(mr))) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

/* GroupAssign {2, group}: the device's firmware group is now group. */
int sim_radio_join(struct sim *s, uint32_t idx, uint32_t group)
{
	struct sim_radio *r = s->radio;
	struct radio_group *g;
	struct epoll_event ev = { .events = EPOLLIN };
	struct in6_addr a = s->o.group_mcast;
	char txt[INET6_ADDRSTRLEN];
	int fd;

	(void)idx;	/* membership is the device's group[1] itself */
	if (!r || !group)
		return 0;
	for (unsigned int i = 0; i < r->n_grp; i++)
		if (r->grp[i].id == group)
			return 0;
	if (r->n_grp == RADIO_GROUPS)
		return -ENOSPC;
	for (int i = 0; i < 4; i++)
		a.s6_addr[12 + i] = (uint8_t)(group >> (24 - 8 * i));
	fd = group_socket(s, &a);
	if (fd < 0) {
		inet_ntop(AF_INET6, &a, txt, sizeof(txt));
		fprintf(stderr, "csmp-sim: firmware group %u: cannot join %s "
			"on %s: %s (needs a multicast-capable interface, e.g. "
			"`ip link set lo multicast on`)\n", group, txt,
			s->o.mcast_if ? s->o.mcast_if : "lo", strerror(-fd));
		return fd;
	}
	g = &r->grp[r->n_grp];
	ev.data.u64 = SIM_TAG_MCAST | r->n_grp;
	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev)) {
		close(fd);
		return -errno;
	}
	g->id = group;
	g->fd = fd;
	g->addr = a;
	r->n_grp++;
	r->st.joins++;
	return 0;
}

void sim_radio_mcast_rx(struct sim *s, uint32_t gi)
{
	struct sim_radio *r = s->radio;
	struct radio_group *g = &r->grp[gi];
	uint8_t buf[SIM_BUF];

	for (int k = 0; k < 64; k++) {
		struct sockaddr_in6 from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(g->fd, buf, sizeof(buf), MSG_DONTWAIT,
				     (struct sockaddr *)&from, &fl);
		uint64_t pan_done = 0;
		uint32_t pan = UINT32_MAX;

		if (n < 0)
			return;
		s->now = sim_mono_ns();
		r->st.mcast_rx++;
		r->st.bytes_down += (uint64_t)n;
		for (uint32_t i = 0; i < s->o.devices; i++) {
			struct radio_ev e = { .idx = i, .kind = SIM_EV_RX,
					      .mcast = 1, .fd = -1,
					      .peer = from };

			if (s->dev[i].group[1] != g->id || sim_dev_down(s, i))
				continue;
			/* One transmission per PAN carries it to all. */
			if (rates(s) && i / s->o.pan_size != pan) {
				uint64_t bytes = (uint64_t)n + RADIO_HDR;
				uint64_t st = s->now;

				pan = i / s->o.pan_size;
				if (r->pan_free[pan] > st)
					st = r->pan_free[pan];
				pan_done = st + (s->o.pan_rate > 0 ?
					(uint64_t)((double)bytes * 1e9 / s->o.pan_rate) : 0);
				r->pan_free[pan] = pan_done;
				if (!pan_done)
					pan_done = 1;
			}
			if (sim_radio_lost(s, i)) {
				r->st.lost_down++;
				continue;
			}
			r->st.mcast_deliveries++;
			if (!rates(s)) {
				sim_serve_deliver(s, i, buf, (size_t)n, &from, true);
				continue;
			}
			e.at = radio_slot(s, i, (size_t)n, pan_done);
			if (e.at)
				later(s, &e, buf, (size_t)n);
		}
	}
}

void sim_radio_json(struct sim *s, FILE *f)
{
	const struct sim_radio *r = s->radio;

	if (!r)
		return;
	fprintf(f, ",\"radio\":{\"lost_down\":%llu,\"lost_up\":%llu,"
		"\"queue_drops\":%llu,\"deferred\":%llu,\"bytes_down\":%llu,"
		"\"bytes_up\":%llu,\"mcast_rx\":%llu,\"mcast_deliveries\":%llu,"
		"\"groups_joined\":%llu}",
		(unsigned long long)r->st.lost_down,
		(unsigned long long)r->st.lost_up,
		(unsigned long long)r->st.queue_drops,
		(unsigned long long)r->st.deferred,
		(unsigned long long)r->st.bytes_down,
		(unsigned long long)r->st.bytes_up,
		(unsigned long long)r->st.mcast_rx,
		(unsigned long long)r->st.mcast_deliveries,
		(unsigned long long)r->st.joins);
}
