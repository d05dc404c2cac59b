// SPDX-License-Identifier: GPL-2.0-only
/*
 * csmp_lb under BPF_PROG_TEST_RUN: fixture tables of input frame ->
 * verdict, reason counter, steering key and exact output bytes (outer and
 * inner headers, checksums) for every steering key and both modes; the
 * malformed corpus; storm control; the program's backend against the C
 * library's Maglev lookup for 100,000 random EIDs; and the BPF fallback
 * classifier against csmp_classify() on fixtures and random mutations.
 */
#include <time.h>

#include "lb_test.h"
#include "kselftest_harness.h"

static const uint8_t KEY[16] = { 0x10, 0x32, 0x54, 0x76, 0x98, 0xba, 0xdc, 0xfe,
				 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef };

FIXTURE(lb) {
	struct csmp_lb *skel;
	int prog, ifindex;
	char pin[64];
	struct csmp_lb_state *st;
	uint32_t *table;
	uint64_t k0, k1;
	int stats, steer, scratch;
};

static int add_be(struct csmp_lb_state *st, uint16_t id, const char *addr,
		  uint32_t state, uint16_t lo, uint16_t hi)
{
	struct csmp_lb_be *be = &st->be[st->n_be++];

	be->id = id;
	be->state = state;
	be->weight = 1;
	be->port_lo = lo;
	be->port_hi = hi;
	return csmp_lb_parse_addr(addr, &be->addr);
}

/*
 * CSMP_TEST_USE_KFUNCS=1 runs every table through csmp.ko's kfuncs instead
 * of the BPF fallback: the vm suite does, in qemu guests with the module
 * loaded, so the same expected verdicts and bytes hold on both paths.
 */
static bool lbt_use_kfuncs(void)
{
	const char *v = getenv("CSMP_TEST_USE_KFUNCS");

	return v && !strcmp(v, "1");
}

FIXTURE_SETUP(lb)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo);
	cpu_set_t cpus;

	self->skel = NULL;
	self->st = NULL;
	self->table = NULL;
	if (geteuid())
		SKIP(return, "needs root");
	CPU_ZERO(&cpus);
	CPU_SET(0, &cpus);
	ASSERT_EQ(0, sched_setaffinity(0, sizeof(cpus), &cpus));
	ASSERT_EQ(0, lbt_netns());
	ASSERT_EQ(0, lbt_bpffs());
	self->ifindex = (int)if_nametoindex(LBT_DEV);
	ASSERT_LT(0, self->ifindex);
	snprintf(self->pin, sizeof(self->pin), "/sys/fs/bpf/csmp-test-%d",
		 getpid());
	ASSERT_EQ(0, mkdir(self->pin, 0700));
	oo.pin_root_path = self->pin;
	self->skel = csmp_lb__open_opts(&oo);
	ASSERT_NE(NULL, self->skel);
	self->skel->rodata->use_kfuncs = lbt_use_kfuncs();
	if (lbt_use_kfuncs())
		ASSERT_EQ(1, csmp_lb_kfuncs_present());
	ASSERT_EQ(0, csmp_lb__load(self->skel));
	self->prog = bpf_program__fd(self->skel->progs.csmp_lb);
	self->stats = bpf_map__fd(self->skel->maps.csmp_stats);
	self->steer = bpf_map__fd(self->skel->maps.csmp_steer);
	self->scratch = bpf_map__fd(self->skel->maps.csmp_scratch);

	self->st = calloc(1, sizeof(*self->st));
	ASSERT_NE(NULL, self->st);
	ASSERT_EQ(0, csmp_lb_state_init(self->st));
	memcpy(self->st->key, KEY, 16);
	csmp_lb_key_words(KEY, &self->k0, &self->k1);
	csmp_lb_parse_addr(LBT_VIP6, &self->st->vips[0]);
	csmp_lb_parse_addr(LBT_VIP4, &self->st->vips[1]);
	self->st->n_vips = 2;
	csmp_lb_parse_addr(LBT_LB_ADDR, &self->st->lb_addr);
	self->st->reply_lo = 40000;
	self->st->reply_hi = 63000;
	self->st->eid_rate = 0;		/* storm tests set their own */
	ASSERT_EQ(0, add_be(self->st, 10, LBT_BE(a), CSMP_BE_ACTIVE, 62500, 62999));
	ASSERT_EQ(0, add_be(self->st, 11, LBT_BE(b), CSMP_BE_ACTIVE, 40000, 40999));
	ASSERT_EQ(0, add_be(self->st, 12, LBT_BE(c), CSMP_BE_ACTIVE, 0, 0));
	ASSERT_EQ(0, add_be(self->st, 13, LBT_BE(d), CSMP_BE_DRAINING, 41000, 41999));
	ASSERT_EQ(0, csmp_lb_apply(self->pin, self->st, NULL));
	self->table = malloc(sizeof(uint32_t) * CSMP_MAGLEV_M);
	ASSERT_NE(NULL, self->table);
	ASSERT_EQ(0, csmp_lb_state_table(self->st, self->table));
}

FIXTURE_TEARDOWN(lb)
{
	if (self->skel) {
		struct bpf_map *m;

		bpf_object__for_each_map(m, self->skel->obj)
			if (bpf_map__is_pinned(m))
				bpf_map__unpin(m, NULL);
		csmp_lb__destroy(self->skel);
		rmdir(self->pin);
	}
	free(self->table);
	free(self->st);
}

static const char *be_addr(const struct csmp_lb_state *st, uint32_t id)
{
	static char a[INET6_ADDRSTRLEN];
	unsigned int i;

	for (i = 0; i < st->n_be; i++)
		if (st->be[i].id == id) {
			csmp_lb_format_addr(&st->be[i].addr, a, sizeof(a));
			return a;
		}
	return "::";
}

/* ---------- fixture table ---------- */

enum { OUT_SAME, OUT_ENCAP };

struct fx {
	const char *name;
	uint8_t frame[2300];
	size_t len;
	int vlan;
	int verdict;
	uint32_t reason;	/* csmp_stats index expected to count it */
	uint32_t key;		/* csmp_steer index on XDP_TX */
	uint32_t backend;	/* expected backend id (encap) */
	uint64_t eid;		/* for the flow label */
	int out;
	int built;		/* built here: checksums valid */
};

static uint64_t iid_eid(const char *addr)
{
	struct in6_addr a;
	uint64_t v = 0;
	int i;

	inet_pton(AF_INET6, addr, &a);
	for (i = 8; i < 16; i++)
		v = v << 8 | a.s6_addr[i];
	return v ^ (0x02ULL << 56);
}

