// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The CSMP protocol as the head-end speaks it (wire facts §1.3, §6.1):
 *
 *   registration  CON POST /r: DeviceID and CurrentTime required (else
 *                 4.00), policy (4.03), then a piggybacked ACK 2.03 with
 *                 the MID echoed, no token, no options, and the payload
 *                 ReportSubscribe, SessionID, [GroupAssign],
 *                 SignatureValidity, Signature. A repeat of the same MID
 *                 from the same device and source within the exchange
 *                 lifetime gets the same bytes again, with no new work.
 *                 With a registry and ack-after-commit (the default) the
 *                 2.03 is parked until the device's record is committed
 *                 (worker.c); a repeat that arrives meanwhile gets nothing
 *                 (the parked answer is on its way), and a registration
 *                 that cannot be persisted or parked is not answered at
 *                 all: the device registers again.
 *   report        NON POST /c starting with SessionID: the session's
 *                 device gets its last-seen time and latest TLV values.
 *                 No reply (NON), unknown sessions are counted.
 *   notification  NON POST /c with DeviceID + CGMSNotification: logged;
 *                 code 2 means the device refused our signature.
 *
 * TLVs reach their handlers through a table indexed by TLV id; ids without
 * an entry are skipped and counted. Values are decoded by protobuf-c into
 * the worker's arena (no malloc per message), reset per message.
 */
#include <stdio.h>
#include <string.h>

#include "csmpd.h"
#include "csmp/siphash.h"
#include "csmp/steer.h"
#include "events.h"
#include "registry/db.h"

/* Everything a message's TLVs told us, filled by the TLV handlers. */
struct msgctx {
	struct csmpd_rx *rx;
	const __u8 *pl;
	__u32 pl_len;
	bool has_time;
	__u32 posix;
	bool has_group;
	__u32 group_id;
	bool has_notify;
	__u32 notify_code;
	__u32 notify_tlvs[8];
	unsigned int n_notify_tlvs;
	int decode_err;		/* first value that did not decode */
	__u32 decode_err_type;
};

typedef void (*tlv_handler)(struct csmpd_worker *w, struct msgctx *mc,
			    const struct csmp_tlv *t);

static ProtobufCMessage *decode(struct csmpd_worker *w, struct msgctx *mc,
				const struct csmp_tlv *t)
{
	ProtobufCMessage *m = NULL;
	int err = csmp_tlv_decode(&w->arena, mc->pl, t, &m);

	if (err) {
		if (!mc->decode_err) {
			mc->decode_err = err;
			mc->decode_err_type = t->type;
		}
		return NULL;
	}
	return m;
}

static void h_current_time(struct csmpd_worker *w, struct msgctx *mc,
			   const struct csmp_tlv *t)
{
	Csmp__CurrentTime *ct = (Csmp__CurrentTime *)decode(w, mc, t);

	if (!ct || !csmp_pb_has(&ct->base, 1))
		return;
	mc->has_time = true;
	mc->posix = ct->posix;
}

static void h_group_info(struct csmpd_worker *w, struct msgctx *mc,
			 const struct csmp_tlv *t)
{
	Csmp__GroupInfo *g = (Csmp__GroupInfo *)decode(w, mc, t);

	/* One GroupInfo per group; only the config group is ours to fix. */
	if (!g || !csmp_pb_has(&g->base, 1) || g->type != CSMP_GROUP_CONFIG)
		return;
	mc->has_group = csmp_pb_has(&g->base, 2);
	mc->group_id = g->id;
}

static void h_notification(struct csmpd_worker *w, struct msgctx *mc,
			   const struct csmp_tlv *t)
{
	Csmp__CGMSNotification *n = (Csmp__CGMSNotification *)decode(w, mc, t);
	size_t i;

	if (!n)
		return;
	mc->has_notify = true;
	mc->notify_code = csmp_pb_has(&n->base, 1) ? n->code : 0;
	mc->n_notify_tlvs = 0;
	for (i = 0; i < n->n_tlvs && i < 8; i++)
		mc->notify_tlvs[mc->n_notify_tlvs++] = n->tlvs[i];
}

/* TLVs whose meaning the fast path does not need: their raw bytes are
 * kept as the device's latest value (csmpd_dev_store_tlvs). */
static void h_keep(struct csmpd_worker *w, struct msgctx *mc,
		   const struct csmp_tlv *t)
{
}

/* DeviceID and SessionID were read by the classifier already. */
static void h_seen(struct csmpd_worker *w, struct msgctx *mc,
		   const struct csmp_tlv *t)
{
}

