// SPDX-License-Identifier: GPL-2.0-only
/*
 * The vm suite's guest-side test program, linked statically (libbpf.a,
 * libelf, libz) so it runs in a busybox initramfs on Debian's 6.1 and 6.12
 * kernels. It checks csmp.ko from the outside, the way the loader and the
 * BPF programs use it: the kfuncs called from real XDP and TC programs
 * through BPF_PROG_TEST_RUN against csmp_classify()/csmp_eid_siphash()
 * compiled into this binary from the same headers; every project BPF object
 * loading with and without the kfunc path; the project's programs giving
 * the same verdict and bytes on both paths; XDP on a veth fed by pktgen.
 * It also extracts the fixture corpus from the pcaps on the build host.
 *
 * Output is TAP ("ok - name" / "not ok - name", "# ..." diagnostics); the
 * host (scripts/vmtest.sh) numbers the lines and prefixes the kernel.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/types.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "csmp/classify.h"
#include "csmp/siphash.h"
#include "csmp/kfuncs.h"
#include "vmtest.h"

#define ETH_HLEN	14
#define MAX_CORPUS	4096

static int failures;

static void tap(bool pass, const char *fmt, ...)
{
	va_list ap;

	printf("%s - ", pass ? "ok" : "not ok");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	if (!pass)
		failures++;
}

static void diag(const char *fmt, ...)
{
	va_list ap;

	fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

/*
 * libbpf's messages (verifier logs too) become TAP diagnostics. A verifier
 * log says why at its end, so a long message keeps its first lines (the
 * program's name) and its last CSMP_LOG_TAIL lines.
 */
#define CSMP_LOG_HEAD	4
#define CSMP_LOG_TAIL	120

static int libbpf_print(enum libbpf_print_level level, const char *fmt,
			va_list ap)
{
	char *text = NULL, *line, *save = NULL;
	int n = 0, total = 0;

	if (level == LIBBPF_DEBUG)
		return 0;
	if (vasprintf(&text, fmt, ap) < 0)
		return 0;
	for (line = text; (line = strchr(line, '\n')); line++)
		total++;
	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save), n++) {
		if (n == CSMP_LOG_HEAD && total > CSMP_LOG_HEAD + CSMP_LOG_TAIL)
			printf("# ... (%d lines)\n",
			       total - CSMP_LOG_HEAD - CSMP_LOG_TAIL);
		if (n < CSMP_LOG_HEAD || n >= total - CSMP_LOG_TAIL)
			printf("# %s\n", line);
	}
	free(text);
	return 0;
}

/* xorshift64*: reproducible random inputs; the seed is printed. */
static __u64 rng_state;

static __u64 rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

/* ---- the fixture corpus: [u16 little-endian length][payload]... ---- */

struct payload {
	__u16 len;
	__u8 *b;
};

static struct payload corpus[MAX_CORPUS];
static int n_corpus;

static int corpus_load(const char *path)
{
	FILE *f = fopen(path, "rb");
	__u8 hdr[2];

	if (!f)
		return -errno;
	while (n_corpus < MAX_CORPUS && fread(hdr, 1, 2, f) == 2) {
		struct payload *p = &corpus[n_corpus];

		p->len = (__u16)(hdr[0] | hdr[1] << 8);
		p->b = malloc(p->len ? p->len : 1);
		if (!p->b || fread(p->b, 1, p->len, f) != p->len) {
			fclose(f);
			return -EIO;
		}
		n_corpus++;
	}
	fclose(f);
	return n_corpus ? 0 : -ENODATA;
}

static __u16 rd16(const __u8 *p)
{
	return (__u16)(p[0] << 8 | p[1]);
}

static __u32 rd32le(const __u8 *p, bool swap)
{
	return swap ? (__u32)(p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3]) :
		      (__u32)(p[3] << 24 | p[2] << 16 | p[1] << 8 | p[0]);
}

/*
 * Classic pcap, Ethernet link type, IPv4 or IPv6 (no extension headers),
 * UDP: append every UDP payload to `out`. Enough for the fixtures; anything
 * else in a capture is skipped, not guessed at.
 */
