// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The worker pool: threads, their send pools and inboxes, and the per-batch
 * pipeline every I/O backend calls (csmpd_batch): classify each datagram
 * once, route it to the shard that owns its device, dispatch it to the
 * protocol handlers, and leave the replies queued for the backend to send
 * in one go.
 *
 * Ack-after-commit. A registration's answer may only leave once the
 * registry record it describes is durable. The handler parks it here with
 * the commit sequence of that record (csmpd_tx_park); every batch, and
 * every wake-up through commit_fd after a commit, moves the parked answers
 * whose sequence the writer has published as committed to the send queue
 * (csmpd_park_release). Reading the published sequence is one atomic load:
 * no lock and no system call on the hot path. An answer parked longer than
 * CSMPD_PARK_TIMEOUT_NS (the registry cannot be written) is dropped
 * unsent: the device registers again, as after any lost answer.
 *
 * Routing. The registry is sharded by worker and each shard is touched only
 * by its own thread. A device's shard is fixed by its routing bucket: a
 * keyed SipHash of the EID reduced to 16 bits, and the same 16 bits are
 * written into the SessionID we assign (characters 4..7, after the
 * backend id); include/csmp/steer.h defines both, once, for csmpd and
 * csmp_reuseport. Registrations and notifications carry the DeviceID, reports
 * carry the SessionID, so the owner of every message is known from the
 * message alone: bucket % workers. With csmp_reuseport steering on the same
 * function the datagram is already on the owner and nothing is shared or
 * locked; with plain SO_REUSEPORT (4-tuple hash) the datagram is copied
 * into the owner's inbox instead. Correctness never depends on which
 * socket the kernel picked, and a device keeps its state (SessionID,
 * duplicate cache) across source-port changes. The alternative, a shared
 * session index with per-device locks, would put atomics on every report
 * even when steering is right.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "csmpd.h"
#include "csmp/siphash.h"
#include "csmp/steer.h"

void csmpd_clock(struct csmpd_worker *w)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	w->now_ns = (__u64)ts.tv_sec * 1000000000ull + (__u64)ts.tv_nsec;
	clock_gettime(CLOCK_REALTIME, &ts);
	w->now = (__u64)ts.tv_sec;
}

unsigned int csmpd_eid_bucket(const struct csmpd_daemon *d, __u64 eid)
{
	return csmp_eid_bucket(d->bucket_key[0], d->bucket_key[1], eid);
}

unsigned int csmpd_bucket_owner(const struct csmpd_daemon *d,
				unsigned int bucket)
{
	return csmp_bucket_worker(bucket, d->n_workers);
}

/* ---- send pool ---------------------------------------------------------- */

static int tx_pool_init(struct csmpd_worker *w)
{
	unsigned int i;

	w->tx_slots = calloc(CSMPD_TX_SLOTS, sizeof(*w->tx_slots));
	if (!w->tx_slots)
		return -ENOMEM;
	w->tx_free = NULL;
	for (i = CSMPD_TX_SLOTS; i-- > 0;) {
		w->tx_slots[i].next = w->tx_free;
		w->tx_free = &w->tx_slots[i];
	}
	w->txq = NULL;
	w->txq_tail = &w->txq;
	w->txq_len = 0;
	w->parked = NULL;
	w->parked_tail = &w->parked;
	w->n_parked = 0;
	return 0;
}

struct csmpd_tx *csmpd_tx_alloc(struct csmpd_worker *w)
{
	struct csmpd_tx *tx = w->tx_free;

	if (!tx) {
		CSMPD_INC(&w->ctr, tx_full);
		return NULL;
	}
	w->tx_free = tx->next;
	tx->next = NULL;
	tx->len = 0;
	return tx;
}

void csmpd_tx_queue(struct csmpd_worker *w, struct csmpd_tx *tx)
{
	tx->next = NULL;
	*w->txq_tail = tx;
	w->txq_tail = &tx->next;
	w->txq_len++;
}

