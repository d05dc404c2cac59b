// SPDX-License-Identifier: GPL-2.0-only
/*
 * csmp_reuseport for real: BPF_PROG_TEST_RUN has no sk_reuseport support,
 * so each test makes a private network namespace, opens NW SO_REUSEPORT
 * UDP sockets on [::]:61628 (dual-stack), attaches the program through
 * libcsmp's loader and sends real CSMP datagrams from many source
 * addresses (a local route makes 2001:db8::/32 and 2018::/16 ours, so a
 * sender can bind any of them). Every datagram must arrive on exactly the
 * socket csmp_rp_predict names; a device keeps its worker across its
 * registration and its reports, and across a worker's restart.
 */
#include <poll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include "kselftest_harness.h"
#include "steer_test.h"

#ifndef IPV6_FREEBIND
#define IPV6_FREEBIND	78
#endif

#define NW		4
#define RP_PORT		61628
#define N_DEV		2000

FIXTURE(rp) {
	int fds[NW];
	struct csmp_rp *rp;
	struct csmp_rp_config cfg;
	char pin[128];
	uint32_t rnd;
};

FIXTURE_SETUP(rp)
{
	struct sockaddr_in6 a = { .sin6_family = AF_INET6,
				  .sin6_port = htons(RP_PORT),
				  .sin6_addr = IN6ADDR_ANY_INIT };
	struct csmp_rp_opts o = { 0 };
	int i, one = 1;
	uint64_t k[2];

	memset(self->fds, -1, sizeof(self->fds));
	snprintf(self->pin, sizeof(self->pin), "/sys/fs/bpf/csmp-rp-test-%d",
		 getpid());
	ASSERT_EQ(0, lbt_bpffs());
	ASSERT_EQ(0, unshare(CLONE_NEWNET));
	ASSERT_EQ(0, lbt_sh("ip link set lo up && "
			    "ip -6 route add local 2001:db8::/32 dev lo && "
			    "ip -6 route add local 2018::/16 dev lo"));
	for (i = 0; i < NW; i++) {
		self->fds[i] = socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK, 0);
		ASSERT_LE(0, self->fds[i]);
		ASSERT_EQ(0, setsockopt(self->fds[i], SOL_SOCKET, SO_REUSEPORT,
					&one, sizeof(one)));
		ASSERT_EQ(0, bind(self->fds[i], (struct sockaddr *)&a,
				  sizeof(a)));
	}
	ASSERT_EQ(sizeof(k), (size_t)getrandom(k, sizeof(k), 0));
	self->cfg.k0 = k[0];
	self->cfg.k1 = k[1];
	self->cfg.n_workers = NW;
	o.pin_dir = self->pin;
	o.k0 = k[0];
	o.k1 = k[1];
	o.n_workers = NW;
	ASSERT_EQ(0, csmp_rp_attach(&o, self->fds, &self->rp));
	self->rnd = (uint32_t)k[0] | 1;
}

FIXTURE_TEARDOWN(rp)
{
	int i;

	csmp_rp_destroy(self->rp);
	for (i = 0; i < NW; i++)
		if (self->fds[i] >= 0)
			close(self->fds[i]);
	st_unpin(self->pin);
}

