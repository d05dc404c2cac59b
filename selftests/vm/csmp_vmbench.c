// SPDX-License-Identifier: GPL-2.0-only
/*
 * csmp_lb's cost per packet on its two classification paths, measured in
 * one guest run (scripts/bench/vm.sh boots a Debian kernel with csmp.ko):
 * the same program loaded twice, use_kfuncs=0 (the BPF fallback parser and
 * SipHash) and use_kfuncs=1 (csmp.ko's kfuncs), each with its own maps
 * configured identically through libcsmp (lb.c), fed the device-to-NMS
 * frames of the fixture captures with BPF_PROG_TEST_RUN. Encapsulation
 * changes the frame, so every call has repeat = 1 and the kernel's
 * per-call duration is summed; the two programs alternate call by call so
 * drift in the emulated machine hits both alike. Every call's verdict and
 * output bytes must be equal on both paths: a bench that steers
 * differently would measure nothing. Static, like csmp_vmtest.
 *
 * Output: "# BENCH name value" lines and one TAP result.
 */
#include "lb_test.h"

#define BENCH_PIN	"/sys/fs/bpf/csmp-bench"
#define MAX_FRAMES	64

static const uint8_t KEY[16] = { 0x10, 0x32, 0x54, 0x76, 0x98, 0xba, 0xdc, 0xfe,
				 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef };

struct frame {
	uint8_t b[2048];
	size_t len;
};

static struct frame frames[MAX_FRAMES];
static int n_frames;

static int add_be(struct csmp_lb_state *st, uint16_t id, const char *addr)
{
	struct csmp_lb_be *be = &st->be[st->n_be++];

	be->id = id;
	be->state = CSMP_BE_ACTIVE;
	be->weight = 1;
	return csmp_lb_parse_addr(addr, &be->addr);
}

/* Frames from the device to the VIP, as the LB receives them. */
static void load_frames(const char *pcap, const struct in6_addr *vip)
{
	struct frame *f;
	int i;

	for (i = 0; n_frames < MAX_FRAMES; i++) {
		f = &frames[n_frames];
		if (lbt_pcap_frame(pcap, i, f->b, sizeof(f->b), &f->len))
			break;
		if (f->len < 14 + 40 + 8 || f->b[12] != 0x86 || f->b[13] != 0xdd ||
		    f->b[14 + 6] != 17 || memcmp(f->b + 14 + 24, vip, 16))
			continue;
		/* Requests to the CSMP port, answers from it to a reply port. */
		if ((f->b[14 + 42] << 8 | f->b[14 + 43]) != CSMP_PORT &&
		    (f->b[14 + 40] << 8 | f->b[14 + 41]) != CSMP_PORT)
			continue;
		n_frames++;
	}
}

static int load(int k, int *prog)
{
	char pin[64];
	bool used = false;
	int fd;

	snprintf(pin, sizeof(pin), "%s-%d", BENCH_PIN, k);
	if (mkdir(pin, 0700) && errno != EEXIST)
		return -errno;
	fd = csmp_lb_load(pin, k, &used);
	if (fd < 0)
		return fd;
	if (used != (k == 1))
		return -ENOENT;
	*prog = fd;
	return 0;
}

