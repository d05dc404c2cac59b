// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The io_uring backend: one ring per worker, one multishot recvmsg per
 * listening socket drawing from one provided buffer ring, replies as
 * sendmsg SQEs submitted together with the wait for the next completions
 * (one io_uring_enter per batch under load).
 *
 * Bookworm's liburing 2.3 has no io_uring_setup_buf_ring(): the buffer
 * ring is mmap'ed here and registered with io_uring_register_buf_ring().
 * Each provided buffer receives struct io_uring_recvmsg_out, the peer
 * address, the control messages (IPV6_PKTINFO/IP_PKTINFO) and the
 * datagram; buffers go back to the ring once their batch has been handled.
 * A multishot receive ends whenever a completion lacks IORING_CQE_F_MORE
 * (typically -ENOBUFS when the ring ran dry under a burst): it is re-armed
 * after the batch has returned its buffers.
 *
 * Registration answers parked until their registry record is committed
 * (worker.c) are released by the batch that follows a commit: while any is
 * parked, a read of the registry's commit eventfd is kept armed in the
 * ring, so a commit wakes the worker without polling.
 */
#include <liburing.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "csmpd.h"

#define URING_BGID	1
#define URING_SQ	512
#define URING_CQ_MIN	4096	/* >= buffers + send slots: no overflow */

/* user_data: a send carries its struct csmpd_tx pointer (8-aligned, low
 * bits 0); receives and the eventfd read are tagged in the low bits. */
#define UD_RECV		1
#define UD_EVENT	2
#define UD_CANCEL	3
#define UD_COMMIT	4
#define UD_TAG(ud)	((ud) & 7)
#define UD_SOCK(ud)	((unsigned int)((ud) >> 8))

struct uring_priv {
	struct io_uring ring;
	bool ring_ok;
	bool fixed_files;
	struct io_uring_buf_ring *br;
	size_t br_size;
	__u8 *bufs;
	bool br_registered;
	struct msghdr rmsg;		/* template for every multishot recv */
	bool armed[CSMPD_MAX_SOCKS];
	bool ev_armed;
	__u64 ev_val;
	bool commit_armed;
	__u64 commit_val;
	unsigned int nbufs;		/* --uring-buffers, a power of 2 */
	__u16 *used;			/* buffers to return after a batch */
	unsigned int n_used;
	struct csmpd_rx rx[CSMPD_BATCH];
	unsigned int n_rx;
	const char *mode;
};

static int ring_init(struct uring_priv *p, unsigned int cq)
{
	struct io_uring_params prm;
	static const struct {
		unsigned int flags;
		const char *name;
	} tries[] = {
		{ IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
		  "single-issuer, defer-taskrun" },
		{ IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG,
		  "coop-taskrun" },
		{ 0, "plain" },
	};
	unsigned int i;
	int err = -EINVAL;

	for (i = 0; i < sizeof(tries) / sizeof(tries[0]); i++) {
		memset(&prm, 0, sizeof(prm));
		prm.flags = tries[i].flags | IORING_SETUP_CQSIZE;
		prm.cq_entries = cq;
		err = io_uring_queue_init_params(URING_SQ, &p->ring, &prm);
		if (!err) {
			p->mode = tries[i].name;
			return 0;
		}
		/* Only an unknown flag is worth a retry with fewer flags. */
		if (err != -EINVAL)
			return err;
	}
	return err;
}