static uint64_t src_hash_eid(const char *addr)
{
	struct in6_addr a;
	uint64_t hi = 0, lo = 0;
	int i;

	inet_pton(AF_INET6, addr, &a);
	for (i = 0; i < 8; i++) {
		hi = hi << 8 | a.s6_addr[i];
		lo = lo << 8 | a.s6_addr[8 + i];
	}
	return hi ^ lo;
}

static void check_fx(struct __test_metadata *_metadata,
		     FIXTURE_DATA(lb) *self, const struct fx *f)
{
	static const uint8_t macs[4][6] = { LBT_BE_MAC(0x0a), LBT_BE_MAC(0x0b),
					    LBT_BE_MAC(0x0c), LBT_BE_MAC(0x0d) };
	uint8_t out[8192], want[8192];
	uint64_t before = lbt_count(self->stats, f->reason);
	uint64_t kbefore = lbt_count(self->steer, f->key);
	size_t olen = 0, wlen;
	int v;

	v = lbt_run(self->prog, self->ifindex, f->frame, f->len, out, &olen);
	TH_LOG("%s: verdict %d (want %d), %zu bytes", f->name, v, f->verdict, olen);
	ASSERT_EQ(f->verdict, v);
	EXPECT_EQ(before + 1, lbt_count(self->stats, f->reason));
	if (f->out == OUT_SAME) {
		ASSERT_EQ(f->len, olen);
		EXPECT_EQ(0, memcmp(out, f->frame, olen));
		return;
	}
	ASSERT_LE(10U, f->backend);
	ASSERT_GE(13U, f->backend);
	EXPECT_EQ(kbefore + 1, lbt_count(self->steer, f->key));
	wlen = lbt_expect_encap(want, f->frame, f->len, f->vlan,
				macs[f->backend - 10],
				be_addr(self->st, f->backend), f->eid);
	ASSERT_EQ(wlen, olen);
	EXPECT_EQ(0, memcmp(out, want, olen)) {
		size_t i;

		for (i = 0; i < olen; i++)
			if (out[i] != want[i]) {
				TH_LOG("first difference at byte %zu: %02x != %02x",
				       i, out[i], want[i]);
				break;
			}
	}
	/*
	 * The inner datagram's UDP checksum is as valid as it came in (the
	 * agent's capture was taken before checksum offload: not valid).
	 */
	EXPECT_EQ(lbt_udp_csum_ok(f->frame, f->vlan ? 18 : 14,
				  f->frame[(f->vlan ? 18 : 14) - 2] == 0x08),
		  lbt_udp_csum_ok(out, (f->vlan ? 18 : 14) + 40,
				  out[(f->vlan ? 18 : 14) + 6] == 4));
	if (f->built)
		EXPECT_TRUE(lbt_udp_csum_ok(out, (f->vlan ? 18 : 14) + 40,
					    out[(f->vlan ? 18 : 14) + 6] == 4));
}

static void mk(struct fx *f, const struct lbt_frame *fr, const uint8_t *pl,
	       size_t plen)
{
	f->len = lbt_build(f->frame, fr, pl, plen);
	f->vlan = fr->vlan != 0;
	f->built = 1;
}

#define EID_AGENT	0x0A0027FFFE3B2AB2ULL

static size_t reg_payload(uint8_t *pl, uint64_t eid);

TEST_F(lb, agent_registration_from_pcap_goes_to_maglev_owner)
{
	struct fx f = { .name = "pcap registration", .verdict = XDP_TX,
			.reason = CSMP_R_OK, .key = CSMP_K_DEVICE_ID,
			.eid = EID_AGENT, .out = OUT_ENCAP };

	ASSERT_EQ(0, lbt_pcap_frame("opencsmp-register.pcap", 0, f.frame,
				    sizeof(f.frame), &f.len));
	ASSERT_EQ(664U, f.len);
	f.backend = csmp_maglev_lookup(self->table, self->k0, self->k1, EID_AGENT);
	check_fx(_metadata, self, &f);
	/* The registration taught the LB this source's EID. */
	{
		struct in6_addr a;
		uint64_t eid = 0;
		int fd = bpf_map__fd(self->skel->maps.csmp_learned);
		struct lbt_frame fr = { .src = LBT_DEVICE, .dst = LBT_VIP6,
					.sport = 46790, .dport = CSMP_PORT };
		uint8_t pl[128], out[4096];
		size_t n, olen;

		inet_pton(AF_INET6, LBT_DEVICE, &a);
		ASSERT_EQ(0, bpf_map_lookup_elem(fd, &a, &eid));
		EXPECT_EQ(EID_AGENT, eid);
		/* Registering again changes nothing; another EID rebinds. */
		check_fx(_metadata, self, &f);
		ASSERT_EQ(0, bpf_map_lookup_elem(fd, &a, &eid));
		EXPECT_EQ(EID_AGENT, eid);
		n = reg_payload(pl, EID_AGENT + 1);
		f.len = lbt_build(f.frame, &fr, pl, n);
		ASSERT_EQ(XDP_TX, lbt_run(self->prog, self->ifindex, f.frame,
					  f.len, out, &olen));
		ASSERT_EQ(0, bpf_map_lookup_elem(fd, &a, &eid));
		EXPECT_EQ(EID_AGENT + 1, eid);
	}
}

static size_t reg_payload(uint8_t *pl, uint64_t eid)
{
	uint8_t tlv[64];
	size_t n = lbt_tlv_devid(tlv, eid);

	return lbt_coap(pl, CSMP_COAP_CON, CSMP_COAP_POST, 'r', tlv, n);
}

TEST_F(lb, registration_over_vlan_ipv4_options_and_ext_headers)
{
	static const uint8_t hbh_dst[] = {
		/* hop-by-hop: next = dest opts, 8 bytes, PadN */
		60, 0, 1, 4, 0, 0, 0, 0,
		/* destination options: next = UDP, 16 bytes */
		17, 1, 1, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 };
	static const uint8_t v4opt[] = { 1, 1, 1, 0 };	/* NOP NOP NOP EOL */
	uint8_t pl[128];
	uint64_t eid = 0x0007810800E76FDAULL;
	size_t n = reg_payload(pl, eid);
	struct lbt_frame vlan = { .vlan = 100, .src = LBT_DEVICE, .dst = LBT_VIP6,
				  .sport = 46790, .dport = CSMP_PORT };
	struct lbt_frame v4 = { .v4 = 1, .src = "198.51.100.7", .dst = LBT_VIP4,
				.sport = 46790, .dport = CSMP_PORT_ALT,
				.v4opt = v4opt, .v4opt_len = 4 };
	struct lbt_frame ext = { .src = LBT_DEVICE, .dst = LBT_VIP6,
				 .sport = 46790, .dport = CSMP_PORT,
				 .ext = hbh_dst, .ext_len = sizeof(hbh_dst),
				 .ext_first = 0 };
	struct fx f = { .verdict = XDP_TX, .reason = CSMP_R_OK,
			.key = CSMP_K_DEVICE_ID, .eid = eid, .out = OUT_ENCAP };

	f.backend = csmp_maglev_lookup(self->table, self->k0, self->k1, eid);
	f.name = "vlan";
	mk(&f, &vlan, pl, n);
	check_fx(_metadata, self, &f);
	f.name = "ipv4 with options, port 61624";
	mk(&f, &v4, pl, n);
	check_fx(_metadata, self, &f);
	f.name = "ipv6 hop-by-hop + destination options";
	mk(&f, &ext, pl, n);
	check_fx(_metadata, self, &f);
}

