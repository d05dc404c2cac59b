// SPDX-License-Identifier: GPL-2.0-only
/*
 * csmp_srcfix under BPF_PROG_TEST_RUN: replies of a third-party head-end
 * (the NMS answer of the shared registration capture, and built IPv6/IPv4
 * frames with extension headers, options and a VLAN tag) leave with the
 * VIP as source and byte-exact expected output whose checksums the test
 * computes from scratch, not incrementally; everything else (other ports,
 * other sources, TCP, requests from ephemeral ports, fragments, frames
 * truncated at every header, a family mismatch) leaves untouched with its
 * reason counted.
 */
#include <netinet/in.h>
#include <linux/pkt_cls.h>

#include "kselftest_harness.h"
#include "steer_test.h"
#include "srcfix.h"
#include "csmp_srcfix.skel.h"

#define HE6	"2018::2"		/* the NMS of the capture */
#define VIP6	"2001:db8::53"
#define HE4	"192.0.2.10"
#define VIP4	"198.51.100.53"
#define DEV6	"2018::188"
#define DEV4	"203.0.113.7"
#define ODD6	"2001:db8:77::1"	/* configured with an IPv4 VIP */

FIXTURE(sf) {
	struct csmp_srcfix *skel;
	int prog;
	char pin[128];
	uint64_t rewritten;
};

static void addr_of(const char *s, struct csmp_addr *a)
{
	struct in6_addr in6;
	struct in_addr in4;

	if (inet_pton(AF_INET6, s, &in6) == 1) {
		st_addr6(a, &in6);
	} else {
		inet_pton(AF_INET, s, &in4);
		st_addr4(a, &in4);
	}
}

FIXTURE_SETUP(sf)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo, .pin_root_path = self->pin);
	struct csmp_srcfix_cfg c6 = { .port = CSMP_PORT, .port_alt = CSMP_PORT_ALT };
	struct csmp_srcfix_cfg c4 = { .port = CSMP_PORT };
	struct csmp_srcfix_cfg bad = { .port = CSMP_PORT };
	struct csmp_addr from;
	int fd;

	snprintf(self->pin, sizeof(self->pin), "/sys/fs/bpf/csmp-sf-test-%d",
		 getpid());
	ASSERT_EQ(0, lbt_bpffs());
	ASSERT_EQ(0, csmp_pin_dir_make(self->pin));
	self->skel = csmp_srcfix__open_opts(&oo);
	ASSERT_NE(NULL, self->skel);
	ASSERT_EQ(0, csmp_srcfix__load(self->skel));
	self->prog = bpf_program__fd(self->skel->progs.csmp_srcfix);

	addr_of(VIP6, &c6.vip);
	addr_of(HE6, &from);
	ASSERT_EQ(0, csmp_srcfix_set(self->pin, &from, &c6));
	addr_of(VIP4, &c4.vip);
	addr_of(HE4, &from);
	ASSERT_EQ(0, csmp_srcfix_set(self->pin, &from, &c4));
	/* The library refuses a family change; the program must too. */
	addr_of(ODD6, &from);
	addr_of(VIP4, &bad.vip);
	ASSERT_EQ(-EINVAL, csmp_srcfix_set(self->pin, &from, &bad));
	fd = bpf_map__fd(self->skel->maps.csmp_sf_addrs);
	ASSERT_EQ(0, bpf_map_update_elem(fd, &from, &bad, BPF_ANY));
}

FIXTURE_TEARDOWN(sf)
{
	csmp_srcfix__destroy(self->skel);
	st_unpin(self->pin);
}

static int run(int prog, const uint8_t *in, size_t len, uint8_t *out,
	       size_t *outlen)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in,
		    .data_size_in = (__u32)len, .data_out = out,
		    .data_size_out = 4096, .repeat = 1);
	int err = bpf_prog_test_run_opts(prog, &o);

	*outlen = o.data_size_out;
	return err ? err : (int)o.retval;
}

/*
 * The expected rewrite, computed from scratch: new source, UDP checksum
 * summed again over pseudo header and datagram (0 stays 0 for IPv4, which
 * means "no checksum"), IPv4 header checksum summed again.
 */
