// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The device side of head-end-initiated requests (--serve): every
 * simulated device answers CoAP requests on port 61628 at its own address,
 * as the OpenCSMP agent's server does (wire facts §1.4, §4.2, §4.3):
 *
 *   GET /c            the TlvIndex (TLV 1)
 *   GET /c?q=ids      those TLVs, ids split on spaces (the draft's '+' too);
 *                     ids the device does not have are skipped
 *   GET /c/<id>[/i]   one TLV (75/i: one slot), 4.04 when the device does
 *                     not have it, 4.03 when it has nothing in it (65, 68)
 *   POST /c           Signature, then SignatureValidity (4.01 when either
 *                     fails; 4.03 unsigned while signatures are required,
 *                     unless only exempt TLVs come: ImageBlock,
 *                     DescriptionRequest),
 *                     then GroupMatch (4.00 on mismatch), then the TLVs in
 *                     order (4.04 for one the device cannot apply); 2.01,
 *                     with SessionID + CurrentTime + output when there is
 *                     output (DescriptionRequest, firmware responses:
 *                     firmware.c)
 *   DELETE, PUT       4.05
 *   malformed CON     4.00
 *   NON               handled alike; the answer goes later as the device's
 *                     NON POST /c (answer_non), or a CGMSNotification
 *
 * Requests and answers cross radio.c (loss, link and PAN rates) and a
 * device of --stop-share that stopped takes none.
 *
 * Answers are piggybacked ACKs that copy the MID and the token and carry no
 * options. Each device has a socket of its own bound to [its address]:61628
 * (IPV6_FREEBIND; the address is local through the sim's /64 route on lo),
 * so the kernel hands each request to its device and the answer leaves from
 * the device's address: nothing is shared with a head-end on the same host
 * that listens on its own address (csmpd --listen [::1]:61628). That costs
 * one descriptor per device, like the ports mode.
 *
 * --serve-log FILE writes one JSON line per request (device, requester
 * address and port, method, path, query, answer code) so tests can see
 * from which source port a head-end's request came.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/resource.h>

#include "csmp.h"
#include "sig.h"
#include "sim.h"

#define SRV_IDS_MAX	32
#define SRV_NOTIFY_TLVS	20		/* MAX_NOTIFY_TLVID_CNT */
#define SRV_ASYNC_DEFAULT 20		/* s: DEFAULT_DELAY, a= absent or 0 */
#define SRV_REBOOT_DELAY (3 * NSEC_PER_SEC)	/* RebootRequest -> reboot */

struct sim_srv {
	int *fd;		/* per device */
	struct csmp_key *key;	/* NMS public key: POSTs are checked */
	FILE *log;
	struct csmp_verifier *verifier;
	struct csmp_arena arena;
	uint8_t arena_buf[16384];
	struct sim_srv_stats st;
};

/* What a simulated device has (put_tlv in proto.c), in TlvIndex order. */
static const uint16_t srv_index[] = {
	CSMP_TLV_TLV_INDEX, CSMP_TLV_DEVICE_ID, CSMP_TLV_SESSION_ID,
	CSMP_TLV_GROUP_INFO, CSMP_TLV_REPORT_SUBSCRIBE,
	CSMP_TLV_HARDWARE_DESC, CSMP_TLV_INTERFACE_DESC, CSMP_TLV_IP_ADDRESS,
	CSMP_TLV_IP_ROUTE, CSMP_TLV_CURRENT_TIME, CSMP_TLV_UPTIME,
	CSMP_TLV_INTERFACE_METRICS, CSMP_TLV_IP_ROUTE_RPL_METRICS,
	CSMP_TLV_WPAN_STATUS, CSMP_TLV_TRANSFER_REQUEST, CSMP_TLV_LOAD_REQUEST,
	CSMP_TLV_FIRMWARE_IMAGE_INFO,
};

static bool srv_has(uint32_t id)
{
	for (size_t i = 0; i < sizeof(srv_index) / sizeof(srv_index[0]); i++)
		if (srv_index[i] == id)
			return true;
	return false;
}

/* ---- set-up ---- */

static int srv_socket(struct sim *s, uint32_t idx)
{
	struct sockaddr_in6 a = { .sin6_family = AF_INET6,
				  .sin6_port = htons(s->o.serve_port) };
	int fd, on = 1, err;

	sim_dev_addr(s, idx, &a.sin6_addr);
	fd = socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, IPPROTO_IPV6, IPV6_FREEBIND, &on, sizeof(on))) {
		err = -errno;
		goto err_close;
	}
	if (bind(fd, (struct sockaddr *)&a, sizeof(a))) {
		err = -errno;
		goto err_close;
	}
	return fd;
err_close:
	close(fd);
	return err;
}