static int pcap_extract(const char *path, FILE *out, int *count)
{
	__u8 gh[24], rh[16], *pkt = NULL;
	FILE *f = fopen(path, "rb");
	bool swap;
	int err = 0;

	if (!f)
		return -errno;
	if (fread(gh, 1, sizeof(gh), f) != sizeof(gh)) {
		err = -EIO;
		goto out_close;
	}
	if (rd32le(gh, false) == 0xa1b2c3d4)
		swap = false;
	else if (rd32le(gh, true) == 0xa1b2c3d4)
		swap = true;
	else {
		err = -EPROTO;
		goto out_close;
	}
	if (rd32le(gh + 20, swap) != 1) {	/* LINKTYPE_ETHERNET */
		err = -EPROTONOSUPPORT;
		goto out_close;
	}
	while (fread(rh, 1, sizeof(rh), f) == sizeof(rh)) {
		__u32 caplen = rd32le(rh + 8, swap), off = ETH_HLEN, ulen;
		__u16 etype;
		__u8 proto, lenb[2];

		if (caplen > 65536) {
			err = -EPROTO;
			goto out_free;
		}
		free(pkt);
		pkt = malloc(caplen ? caplen : 1);
		if (!pkt || fread(pkt, 1, caplen, f) != caplen) {
			err = -EIO;
			goto out_free;
		}
		if (caplen < ETH_HLEN)
			continue;
		etype = rd16(pkt + 12);
		if (etype == 0x86dd && caplen >= off + 40) {
			proto = pkt[off + 6];
			off += 40;
		} else if (etype == 0x0800 && caplen >= off + 20) {
			proto = pkt[off + 9];
			off += (pkt[off] & 15) * 4;
		} else {
			continue;
		}
		if (proto != 17 || caplen < off + 8)
			continue;
		ulen = rd16(pkt + off + 4);
		if (ulen < 8 || off + ulen > caplen)
			continue;
		ulen -= 8;
		lenb[0] = ulen & 0xff;
		lenb[1] = ulen >> 8;
		fwrite(lenb, 1, 2, out);
		fwrite(pkt + off + 8, 1, ulen, out);
		(*count)++;
	}
out_free:
	free(pkt);
out_close:
	fclose(f);
	return err;
}

static int cmd_corpus(int argc, char **argv)
{
	FILE *out;
	int i, n = 0, err;

	if (argc < 2) {
		fprintf(stderr, "usage: csmp_vmtest corpus OUT PCAP...\n");
		return 2;
	}
	out = fopen(argv[0], "wb");
	if (!out) {
		perror(argv[0]);
		return 1;
	}
	for (i = 1; i < argc; i++) {
		err = pcap_extract(argv[i], out, &n);
		if (err) {
			fprintf(stderr, "%s: %s\n", argv[i], strerror(-err));
			fclose(out);
			return 1;
		}
	}
	if (fclose(out) || !n) {
		fprintf(stderr, "%s: no UDP payload extracted\n", argv[0]);
		return 1;
	}
	printf("%d UDP payloads -> %s\n", n, argv[0]);
	return 0;
}

/* ---- loading objects with the kfunc flag set ---- */

/*
 * Set the `use_kfuncs` .rodata variable (the loader's probe result) before
 * load. Returns 1 when set, 0 when the object has no such variable.
 */
static int set_use_kfuncs(struct bpf_object *obj, int val)
{
	const struct btf_var_secinfo *vs;
	struct btf *btf = bpf_object__btf(obj);
	const struct btf_type *sec;
	struct bpf_map *map;
	const void *init;
	size_t sz;
	int id, i;

	if (!btf)
		return 0;
	id = btf__find_by_name_kind(btf, ".rodata", BTF_KIND_DATASEC);
	if (id < 0)
		return 0;
	sec = btf__type_by_id(btf, id);
	vs = btf_var_secinfos(sec);
	for (i = 0; i < btf_vlen(sec); i++, vs++) {
		const struct btf_type *var = btf__type_by_id(btf, vs->type);
		__u8 *copy;
		int err;

		if (strcmp(btf__name_by_offset(btf, var->name_off), "use_kfuncs"))
			continue;
		bpf_object__for_each_map(map, obj) {
			const char *n = bpf_map__name(map);

			if (bpf_map__is_internal(map) &&
			    strlen(n) >= 7 && !strcmp(n + strlen(n) - 7, ".rodata"))
				break;
		}
		if (!map)
			return -ENOENT;
		init = bpf_map__initial_value(map, &sz);
		if (!init || vs->offset + vs->size > sz)
			return -EINVAL;
		copy = malloc(sz);
		if (!copy)
			return -ENOMEM;
		memcpy(copy, init, sz);
		memset(copy + vs->offset, 0, vs->size);
		copy[vs->offset] = (__u8)val;	/* little-endian bool/int */
		err = bpf_map__set_initial_value(map, copy, sz);
		free(copy);
		return err ? err : 1;
	}
	return 0;
}