TEST_F(lb, every_steering_key_in_order)
{
	uint8_t pl[256], tlv[128];
	size_t n, t;
	struct lbt_frame fr = { .src = LBT_DEVICE, .dst = LBT_VIP6,
				.sport = 46790, .dport = CSMP_PORT };
	struct fx f = { .verdict = XDP_TX, .reason = CSMP_R_OK, .out = OUT_ENCAP };
	uint64_t eid = 0x00124B0001020304ULL;

	/* 1. reply port: the device answers from 61628 to 62590 (backend 10). */
	f.name = "reply port (csmp_get.pcap frame 2)";
	ASSERT_EQ(0, lbt_pcap_frame("opencsmp-get.pcap", 1, f.frame,
				    sizeof(f.frame), &f.len));
	f.vlan = 0;
	f.built = 0;
	f.key = CSMP_K_REPLY_PORT;
	f.backend = 10;
	f.eid = 0;
	check_fx(_metadata, self, &f);

	/* 2. session token "000b..." -> backend 11, whatever the source. */
	t = lbt_tlv_session(tlv, "000b7f3a");
	tlv[t++] = 22;		/* Uptime, 2 bytes */
	tlv[t++] = 2;
	tlv[t++] = 0x08;
	tlv[t++] = 0x05;
	n = lbt_coap(pl, CSMP_COAP_NON, CSMP_COAP_POST, 'c', tlv, t);
	f.name = "session token";
	mk(&f, &fr, pl, n);
	f.key = CSMP_K_SESSION;
	f.backend = 11;
	check_fx(_metadata, self, &f);
	/* A draining backend keeps its sessions. */
	f.name = "session token to a draining backend";
	t = lbt_tlv_session(tlv, "000d7f3a");
	n = lbt_coap(pl, CSMP_COAP_NON, CSMP_COAP_POST, 'c', tlv, t);
	mk(&f, &fr, pl, n);
	f.backend = 13;
	check_fx(_metadata, self, &f);

	/* 3. pin beats the table (set as csmpctl lb pin does: the pins and
	 * their count in the config, which lets csmp_lb skip the lookup). */
	self->st->pins[0].eid = eid;
	self->st->pins[0].backend = 12;
	self->st->n_pins = 1;
	ASSERT_EQ(0, csmp_lb_apply(self->pin, self->st, NULL));
	n = reg_payload(pl, eid);
	f.name = "pin";
	mk(&f, &fr, pl, n);
	f.key = CSMP_K_PIN;
	f.backend = 12;
	f.eid = eid;
	check_fx(_metadata, self, &f);
	self->st->n_pins = 0;
	ASSERT_EQ(0, csmp_lb_apply(self->pin, self->st, NULL));

	/* 4. DeviceID through the table (and it is learned). */
	f.name = "device id";
	f.key = CSMP_K_DEVICE_ID;
	f.backend = csmp_maglev_lookup(self->table, self->k0, self->k1, eid);
	check_fx(_metadata, self, &f);

	/* 5. learned binding: an async reply without ids from that source. */
	t = 0;
	tlv[t++] = 22;
	tlv[t++] = 2;
	tlv[t++] = 0x08;
	tlv[t++] = 0x05;
	n = lbt_coap(pl, CSMP_COAP_NON, CSMP_COAP_POST, 'c', tlv, t);
	f.name = "learned binding";
	mk(&f, &fr, pl, n);
	f.key = CSMP_K_LEARNED;
	check_fx(_metadata, self, &f);

	/* 6. modified EUI-64 interface id. */
	fr.src = "2001:db8:51:c000:207:8108:e7:6fda";
	f.name = "interface id";
	mk(&f, &fr, pl, n);
	f.key = CSMP_K_IID;
	f.eid = iid_eid(fr.src);
	EXPECT_EQ(0x0007810800E76FDAULL, f.eid);
	f.backend = csmp_maglev_lookup(self->table, self->k0, self->k1, f.eid);
	check_fx(_metadata, self, &f);

	/* 7. anything else: the source address hash. */
	fr.src = "2001:db8:51:c000::188";
	f.name = "source hash";
	mk(&f, &fr, pl, n);
	f.key = CSMP_K_SRC_HASH;
	f.eid = src_hash_eid(fr.src);
	f.backend = csmp_maglev_lookup(self->table, self->k0, self->k1, f.eid);
	check_fx(_metadata, self, &f);

	/* A token for an unknown backend falls through to the next keys. */
	t = lbt_tlv_session(tlv, "0fff7f3a");
	n = lbt_coap(pl, CSMP_COAP_NON, CSMP_COAP_POST, 'c', tlv, t);
	f.name = "session token of an unknown backend";
	mk(&f, &fr, pl, n);
	check_fx(_metadata, self, &f);
}

TEST_F(lb, local_mode_filters_and_passes)
{
	uint8_t pl[128];
	size_t n = reg_payload(pl, 0x1122334455667788ULL);
	struct lbt_frame fr = { .src = LBT_DEVICE, .dst = LBT_VIP6,
				.sport = 46790, .dport = CSMP_PORT };
	struct fx f = { .name = "local registration", .verdict = XDP_PASS,
			.reason = CSMP_R_OK, .out = OUT_SAME };

	self->st->mode = CSMP_LB_MODE_LOCAL;
	ASSERT_EQ(0, csmp_lb_apply(self->pin, self->st, NULL));
	mk(&f, &fr, pl, n);
	check_fx(_metadata, self, &f);
	pl[0] = 0x80;		/* CoAP version 2 */
	f.name = "local malformed";
	mk(&f, &fr, pl, n);
	f.verdict = XDP_DROP;
	f.reason = CSMP_R_COAP_VERSION;
	check_fx(_metadata, self, &f);
}

