// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The recvmmsg/sendmmsg backend, for hosts where io_uring is disabled
 * (kernel.io_uring_disabled, container seccomp profiles) or by choice
 * (--io mmsg). Same worker interface as the io_uring backend: poll the
 * worker's sockets and its eventfd, take up to CSMPD_BATCH datagrams per
 * recvmmsg, run the batch, send every queued reply with one sendmmsg per
 * socket. All buffers are allocated once per worker. While registration
 * answers are parked until their registry commit (worker.c), the registry's
 * commit eventfd is polled too, and each commit releases them.
 */
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "csmpd.h"

struct mmsg_priv {
	struct mmsghdr msgs[CSMPD_BATCH];
	struct iovec iov[CSMPD_BATCH];
	struct sockaddr_in6 names[CSMPD_BATCH];
	union {
		char buf[CSMPD_RX_CTRL];
		struct cmsghdr align;
	} ctrl[CSMPD_BATCH];
	/* One byte more than the largest datagram accepted: a bigger one
	 * comes back with MSG_TRUNC. */
	__u8 bufs[CSMPD_BATCH][CSMP_MAX_DGRAM + 1];
	struct csmpd_rx rx[CSMPD_BATCH];
	struct mmsghdr smsgs[CSMPD_TX_SLOTS];
	struct csmpd_tx *stx[CSMPD_TX_SLOTS];
};

static int mmsg_setup(struct csmpd_worker *w)
{
	struct mmsg_priv *p = calloc(1, sizeof(*p));

	if (!p)
		return -ENOMEM;
	w->io_priv = p;
	return 0;
}

static void mmsg_teardown(struct csmpd_worker *w)
{
	free(w->io_priv);
	w->io_priv = NULL;
}

/* Send every queued reply: one sendmmsg per listening socket. */
static void mmsg_flush(struct csmpd_worker *w)
{
	struct mmsg_priv *p = w->io_priv;
	unsigned int s, n, done;
	struct csmpd_tx *tx, *next;

	if (!w->txq)
		return;
	for (s = 0; s < w->n_socks; s++) {
		n = 0;
		for (tx = w->txq; tx; tx = tx->next) {
			if (tx->sock != s)
				continue;
			csmpd_tx_msghdr(tx);
			p->smsgs[n].msg_hdr = tx->msg;
			p->smsgs[n].msg_len = 0;
			p->stx[n++] = tx;
		}
		done = 0;
		while (done < n) {
			int r = sendmmsg(w->socks[s], p->smsgs + done,
					 n - done, 0);

			if (r < 0) {
				if (errno == EINTR)
					continue;
				/* EAGAIN (socket buffer full) or a hard
				 * error on the first message: count it and
				 * skip that one, keep the rest going. */
				CSMPD_INC(&w->ctr, tx_errors);
				csmpd_log(CSMPD_WARNING, "SEND_FAIL",
					  "sendmmsg: %s", strerror(errno));
				done++;
				continue;
			}
			for (int k = 0; k < r; k++) {
				CSMPD_INC(&w->ctr, tx_dgrams);
				CSMPD_ADD(&w->ctr, tx_bytes,
					  p->stx[done + k]->len);
			}
			done += (unsigned int)r;
		}
	}
	for (tx = w->txq; tx; tx = next) {
		next = tx->next;
		csmpd_tx_release(w, tx);
	}
	w->txq = NULL;
	w->txq_tail = &w->txq;
	w->txq_len = 0;
}

/* One recvmmsg on socket `s` and its batch. Returns the number of
 * datagrams, 0 when none was waiting, or -errno. */