static struct bpf_object *open_obj(const char *path, int use_kfuncs, int *has_flag)
{
	struct bpf_object *obj = bpf_object__open_file(path, NULL);
	int r;

	if (!obj) {
		diag("%s: open: %s", path, strerror(errno));
		return NULL;
	}
	r = set_use_kfuncs(obj, use_kfuncs);
	if (r < 0) {
		diag("%s: setting use_kfuncs: %s", path, strerror(-r));
		bpf_object__close(obj);
		return NULL;
	}
	if (has_flag)
		*has_flag = r;
	return obj;
}

static int prog_fd(struct bpf_object *obj, const char *name)
{
	struct bpf_program *p = bpf_object__find_program_by_name(obj, name);

	return p ? bpf_program__fd(p) : -ENOENT;
}

static const char *basename_of(const char *p)
{
	const char *s = strrchr(p, '/');

	return s ? s + 1 : p;
}

/* ---- kfunc equals csmp_classify ---- */

static int run_payload(int fd, const __u8 *pl, __u32 len, __u32 *retval)
{
	static __u8 frame[ETH_HLEN + VT_MAX_PAYLOAD];
	LIBBPF_OPTS(bpf_test_run_opts, o);
	int err;

	/*
	 * A local experimental EtherType (IEEE 802 0x88b5): with IPv6 the TC
	 * test run would insist on a whole IPv6 header in the frame.
	 */
	memset(frame, 0, ETH_HLEN);
	frame[12] = 0x88;
	frame[13] = 0xb5;
	memcpy(frame + ETH_HLEN, pl, len);
	o.data_in = frame;
	o.data_size_in = ETH_HLEN + len;
	o.repeat = 1;
	err = bpf_prog_test_run_opts(fd, &o);
	*retval = o.retval;
	return err;
}

static bool class_eq(const struct csmp_class *a, const struct csmp_class *b)
{
	return !memcmp(a, b, sizeof(*a));
}

static void class_diag(const char *who, int ret, const struct csmp_class *c)
{
	diag("  %s: ret %d class %u reason %u flags %#x eid %#llx backend %#x type %u code %#x mid %u tlvs %u off %u first %u",
	     who, ret, c->msg_class, c->reason, c->flags,
	     (unsigned long long)c->eid, c->backend, c->coap_type,
	     c->coap_code, c->mid, c->n_tlvs, c->payload_off, c->first_tlv);
}

/*
 * One input through the program; compare with csmp_classify here. Returns
 * true when equal.
 */
static bool check_one(int prog, int res_map, const __u8 *pl, __u32 len,
		      const char *what)
{
	struct vt_result r = {};
	struct csmp_class want;
	__u32 zero = 0, retval;
	int want_ret, err;

	if (bpf_map_update_elem(res_map, &zero, &r, BPF_ANY))
		return false;
	err = run_payload(prog, pl, len, &retval);
	if (err) {
		diag("%s: test run: %s", what, strerror(errno));
		return false;
	}
	if (bpf_map_lookup_elem(res_map, &zero, &r) || r.runs != 1) {
		diag("%s: the program did not run the kfunc (retval %u)", what, retval);
		return false;
	}
	memset(&want, 0xa5, sizeof(want));
	want_ret = csmp_classify(pl, len, &want);
	if (r.ret == want_ret && r.len == len && class_eq(&r.c, &want))
		return true;
	diag("%s: %u bytes differ", what, len);
	class_diag("kfunc", r.ret, &r.c);
	class_diag("csmp_classify", want_ret, &want);
	return false;
}