void csmpd_tx_release(struct csmpd_worker *w, struct csmpd_tx *tx)
{
	tx->next = w->tx_free;
	w->tx_free = tx;
}

/* ---- answers waiting for their commit ------------------------------------ */

bool csmpd_park_full(const struct csmpd_worker *w)
{
	return w->n_parked >= CSMPD_PARK_MAX;
}

bool csmpd_seq_committed(struct csmpd_worker *w, __u64 seq)
{
	return !seq || csmpd_registry_committed(w) >= seq;
}

/* Sequences only grow per worker, so the queue stays sorted. */
void csmpd_tx_park(struct csmpd_worker *w, struct csmpd_tx *tx, __u64 seq)
{
	tx->seq = seq;
	tx->parked_ns = w->now_ns;
	tx->next = NULL;
	*w->parked_tail = tx;
	w->parked_tail = &tx->next;
	w->n_parked++;
	CSMPD_INC(&w->ctr, reg_held);
	CSMPD_SET(&w->ctr, parked, w->n_parked);
}

void csmpd_park_release(struct csmpd_worker *w)
{
	struct csmpd_tx *tx;
	__u64 done;

	if (!w->parked)
		return;
	done = csmpd_registry_committed(w);
	while ((tx = w->parked)) {
		bool ok = tx->seq <= done;

		if (!ok && w->now_ns - tx->parked_ns < CSMPD_PARK_TIMEOUT_NS)
			break;
		w->parked = tx->next;
		w->n_parked--;
		if (ok) {
			csmpd_tx_queue(w, tx);
			CSMPD_INC(&w->ctr, reg_ok);
		} else {
			csmpd_tx_release(w, tx);
			CSMPD_INC(&w->ctr, reg_withheld);
		}
	}
	if (!w->parked)
		w->parked_tail = &w->parked;
	CSMPD_SET(&w->ctr, parked, w->n_parked);
}

/* Stopping and out of time: the parked answers are dropped unsent. */
void csmpd_park_abandon(struct csmpd_worker *w)
{
	struct csmpd_tx *tx;

	while ((tx = w->parked)) {
		w->parked = tx->next;
		csmpd_tx_release(w, tx);
		CSMPD_INC(&w->ctr, reg_withheld);
	}
	w->parked_tail = &w->parked;
	w->n_parked = 0;
	CSMPD_SET(&w->ctr, parked, 0);
}

/* ---- inbox (cross-shard hand-off) --------------------------------------- */

static int inbox_init(struct csmpd_inbox *ib)
{
	ib->slots = calloc(CSMPD_INBOX_SLOTS, sizeof(*ib->slots));
	if (!ib->slots)
		return -ENOMEM;
	pthread_mutex_init(&ib->lock, NULL);
	ib->head = ib->count = 0;
	return 0;
}

static void inbox_fini(struct csmpd_inbox *ib)
{
	if (!ib->slots)
		return;
	pthread_mutex_destroy(&ib->lock);
	free(ib->slots);
	ib->slots = NULL;
}

/*
 * Producers only ever write the slot after the last queued one, under the
 * lock; the owner reads slots [head, head + count) without it and only
 * takes the lock to retire them, so its processing never blocks senders.
 */
static int inbox_push(struct csmpd_worker *from, struct csmpd_worker *to,
		      const struct csmpd_rx *rx)
{
	struct csmpd_inbox *ib = &to->inbox;
	struct csmpd_handoff *h;
	unsigned int count;

	pthread_mutex_lock(&ib->lock);
	count = ib->count;
	if (count == CSMPD_INBOX_SLOTS) {
		pthread_mutex_unlock(&ib->lock);
		CSMPD_INC(&from->ctr, handoff_dropped);
		return -ENOBUFS;
	}
	h = &ib->slots[(ib->head + count) % CSMPD_INBOX_SLOTS];
	h->rx = *rx;
	memcpy(h->data, rx->data, rx->len);
	h->rx.data = h->data;
	__atomic_store_n(&ib->count, count + 1, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&ib->lock);
	CSMPD_INC(&from->ctr, handoff_out);
	return 0;
}

