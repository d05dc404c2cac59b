// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The nonce pool: ECDSA P-256 (k^-1, r) pairs computed in idle time so that
 * a storm of registrations is answered at the cost of s = k^-1 (z + r d)
 * mod n alone, a few per cent of a signature. One refill thread per process
 * fills one single-producer single-consumer ring per signer (per worker),
 * so workers never contend with each other and the hand-off is two indices
 * with acquire/release ordering, no lock.
 *
 * The arithmetic is OpenSSL's, not ours: ECDSA_sign_setup() draws k with
 * BN_priv_rand_range_ex() (the private DRBG, rejection sampling, so k is
 * uniform in [1, n-1]), computes r = x(kG) mod n on ecp_nistz256's
 * constant-time fixed-base ladder and k^-1 with the group's constant-time
 * inverse modulo the order; ECDSA_do_sign_ex() is the very function that
 * EVP_PKEY_sign() ends in, given that pair instead of making one, so s is
 * computed in OpenSSL's fixed-top Montgomery code. Both are deprecated in
 * 3.0 (the EC_KEY API) but present and unchanged; the provider API has no
 * way to pass a precomputed nonce. Hand-rolled EC_POINT_mul + BN_mod_inverse
 * would cost more than a whole signature (no nistz256 order inverse behind
 * the public BN API) and be code of our own to get constant-time right.
 *
 * A pair is a secret as good as the private key (k and one signature give
 * d), so the rings live in one anonymous mapping that is locked in memory
 * (never swapped, never persisted), left out of core dumps and wiped in a
 * child at fork (MADV_WIPEONFORK: a child sees empty rings, so a nonce can
 * never be used by two processes). A pair is copied out and its slot wiped
 * before the slot is handed back; the copy and the BIGNUMs made from it
 * are wiped after the signature.
 */
#define OPENSSL_SUPPRESS_DEPRECATED	/* ECDSA_sign_setup, ECDSA_do_sign_ex */

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>

#include "sig_priv.h"

#define SCALAR_LEN	32
#define REFILL_BATCH	16	/* pairs per round of the refill thread */
#define IDLE_WAIT_NS	1000000000l

struct pool_pair {
	uint8_t kinv[SCALAR_LEN];	/* big-endian, zero-padded */
	uint8_t r[SCALAR_LEN];
};
_Static_assert(sizeof(struct pool_pair) == 64, "a pair is one cache line");

/*
 * The indices and counters of a ring, in the locked mapping too (a child's
 * copy reads zero: empty). tail and made are the producer's, head and the
 * rest the consumer's: one cache line each, so neither side's writes bounce
 * the other's line.
 */
struct ring_hdr {
	_Atomic uint32_t tail;
	_Atomic uint64_t made;
	uint8_t pad0[64 - 16];
	_Atomic uint32_t head;
	_Atomic uint64_t taken;
	_Atomic uint64_t empty;
	uint8_t pad1[64 - 24];
};
_Static_assert(sizeof(struct ring_hdr) == 128, "two cache lines");

/* Consumer-side state outside the mapping: scratch numbers, binding. */
struct ring_user {
	BIGNUM *kinv, *r;
	_Atomic bool bound;
};

struct csmp_sigpool {
	struct csmp_key *key;
	EC_KEY *ec;		/* legacy view of key->pkey, read only */
	BN_CTX *bnctx;		/* the producer's */
	uint32_t rings, entries, mask, low_water, rate;
	void *map;		/* ring_hdr[rings], then pairs */
	size_t map_len;
	struct ring_hdr *hdr;
	struct pool_pair *pairs;
	struct ring_user *user;
	/* The refill thread. */
	pthread_t thread;
	bool running;
	_Atomic int sched;	/* enum csmp_sigpool_sched the thread got */
	_Atomic bool stop;
	_Atomic uint32_t sleeping;	/* the producer waits for wake */
	_Atomic uint32_t wake;		/* futex word */
	_Atomic uint64_t errors;	/* pairs the refill failed to make */
};