int sim_serve_setup(struct sim *s)
{
	struct csmp_verifier_opts vo = { .skew = 0, .replay_entries = 0 };
	struct sim_srv *v;
	struct rlimit rl;
	int err;

	if (!s->o.serve)
		return 0;
	if (s->src_mode != SIM_SRC_PREFIX) {
		fprintf(stderr, "csmp-sim: --serve needs prefix mode (root, an "
			"IPv6 target): each device answers at its own address\n");
		return -EAFNOSUPPORT;
	}
	v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	s->srv = v;
	csmp_arena_init(&v->arena, v->arena_buf, sizeof(v->arena_buf));
	err = csmp_verifier_new(&vo, &v->verifier);
	if (err)
		return err;
	/* With an NMS key, POSTs must be signed (reqSignedPost). */
	if (s->o.nms_pubkey) {
		err = csmp_key_load_pem(s->o.nms_pubkey, &v->key);
		if (err)
			return err;
	}
	if (s->o.serve_log) {
		v->log = fopen(s->o.serve_log, "w");
		if (!v->log) {
			err = -errno;
			fprintf(stderr, "csmp-sim: --serve-log %s: %s\n",
				s->o.serve_log, strerror(errno));
			return err;
		}
		setvbuf(v->log, NULL, _IOLBF, 0);
	}
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < s->o.devices + 256u) {
		rl.rlim_cur = rl.rlim_max > s->o.devices + 256u ?
			      rl.rlim_max : s->o.devices + 256u;
		if (rl.rlim_max < rl.rlim_cur)
			rl.rlim_max = rl.rlim_cur;
		if (setrlimit(RLIMIT_NOFILE, &rl)) {
			err = -errno;
			fprintf(stderr, "csmp-sim: --serve: %u devices need as "
				"many descriptors: %s\n", s->o.devices,
				strerror(errno));
			return err;
		}
	}
	v->fd = malloc(sizeof(*v->fd) * s->o.devices);
	if (!v->fd)
		return -ENOMEM;
	for (uint32_t i = 0; i < s->o.devices; i++)
		v->fd[i] = -1;
	for (uint32_t i = 0; i < s->o.devices; i++) {
		struct epoll_event ev = { .events = EPOLLIN,
					  .data.u64 = SIM_TAG_SRV | i };

		v->fd[i] = srv_socket(s, i);
		if (v->fd[i] < 0) {
			err = v->fd[i];
			fprintf(stderr, "csmp-sim: --serve: port %u at the "
				"address of device %u: %s%s\n", s->o.serve_port,
				i, strerror(-err), err == -EADDRINUSE ?
				" (a head-end listening on [::] takes every "
				"address: give it its own, or run the sim in "
				"another netns)" : "");
			return err;
		}
		if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, v->fd[i], &ev))
			return -errno;
	}
	return 0;
}

void sim_serve_teardown(struct sim *s)
{
	struct sim_srv *v = s->srv;

	if (!v)
		return;
	if (v->fd) {
		for (uint32_t i = 0; i < s->o.devices; i++)
			if (v->fd[i] >= 0)
				close(v->fd[i]);
		free(v->fd);
	}
	if (v->log)
		fclose(v->log);
	csmp_verifier_free(v->verifier);
	csmp_key_put(v->key);
	free(v);
	s->srv = NULL;
}

/* ---- answers ---- */

struct ans {
	uint8_t buf[SIM_BUF];
	struct csmp_coap_enc e;
	struct csmp_tlvw w;
	bool body;
};

static void ans_init(struct ans *a, const struct csmp_coap_msg *m,
		     uint8_t code)
{
	csmp_coap_enc_init(&a->e, a->buf, sizeof(a->buf), CSMP_COAP_ACK, code,
			   m->mid, m->tkl ? m->token : NULL, m->tkl);
	a->body = false;
}