#define TLV_TABLE_SIZE	128

static const tlv_handler tlv_table[TLV_TABLE_SIZE] = {
	[CSMP_TLV_TLV_INDEX] = h_keep,
	[CSMP_TLV_DEVICE_ID] = h_seen,
	[CSMP_TLV_SESSION_ID] = h_seen,
	[CSMP_TLV_HARDWARE_DESC] = h_keep,
	[CSMP_TLV_INTERFACE_DESC] = h_keep,
	[CSMP_TLV_REPORT_SUBSCRIBE] = h_keep,
	[CSMP_TLV_IP_ADDRESS] = h_keep,
	[CSMP_TLV_IP_ROUTE] = h_keep,
	[CSMP_TLV_CURRENT_TIME] = h_current_time,
	[CSMP_TLV_RPL_SETTINGS] = h_keep,
	[CSMP_TLV_UPTIME] = h_keep,
	[CSMP_TLV_INTERFACE_METRICS] = h_keep,
	[CSMP_TLV_IP_ROUTE_RPL_METRICS] = h_keep,
	[CSMP_TLV_WPAN_STATUS] = h_keep,
	[CSMP_TLV_CGMS_STATUS] = h_keep,
	[CSMP_TLV_CGMS_NOTIFICATION] = h_notification,
	[CSMP_TLV_CGMS_STATS] = h_keep,
	[CSMP_TLV_RPL_INSTANCE] = h_keep,
	[CSMP_TLV_GROUP_INFO] = h_group_info,
	[CSMP_TLV_FIRMWARE_IMAGE_INFO] = h_keep,
	[CSMP_TLV_SIGNATURE_SETTINGS] = h_keep,
	[CSMP_TLV_VENDOR] = h_keep,
};

bool csmpd_tlv_known(__u32 type)
{
	return type < TLV_TABLE_SIZE && tlv_table[type] == h_keep;
}

/* Walk the payload's TLVs through the table. The classifier already
 * proved the walk succeeds. */
static void walk_tlvs(struct csmpd_worker *w, struct msgctx *mc)
{
	struct csmp_tlv_iter it;
	struct csmp_tlv t;

	csmp_arena_reset(&w->arena);
	csmp_tlv_init(&it, mc->pl, mc->pl_len);
	while (csmp_tlv_next(&it, &t) > 0) {
		if (t.type >= TLV_TABLE_SIZE || !tlv_table[t.type]) {
			CSMPD_INC(&w->ctr, tlv_unknown);
			continue;
		}
		CSMPD_INC(&w->ctr, tlv_handled);
		tlv_table[t.type](w, mc, &t);
	}
}

static void msgctx_init(struct msgctx *mc, struct csmpd_rx *rx)
{
	memset(mc, 0, sizeof(*mc));
	mc->rx = rx;
	mc->pl = rx->data + rx->cls.payload_off;
	mc->pl_len = rx->len - rx->cls.payload_off;
}

/* ---- replies ------------------------------------------------------------ */

static struct csmpd_tx *reply_start(struct csmpd_worker *w,
				    const struct csmpd_rx *rx)
{
	struct csmpd_tx *tx = csmpd_tx_alloc(w);

	if (!tx)
		return NULL;
	tx->sock = rx->sock;
	tx->peer = rx->peer;
	tx->src = rx->dst;
	return tx;
}

/* A piggybacked ACK with a code and no payload (4.00, 4.03). */
static void reply_code(struct csmpd_worker *w, const struct csmpd_rx *rx,
		       __u8 code)
{
	struct csmpd_tx *tx = reply_start(w, rx);

	if (!tx)
		return;
	tx->buf[0] = (__u8)(CSMP_COAP_VERSION << 6 | CSMP_COAP_ACK << 4);
	tx->buf[1] = code;
	tx->buf[2] = (__u8)(rx->cls.mid >> 8);
	tx->buf[3] = (__u8)rx->cls.mid;
	tx->len = 4;
	csmpd_tx_queue(w, tx);
}