static uint32_t xrand(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/* A source address: IPv6 in 2001:db8::/32 with (iid) or without a
 * modified-EUI-64 interface id, or IPv4 in 127/8 (v4). */
static void rand_src(uint32_t *s, struct csmp_addr *src, int iid, int v4)
{
	int i;

	if (v4) {
		struct in_addr a;

		a.s_addr = htonl(0x7f000000u | (xrand(s) & 0xffffff));
		if ((ntohl(a.s_addr) & 0xff) == 0 ||
		    (ntohl(a.s_addr) & 0xff) == 255)
			a.s_addr = htonl(0x7f000002u);
		st_addr4(src, &a);
		return;
	}
	src->a[0] = 0x20;
	src->a[1] = 0x01;
	src->a[2] = 0x0d;
	src->a[3] = 0xb8;
	for (i = 4; i < 16; i++)
		src->a[i] = (uint8_t)xrand(s);
	if (iid)
		src->a[8] |= 0x02;
	else
		src->a[8] &= (uint8_t)~0x02;
}

/*
 * Send dg from src to the group and return the index of the one socket
 * it arrived on (-1: none, -2: another datagram, -3: send failed).
 */
static int send_and_find(int fds[NW], const struct csmp_addr *src,
			 const uint8_t *dg, size_t len)
{
	struct sockaddr_storage ss = { 0 }, dst = { 0 };
	struct pollfd p[NW];
	socklen_t sl, dl;
	uint8_t buf[4096];
	int fd, one = 1, i, got = -1;
	ssize_t n;

	if (st_is_v4(src)) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		struct sockaddr_in *d4 = (struct sockaddr_in *)&dst;

		s4->sin_family = AF_INET;
		memcpy(&s4->sin_addr, &src->a[12], 4);
		d4->sin_family = AF_INET;
		d4->sin_port = htons(RP_PORT);
		d4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sl = dl = sizeof(*s4);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		struct sockaddr_in6 *d6 = (struct sockaddr_in6 *)&dst;

		s6->sin6_family = AF_INET6;
		memcpy(&s6->sin6_addr, src->a, 16);
		d6->sin6_family = AF_INET6;
		d6->sin6_port = htons(RP_PORT);
		d6->sin6_addr = in6addr_loopback;
		sl = dl = sizeof(*s6);
	}
	fd = socket(ss.ss_family, SOCK_DGRAM, 0);
	if (fd < 0)
		return -3;
	if (ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_FREEBIND, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, sl) ||
	    sendto(fd, dg, len, 0, (struct sockaddr *)&dst, dl) != (ssize_t)len) {
		close(fd);
		return -3;
	}
	close(fd);
	for (i = 0; i < NW; i++)
		p[i] = (struct pollfd){ .fd = fds[i], .events = POLLIN };
	if (poll(p, NW, 2000) <= 0)
		return -1;
	for (i = 0; i < NW; i++) {
		if (!(p[i].revents & POLLIN))
			continue;
		n = recv(fds[i], buf, sizeof(buf), MSG_DONTWAIT);
		if (n != (ssize_t)len || memcmp(buf, dg, len) || got != -1)
			return -2;
		got = i;
	}
	return got;
}

TEST_F(rp, agent_registration_from_pcap_lands_on_its_eid_worker)
{
	uint8_t dg[CSMP_MAX_DGRAM];
	struct csmp_addr src;
	struct in6_addr a;
	struct csmp_class c;
	__u32 key;
	int n = st_fixture_registration(dg, sizeof(dg)), w;
	unsigned int want;

	ASSERT_LT(0, n);
	ASSERT_EQ(0, csmp_classify(dg, (__u32)n, &c));
	ASSERT_EQ(CSMP_C_REGISTRATION, c.msg_class);
	ASSERT_EQ(0x0A0027FFFE3B2AB2ULL, c.eid);
	inet_pton(AF_INET6, "2018::188", &a);
	st_addr6(&src, &a);
	want = csmp_rp_predict(&self->cfg, dg, (size_t)n, &src, &key);
	ASSERT_EQ((__u32)CSMP_K_DEVICE_ID, key);
	ASSERT_EQ(csmp_bucket_worker(csmp_eid_bucket(self->cfg.k0,
						     self->cfg.k1, c.eid), NW),
		  want);
	w = send_and_find(self->fds, &src, dg, (size_t)n);
	ASSERT_EQ((int)want, w);
	EXPECT_EQ(1u, st_count(self->pin, "csmp_rp_steer", CSMP_K_DEVICE_ID));
	EXPECT_EQ(1u, st_count(self->pin, "csmp_rp_wcount", want));
	EXPECT_EQ(1u, st_count(self->pin, "csmp_rp_stats", CSMP_R_OK));
}

/*
 * Registrations, reports, async replies, responses, malformed and
 * oversized datagrams, IPv6 and IPv4: each on the predicted socket, and
 * the counters say which key decided, exactly as predicted.
 */
