// SPDX-License-Identifier: GPL-2.0-only
/*
 * lb_bench: the BPF_PROG_TEST_RUN half of scripts/bench/xdp.sh. In a private
 * network namespace (the fixture of selftests/bpf/lb_test.h) it times
 * csmp_lb on the agent's registration, on a 95-byte and a 191-byte report
 * with a session token and on a UDP datagram that is not CSMP (another
 * address: passed untouched), the minimal parse-and-XDP_TX program and the
 * XDP_PASS-only program, in interleaved rounds of `repeat = 1` calls
 * (csmp_lb grows the frame, so a repeat > 1 would time its early-exit path
 * on its own output), checking every call's verdict and output bytes
 * against the first call's. A second csmp_lb with fib_cache_ns = 0
 * (sharing the pinned maps) times the report with bpf_fib_lookup on every
 * packet, so the cost the next-hop cache saves is measured side by side,
 * and a third with fast_path = false times the report and the registration
 * on the full walk (the path local mode and csmp_lb before the in-place
 * read take). Prints one flat JSON object.
 *   lb_bench [CALLS]      (default 20000 per program and round)
 */
#include "bpf/lb_test.h"
#include "csmp_floor.skel.h"

struct bench_in {
	const uint8_t *frame;
	size_t len;
	int verdict;
	uint8_t want[4096];	/* the first call's output */
	size_t want_len;
};

static double run_avg(int prog, int ifindex, struct bench_in *b,
		      unsigned int calls)
{
	struct xdp_md ctx = { .data = 0, .data_end = (__u32)b->len,
			      .ingress_ifindex = (__u32)ifindex };
	uint8_t out[4096];
	unsigned long long sum = 0;
	unsigned int i;

	for (i = 0; i < calls; i++) {
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = b->frame,
			    .data_size_in = (__u32)b->len, .data_out = out,
			    .data_size_out = sizeof(out), .ctx_in = &ctx,
			    .ctx_size_in = sizeof(ctx), .repeat = 1);

		if (bpf_prog_test_run_opts(prog, &o) ||
		    (int)o.retval != b->verdict) {
			fprintf(stderr, "lb_bench: call %u: verdict %u, want %d\n",
				i, o.retval, b->verdict);
			exit(1);
		}
		if (!b->want_len) {
			memcpy(b->want, out, o.data_size_out);
			b->want_len = o.data_size_out;
		} else if (o.data_size_out != b->want_len ||
			   memcmp(out, b->want, b->want_len)) {
			fprintf(stderr, "lb_bench: call %u: output differs from the first call's\n",
				i);
			exit(1);
		}
		sum += o.duration;
	}
	return (double)sum / calls;
}

static void prog_size(int fd, unsigned int *xlated, unsigned int *jited,
		      unsigned int *verified)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(fd, &info, &len)) {
		perror("bpf_obj_get_info_by_fd");
		exit(1);
	}
	*xlated = info.xlated_prog_len / 8;
	*jited = info.jited_prog_len;
	*verified = info.verified_insns;
}

/* A report: SessionID, CurrentTime, Uptime, then `extra` Uptime TLVs. */
static size_t report_frame(uint8_t *frame, const struct lbt_frame *fr,
			   unsigned int extra)
{
	uint8_t pl[512], tlv[512];
	size_t t, n;
	unsigned int i;

	t = lbt_tlv_session(tlv, "000b7f3a9c01");
	tlv[t++] = 18;		/* CurrentTime */
	tlv[t++] = 4;
	tlv[t++] = 0x08;
	tlv[t++] = 0x01;
	tlv[t++] = 0x10;
	tlv[t++] = 0x00;
	for (i = 0; i < 1 + extra; i++) {
		tlv[t++] = 22;	/* Uptime */
		tlv[t++] = 2;
		tlv[t++] = 0x08;
		tlv[t++] = 0x05;
	}
	n = lbt_coap(pl, CSMP_COAP_NON, CSMP_COAP_POST, 'c', tlv, t);
	return lbt_build(frame, fr, pl, n);
}