/* Random input: mostly mutated fixtures, some pure noise, all lengths. */
static __u32 random_input(__u8 *buf)
{
	__u32 len, i, n, k = (__u32)(rng() % 8);

	if (k == 0 || !n_corpus) {
		len = (__u32)(rng() % (VT_MAX_PAYLOAD + 1));
		for (i = 0; i < len; i++)
			buf[i] = (__u8)rng();
		if (len >= 4 && (rng() & 1))
			buf[0] = (__u8)(0x40 | (buf[0] & 0x3f));	/* version 1 */
		return len;
	}
	n = (__u32)(rng() % (__u64)n_corpus);
	len = corpus[n].len;
	memcpy(buf, corpus[n].b, len);
	if (k == 1 && len)				/* truncate */
		return (__u32)(rng() % len);
	if (k == 2 && len < VT_MAX_PAYLOAD - 64) {	/* grow */
		n = (__u32)(rng() % 64);
		for (i = 0; i < n; i++)
			buf[len + i] = (__u8)rng();
		return len + n;
	}
	n = 1 + (__u32)(rng() % 4);			/* flip bytes */
	for (i = 0; i < n && len; i++)
		buf[rng() % len] = (__u8)rng();
	return len;
}

static void kfunc_equivalence(struct bpf_object *obj, const char *prog,
			      const char *hook, long n_random)
{
	int fd = prog_fd(obj, prog), res;
	static __u8 buf[VT_MAX_PAYLOAD];
	int i, bad = 0;

	res = bpf_object__find_map_fd_by_name(obj, "csmp_vt_res");
	for (i = 0; i < n_corpus; i++) {
		char what[32];

		snprintf(what, sizeof(what), "fixture %d", i);
		if (!check_one(fd, res, corpus[i].b, corpus[i].len, what) &&
		    ++bad > 5)
			break;
	}
	tap(!bad, "%s kfunc bpf_csmp_classify equals csmp_classify on %d fixture payloads",
	    hook, n_corpus);

	bad = 0;
	for (i = 0; i < n_random; i++) {
		__u32 len = random_input(buf);
		char what[32];

		snprintf(what, sizeof(what), "random %d", i);
		if (!check_one(fd, res, buf, len, what) && ++bad > 5)
			break;
	}
	tap(!bad, "%s kfunc bpf_csmp_classify equals csmp_classify on %ld random inputs",
	    hook, n_random);
}

static int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY), err = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, s, strlen(s)) < 0)
		err = -errno;
	close(fd);
	return err;
}

static void kfunc_hash(struct bpf_object *obj, long n_random)
{
	static const char key_hex[] = "000102030405060708090a0b0c0d0e0f\n";
	int fd = prog_fd(obj, "vt_xdp_hash"), err, i, bad = 0;
	int res = bpf_object__find_map_fd_by_name(obj, "csmp_vt_res");
	__u64 k0 = 0, k1 = 0;
	char rbuf[64];

	/* Bytes 0..15 = 00..0f; k0 = LE bytes 0..7, k1 = LE bytes 8..15. */
	for (i = 7; i >= 0; i--) {
		k0 = k0 << 8 | (__u64)i;
		k1 = k1 << 8 | (__u64)(i + 8);
	}
	err = write_file(CSMP_KMOD_KEY_PATH, key_hex);
	tap(!err, "hash_key accepts 32 hex digits (%s)", err ? strerror(-err) : "written");
	err = write_file(CSMP_KMOD_KEY_PATH, "0011\n");
	tap(err == -EINVAL, "hash_key refuses a short key with EINVAL (got %s)",
	    err ? strerror(-err) : "success");
	err = write_file(CSMP_KMOD_KEY_PATH, "zz0102030405060708090a0b0c0d0e0f");
	tap(err == -EINVAL, "hash_key refuses non-hex digits with EINVAL (got %s)",
	    err ? strerror(-err) : "success");
	i = open(CSMP_KMOD_KEY_PATH, O_RDONLY);
	err = i < 0 ? -errno : (int)read(i, rbuf, sizeof(rbuf));
	if (i >= 0)
		close(i);
	tap(err < 0, "hash_key cannot be read back (%s)",
	    err < 0 ? strerror(-err) : "readable!");

	for (i = 0; i < n_random + 3; i++) {
		static const __u64 fixed[] = { 0, ~0ULL, 0x00173b0b00000001ULL };
		__u8 frame[ETH_HLEN + 8] = {};
		struct vt_result r = {};
		LIBBPF_OPTS(bpf_test_run_opts, o);
		__u64 eid = i < 3 ? fixed[i] : rng(), want;
		__u32 zero = 0;

		memcpy(frame + ETH_HLEN, &eid, 8);
		o.data_in = frame;
		o.data_size_in = sizeof(frame);
		bpf_map_update_elem(res, &zero, &r, BPF_ANY);
		if (bpf_prog_test_run_opts(fd, &o) ||
		    bpf_map_lookup_elem(res, &zero, &r) || r.runs != 1) {
			diag("eid %#llx: test run failed", (unsigned long long)eid);
			bad++;
			break;
		}
		want = csmp_eid_siphash(k0, k1, eid);
		if (r.hash != want && ++bad <= 5)
			diag("eid %#llx: kfunc %#llx, csmp_eid_siphash %#llx",
			     (unsigned long long)eid, (unsigned long long)r.hash,
			     (unsigned long long)want);
	}
	tap(!bad, "bpf_csmp_eid_hash equals csmp_eid_siphash under the written key (%ld EIDs)",
	    n_random + 3);
}