TEST_F(lb, forwarding_failures)
{
	uint8_t pl[128];
	uint64_t eid = 0x1122334455667788ULL;
	size_t n = reg_payload(pl, eid);
	struct lbt_frame fr = { .src = LBT_DEVICE, .dst = LBT_VIP6,
				.sport = 46790, .dport = CSMP_PORT };
	struct fx f = { .out = OUT_SAME };
	uint8_t out[4096];
	size_t olen;
	unsigned int i;

	/* Every backend without a route: dropped, counted as FIB. */
	for (i = 0; i < self->st->n_be; i++)
		csmp_lb_parse_addr("2001:db8:dead::1", &self->st->be[i].addr);
	ASSERT_EQ(0, csmp_lb_apply(self->pin, self->st, NULL));
	mk(&f, &fr, pl, n);
	f.name = "no route";
	f.verdict = XDP_DROP;
	f.reason = CSMP_R_FIB;
	/* The frame was grown before the lookup: only count and verdict. */
	{
		uint64_t b = lbt_count(self->stats, CSMP_R_FIB);

		ASSERT_EQ(XDP_DROP, lbt_run(self->prog, self->ifindex, f.frame,
					    f.len, out, &olen));
		EXPECT_EQ(b + 1, lbt_count(self->stats, CSMP_R_FIB));
	}
	/* On-link without a neighbour: encapsulated, passed to the stack. */
	for (i = 0; i < self->st->n_be; i++)
		csmp_lb_parse_addr("2001:db8:ff::e", &self->st->be[i].addr);
	ASSERT_EQ(0, csmp_lb_apply(self->pin, self->st, NULL));
	ASSERT_EQ(XDP_PASS, lbt_run(self->prog, self->ifindex, f.frame, f.len,
				    out, &olen));
	EXPECT_EQ(f.len + 40, olen);
	EXPECT_EQ(0, memcmp(out, f.frame, 12));	/* original MACs */
	EXPECT_EQ(41, out[14 + 6]);
	/* No active backend: dropped as NO_BACKEND. */
	for (i = 0; i < self->st->n_be; i++)
		self->st->be[i].state = CSMP_BE_DOWN;
	ASSERT_EQ(0, csmp_lb_apply(self->pin, self->st, NULL));
	f.name = "no backend";
	f.reason = CSMP_R_NO_BACKEND;
	check_fx(_metadata, self, &f);
}

/*
 * csmp_fib_cache keeps a backend's next hop per CPU for fib_cache_ns: a
 * changed backend address must still take effect on the next packet, and
 * a packet larger than any the cached lookup accepted must still meet the
 * MTU check (dropped as FIB, not sent on the cached next hop).
 */
TEST_F(lb, next_hop_cache_follows_backend_address_and_mtu)
{
	static const uint8_t mac_a[6] = LBT_BE_MAC(0x0a), mac_d[6] = LBT_BE_MAC(0x0d);
	struct lbt_frame fr = { .src = LBT_DEVICE, .dst = LBT_VIP6,
				.sport = 46790, .dport = CSMP_PORT };
	struct fx f = { .verdict = XDP_TX, .reason = CSMP_R_OK, .out = OUT_ENCAP,
			.key = CSMP_K_SESSION, .backend = 10 };
	uint8_t pl[2048], tlv[1600], out[8192], big[2300], want[16];
	size_t n, t, olen, blen;
	uint64_t fails;

	t = lbt_tlv_session(tlv, "000a7f3a");
	n = lbt_coap(pl, CSMP_COAP_NON, CSMP_COAP_POST, 'c', tlv, t);
	f.name = "session token, next hop looked up";
	mk(&f, &fr, pl, n);
	check_fx(_metadata, self, &f);
	f.name = "session token, next hop cached";
	check_fx(_metadata, self, &f);

	/* Backend 10 moves to ::d (neighbour 02:..:0d): the next packet follows. */
	ASSERT_EQ(0, csmp_lb_parse_addr(LBT_BE(d), &self->st->be[0].addr));
	ASSERT_EQ(0, csmp_lb_apply(self->pin, self->st, NULL));
	ASSERT_EQ(XDP_TX, lbt_run(self->prog, self->ifindex, f.frame, f.len,
				  out, &olen));
	ASSERT_EQ(f.len + 40, olen);
	EXPECT_EQ(0, memcmp(out, mac_d, 6));
	ASSERT_EQ(1, inet_pton(AF_INET6, LBT_BE(d), want));
	EXPECT_EQ(0, memcmp(out + 14 + 24, want, 16));

	/* 1,460 bytes of TLVs: the outer packet exceeds lbt0's 1,500 MTU. */
	tlv[t++] = 22;		/* Uptime, length 1,452 as a 2-byte varint */
	tlv[t++] = (uint8_t)(0x80 | (1452 & 0x7f));
	tlv[t++] = (uint8_t)(1452 >> 7);
	memset(tlv + t, 0x08, 1452);
	t += 1452;
	n = lbt_coap(pl, CSMP_COAP_NON, CSMP_COAP_POST, 'c', tlv, t);
	blen = lbt_build(big, &fr, pl, n);
	fails = lbt_count(self->stats, CSMP_R_FIB);
	ASSERT_EQ(XDP_DROP, lbt_run(self->prog, self->ifindex, big, blen,
				    out, &olen));
	EXPECT_EQ(fails + 1, lbt_count(self->stats, CSMP_R_FIB));

	/* The small one still goes out on the cached next hop. */
	ASSERT_EQ(XDP_TX, lbt_run(self->prog, self->ifindex, f.frame, f.len,
				  out, &olen));
	EXPECT_EQ(0, memcmp(out, mac_d, 6));
	EXPECT_NE(0, memcmp(out, mac_a, 6));
}

/* ---------- malformed and foreign traffic ---------- */

TEST_F(lb, foreign_traffic_passes_untouched)
{
	uint8_t pl[128];
	size_t n = reg_payload(pl, 1);
	struct lbt_frame fr = { .src = LBT_DEVICE, .dst = LBT_VIP6,
				.sport = 46790, .dport = 53 };
	struct fx f = { .verdict = XDP_PASS, .reason = CSMP_R_NOT_CSMP,
			.out = OUT_SAME };
	static const uint8_t frag[] = { 17, 0, 0, 1, 0, 0, 0, 7 };

	f.name = "other port on the VIP";
	mk(&f, &fr, pl, n);
	check_fx(_metadata, self, &f);
	f.name = "CSMP port, another address";
	fr.dport = CSMP_PORT;
	fr.dst = "2018::3";
	mk(&f, &fr, pl, n);
	check_fx(_metadata, self, &f);
	f.name = "reply range but not from a CSMP port";
	fr.dst = LBT_VIP6;
	fr.sport = 5000;
	fr.dport = 40001;
	mk(&f, &fr, pl, n);
	check_fx(_metadata, self, &f);
	f.name = "ARP";
	memset(f.frame, 0, 60);
	f.frame[12] = 0x08;
	f.frame[13] = 0x06;
	f.len = 60;
	check_fx(_metadata, self, &f);
	f.name = "fragment to the VIP";
	fr.sport = 46790;
	fr.dport = CSMP_PORT;
	fr.ext = frag;
	fr.ext_len = sizeof(frag);
	fr.ext_first = 44;
	mk(&f, &fr, pl, n);
	f.reason = CSMP_R_FRAGMENT;
	check_fx(_metadata, self, &f);
	f.name = "two VLAN tags";
	fr.ext_len = 0;
	fr.vlan = 7;
	mk(&f, &fr, pl, n);
	memmove(f.frame + 16, f.frame + 12, f.len - 12);
	f.frame[12] = 0x88;
	f.frame[13] = 0xa8;
	f.frame[14] = 0;
	f.frame[15] = 9;
	f.len += 4;
	f.reason = CSMP_R_VLAN;
	check_fx(_metadata, self, &f);
}