static struct csmp_tlvw *ans_body(struct ans *a)
{
	if (!a->body) {
		csmp_coap_enc_payload_begin(&a->e, &a->w, CSMP_TLVW_PAD);
		a->body = true;
	}
	return &a->w;
}

static void put_index(struct csmp_tlvw *w)
{
	Csmp__TlvIndex m;
	char ids[sizeof(srv_index) / sizeof(srv_index[0])][8];
	char *p[sizeof(srv_index) / sizeof(srv_index[0])];

	protobuf_c_message_init(&csmp__tlv_index__descriptor, &m);
	for (size_t i = 0; i < sizeof(srv_index) / sizeof(srv_index[0]); i++) {
		snprintf(ids[i], sizeof(ids[i]), "%u", srv_index[i]);
		p[i] = ids[i];
	}
	m.n_tlvid = sizeof(srv_index) / sizeof(srv_index[0]);
	m.tlvid = p;
	csmp_tlvw_put(w, CSMP_TLV_TLV_INDEX, &m.base);
}

/* One TLV id's answer; -ENOENT when the device has nothing to say. */
static int put_one(struct sim *s, uint32_t idx, struct csmp_tlvw *w,
		   uint32_t id, uint32_t index)
{
	switch (id) {
	case CSMP_TLV_TLV_INDEX:
		put_index(w);
		return 0;
	case CSMP_TLV_TRANSFER_REQUEST:
	case CSMP_TLV_LOAD_REQUEST:
		return sim_fw_get(s, idx, id, w);
	case CSMP_TLV_FIRMWARE_IMAGE_INFO:
		sim_fw_put_info(s, idx, w, index);
		return 0;
	default:
		sim_dev_put_tlv(s, idx, w, id);
		return 0;
	}
}

static uint8_t do_get(struct sim *s, uint32_t idx, const uint8_t *buf,
		      const struct csmp_coap_msg *m, struct ans *a)
{
	struct csmp_tlvid ids[SRV_IDS_MAX];
	uint16_t off, len;
	int n;

	if (m->n_path >= 2) {
		char tmp[16];
		struct csmp_tlvid id;
		unsigned long index = 0;

		if (m->path[1].len >= sizeof(tmp))
			return CSMP_COAP_NOT_FOUND;
		memcpy(tmp, buf + m->path[1].off, m->path[1].len);
		if (csmp_tlvid_parse(tmp, m->path[1].len, &id) || id.pen ||
		    !srv_has(id.type))
			return CSMP_COAP_NOT_FOUND;
		if (m->n_path >= 3 && m->path[2].len < sizeof(tmp)) {
			memcpy(tmp, buf + m->path[2].off, m->path[2].len);
			tmp[m->path[2].len] = 0;
			index = strtoul(tmp, NULL, 10);
		}
		/* A TLV with nothing in it answers 4.03 alone (agent). */
		if (put_one(s, idx, ans_body(a), id.type, (uint32_t)index))
			return CSMP_COAP_FORBIDDEN;
		return CSMP_COAP_CONTENT;
	}
	if (csmp_coap_query_get(buf, m, "q", &off, &len)) {
		put_index(ans_body(a));
		return CSMP_COAP_CONTENT;
	}
	n = csmp_tlvid_list((const char *)buf + off, len, ids, SRV_IDS_MAX);
	if (n < 0)
		return CSMP_COAP_BAD_REQUEST;
	for (int i = 0; i < n; i++)
		if (!ids[i].pen && srv_has(ids[i].type))
			put_one(s, idx, ans_body(a), ids[i].type, 0);
	return CSMP_COAP_CONTENT;
}