int main(int argc, char **argv)
{
	unsigned int calls = argc > 1 ? (unsigned int)atoi(argv[1]) : 20000;
	double reg = 0, rep = 0, rep191 = 0, fgn = 0, flo = 0, pas = 0, nc = 0;
	double wreg = 0, wrep = 0;
	LIBBPF_OPTS(bpf_object_open_opts, oo);
	struct csmp_lb_state *st;
	struct csmp_floor *fl;
	struct csmp_lb *lb, *lbnc, *lbw;
	static struct bench_in b_reg, b_rep, b_rep191, b_fgn, b_pass, b_floor,
		b_nc, b_wreg, b_wrep;
	uint8_t regf[2048], repf[512], rep191f[512], fgnf[512];
	size_t regl;
	unsigned int x, j, v, fx, fj, fv, r, rounds = 5;
	char pin[64];
	cpu_set_t cpus;
	int ifindex;
	struct lbt_frame fr = { .src = LBT_DEVICE, .dst = LBT_VIP6,
				.sport = 46790, .dport = CSMP_PORT };
	struct lbt_frame other = fr;

	if (argc > 1 && !strcmp(argv[1], "--help")) {
		printf("usage: lb_bench [CALLS]\nExample: lb_bench 20000\n");
		return 0;
	}
	CPU_ZERO(&cpus);
	CPU_SET(0, &cpus);
	if (sched_setaffinity(0, sizeof(cpus), &cpus) || lbt_netns() ||
	    lbt_bpffs()) {
		fprintf(stderr, "lb_bench: needs root (netns, bpffs)\n");
		return 4;
	}
	ifindex = (int)if_nametoindex(LBT_DEV);
	snprintf(pin, sizeof(pin), "/sys/fs/bpf/csmp-bench-%d", getpid());
	if (mkdir(pin, 0700))
		return 1;
	oo.pin_root_path = pin;
	lb = csmp_lb__open_opts(&oo);
	if (!lb || csmp_lb__load(lb))
		return 1;
	lbnc = csmp_lb__open_opts(&oo);
	if (!lbnc)
		return 1;
	lbnc->rodata->fib_cache_ns = 0;
	if (csmp_lb__load(lbnc))
		return 1;
	lbw = csmp_lb__open_opts(&oo);
	if (!lbw)
		return 1;
	lbw->rodata->fast_path = false;
	if (csmp_lb__load(lbw))
		return 1;
	fl = csmp_floor__open_and_load();
	if (!fl)
		return 1;
	st = calloc(1, sizeof(*st));
	if (!st || csmp_lb_state_init(st))
		return 1;
	csmp_lb_parse_addr(LBT_VIP6, &st->vips[0]);
	st->n_vips = 1;
	csmp_lb_parse_addr(LBT_LB_ADDR, &st->lb_addr);
	st->eid_rate = 0;
	for (j = 0; j < 3; j++) {
		static const char *const a[] = { LBT_BE(a), LBT_BE(b), LBT_BE(c) };

		st->be[j].id = (uint16_t)(10 + j);
		st->be[j].state = CSMP_BE_ACTIVE;
		st->be[j].weight = 1;
		csmp_lb_parse_addr(a[j], &st->be[j].addr);
	}
	st->n_be = 3;
	if (csmp_lb_apply(pin, st, NULL))
		return 1;
	if (lbt_pcap_frame("opencsmp-register.pcap", 0, regf, sizeof(regf), &regl))
		return 1;
	b_reg = (struct bench_in){ .frame = regf, .len = regl, .verdict = XDP_TX };
	b_rep = (struct bench_in){ .frame = repf, .verdict = XDP_TX,
				   .len = report_frame(repf, &fr, 0) };
	b_rep191 = (struct bench_in){ .frame = rep191f, .verdict = XDP_TX,
				      .len = report_frame(rep191f, &fr, 24) };
	/* The same report to an address that is not a VIP: not CSMP. */
	other.dst = "2001:db8:77::1";
	b_fgn = (struct bench_in){ .frame = fgnf, .verdict = XDP_PASS,
				   .len = report_frame(fgnf, &other, 0) };
	b_pass = (struct bench_in){ .frame = repf, .len = b_rep.len,
				    .verdict = XDP_PASS };
	b_floor = (struct bench_in){ .frame = repf, .len = b_rep.len,
				     .verdict = XDP_TX };
	b_nc = (struct bench_in){ .frame = repf, .len = b_rep.len,
				  .verdict = XDP_TX };
	b_wreg = b_reg;
	b_wrep = b_rep;
	if (b_rep.len != 95 || b_rep191.len != 191) {
		fprintf(stderr, "lb_bench: reports of %zu and %zu bytes, want 95 and 191\n",
			b_rep.len, b_rep191.len);
		return 1;
	}

	/* Interleaved rounds: the programs see the same machine state. */
	for (r = 0; r < rounds; r++) {
		int lbfd = bpf_program__fd(lb->progs.csmp_lb);

		pas += run_avg(bpf_program__fd(fl->progs.xdp_pass), ifindex,
			       &b_pass, calls);
		flo += run_avg(bpf_program__fd(fl->progs.xdp_floor), ifindex,
			       &b_floor, calls);
		reg += run_avg(lbfd, ifindex, &b_reg, calls);
		rep += run_avg(lbfd, ifindex, &b_rep, calls);
		rep191 += run_avg(lbfd, ifindex, &b_rep191, calls);
		fgn += run_avg(lbfd, ifindex, &b_fgn, calls);
		nc += run_avg(bpf_program__fd(lbnc->progs.csmp_lb), ifindex,
			      &b_nc, calls);
		wreg += run_avg(bpf_program__fd(lbw->progs.csmp_lb), ifindex,
				&b_wreg, calls);
		wrep += run_avg(bpf_program__fd(lbw->progs.csmp_lb), ifindex,
				&b_wrep, calls);
	}
	/* Both paths steer these alike (test_csmp_lb.c checks it in full). */
	if (b_wreg.want_len != b_reg.want_len ||
	    memcmp(b_wreg.want, b_reg.want, b_reg.want_len) ||
	    b_wrep.want_len != b_rep.want_len ||
	    memcmp(b_wrep.want, b_rep.want, b_rep.want_len)) {
		fprintf(stderr, "lb_bench: the fast path and the full walk disagree\n");
		return 1;
	}
	pas /= rounds;
	flo /= rounds;
	reg /= rounds;
	rep /= rounds;
	rep191 /= rounds;
	fgn /= rounds;
	nc /= rounds;
	wreg /= rounds;
	wrep /= rounds;
	prog_size(bpf_program__fd(lb->progs.csmp_lb), &x, &j, &v);
	prog_size(bpf_program__fd(fl->progs.xdp_floor), &fx, &fj, &fv);
	printf("{\"lb_ns_per_pkt_registration\":%.1f,"
	       "\"lb_ns_per_pkt_report\":%.1f,"
	       "\"lb_ns_per_pkt_report_191\":%.1f,"
	       "\"lb_ns_per_pkt_not_csmp\":%.1f,"
	       "\"lb_ns_per_pkt_registration_full_walk\":%.1f,"
	       "\"lb_ns_per_pkt_report_full_walk\":%.1f,"
	       "\"lb_ns_per_pkt_report_fib_every_pkt\":%.1f,"
	       "\"fib_lookup_ns\":%.1f,\"floor_ns_per_pkt\":%.1f,"
	       "\"pass_ns_per_pkt\":%.1f,\"lb_over_floor_ratio\":%.2f,"
	       "\"lb_registration_over_floor_ratio\":%.2f,"
	       "\"lb_reg_over_floor_ratio\":%.2f,"
	       "\"lb_report_191_over_95_ratio\":%.3f,"
	       "\"lb_not_csmp_over_pass_ratio\":%.2f,"
	       "\"lb_report_net_ns\":%.1f,\"lb_registration_net_ns\":%.1f,"
	       "\"lb_not_csmp_net_ns\":%.1f,"
	       "\"lb_insns\":%u,\"lb_jited_bytes\":%u,\"lb_verified_insns\":%u,"
	       "\"floor_insns\":%u,\"floor_jited_bytes\":%u,"
	       "\"registration_bytes\":%zu,\"report_bytes\":%zu,"
	       "\"report_191_bytes\":%zu,\"calls_per_figure\":%u}\n",
	       reg, rep, rep191, fgn, wreg, wrep, nc, nc - rep, flo, pas, rep / flo,
	       reg / flo, reg / flo, rep191 / rep, fgn / pas, rep - pas,
	       reg - pas, fgn - pas, x, j, v, fx, fj, regl, b_rep.len,
	       b_rep191.len, calls * rounds);
	{
		struct bpf_map *m;

		bpf_object__for_each_map(m, lb->obj)
			if (bpf_map__is_pinned(m))
				bpf_map__unpin(m, NULL);
	}
	rmdir(pin);
	csmp_floor__destroy(fl);
	csmp_lb__destroy(lbw);
	csmp_lb__destroy(lbnc);
	csmp_lb__destroy(lb);
	free(st);
	return 0;
}