static int mmsg_recv_batch(struct csmpd_worker *w, unsigned int s)
{
	struct mmsg_priv *p = w->io_priv;
	int i, n;

	for (i = 0; i < CSMPD_BATCH; i++) {
		struct msghdr *m = &p->msgs[i].msg_hdr;

		p->iov[i].iov_base = p->bufs[i];
		p->iov[i].iov_len = sizeof(p->bufs[i]);
		m->msg_name = &p->names[i];
		m->msg_namelen = sizeof(p->names[i]);
		m->msg_iov = &p->iov[i];
		m->msg_iovlen = 1;
		m->msg_control = p->ctrl[i].buf;
		m->msg_controllen = sizeof(p->ctrl[i].buf);
		m->msg_flags = 0;
	}
	n = recvmmsg(w->socks[s], p->msgs, CSMPD_BATCH, MSG_DONTWAIT, NULL);
	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return 0;
		if (errno == EBADF || errno == ENOTSOCK || errno == EFAULT)
			return -errno;
		/* A pending socket error (ICMP) is per datagram, not fatal. */
		csmpd_log(CSMPD_WARNING, "RECV_FAIL", "recvmmsg: %s",
			  strerror(errno));
		return 0;
	}
	for (i = 0; i < n; i++) {
		struct msghdr *m = &p->msgs[i].msg_hdr;
		struct csmpd_rx *r = &p->rx[i];

		r->data = p->bufs[i];
		r->len = p->msgs[i].msg_len;
		r->flags = 0;
		if ((m->msg_flags & MSG_TRUNC) || r->len > CSMP_MAX_DGRAM)
			r->flags |= CSMPD_RXF_TRUNC;
		r->sock = s;
		memcpy(&r->peer.sa, &p->names[i], m->msg_namelen);
		r->peer.len = m->msg_namelen;
		csmpd_rx_cmsg(m, &r->dst);
	}
	csmpd_batch(w, p->rx, (unsigned int)n);
	mmsg_flush(w);
	return n;
}

static int mmsg_run(struct csmpd_worker *w)
{
	struct pollfd pfd[CSMPD_MAX_SOCKS + 2];
	unsigned int ns = w->n_socks, s;
	__u64 deadline;
	int err, n;

	for (s = 0; s < ns; s++)
		pfd[s] = (struct pollfd){ .fd = w->socks[s], .events = POLLIN };
	pfd[ns] = (struct pollfd){ .fd = w->evfd, .events = POLLIN };
	pfd[ns + 1] = (struct pollfd){ .fd = -1, .events = POLLIN };

	while (!w->d->stop) {
		/* Requests in flight have deadlines: wake to expire them.
		 * A negative fd is ignored: wait for commits only when an
		 * answer waits for one. */
		pfd[ns + 1].fd = w->parked ? w->commit_fd : -1;
		n = poll(pfd, ns + 2, csmpd_req_busy(w) ? 50 : -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (pfd[ns].revents & POLLIN) {
			__u64 v;

			if (read(w->evfd, &v, sizeof(v)) < 0) {
				/* spurious: nothing to clear */
			}
		}
		if (pfd[ns + 1].revents & POLLIN) {
			__u64 v;

			if (read(w->commit_fd, &v, sizeof(v)) < 0) {
				/* spurious: nothing to clear */
			}
		}
		for (s = 0; s < ns; s++) {
			if (!(pfd[s].revents & POLLIN))
				continue;
			err = mmsg_recv_batch(w, s);
			if (err < 0)
				return err;
		}
		if (csmpd_inbox_pending(w)) {
			csmpd_inbox_drain(w);
			mmsg_flush(w);
		}
		csmpd_req_tick(w);
		if (w->parked) {
			csmpd_clock(w);
			csmpd_park_release(w);
		}
		mmsg_flush(w);
	}

	/* Drain: answer what the sockets already hold (bounded), then keep
	 * serving the inbox until every worker has stopped receiving. */
	csmpd_clock(w);
	deadline = w->now_ns + CSMPD_DRAIN_NS;
	for (s = 0; s < ns; s++)
		for (int k = 0; k < 256 && mmsg_recv_batch(w, s) > 0; k++)
			;
	csmpd_recv_done(w);
	while ((!csmpd_all_recv_done(w) || w->parked) &&
	       w->now_ns < deadline) {
		pfd[ns + 1].fd = w->parked ? w->commit_fd : -1;
		if (poll(&pfd[ns], 2, 100) > 0) {
			__u64 v;

			if (read(w->evfd, &v, sizeof(v)) < 0) {
				/* nothing to clear */
			}
			if (w->parked && read(w->commit_fd, &v, sizeof(v)) < 0) {
				/* nothing to clear */
			}
		}
		csmpd_inbox_drain(w);
		csmpd_clock(w);
		csmpd_park_release(w);
		mmsg_flush(w);
	}
	csmpd_inbox_drain(w);
	csmpd_park_release(w);
	csmpd_park_abandon(w);	/* no commit in time: never sent */
	mmsg_flush(w);
	return 0;
}

const struct csmpd_io_ops csmpd_io_mmsg = {
	.name = "mmsg",
	.setup = mmsg_setup,
	.run = mmsg_run,
	.teardown = mmsg_teardown,
};