/* Apply a POSTed TLV the way the agent's POST handlers do. */
static int apply_post(struct sim *s, uint32_t idx, const uint8_t *p,
		      const struct csmp_tlv *t, struct ans *a, bool *block_seen)
{
	struct sim_srv *v = s->srv;
	struct sim_dev *d = &s->dev[idx];
	ProtobufCMessage *m = NULL;
	int r;

	csmp_arena_reset(&v->arena);
	switch (t->type) {
	case CSMP_TLV_SIGNATURE:
	case CSMP_TLV_SIGNATURE_VALIDITY:
	case CSMP_TLV_GROUP_MATCH:
	case CSMP_TLV_CURRENT_TIME:
	case CSMP_TLV_SIGNATURE_SETTINGS:
		return 0;
	case CSMP_TLV_REBOOT_REQUEST:
		/* The agent reboots a few seconds later. */
		return sim_radio_later(s, s->now + SRV_REBOOT_DELAY, idx,
				       SIM_EV_REBOOT, 0, NULL, 0);
	case CSMP_TLV_SESSION_ID: {
		uint32_t off, slen;
		uint16_t be;

		if (csmp_sessionid(p + t->off, t->len, &off, &slen, &be) < 0)
			return -EINVAL;
		memcpy(d->session, p + t->off + off, slen);
		d->session_len = (uint8_t)slen;
		return 0;
	}
	case CSMP_TLV_REPORT_SUBSCRIBE: {
		const Csmp__ReportSubscribe *rs;

		if (csmp_tlv_decode(&v->arena, p, t, &m))
			return -EBADMSG;
		rs = (const Csmp__ReportSubscribe *)m;
		if (rs->interval_present_case)
			d->report_ms = rs->interval * 1000;
		d->sub = sim_dev_sub_intern(s, rs);
		/* A new period starts now (the agent restarts its timer). */
		if (d->state == SIM_REG) {
			d->round_end = s->now;
			sim_timer_set(s, idx, d->report_ms ?
				      s->now + sim_rand_between(&d->rng,
					(uint64_t)d->report_ms * NSEC_PER_MSEC / 2,
					(uint64_t)d->report_ms * NSEC_PER_MSEC) : 0);
		}
		v->st.report_changes++;
		return 0;
	}
	case CSMP_TLV_GROUP_ASSIGN: {
		const Csmp__GroupAssign *ga;

		if (csmp_tlv_decode(&v->arena, p, t, &m))
			return -EBADMSG;
		ga = (const Csmp__GroupAssign *)m;
		if (!ga->type_present_case || !ga->id_present_case ||
		    ga->type < 1 || ga->type > 2)
			return -EINVAL;
		if (ga->type == CSMP_GROUP_FIRMWARE) {
			r = sim_radio_join(s, idx, ga->id);
			if (r)
				return r;
		}
		d->group[ga->type - 1] = ga->id;
		v->st.group_changes++;
		return 0;
	}
	case CSMP_TLV_DESCRIPTION_REQ: {
		const Csmp__DescriptionRequest *dr;

		/* issue #34: after an ImageBlock it is not answered. */
		if (*block_seen)
			return 0;
		if (csmp_tlv_decode(&v->arena, p, t, &m))
			return -EBADMSG;
		dr = (const Csmp__DescriptionRequest *)m;
		for (size_t i = 0; i < dr->n_tlvid; i++) {
			struct csmp_tlvid id;

			if (dr->tlvid[i] &&
			    !csmp_tlvid_parse(dr->tlvid[i], strlen(dr->tlvid[i]), &id) &&
			    !id.pen && srv_has(id.type))
				put_one(s, idx, ans_body(a), id.type, 0);
		}
		return 0;
	}
	default:
		if (t->type == CSMP_TLV_IMAGE_BLOCK)
			*block_seen = true;
		r = sim_fw_post(s, idx, p, t, ans_body(a));
		return r > 0 ? 0 : r ? r : -EOPNOTSUPP;
	}
}

/* GroupMatch: every one in the POST must match a group of the device. */
static bool group_match(struct sim *s, uint32_t idx, const uint8_t *p,
			uint32_t len)
{
	struct sim_srv *v = s->srv;
	struct csmp_tlv_iter it;
	struct csmp_tlv t;

	csmp_tlv_init(&it, p, len);
	while (csmp_tlv_next(&it, &t) == 1) {
		const Csmp__GroupMatch *g;
		ProtobufCMessage *m;

		if (t.type != CSMP_TLV_GROUP_MATCH)
			continue;
		csmp_arena_reset(&v->arena);
		if (csmp_tlv_decode(&v->arena, p, &t, &m))
			return false;
		g = (const Csmp__GroupMatch *)m;
		if (g->type < 1 || g->type > 2 ||
		    s->dev[idx].group[g->type - 1] != g->id)
			return false;
	}
	return true;
}