/*
 * Dispatch datagrams this worker owns, after uplink verification (done as
 * one batch) has marked those to drop: nothing signed changes state before
 * it is verified. Inside the policy bracket.
 */
static void dispatch_verified(struct csmpd_worker *w, struct csmpd_rx **rx,
			      unsigned int n)
{
	unsigned int i;

	if (!n)
		return;
	csmpd_verify_batch(w, rx, n);
	for (i = 0; i < n; i++)
		if (!(rx[i]->flags & CSMPD_RXF_DROP))
			csmpd_dispatch(w, rx[i]);
}

bool csmpd_inbox_pending(struct csmpd_worker *w)
{
	return __atomic_load_n(&w->inbox.count, __ATOMIC_ACQUIRE) != 0;
}

/* Inside the policy bracket (csmpd_batch's, or csmpd_inbox_drain's). */
static void inbox_drain(struct csmpd_worker *w)
{
	struct csmpd_inbox *ib = &w->inbox;
	struct csmpd_rx *mine[CSMPD_BATCH];
	unsigned int n, k, head, m = 0;

	n = __atomic_load_n(&ib->count, __ATOMIC_ACQUIRE);
	if (!n)
		return;
	csmpd_clock(w);
	head = ib->head;	/* only this thread moves head */
	for (k = 0; k < n; k++) {
		struct csmpd_handoff *h =
			&ib->slots[(head + k) % CSMPD_INBOX_SLOTS];

		CSMPD_INC(&w->ctr, handoff_in);
		mine[m++] = &h->rx;
		if (m == CSMPD_BATCH) {
			dispatch_verified(w, mine, m);
			m = 0;
		}
	}
	dispatch_verified(w, mine, m);
	pthread_mutex_lock(&ib->lock);
	ib->head = (head + n) % CSMPD_INBOX_SLOTS;
	ib->count -= n;
	pthread_mutex_unlock(&ib->lock);
}

/*
 * The backends' drain when woken between batches: its own policy bracket,
 * closed again before the worker goes back to waiting, so an idle worker
 * never holds a snapshot a reload waits for.
 */
void csmpd_inbox_drain(struct csmpd_worker *w)
{
	if (!csmpd_inbox_pending(w))
		return;
	csmpd_policy_enter(w);
	inbox_drain(w);
	csmpd_policy_leave(w);
}

static void wake(struct csmpd_worker *w)
{
	__u64 one = 1;

	if (write(w->evfd, &one, sizeof(one)) < 0) {
		/* the counter is saturated: the worker is awake anyway */
	}
}

/* ---- drain on stop ----------------------------------------------------- */

/*
 * Stopping is two-phased so that no received datagram is lost: each worker
 * first answers what its sockets hold (csmpd_socks_empty), then reports
 * csmpd_recv_done; it exits only once every worker has done so, because
 * until then another worker may still hand it a datagram.
 */
bool csmpd_socks_empty(const struct csmpd_worker *w)
{
	unsigned int s;
	int n;

	for (s = 0; s < w->n_socks; s++)
		if (!ioctl(w->socks[s], FIONREAD, &n) && n > 0)
			return false;
	return true;
}

void csmpd_recv_done(struct csmpd_worker *w)
{
	struct csmpd_daemon *d = w->d;
	unsigned int i;

	if (w->recv_done)
		return;
	w->recv_done = true;
	if (__atomic_sub_fetch(&d->receiving, 1, __ATOMIC_ACQ_REL))
		return;
	for (i = 0; i < d->n_workers; i++)
		if (&d->workers[i] != w)
			wake(&d->workers[i]);
}

bool csmpd_all_recv_done(const struct csmpd_worker *w)
{
	return !__atomic_load_n(&w->d->receiving, __ATOMIC_ACQUIRE);
}

/* ---- the batch ------------------------------------------------------------ */