static int cmd_kfunc(int argc, char **argv)
{
	long n_random = argc > 2 ? atol(argv[2]) : 2000;
	struct bpf_object *obj;
	int err;

	if (argc < 2) {
		fprintf(stderr, "usage: csmp_vmtest kfunc TEST_OBJ CORPUS [N_RANDOM]\n");
		return 2;
	}
	err = corpus_load(argv[1]);
	if (err) {
		tap(false, "fixture corpus %s loads (%s)", argv[1], strerror(-err));
		return 1;
	}
	obj = open_obj(argv[0], 1, NULL);
	err = obj ? bpf_object__load(obj) : -ENOENT;
	tap(!err, "kfunc test programs load and pass the verifier");
	if (err)
		goto out;
	kfunc_equivalence(obj, "vt_xdp_classify", "xdp", n_random);
	kfunc_equivalence(obj, "vt_tc_classify", "tc", n_random / 2);
	kfunc_hash(obj, n_random);
	/*
	 * A loaded program that calls the kfuncs holds a module reference:
	 * delete_module refuses with EWOULDBLOCK (the refcount, not a holder
	 * module, which would be EBUSY).
	 */
	err = (int)syscall(SYS_delete_module, "csmp", O_NONBLOCK);
	tap(err && errno == EWOULDBLOCK,
	    "rmmod csmp refused while a kfunc caller is loaded (%s)",
	    err ? strerror(errno) : "module removed!");
out:
	bpf_object__close(obj);
	return failures ? 1 : 0;
}

/* ---- every project object loads, with and without the kfunc path ---- */

/*
 * verify FLAG EXPECT OBJ...: load each object with use_kfuncs = FLAG.
 * EXPECT is "accept" or "reject-if-flagged" (module absent: objects with
 * the flag set must be refused, proving the flag gates the kfunc calls;
 * objects without the flag must load).
 */
static int cmd_verify(int argc, char **argv)
{
	int flag, i;
	bool want_reject_flagged;

	if (argc < 3) {
		fprintf(stderr, "usage: csmp_vmtest verify 0|1 accept|reject-if-flagged OBJ...\n");
		return 2;
	}
	flag = atoi(argv[0]);
	want_reject_flagged = !strcmp(argv[1], "reject-if-flagged");
	for (i = 2; i < argc; i++) {
		int has_flag = 0, err;
		struct bpf_object *obj = open_obj(argv[i], flag, &has_flag);

		if (obj && flag && !has_flag) {
			/* Nothing to switch: the use_kfuncs=0 run covered it. */
			bpf_object__close(obj);
			continue;
		}
		err = obj ? bpf_object__load(obj) : -ENOENT;
		bpf_object__close(obj);
		if (want_reject_flagged && has_flag && flag)
			tap(err != 0, "%s with use_kfuncs=1 is refused without the module",
			    basename_of(argv[i]));
		else
			tap(!err, "%s%s passes the verifier", basename_of(argv[i]),
			    has_flag ? (flag ? " with use_kfuncs=1" : " with use_kfuncs=0") : "");
	}
	return failures ? 1 : 0;
}

