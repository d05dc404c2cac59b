// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * csmp-cryptobench: signature rates on one core, raw and through libcsmp,
 * measured side by side in one run and printed as one flat JSON object.
 *
 * "Raw" is the library alone with everything prepared, as `openssl speed`
 * measures it: an initialised EVP_PKEY_CTX signing or verifying a 32-byte
 * digest (P-256), libsodium's detached sign/verify over the region bytes
 * (Ed25519). "API" is what csmpd pays per message: csmp_verify_batch() on
 * whole CSMP payloads (TLV walk, DER parse, window, SHA-256 of the region,
 * replay-cache lookup, verify), csmp_sig_append() (validity TLV, hash,
 * sign, DER wrap, Signature TLV), with the signature cache off and on,
 * and (P-256) the nonce pool: the refill's cost per (k^-1, r) pair and
 * csmp_sig_append() taking its nonces from a full pool, as in a storm.
 * Raw and API runs alternate over several rounds and each figure is the
 * median, so drift (turbo, a neighbour) hits both sides alike. Other
 * programs' benchmarks (csmpd, verify) call this for their denominators.
 */
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <sodium.h>

#include "cli.h"
#include "sig.h"

#define NOW	1700000000u
#define NMSG	256		/* distinct messages per suite */
#define BATCH	32		/* items per csmp_verify_batch() call */
#define MAXBODY	1024
#define POOL_BURST 16384	/* pooled signatures per burst measured */

static const char usage_text[] =
	"usage: csmp-cryptobench [--seconds S] [--rounds N] [--body BYTES]\n"
	"                        [--cpu N] [--suite p256|ed25519|all]\n"
	"\n"
	"Measures, on one core, P-256 (OpenSSL) and Ed25519 (libsodium) sign\n"
	"and verify rates raw and through libcsmp's signature API, and prints\n"
	"one JSON object (operations per CPU-second and API/raw ratios).\n"
	"\n"
	"  --seconds S   CPU time per measurement per round (default 0.5)\n"
	"  --rounds N    alternating rounds; figures are medians (default 3)\n"
	"  --body BYTES  TLV body size before the signature TLVs (default 64)\n"
	"  --cpu N       pin to CPU N (default: the CPU it starts on)\n"
	"  --suite S     p256, ed25519 or all (default all)\n"
	"  -h, --help    this text\n"
	"  --version     print the version\n"
	"\n"
	"example:\n"
	"  csmp-cryptobench --seconds 0.2 --rounds 3 | jq .p256_verify_ratio\n";

static void usage(FILE *f)
{
	fputs(usage_text, f);
}

struct suite_ctx {
	enum csmp_sig_suite suite;
	const char *name;
	struct csmp_key *key;
	struct csmp_signer *signer, *signer_cached;
	struct csmp_signer *signer_pooled;	/* P-256: takes from pool */
	struct csmp_sigpool *pool;
	struct csmp_verifier *verifier;	/* first-time messages */
	struct csmp_verifier *replay;	/* retransmissions */
	EVP_PKEY_CTX *sctx, *vctx;	/* P-256 raw */
	uint8_t msg[NMSG][MAXBODY + CSMP_SIG_TLVS_MAX];
	size_t len[NMSG];
	struct csmp_verify_item items[NMSG];
	/* Raw material: region, digest and inner signature per message. */
	uint8_t digest[NMSG][32];
	const uint8_t *rsig[NMSG];
	size_t rsig_len[NMSG];
	uint8_t body[MAXBODY];
	size_t body_len;
};

static double opt_seconds = 0.5;

/*
 * Rates are per second of this thread's CPU time, not of wall time: the
 * machines this runs on (CI, a developer's box with a build going) share
 * their cores, and a preempted loop would otherwise look slow. Wall time
 * only bounds the run so that it always stops.
 */