/*
 * One batch of received datagrams, in order:
 *   1. count and classify (one csmp_classify call per datagram);
 *   2. route: datagrams of another shard go to its inbox;
 *   3. dispatch: the protocol handlers (handlers.c) update the device and
 *      queue replies (signed where downlink) on w->txq;
 *   4. wake the owners we handed work to.
 * The policy snapshot is held from the start of the batch to its end
 * only (the read bracket, conf/runtime.c).
 * The backend sends w->txq right after this returns.
 */
void csmpd_batch(struct csmpd_worker *w, struct csmpd_rx *rx, unsigned int n)
{
	struct csmpd_daemon *d = w->d;
	__u64 wake_mask[CSMPD_MAX_WORKERS / 64] = { 0 };
	struct csmpd_rx *mine[CSMPD_BATCH];
	unsigned int i, m = 0;

	csmpd_clock(w);
	CSMPD_INC(&w->ctr, batches);
	csmpd_policy_enter(w);
	for (i = 0; i < n; i++) {
		struct csmpd_rx *r = &rx[i];
		int owner;

		CSMPD_INC(&w->ctr, rx_dgrams);
		CSMPD_ADD(&w->ctr, rx_bytes, r->len);
		/* On the request socket: an answer to one of our requests,
		 * which only this worker can match (even when malformed). */
		if ((int)r->sock == w->req_sock) {
			csmpd_req_rx(w, r);
			continue;
		}
		if (r->flags & CSMPD_RXF_TRUNC) {
			CSMPD_INC(&w->ctr, rx_truncated);
			CSMPD_INC(&w->ctr, msg_class[CSMP_C_MALFORMED]);
			CSMPD_INC(&w->ctr, reason[CSMP_R_COAP_OVERSIZE]);
			continue;
		}
		if (csmp_classify(r->data, r->len, &r->cls)) {
			char a[80];

			CSMPD_INC(&w->ctr, msg_class[CSMP_C_MALFORMED]);
			CSMPD_INC(&w->ctr, reason[r->cls.reason]);
			csmpd_log(CSMPD_DEBUG, "MALFORMED",
				  "%u bytes from %s dropped: reason %u",
				  r->len, csmpd_addr_str(&r->peer, a, sizeof(a)),
				  r->cls.reason);
			continue;
		}
		CSMPD_INC(&w->ctr, msg_class[r->cls.msg_class]);

		owner = csmpd_route(w, r);
		if (owner >= 0 && (unsigned int)owner != w->idx) {
			if (!inbox_push(w, &d->workers[owner], r))
				wake_mask[owner / 64] |= 1ull << (owner % 64);
			continue;
		}
		mine[m++] = r;
		if (m == CSMPD_BATCH) {
			dispatch_verified(w, mine, m);
			m = 0;
		}
	}
	dispatch_verified(w, mine, m);

	inbox_drain(w);
	csmpd_policy_leave(w);
	for (i = 0; i < d->n_workers; i++)
		if (wake_mask[i / 64] & (1ull << (i % 64)))
			wake(&d->workers[i]);
	csmpd_park_release(w);
}

/* ---- threads ------------------------------------------------------------ */

static void *worker_main(void *arg)
{
	struct csmpd_worker *w = arg;
	char name[16];
	int err;

	snprintf(name, sizeof(name), "csmpd-w%u", w->idx);
	pthread_setname_np(pthread_self(), name);
	/* Rings with SINGLE_ISSUER belong to the thread that made them. */
	err = w->io->setup(w);
	if (err) {
		csmpd_log(CSMPD_ERR, "WORKER_FAIL", "worker %u: %s setup: %s",
			  w->idx, w->io->name, strerror(-err));
		goto out;
	}
	err = w->io->run(w);
	if (err)
		csmpd_log(CSMPD_ERR, "WORKER_FAIL", "worker %u stopped: %s",
			  w->idx, strerror(-err));
out:
	/* Requests still out are answered now: the control socket outlives
	 * the workers, their clients must not wait for nothing. */
	csmpd_req_close(w);
	csmpd_recv_done(w);	/* no-op when run() got that far */
	w->io->teardown(w);
	if (err) {
		/* One worker down takes the daemon down: a silent hole in
		 * the reuseport group would drop its share of devices. */
		w->d->stop = 1;
		kill(getpid(), SIGTERM);
	}
	return (void *)(long)err;
}