/* ---- differential: kfunc path vs BPF path of the project's programs ---- */

static __u32 build_frame(__u8 *f, const __u8 *pl, __u32 len, int v6, __u16 dport)
{
	__u32 ip = v6 ? 40 : 20, tot = ETH_HLEN + ip + 8 + len, i;
	__u8 *p = f + ETH_HLEN, *u;

	memset(f, 0, ETH_HLEN + ip + 8);
	for (i = 0; i < 6; i++) {
		f[i] = (__u8)(0x02 + i);	/* dst */
		f[6 + i] = (__u8)(0x12 + i);	/* src */
	}
	if (v6) {
		f[12] = 0x86;
		f[13] = 0xdd;
		p[0] = 0x60;
		p[4] = (__u8)((8 + len) >> 8);
		p[5] = (__u8)(8 + len);
		p[6] = 17;
		p[7] = 64;
		p[8] = 0x20;	/* 2001:db8::2 -> 2001:db8::1 */
		p[9] = 0x01;
		p[10] = 0x0d;
		p[11] = 0xb8;
		p[23] = 2;
		p[24] = 0x20;
		p[25] = 0x01;
		p[26] = 0x0d;
		p[27] = 0xb8;
		p[39] = 1;
	} else {
		f[12] = 0x08;
		f[13] = 0x00;
		p[0] = 0x45;
		p[2] = (__u8)((ip + 8 + len) >> 8);
		p[3] = (__u8)(ip + 8 + len);
		p[8] = 64;
		p[9] = 17;
		p[12] = 192;	/* 192.0.2.2 -> 192.0.2.1 */
		p[13] = 0;
		p[14] = 2;
		p[15] = 2;
		p[16] = 192;
		p[17] = 0;
		p[18] = 2;
		p[19] = 1;
	}
	u = p + ip;
	u[0] = (__u8)(CSMP_PORT >> 8);
	u[1] = (__u8)CSMP_PORT;
	u[2] = (__u8)(dport >> 8);
	u[3] = (__u8)dport;
	u[4] = (__u8)((8 + len) >> 8);
	u[5] = (__u8)(8 + len);
	memcpy(u + 8, pl, len);
	return tot;
}

static int diff_object(const char *path, long n_random)
{
	struct bpf_object *obj[2] = {};
	struct bpf_program *p;
	int has_flag = 0, k, err = 0, n_progs = 0;
	static __u8 in[4096], out[2][4096], pl[VT_MAX_PAYLOAD];

	for (k = 0; k < 2; k++) {
		obj[k] = open_obj(path, k, &has_flag);
		if (!obj[k] || !has_flag)
			goto out;
		err = bpf_object__load(obj[k]);
		if (err) {
			tap(false, "%s loads for the differential (use_kfuncs=%d)",
			    basename_of(path), k);
			goto out;
		}
	}
	bpf_object__for_each_program(p, obj[0]) {
		enum bpf_prog_type t = bpf_program__type(p);
		const char *name = bpf_program__name(p);
		int fd[2], i, bad = 0, runs = 0, unsupported = 0;

		if (t != BPF_PROG_TYPE_XDP && t != BPF_PROG_TYPE_SCHED_CLS)
			continue;
		fd[0] = bpf_program__fd(p);
		fd[1] = prog_fd(obj[1], name);
		n_progs++;
		for (i = 0; i < (int)(n_corpus + n_random) && bad < 5; i++) {
			LIBBPF_OPTS(bpf_test_run_opts, o0);
			LIBBPF_OPTS(bpf_test_run_opts, o1);
			__u32 len, flen;
			int v6 = i & 1, e0, e1;
			__u16 dport = (i & 2) ? CSMP_PORT_ALT : CSMP_PORT;

			if (i < n_corpus) {
				len = corpus[i].len;
				memcpy(pl, corpus[i].b, len);
			} else {
				len = random_input(pl);
				if (len > 1400)
					len = 1400;
			}
			flen = build_frame(in, pl, len, v6, dport);
			o0.data_in = o1.data_in = in;
			o0.data_size_in = o1.data_size_in = flen;
			o0.data_out = out[0];
			o1.data_out = out[1];
			o0.data_size_out = o1.data_size_out = sizeof(out[0]);
			e0 = bpf_prog_test_run_opts(fd[0], &o0) ? -errno : 0;
			e1 = bpf_prog_test_run_opts(fd[1], &o1) ? -errno : 0;
			if (e0 == -524 /* ENOTSUPP */ || e0 == -EOPNOTSUPP) {
				unsupported = 1;
				break;
			}
			runs++;
			if (e0 != e1 || o0.retval != o1.retval ||
			    o0.data_size_out != o1.data_size_out ||
			    memcmp(out[0], out[1], o0.data_size_out)) {
				bad++;
				diag("%s frame %d (%u bytes): BPF path err %d verdict %u out %u, kfunc path err %d verdict %u out %u",
				     name, i, flen, e0, o0.retval, o0.data_size_out,
				     e1, o1.retval, o1.data_size_out);
			}
		}
		if (unsupported)
			diag("%s: BPF_PROG_TEST_RUN unsupported for this program", name);
		tap(!bad && !unsupported, "%s/%s: same verdict and bytes with and without kfuncs (%d frames, maps as loaded)",
		    basename_of(path), name, runs);
	}
	if (!n_progs)
		diag("%s: no XDP or TC program", basename_of(path));
out:
	bpf_object__close(obj[0]);
	bpf_object__close(obj[1]);
	return err;
}