static __u64 peer_hash(const struct csmpd_addr *a)
{
	const __u8 *p = (const __u8 *)&a->sa;
	__u64 h = 0xcbf29ce484222325ull;
	socklen_t i;

	for (i = 0; i < a->len; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

/* ---- what a message leaves behind: registry records and events ---------- */

/* A 2.03 with new work (not a cached duplicate) is built: its record and
 * event. 0 with *seq the commit sequence to wait for, or -errno when the
 * record could not be queued (no event then under ack-after-commit: the
 * registration is not answered). */
static int registered(struct csmpd_worker *w, struct csmpd_device *dev,
		      bool new_device, __u64 *seq)
{
	char a[80];
	int ret;

	ret = csmpd_registry_record(w, dev, CSMP_DB_OP_REGISTER, seq);
	if (ret && w->d->cfg.ack_after_commit)
		return ret;
	if (!w->d->events)
		return ret;
	csmpd_addr_str(&dev->peer, a, sizeof(a));
	csmp_event(w->d->events, w->idx, "registration", dev->eid,
		   json_pack("{s:s,s:s,s:b,s:s}", "session", dev->session,
			     "addr", a, "new", new_device, "group",
			     csmpd_policy_group_name(w, dev->eid)));
	return ret;
}

static void reported(struct csmpd_worker *w, struct csmpd_device *dev)
{
	__u64 seq;

	csmpd_registry_record(w, dev, CSMP_DB_OP_REPORT, &seq);
	if (w->d->events)
		csmp_event(w->d->events, w->idx, "report", dev->eid,
			   json_pack("{s:s,s:i}", "session", dev->session,
				     "tlvs", (int)dev->n_tlvs));
}

/* dev may be NULL: a notification from a device we do not know. */
static void notified(struct csmpd_worker *w, struct csmpd_device *dev,
		     __u64 eid, __u32 code)
{
	__u64 seq;

	if (dev)
		csmpd_registry_record(w, dev, CSMP_DB_OP_NOTIFY, &seq);
	if (w->d->events)
		csmp_event(w->d->events, w->idx, "notification", eid,
			   json_pack("{s:I}", "code", (json_int_t)code));
}

/* ---- registration -------------------------------------------------------- */

/*
 * SessionID: 4 lowercase hex digits of --backend-id (the LB routes on
 * them, ARCHITECTURE.md §2), 4 of the device's routing bucket (this node
 * routes on them, worker.c), then 8 opaque ones from a keyed hash of the
 * EID, re-rolled on the rare collision: 16 characters, the agent's limit
 * (the layout is include/csmp/steer.h's, which csmp_reuseport reads too).
 */
static int assign_session(struct csmpd_worker *w, struct csmpd_device *dev)
{
	const struct csmpd_daemon *d = w->d;
	char sid[CSMP_SESSION_ID_MAX + 1];
	unsigned int bucket = csmpd_eid_bucket(d, dev->eid), i;

	for (i = 0; i < 64; i++) {
		__u64 h = csmp_siphash24_word(d->bucket_key[1],
					      d->bucket_key[0],
					      dev->eid ^ (w->session_seq++ *
							  0x9e3779b97f4a7c15ull));

		snprintf(sid, sizeof(sid), CSMP_SESSION_FMT, d->cfg.backend_id,
			 bucket, (unsigned int)(h >> 32));
		if (!csmpd_dev_set_session(&w->shard, dev, sid,
					   CSMP_SESSION_LEN)) {
			dev->bucket = (__u16)bucket;
			return 0;
		}
	}
	return -EEXIST;
}

static void put_report_subscribe(struct csmpd_worker *w, struct csmp_tlvw *tw)
{
	Csmp__ReportSubscribe rs = CSMP__REPORT_SUBSCRIBE__INIT;

	rs.interval = w->d->cfg.report_interval;
	csmp_pb_set_present(&rs.base, 1);
	rs.n_tlvid = w->d->cfg.n_report_tlvs;
	rs.tlvid = w->d->report_tlv_ptrs;
	csmp_tlvw_put(tw, CSMP_TLV_REPORT_SUBSCRIBE, &rs.base);
}

/* Build the 2.03 in tx->buf. Returns its length or -errno. */
static int build_reg_ack(struct csmpd_worker *w, const struct csmpd_rx *rx,
			 const struct csmpd_device *dev, bool assign_group,
			 __u32 group_id, struct csmpd_tx *tx)
{
	Csmp__SessionID sid = CSMP__SESSION_ID__INIT;
	Csmp__GroupAssign ga = CSMP__GROUP_ASSIGN__INIT;
	struct csmp_coap_enc e;
	struct csmp_tlvw tw;
	int n;

	csmp_coap_enc_init(&e, tx->buf, sizeof(tx->buf), CSMP_COAP_ACK,
			   CSMP_COAP_VALID, rx->cls.mid, NULL, 0);
	csmp_coap_enc_payload_begin(&e, &tw, 0);
	put_report_subscribe(w, &tw);
	sid.id = (char *)dev->session;
	csmp_pb_set_present(&sid.base, 1);
	csmp_tlvw_put(&tw, CSMP_TLV_SESSION_ID, &sid.base);
	if (assign_group) {
		ga.type = CSMP_GROUP_CONFIG;
		ga.id = group_id;
		csmp_pb_set_present(&ga.base, 1);
		csmp_pb_set_present(&ga.base, 2);
		csmp_tlvw_put(&tw, CSMP_TLV_GROUP_ASSIGN, &ga.base);
	}
	n = csmp_tlvw_finish(&tw);
	if (n < 0)
		return n;
	n = csmpd_sign(w, tw.buf, tw.len, tw.cap);
	if (n < 0)
		return n;
	tw.len = (size_t)n;
	csmp_coap_enc_payload_end(&e, &tw);
	return csmp_coap_enc_finish(&e);
}

static void on_registration(struct csmpd_worker *w, struct csmpd_rx *rx)
{
	struct csmpd_daemon *d = w->d;
	struct csmpd_device *dev;
	struct csmpd_tx *tx;
	struct msgctx mc;
	bool new_device, assign_group, group_set, durable;
	__u64 seq = 0;
	__u32 group;
	__u64 ph = peer_hash(&rx->peer);
	__u64 eid = rx->cls.eid;
	char a[80];
	int n;

	/* A repeat of an answered exchange: the same bytes, nothing else. */
	dev = (rx->cls.flags & CSMP_CF_EID) ?
		      csmpd_dev_by_eid(&w->shard, eid) : NULL;
	if (dev && dev->ack_expire_ns > w->now_ns &&
	    dev->ack_mid == rx->cls.mid && dev->ack_peer == ph) {
		if (!csmpd_seq_committed(w, dev->ack_seq)) {
			/* Its answer is parked: no second record and no
			 * answer before the record is durable. */
			CSMPD_INC(&w->ctr, reg_dup_held);
			CSMPD_INC(&w->ctr, reason[CSMP_R_DUPLICATE]);
			return;
		}
		tx = reply_start(w, rx);
		if (!tx)
			return;
		memcpy(tx->buf, dev->ack, dev->ack_len);
		tx->len = dev->ack_len;
		csmpd_tx_queue(w, tx);
		CSMPD_INC(&w->ctr, reg_dup);
		CSMPD_INC(&w->ctr, reason[CSMP_R_DUPLICATE]);
		return;
	}

	msgctx_init(&mc, rx);
	walk_tlvs(w, &mc);
	if (!(rx->cls.flags & CSMP_CF_EID) || !mc.has_time) {
		CSMPD_INC(&w->ctr, reg_bad);
		CSMPD_INC(&w->ctr, reason[CSMP_R_MISSING_TLV]);
		csmpd_log(CSMPD_WARNING, "REG_BAD",
			  "registration from %s without %s: 4.00",
			  csmpd_addr_str(&rx->peer, a, sizeof(a)),
			  !(rx->cls.flags & CSMP_CF_EID) ? "DeviceID" :
							   "CurrentTime");
		reply_code(w, rx, CSMP_COAP_BAD_REQUEST);
		return;
	}
	if (!csmpd_policy_allowed(w, eid)) {
		CSMPD_INC(&w->ctr, reg_refused);
		CSMPD_INC(&w->ctr, reason[CSMP_R_POLICY_REFUSED]);
		csmpd_log(CSMPD_WARNING, "REG_REFUSED",
			  "device %016llX at %s is not allowed: 4.03",
			  (unsigned long long)eid,
			  csmpd_addr_str(&rx->peer, a, sizeof(a)));
		reply_code(w, rx, CSMP_COAP_FORBIDDEN);
		return;
	}

	durable = csmpd_registry_durable(d);
	if (durable && csmpd_park_full(w)) {
		/* Every parking place waits for a commit: answer nothing
		 * and change nothing; the device registers again. */
		CSMPD_INC(&w->ctr, reg_withheld);
		csmpd_log(CSMPD_WARNING, "REG_DEFERRED",
			  "device %016llX: %u answers wait for the registry: "
			  "not answered, the device will retry",
			  (unsigned long long)eid, w->n_parked);
		return;
	}

	new_device = !dev;
	if (!dev) {
		dev = csmpd_dev_add(&w->shard, eid);
		if (!dev || assign_session(w, dev)) {
			CSMPD_INC(&w->ctr, dropped);
			csmpd_log(CSMPD_ERR, "REG_FAIL",
				  "device %016llX: no memory for its state",
				  (unsigned long long)eid);
			return;
		}
		CSMPD_INC(&w->ctr, devices);
	}
	dev->has_group = mc.has_group;
	dev->group_id = mc.group_id;
	group_set = csmpd_policy_config_group(w, eid, &group);
	assign_group = group_set && (!mc.has_group || mc.group_id != group);

	tx = reply_start(w, rx);
	if (!tx)
		return;
	n = build_reg_ack(w, rx, dev, assign_group, group, tx);
	if (n < 0) {
		csmpd_tx_release(w, tx);
		CSMPD_INC(&w->ctr, dropped);
		return;
	}
	tx->len = (__u16)n;

	dev->registered_at = w->now;
	dev->last_seen = w->now;
	dev->registrations++;
	dev->peer = rx->peer;
	dev->via = rx->dst;
	csmpd_dev_store_tlvs(w, dev, mc.pl, mc.pl_len);
	if (registered(w, dev, new_device, &seq) && durable) {
		/* Not queued for the registry: an answer now could be
		 * lost with us. The device registers again. */
		csmpd_tx_release(w, tx);
		CSMPD_INC(&w->ctr, reg_withheld);
		return;
	}
	if (!durable)
		seq = 0;
	if (seq) {
		csmpd_tx_park(w, tx, seq);
	} else {
		csmpd_tx_queue(w, tx);
		CSMPD_INC(&w->ctr, reg_ok);
	}

	if (n <= CSMPD_ACK_CACHE_MAX) {
		memcpy(dev->ack, tx->buf, (size_t)n);
		dev->ack_len = (__u16)n;
		dev->ack_seq = seq;
		dev->ack_mid = rx->cls.mid;
		dev->ack_peer = ph;
		dev->ack_expire_ns = w->now_ns +
				     (__u64)d->cfg.exchange_lifetime *
					     1000000000ull;
	}
	csmpd_log(CSMPD_INFO, "REGISTERED",
		  "device %016llX at %s registered, session %s%s%s",
		  (unsigned long long)eid,
		  csmpd_addr_str(&rx->peer, a, sizeof(a)), dev->session,
		  assign_group ? ", group assigned" : "",
		  seq ? ", answer waits for the registry commit" : "");
}

/* ---- reports ----------------------------------------------------------- */

/* The SessionID string of a report (its first TLV). */
static int report_session(const struct csmpd_rx *rx, const char **sid,
			  __u32 *len)
{
	const __u8 *pl = rx->data + rx->cls.payload_off;
	struct csmp_tlv_iter it;
	struct csmp_tlv t;
	__u32 off, l;
	__u16 b;

	csmp_tlv_init(&it, pl, rx->len - rx->cls.payload_off);
	if (csmp_tlv_next(&it, &t) <= 0 || t.type != CSMP_TLV_SESSION_ID)
		return -ENOENT;
	if (csmp_sessionid(pl + t.off, t.len, &off, &l, &b) < 0)
		return -EINVAL;
	*sid = (const char *)pl + t.off + off;
	*len = l;
	return 0;
}

static void on_report(struct csmpd_worker *w, struct csmpd_rx *rx)
{
	struct csmpd_device *dev = NULL;
	struct msgctx mc;
	const char *sid = NULL;
	__u32 sl;
	char a[80];
	int dropped;

	if (!report_session(rx, &sid, &sl))
		dev = csmpd_dev_by_session(&w->shard, sid, sl);
	if (!dev) {
		CSMPD_INC(&w->ctr, reports_unknown);
		CSMPD_INC(&w->ctr, reason[CSMP_R_UNKNOWN_SESSION]);
		csmpd_log(CSMPD_NOTICE, "UNKNOWN_SESSION",
			  "report from %s with unknown SessionID '%.*s'",
			  csmpd_addr_str(&rx->peer, a, sizeof(a)),
			  (int)(sid ? sl : 0), sid ? sid : "");
		return;
	}
	msgctx_init(&mc, rx);
	walk_tlvs(w, &mc);
	dev->last_seen = w->now;
	dev->reports++;
	dev->peer = rx->peer;
	dev->via = rx->dst;
	dropped = csmpd_dev_store_tlvs(w, dev, mc.pl, mc.pl_len);
	CSMPD_INC(&w->ctr, reports);
	csmpd_log(CSMPD_DEBUG, "REPORT",
		  "device %016llX session %s: report of %u TLVs%s",
		  (unsigned long long)dev->eid, dev->session, rx->cls.n_tlvs,
		  dropped > 0 ? " (some not kept: over the per-device bound)" :
				"");
	reported(w, dev);
}

/* ---- notifications ------------------------------------------------------ */

static void on_notification(struct csmpd_worker *w, struct csmpd_rx *rx)
{
	struct csmpd_device *dev;
	struct msgctx mc;
	char a[80], tl[80];
	unsigned int i;
	int o = 0;

	msgctx_init(&mc, rx);
	walk_tlvs(w, &mc);
	dev = csmpd_dev_by_eid(&w->shard, rx->cls.eid);
	if (dev) {
		dev->last_seen = w->now;
		dev->peer = rx->peer;
	}
	CSMPD_INC(&w->ctr, notifications);
	csmpd_addr_str(&rx->peer, a, sizeof(a));
	if (!mc.has_notify) {
		csmpd_log(CSMPD_NOTICE, "DEVICE_NOTIFY",
			  "device %016llX at %s: notification that does not decode (TLV %u: %s)",
			  (unsigned long long)rx->cls.eid, a,
			  mc.decode_err_type, strerror(-mc.decode_err));
		return;
	}
	tl[0] = 0;
	for (i = 0; i < mc.n_notify_tlvs && o < (int)sizeof(tl) - 12; i++)
		o += snprintf(tl + o, sizeof(tl) - (size_t)o, "%s%u",
			      i ? "," : " tlvs ", mc.notify_tlvs[i]);
	if (mc.notify_code == CSMP_NOTIFY_SIG_ERROR) {
		CSMPD_INC(&w->ctr, notify_sig_reject);
		csmpd_log(CSMPD_CRIT, "DEVICE_SIG_REJECT",
			  "device %016llX at %s rejected our answer's signature (CGMSNotification code 2): check NMS key and clock synchronisation",
			  (unsigned long long)rx->cls.eid, a);
	} else {
		csmpd_log(CSMPD_NOTICE, "DEVICE_NOTIFY",
			  "device %016llX at %s: CGMSNotification code %u%s",
			  (unsigned long long)rx->cls.eid, a, mc.notify_code,
			  tl);
	}
	notified(w, dev, rx->cls.eid, mc.notify_code);
}

/* ---- routing and dispatch ------------------------------------------------ */

static int hex4(const char *s, unsigned int *v)
{
	unsigned int i, x = 0;

	for (i = 0; i < 4; i++) {
		int h = csmp_hexval((__u8)s[i]);

		if (h < 0)
			return -EINVAL;
		x = x << 4 | (unsigned int)h;
	}
	*v = x;
	return 0;
}

/*
 * The worker that owns the message's device (worker.c), or -1 when the
 * message has no owner (it is handled where it arrived).
 */
int csmpd_route(struct csmpd_worker *w, const struct csmpd_rx *rx)
{
	const struct csmpd_daemon *d = w->d;
	const char *sid;
	unsigned int backend;
	__u32 sl, bucket;

	if (d->n_workers == 1)
		return -1;
	switch (rx->cls.msg_class) {
	case CSMP_C_REGISTRATION:
	case CSMP_C_NOTIFICATION:
		if (!(rx->cls.flags & CSMP_CF_EID))
			return -1;
		return (int)csmpd_bucket_owner(d,
					       csmpd_eid_bucket(d, rx->cls.eid));
	case CSMP_C_REPORT:
		if (report_session(rx, &sid, &sl) ||
		    csmp_session_bucket((const __u8 *)sid, sl, &bucket) ||
		    hex4(sid, &backend) || backend != d->cfg.backend_id)
			return -1;	/* not one of ours: unknown anyway */
		return (int)csmpd_bucket_owner(d, bucket);
	default:
		return -1;
	}
}

/* One classified datagram, on the worker that owns its device. */
void csmpd_dispatch(struct csmpd_worker *w, struct csmpd_rx *rx)
{
	switch (rx->cls.msg_class) {
	case CSMP_C_REGISTRATION:
		on_registration(w, rx);
		break;
	case CSMP_C_REPORT:
		on_report(w, rx);
		break;
	case CSMP_C_NOTIFICATION:
		on_notification(w, rx);
		break;
	default:
		/* Responses and async replies belong to head-end requests
		 * (csmp-request); requests to a head-end are not ours. */
		CSMPD_INC(&w->ctr, dropped);
		break;
	}
}
