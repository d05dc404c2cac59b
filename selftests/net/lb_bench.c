// SPDX-License-Identifier: GPL-2.0-only
/*
 * lb_bench: the BPF_PROG_TEST_RUN half of scripts/bench/xdp.sh. In a private
 * network namespace (the fixture of selftests/bpf/lb_test.h) it times
 * csmp_lb on the agent's registration and on a report with a session token,
 * the minimal parse-and-XDP_TX program and the XDP_PASS-only program, in
 * interleaved rounds of `repeat = 1` calls (csmp_lb grows the frame, so a
 * repeat > 1 would time its early-exit path on its own output), checking
 * every call's verdict. A second csmp_lb with fib_cache_ns = 0 (sharing
 * the pinned maps) times the report with bpf_fib_lookup on every packet,
 * so the cost the next-hop cache saves is measured side by side. Prints
 * one flat JSON object.
 *   lb_bench [CALLS]      (default 20000 per program and round)
 */
#include "bpf/lb_test.h"
#include "csmp_floor.skel.h"

static double run_avg(int prog, int ifindex, const uint8_t *in, size_t len,
		      int want, unsigned int calls)
{
	struct xdp_md ctx = { .data = 0, .data_end = (__u32)len,
			      .ingress_ifindex = (__u32)ifindex };
	uint8_t out[4096];
	unsigned long long sum = 0;
	unsigned int i;

	for (i = 0; i < calls; i++) {
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in,
			    .data_size_in = (__u32)len, .data_out = out,
			    .data_size_out = sizeof(out), .ctx_in = &ctx,
			    .ctx_size_in = sizeof(ctx), .repeat = 1);

		if (bpf_prog_test_run_opts(prog, &o) || (int)o.retval != want) {
			fprintf(stderr, "lb_bench: call %u: verdict %u, want %d\n",
				i, o.retval, want);
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

int main(int argc, char **argv)
{
	unsigned int calls = argc > 1 ? (unsigned int)atoi(argv[1]) : 20000;
	double reg = 0, rep = 0, flo = 0, pas = 0, nc = 0;
	LIBBPF_OPTS(bpf_object_open_opts, oo);
	struct csmp_lb_state *st;
	struct csmp_floor *fl;
	struct csmp_lb *lb, *lbnc;
	uint8_t regf[2048], repf[512], pl[256], tlv[64];
	size_t regl, repl, n, t;
	unsigned int x, j, v, fx, fj, fv, r, rounds = 5;
	char pin[64];
	cpu_set_t cpus;
	int ifindex;
	struct lbt_frame fr = { .src = LBT_DEVICE, .dst = LBT_VIP6,
				.sport = 46790, .dport = CSMP_PORT };

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
	t = lbt_tlv_session(tlv, "000b7f3a9c01");
	tlv[t++] = 18;		/* CurrentTime */
	tlv[t++] = 4;
	tlv[t++] = 0x08;
	tlv[t++] = 0x01;
	tlv[t++] = 0x10;
	tlv[t++] = 0x00;
	tlv[t++] = 22;		/* Uptime */
	tlv[t++] = 2;
	tlv[t++] = 0x08;
	tlv[t++] = 0x05;
	n = lbt_coap(pl, CSMP_COAP_NON, CSMP_COAP_POST, 'c', tlv, t);
	repl = lbt_build(repf, &fr, pl, n);

	/* Interleaved rounds: the programs see the same machine state. */
	for (r = 0; r < rounds; r++) {
		int lbfd = bpf_program__fd(lb->progs.csmp_lb);

		pas += run_avg(bpf_program__fd(fl->progs.xdp_pass), ifindex,
			       repf, repl, XDP_PASS, calls);
		flo += run_avg(bpf_program__fd(fl->progs.xdp_floor), ifindex,
			       repf, repl, XDP_TX, calls);
		reg += run_avg(lbfd, ifindex, regf, regl, XDP_TX, calls);
		rep += run_avg(lbfd, ifindex, repf, repl, XDP_TX, calls);
		nc += run_avg(bpf_program__fd(lbnc->progs.csmp_lb), ifindex,
			      repf, repl, XDP_TX, calls);
	}
	pas /= rounds;
	flo /= rounds;
	reg /= rounds;
	rep /= rounds;
	nc /= rounds;
	prog_size(bpf_program__fd(lb->progs.csmp_lb), &x, &j, &v);
	prog_size(bpf_program__fd(fl->progs.xdp_floor), &fx, &fj, &fv);
	printf("{\"lb_ns_per_pkt_registration\":%.1f,"
	       "\"lb_ns_per_pkt_report\":%.1f,"
	       "\"lb_ns_per_pkt_report_fib_every_pkt\":%.1f,"
	       "\"fib_lookup_ns\":%.1f,\"floor_ns_per_pkt\":%.1f,"
	       "\"pass_ns_per_pkt\":%.1f,\"lb_over_floor_ratio\":%.2f,"
	       "\"lb_registration_over_floor_ratio\":%.2f,"
	       "\"lb_report_net_ns\":%.1f,\"lb_registration_net_ns\":%.1f,"
	       "\"lb_insns\":%u,\"lb_jited_bytes\":%u,\"lb_verified_insns\":%u,"
	       "\"floor_insns\":%u,\"floor_jited_bytes\":%u,"
	       "\"registration_bytes\":%zu,\"report_bytes\":%zu,"
	       "\"calls_per_figure\":%u}\n",
	       reg, rep, nc, nc - rep, flo, pas, rep / flo, reg / flo,
	       rep - pas, reg - pas, x, j, v, fx, fj, regl, repl, calls * rounds);
	{
		struct bpf_map *m;

		bpf_object__for_each_map(m, lb->obj)
			if (bpf_map__is_pinned(m))
				bpf_map__unpin(m, NULL);
	}
	rmdir(pin);
	csmp_floor__destroy(fl);
	csmp_lb__destroy(lbnc);
	csmp_lb__destroy(lb);
	free(st);
	return 0;
}