static double clock_s(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Run op(ctx, i) for opt_seconds; operations per second. */
typedef int (*op_fn)(struct suite_ctx *c, unsigned int i);

static double measure(struct suite_ctx *c, op_fn op, unsigned int step)
{
	double t0 = clock_s(CLOCK_THREAD_CPUTIME_ID), t;
	double w0 = clock_s(CLOCK_MONOTONIC);
	unsigned long n = 0;
	unsigned int i = 0;

	do {
		unsigned int k;

		for (k = 0; k < 64; k += step) {
			if (op(c, i)) {
				fprintf(stderr, "csmp-cryptobench: %s: operation failed\n",
					c->name);
				exit(1);
			}
			i = (i + step) % NMSG;
			n += step;
		}
		t = clock_s(CLOCK_THREAD_CPUTIME_ID) - t0;
	} while (t < opt_seconds &&
		 clock_s(CLOCK_MONOTONIC) - w0 < 20 * opt_seconds);
	return (double)n / t;
}

/* Raw Ed25519 uses its own libsodium key pair, made in suite_setup(). */
static uint8_t ed_sk[64], ed_pk[32];

static int op_raw_sign_p256(struct suite_ctx *c, unsigned int i)
{
	uint8_t sig[128];
	size_t sl = sizeof(sig);

	return EVP_PKEY_sign(c->sctx, sig, &sl, c->digest[i], 32) == 1 ? 0 : -1;
}

static int op_raw_sign_ed(struct suite_ctx *c, unsigned int i)
{
	uint8_t sig[64];

	return crypto_sign_ed25519_detached(sig, NULL, c->msg[i],
					    c->items[i].region_len, ed_sk);
}

static int op_raw_verify_p256(struct suite_ctx *c, unsigned int i)
{
	return EVP_PKEY_verify(c->vctx, c->rsig[i], c->rsig_len[i],
			       c->digest[i], 32) == 1 ? 0 : -1;
}

static int op_raw_verify_ed(struct suite_ctx *c, unsigned int i)
{
	return crypto_sign_ed25519_verify_detached(c->rsig[i], c->msg[i],
						   c->items[i].region_len,
						   ed_pk);
}

static int op_api_verify(struct suite_ctx *c, unsigned int i)
{
	uint8_t res[BATCH];
	unsigned int n = BATCH;

	if (i + n > NMSG)
		n = NMSG - i;
	return csmp_verify_batch(c->verifier, &c->items[i], n, res, NOW) ==
			       (int)n ? 0 : -1;
}

/* The same message again and again: the replay cache answers. */
static int op_api_verify_replay(struct suite_ctx *c, unsigned int i)
{
	uint8_t res;

	return csmp_verify_batch(c->replay, &c->items[0], 1, &res, NOW) ==
			       1 ? 0 : -1;
}

/* What the batch avoids: a context made per message (csmp_sig_check with
 * no verifier), the way a naive caller would verify. */
static int op_api_verify_noctx(struct suite_ctx *c, unsigned int i)
{
	return csmp_sig_check(NULL, c->key, c->msg[i], c->len[i], NOW) ==
			       CSMP_R_OK ? 0 : -1;
}

static int sign_into(struct csmp_signer *s, struct suite_ctx *c,
		     unsigned int i)
{
	uint8_t buf[MAXBODY + CSMP_SIG_TLVS_MAX];

	memcpy(buf, c->body, c->body_len);
	buf[0] = (uint8_t)i;	/* distinct regions unless i is fixed */
	return csmp_sig_append(s, buf, c->body_len, sizeof(buf), NOW - 60,
			       NOW + 3600) > 0 ? 0 : -1;
}

static int op_api_sign(struct suite_ctx *c, unsigned int i)
{
	return sign_into(c->signer, c, i);
}

/* csmpd answering many registrations with the same body in one window. */
static int op_api_sign_cached(struct suite_ctx *c, unsigned int i)
{
	return sign_into(c->signer_cached, c, 0);
}

/*
 * The pool, measured as csmpd uses it: refill is the idle-time cost per
 * pair (csmp_sigpool_refill into an empty ring), sign is csmp_sig_append()
 * taking every nonce from a full ring, i.e. a storm burst of up to the pool
 * size. Both are timed over whole bursts of POOL_BURST pairs, a fresh ring
 * each, until opt_seconds of CPU time; filling a ring for the sign side is
 * not timed (it is what the refill side measures) but costs ~15x the
 * signing, so that side stops at an eighth of opt_seconds (one burst at
 * least): still thousands of signatures.
 */
static int pool_fresh(struct suite_ctx *c)
{
	struct csmp_sigpool_opts o = { .rings = 1, .entries = POOL_BURST };
	int err;

	csmp_signer_set_pool(c->signer_pooled, NULL, 0);
	csmp_sigpool_free(c->pool);
	c->pool = NULL;
	err = csmp_sigpool_new(c->key, &o, &c->pool);
	if (!err)
		err = csmp_signer_set_pool(c->signer_pooled, c->pool, 0);
	return err;
}

static double measure_pool(struct suite_ctx *c, bool sign)
{
	double busy = 0, w0 = clock_s(CLOCK_MONOTONIC), t0;
	unsigned long n = 0;
	struct csmp_signer_stats st0, st1;
	unsigned int i;

	do {
		if (pool_fresh(c) ||
		    (sign && csmp_sigpool_refill(c->pool, POOL_BURST) !=
				     POOL_BURST))
			goto fail;
		csmp_signer_stats(c->signer_pooled, &st0);
		t0 = clock_s(CLOCK_THREAD_CPUTIME_ID);
		if (sign) {
			for (i = 0; i < POOL_BURST; i++)
				if (sign_into(c->signer_pooled, c, i % NMSG))
					goto fail;
		} else if (csmp_sigpool_refill(c->pool, POOL_BURST) !=
			   POOL_BURST) {
			goto fail;
		}
		busy += clock_s(CLOCK_THREAD_CPUTIME_ID) - t0;
		csmp_signer_stats(c->signer_pooled, &st1);
		/* A pooled figure must be all pooled signatures. */
		if (sign && st1.pool_signs - st0.pool_signs != POOL_BURST)
			goto fail;
		n += POOL_BURST;
	} while (busy < (sign ? opt_seconds / 8 : opt_seconds) &&
		 clock_s(CLOCK_MONOTONIC) - w0 < 40 * opt_seconds);
	return (double)n / busy;
fail:
	fprintf(stderr, "csmp-cryptobench: %s: pool %s failed\n", c->name,
		sign ? "signing" : "refill");
	exit(1);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* A body of CSMP-looking TLVs: opaque type-99 TLVs of up to 100 bytes. */
static void make_body(uint8_t *b, size_t len)
{
	size_t pos = 0;

	while (pos < len) {
		size_t v = len - pos - 2 > 100 ? 100 : len - pos - 2;

		if (len - pos < 3) {
			memset(b + pos, 0, len - pos);	/* padding bytes */
			break;
		}
		b[pos] = 99;
		b[pos + 1] = (uint8_t)v;
		randombytes_buf(b + pos + 2, v);
		pos += 2 + v;
	}
}

static int suite_setup(struct suite_ctx *c, size_t body_len)
{
	/*
	 * A one-slot replay cache over distinct messages in sequence: every
	 * lookup is paid for and none can hit (the count is printed), so
	 * api_verify is the price of first-time verification.
	 */
	struct csmp_verifier_opts vo = { .skew = 0, .replay_entries = 1 };
	struct csmp_verifier_opts vr = { .skew = 0, .replay_entries = 1024 };
	unsigned int i;
	int n, err;

	err = csmp_key_generate(c->suite, &c->key);
	if (!err)
		err = csmp_signer_new(c->key, 0, &c->signer);
	if (!err)
		err = csmp_signer_new(c->key, 1024, &c->signer_cached);
	if (!err && c->suite == CSMP_SUITE_P256)
		err = csmp_signer_new(c->key, 0, &c->signer_pooled);
	if (!err)
		err = csmp_verifier_new(&vo, &c->verifier);
	if (!err)
		err = csmp_verifier_new(&vr, &c->replay);
	if (err)
		return err;
	c->body_len = body_len;
	make_body(c->body, body_len);
	for (i = 0; i < NMSG; i++) {
		memcpy(c->msg[i], c->body, body_len);
		c->msg[i][body_len ? body_len - 1 : 0] ^= (uint8_t)i;
		n = csmp_sig_append(c->signer, c->msg[i], body_len,
				    sizeof(c->msg[i]), NOW - 60, NOW + 3600);
		if (n < 0)
			return n;
		c->len[i] = (size_t)n;
		if (csmp_verify_item_init(&c->items[i], c->msg[i], c->len[i],
					  c->key) != CSMP_R_OK)
			return -EBADMSG;
		crypto_hash_sha256(c->digest[i], c->msg[i],
				   c->items[i].region_len);
	}
	if (c->suite == CSMP_SUITE_P256) {
		/* The raw side gets a key pair of its own on the same curve,
		 * and its own signatures over the same regions. */
		EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");

		c->sctx = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);
		c->vctx = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);
		EVP_PKEY_free(pk);
		if (!c->sctx || !c->vctx || EVP_PKEY_sign_init(c->sctx) != 1 ||
		    EVP_PKEY_verify_init(c->vctx) != 1)
			return -EIO;
		for (i = 0; i < NMSG; i++) {
			static uint8_t sigs[NMSG][80];
			size_t sl = sizeof(sigs[i]);

			if (EVP_PKEY_sign(c->sctx, sigs[i], &sl, c->digest[i],
					  32) != 1)
				return -EIO;
			c->rsig[i] = sigs[i];
			c->rsig_len[i] = sl;
		}
	} else {
		static uint8_t sigs[NMSG][64];

		crypto_sign_ed25519_keypair(ed_pk, ed_sk);
		for (i = 0; i < NMSG; i++) {
			crypto_sign_ed25519_detached(sigs[i], NULL, c->msg[i],
						     c->items[i].region_len,
						     ed_sk);
			c->rsig[i] = sigs[i];
			c->rsig_len[i] = 64;
		}
	}
	return 0;
}