static int bufring_init(struct uring_priv *p)
{
	struct io_uring_buf_reg reg = { 0 };
	unsigned int i;
	int err;

	p->br_size = p->nbufs * sizeof(struct io_uring_buf);
	p->br = mmap(NULL, p->br_size, PROT_READ | PROT_WRITE,
		     MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
	if (p->br == MAP_FAILED) {
		p->br = NULL;
		return -errno;
	}
	p->bufs = malloc((size_t)p->nbufs * CSMPD_RX_BUF);
	p->used = calloc(p->nbufs, sizeof(*p->used));
	if (!p->bufs || !p->used)
		return -ENOMEM;
	reg.ring_addr = (unsigned long)p->br;
	reg.ring_entries = p->nbufs;
	reg.bgid = URING_BGID;
	err = io_uring_register_buf_ring(&p->ring, &reg, 0);
	if (err)
		return err;
	p->br_registered = true;
	io_uring_buf_ring_init(p->br);
	for (i = 0; i < p->nbufs; i++)
		io_uring_buf_ring_add(p->br, p->bufs + (size_t)i * CSMPD_RX_BUF,
				      CSMPD_RX_BUF, (__u16)i,
				      io_uring_buf_ring_mask(p->nbufs),
				      (int)i);
	io_uring_buf_ring_advance(p->br, p->nbufs);
	return 0;
}

static void uring_teardown(struct csmpd_worker *w)
{
	struct uring_priv *p = w->io_priv;

	if (!p)
		return;
	if (p->br_registered)
		io_uring_unregister_buf_ring(&p->ring, URING_BGID);
	if (p->ring_ok)
		io_uring_queue_exit(&p->ring);
	if (p->br)
		munmap(p->br, p->br_size);
	free(p->bufs);
	free(p->used);
	free(p);
	w->io_priv = NULL;
}

static int uring_setup(struct csmpd_worker *w)
{
	unsigned int n = w->n_socks;
	struct uring_priv *p;
	int err;

	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	w->io_priv = p;
	p->nbufs = w->d->cfg.uring_bufs;
	err = ring_init(p, p->nbufs + CSMPD_TX_SLOTS < URING_CQ_MIN ?
				   URING_CQ_MIN :
				   2 * (p->nbufs + CSMPD_TX_SLOTS));
	if (err)
		return err;
	p->ring_ok = true;
	err = bufring_init(p);
	if (err)
		return err;
	/* Fixed files save an fget/fput per send SQE; optional. */
	p->fixed_files = !io_uring_register_files(&p->ring, w->socks, n);
	io_uring_register_ring_fd(&p->ring);
	p->rmsg.msg_namelen = CSMPD_RX_NAME;
	p->rmsg.msg_controllen = CSMPD_RX_CTRL;
	if (w->idx == 0)
		csmpd_log(CSMPD_INFO, "IO_URING",
			  "io_uring ring: %s, %u buffers of %zu bytes%s",
			  p->mode, p->nbufs, (size_t)CSMPD_RX_BUF,
			  p->fixed_files ? ", fixed files" : "");
	return 0;
}

/* An SQE, submitting what is queued when the SQ ring is full. */
static struct io_uring_sqe *get_sqe(struct uring_priv *p)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&p->ring);

	if (!sqe) {
		io_uring_submit(&p->ring);
		sqe = io_uring_get_sqe(&p->ring);
	}
	return sqe;
}

static void set_fd(struct uring_priv *p, struct csmpd_worker *w,
		   struct io_uring_sqe *sqe, unsigned int s)
{
	if (p->fixed_files) {
		sqe->fd = (int)s;
		sqe->flags |= IOSQE_FIXED_FILE;
	} else {
		sqe->fd = w->socks[s];
	}
}

static int arm_recv(struct csmpd_worker *w, unsigned int s)
{
	struct uring_priv *p = w->io_priv;
	struct io_uring_sqe *sqe = get_sqe(p);

	if (!sqe)
		return -EBUSY;
	io_uring_prep_recvmsg_multishot(sqe, w->socks[s], &p->rmsg, 0);
	set_fd(p, w, sqe, s);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = URING_BGID;
	io_uring_sqe_set_data64(sqe, UD_RECV | ((__u64)s << 8));
	p->armed[s] = true;
	return 0;
}

static int arm_event(struct csmpd_worker *w)
{
	struct uring_priv *p = w->io_priv;
	struct io_uring_sqe *sqe = get_sqe(p);

	if (!sqe)
		return -EBUSY;
	io_uring_prep_read(sqe, w->evfd, &p->ev_val, sizeof(p->ev_val), 0);
	io_uring_sqe_set_data64(sqe, UD_EVENT);
	p->ev_armed = true;
	return 0;
}

static int arm_commit(struct csmpd_worker *w)
{
	struct uring_priv *p = w->io_priv;
	struct io_uring_sqe *sqe = get_sqe(p);

	if (!sqe)
		return -EBUSY;
	io_uring_prep_read(sqe, w->commit_fd, &p->commit_val,
			   sizeof(p->commit_val), 0);
	io_uring_sqe_set_data64(sqe, UD_COMMIT);
	p->commit_armed = true;
	return 0;
}

/* Queue every reply of the batch as a sendmsg SQE; io_uring_enter in the
 * main loop submits them together. */