/* Truncated at every byte of every header: the layer decides the fate. */
TEST_F(lb, truncated_at_every_header)
{
	struct fx f = { .name = "truncated", .out = OUT_SAME };
	uint8_t full[2048];
	size_t len, k;

	ASSERT_EQ(0, lbt_pcap_frame("opencsmp-register.pcap", 0, full,
				    sizeof(full), &len));
	/* test_run refuses frames shorter than Ethernet: truncate a tag. */
	for (k = 14; k < 18; k++) {
		memcpy(f.frame, full, 12);
		f.frame[12] = 0x81;
		f.frame[13] = 0x00;
		memset(f.frame + 14, 0, 4);
		f.len = k;
		f.verdict = XDP_PASS;
		f.reason = CSMP_R_L2_TRUNC;
		check_fx(_metadata, self, &f);
	}
	for (k = 14; k < 14 + 40 + 8 + 8; k++) {
		memcpy(f.frame, full, k);
		f.len = k;
		if (k < 54) {
			f.verdict = XDP_PASS;
			f.reason = CSMP_R_L3_TRUNC;
		} else {
			/* IPv6 payload length says 610: the frame lies. */
			f.verdict = XDP_DROP;
			f.reason = CSMP_R_L3_TRUNC;
		}
		check_fx(_metadata, self, &f);
	}
}

struct bad {
	const char *name;
	const char *hex;	/* UDP payload */
	uint32_t reason;
};

static const struct bad bad_payloads[] = {
	{ "coap short", "4002", CSMP_R_COAP_SHORT },
	{ "coap version 2", "80020000b172ff0201", CSMP_R_COAP_VERSION },
	{ "coap tkl 9", "49020000", CSMP_R_COAP_TKL },
	{ "coap token truncated", "44020000aabb", CSMP_R_COAP_TOKEN_TRUNC },
	{ "coap reserved class", "40220000", CSMP_R_COAP_CODE },
	{ "coap empty with bytes", "40000000ff", CSMP_R_COAP_CODE },
	{ "coap option nibble 15", "40020000bf72", CSMP_R_COAP_OPT_RESERVED },
	{ "coap option truncated", "40020000b5727272", CSMP_R_COAP_OPT_TRUNC },
	{ "coap marker without payload", "40020000b172ff", CSMP_R_COAP_EMPTY_PAYLOAD },
	{ "coap 17 options", "40020000"
	  "1010101010101010101010101010101010", CSMP_R_COAP_TOO_MANY_OPTS },
	{ "tlv varint 6 bytes", "40020000b172ff8080808080", CSMP_R_TLV_VARINT },
	{ "tlv type over 32 bits", "40020000b172ffffffffff7f00", CSMP_R_TLV_VARINT },
	{ "tlv value truncated", "40020000b172ff0205080112", CSMP_R_TLV_TRUNC },
	{ "vendor tlv in neither form", "40020000b172ff7f8b2d7f05", CSMP_R_TLV_VENDOR },
	{ "device id 15 hex", "40020000b172ff021108011210"
	  "303030303030303030303030303030", CSMP_R_DEVICE_ID },
	{ "device id not hex", "40020000b172ff021408011210"
	  "303030303030303030303030303030zz", CSMP_R_DEVICE_ID },
	{ "device id type 2", "40020000b172ff021408021210"
	  "30303030303030303030303030303030", CSMP_R_DEVICE_ID },
	{ "session id 17 chars", "50020000b163ff0713"
	  "0a113030303030303030303030303030303030", CSMP_R_SESSION_ID },
	{ "session id empty", "50020000b163ff07020a00", CSMP_R_SESSION_ID },
	{ "registration without tlvs", "40020000b172", CSMP_R_TLV_EMPTY },
};

static size_t unhex(const char *h, uint8_t *out)
{
	size_t n = 0;

	for (; h[0] && h[1]; h += 2) {
		int a = csmp_hexval((uint8_t)h[0]), b = csmp_hexval((uint8_t)h[1]);

		/* 'zz' stands for two non-hex bytes inside a DeviceID. */
		out[n++] = a < 0 || b < 0 ? 'z' : (uint8_t)(a << 4 | b);
	}
	return n;
}

TEST_F(lb, malformed_csmp_is_dropped_with_its_reason)
{
	struct lbt_frame fr = { .src = LBT_DEVICE, .dst = LBT_VIP6,
				.sport = 46790, .dport = CSMP_PORT };
	struct fx f = { .verdict = XDP_DROP, .out = OUT_SAME };
	uint8_t pl[2200];
	size_t i, n;

	for (i = 0; i < sizeof(bad_payloads) / sizeof(bad_payloads[0]); i++) {
		struct csmp_class c;

		n = unhex(bad_payloads[i].hex, pl);
		f.name = bad_payloads[i].name;
		f.reason = bad_payloads[i].reason;
		/* The shared classifier agrees with the table. */
		csmp_classify(pl, (uint32_t)n, &c);
		EXPECT_EQ(bad_payloads[i].reason, c.reason);
		mk(&f, &fr, pl, n);
		check_fx(_metadata, self, &f);
	}
	/* Oversized datagram. */
	memset(pl, 0, sizeof(pl));
	pl[0] = 0x40;
	pl[1] = 0x02;
	f.name = "oversize";
	f.reason = CSMP_R_COAP_OVERSIZE;
	mk(&f, &fr, pl, 2100);
	check_fx(_metadata, self, &f);
	/* UDP length disagreeing with the IP length. */
	n = reg_payload(pl, 5);
	mk(&f, &fr, pl, n);
	f.frame[14 + 40 + 5] += 1;
	f.name = "udp length";
	f.reason = CSMP_R_UDP_LEN;
	check_fx(_metadata, self, &f);
	/* Extension header running past the packet. */
	{
		static const uint8_t longhbh[] = { 17, 200, 1, 4, 0, 0, 0, 0 };

		fr.ext = longhbh;
		fr.ext_len = sizeof(longhbh);
		fr.ext_first = 0;
		mk(&f, &fr, pl, n);
		f.name = "hop-by-hop longer than the packet";
		f.reason = CSMP_R_IPV6_EXTHDR;
		check_fx(_metadata, self, &f);
	}
	/* An IPv6 ethertype whose header says version 4. */
	fr.ext = NULL;
	fr.ext_len = 0;
	mk(&f, &fr, pl, n);
	f.frame[14] = 0x40;
	f.name = "ipv6 header with version 4";
	f.reason = CSMP_R_L3_TRUNC;
	check_fx(_metadata, self, &f);
	/* IPv4 option whose length is 1. */
	{
		static const uint8_t badopt[] = { 7, 1, 0, 0 };
		struct lbt_frame v4 = { .v4 = 1, .src = "198.51.100.7",
					.dst = LBT_VIP4, .sport = 46790,
					.dport = CSMP_PORT, .v4opt = badopt,
					.v4opt_len = 4 };

		mk(&f, &v4, pl, n);
		f.name = "ipv4 option length 1";
		f.reason = CSMP_R_IPV4_OPTIONS;
		check_fx(_metadata, self, &f);
	}
}