static int run(int prog, int ifindex, const struct frame *f, uint8_t *out,
	       uint32_t *outlen, uint32_t *verdict, uint64_t *ns)
{
	struct xdp_md ctx = { .data = 0, .data_end = (__u32)f->len,
			      .ingress_ifindex = (__u32)ifindex };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = f->b,
		    .data_size_in = (__u32)f->len, .data_out = out,
		    .data_size_out = 4096, .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx), .repeat = 1);

	if (bpf_prog_test_run_opts(prog, &o))
		return -errno;
	*outlen = o.data_size_out;
	*verdict = o.retval;
	*ns += o.duration;
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	long rounds = argc > 1 ? atol(argv[1]) : 2000;
	static uint8_t out[2][4096];
	struct csmp_lb_state *st;
	uint64_t ns[2] = { 0, 0 }, calls = 0, mismatches = 0;
	int prog[2], ifindex, err, k;
	struct in6_addr vip;
	double *ratios, *per[2];
	long r;

	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		printf("usage: csmp_vmbench [ROUNDS]   (root, csmp.ko loaded, CSMP_TOP set)\n"
		       "example: CSMP_TOP=/csmp/top csmp_vmbench 2000\n");
		return 0;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	st = calloc(1, sizeof(*st));
	err = !st || lbt_netns() || lbt_bpffs() ? -1 : 0;
	ifindex = (int)if_nametoindex(LBT_DEV);
	if (err || !ifindex) {
		printf("not ok - bench set-up (netns, veth, bpffs)\n");
		return 1;
	}
	csmp_lb_state_init(st);
	memcpy(st->key, KEY, 16);
	csmp_lb_parse_addr(LBT_VIP6, &st->vips[0]);
	csmp_lb_parse_addr(LBT_VIP4, &st->vips[1]);
	st->n_vips = 2;
	csmp_lb_parse_addr(LBT_LB_ADDR, &st->lb_addr);
	st->reply_lo = 40000;
	st->reply_hi = 63000;
	st->eid_rate = 0;	/* no storm control: every call takes one path */
	st->global_rate = 0;
	add_be(st, 10, LBT_BE(a));
	add_be(st, 11, LBT_BE(b));
	add_be(st, 12, LBT_BE(c));
	for (k = 0; k < 2; k++) {
		char pin[64];

		snprintf(pin, sizeof(pin), "%s-%d", BENCH_PIN, k);
		err = load(k, &prog[k]);
		err = err ?: csmp_lb_apply(pin, st, NULL);
		if (err) {
			printf("not ok - csmp_lb loads and takes its state with use_kfuncs=%d (%s)\n",
			       k, strerror(-err));
			return 1;
		}
	}
	vip = st->vips[0];
	load_frames("opencsmp-register.pcap", &vip);
	load_frames("opencsmp-get.pcap", &vip);
	if (!n_frames) {
		printf("not ok - fixture frames to the VIP found under $CSMP_TOP/../shared\n");
		return 1;
	}

	ratios = calloc((size_t)rounds, sizeof(*ratios));
	per[0] = calloc((size_t)rounds, sizeof(double));
	per[1] = calloc((size_t)rounds, sizeof(double));
	if (!ratios || !per[0] || !per[1]) {
		printf("not ok - bench memory\n");
		return 1;
	}
	for (r = 0; r < rounds; r++) {
		uint64_t before[2] = { ns[0], ns[1] };
		int i;

		for (i = 0; i < n_frames; i++) {
			uint32_t len[2], verdict[2];
			int first = (int)((r + i) & 1);

			for (k = 0; k < 2; k++) {
				int p = k ^ first;

				if (run(prog[p], ifindex, &frames[i], out[p], &len[p],
					&verdict[p], &ns[p])) {
					printf("not ok - BPF_PROG_TEST_RUN of csmp_lb (%s)\n",
					       strerror(errno));
					return 1;
				}
			}
			calls++;
			if (verdict[0] != verdict[1] || len[0] != len[1] ||
			    memcmp(out[0], out[1], len[0])) {
				if (!mismatches)
					printf("# frame %d: verdict %u/%u, %u/%u bytes\n", i,
					       verdict[0], verdict[1], len[0], len[1]);
				mismatches++;
			}
		}
		ratios[r] = (double)(ns[1] - before[1]) /
			    (double)(ns[0] - before[0] ? ns[0] - before[0] : 1);
		for (k = 0; k < 2; k++)
			per[k][r] = (double)(ns[k] - before[k]) / n_frames;
	}
	qsort(ratios, (size_t)rounds, sizeof(*ratios), cmp_double);
	qsort(per[0], (size_t)rounds, sizeof(double), cmp_double);
	qsort(per[1], (size_t)rounds, sizeof(double), cmp_double);
	printf("# BENCH frames %d\n", n_frames);
	printf("# BENCH calls_per_path %llu\n", (unsigned long long)calls);
	/* Medians over rounds: emulation stalls make the means meaningless. */
	printf("# BENCH bpf_ns_per_packet %.1f\n", per[0][rounds / 2]);
	printf("# BENCH kfunc_ns_per_packet %.1f\n", per[1][rounds / 2]);
	/* Emulation is noisy: the median of per-round ratios is the figure. */
	printf("# BENCH kfunc_over_bpf_ratio %.3f\n", ratios[rounds / 2]);
	printf("# BENCH kfunc_over_bpf_ratio_p25 %.3f\n", ratios[rounds / 4]);
	printf("# BENCH kfunc_over_bpf_ratio_p75 %.3f\n", ratios[rounds * 3 / 4]);
	printf("# BENCH kfunc_over_bpf_ratio_of_sums %.3f\n", (double)ns[1] / (double)ns[0]);
	printf("# BENCH mismatches %llu\n", (unsigned long long)mismatches);
	printf("%s - csmp_lb: same verdict and bytes on both paths over %llu calls each\n",
	       mismatches ? "not ok" : "ok", (unsigned long long)calls);
	free(ratios);
	free(per[0]);
	free(per[1]);
	free(st);
	return mismatches ? 1 : 0;
}