static void queue_sends(struct csmpd_worker *w)
{
	struct uring_priv *p = w->io_priv;
	struct csmpd_tx *tx, *next;

	for (tx = w->txq; tx; tx = next) {
		struct io_uring_sqe *sqe = get_sqe(p);

		next = tx->next;
		if (!sqe) {
			CSMPD_INC(&w->ctr, tx_errors);
			csmpd_tx_release(w, tx);
			continue;
		}
		csmpd_tx_msghdr(tx);
		io_uring_prep_sendmsg(sqe, w->socks[tx->sock], &tx->msg, 0);
		set_fd(p, w, sqe, tx->sock);
		io_uring_sqe_set_data(sqe, tx);
		w->tx_inflight++;
	}
	w->txq = NULL;
	w->txq_tail = &w->txq;
	w->txq_len = 0;
}

/* Run the datagrams gathered so far, then give their buffers back. */
static void run_batch(struct csmpd_worker *w)
{
	struct uring_priv *p = w->io_priv;
	unsigned int i, mask = (unsigned int)io_uring_buf_ring_mask(p->nbufs);

	if (p->n_rx)
		csmpd_batch(w, p->rx, p->n_rx);
	p->n_rx = 0;
	for (i = 0; i < p->n_used; i++)
		io_uring_buf_ring_add(p->br,
				      p->bufs + (size_t)p->used[i] * CSMPD_RX_BUF,
				      CSMPD_RX_BUF, p->used[i], (int)mask,
				      (int)i);
	if (p->n_used)
		io_uring_buf_ring_advance(p->br, (int)p->n_used);
	p->n_used = 0;
}

static void on_recv(struct csmpd_worker *w, struct io_uring_cqe *cqe)
{
	struct uring_priv *p = w->io_priv;
	unsigned int s = UD_SOCK(cqe->user_data);
	struct io_uring_recvmsg_out *o;
	struct csmpd_rx *r;
	struct msghdr m;
	__u16 bid;
	__u8 *buf;

	if (!(cqe->flags & IORING_CQE_F_MORE))
		p->armed[s] = false;	/* re-armed after the batch */
	if (cqe->res < 0) {
		if (cqe->res == -ENOBUFS)
			CSMPD_INC(&w->ctr, rx_enobufs);
		else if (cqe->res != -ECANCELED)
			csmpd_log(CSMPD_WARNING, "RECV_FAIL",
				  "worker %u: multishot recvmsg: %s", w->idx,
				  strerror(-cqe->res));
		return;
	}
	if (!(cqe->flags & IORING_CQE_F_BUFFER))
		return;
	bid = (__u16)(cqe->flags >> IORING_CQE_BUFFER_SHIFT);
	buf = p->bufs + (size_t)bid * CSMPD_RX_BUF;
	p->used[p->n_used++] = bid;

	o = io_uring_recvmsg_validate(buf, cqe->res, &p->rmsg);
	if (!o)
		return;
	r = &p->rx[p->n_rx++];
	r->data = io_uring_recvmsg_payload(o, &p->rmsg);
	r->len = io_uring_recvmsg_payload_length(o, cqe->res, &p->rmsg);
	r->flags = (o->flags & MSG_TRUNC) ? CSMPD_RXF_TRUNC : 0;
	r->sock = s;
	r->peer.len = o->namelen > sizeof(r->peer.in6) ?
			      (socklen_t)sizeof(r->peer.in6) : o->namelen;
	memcpy(&r->peer.sa, io_uring_recvmsg_name(o), r->peer.len);
	memset(&m, 0, sizeof(m));
	m.msg_control = io_uring_recvmsg_cmsg_firsthdr(o, &p->rmsg);
	m.msg_controllen = m.msg_control ? o->controllen : 0;
	if (!m.msg_control || csmpd_rx_cmsg(&m, &r->dst))
		r->dst.family = 0;

	if (p->n_rx == CSMPD_BATCH)
		run_batch(w);
}

static void on_send(struct csmpd_worker *w, struct io_uring_cqe *cqe)
{
	struct csmpd_tx *tx = io_uring_cqe_get_data(cqe);

	w->tx_inflight--;
	if (cqe->res < 0) {
		CSMPD_INC(&w->ctr, tx_errors);
		csmpd_log(CSMPD_WARNING, "SEND_FAIL", "sendmsg: %s",
			  strerror(-cqe->res));
	} else {
		CSMPD_INC(&w->ctr, tx_dgrams);
		CSMPD_ADD(&w->ctr, tx_bytes, (__u64)cqe->res);
	}
	csmpd_tx_release(w, tx);
}