static int cmd_diff(int argc, char **argv)
{
	long n_random = 500;
	int i, err;

	if (argc < 2) {
		fprintf(stderr, "usage: csmp_vmtest diff CORPUS OBJ...\n");
		return 2;
	}
	err = corpus_load(argv[0]);
	if (err) {
		tap(false, "fixture corpus %s loads (%s)", argv[0], strerror(-err));
		return 1;
	}
	for (i = 1; i < argc; i++)
		diff_object(argv[i], n_random);
	return failures ? 1 : 0;
}

/* ---- XDP on a veth, pktgen traffic ---- */

static int pg_write(const char *file, const char *fmt, ...)
{
	char path[128], cmd[256];
	va_list ap;
	int err;

	snprintf(path, sizeof(path), "/proc/net/pktgen/%s", file);
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd) - 1, fmt, ap);
	va_end(ap);
	/* pgctrl drops the last character as the newline: always send one. */
	strcat(cmd, "\n");
	err = write_file(path, cmd);
	if (err)
		diag("pktgen: %s > %s: %s", cmd, path, strerror(-err));
	return err;
}

static int pg_run(const char *tx, const char *dst_mac, int count, int port)
{
	return pg_write("kpktgend_0", "rem_device_all") ?:
	       pg_write("kpktgend_0", "add_device %s", tx) ?:
	       pg_write(tx, "count %d", count) ?:
	       pg_write(tx, "pkt_size 120") ?:
	       pg_write(tx, "delay 0") ?:
	       pg_write(tx, "dst 10.99.0.2") ?:
	       pg_write(tx, "dst_mac %s", dst_mac) ?:
	       pg_write(tx, "udp_dst_min %d", port) ?:
	       pg_write(tx, "udp_dst_max %d", port) ?:
	       pg_write("pgctrl", "start");
}

static int counters(int map, __u64 *sum)
{
	int ncpu = libbpf_num_possible_cpus(), c;
	__u64 *v = calloc((size_t)ncpu, sizeof(*v));
	__u32 k;

	if (!v)
		return -ENOMEM;
	for (k = 0; k < VT_C__MAX; k++) {
		sum[k] = 0;
		if (bpf_map_lookup_elem(map, &k, v)) {
			free(v);
			return -errno;
		}
		for (c = 0; c < ncpu; c++)
			sum[k] += v[c];
	}
	free(v);
	return 0;
}