/* Only TLVs the draft exempts from signing (ImageBlock, DescriptionRequest)? */
static bool all_exempt(const uint8_t *p, uint32_t len)
{
	struct csmp_tlv_iter it;
	struct csmp_tlv t;
	int r;

	csmp_tlv_init(&it, p, len);
	while ((r = csmp_tlv_next(&it, &t)) == 1)
		if (t.type != CSMP_TLV_IMAGE_BLOCK &&
		    t.type != CSMP_TLV_DESCRIPTION_REQ &&
		    t.type != CSMP_TLV_GROUP_MATCH)
			return false;
	return r == 0;
}

/* What a NON POST's failures are: the TLV ids, at most the agent's 20. */
struct post_errs {
	uint32_t ids[SRV_NOTIFY_TLVS];
	unsigned int n;
};

static uint8_t do_post(struct sim *s, uint32_t idx, const uint8_t *buf,
		       const struct csmp_coap_msg *m, struct ans *a,
		       struct post_errs *errs)
{
	struct sim_srv *v = s->srv;
	const uint8_t *p = buf + m->payload_off;
	struct csmp_key *key = sim_dev_nms_key(s, idx);
	bool non = m->type == CSMP_COAP_NON, block_seen = false;
	uint16_t off, len;
	struct csmp_tlv_iter it;
	struct csmp_tlv t;
	bool output;
	int r;

	if (m->n_path != 1 || !csmp_coap_query_get(buf, m, "q", &off, &len))
		return CSMP_COAP_BAD_REQUEST;	/* POST /c/<id>, q=: not allowed */
	if (key) {
		enum csmp_reason why = csmp_sig_check(v->verifier, key,
						      p, m->payload_len,
						      (uint64_t)time(NULL));

		switch (why) {
		case CSMP_R_OK:
			v->st.post_sig_ok++;
			break;
		case CSMP_R_SIG_MISSING:
			if (all_exempt(p, m->payload_len)) {
				v->st.post_exempt++;
				break;
			}
			v->st.post_unsigned++;
			return CSMP_COAP_FORBIDDEN;
		default:
			v->st.post_sig_bad++;
			return CSMP_COAP_UNAUTHORIZED;
		}
	}
	if (!group_match(s, idx, p, m->payload_len))
		return CSMP_COAP_BAD_REQUEST;
	csmp_tlv_init(&it, p, m->payload_len);
	while ((r = csmp_tlv_next(&it, &t)) == 1) {
		if (!apply_post(s, idx, p, &t, a, &block_seen))
			continue;
		/* CON: 4.04 at the first failure; NON: listed, go on. */
		if (!non)
			return CSMP_COAP_NOT_FOUND;
		errs->ids[errs->n++] = t.type;
		if (errs->n == SRV_NOTIFY_TLVS)
			break;
	}
	if (r < 0)
		return CSMP_COAP_BAD_REQUEST;
	/* Output goes with SessionID and CurrentTime, the agent's way. */
	output = a->body && a->w.len;	/* DescriptionRequest wrote some */
	if (output && !errs->n) {
		sim_dev_put_tlv(s, idx, &a->w, CSMP_TLV_SESSION_ID);
		sim_dev_put_tlv(s, idx, &a->w, CSMP_TLV_CURRENT_TIME);
	}
	return CSMP_COAP_CREATED;
}