static void cancel_recvs(struct csmpd_worker *w)
{
	struct uring_priv *p = w->io_priv;
	unsigned int s;

	for (s = 0; s < w->n_socks; s++) {
		struct io_uring_sqe *sqe;

		if (!p->armed[s])
			continue;
		sqe = get_sqe(p);
		if (!sqe)
			continue;
		io_uring_prep_cancel64(sqe, UD_RECV | ((__u64)s << 8), 0);
		io_uring_sqe_set_data64(sqe, UD_CANCEL);
	}
}

static bool any_armed(const struct uring_priv *p, unsigned int n)
{
	unsigned int s;

	for (s = 0; s < n; s++)
		if (p->armed[s])
			return true;
	return false;
}

/*
 * Stopping: keep receiving until the sockets are empty (bounded by
 * CSMPD_DRAIN_NS), then cancel the multishot receives, then keep serving
 * the inbox and the sends in flight until every worker has stopped
 * receiving (worker.c).
 */
static int uring_run(struct csmpd_worker *w)
{
	struct uring_priv *p = w->io_priv;
	unsigned int ns = w->n_socks, s;
	bool stopping = false, cancelled = false;
	__u64 deadline = 0;
	int err;

	for (s = 0; s < ns; s++) {
		err = arm_recv(w, s);
		if (err)
			return err;
	}
	err = arm_event(w);
	if (err)
		return err;

	for (;;) {
		struct __kernel_timespec ts = { .tv_nsec = 100 * 1000000 };
		struct io_uring_cqe *cqe;
		unsigned int head, seen = 0;

		if (!stopping && w->d->stop) {
			stopping = true;
			csmpd_clock(w);
			deadline = w->now_ns + CSMPD_DRAIN_NS;
		}
		if (stopping) {
			csmpd_clock(w);
			if (!cancelled && (csmpd_socks_empty(w) ||
					   w->now_ns > deadline)) {
				cancel_recvs(w);
				cancelled = true;
				deadline = w->now_ns + CSMPD_DRAIN_NS;
			}
			if (cancelled && !any_armed(p, ns))
				csmpd_recv_done(w);
			/* Answers whose commit did not come in time are
			 * never sent: the devices register again. */
			if (cancelled && w->now_ns > deadline)
				csmpd_park_abandon(w);
			if (w->recv_done && !w->tx_inflight && !w->txq &&
			    !w->parked && !csmpd_inbox_pending(w) &&
			    (csmpd_all_recv_done(w) || w->now_ns > deadline))
				break;
			err = io_uring_submit_and_wait_timeout(&p->ring, &cqe,
							       1, &ts, NULL);
		} else if (csmpd_req_busy(w)) {
			/* Requests in flight: wake to expire them. */
			ts.tv_nsec = 50 * 1000000;
			err = io_uring_submit_and_wait_timeout(&p->ring, &cqe,
							       1, &ts, NULL);
		} else {
			err = io_uring_submit_and_wait(&p->ring, 1);
		}
		if (err < 0 && err != -EINTR && err != -ETIME &&
		    err != -EBUSY)
			return err;

		io_uring_for_each_cqe(&p->ring, head, cqe) {
			/* Bounded sweep: replies of this sweep must fit the
			 * send pool until their completions come back. */
			if (seen == CSMPD_TX_SLOTS / 2)
				break;
			seen++;
			switch (UD_TAG(cqe->user_data)) {
			case UD_RECV:
				on_recv(w, cqe);
				break;
			case UD_EVENT:
				p->ev_armed = false;
				break;
			case UD_COMMIT:
				p->commit_armed = false;
				break;
			case UD_CANCEL:
				break;
			default:
				on_send(w, cqe);
				break;
			}
		}
		io_uring_cq_advance(&p->ring, seen);
		run_batch(w);

		if (csmpd_inbox_pending(w))
			csmpd_inbox_drain(w);
		csmpd_req_tick(w);
		if (w->parked) {
			csmpd_clock(w);
			csmpd_park_release(w);
		}
		queue_sends(w);

		for (s = 0; s < ns && !cancelled; s++) {
			if (p->armed[s])
				continue;
			CSMPD_INC(&w->ctr, rx_rearm);
			err = arm_recv(w, s);
			if (err)
				return err;
		}
		if (!p->ev_armed) {
			err = arm_event(w);
			if (err)
				return err;
		}
		if (w->parked && !p->commit_armed) {
			err = arm_commit(w);
			if (err)
				return err;
		}
	}
	return 0;
}

const struct csmpd_io_ops csmpd_io_uring = {
	.name = "io_uring",
	.setup = uring_setup,
	.run = uring_run,
	.teardown = uring_teardown,
};
