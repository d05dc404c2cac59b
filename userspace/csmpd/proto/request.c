// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * Head-end-initiated requests (wire facts §1.4): the control socket's
 * "request" command, and the worker side that sends a CON GET /c?q=... or
 * a signed CON POST /c to one device and matches its piggybacked ACK.
 *
 * The request is sent by the worker that owns the device, with the
 * device's last known address from that worker's shard, from the local
 * address (VIP) the device last sent to (IPV6_PKTINFO), and from the
 * worker's own request socket, bound to the worker's port of this node's
 * reply-port block (include/csmp/reply.h). The device answers from its
 * port 61628 to that port, so csmp_lb's reply-port key (csmp_ports) brings
 * the answer back to this node and the kernel to this worker's socket:
 * nothing is shared or looked up across threads on the way back.
 *
 * Each worker keeps a bounded table of requests in flight, matched by MID
 * and the device's address (CSMP sends no token). CSMP forbids CoAP
 * retransmission, so by default a request is sent once and times out;
 * "retries" resends the same datagram (same MID) that many times. A POST
 * is signed with the NMS key and its signature is verified with the public
 * key before it leaves: csmpd never sends a request it could not itself
 * verify. Control clients always get one answer: the device's (code and
 * TLVs, raw and decoded), a timeout, or the reason it was not sent.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "csmpd.h"
#include "ctl/control.h"
#include "pbjson_in.h"

#define REQ_TIMEOUT_MS_DEF	5000
#define REQ_TIMEOUT_MS_MAX	600000
#define REQ_RETRIES_MAX		5
#define REQ_QUERY_MAX		256
#define REQ_ANSWER_JSON		16384	/* one TLV's JSON line */

struct csmpd_req {
	struct csmpd_req *next;
	struct csmp_ctl_req *ctl;	/* where the answer goes */
	char target[80];		/* as the client wrote it */
	__u64 eid;
	bool has_eid;
	bool has_addr;			/* an explicit address was given */
	struct csmpd_addr addr;		/* explicit address (port set) */
	__u16 port;			/* the device's CSMP port */
	__u8 code;			/* CSMP_COAP_GET or CSMP_COAP_POST */
	char path[32];			/* Uri-Path, "c" or "c/75" */
	char query[REQ_QUERY_MAX];	/* Uri-Query, "q=1 11 75", or "" */
	__u8 body[CSMPD_TX_MAX];	/* POST: TLVs, unsigned */
	__u16 body_len;
	__u32 timeout_ms;
	__u32 retries;

	/* In flight, on the owning worker. */
	__u16 mid;
	__u32 tries;
	bool signed_post;
	__u64 sent_ns;			/* first send */
	__u64 deadline_ns;
	struct csmpd_addr peer;
	struct csmpd_local src;
	__u16 len;
	__u8 dgram[CSMPD_TX_MAX];
};

struct csmpd_reqs {
	pthread_mutex_t lock;		/* queue, queued, closed */
	struct csmpd_req *queue;	/* from the control thread */
	unsigned int queued;
	bool closed;
	struct csmpd_req *slot[CSMPD_REQ_MAX];	/* in flight */
	unsigned int n;
	__u16 next_mid;
	__u16 port;			/* our request socket's port */
};

/* ---- worker state ------------------------------------------------------- */

int csmpd_req_init(struct csmpd_worker *w)
{
	struct csmpd_reqs *q = calloc(1, sizeof(*q));

	if (!q)
		return -ENOMEM;
	pthread_mutex_init(&q->lock, NULL);
	/* Distinct starting MIDs per worker: easier to read in captures. */
	q->next_mid = (__u16)(w->idx * 4099u + 1);
	w->reqs = q;
	w->req_sock = -1;
	return 0;
}

void csmpd_req_fini(struct csmpd_worker *w)
{
	struct csmpd_reqs *q = w->reqs;

	if (!q)
		return;
	csmpd_req_close(w);
	pthread_mutex_destroy(&q->lock);
	free(q);
	w->reqs = NULL;
}

bool csmpd_req_busy(struct csmpd_worker *w)
{
	struct csmpd_reqs *q = w->reqs;

	return q && (q->n || __atomic_load_n(&q->queued, __ATOMIC_RELAXED));
}

/* The request socket of worker `wi`: its port of the reply block, or an
 * ephemeral port when no block is configured (single host, no LB). */