static void expect_rewrite(uint8_t *f, size_t l3, int v4, const char *vip)
{
	size_t udp, ulen;
	uint8_t ph[40];
	uint32_t s;

	if (v4) {
		struct in_addr a;
		size_t ihl = (size_t)(f[l3] & 15) * 4;

		inet_pton(AF_INET, vip, &a);
		memcpy(f + l3 + 12, &a, 4);
		lbt_put16(f + l3 + 10, 0);
		lbt_put16(f + l3 + 10, lbt_fold(lbt_sum(f + l3, ihl, 0)));
		udp = l3 + ihl;
		ulen = (size_t)f[udp + 4] << 8 | f[udp + 5];
		if (!f[udp + 6] && !f[udp + 7])
			return;
		memcpy(ph, f + l3 + 12, 8);
		ph[8] = 0;
		ph[9] = 17;
		lbt_put16(ph + 10, (uint16_t)ulen);
		s = lbt_sum(ph, 12, 0);
	} else {
		struct in6_addr a;
		uint8_t nh = f[l3 + 6];

		inet_pton(AF_INET6, vip, &a);
		memcpy(f + l3 + 8, &a, 16);
		udp = l3 + 40;
		while (nh == 0 || nh == 43 || nh == 60) {
			nh = f[udp];
			udp += ((size_t)f[udp + 1] + 1) * 8;
		}
		ulen = (size_t)f[udp + 4] << 8 | f[udp + 5];
		s = lbt_sum(f + l3 + 8, 32, 0) + (uint32_t)ulen + 17;
	}
	lbt_put16(f + udp + 6, 0);
	s = lbt_fold(lbt_sum(f + udp, ulen, s));
	lbt_put16(f + udp + 6, s ? (uint16_t)s : 0xffff);
}

static uint64_t reason_count(struct __test_metadata *_metadata,
			     FIXTURE_DATA(sf) *self, uint32_t r)
{
	return st_count(self->pin, "csmp_sf_stats", r);
}

/* in rewritten: output == expected, checksums valid. */
#define CHECK_REWRITE(in, len, l3, v4, vip)                                    \
	do {                                                                   \
		uint8_t _exp[4096], _out[4096];                                \
		size_t _ol;                                                    \
		ASSERT_TRUE(lbt_udp_csum_ok(in, l3, v4));                      \
		memcpy(_exp, in, len);                                         \
		expect_rewrite(_exp, l3, v4, vip);                             \
		ASSERT_EQ(TC_ACT_OK, run(self->prog, in, len, _out, &_ol));    \
		ASSERT_EQ((size_t)(len), _ol);                                 \
		ASSERT_EQ(0, memcmp(_exp, _out, len));                         \
		ASSERT_TRUE(lbt_udp_csum_ok(_out, l3, v4));                    \
		self->rewritten++;                                             \
	} while (0)

/* in untouched, and counted under reason r. */
#define CHECK_UNTOUCHED(in, len, r)                                            \
	do {                                                                   \
		uint8_t _out[4096];                                            \
		size_t _ol;                                                    \
		uint64_t _before = reason_count(_metadata, self, r);           \
		ASSERT_EQ(TC_ACT_OK, run(self->prog, in, len, _out, &_ol));    \
		ASSERT_EQ((size_t)(len), _ol);                                 \
		ASSERT_EQ(0, memcmp(in, _out, len));                           \
		ASSERT_EQ(_before + 1, reason_count(_metadata, self, r));      \
	} while (0)

static const uint8_t coap_ack[] = { 0x60, 0x43, 0x00, 0x00, 0xff, 0x0d,
				    0x04, 0x08, 0x14, 0x12, 0x00 };

TEST_F(sf, nms_reply_from_capture_leaves_with_the_vip)
{
	uint8_t in[4096];
	size_t n;

	/* Frame 2: the NMS (2018::2):61628 answers the agent with 2.03. */
	ASSERT_EQ(0, lbt_pcap_frame("opencsmp-register.pcap", 1, in,
				    sizeof(in), &n));
	ASSERT_EQ(0x86, in[12]);
	ASSERT_EQ(61628, in[54] << 8 | in[55]);
	CHECK_REWRITE(in, n, 14, 0, VIP6);
	EXPECT_EQ(self->rewritten, reason_count(_metadata, self, CSMP_R_OK));
}