TEST_F(rp, every_datagram_lands_on_the_predicted_worker)
{
	static uint8_t dg[CSMP_MAX_DGRAM + 512];
	uint64_t keys[CSMP_K__MAX] = { 0 }, per_worker[NW] = { 0 };
	uint64_t ok = 0, malformed = 0, oversize = 0;
	struct csmp_addr src;
	char sid[CSMP_SESSION_LEN + 1];
	unsigned int want, i, kind;
	__u32 key;
	int n, w;

	for (i = 0; i < 6000; i++) {
		kind = i % 6;
		rand_src(&self->rnd, &src, xrand(&self->rnd) & 1, i % 5 == 0);
		switch (kind) {
		case 0:	/* registration */
		case 1:
			n = st_registration(dg, sizeof(dg),
					    ((uint64_t)xrand(&self->rnd) << 32) |
						    xrand(&self->rnd));
			break;
		case 2:	/* report with csmpd's SessionID */
			st_session(sid, 1, xrand(&self->rnd) & 0xffff,
				   xrand(&self->rnd));
			n = st_post_c(dg, sizeof(dg), sid, (uint16_t)i);
			break;
		case 3:	/* async reply: no EID, no session */
			n = st_post_c(dg, sizeof(dg), NULL, (uint16_t)i);
			break;
		case 4:	/* response, or a report with a foreign SessionID */
			if (i & 1) {
				dg[0] = 0x60;
				dg[1] = 0x45;
				dg[2] = (uint8_t)(i >> 8);
				dg[3] = (uint8_t)i;
				n = 4;
			} else {
				n = st_post_c(dg, sizeof(dg), "1", (uint16_t)i);
			}
			break;
		default: /* malformed, or larger than CSMP_MAX_DGRAM */
			if (i % 12 == 5) {
				n = CSMP_MAX_DGRAM + 100;
				memset(dg, 0x41, (size_t)n);
				dg[0] = 0x40;
				oversize++;
			} else {
				n = 3 + (int)(xrand(&self->rnd) % 40);
				memset(dg, 0xff, (size_t)n);
				dg[0] = 0x40 | (uint8_t)(i & 0x0f);
				malformed++;
			}
			break;
		}
		ASSERT_LT(0, n);
		want = csmp_rp_predict(&self->cfg, dg, (size_t)n, &src, &key);
		w = send_and_find(self->fds, &src, dg, (size_t)n);
		ASSERT_EQ((int)want, w) {
			TH_LOG("datagram %u kind %u key %u", i, kind, key);
		}
		keys[key]++;
		per_worker[want]++;
		if (kind < 5)
			ok++;
	}
	for (i = 0; i < CSMP_K__MAX; i++)
		EXPECT_EQ(keys[i], st_count(self->pin, "csmp_rp_steer", i));
	for (i = 0; i < NW; i++) {
		EXPECT_EQ(per_worker[i], st_count(self->pin, "csmp_rp_wcount", i));
		EXPECT_LT(0u, per_worker[i]);
	}
	/* Every key of the fallback order was exercised. */
	EXPECT_LT(0u, keys[CSMP_K_SESSION]);
	EXPECT_LT(0u, keys[CSMP_K_DEVICE_ID]);
	EXPECT_LT(0u, keys[CSMP_K_IID]);
	EXPECT_LT(0u, keys[CSMP_K_SRC_HASH]);
	/* The layout check never failed: data starts at the UDP header. */
	EXPECT_EQ(0u, st_count(self->pin, "csmp_rp_stats", CSMP_R_UDP_LEN));
	EXPECT_EQ(0u, st_count(self->pin, "csmp_rp_stats", CSMP_R_NO_WORKER));
	EXPECT_EQ(oversize,
		  st_count(self->pin, "csmp_rp_stats", CSMP_R_COAP_OVERSIZE));
	EXPECT_EQ(ok, st_count(self->pin, "csmp_rp_stats", CSMP_R_OK));
	TH_LOG("keys: session %llu device_id %llu iid %llu src_hash %llu; malformed %llu",
	       (unsigned long long)keys[CSMP_K_SESSION],
	       (unsigned long long)keys[CSMP_K_DEVICE_ID],
	       (unsigned long long)keys[CSMP_K_IID],
	       (unsigned long long)keys[CSMP_K_SRC_HASH],
	       (unsigned long long)malformed);
}

/*
 * One device, one worker: its registrations from two different addresses,
 * its reports (csmpd's SessionID, bucket of its EID) and its async replies
 * from its own modified-EUI-64 address all reach the same socket.
 */