static void log_req(struct sim *s, uint32_t idx, const struct sockaddr_in6 *from,
		    const uint8_t *buf, const struct csmp_coap_msg *m,
		    uint8_t code)
{
	char a[INET6_ADDRSTRLEN], path[64] = "", query[256] = "", c[8];
	char e[CSMP_EID_STRLEN];
	struct csmp_sb sb;
	char line[640];

	if (!s->srv->log)
		return;
	inet_ntop(AF_INET6, &from->sin6_addr, a, sizeof(a));
	csmp_coap_path_str(buf, m, path, sizeof(path));
	csmp_coap_query_str(buf, m, query, sizeof(query));
	csmp_sb_init(&sb, line, sizeof(line));
	csmp_sb_printf(&sb, "{\"eid\":\"%s\",\"from\":\"%s\",\"port\":%u,"
		       "\"type\":\"%s\",\"method\":\"%s\",\"mid\":%u,\"path\":",
		       csmp_eid_format(sim_dev_eid(s, idx), e), a,
		       ntohs(from->sin6_port), csmp_coap_type_name(m->type),
		       csmp_coap_code_name(m->code), m->mid);
	csmp_sb_json_str(&sb, path, strlen(path));
	csmp_sb_puts(&sb, ",\"query\":");
	csmp_sb_json_str(&sb, query, strlen(query));
	csmp_sb_printf(&sb, ",\"code\":\"%s\"}\n",
		       code ? csmp_coap_code_str(code, c) : "none");
	if (csmp_sb_str(&sb))
		fputs(line, s->srv->log);
}

/*
 * The answer to a NON request goes later, as the device's own NON POST /c
 * to the NMS after a random wait up to a= seconds (20 when absent or 0);
 * a later NON request replaces a pending answer (the agent has one
 * buffer). A NON POST with nothing to say draws a CGMSNotification at
 * once: code 3 listing the TLVs that failed, else code 0 -- also after a
 * refused signature (the agent's quirk).
 */
static void answer_non(struct sim *s, uint32_t idx, const uint8_t *buf,
		       const struct csmp_coap_msg *m, struct ans *a,
		       uint8_t code, const struct post_errs *errs)
{
	struct sim_srv *v = s->srv;
	struct sim_dev *d = &s->dev[idx];
	uint16_t off, len;
	uint64_t delay = SRV_ASYNC_DEFAULT;

	if ((code >> 5) == 2 && a->body && a->w.len && !errs->n) {
		if (!csmp_coap_query_get(buf, m, "a", &off, &len) && len < 8) {
			char tmp[8];
			unsigned long sec;

			memcpy(tmp, buf + off, len);
			tmp[len] = 0;
			sec = strtoul(tmp, NULL, 10);
			if (sec)
				delay = sec;
		}
		d->async_gen++;
		if (sim_radio_later(s, s->now + sim_rand_between(&d->rng, 0,
					delay * NSEC_PER_SEC), idx,
				    SIM_EV_ASYNC, d->async_gen, a->w.buf, a->w.len))
			v->st.tx_errors++;
		v->st.async_queued++;
		return;
	}
	if (m->code != CSMP_COAP_POST)
		return;
	if (sim_dev_notify(s, idx, errs->n ? CSMP_NOTIFY_PROC_ERROR :
					     CSMP_NOTIFY_OK,
			   errs->ids, errs->n, m->tkl ? m->token : NULL, m->tkl))
		v->st.tx_errors++;
	else
		v->st.notified++;
}