static int worker_init(struct csmpd_daemon *d, struct csmpd_worker *w,
		       unsigned int idx)
{
	int err;

	w->d = d;
	w->idx = idx;
	w->io = d->io;
	w->commit_fd = -1;	/* the registry sets it (registry/records.c) */
	w->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (w->evfd < 0)
		return -errno;
	err = tx_pool_init(w);
	if (err)
		return err;
	err = inbox_init(&w->inbox);
	if (err)
		return err;
	err = csmpd_shard_init(&w->shard);
	if (err)
		return err;
	w->arena_buf = malloc(CSMPD_ARENA_BYTES);
	if (!w->arena_buf)
		return -ENOMEM;
	csmp_arena_init(&w->arena, w->arena_buf, CSMPD_ARENA_BYTES);
	err = csmpd_req_init(w);
	if (err)
		return err;
	return csmpd_signer_init(w);
}

static void worker_fini(struct csmpd_worker *w)
{
	csmpd_req_fini(w);
	csmpd_signer_fini(w);
	free(w->arena_buf);
	w->arena_buf = NULL;
	csmpd_shard_fini(&w->shard);
	inbox_fini(&w->inbox);
	free(w->tx_slots);
	w->tx_slots = NULL;
	if (w->evfd >= 0)
		close(w->evfd);
	w->evfd = -1;
}

/* Per-worker state (send pool, inbox, shard, arena, signer): before the
 * registry is loaded into the shards and before any thread runs. */
int csmpd_workers_init(struct csmpd_daemon *d)
{
	unsigned int i;
	int err;

	for (i = 0; i < d->n_workers; i++) {
		err = worker_init(d, &d->workers[i], i);
		if (err) {
			csmpd_workers_fini(d);
			return err;
		}
	}
	return 0;
}

void csmpd_workers_fini(struct csmpd_daemon *d)
{
	unsigned int i;

	if (!d->workers)
		return;
	for (i = 0; i < d->n_workers; i++)
		worker_fini(&d->workers[i]);
}

/* The sockets exist (main opened them, privileged set-up first): start
 * the threads. On failure the started ones are stopped and joined. */
int csmpd_workers_start(struct csmpd_daemon *d)
{
	unsigned int i, k;
	int err;

	d->receiving = d->n_workers;
	for (i = 0; i < d->n_workers; i++) {
		err = -pthread_create(&d->workers[i].thread, NULL, worker_main,
				      &d->workers[i]);
		if (err) {
			for (k = i; k < d->n_workers; k++)
				csmpd_recv_done(&d->workers[k]);
			csmpd_workers_stop(d);
			csmpd_workers_join(d);
			return err;
		}
		d->workers[i].started = true;
	}
	return 0;
}

void csmpd_workers_stop(struct csmpd_daemon *d)
{
	unsigned int i;

	d->stop = 1;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	for (i = 0; i < d->n_workers; i++)
		if (d->workers[i].evfd >= 0)
			wake(&d->workers[i]);
}

void csmpd_workers_join(struct csmpd_daemon *d)
{
	unsigned int i;

	for (i = 0; i < d->n_workers; i++) {
		if (d->workers[i].started)
			pthread_join(d->workers[i].thread, NULL);
		d->workers[i].started = false;
	}
}

void csmpd_counters_sum(const struct csmpd_daemon *d,
			struct csmpd_counters *out)
{
	const size_t nw = sizeof(*out) / sizeof(__u64);
	unsigned int i;
	size_t k;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < d->n_workers; i++) {
		const __u64 *src = (const __u64 *)&d->workers[i].ctr;
		__u64 *dst = (__u64 *)out;

		for (k = 0; k < nw; k++)
			dst[k] += __atomic_load_n(&src[k], __ATOMIC_RELAXED);
	}
}