int csmpd_req_socket(struct csmpd_daemon *d, unsigned int wi)
{
	struct csmpd_worker *w = &d->workers[wi];
	const struct csmp_reply_block *b = &d->cfg.reply;
	struct sockaddr_in6 a6 = { .sin6_family = AF_INET6 };
	struct sockaddr_in a4 = { .sin_family = AF_INET };
	struct sockaddr_storage got;
	socklen_t gl = sizeof(got);
	bool v6 = false;
	unsigned int i;
	__u16 port = 0;
	int fd, err, off = 0;

	if (csmp_reply_block_size(b)) {
		port = csmp_reply_worker_port(b, d->n_workers, wi);
		if (!port) {
			csmpd_log(CSMPD_ERR, "REPLY_PORTS",
				  "reply ports %u-%u: %u ports cannot give each of %u workers one",
				  b->lo, b->hi, csmp_reply_block_size(b),
				  d->n_workers);
			return -ERANGE;
		}
	}
	for (i = 0; i < d->cfg.n_listen; i++)
		if (d->cfg.listen[i].addr.sa.sa_family == AF_INET6)
			v6 = true;
	/* Dual-stack when any listener is IPv6: IPv4 devices go v4-mapped. */
	fd = socket(v6 ? AF_INET6 : AF_INET,
		    SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (v6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off))) {
		err = -errno;
		goto err_close;
	}
	a6.sin6_port = htons(port);
	a4.sin_port = htons(port);
	if (v6 ? bind(fd, (struct sockaddr *)&a6, sizeof(a6)) :
		 bind(fd, (struct sockaddr *)&a4, sizeof(a4))) {
		err = -errno;
		csmpd_log(CSMPD_ERR, "REPLY_PORTS",
			  "worker %u: request socket on port %u: %s", wi, port,
			  strerror(errno));
		goto err_close;
	}
	if (!getsockname(fd, (struct sockaddr *)&got, &gl))
		port = ntohs(v6 ? ((struct sockaddr_in6 *)&got)->sin6_port :
				  ((struct sockaddr_in *)&got)->sin_port);
	w->req_sock = (int)w->n_socks;
	w->socks[w->n_socks++] = fd;
	w->reqs->port = port;
	if (wi == d->n_workers - 1)
		csmpd_log(CSMPD_INFO, "REPLY_PORTS",
			  csmp_reply_block_size(b) ?
			  "head-end requests from reply ports %u-%u (%u per worker)" :
			  "head-end requests from ephemeral ports (no --reply-ports: fine without csmp_lb)",
			  b->lo, b->hi, csmp_reply_worker_span(b, d->n_workers));
	return 0;

err_close:
	close(fd);
	return err;
}

/* ---- answers to the control client ---------------------------------------- */

static void req_free(struct csmpd_req *r)
{
	free(r);
}

static json_t *base_json(struct csmpd_worker *w, const struct csmpd_req *r)
{
	char a[80], s[80] = "";
	json_t *j;

	csmpd_addr_str(&r->peer, a, sizeof(a));
	if (r->src.family == AF_INET6)
		inet_ntop(AF_INET6, &r->src.a6, s, sizeof(s));
	else if (r->src.family == AF_INET)
		inet_ntop(AF_INET, &r->src.a4, s, sizeof(s));
	j = json_pack("{s:s,s:s,s:s,s:i,s:i,s:i,s:i,s:b}", "target", r->target,
		      "addr", a, "src", s, "src_port", (int)w->reqs->port,
		      "worker", (int)w->idx, "mid", (int)r->mid, "tries",
		      (int)r->tries, "signed", r->signed_post);
	if (j && r->has_eid) {
		char e[CSMP_EID_STRLEN];

		json_object_set_new(j, "eid", json_string(csmp_eid_format(r->eid, e)));
	}
	return j;
}