static void serve_one(struct sim *s, uint32_t idx, int fd, const uint8_t *buf,
		      size_t len, const struct sockaddr_in6 *from, bool mcast)
{
	struct sim_srv *v = s->srv;
	struct post_errs errs = { .n = 0 };
	struct csmp_coap_msg m;
	struct ans a;
	uint8_t code = 0;
	int n;

	v->st.requests++;
	if (csmp_coap_parse(buf, (uint32_t)len, &m)) {
		v->st.malformed++;
		/* A CON we cannot read still gets 4.00 (the agent's way). */
		if (len >= 4 && (buf[0] >> 6) == CSMP_COAP_VERSION &&
		    ((buf[0] >> 4) & 3) == CSMP_COAP_CON && !mcast) {
			memset(&m, 0, sizeof(m));
			m.mid = (uint16_t)(buf[2] << 8 | buf[3]);
			code = CSMP_COAP_BAD_REQUEST;
			ans_init(&a, &m, code);
			goto send;
		}
		return;
	}
	if (m.type != CSMP_COAP_CON && m.type != CSMP_COAP_NON) {
		v->st.not_con++;	/* ACKs, RSTs: nothing to serve */
		log_req(s, idx, from, buf, &m, 0);
		return;
	}
	if (m.type == CSMP_COAP_CON && mcast) {
		v->st.not_con++;	/* multicast must be NON (RFC 7252) */
		return;
	}
	ans_init(&a, &m, 0);
	if (!csmp_coap_path_first(buf, &m, 'c'))
		code = CSMP_COAP_NOT_FOUND;
	else if (m.code == CSMP_COAP_GET)
		code = do_get(s, idx, buf, &m, &a);
	else if (m.code == CSMP_COAP_POST)
		code = do_post(s, idx, buf, &m, &a, &errs);
	else
		code = CSMP_COAP_BAD_METHOD;
	if (m.type == CSMP_COAP_NON) {
		v->st.non++;
		if (mcast)
			v->st.mcast++;
		log_req(s, idx, from, buf, &m, 0);
		if (a.body)
			csmp_coap_enc_payload_end(&a.e, &a.w);
		answer_non(s, idx, buf, &m, &a, code, &errs);
		return;
	}
	if ((code >> 5) != 2 ||
	    (m.code == CSMP_COAP_POST && !(a.body && a.w.len))) {
		/* Errors, and a POST with no output, carry no body. */
		ans_init(&a, &m, code);
	} else {
		a.buf[1] = code;
	}
send:
	if (a.body)
		csmp_coap_enc_payload_end(&a.e, &a.w);
	n = csmp_coap_enc_finish(&a.e);
	log_req(s, idx, from, buf, &m, code);
	if (n < 0) {
		v->st.tx_errors++;
		return;
	}
	v->st.by_class[(code >> 5) & 7]++;
	if (sim_radio_up(s, idx, fd, a.buf, (size_t)n, from) < 0)
		v->st.tx_errors++;
}

void sim_serve_deliver(struct sim *s, uint32_t idx, const uint8_t *buf,
		       size_t len, const struct sockaddr_in6 *from, bool mcast)
{
	serve_one(s, idx, s->srv->fd[idx], buf, len, from, mcast);
}

int sim_serve_fd(const struct sim *s, uint32_t idx)
{
	return s->srv->fd[idx];
}

void sim_serve_rx(struct sim *s, uint32_t idx)
{
	struct sim_srv *v = s->srv;
	uint8_t buf[SIM_BUF];

	for (int k = 0; k < 64; k++) {
		struct sockaddr_in6 from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(v->fd[idx], buf, sizeof(buf), MSG_DONTWAIT,
				     (struct sockaddr *)&from, &fl);

		if (n < 0)
			return;
		s->now = sim_mono_ns();
		if (sim_dev_down(s, idx)) {
			v->st.while_down++;
			continue;
		}
		if (sim_radio_down(s, idx, buf, (size_t)n, &from))
			v->st.tx_errors++;
	}
}

void sim_serve_json(struct sim *s, FILE *f)
{
	const struct sim_srv_stats *st;

	if (!s->srv)
		return;
	st = &s->srv->st;
	fprintf(f, ",\"served\":{\"requests\":%llu,\"answers_2xx\":%llu,"
		"\"answers_4xx\":%llu,\"answers_5xx\":%llu,\"malformed\":%llu,"
		"\"not_con\":%llu,\"post_sig_ok\":%llu,\"post_sig_bad\":%llu,"
		"\"post_unsigned\":%llu,\"post_exempt\":%llu,"
		"\"report_changes\":%llu,\"group_changes\":%llu,"
		"\"non\":%llu,\"mcast\":%llu,\"async_queued\":%llu,"
		"\"notified\":%llu,\"while_down\":%llu,\"tx_errors\":%llu}",
		(unsigned long long)st->requests,
		(unsigned long long)st->by_class[2],
		(unsigned long long)st->by_class[4],
		(unsigned long long)st->by_class[5],
		(unsigned long long)st->malformed,
		(unsigned long long)st->not_con,
		(unsigned long long)st->post_sig_ok,
		(unsigned long long)st->post_sig_bad,
		(unsigned long long)st->post_unsigned,
		(unsigned long long)st->post_exempt,
		(unsigned long long)st->report_changes,
		(unsigned long long)st->group_changes,
		(unsigned long long)st->non,
		(unsigned long long)st->mcast,
		(unsigned long long)st->async_queued,
		(unsigned long long)st->notified,
		(unsigned long long)st->while_down,
		(unsigned long long)st->tx_errors);
}