TEST_F(sf, ipv6_and_ipv4_replies_on_both_ports_with_headers_in_between)
{
	/* Hop-by-hop (PadN) then destination options (PadN), then UDP. */
	static const uint8_t ext[] = { 60, 0, 1, 4, 0, 0, 0, 0,
				       17, 0, 1, 4, 0, 0, 0, 0 };
	static const uint8_t opt[] = { 1, 1, 1, 0 };	/* NOP NOP NOP EOL */
	struct lbt_frame f6 = { .src = HE6, .dst = DEV6, .sport = CSMP_PORT,
				.dport = 46790 };
	struct lbt_frame f4 = { .v4 = 1, .src = HE4, .dst = DEV4,
				.sport = CSMP_PORT, .dport = 50000 };
	uint8_t in[4096];
	size_t n;

	n = lbt_build(in, &f6, coap_ack, sizeof(coap_ack));
	CHECK_REWRITE(in, n, 14, 0, VIP6);
	f6.sport = CSMP_PORT_ALT;
	f6.ext = ext;
	f6.ext_len = sizeof(ext);
	f6.ext_first = 0;
	n = lbt_build(in, &f6, coap_ack, sizeof(coap_ack));
	CHECK_REWRITE(in, n, 14, 0, VIP6);
	f6.vlan = 42;
	n = lbt_build(in, &f6, coap_ack, sizeof(coap_ack));
	CHECK_REWRITE(in, n, 18, 0, VIP6);

	n = lbt_build(in, &f4, coap_ack, sizeof(coap_ack));
	CHECK_REWRITE(in, n, 14, 1, VIP4);
	f4.v4opt = opt;
	f4.v4opt_len = sizeof(opt);
	n = lbt_build(in, &f4, coap_ack, sizeof(coap_ack));
	CHECK_REWRITE(in, n, 14, 1, VIP4);
	/* IPv4 UDP without a checksum keeps none. */
	n = lbt_build(in, &f4, coap_ack, sizeof(coap_ack));
	in[14 + 24 + 6] = in[14 + 24 + 7] = 0;
	{
		uint8_t exp[4096], out[4096];
		size_t ol;

		memcpy(exp, in, n);
		expect_rewrite(exp, 14, 1, VIP4);
		ASSERT_EQ(TC_ACT_OK, run(self->prog, in, n, out, &ol));
		ASSERT_EQ(0, memcmp(exp, out, n));
		ASSERT_EQ(0, out[14 + 24 + 6] | out[14 + 24 + 7]);
		self->rewritten++;
	}
	EXPECT_EQ(self->rewritten, reason_count(_metadata, self, CSMP_R_OK));
}

TEST_F(sf, everything_else_leaves_untouched)
{
	struct lbt_frame f = { .src = HE6, .dst = DEV6, .sport = 5353,
			       .dport = 5353 };
	uint8_t in[4096];
	size_t n;

	/* Not a CSMP port; a request from an ephemeral port; another source. */
	n = lbt_build(in, &f, coap_ack, sizeof(coap_ack));
	CHECK_UNTOUCHED(in, n, CSMP_R_NOT_CSMP);
	f.sport = 62590;
	f.dport = CSMP_PORT;
	n = lbt_build(in, &f, coap_ack, sizeof(coap_ack));
	CHECK_UNTOUCHED(in, n, CSMP_R_NOT_CSMP);
	f.src = "2018::3";
	f.sport = CSMP_PORT;
	f.dport = 46790;
	n = lbt_build(in, &f, coap_ack, sizeof(coap_ack));
	CHECK_UNTOUCHED(in, n, CSMP_R_NOT_CSMP);
	/* IPv4 source with the IPv6 VIP's alternate port: only 61628 there. */
	{
		struct lbt_frame f4 = { .v4 = 1, .src = HE4, .dst = DEV4,
					.sport = CSMP_PORT_ALT, .dport = 1 };

		n = lbt_build(in, &f4, coap_ack, sizeof(coap_ack));
		CHECK_UNTOUCHED(in, n, CSMP_R_NOT_CSMP);
		/* TCP from the head-end's CSMP port. */
		f4.sport = CSMP_PORT;
		n = lbt_build(in, &f4, coap_ack, sizeof(coap_ack));
		in[14 + 9] = 6;
		lbt_put16(in + 14 + 10, 0);
		lbt_put16(in + 14 + 10, lbt_fold(lbt_sum(in + 14, 20, 0)));
		CHECK_UNTOUCHED(in, n, CSMP_R_NOT_CSMP);
		/* A fragment (more fragments set). */
		n = lbt_build(in, &f4, coap_ack, sizeof(coap_ack));
		in[14 + 6] = 0x20;
		lbt_put16(in + 14 + 10, 0);
		lbt_put16(in + 14 + 10, lbt_fold(lbt_sum(in + 14, 20, 0)));
		CHECK_UNTOUCHED(in, n, CSMP_R_FRAGMENT);
	}
	/* IPv6 fragment header before UDP. */
	{
		static const uint8_t frag[] = { 17, 0, 0, 1, 0, 0, 0, 7 };

		f.src = HE6;
		f.ext = frag;
		f.ext_len = sizeof(frag);
		f.ext_first = 44;
		n = lbt_build(in, &f, coap_ack, sizeof(coap_ack));
		CHECK_UNTOUCHED(in, n, CSMP_R_FRAGMENT);
	}
	/* A family mismatch in the table is refused, not half applied. */
	f.src = ODD6;
	f.ext = NULL;
	f.ext_len = 0;
	n = lbt_build(in, &f, coap_ack, sizeof(coap_ack));
	CHECK_UNTOUCHED(in, n, CSMP_R_REWRITE);
	/* Not IP at all (ARP). */
	memset(in, 0, 60);
	in[12] = 0x08;
	in[13] = 0x06;
	CHECK_UNTOUCHED(in, 60, CSMP_R_NOT_CSMP);
	EXPECT_EQ(0u, reason_count(_metadata, self, CSMP_R_OK));
}