/* ---------- the fast path against the full walk ---------- */

/*
 * Datagrams whose steering TLV is well formed and whose rest is not: the
 * fast path of encap mode steers them (the head-end, parsing every
 * datagram, drops them with this reason), the full walk (local mode, the
 * kfunc path, or fast_path off) drops them here.
 */
static const struct bad bad_after_steering[] = {
	{ "report, second tlv truncated", "5002abcdb163ff0708"
	  "0a06303030623132" "1205080110", CSMP_R_TLV_TRUNC },
	{ "report, tlv varint 6 bytes", "5002abcdb163ff0708"
	  "0a06303030623132" "8080808080", CSMP_R_TLV_VARINT },
	{ "report, bad second session id", "5002abcdb163ff0708"
	  "0a06303030623132" "07020a00", CSMP_R_SESSION_ID },
	{ "registration, bad second device id", "40020000b172ff0214"
	  "0801121030303037383130383030453736464441" "021108011210"
	  "303030303030303030303030303030", CSMP_R_DEVICE_ID },
	{ "registration, vendor tlv in neither form", "40020000b172ff0214"
	  "0801121030303037383130383030453736464441" "7f8b2d7f05",
	  CSMP_R_TLV_VENDOR },
};

struct lb_paths {
	struct csmp_lb *full;	/* fast_path off, same pinned maps */
	int full_prog;
};

static void paths_open(struct __test_metadata *_metadata,
		       FIXTURE_DATA(lb) *self, struct lb_paths *lp)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo, .pin_root_path = self->pin);

	lp->full = csmp_lb__open_opts(&oo);
	ASSERT_NE(NULL, lp->full);
	lp->full->rodata->use_kfuncs = lbt_use_kfuncs();
	lp->full->rodata->fast_path = false;
	ASSERT_EQ(0, csmp_lb__load(lp->full));
	lp->full_prog = bpf_program__fd(lp->full->progs.csmp_lb);
}

TEST_F(lb, malformed_after_the_steering_tlv_per_path)
{
	struct lbt_frame fr = { .src = LBT_DEVICE, .dst = LBT_VIP6,
				.sport = 46790, .dport = CSMP_PORT };
	uint8_t pl[256], frame[512], out[1024];
	struct lb_paths lp;
	size_t i, n, len, olen;
	uint64_t before;
	int fast_tx = !lbt_use_kfuncs();

	paths_open(_metadata, self, &lp);
	for (i = 0; i < sizeof(bad_after_steering) / sizeof(bad_after_steering[0]); i++) {
		const struct bad *b = &bad_after_steering[i];
		struct csmp_class c;

		n = unhex(b->hex, pl);
		csmp_classify(pl, (uint32_t)n, &c);
		EXPECT_EQ(b->reason, c.reason);
		len = lbt_build(frame, &fr, pl, n);
		/* encap mode: steered on the fast path; dropped on the kfunc path. */
		before = lbt_count(self->stats, b->reason);
		TH_LOG("%s: encap mode, %s", b->name,
		       fast_tx ? "fast path: steered" : "kfunc path: dropped");
		EXPECT_EQ(fast_tx ? XDP_TX : XDP_DROP,
			  lbt_run(self->prog, self->ifindex, frame, len, out, &olen));
		EXPECT_EQ(before + !fast_tx, lbt_count(self->stats, b->reason));
		/* The full walk in encap mode drops it with its reason. */
		EXPECT_EQ(XDP_DROP, lbt_run(lp.full_prog, self->ifindex, frame,
					    len, out, &olen));
		EXPECT_EQ(before + !fast_tx + 1, lbt_count(self->stats, b->reason));
	}
	/* local mode: the full walk on every datagram. */
	self->st->mode = CSMP_LB_MODE_LOCAL;
	ASSERT_EQ(0, csmp_lb_apply(self->pin, self->st, NULL));
	for (i = 0; i < sizeof(bad_after_steering) / sizeof(bad_after_steering[0]); i++) {
		n = unhex(bad_after_steering[i].hex, pl);
		len = lbt_build(frame, &fr, pl, n);
		before = lbt_count(self->stats, bad_after_steering[i].reason);
		EXPECT_EQ(XDP_DROP, lbt_run(self->prog, self->ifindex, frame,
					    len, out, &olen));
		EXPECT_EQ(before + 1, lbt_count(self->stats,
						bad_after_steering[i].reason));
	}
	csmp_lb__destroy(lp.full);
}

/* One datagram through both paths: same verdict, same bytes out. */
static void same_on_both(struct __test_metadata *_metadata,
			 FIXTURE_DATA(lb) *self, const struct lb_paths *lp,
			 const uint8_t *pl, size_t n, unsigned int *steered)
{
	struct lbt_frame fr = { .src = LBT_DEVICE, .dst = LBT_VIP6,
				.sport = 46790, .dport = CSMP_PORT };
	uint8_t frame[2300], a[4096], b[4096];
	size_t len, alen, blen;
	struct csmp_class c;
	int va, vb;

	len = lbt_build(frame, &fr, pl, n);
	va = lbt_run(self->prog, self->ifindex, frame, len, a, &alen);
	vb = lbt_run(lp->full_prog, self->ifindex, frame, len, b, &blen);
	if (va == vb) {
		ASSERT_EQ(alen, blen);
		ASSERT_EQ(0, memcmp(a, b, alen));
		*steered += va == XDP_TX;
		return;
	}
	/* Only a datagram broken after its steering TLV may differ. */
	csmp_classify(pl, (uint32_t)n, &c);
	ASSERT_EQ(XDP_TX, va);
	ASSERT_EQ(XDP_DROP, vb);
	ASSERT_EQ(CSMP_C_MALFORMED, c.msg_class);
}