static void finish_error(struct csmpd_worker *w, struct csmpd_req *r,
			 const char *what, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Answer {"ok":false,"error":...,"<what>":true} and free r. */
static void finish_error(struct csmpd_worker *w, struct csmpd_req *r,
			 const char *what, const char *fmt, ...)
{
	char msg[384];
	json_t *j;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	j = w ? base_json(w, r) : json_object();
	if (j) {
		json_object_set_new(j, "ok", json_false());
		json_object_set_new(j, "error", json_string(msg));
		if (what)
			json_object_set_new(j, what, json_true());
	}
	csmp_ctl_finish(r->ctl, j);
	req_free(r);
}

/* The device answered: code, payload as hex, each TLV raw, as JSON and as
 * the `[75/FirmwareImageInfo]: {...}` line. */
static void finish_answer(struct csmpd_worker *w, struct csmpd_req *r,
			  const struct csmp_coap_msg *m, const __u8 *buf)
{
	const __u8 *pl = buf + m->payload_off;
	json_t *j = base_json(w, r), *tlvs = json_array();
	struct csmp_tlv_iter it;
	struct csmp_tlv t;
	struct csmp_sb sb;
	char code[8], *hex, *line;
	int ret;

	hex = malloc(2 * (size_t)m->payload_len + 1);
	line = malloc(REQ_ANSWER_JSON);
	if (!j || !tlvs || !hex || !line) {
		json_decref(j);
		json_decref(tlvs);
		free(hex);
		free(line);
		csmp_ctl_finish(r->ctl, NULL);
		req_free(r);
		return;
	}
	csmp_sb_init(&sb, hex, 2 * (size_t)m->payload_len + 1);
	csmp_sb_hex(&sb, pl, m->payload_len);
	json_object_set_new(j, "code", json_string(csmp_coap_code_str(m->code, code)));
	json_object_set_new(j, "code_name", json_string(csmp_coap_code_name(m->code)));
	json_object_set_new(j, "type", json_string(csmp_coap_type_name(m->type)));
	json_object_set_new(j, "rtt_us", json_integer((json_int_t)((w->now_ns - r->sent_ns) / 1000)));
	json_object_set_new(j, "payload", json_string(m->payload_len ? hex : ""));

	csmp_tlv_init(&it, pl, m->payload_len);
	while ((ret = csmp_tlv_next(&it, &t)) > 0) {
		json_t *val = NULL, *e;
		size_t raw_off = t.hdr;

		csmp_arena_reset(&w->arena);
		csmp_sb_init(&sb, line, REQ_ANSWER_JSON);
		csmp_tlv_json(&sb, &w->arena, pl, &t);
		if (csmp_sb_str(&sb))
			val = json_loads(csmp_sb_str(&sb), 0, NULL);
		csmp_sb_init(&sb, hex, 2 * (size_t)m->payload_len + 1);
		csmp_sb_hex(&sb, pl + raw_off, t.off + t.len - raw_off);
		e = json_pack("{s:i,s:s,s:s,s:o}", "id", (int)t.type, "name",
			      csmp_tlv_name(t.type), "raw", csmp_sb_str(&sb) ?
			      csmp_sb_str(&sb) : "", "value",
			      val ? val : json_null());
		if (t.pen)
			json_object_set_new(e, "pen", json_integer(t.pen));
		csmp_sb_init(&sb, line, REQ_ANSWER_JSON);
		csmp_arena_reset(&w->arena);
		csmp_tlv_line(&sb, &w->arena, pl, &t);
		if (csmp_sb_str(&sb))
			json_object_set_new(e, "line", json_string(csmp_sb_str(&sb)));
		json_array_append_new(tlvs, e);
	}
	if (ret < 0)
		json_object_set_new(j, "tlv_error",
				    json_string(csmp_reason_name(it.reason)));
	json_object_set_new(j, "tlvs", tlvs);
	free(hex);
	free(line);
	csmp_ctl_finish(r->ctl, j);
	req_free(r);
}

/* ---- sending ------------------------------------------------------------ */

/* Fallback source when the device's own is unknown: a listener bound to a
 * specific address of the same family (the VIP), else routing decides. */
static void default_src(const struct csmpd_daemon *d, const struct csmpd_addr *to,
			struct csmpd_local *src)
{
	unsigned int i;

	memset(src, 0, sizeof(*src));
	for (i = 0; i < d->cfg.n_listen; i++) {
		const struct csmpd_addr *l = &d->cfg.listen[i].addr;

		if (l->sa.sa_family != AF_INET6 || to->sa.sa_family != AF_INET6 ||
		    IN6_IS_ADDR_UNSPECIFIED(&l->in6.sin6_addr))
			continue;
		src->family = AF_INET6;
		src->a6 = l->in6.sin6_addr;
		return;
	}
}

static bool same_host(const struct csmpd_addr *a, const struct csmpd_addr *b)
{
	struct in6_addr x, y;

	if (a->sa.sa_family == AF_INET6 && b->sa.sa_family == AF_INET6)
		return IN6_ARE_ADDR_EQUAL(&a->in6.sin6_addr, &b->in6.sin6_addr);
	if (a->sa.sa_family == AF_INET && b->sa.sa_family == AF_INET)
		return a->in.sin_addr.s_addr == b->in.sin_addr.s_addr;
	/* One side v4-mapped. */
	memset(&x, 0, sizeof(x));
	memset(&y, 0, sizeof(y));
	if (a->sa.sa_family == AF_INET6)
		x = a->in6.sin6_addr;
	else {
		x.s6_addr[10] = x.s6_addr[11] = 0xff;
		memcpy(&x.s6_addr[12], &a->in.sin_addr, 4);
	}
	if (b->sa.sa_family == AF_INET6)
		y = b->in6.sin6_addr;
	else {
		y.s6_addr[10] = y.s6_addr[11] = 0xff;
		memcpy(&y.s6_addr[12], &b->in.sin_addr, 4);
	}
	return IN6_ARE_ADDR_EQUAL(&x, &y);
}

static void set_port(struct csmpd_addr *a, __u16 port)
{
	if (a->sa.sa_family == AF_INET6)
		a->in6.sin6_port = htons(port);
	else
		a->in.sin_port = htons(port);
}

static bool mid_in_use(const struct csmpd_reqs *q, __u16 mid)
{
	unsigned int i;

	for (i = 0; i < q->n; i++)
		if (q->slot[i]->mid == mid)
			return true;
	return false;
}

/* Build the datagram in r->dgram. Returns 0 or -errno (message in err). */
static int build(struct csmpd_worker *w, struct csmpd_req *r, char *err,
		 size_t errlen)
{
	struct csmp_coap_enc e;
	struct csmp_tlvw tw;
	enum csmp_reason why;
	int n;

	csmp_coap_enc_init(&e, r->dgram, sizeof(r->dgram), CSMP_COAP_CON,
			   r->code, r->mid, NULL, 0);
	csmp_coap_enc_path(&e, r->path);
	if (r->query[0])
		csmp_coap_enc_query(&e, r->query);
	if (r->code == CSMP_COAP_POST) {
		csmp_coap_enc_payload_begin(&e, &tw, 0);
		if (tw.cap < r->body_len + (size_t)CSMP_SIG_TLVS_MAX) {
			snprintf(err, errlen, "POST body of %u bytes too large",
				 r->body_len);
			return -EMSGSIZE;
		}
		memcpy(tw.buf, r->body, r->body_len);
		tw.len = r->body_len;
		if (w->signer) {
			n = csmpd_sign(w, tw.buf, tw.len, tw.cap);
			if (n < 0) {
				snprintf(err, errlen, "signing failed: %s",
					 strerror(-n));
				return n;
			}
			/* Checked before it leaves: our own signature must
			 * verify with the public key, now. */
			why = csmp_sig_check(NULL, w->d->sign_key, tw.buf,
					     (size_t)n, w->now);
			if (why != CSMP_R_OK) {
				snprintf(err, errlen,
					 "own signature does not verify (%s): not sent",
					 csmp_reason_name(why));
				return -EKEYREJECTED;
			}
			tw.len = (size_t)n;
			r->signed_post = true;
		}
		csmp_coap_enc_payload_end(&e, &tw);
	}
	n = csmp_coap_enc_finish(&e);
	if (n < 0) {
		snprintf(err, errlen, "request does not encode: %s",
			 strerror(-n));
		return n;
	}
	r->len = (__u16)n;
	return 0;
}

static int transmit(struct csmpd_worker *w, struct csmpd_req *r)
{
	struct csmpd_tx *tx = csmpd_tx_alloc(w);

	if (!tx)
		return -ENOBUFS;
	tx->sock = (unsigned int)w->req_sock;
	tx->peer = r->peer;
	tx->src = r->src;
	memcpy(tx->buf, r->dgram, r->len);
	tx->len = r->len;
	csmpd_tx_queue(w, tx);
	r->tries++;
	CSMPD_INC(&w->ctr, req_sent);
	return 0;
}

/* A new request from the control thread, on the owning worker. */
static void start(struct csmpd_worker *w, struct csmpd_req *r)
{
	struct csmpd_reqs *q = w->reqs;
	struct csmpd_device *dev = NULL;
	char err[256];
	int ret;

	if (w->req_sock < 0) {
		CSMPD_INC(&w->ctr, req_refused);
		finish_error(w, r, NULL, "this worker has no request socket");
		return;
	}
	if (r->has_eid)
		dev = csmpd_dev_by_eid(&w->shard, r->eid);
	if (r->has_addr) {
		r->peer = r->addr;
		/* The device we know at that address: reply from its VIP. */
		if (dev && dev->peer.len && same_host(&dev->peer, &r->addr) &&
		    dev->via.family)
			r->src = dev->via;
		else
			default_src(w->d, &r->peer, &r->src);
	} else if (dev && dev->peer.len) {
		r->peer = dev->peer;
		set_port(&r->peer, r->port);
		if (dev->via.family)
			r->src = dev->via;
		else
			default_src(w->d, &r->peer, &r->src);
	} else {
		CSMPD_INC(&w->ctr, req_refused);
		finish_error(w, r, "unknown_device",
			     "device %s is not registered with this csmpd (give an address)",
			     r->target);
		return;
	}
	if (q->n == CSMPD_REQ_MAX) {
		CSMPD_INC(&w->ctr, req_refused);
		finish_error(w, r, NULL, "%u requests already in flight on worker %u",
			     CSMPD_REQ_MAX, w->idx);
		return;
	}
	do
		r->mid = q->next_mid++;
	while (mid_in_use(q, r->mid));
	ret = build(w, r, err, sizeof(err));
	if (!ret)
		ret = transmit(w, r);
	if (ret) {
		CSMPD_INC(&w->ctr, req_refused);
		finish_error(w, r, NULL, "%s", ret == -ENOBUFS ?
			     "no free send slot, retry" : err);
		return;
	}
	r->sent_ns = w->now_ns;
	r->deadline_ns = w->now_ns + (__u64)r->timeout_ms * 1000000ull /
				       (r->retries + 1);
	q->slot[q->n++] = r;
}

static void slot_drop(struct csmpd_reqs *q, unsigned int i)
{
	q->slot[i] = q->slot[--q->n];
}

void csmpd_req_tick(struct csmpd_worker *w)
{
	struct csmpd_reqs *q = w->reqs;
	struct csmpd_req *in, *next, *rev = NULL;
	unsigned int i;

	if (!csmpd_req_busy(w))
		return;
	csmpd_clock(w);
	if (__atomic_load_n(&q->queued, __ATOMIC_RELAXED)) {
		pthread_mutex_lock(&q->lock);
		in = q->queue;
		q->queue = NULL;
		q->queued = 0;
		pthread_mutex_unlock(&q->lock);
		for (; in; in = next) {	/* oldest first */
			next = in->next;
			in->next = rev;
			rev = in;
		}
		for (; rev; rev = next) {
			next = rev->next;
			start(w, rev);
		}
	}
	for (i = 0; i < q->n;) {
		struct csmpd_req *r = q->slot[i];
		char a[80];

		if (r->deadline_ns > w->now_ns) {
			i++;
			continue;
		}
		if (r->tries <= r->retries && !transmit(w, r)) {
			r->deadline_ns = w->now_ns +
					 (__u64)r->timeout_ms * 1000000ull /
					 (r->retries + 1);
			i++;
			continue;
		}
		slot_drop(q, i);
		CSMPD_INC(&w->ctr, req_timeouts);
		csmpd_log(CSMPD_NOTICE, "REQUEST_TIMEOUT",
			  "%s at %s: no answer to MID %u in %u ms (%u tries)",
			  r->target, csmpd_addr_str(&r->peer, a, sizeof(a)),
			  r->mid, r->timeout_ms, r->tries);
		finish_error(w, r, "timeout",
			     "timeout: no answer from %s in %u ms (%u %s)",
			     a, r->timeout_ms, r->tries,
			     r->tries == 1 ? "try" : "tries");
	}
}

/* A datagram on the request socket. */
void csmpd_req_rx(struct csmpd_worker *w, struct csmpd_rx *rx)
{
	struct csmpd_reqs *q = w->reqs;
	struct csmp_coap_msg m;
	unsigned int i;
	char a[80];

	if ((rx->flags & CSMPD_RXF_TRUNC) ||
	    csmp_coap_parse(rx->data, rx->len, &m)) {
		CSMPD_INC(&w->ctr, req_unmatched);
		CSMPD_INC(&w->ctr, msg_class[CSMP_C_MALFORMED]);
		return;
	}
	CSMPD_INC(&w->ctr, msg_class[CSMP_C_RESPONSE]);
	for (i = 0; i < q->n; i++) {
		struct csmpd_req *r = q->slot[i];

		if (r->mid != m.mid || !same_host(&r->peer, &rx->peer))
			continue;
		if (m.type == CSMP_COAP_ACK && m.code == CSMP_COAP_EMPTY)
			return;	/* separate response to follow: keep waiting */
		slot_drop(q, i);
		if (m.type == CSMP_COAP_RST) {
			CSMPD_INC(&w->ctr, req_answered);
			finish_error(w, r, "reset",
				     "the device reset the exchange (CoAP RST)");
			return;
		}
		if (m.type != CSMP_COAP_ACK || !csmp_coap_is_response(m.code)) {
			CSMPD_INC(&w->ctr, req_unmatched);
			finish_error(w, r, NULL,
				     "the device answered with CoAP type %u code %u.%02u",
				     m.type, m.code >> 5, m.code & 31);
			return;
		}
		CSMPD_INC(&w->ctr, req_answered);
		finish_answer(w, r, &m, rx->data);
		return;
	}
	CSMPD_INC(&w->ctr, req_unmatched);
	csmpd_log(CSMPD_DEBUG, "REQUEST_UNMATCHED",
		  "%u bytes from %s, MID %u: no request of ours", rx->len,
		  csmpd_addr_str(&rx->peer, a, sizeof(a)), m.mid);
}

/* The worker stops: every request it holds gets its answer now. */
void csmpd_req_close(struct csmpd_worker *w)
{
	struct csmpd_reqs *q = w->reqs;
	struct csmpd_req *in, *next;

	if (!q)
		return;
	pthread_mutex_lock(&q->lock);
	q->closed = true;
	in = q->queue;
	q->queue = NULL;
	q->queued = 0;
	pthread_mutex_unlock(&q->lock);
	for (; in; in = next) {
		next = in->next;
		finish_error(NULL, in, "stopping", "csmpd is stopping");
	}
	while (q->n) {
		struct csmpd_req *r = q->slot[0];

		slot_drop(q, 0);
		finish_error(w, r, "stopping", "csmpd is stopping");
	}
}

/* ---- the control command -------------------------------------------------- */

struct reqctl {
	struct csmpd_daemon *d;
	struct csmp_arena arena;	/* control thread: POST bodies */
	void *arena_buf;
};

static void wake(struct csmpd_worker *w)
{
	__u64 one = 1;

	if (write(w->evfd, &one, sizeof(one)) < 0) {
		/* saturated: the worker is awake anyway */
	}
}

static int push(struct csmpd_worker *w, struct csmpd_req *r)
{
	struct csmpd_reqs *q = w->reqs;
	int ret = 0;

	pthread_mutex_lock(&q->lock);
	if (q->closed)
		ret = -ESHUTDOWN;
	else if (q->queued + __atomic_load_n(&q->n, __ATOMIC_RELAXED) >=
		 CSMPD_REQ_MAX)
		ret = -EBUSY;
	if (!ret) {
		r->next = q->queue;
		q->queue = r;
		__atomic_store_n(&q->queued, q->queued + 1, __ATOMIC_RELAXED);
	}
	pthread_mutex_unlock(&q->lock);
	if (!ret)
		wake(w);
	return ret;
}

/* "EID", or an address with or without a port (libcsmp's host:port
 * forms; without one, the device's CSMP port) into r. */
static int parse_target(struct csmpd_req *r, const char *s)
{
	struct sockaddr_storage ss;
	socklen_t len;
	uint64_t eid;

	if (strlen(s) == 16 && !csmp_eid_parse(s, &eid)) {
		r->eid = eid;
		r->has_eid = true;
		return 0;
	}
	if (csmp_hostport_parse(s, r->port, &ss, &len, NULL, 0) ||
	    !csmp_hostport_port(&ss) || len > sizeof(r->addr.in6))
		return -EINVAL;
	memset(&r->addr, 0, sizeof(r->addr));
	memcpy(&r->addr.in6, &ss, len);
	r->addr.len = len;
	/* A modified-EUI-64 interface id names the device too: the worker
	 * checks it against the registry before using it. */
	if (ss.ss_family == AF_INET6 && !r->has_eid) {
		r->eid = csmp_in6_to_eid(r->addr.in6.sin6_addr.s6_addr);
		r->has_eid = true;
	}
	r->port = csmp_hostport_port(&ss);
	r->has_addr = true;
	return 0;
}

/* "q=1 11 75": ids separated by spaces, as the agent splits them. */
static int build_query(struct csmpd_req *r, const json_t *tlvs, char *err,
		       size_t errlen)
{
	size_t i, o;

	if (!tlvs || !json_array_size(tlvs))
		return 0;	/* GET /c: the device answers TlvIndex */
	o = (size_t)snprintf(r->query, sizeof(r->query), "q=");
	for (i = 0; i < json_array_size(tlvs); i++) {
		const json_t *t = json_array_get(tlvs, i);
		struct csmp_tlvid id;
		char one[24];
		int n;

		if (json_is_integer(t) && json_integer_value(t) > 0 &&
		    json_integer_value(t) <= UINT32_MAX)
			snprintf(one, sizeof(one), "%lld",
				 (long long)json_integer_value(t));
		else if (json_is_string(t) &&
			 json_string_length(t) < sizeof(one))
			snprintf(one, sizeof(one), "%s", json_string_value(t));
		else
			one[0] = 0;
		if (!one[0] || csmp_tlvid_parse(one, strlen(one), &id)) {
			snprintf(err, errlen,
				 "\"tlvs\"[%zu] is not a TLV id (75 or e5771.127)",
				 i);
			return -EINVAL;
		}
		n = snprintf(r->query + o, sizeof(r->query) - o, "%s%s",
			     i ? " " : "", one);
		if (n < 0 || (size_t)n >= sizeof(r->query) - o) {
			snprintf(err, errlen, "too many TLV ids for one query");
			return -E2BIG;
		}
		o += (size_t)n;
	}
	return 0;
}

static int cmd_request(void *ctx, struct csmp_ctl_req *cr, json_t *req)
{
	struct reqctl *c = ctx;
	struct csmpd_daemon *d = c->d;
	const char *target = json_string_value(json_object_get(req, "target"));
	const char *method = json_string_value(json_object_get(req, "method"));
	const char *eids = json_string_value(json_object_get(req, "eid"));
	const char *path = json_string_value(json_object_get(req, "path"));
	json_t *tlvs = json_object_get(req, "tlvs");
	json_t *post = json_object_get(req, "post");
	json_t *v;
	struct csmpd_req *r;
	unsigned int owner;
	char err[256];
	int ret;

	if (!target)
		return csmp_ctl_error(cr, "request: \"target\" (EID or address) missing");
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->ctl = cr;
	r->port = CSMP_PORT;
	r->timeout_ms = REQ_TIMEOUT_MS_DEF;
	snprintf(r->target, sizeof(r->target), "%s", target);
	snprintf(r->path, sizeof(r->path), "c");
	if ((v = json_object_get(req, "port"))) {
		if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) > 65535) {
			ret = csmp_ctl_error(cr, "request: \"port\" must be 1..65535");
			goto out_free;
		}
		r->port = (__u16)json_integer_value(v);
	}
	if (eids) {
		uint64_t eid;

		if (csmp_eid_parse(eids, &eid)) {
			ret = csmp_ctl_error(cr, "request: \"eid\" must be 16 hex digits");
			goto out_free;
		}
		r->eid = eid;
		r->has_eid = true;
	}
	if (parse_target(r, target)) {
		ret = csmp_ctl_error(cr, "request: target '%s' is neither an EID (16 hex digits) nor an address",
				     target);
		goto out_free;
	}
	if ((v = json_object_get(req, "timeout_ms"))) {
		if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) > REQ_TIMEOUT_MS_MAX) {
			ret = csmp_ctl_error(cr, "request: \"timeout_ms\" must be 1..%u",
					     REQ_TIMEOUT_MS_MAX);
			goto out_free;
		}
		r->timeout_ms = (__u32)json_integer_value(v);
	}
	if ((v = json_object_get(req, "retries"))) {
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    json_integer_value(v) > REQ_RETRIES_MAX) {
			ret = csmp_ctl_error(cr, "request: \"retries\" must be 0..%u",
					     REQ_RETRIES_MAX);
			goto out_free;
		}
		r->retries = (__u32)json_integer_value(v);
	}
	if (!method)
		method = post ? "post" : "get";
	if (!strcmp(method, "get")) {
		r->code = CSMP_COAP_GET;
		if (post) {
			ret = csmp_ctl_error(cr, "request: \"post\" with method get");
			goto out_free;
		}
		if (path) {
			/* GET /c/<id>[/<index>]: one TLV, 4.04 if unknown. */
			if (strncmp(path, "c/", 2) || strlen(path) >= sizeof(r->path) ||
			    strspn(path + 2, "0123456789/") != strlen(path + 2)) {
				ret = csmp_ctl_error(cr, "request: \"path\" must be c/<id>[/<index>]");
				goto out_free;
			}
			snprintf(r->path, sizeof(r->path), "%s", path);
		}
		if (tlvs && !json_is_array(tlvs)) {
			ret = csmp_ctl_error(cr, "request: \"tlvs\" must be an array");
			goto out_free;
		}
		if (build_query(r, tlvs, err, sizeof(err))) {
			ret = csmp_ctl_error(cr, "request: %s", err);
			goto out_free;
		}
	} else if (!strcmp(method, "post")) {
		struct csmp_tlvw tw;
		int n;

		r->code = CSMP_COAP_POST;
		if (!post) {
			ret = csmp_ctl_error(cr, "request: method post needs \"post\": {TLV: value}");
			goto out_free;
		}
		if (!d->sign_key) {
			ret = csmp_ctl_error(cr, "request: csmpd runs --unsigned: a POST must be signed (devices refuse it otherwise)");
			goto out_free;
		}
		csmp_arena_reset(&c->arena);
		csmp_tlvw_init(&tw, r->body, sizeof(r->body) - CSMP_SIG_TLVS_MAX - 64, 0);
		n = csmp_tlvs_from_json(&tw, &c->arena, post, err, sizeof(err));
		if (n < 0) {
			ret = csmp_ctl_error(cr, "request: post: %s", err);
			goto out_free;
		}
		if (!n) {
			ret = csmp_ctl_error(cr, "request: post: no TLV given");
			goto out_free;
		}
		r->body_len = (__u16)tw.len;
	} else {
		ret = csmp_ctl_error(cr, "request: \"method\" must be get or post");
		goto out_free;
	}

	/* The worker that owns the device (its shard has its address), or
	 * for a bare IPv4 address any one: a hash keeps it stable. */
	owner = r->has_eid ? csmpd_bucket_owner(d, csmpd_eid_bucket(d, r->eid)) :
			     ntohl(r->addr.in.sin_addr.s_addr) % d->n_workers;
	ret = push(&d->workers[owner], r);
	if (ret) {
		ret = csmp_ctl_error(cr, "request: %s", ret == -EBUSY ?
				     "too many requests in flight, retry" :
				     "csmpd is stopping");
		goto out_free;
	}
	return CSMP_CTL_DEFERRED;

out_free:
	free(r);
	return ret;
}

/* Register "request" on ctl; *ctx is freed by csmpd_req_ctl_free once
 * the control socket is closed. */
int csmpd_req_ctl_register(struct csmpd_daemon *d, struct csmp_ctl *ctl,
			   void **ctx)
{
	struct reqctl *c = calloc(1, sizeof(*c));
	int ret;

	if (!c)
		return -ENOMEM;
	c->arena_buf = malloc(CSMPD_ARENA_BYTES);
	if (!c->arena_buf) {
		ret = -ENOMEM;
		goto err_free;
	}
	csmp_arena_init(&c->arena, c->arena_buf, CSMPD_ARENA_BYTES);
	c->d = d;
	ret = csmp_ctl_register(ctl, "request", cmd_request, c);
	if (ret)
		goto err_free;
	*ctx = c;
	return 0;

err_free:
	free(c->arena_buf);
	free(c);
	return ret;
}

void csmpd_req_ctl_free(void *ctx)
{
	struct reqctl *c = ctx;

	if (!c)
		return;
	free(c->arena_buf);
	free(c);
}