/* pktgen OBJ TX RX RX_MAC COUNT: vt_count on RX, pktgen frames from TX. */
static int cmd_pktgen(int argc, char **argv)
{
	struct bpf_object *obj;
	int ifindex, fd, map, n, err;
	__u64 c[VT_C__MAX];

	if (argc < 5) {
		fprintf(stderr, "usage: csmp_vmtest pktgen TEST_OBJ TX RX RX_MAC COUNT\n");
		return 2;
	}
	n = atoi(argv[4]);
	ifindex = (int)if_nametoindex(argv[2]);
	obj = open_obj(argv[0], 1, NULL);
	err = obj ? bpf_object__load(obj) : -ENOENT;
	if (err || !ifindex) {
		tap(false, "vt_count loads and %s exists", argv[2]);
		goto out;
	}
	fd = prog_fd(obj, "vt_count");
	map = bpf_object__find_map_fd_by_name(obj, "csmp_vt_count");
	err = bpf_xdp_attach(ifindex, fd, XDP_FLAGS_DRV_MODE, NULL);
	tap(!err, "vt_count attaches to %s in native (driver) mode", argv[2]);
	if (err)
		goto out;

	err = pg_run(argv[1], argv[3], n, CSMP_PORT) ?:
	      pg_run(argv[1], argv[3], n / 2, 9);
	tap(!err, "pktgen sent %d frames to port %d and %d to port 9 from %s",
	    n, CSMP_PORT, n / 2, argv[1]);
	err = err ?: counters(map, c);
	if (!err)
		diag("counters: not_csmp %llu csmp %llu malformed %llu bad_version %llu",
		     (unsigned long long)c[VT_C_NOT_CSMP],
		     (unsigned long long)c[VT_C_CSMP],
		     (unsigned long long)c[VT_C_MALFORMED],
		     (unsigned long long)c[VT_C_BAD_VERSION]);
	/*
	 * pktgen's payload starts with its magic 0xbe9be955: CoAP version 2,
	 * so every frame to the CSMP port is malformed for that reason. The
	 * stack may add a few frames of its own (IPv6 ND, MLD): not CSMP.
	 */
	tap(!err && c[VT_C_BAD_VERSION] == (__u64)n && !c[VT_C_CSMP] &&
	    !c[VT_C_MALFORMED],
	    "XDP classified all %d pktgen frames to the CSMP port through the kfunc (malformed: CoAP version)", n);
	tap(!err && c[VT_C_NOT_CSMP] >= (__u64)(n / 2),
	    "XDP passed the %d frames to port 9 as not CSMP", n / 2);
	bpf_xdp_detach(ifindex, XDP_FLAGS_DRV_MODE, NULL);
out:
	bpf_object__close(obj);
	return failures ? 1 : 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: csmp_vmtest COMMAND ARGS...\n"
		"  corpus OUT PCAP...                 extract UDP payloads (build host)\n"
		"  kfunc TEST_OBJ CORPUS [N_RANDOM]   kfuncs equal the C library (needs csmp.ko)\n"
		"  verify 0|1 accept|reject-if-flagged OBJ...   load objects with use_kfuncs\n"
		"  diff CORPUS OBJ...                 same verdicts with and without kfuncs\n"
		"  pktgen TEST_OBJ TX RX RX_MAC COUNT XDP on veth RX, pktgen on TX\n"
		"example: csmp_vmtest corpus /tmp/corpus.bin ../shared/fixtures/opencsmp-get.pcap\n");
}

int main(int argc, char **argv)
{
	struct timespec ts;

	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	rng_state = getenv("CSMP_SEED") ? strtoull(getenv("CSMP_SEED"), NULL, 0) :
					  (__u64)ts.tv_nsec ^ (__u64)ts.tv_sec << 20;
	if (!rng_state)
		rng_state = 1;
	libbpf_set_print(libbpf_print);
	if (!strcmp(argv[1], "corpus"))
		return cmd_corpus(argc - 2, argv + 2);
	printf("# seed %#llx (CSMP_SEED=... to repeat)\n", (unsigned long long)rng_state);
	if (!strcmp(argv[1], "kfunc"))
		return cmd_kfunc(argc - 2, argv + 2);
	if (!strcmp(argv[1], "verify"))
		return cmd_verify(argc - 2, argv + 2);
	if (!strcmp(argv[1], "diff"))
		return cmd_diff(argc - 2, argv + 2);
	if (!strcmp(argv[1], "pktgen"))
		return cmd_pktgen(argc - 2, argv + 2);
	usage(stderr);
	return 2;
}