TEST_F(lb, fast_path_steers_as_the_full_walk)
{
	static const char *const good[] = {
		/* report: SessionID, CurrentTime, Uptime; with a token */
		"5002abcdb163ff07080a06303030623132120408011000160208" "05",
		"5202abcd1122b163ff07080a06303030633132160208" "05",
		/* the agent's two-byte TLV lengths */
		"5002abcdb163ff0788000a06303030623132168200" "0805",
		/* SessionID without a backend prefix; of 3 characters */
		"5002abcdb163ff07080a0630303047313212040801100016020805",
		"5002abcdb163ff07050a03303061",
		/* registration, upper- and lower-case DeviceID */
		"40020000b172ff02140801121030303037383130383030453736464441",
		"48020000aabbccddeeff0011b172ff0214080112103030303738313038"
		"3030653736666461",
	};
	uint8_t pl[2300], m[2300], frame[2048];
	unsigned int steered = 0, i, r;
	uint64_t rng = 0x9e3779b97f4a7c15ULL;
	struct lb_paths lp;
	size_t n, flen, k;

	paths_open(_metadata, self, &lp);
	ASSERT_EQ(0, lbt_pcap_frame("opencsmp-register.pcap", 0, frame,
				    sizeof(frame), &flen));
	for (i = 0; i <= sizeof(good) / sizeof(good[0]); i++) {
		if (i < sizeof(good) / sizeof(good[0])) {
			n = unhex(good[i], pl);
		} else {
			n = flen - 62;
			memcpy(pl, frame + 62, n);
		}
		same_on_both(_metadata, self, &lp, pl, n, &steered);
		/* Every truncation, then random edits near the front. */
		for (k = 4; k < n; k++)
			same_on_both(_metadata, self, &lp, pl, k, &steered);
		for (r = 0; r < 2000; r++) {
			size_t pos;

			memcpy(m, pl, n);
			rng ^= rng << 13;
			rng ^= rng >> 7;
			rng ^= rng << 17;
			pos = (size_t)(rng >> 8) % (n < 40 ? n : 40);
			m[pos] = (rng >> 33) & 1 ? (uint8_t)(rng >> 40) :
				 m[pos] ^ (uint8_t)(1u << ((rng >> 50) & 7));
			same_on_both(_metadata, self, &lp, m, n, &steered);
		}
	}
	TH_LOG("%u datagrams steered alike on both paths", steered);
	EXPECT_LT(500U, steered);
	csmp_lb__destroy(lp.full);
}

/* ---------- storm control ---------- */

TEST_F(lb, registration_storm_is_limited_per_eid_and_globally)
{
	struct lbt_frame fr = { .src = LBT_DEVICE, .dst = LBT_VIP6,
				.sport = 46790, .dport = CSMP_PORT };
	uint8_t pl[128], frame[512], out[1024];
	size_t n, len, olen;
	uint64_t d0, g0, ok = 0;
	int i;

	/* Per EID: a burst of 2, no refill to speak of. */
	self->st->eid_rate = 1;
	self->st->eid_burst = 2000;
	ASSERT_EQ(0, csmp_lb_apply(self->pin, self->st, NULL));
	n = reg_payload(pl, 0xabcdef0123456789ULL);
	len = lbt_build(frame, &fr, pl, n);
	d0 = lbt_count(self->stats, CSMP_R_STORM_EID);
	for (i = 0; i < 5; i++)
		ok += lbt_run(self->prog, self->ifindex, frame, len, out, &olen) == XDP_TX;
	EXPECT_EQ(2U, ok);
	EXPECT_EQ(d0 + 3, lbt_count(self->stats, CSMP_R_STORM_EID));

	/* Globally: 10 distinct devices, a budget of 4. */
	self->st->eid_rate = 0;
	self->st->global_rate = 1;
	self->st->global_burst = 4000;
	ASSERT_EQ(0, csmp_lb_apply(self->pin, self->st, NULL));
	g0 = lbt_count(self->stats, CSMP_R_STORM_GLOBAL);
	for (i = 0, ok = 0; i < 10; i++) {
		n = reg_payload(pl, 0x1000 + (uint64_t)i);
		len = lbt_build(frame, &fr, pl, n);
		ok += lbt_run(self->prog, self->ifindex, frame, len, out, &olen) == XDP_TX;
	}
	EXPECT_EQ(4U, ok);
	EXPECT_EQ(g0 + 6, lbt_count(self->stats, CSMP_R_STORM_GLOBAL));
}

/*
 * Under a storm whose packets come faster than one milli-token of refill,
 * the bucket must still refill at its rate: a bucket that restarted its
 * clock on every packet would stay empty for as long as the storm lasts.
 */
TEST_F(lb, storm_bucket_refills_while_the_storm_lasts)
{
	struct lbt_frame fr = { .src = LBT_DEVICE, .dst = LBT_VIP6,
				.sport = 46790, .dport = CSMP_PORT };
	uint8_t pl[128], frame[512], out[1024];
	struct timespec t0, t;
	size_t n, len, olen;
	uint64_t ok = 0, i = 0;
	double el;

	self->st->eid_rate = 0;
	self->st->global_rate = 4000;	/* 4 registrations/s */
	self->st->global_burst = 1000;	/* one at once */
	ASSERT_EQ(0, csmp_lb_apply(self->pin, self->st, NULL));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		n = reg_payload(pl, 0x2000 + i++);
		len = lbt_build(frame, &fr, pl, n);
		ok += lbt_run(self->prog, self->ifindex, frame, len, out,
			      &olen) == XDP_TX;
		clock_gettime(CLOCK_MONOTONIC, &t);
		el = (double)(t.tv_sec - t0.tv_sec) +
		     (double)(t.tv_nsec - t0.tv_nsec) / 1e9;
	} while (el < 1.5);
	TH_LOG("%llu registrations in %.2f s, %llu passed",
	       (unsigned long long)i, el, (unsigned long long)ok);
	/* 1 at once, then 4/s for 1.5 s: 7; allow for the edges. */
	EXPECT_GE(ok, 5U);
	EXPECT_LE(ok, 1 + (uint64_t)(4 * el) + 1);
}

/* ---------- library <-> BPF agreement ---------- */

static uint32_t be_of_addr(const struct csmp_lb_state *st, const uint8_t *a)
{
	unsigned int i;

	for (i = 0; i < st->n_be; i++)
		if (!memcmp(&st->be[i].addr, a, 16))
			return st->be[i].id;
	return 0;
}