static void suite_teardown(struct suite_ctx *c)
{
	EVP_PKEY_CTX_free(c->sctx);
	EVP_PKEY_CTX_free(c->vctx);
	csmp_verifier_free(c->verifier);
	csmp_verifier_free(c->replay);
	csmp_signer_free(c->signer_cached);
	csmp_signer_free(c->signer_pooled);
	csmp_sigpool_free(c->pool);
	csmp_signer_free(c->signer);
	csmp_key_put(c->key);
}

enum { M_RAW_SIGN, M_RAW_VERIFY, M_API_SIGN, M_API_SIGN_CACHED,
       M_API_VERIFY, M_API_VERIFY_REPLAY, M_API_VERIFY_NOCTX,
       M_POOL_REFILL, M_POOL_SIGN, M__N };

static const char *const mname[M__N] = {
	"raw_sign_per_s", "raw_verify_per_s", "api_sign_per_s",
	"api_sign_cached_per_s", "api_verify_per_s",
	"api_verify_replay_per_s", "api_verify_newctx_per_s",
	"pool_refill_per_s", "api_sign_pooled_per_s",
};
/* The last measurements are P-256's alone. */
#define M_P256_ONLY	M_POOL_REFILL

static void run_suite(struct suite_ctx *c, int rounds, double *med)
{
	double *v = calloc((size_t)rounds * M__N, sizeof(double));
	int r, m;

	if (!v)
		exit(1);
	for (r = 0; r < rounds; r++) {
		bool p = c->suite == CSMP_SUITE_P256;

		v[M_RAW_VERIFY * rounds + r] =
			measure(c, p ? op_raw_verify_p256 : op_raw_verify_ed, 1);
		v[M_API_VERIFY * rounds + r] = measure(c, op_api_verify, BATCH);
		v[M_RAW_SIGN * rounds + r] =
			measure(c, p ? op_raw_sign_p256 : op_raw_sign_ed, 1);
		v[M_API_SIGN * rounds + r] = measure(c, op_api_sign, 1);
		v[M_API_SIGN_CACHED * rounds + r] =
			measure(c, op_api_sign_cached, 1);
		v[M_API_VERIFY_REPLAY * rounds + r] =
			measure(c, op_api_verify_replay, 1);
		v[M_API_VERIFY_NOCTX * rounds + r] =
			measure(c, op_api_verify_noctx, 1);
		if (!p)
			continue;
		v[M_POOL_REFILL * rounds + r] = measure_pool(c, false);
		v[M_POOL_SIGN * rounds + r] = measure_pool(c, true);
	}
	for (m = 0; m < M__N; m++) {
		qsort(v + m * rounds, (size_t)rounds, sizeof(double), cmp_double);
		med[m] = v[m * rounds + rounds / 2];
	}
	free(v);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "seconds", required_argument, NULL, 's' },
		{ "rounds", required_argument, NULL, 'r' },
		{ "body", required_argument, NULL, 'b' },
		{ "cpu", required_argument, NULL, 'c' },
		{ "suite", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	static struct suite_ctx ctx[2];
	double med[2][M__N];
	int rounds = 3, cpu = -1, opt, i, m, first = 1;
	long body = 64;
	const char *which = "all";
	char *end;

	if (csmp_cli_answered(argc, argv, "csmp-cryptobench", usage))
		return 0;
	while ((opt = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (opt) {
		case 's':
			opt_seconds = strtod(optarg, &end);
			if (*end || opt_seconds <= 0 || opt_seconds > 60)
				goto bad;
			break;
		case 'r':
			rounds = (int)strtol(optarg, &end, 10);
			if (*end || rounds < 1 || rounds > 99)
				goto bad;
			break;
		case 'b':
			body = strtol(optarg, &end, 10);
			if (*end || body < 3 || body > MAXBODY)
				goto bad;
			break;
		case 'c':
			cpu = (int)strtol(optarg, &end, 10);
			if (*end || cpu < 0)
				goto bad;
			break;
		case 'S':
			which = optarg;
			if (strcmp(which, "p256") && strcmp(which, "ed25519") &&
			    strcmp(which, "all"))
				goto bad;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			goto bad;
		}
	}
	if (optind != argc)
		goto bad;

	if (cpu < 0)
		cpu = sched_getcpu();
	{
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		if (sched_setaffinity(0, sizeof(set), &set)) {
			perror("csmp-cryptobench: sched_setaffinity");
			return 1;
		}
	}
	ctx[0].suite = CSMP_SUITE_P256;
	ctx[0].name = "p256";
	ctx[1].suite = CSMP_SUITE_ED25519;
	ctx[1].name = "ed25519";

	printf("{\n  \"cpu\": %d,\n  \"seconds\": %g,\n  \"rounds\": %d,\n"
	       "  \"body_bytes\": %ld,\n  \"batch\": %d", cpu, opt_seconds,
	       rounds, body, BATCH);
	for (i = 0; i < 2; i++) {
		struct suite_ctx *c = &ctx[i];
		struct csmp_verifier_stats vs;
		int err;

		if (strcmp(which, "all") && strcmp(which, c->name))
			continue;
		err = suite_setup(c, (size_t)body);
		if (err) {
			fprintf(stderr, "csmp-cryptobench: %s set-up: %s\n",
				c->name, strerror(-err));
			return 1;
		}
		run_suite(c, rounds, med[i]);
		for (m = 0; m < M__N; m++)
			if (m < M_P256_ONLY || c->suite == CSMP_SUITE_P256)
				printf(",\n  \"%s_%s\": %.0f", c->name,
				       mname[m], med[i][m]);
		csmp_verifier_stats(c->verifier, &vs);
		printf(",\n  \"%s_api_verify_replay_hits\": %llu", c->name,
		       (unsigned long long)vs.replay_hits);
		printf(",\n  \"%s_verify_ratio\": %.4f", c->name,
		       med[i][M_API_VERIFY] / med[i][M_RAW_VERIFY]);
		printf(",\n  \"%s_sign_ratio\": %.4f", c->name,
		       med[i][M_API_SIGN] / med[i][M_RAW_SIGN]);
		printf(",\n  \"%s_sign_cached_ratio\": %.4f", c->name,
		       med[i][M_API_SIGN_CACHED] / med[i][M_RAW_SIGN]);
		if (c->suite == CSMP_SUITE_P256) {
			/* Cost of a pair over the cost of a signature (goal
			 * <= 1.05), and storm signing over raw signing. */
			printf(",\n  \"p256_pool_refill_over_sign\": %.4f",
			       med[i][M_RAW_SIGN] / med[i][M_POOL_REFILL]);
			printf(",\n  \"p256_pool_sign_ratio\": %.4f",
			       med[i][M_POOL_SIGN] / med[i][M_RAW_SIGN]);
		}
		suite_teardown(c);
		first = 0;
	}
	printf("\n}\n");
	return first;
bad:
	usage(stderr);
	return 2;
}