TEST_F(rp, a_device_keeps_one_worker_across_its_messages)
{
	uint8_t dg[CSMP_MAX_DGRAM];
	char sid[CSMP_SESSION_LEN + 1];
	struct csmp_addr src, own;
	unsigned int i, j;
	int n, w, first;

	for (i = 0; i < 500; i++) {
		/* A universally administered EUI-64 (an OUI's), whose
		 * modified form in the address has the u bit set. */
		uint64_t eid = (((uint64_t)xrand(&self->rnd) << 32) |
				xrand(&self->rnd)) & ~(0x02ULL << 56);
		uint32_t bucket = csmp_eid_bucket(self->cfg.k0, self->cfg.k1,
						  eid);

		own.a[0] = 0x20;
		own.a[1] = 0x01;
		own.a[2] = 0x0d;
		own.a[3] = 0xb8;
		memset(&own.a[4], 0, 4);
		for (j = 0; j < 8; j++)
			own.a[8 + j] = (uint8_t)(eid >> (56 - 8 * j));
		own.a[8] ^= 0x02;
		n = st_registration(dg, sizeof(dg), eid);
		first = send_and_find(self->fds, &own, dg, (size_t)n);
		ASSERT_LE(0, first);
		rand_src(&self->rnd, &src, 0, i & 1);
		ASSERT_EQ(first, send_and_find(self->fds, &src, dg, (size_t)n));
		st_session(sid, 0x00a1, bucket, xrand(&self->rnd));
		n = st_post_c(dg, sizeof(dg), sid, (uint16_t)i);
		rand_src(&self->rnd, &src, 1, 0);
		ASSERT_EQ(first, send_and_find(self->fds, &src, dg, (size_t)n));
		n = st_post_c(dg, sizeof(dg), NULL, (uint16_t)i);
		w = send_and_find(self->fds, &own, dg, (size_t)n);
		ASSERT_EQ(first, w);
	}
}

/*
 * A worker restarts: its socket closes (its devices fall back to the
 * kernel's choice meanwhile, counted as no_worker), a new socket joins the
 * group and takes the same slot, and every device is back on the worker
 * it had: 100 %, not the ~(N-1)/N a plain socket group would keep.
 */
TEST_F(rp, worker_restart_keeps_every_device_on_its_worker)
{
	struct sockaddr_in6 a = { .sin6_family = AF_INET6,
				  .sin6_port = htons(RP_PORT),
				  .sin6_addr = IN6ADDR_ANY_INIT };
	static uint64_t eids[N_DEV];
	static int before[N_DEV];
	uint8_t dg[CSMP_MAX_DGRAM];
	struct csmp_addr src;
	unsigned int i, kept = 0, owned = 0, restarted = 2;
	int n, w, one = 1;

	for (i = 0; i < N_DEV; i++) {
		eids[i] = ((uint64_t)xrand(&self->rnd) << 32) |
			  xrand(&self->rnd);
		n = st_registration(dg, sizeof(dg), eids[i]);
		rand_src(&self->rnd, &src, 1, 0);
		before[i] = send_and_find(self->fds, &src, dg, (size_t)n);
		ASSERT_LE(0, before[i]);
		owned += before[i] == (int)restarted;
	}
	ASSERT_LT(0u, owned);

	close(self->fds[restarted]);
	self->fds[restarted] = -1;
	for (i = 0; i < N_DEV; i++) {
		n = st_registration(dg, sizeof(dg), eids[i]);
		rand_src(&self->rnd, &src, 1, 0);
		w = send_and_find(self->fds, &src, dg, (size_t)n);
		ASSERT_LE(0, w);
		if (before[i] != (int)restarted)
			ASSERT_EQ(before[i], w);
	}
	EXPECT_EQ((uint64_t)owned, st_count(self->pin, "csmp_rp_stats",
				  CSMP_R_NO_WORKER));

	self->fds[restarted] = socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	ASSERT_LE(0, self->fds[restarted]);
	ASSERT_EQ(0, setsockopt(self->fds[restarted], SOL_SOCKET, SO_REUSEPORT,
				&one, sizeof(one)));
	ASSERT_EQ(0, bind(self->fds[restarted], (struct sockaddr *)&a,
			  sizeof(a)));
	ASSERT_EQ(0, csmp_rp_set_worker(self->rp, restarted,
					self->fds[restarted]));
	for (i = 0; i < N_DEV; i++) {
		n = st_registration(dg, sizeof(dg), eids[i]);
		rand_src(&self->rnd, &src, 1, 0);
		w = send_and_find(self->fds, &src, dg, (size_t)n);
		kept += w == before[i];
	}
	TH_LOG("after the restart %u of %u devices kept their worker", kept,
	       N_DEV);
	EXPECT_EQ((unsigned int)N_DEV, kept);
	EXPECT_EQ((uint64_t)owned, st_count(self->pin, "csmp_rp_stats",
				  CSMP_R_NO_WORKER));
}

TEST_HARNESS_MAIN