TEST_F(lb, backend_matches_library_for_100000_random_eids)
{
	struct lbt_frame fr = { .src = "2001:db8:99::1", .dst = LBT_VIP6,
				.sport = 46790, .dport = CSMP_PORT };
	uint8_t pl[128], frame[512], out[1024];
	unsigned int i, mismatch = 0, per_be[16] = { 0 };
	size_t n, len, olen;
	uint64_t eid = 0x9e3779b97f4a7c15ULL;

	self->st->learn = false;
	ASSERT_EQ(0, csmp_lb_apply(self->pin, self->st, NULL));
	for (i = 0; i < 100000; i++) {
		uint32_t want, got;

		eid ^= eid << 13;
		eid ^= eid >> 7;
		eid ^= eid << 17;
		n = reg_payload(pl, eid);
		len = lbt_build(frame, &fr, pl, n);
		ASSERT_EQ(XDP_TX, lbt_run(self->prog, self->ifindex, frame,
					  len, out, &olen));
		want = csmp_maglev_lookup(self->table, self->k0, self->k1, eid);
		got = be_of_addr(self->st, out + 14 + 24);
		mismatch += want != got;
		per_be[got & 15]++;
	}
	TH_LOG("backends 10/11/12: %u/%u/%u", per_be[10], per_be[11], per_be[12]);
	EXPECT_EQ(0U, mismatch);
	EXPECT_EQ(0U, per_be[13]);	/* draining: no new devices */
}

/* ---------- fallback parser vs csmp_classify ---------- */

static void diff_one(struct __test_metadata *_metadata, FIXTURE_DATA(lb) *self,
		     const uint8_t *pl, size_t n, unsigned int *checked)
{
	struct lbt_frame fr = { .src = LBT_DEVICE, .dst = LBT_VIP6,
				.sport = 46790, .dport = CSMP_PORT };
	uint8_t frame[2300], out[4096];
	struct csmp_class want, got;
	size_t len, olen;
	int v;

	if (n < CSMP_COAP_HDR_LEN || n > CSMP_MAX_DGRAM)
		return;		/* decided before the walk */
	csmp_classify(pl, (uint32_t)n, &want);
	len = lbt_build(frame, &fr, pl, n);
	v = lbt_run(self->prog, self->ifindex, frame, len, out, &olen);
	ASSERT_EQ(0, lbt_scratch_class(self->scratch, &got));
	ASSERT_EQ(want.msg_class, got.msg_class);
	ASSERT_EQ(want.reason, got.reason);
	ASSERT_EQ(want.msg_class == CSMP_C_MALFORMED ? XDP_DROP : XDP_PASS, v);
	if (want.msg_class != CSMP_C_MALFORMED) {
		ASSERT_EQ(want.flags, got.flags);
		ASSERT_EQ(want.n_tlvs, got.n_tlvs);
		ASSERT_EQ(want.first_tlv, got.first_tlv);
		ASSERT_EQ(want.payload_off, got.payload_off);
		ASSERT_EQ(want.coap_type, got.coap_type);
		ASSERT_EQ(want.coap_code, got.coap_code);
		ASSERT_EQ(want.mid, got.mid);
		if (want.flags & CSMP_CF_EID)
			ASSERT_EQ(want.eid, got.eid);
		if (want.flags & CSMP_CF_BACKEND)
			ASSERT_EQ(want.backend, got.backend);
	}
	(*checked)++;
}

static const char *const seeds_hex[] = {
	/* report: SessionID, CurrentTime, Uptime */
	"5002abcdb163ff07080a06303030623132120408011000160208"
	"05",
	/* notification: DeviceID + CGMSNotification */
	"50020001b163ff021408011210303030373831303830304537364644412c0408011002",
	/* vendor TLV, agent form (PEN 5771, subtype 127) */
	"40020000b172ff021408011210303030373831303830304537364644417f8b2d7f8600"
	"0801120101",
	/* vendor TLV, draft form: SubTLV 1 = PEN 5771, SubTLV 16 */
	"40020000b172ff0214080112103030303738313038303045373646444" "17f07018b2d100101",
	/* response with a token */
	"61450001aaff01c1000a0131",
	/* signed ACK of the registration */
	"60430000ff0d0908141201321202323207030a01314c0c08d4dfc9e60510d4ce839b06"
	"4d0430020101",
};

TEST_F(lb, fallback_classifier_agrees_with_csmp_classify)
{
	uint8_t frame[2048], pl[2300], m[2300];
	unsigned int checked = 0, i, r;
	size_t flen, n, k;
	uint64_t rng = 0x243f6a8885a308d3ULL;

	self->st->mode = CSMP_LB_MODE_LOCAL;
	ASSERT_EQ(0, csmp_lb_apply(self->pin, self->st, NULL));

	/* The agent's registration, and each truncation of it. */
	ASSERT_EQ(0, lbt_pcap_frame("opencsmp-register.pcap", 0, frame,
				    sizeof(frame), &flen));
	n = flen - 62;
	memcpy(pl, frame + 62, n);
	for (k = 0; k <= n; k++)
		diff_one(_metadata, self, pl, k, &checked);
	for (i = 0; i < sizeof(bad_payloads) / sizeof(bad_payloads[0]); i++) {
		size_t bn = unhex(bad_payloads[i].hex, m);

		diff_one(_metadata, self, m, bn, &checked);
	}

	/* Random mutations of every seed. */
	for (i = 0; i < sizeof(seeds_hex) / sizeof(seeds_hex[0]) + 1; i++) {
		size_t sn;
		uint8_t seed[1024];

		if (i < sizeof(seeds_hex) / sizeof(seeds_hex[0])) {
			sn = unhex(seeds_hex[i], seed);
		} else {
			memcpy(seed, pl, n);
			sn = n;
		}
		diff_one(_metadata, self, seed, sn, &checked);
		for (r = 0; r < 3000; r++) {
			size_t mn = sn, pos;
			unsigned int edits = 1 + (r % 3), e;

			memcpy(m, seed, sn);
			for (e = 0; e < edits; e++) {
				rng ^= rng << 13;
				rng ^= rng >> 7;
				rng ^= rng << 17;
				pos = 4 + (size_t)(rng >> 8) % (mn > 4 ? mn - 4 : 1);
				switch (rng % 6) {
				case 0:
					m[pos] ^= (uint8_t)(1u << ((rng >> 40) & 7));
					break;
				case 1:
					m[pos] = (uint8_t)(rng >> 32);
					break;
				case 2:
					m[pos] = (rng >> 33) & 1 ? 0x80 : 0x7f;
					break;
				case 3:
					mn = pos;
					break;
				case 4:
					if (mn + 1 < sizeof(m)) {
						memmove(m + pos + 1, m + pos, mn - pos);
						m[pos] = (uint8_t)(rng >> 24);
						mn++;
					}
					break;
				default:
					if (mn > pos + 1) {
						memmove(m + pos, m + pos + 1, mn - pos - 1);
						mn--;
					}
				}
			}
			diff_one(_metadata, self, m, mn, &checked);
		}
	}
	TH_LOG("%u datagrams classified identically", checked);
	EXPECT_LT(20000U, checked);
}

TEST_HARNESS_MAIN