static struct pool_pair *slot(struct csmp_sigpool *p, uint32_t ring,
			      uint32_t idx)
{
	return &p->pairs[(size_t)ring * p->entries + (idx & p->mask)];
}

static void futex_wake(_Atomic uint32_t *w)
{
	syscall(SYS_futex, w, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static void futex_wait(_Atomic uint32_t *w, uint32_t val, long ns)
{
	struct timespec ts = { ns / 1000000000l, ns % 1000000000l };

	syscall(SYS_futex, w, FUTEX_WAIT_PRIVATE, val, &ts, NULL, 0);
}

static uint32_t pow2_at_least(uint32_t n)
{
	uint32_t v = 1;

	while (v < n)
		v <<= 1;
	return v;
}

int csmp_sigpool_new(struct csmp_key *key, const struct csmp_sigpool_opts *o,
		     struct csmp_sigpool **out)
{
	struct csmp_sigpool *p;
	long page = sysconf(_SC_PAGESIZE);
	size_t len;
	uint32_t i;
	int err;

	if (!key || !o || key->suite != CSMP_SUITE_P256 || !key->has_priv)
		return -EINVAL;
	if (!o->rings || o->rings > CSMP_SIGPOOL_RINGS_MAX || !o->entries ||
	    o->entries > CSMP_SIGPOOL_ENTRIES_MAX)
		return -ERANGE;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->rings = o->rings;
	p->entries = pow2_at_least(o->entries);
	p->mask = p->entries - 1;
	/* Wake the producer once a ring is half used, not per signature. */
	p->low_water = p->entries / 2;
	p->rate = o->rate;
	p->user = calloc(p->rings, sizeof(*p->user));
	if (!p->user) {
		err = -ENOMEM;
		goto err_free_pool;
	}
	for (i = 0; i < p->rings; i++) {
		p->user[i].kinv = BN_secure_new();
		p->user[i].r = BN_new();
		if (!p->user[i].kinv || !p->user[i].r) {
			err = -ENOMEM;
			goto err_free_user;
		}
		BN_set_flags(p->user[i].kinv, BN_FLG_CONSTTIME);
	}
	p->ec = EVP_PKEY_get1_EC_KEY(key->pkey);
	p->bnctx = BN_CTX_secure_new();
	if (!p->ec || !p->bnctx) {
		err = -EIO;
		goto err_free_user;
	}

	len = (size_t)p->rings * sizeof(struct ring_hdr) +
	      (size_t)p->rings * p->entries * sizeof(struct pool_pair);
	len = (len + (size_t)page - 1) & ~((size_t)page - 1);
	p->map = mmap(NULL, len, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p->map == MAP_FAILED) {
		p->map = NULL;
		err = -errno;
		goto err_free_user;
	}
	p->map_len = len;
	/*
	 * Each is a promise the pool makes: refuse to run without it. mlock2
	 * is mlock; it is called by that name because sanitizer runtimes make
	 * mlock() a silent no-op, and the tests check the lock is real.
	 */
	if (madvise(p->map, len, MADV_WIPEONFORK) ||
	    madvise(p->map, len, MADV_DONTDUMP) || mlock2(p->map, len, 0)) {
		err = -errno;
		goto err_unmap;
	}
	p->hdr = p->map;
	p->pairs = (struct pool_pair *)(p->hdr + p->rings);
	p->key = csmp_key_get(key);
	*out = p;
	return 0;

err_unmap:
	munmap(p->map, len);
err_free_user:
	BN_CTX_free(p->bnctx);
	EC_KEY_free(p->ec);
	for (i = 0; i < p->rings; i++) {
		BN_clear_free(p->user[i].kinv);
		BN_free(p->user[i].r);
	}
	free(p->user);
err_free_pool:
	free(p);
	ERR_clear_error();
	return err;
}

void csmp_sigpool_free(struct csmp_sigpool *p)
{
	uint32_t i;

	if (!p)
		return;
	csmp_sigpool_stop(p);
	OPENSSL_cleanse(p->map, p->map_len);
	munlock(p->map, p->map_len);
	munmap(p->map, p->map_len);
	BN_CTX_free(p->bnctx);
	EC_KEY_free(p->ec);
	for (i = 0; i < p->rings; i++) {
		BN_clear_free(p->user[i].kinv);
		BN_clear_free(p->user[i].r);
	}
	free(p->user);
	csmp_key_put(p->key);
	free(p);
}

/* Producer: publish a pair into ring `ring`, which has room. */
static void ring_put(struct csmp_sigpool *p, uint32_t ring,
		     const BIGNUM *kinv, const BIGNUM *r)
{
	struct ring_hdr *h = &p->hdr[ring];
	uint32_t t = atomic_load_explicit(&h->tail, memory_order_relaxed);
	struct pool_pair *e = slot(p, ring, t);

	BN_bn2binpad(kinv, e->kinv, SCALAR_LEN);
	BN_bn2binpad(r, e->r, SCALAR_LEN);
	atomic_store_explicit(&h->tail, t + 1, memory_order_release);
	atomic_store_explicit(&h->made,
			      atomic_load_explicit(&h->made,
						   memory_order_relaxed) + 1,
			      memory_order_relaxed);
}

static bool ring_has_room(struct csmp_sigpool *p, uint32_t ring)
{
	struct ring_hdr *h = &p->hdr[ring];

	return atomic_load_explicit(&h->tail, memory_order_relaxed) -
		       atomic_load_explicit(&h->head, memory_order_acquire) <
	       p->entries;
}

int csmp_sigpool_refill(struct csmp_sigpool *p, unsigned int max)
{
	unsigned int made = 0;
	bool room = true;
	uint32_t i;

	while (made < max && room) {
		room = false;
		/* One pair per ring per pass: rings fill evenly. */
		for (i = 0; i < p->rings && made < max; i++) {
			BIGNUM *kinv = NULL, *r = NULL;

			if (!ring_has_room(p, i))
				continue;
			room = true;
			if (!ECDSA_sign_setup(p->ec, p->bnctx, &kinv, &r)) {
				ERR_clear_error();
				atomic_fetch_add(&p->errors, 1);
				return made ? (int)made : -EIO;
			}
			ring_put(p, i, kinv, r);
			BN_clear_free(kinv);
			BN_clear_free(r);
			made++;
		}
	}
	return (int)made;
}

/* For the known-answer test (sig_priv.h): a pair from a given k. */
int csmp_sigpool_put_k(struct csmp_sigpool *p, unsigned int ring,
		       const uint8_t k[32])
{
	const EC_GROUP *g = EC_KEY_get0_group(p->ec);
	const BIGNUM *n = EC_GROUP_get0_order(g);
	BIGNUM *bk, *kinv, *x, *r;
	EC_POINT *pt = EC_POINT_new(g);
	int err = -EIO;

	BN_CTX_start(p->bnctx);
	bk = BN_CTX_get(p->bnctx);
	kinv = BN_CTX_get(p->bnctx);
	x = BN_CTX_get(p->bnctx);
	r = BN_CTX_get(p->bnctx);
	if (!pt || !r || !BN_bin2bn(k, 32, bk))
		goto out;
	BN_set_flags(bk, BN_FLG_CONSTTIME);
	if (ring >= p->rings || !ring_has_room(p, ring)) {
		err = -ENOSPC;
		goto out;
	}
	if (BN_is_zero(bk) || BN_cmp(bk, n) >= 0) {
		err = -EDOM;
		goto out;
	}
	if (!EC_POINT_mul(g, pt, bk, NULL, NULL, p->bnctx) ||
	    !EC_POINT_get_affine_coordinates(g, pt, x, NULL, p->bnctx) ||
	    !BN_nnmod(r, x, n, p->bnctx) ||
	    !BN_mod_inverse(kinv, bk, n, p->bnctx))
		goto out;
	ring_put(p, ring, kinv, r);
	err = 0;
out:
	if (r) {
		BN_clear(bk);
		BN_clear(kinv);
	}
	BN_CTX_end(p->bnctx);
	EC_POINT_clear_free(pt);
	ERR_clear_error();
	return err;
}

/* Consumer: copy out the oldest pair and wipe its slot; false if empty. */
static bool ring_take(struct csmp_sigpool *p, uint32_t ring,
		      struct pool_pair *out)
{
	struct ring_hdr *h = &p->hdr[ring];
	uint32_t hd = atomic_load_explicit(&h->head, memory_order_relaxed);
	uint32_t t = atomic_load_explicit(&h->tail, memory_order_acquire);
	struct pool_pair *e;

	if (hd == t) {
		atomic_store_explicit(&h->empty,
				      atomic_load_explicit(&h->empty,
							   memory_order_relaxed) + 1,
				      memory_order_relaxed);
		return false;
	}
	e = slot(p, ring, hd);
	memcpy(out, e, sizeof(*out));
	/* Wiped before the slot is handed back to the producer. */
	OPENSSL_cleanse(e, sizeof(*e));
	/* seq_cst pairs with the producer's store to sleeping (below). */
	atomic_store(&h->head, hd + 1);
	atomic_store_explicit(&h->taken,
			      atomic_load_explicit(&h->taken,
						   memory_order_relaxed) + 1,
			      memory_order_relaxed);
	if (t - (hd + 1) <= p->low_water && atomic_load(&p->sleeping) &&
	    atomic_exchange(&p->sleeping, 0)) {
		atomic_fetch_add(&p->wake, 1);
		futex_wake(&p->wake);
	}
	return true;
}

int csmp_sigpool_sign(struct csmp_sigpool *p, unsigned int ring,
		      const uint8_t digest[32], uint8_t *der, size_t *der_len)
{
	struct ring_user *u = &p->user[ring];
	struct pool_pair pp;
	ECDSA_SIG *sig = NULL;
	unsigned char *o = der;
	int n, err = 0;

	if (!ring_take(p, ring, &pp))
		return -EAGAIN;
	if (!BN_bin2bn(pp.kinv, SCALAR_LEN, u->kinv) ||
	    !BN_bin2bn(pp.r, SCALAR_LEN, u->r))
		err = -ENOMEM;
	OPENSSL_cleanse(&pp, sizeof(pp));
	if (!err) {
		sig = ECDSA_do_sign_ex(digest, 32, u->kinv, u->r, p->ec);
		if (!sig)
			err = -EIO;	/* s = 0 (p ~ 2^-256): sign afresh */
	}
	BN_clear(u->kinv);
	BN_clear(u->r);
	if (err) {
		ERR_clear_error();
		return err;
	}
	/* The same DER Ecdsa-Sig-Value EVP_PKEY_sign() writes. */
	n = i2d_ECDSA_SIG(sig, NULL);
	if (n > 0 && (size_t)n <= *der_len)
		n = i2d_ECDSA_SIG(sig, &o);
	else
		n = -1;
	ECDSA_SIG_free(sig);
	if (n <= 0)
		return -ENOSPC;
	*der_len = (size_t)n;
	return 0;
}

int csmp_sigpool_bind(struct csmp_sigpool *p, unsigned int ring,
		      const struct csmp_key *key)
{
	bool was = false;

	if (ring >= p->rings)
		return -ERANGE;
	if (!key || memcmp(key->id, p->key->id, sizeof(key->id)))
		return -EINVAL;
	if (!atomic_compare_exchange_strong(&p->user[ring].bound, &was, true))
		return -EBUSY;
	return 0;
}

void csmp_sigpool_unbind(struct csmp_sigpool *p, unsigned int ring)
{
	atomic_store(&p->user[ring].bound, false);
}

/* ------------------------------------------------------------------ */
/* The refill thread                                                   */

static bool all_full(struct csmp_sigpool *p)
{
	uint32_t i;

	for (i = 0; i < p->rings; i++)
		if (ring_has_room(p, i))
			return false;
	return true;
}

static long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000l + ts.tv_nsec;
}

static void *refill_main(void *arg)
{
	struct csmp_sigpool *p = arg;
	struct sched_param sp = { 0 };
	long next = now_ns();

	/* Idle time only: SCHED_IDLE, or the lowest nice where refused
	 * (both apply to the calling thread alone). */
	if (!pthread_setschedparam(pthread_self(), SCHED_IDLE, &sp))
		atomic_store(&p->sched, CSMP_SIGPOOL_SCHED_IDLE);
	else if (!setpriority(PRIO_PROCESS, 0, 19))
		atomic_store(&p->sched, CSMP_SIGPOOL_SCHED_NICE);
	else
		atomic_store(&p->sched, CSMP_SIGPOOL_SCHED_NORMAL);
	while (!atomic_load(&p->stop)) {
		uint32_t w = atomic_load(&p->wake);
		int n = csmp_sigpool_refill(p, REFILL_BATCH);

		if (n < 0) {
			/* The DRBG or an allocation failed: the workers sign
			 * afresh meanwhile; try again later. */
			futex_wait(&p->wake, w, IDLE_WAIT_NS);
			continue;
		}
		if (n == 0) {
			/* Full. Say so, then look again: a consumer that took
			 * a pair before it could see the flag is seen here. */
			atomic_store(&p->sleeping, 1);
			atomic_thread_fence(memory_order_seq_cst);
			if (all_full(p) && !atomic_load(&p->stop))
				futex_wait(&p->wake, w, IDLE_WAIT_NS);
			atomic_store(&p->sleeping, 0);
			next = now_ns();
			continue;
		}
		if (p->rate) {
			long t = now_ns();

			next += (long)n * (1000000000l / p->rate);
			if (next < t - IDLE_WAIT_NS)
				next = t;	/* no burst to catch up */
			if (next > t)
				futex_wait(&p->wake, w, next - t);
		}
	}
	return NULL;
}

int csmp_sigpool_start(struct csmp_sigpool *p)
{
	sigset_t all, old;
	int err;

	if (p->running)
		return -EALREADY;
	atomic_store(&p->stop, false);
	/* Signals are the main thread's business. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = -pthread_create(&p->thread, NULL, refill_main, p);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err)
		return err;
	pthread_setname_np(p->thread, "csmp-sigpool");
	p->running = true;
	return 0;
}

void csmp_sigpool_stop(struct csmp_sigpool *p)
{
	if (!p || !p->running)
		return;
	atomic_store(&p->stop, true);
	atomic_fetch_add(&p->wake, 1);
	futex_wake(&p->wake);
	pthread_join(p->thread, NULL);
	p->running = false;
}

void csmp_sigpool_stats(const struct csmp_sigpool *p,
			struct csmp_sigpool_stats *st)
{
	uint32_t i;

	memset(st, 0, sizeof(*st));
	for (i = 0; i < p->rings; i++) {
		const struct ring_hdr *h = &p->hdr[i];

		st->made += atomic_load_explicit(&h->made, memory_order_relaxed);
		st->taken += atomic_load_explicit(&h->taken,
						  memory_order_relaxed);
		st->empty += atomic_load_explicit(&h->empty,
						  memory_order_relaxed);
		st->avail += atomic_load_explicit(&h->tail,
						  memory_order_relaxed) -
			     atomic_load_explicit(&h->head,
						  memory_order_relaxed);
	}
	st->capacity = p->rings * p->entries;
	st->errors = atomic_load(&p->errors);
	st->sched = (uint8_t)atomic_load(&p->sched);
}

uint32_t csmp_sigpool_avail(const struct csmp_sigpool *p, unsigned int ring)
{
	const struct ring_hdr *h = &p->hdr[ring];

	return atomic_load_explicit(&h->tail, memory_order_acquire) -
	       atomic_load_explicit(&h->head, memory_order_relaxed);
}

const void *csmp_sigpool_slot_mem(const struct csmp_sigpool *p,
				  unsigned int ring, uint32_t idx,
				  size_t *len)
{
	*len = sizeof(struct pool_pair);
	return &p->pairs[(size_t)ring * p->entries + (idx & p->mask)];
}