TEST_F(sf, frames_truncated_at_every_header_leave_untouched)
{
	struct lbt_frame f6 = { .src = HE6, .dst = DEV6, .sport = CSMP_PORT,
				.dport = 46790 };
	struct lbt_frame f4 = { .v4 = 1, .src = HE4, .dst = DEV4,
				.sport = CSMP_PORT, .dport = 50000 };
	/* BPF_PROG_TEST_RUN itself refuses a frame shorter than its IP
	 * header, so the cuts start inside UDP. */
	static const struct { int v4; size_t len; uint32_t reason; } cut[] = {
		{ 0, 14 + 40, CSMP_R_L3_TRUNC },	/* IPv6 header only */
		{ 0, 14 + 40 + 4, CSMP_R_L3_TRUNC },	/* inside UDP */
		{ 0, 14 + 40 + 8 + 2, CSMP_R_L3_TRUNC },	/* payload cut */
		{ 1, 14 + 20, CSMP_R_L3_TRUNC },	/* IPv4 header only */
		{ 1, 14 + 20 + 7, CSMP_R_L3_TRUNC },	/* inside UDP */
		{ 1, 14 + 20 + 8 + 3, CSMP_R_L3_TRUNC },	/* payload cut */
	};
	uint8_t in[4096];
	unsigned int i;

	for (i = 0; i < sizeof(cut) / sizeof(cut[0]); i++) {
		lbt_build(in, cut[i].v4 ? &f4 : &f6, coap_ack, sizeof(coap_ack));
		CHECK_UNTOUCHED(in, cut[i].len, cut[i].reason);
	}
	/* Length fields that agree with a cut frame: UDP header cut short. */
	lbt_build(in, &f6, coap_ack, sizeof(coap_ack));
	lbt_put16(in + 14 + 4, 4);
	CHECK_UNTOUCHED(in, 14 + 40 + 4, CSMP_R_UDP_TRUNC);
	lbt_build(in, &f4, coap_ack, sizeof(coap_ack));
	lbt_put16(in + 14 + 2, 20 + 4);
	lbt_put16(in + 14 + 10, 0);
	lbt_put16(in + 14 + 10, lbt_fold(lbt_sum(in + 14, 20, 0)));
	CHECK_UNTOUCHED(in, 14 + 20 + 4, CSMP_R_UDP_TRUNC);
	/* IPv4 options running past the packet. */
	lbt_build(in, &f4, coap_ack, sizeof(coap_ack));
	in[14] = 0x4f;
	CHECK_UNTOUCHED(in, 14 + 20 + 8 + sizeof(coap_ack), CSMP_R_L3_TRUNC);
	EXPECT_EQ(0u, reason_count(_metadata, self, CSMP_R_OK));
}

TEST_HARNESS_MAIN
