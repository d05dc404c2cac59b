// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * What a simulated device says and how it judges the head-end's answers,
 * after the OpenCSMP agent (csmp-wire-facts.md §1.3, §2, §4.3, §6.1, §8):
 *
 *  - registration: CON POST /r, no token, a new MID per attempt from one
 *    16-bit counter per device starting at 0, the agent's TLVs in the
 *    agent's order with 2-byte padded lengths; randomised backoff (first
 *    attempt at a random 0..Imin, then per round a random wait in [I/2, I]
 *    and the rest of I, I doubling up to Imax) until an ACK is accepted;
 *  - an answer with a token is dropped unseen; any 2.xx is a candidate; its
 *    signature is verified with the NMS public key and SignatureValidity
 *    must contain now; every other TLV must be one the agent can apply, and
 *    at least one must be (an empty body does not register an agent). A
 *    failure sends NON POST /c {DeviceID, CGMSNotification{code 2}} and the
 *    backoff simply continues;
 *  - registered: the first report at once, then one per ReportSubscribe
 *    interval T (a random point in [T/2, T] of each period): NON POST /c,
 *    SessionID and CurrentTime first, then the subscribed TLVs.
 *
 * Values are plausible rather than real: static descriptions derived from
 * the EID, counters that grow with the device's uptime.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "csmp.h"
#include "sig.h"
#include "sim.h"

/* Set a proto3 scalar and mark it present (it is written even when 0). */
#define PB(m, f, n, v)					\
	do {						\
		(m).f = (v);				\
		(m).f##_present_case = (n);		\
	} while (0)

/*
 * A message initialised from its descriptor. The generated *__INIT macros
 * trip -Wmissing-braces for oneofs holding bytes, so they are not used.
 */
#define PB_INIT(type, desc)						\
	({								\
		type _m;						\
		protobuf_c_message_init(&desc##__descriptor, &_m);			\
		_m;							\
	})

#define SIM_PEN_CISCO	5771	/* the agent sample's vendor TLV PEN */

struct sim_nms_key {
	struct csmp_key *key;
	struct csmp_key *other;		/* --wrong-key-share devices' key */
	struct csmp_verifier *verifier;
	struct csmp_arena arena;
	uint8_t arena_buf[8192];
};

uint64_t sim_dev_eid(const struct sim *s, uint32_t idx)
{
	return s->o.eid_base + idx;
}

/* A stable per-device hash for static values (splitmix64). */
static uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

int sim_proto_init(struct sim *s)
{
	struct csmp_verifier_opts vo = { .skew = 0, .replay_entries = 0 };
	struct sim_nms_key *k;
	int err;

	k = calloc(1, sizeof(*k));
	if (!k)
		return -ENOMEM;
	s->key = k;
	csmp_arena_init(&k->arena, k->arena_buf, sizeof(k->arena_buf));
	/* subs[0]: the empty list a fresh device starts with. */
	s->n_subs = 1;
	if (!s->o.nms_pubkey)
		return 0;
	err = csmp_key_load_pem(s->o.nms_pubkey, &k->key);
	if (err) {
		fprintf(stderr, "csmp-sim: %s: cannot load the NMS key: %s\n",
			s->o.nms_pubkey, strerror(-err));
		return err;
	}
	if (csmp_key_suite(k->key) != CSMP_SUITE_P256) {
		fprintf(stderr, "csmp-sim: %s: not a P-256 key (OpenCSMP "
			"verifies ECDSA P-256)\n", s->o.nms_pubkey);
		return -EPROTONOSUPPORT;
	}
	/*
	 * No skew: the agent checks notBefore <= now <= notAfter exactly. No
	 * replay cache: every ACK's signature is really computed.
	 */
	err = csmp_verifier_new(&vo, &k->verifier);
	if (err) {
		fprintf(stderr, "csmp-sim: verifier: %s\n", strerror(-err));
		return err;
	}
	/* Devices programmed with another NMS key: a real one, of which
	 * the head-end has no private half, so its signatures fail. */
	if (s->o.wrong_key_share > 0) {
		err = csmp_key_generate(CSMP_SUITE_P256, &k->other);
		if (err)
			fprintf(stderr, "csmp-sim: --wrong-key-share: %s\n",
				strerror(-err));
	}
	return err;
}

struct csmp_key *sim_dev_nms_key(const struct sim *s, uint32_t idx)
{
	if (s->dev[idx].flags & SIM_F_WRONG_KEY)
		return s->key->other;
	return s->key->key;
}

/* --stop-after: a device of the stopping share is gone from then on. */
bool sim_dev_down(const struct sim *s, uint32_t idx)
{
	return (s->dev[idx].flags & SIM_F_STOPS) && s->o.stop_after >= 0 &&
	       s->now >= s->t0 + (uint64_t)(s->o.stop_after * 1e9);
}

void sim_proto_fini(struct sim *s)
{
	if (!s->key)
		return;
	csmp_verifier_free(s->key->verifier);
	csmp_key_put(s->key->key);
	csmp_key_put(s->key->other);
	free(s->key);
	s->key = NULL;
}

/* ---- the device's TLVs ---- */

struct dev_ctx {
	struct sim *s;
	uint32_t idx;
	uint64_t eid;
	uint64_t h;		/* mix64(eid): static per-device values */
	uint32_t now_rt;	/* CLOCK_REALTIME seconds */
	uint32_t uptime;	/* seconds */
	char eid_hex[CSMP_EID_STRLEN];
	uint8_t eui[8];
	uint8_t iid[8];
};

static void ctx_init(struct dev_ctx *c, struct sim *s, uint32_t idx)
{
	c->s = s;
	c->idx = idx;
	c->eid = sim_dev_eid(s, idx);
	c->h = mix64(c->eid ^ s->o.seed);
	c->now_rt = (uint32_t)time(NULL);
	/* Booted up to a day before the run started. */
	c->uptime = (uint32_t)((s->now - s->t0) / NSEC_PER_SEC) +
		    (uint32_t)(c->h % 86400);
	csmp_eid_format(c->eid, c->eid_hex);
	csmp_eid_to_bytes(c->eid, c->eui);
	csmp_eid_to_iid(c->eid, c->iid);
}

static void put_device_id(struct csmp_tlvw *w, struct dev_ctx *c)
{
	Csmp__DeviceID m = PB_INIT(Csmp__DeviceID, csmp__device_id);

	PB(m, type, 1, CSMP_DEVICE_ID_EUI64);
	PB(m, id, 2, c->eid_hex);
	csmp_tlvw_put(w, CSMP_TLV_DEVICE_ID, &m.base);
}

static void put_current_time(struct csmp_tlvw *w, struct dev_ctx *c)
{
	Csmp__CurrentTime m = PB_INIT(Csmp__CurrentTime, csmp__current_time);

	PB(m, posix, 1, c->now_rt);
	PB(m, source, 3, 0);
	csmp_tlvw_put(w, CSMP_TLV_CURRENT_TIME, &m.base);
}

static void put_session_id(struct csmp_tlvw *w, struct dev_ctx *c)
{
	const struct sim_dev *d = &c->s->dev[c->idx];
	Csmp__SessionID m = PB_INIT(Csmp__SessionID, csmp__session_id);
	char id[sizeof(d->session) + 1];

	memcpy(id, d->session, d->session_len);
	id[d->session_len] = 0;
	PB(m, id, 1, id);
	csmp_tlvw_put(w, CSMP_TLV_SESSION_ID, &m.base);
}

static void put_hardware_desc(struct csmp_tlvw *w, struct dev_ctx *c)
{
	Csmp__HardwareDesc m = PB_INIT(Csmp__HardwareDesc, csmp__hardware_desc);

	PB(m, ent_physical_index, 1, 1);
	PB(m, ent_physical_descr, 2, "csmp-sim OpenCSMP node");
	PB(m, ent_physical_class, 5, 9);
	PB(m, ent_physical_name, 7, "lowpan");
	PB(m, ent_physical_hardware_rev, 8, "1.0");
	/* The RUN slot's version: a loaded image shows here after reboot. */
	PB(m, ent_physical_firmware_rev, 9,
	   (char *)sim_fw_running_version(c->s, c->idx));
	PB(m, ent_physical_serial_num, 11, c->eid_hex);
	PB(m, ent_physical_mfg_name, 12, "csmpd project");
	PB(m, ent_physical_model_name, 13, "CSMP-SIM");
	PB(m, ent_physical_function, 17, 1);	/* meter */
	csmp_tlvw_put(w, CSMP_TLV_HARDWARE_DESC, &m.base);
}

static void put_interface_desc(struct csmp_tlvw *w, struct dev_ctx *c)
{
	Csmp__InterfaceDesc lo = PB_INIT(Csmp__InterfaceDesc, csmp__interface_desc);
	Csmp__InterfaceDesc wp = PB_INIT(Csmp__InterfaceDesc, csmp__interface_desc);

	PB(lo, if_index, 1, 1);
	PB(lo, if_name, 2, "lo");
	PB(lo, if_descr, 3, "Loopback");
	PB(lo, if_type, 4, 24);
	csmp_tlvw_put(w, CSMP_TLV_INTERFACE_DESC, &lo.base);
	PB(wp, if_index, 1, 2);
	PB(wp, if_name, 2, "lowpan");
	PB(wp, if_descr, 3, "Ieee154");
	PB(wp, if_type, 4, 259);
	PB(wp, if_mtu, 5, 1280);
	PB(wp, if_phys_address, 6,
	   ((ProtobufCBinaryData){ .len = 8, .data = c->eui }));
	csmp_tlvw_put(w, CSMP_TLV_INTERFACE_DESC, &wp.base);
}

static void put_ip_address(struct csmp_tlvw *w, struct dev_ctx *c)
{
	uint8_t a[3][16] = { { [15] = 1 }, { 0xfe, 0x80 } };
	static const int ifidx[3] = { 1, 2, 2 }, plen[3] = { 128, 64, 64 };
	static const int origin[3] = { 2, 5, 5 };	/* manual, linklayer */

	memcpy(a[1] + 8, c->iid, 8);
	/* The global address is the one the device sends from. */
	memcpy(a[2], c->s->o.src_prefix.s6_addr, 8);
	memcpy(a[2] + 8, c->iid, 8);
	for (int i = 0; i < 3; i++) {
		Csmp__IPAddress m = PB_INIT(Csmp__IPAddress, csmp__ipaddress);

		PB(m, index, 1, i + 1);
		PB(m, addr_type, 2, 2);
		PB(m, addr, 3, ((ProtobufCBinaryData){ .len = 16, .data = a[i] }));
		PB(m, if_index, 4, ifidx[i]);
		PB(m, type, 5, 1);
		PB(m, origin, 6, origin[i]);
		PB(m, status, 7, 1);
		PB(m, pfx_len, 10, plen[i]);
		csmp_tlvw_put(w, CSMP_TLV_IP_ADDRESS, &m.base);
	}
}

static void put_ip_route(struct csmp_tlvw *w, struct dev_ctx *c)
{
	Csmp__IPRoute m = PB_INIT(Csmp__IPRoute, csmp__iproute);
	uint8_t any[16] = { 0 }, nh[16] = { 0xfe, 0x80 };

	/* Default route via a parent whose IID varies with the device. */
	for (int i = 8; i < 16; i++)
		nh[i] = (uint8_t)(c->h >> (8 * (i - 8)));
	PB(m, index, 1, 1);
	PB(m, dest_type, 2, 2);
	PB(m, dest, 3, ((ProtobufCBinaryData){ .len = 16, .data = any }));
	PB(m, pfx_len, 4, 0);
	PB(m, next_hop_type, 5, 4);
	PB(m, next_hop, 6, ((ProtobufCBinaryData){ .len = 16, .data = nh }));
	PB(m, if_index, 7, 2);
	csmp_tlvw_put(w, CSMP_TLV_IP_ROUTE, &m.base);
}

static void put_uptime(struct csmp_tlvw *w, struct dev_ctx *c)
{
	Csmp__Uptime m = PB_INIT(Csmp__Uptime, csmp__uptime);

	PB(m, sys_up_time, 1, c->uptime);
	csmp_tlvw_put(w, CSMP_TLV_UPTIME, &m.base);
}

static void put_interface_metrics(struct csmp_tlvw *w, struct dev_ctx *c)
{
	for (int i = 1; i <= 2; i++) {
		Csmp__InterfaceMetrics m = PB_INIT(Csmp__InterfaceMetrics, csmp__interface_metrics);
		/* A meter moves a few bytes a second; the radio a bit more. */
		uint32_t rate = (uint32_t)(i * 3 + (c->h >> (8 * i)) % 7);

		PB(m, if_index, 1, i);
		PB(m, if_in_speed, 2, i == 2 ? 150000 : 0);
		PB(m, if_out_speed, 3, i == 2 ? 150000 : 0);
		PB(m, if_admin_status, 4, 1);
		PB(m, if_oper_status, 5, 1);
		PB(m, if_last_change, 6, 0);
		PB(m, if_in_octets, 7, c->uptime * rate);
		PB(m, if_out_octets, 8, c->uptime * rate * 2 / 3);
		PB(m, if_in_discards, 9, c->uptime / 9000);
		PB(m, if_in_errors, 10, c->uptime / 20000);
		PB(m, if_out_discards, 11, 0);
		PB(m, if_out_errors, 12, c->uptime / 40000);
		csmp_tlvw_put(w, CSMP_TLV_INTERFACE_METRICS, &m.base);
	}
}

static void put_rpl_metrics(struct csmp_tlvw *w, struct dev_ctx *c)
{
	Csmp__IPRouteRPLMetrics m = PB_INIT(Csmp__IPRouteRPLMetrics, csmp__iproute_rplmetrics);
	int hops = 1 + (int)(c->h % 6);

	PB(m, route_index, 1, 1);
	PB(m, instance_index, 2, 1);
	PB(m, rank, 3, 256 * (hops + 1));
	PB(m, hops, 4, hops);
	PB(m, path_etx, 5, 128 * hops + (int)(c->h >> 8) % 64);
	PB(m, link_etx, 6, 128 + (int)(c->h >> 16) % 64);
	PB(m, rssi_forward, 7, -60 - (int)((c->h >> 24) % 30));
	PB(m, rssi_reverse, 8, -60 - (int)((c->h >> 32) % 30));
	PB(m, lqi_forward, 9, 0);
	PB(m, lqi_reverse, 10, 0);
	PB(m, dag_size, 11, 1000);
	csmp_tlvw_put(w, CSMP_TLV_IP_ROUTE_RPL_METRICS, &m.base);
}

static void put_wpan_status(struct csmp_tlvw *w, struct dev_ctx *c)
{
	Csmp__WPANStatus m = PB_INIT(Csmp__WPANStatus, csmp__wpanstatus);
	static uint8_t ssid[] = "csmp-sim";

	PB(m, if_index, 1, 2);
	PB(m, ssid, 2, ((ProtobufCBinaryData){ .len = sizeof(ssid) - 1,
					       .data = ssid }));
	PB(m, panid, 3, 0x1234);
	PB(m, dot1x_enabled, 5, 1);
	PB(m, security_level, 6, 5);
	PB(m, rank, 7, 256 * (2 + (uint32_t)(c->h % 6)));
	PB(m, beacon_valid, 8, 1);
	PB(m, beacon_version, 9, 1);
	PB(m, beacon_age, 10, (uint32_t)(c->h >> 40) % 600);
	PB(m, tx_power, 11, 20);
	PB(m, dag_size, 12, 1000);
	csmp_tlvw_put(w, CSMP_TLV_WPAN_STATUS, &m.base);
}

static void put_group_info(struct csmp_tlvw *w, struct dev_ctx *c)
{
	const struct sim_dev *d = &c->s->dev[c->idx];

	/* One TLV per group the device is in; none before any GroupAssign. */
	for (int t = 0; t < 2; t++) {
		Csmp__GroupInfo m = PB_INIT(Csmp__GroupInfo, csmp__group_info);

		if (!d->group[t])
			continue;
		PB(m, type, 1, (uint32_t)t + 1);
		PB(m, id, 2, d->group[t]);
		csmp_tlvw_put(w, CSMP_TLV_GROUP_INFO, &m.base);
	}
}

static void put_report_subscribe(struct csmp_tlvw *w, struct dev_ctx *c)
{
	const struct sim_dev *d = &c->s->dev[c->idx];
	const struct sim_sub *sub = &c->s->subs[d->sub];
	Csmp__ReportSubscribe m = PB_INIT(Csmp__ReportSubscribe, csmp__report_subscribe);
	char ids[SIM_SUB_TLVS][8], *p[SIM_SUB_TLVS];

	for (unsigned int i = 0; i < sub->n; i++) {
		snprintf(ids[i], sizeof(ids[i]), "%u", sub->ids[i]);
		p[i] = ids[i];
	}
	PB(m, interval, 1, d->report_ms / 1000);
	m.n_tlvid = sub->n;
	m.tlvid = p;
	csmp_tlvw_put(w, CSMP_TLV_REPORT_SUBSCRIBE, &m.base);
}

static void put_firmware_info(struct csmp_tlvw *w, struct dev_ctx *c)
{
	/* The three slots (firmware.c), in registration as in GET 75. */
	sim_fw_put_info(c->s, c->idx, w, 0);
}

static void put_vendor(struct csmp_tlvw *w, struct dev_ctx *c)
{
	static uint8_t val[32] = { [0 ... 31] = 0x01 };
	Csmp__VendorTlv v = PB_INIT(Csmp__VendorTlv, csmp__vendor_tlv);

	/* The agent sample's sub-entry 1, in the agent's framing (§3.2). */
	PB(v, sub_type, 1, 1);
	PB(v, value, 2, ((ProtobufCBinaryData){ .len = 32, .data = val }));
	csmp_tlvw_put_vendor_agent(w, SIM_PEN_CISCO, CSMP_TLV_VENDOR, &v);
}

/* The TLV(s) for one id; ids the device does not support are skipped. */
static void put_tlv(struct csmp_tlvw *w, struct dev_ctx *c, uint32_t id)
{
	switch (id) {
	case CSMP_TLV_DEVICE_ID:
		put_device_id(w, c);
		break;
	case CSMP_TLV_CURRENT_TIME:
		put_current_time(w, c);
		break;
	case CSMP_TLV_SESSION_ID:
		put_session_id(w, c);
		break;
	case CSMP_TLV_HARDWARE_DESC:
		put_hardware_desc(w, c);
		break;
	case CSMP_TLV_INTERFACE_DESC:
		put_interface_desc(w, c);
		break;
	case CSMP_TLV_REPORT_SUBSCRIBE:
		put_report_subscribe(w, c);
		break;
	case CSMP_TLV_IP_ADDRESS:
		put_ip_address(w, c);
		break;
	case CSMP_TLV_IP_ROUTE:
		put_ip_route(w, c);
		break;
	case CSMP_TLV_UPTIME:
		put_uptime(w, c);
		break;
	case CSMP_TLV_INTERFACE_METRICS:
		put_interface_metrics(w, c);
		break;
	case CSMP_TLV_IP_ROUTE_RPL_METRICS:
		put_rpl_metrics(w, c);
		break;
	case CSMP_TLV_WPAN_STATUS:
		put_wpan_status(w, c);
		break;
	case CSMP_TLV_GROUP_INFO:
		put_group_info(w, c);
		break;
	case CSMP_TLV_FIRMWARE_IMAGE_INFO:
		put_firmware_info(w, c);
		break;
	case CSMP_TLV_VENDOR:
		put_vendor(w, c);
		break;
	default:
		break;
	}
}

/* For devserver.c: what a GET of one TLV id answers. */
void sim_dev_put_tlv(struct sim *s, uint32_t idx, struct csmp_tlvw *w,
		     uint32_t id)
{
	struct dev_ctx c;

	ctx_init(&c, s, idx);
	put_tlv(w, &c, id);
}

/* register_timer_fired()'s order (wire facts §6.1). */
static const uint16_t reg_tlvs[] = {
	CSMP_TLV_DEVICE_ID, CSMP_TLV_CURRENT_TIME, CSMP_TLV_HARDWARE_DESC,
	CSMP_TLV_INTERFACE_DESC, CSMP_TLV_IP_ADDRESS, CSMP_TLV_IP_ROUTE,
	CSMP_TLV_INTERFACE_METRICS, CSMP_TLV_IP_ROUTE_RPL_METRICS,
	CSMP_TLV_WPAN_STATUS, CSMP_TLV_GROUP_INFO, CSMP_TLV_REPORT_SUBSCRIBE,
	CSMP_TLV_FIRMWARE_IMAGE_INFO, CSMP_TLV_VENDOR,
};

enum msg_kind { MSG_REGISTER, MSG_REPORT, MSG_NOTIFY, MSG_ASYNC };

/* A notification's code, failed TLVs and echoed token; an async answer. */
struct send_args {
	uint32_t code;
	const uint32_t *tlvs;
	unsigned int n_tlvs;
	const uint8_t *token;
	uint8_t tkl;
	const uint8_t *raw;
	size_t raw_len;
};

/* Build and queue one client request; returns 0 or -errno (not sent). */
static int dev_send(struct sim *s, uint32_t idx, enum msg_kind kind,
		    const struct send_args *x)
{
	struct sim_dev *d = &s->dev[idx];
	struct csmp_coap_enc e;
	struct csmp_tlvw w;
	struct dev_ctx c;
	uint8_t *buf;
	int len;

	ctx_init(&c, s, idx);
	buf = sim_tx_slot(s, idx);
	csmp_coap_enc_init(&e, buf, SIM_BUF,
			   kind == MSG_REGISTER ? CSMP_COAP_CON : CSMP_COAP_NON,
			   CSMP_COAP_POST, d->mid,
			   x && x->tkl ? x->token : NULL, x ? x->tkl : 0);
	csmp_coap_enc_path(&e, kind == MSG_REGISTER ? "r" : "c");
	csmp_coap_enc_payload_begin(&e, &w, CSMP_TLVW_PAD);
	switch (kind) {
	case MSG_REGISTER:
		for (size_t i = 0; i < sizeof(reg_tlvs) / sizeof(reg_tlvs[0]); i++)
			put_tlv(&w, &c, reg_tlvs[i]);
		break;
	case MSG_REPORT: {
		const struct sim_sub *sub = &s->subs[d->sub];

		put_session_id(&w, &c);
		put_current_time(&w, &c);
		for (unsigned int i = 0; i < sub->n; i++)
			if (sub->ids[i] != CSMP_TLV_SESSION_ID &&
			    sub->ids[i] != CSMP_TLV_CURRENT_TIME)
				put_tlv(&w, &c, sub->ids[i]);
		break;
	}
	case MSG_NOTIFY: {
		Csmp__CGMSNotification n = PB_INIT(Csmp__CGMSNotification, csmp__cgmsnotification);

		put_device_id(&w, &c);
		PB(n, code, 1, x->code);
		n.n_tlvs = x->n_tlvs;
		n.tlvs = (uint32_t *)x->tlvs;
		csmp_tlvw_put(&w, CSMP_TLV_CGMS_NOTIFICATION, &n.base);
		break;
	}
	case MSG_ASYNC:
		/* The answer made when the NON request came, as it was. */
		if (x->raw_len > w.cap - w.len) {
			w.err = -ENOSPC;
			break;
		}
		memcpy(w.buf + w.len, x->raw, x->raw_len);
		w.len += x->raw_len;
		break;
	}
	if (s->up)	/* --uplink-sign (uplink.c) */
		sim_uplink_sign(s, idx, &w, kind == MSG_REPORT);
	csmp_coap_enc_payload_end(&e, &w);
	len = csmp_coap_enc_finish(&e);
	if (len < 0) {
		s->st.tx_errors++;
		return len;
	}
	/* Every client request takes the next MID (wire facts §2). */
	d->mid++;
	sim_tx_commit(s, idx, (size_t)len);
	return 0;
}

/* ---- behaviour ---- */

/*
 * Exactly floor(N x F) devices of a share, spread evenly over the fleet:
 * device i is in when floor((i + 1) F) > floor(i F).
 */
static bool in_share(uint32_t i, double f)
{
	return f > 0 && (uint64_t)((double)(i + 1) * f) > (uint64_t)((double)i * f);
}

void sim_dev_init(struct sim *s, uint32_t idx)
{
	struct sim_dev *d = &s->dev[idx];
	uint64_t h = mix64(sim_dev_eid(s, idx) ^ mix64(s->o.seed));

	d->rng = (uint32_t)h | 1;	/* xorshift state must not be 0 */
	d->state = SIM_UNREG;
	d->mid = 0;
	/* The wrong-key share counts from the other end of the fleet. */
	if (s->o.stop_after >= 0 && in_share(idx, s->o.stop_share)) {
		d->flags |= SIM_F_STOPS;
		s->n_stops++;
	}
	if (in_share(s->o.devices - 1 - idx, s->o.wrong_key_share)) {
		d->flags |= SIM_F_WRONG_KEY;
		s->n_wrong_key++;
	}
	if (s->o.rate > 0)
		return;		/* open loop: the pacer decides */
	d->ival_ms = (uint32_t)(s->o.reg_min * 1e3);
	/* First attempt at a random point of 0..Imin. */
	sim_timer_set(s, idx, s->now +
		      sim_rand_between(&d->rng, 0, (uint64_t)d->ival_ms) *
		      NSEC_PER_MSEC);
}

static void reg_attempt(struct sim *s, uint32_t idx)
{
	struct sim_dev *d = &s->dev[idx];

	if (!d->first_try)
		d->first_try = s->now;
	d->last_try = s->now;
	d->attempts++;
	s->st.reg_attempts++;
	dev_send(s, idx, MSG_REGISTER, NULL);
}

void sim_dev_register_now(struct sim *s, uint32_t idx)
{
	reg_attempt(s, idx);
}

/* Open-loop reports (load): only a registered device has a session. */
bool sim_dev_report_now(struct sim *s, uint32_t idx)
{
	if (s->dev[idx].state != SIM_REG)
		return false;
	if (dev_send(s, idx, MSG_REPORT, NULL) == 0)
		s->st.reports_sent++;
	return true;
}

static void report_next(struct sim *s, uint32_t idx)
{
	struct sim_dev *d = &s->dev[idx];
	uint64_t t = (uint64_t)d->report_ms * NSEC_PER_MSEC;
	uint64_t start = d->round_end;

	/* One report per period T, at a random point of its second half. */
	d->round_end = start + t;
	sim_timer_set(s, idx, start + sim_rand_between(&d->rng, t / 2, t));
}

/*
 * A reboot (firmware load, RebootRequest): the agent starts again, its
 * MID counter from 0, and registers from the first backoff round.
 */
void sim_dev_reboot(struct sim *s, uint32_t idx)
{
	struct sim_dev *d = &s->dev[idx];

	s->st.reboots++;
	d->state = SIM_UNREG;
	d->mid = 0;
	d->attempts = 0;
	d->async_gen++;		/* a pending asynchronous answer is lost */
	d->ival_ms = (uint32_t)(s->o.reg_min * 1e3);
	sim_timer_set(s, idx, s->now +
		      sim_rand_between(&d->rng, 0, (uint64_t)d->ival_ms) *
		      NSEC_PER_MSEC);
}

void sim_dev_timer(struct sim *s, uint32_t idx)
{
	struct sim_dev *d = &s->dev[idx];
	uint64_t start, ival;

	if (sim_dev_down(s, idx))
		return;		/* gone: no reports, no registrations */
	if (d->state == SIM_REG) {
		if (!d->report_ms)
			return;
		if (dev_send(s, idx, MSG_REPORT, NULL) == 0)
			s->st.reports_sent++;
		report_next(s, idx);
		return;
	}
	reg_attempt(s, idx);
	if (d->attempts == 1) {
		start = s->now;
	} else {
		start = d->round_end;
		d->ival_ms = d->ival_ms * 2 > (uint32_t)(s->o.reg_max * 1e3) ?
			     (uint32_t)(s->o.reg_max * 1e3) : d->ival_ms * 2;
	}
	ival = (uint64_t)d->ival_ms * NSEC_PER_MSEC;
	d->round_end = start + ival;
	sim_timer_set(s, idx, start + sim_rand_between(&d->rng, ival / 2, ival));
}

/* Intern a ReportSubscribe list; most devices share one. */
static uint8_t sub_intern(struct sim *s, const Csmp__ReportSubscribe *rs)
{
	struct sim_sub n = { 0 };

	for (size_t i = 0; i < rs->n_tlvid && n.n < SIM_SUB_TLVS; i++) {
		struct csmp_tlvid id;

		if (!rs->tlvid[i] ||
		    csmp_tlvid_parse(rs->tlvid[i], strlen(rs->tlvid[i]), &id) ||
		    id.pen || id.type > UINT16_MAX)
			continue;	/* vendor ids: not simulated */
		n.ids[n.n++] = (uint16_t)id.type;
	}
	for (unsigned int i = 0; i < s->n_subs; i++)
		if (!memcmp(&s->subs[i], &n, sizeof(n)))
			return (uint8_t)i;
	if (s->n_subs == SIM_MAX_SUBS)
		return 0;
	s->subs[s->n_subs] = n;
	return (uint8_t)s->n_subs++;
}

uint8_t sim_dev_sub_intern(struct sim *s, const Csmp__ReportSubscribe *rs)
{
	return sub_intern(s, rs);
}

static void reject(struct sim *s, uint32_t idx)
{
	struct send_args x = { .code = CSMP_NOTIFY_SIG_ERROR };

	/* The agent reports every failed registration answer as code 2. */
	if (dev_send(s, idx, MSG_NOTIFY, &x) == 0)
		s->st.notifications_sent++;
}

int sim_dev_notify(struct sim *s, uint32_t idx, uint32_t code,
		   const uint32_t *tlvs, unsigned int n_tlvs,
		   const uint8_t *token, uint8_t tkl)
{
	struct send_args x = { .code = code, .tlvs = tlvs, .n_tlvs = n_tlvs,
			       .token = token, .tkl = tkl };
	int err = dev_send(s, idx, MSG_NOTIFY, &x);

	if (!err)
		s->st.notifications_sent++;
	return err;
}

int sim_dev_send_async(struct sim *s, uint32_t idx, const uint8_t *tlvs,
		       size_t len)
{
	struct send_args x = { .raw = tlvs, .raw_len = len };
	int err = dev_send(s, idx, MSG_ASYNC, &x);

	if (!err)
		s->st.async_sent++;
	return err;
}

/* Apply the ACK body: 0 when the agent would accept it, -errno otherwise. */
static int apply_ack(struct sim *s, uint32_t idx, const uint8_t *p,
		     uint32_t len)
{
	struct sim_dev *d = &s->dev[idx];
	struct sim_nms_key *k = s->key;
	struct csmp_tlv_iter it;
	struct csmp_tlv t;
	unsigned int used = 0;
	int r;

	csmp_tlv_init(&it, p, len);
	while ((r = csmp_tlv_next(&it, &t)) == 1) {
		ProtobufCMessage *m;

		csmp_arena_reset(&k->arena);
		switch (t.type) {
		case CSMP_TLV_SIGNATURE:
		case CSMP_TLV_SIGNATURE_VALIDITY:
			continue;	/* checked before, skipped in this pass */
		case CSMP_TLV_SESSION_ID: {
			uint32_t off, slen;
			uint16_t be;

			if (csmp_sessionid(p + t.off, t.len, &off, &slen, &be) < 0)
				return -EINVAL;
			memcpy(d->session, p + t.off + off, slen);
			d->session_len = (uint8_t)slen;
			break;
		}
		case CSMP_TLV_REPORT_SUBSCRIBE: {
			const Csmp__ReportSubscribe *rs;

			if (csmp_tlv_decode(&k->arena, p, &t, &m))
				return -EBADMSG;
			rs = (const Csmp__ReportSubscribe *)m;
			if (rs->interval_present_case)
				d->report_ms = rs->interval * 1000;
			d->sub = sub_intern(s, rs);
			break;
		}
		case CSMP_TLV_GROUP_ASSIGN: {
			const Csmp__GroupAssign *ga;

			if (csmp_tlv_decode(&k->arena, p, &t, &m))
				return -EBADMSG;
			ga = (const Csmp__GroupAssign *)m;
			if (!ga->type_present_case || !ga->id_present_case ||
			    ga->type < 1 || ga->type > 2)
				return -EINVAL;
			if (ga->type == CSMP_GROUP_FIRMWARE &&
			    sim_radio_join(s, idx, ga->id))
				return -EINVAL;
			d->group[ga->type - 1] = ga->id;
			break;
		}
		case CSMP_TLV_CURRENT_TIME:
		case CSMP_TLV_GROUP_MATCH:
		case CSMP_TLV_SIGNATURE_SETTINGS:
			break;	/* accepted; the simulated clock is the host's */
		default:
			/* e.g. NMSRedirectRequest (6), CGMSSettings (42). */
			return -EOPNOTSUPP;
		}
		used++;
	}
	if (r < 0)
		return r;
	return used ? 0 : -ENODATA;
}

static bool verify_ack(struct sim *s, uint32_t idx, const uint8_t *p,
		       uint32_t len)
{
	struct sim_nms_key *k = s->key;
	struct csmp_verify_item item;
	uint8_t res;

	if (!s->o.verify_every || s->verify_n++ % s->o.verify_every) {
		s->st.acks_unverified++;
		return true;
	}
	csmp_verify_item_init(&item, p, len, sim_dev_nms_key(s, idx));
	csmp_verify_batch(k->verifier, &item, 1, &res, (uint64_t)time(NULL));
	switch (res) {
	case CSMP_R_OK:
		s->st.acks_verified++;
		return true;
	case CSMP_R_SIG_EXPIRED:
	case CSMP_R_SIG_NOT_YET:
		s->st.acks_bad_validity++;
		return false;
	default:
		s->st.acks_bad_signature++;
		return false;
	}
}

void sim_dev_rx(struct sim *s, uint32_t idx, const uint8_t *buf, size_t len)
{
	struct sim_dev *d = &s->dev[idx];
	struct csmp_coap_msg m;
	const uint8_t *p;
	bool again;

	if (sim_dev_down(s, idx))
		return;
	if (sim_radio_lost(s, idx)) {
		s->st.rx_lost++;
		return;
	}
	if (csmp_coap_parse(buf, (uint32_t)len, &m)) {
		s->st.rx_malformed++;
		return;
	}
	if (!d->first_try || m.type != CSMP_COAP_ACK) {
		s->st.acks_unexpected++;
		return;
	}
	if (m.tkl) {
		s->st.acks_token++;	/* coapclient: if (tkl) return; */
		return;
	}
	if ((m.code >> 5) != 2) {
		s->st.acks_error_code++;	/* 4.03 etc.: keep retrying */
		return;
	}
	s->st.acks_2xx++;
	s->last_rx = s->now;
	again = d->state == SIM_REG;
	if (again && s->o.rate <= 0) {
		s->st.acks_unexpected++;	/* a late duplicate */
		return;
	}
	/* RTT: until the kernel had the answer; latency: until verified. */
	sim_hist_add(&s->rtt, (s->rx_at > d->last_try ? s->rx_at - d->last_try : 0) / 1000);
	p = buf + m.payload_off;
	if (!verify_ack(s, idx, p, m.payload_len)) {
		reject(s, idx);
		return;
	}
	if (apply_ack(s, idx, p, m.payload_len)) {
		s->st.acks_rejected++;
		reject(s, idx);
		return;
	}
	if (s->o.report_interval >= 0)
		d->report_ms = (uint32_t)(s->o.report_interval * 1e3);
	d->state = SIM_REG;
	/* Registered before: --rate's repeats, or after a reboot. */
	again = again || d->reg_at;
	d->reg_at = s->now;
	s->last_reg = s->now;
	if (again) {
		s->st.reregistrations++;
	} else {
		s->st.registered++;
		sim_hist_add(&s->lat, (s->now - d->first_try) / 1000);
		/* The wrong-key share never registers. */
		if (s->st.registered == s->o.devices - s->n_wrong_key)
			s->all_registered_at = s->now;
	}
	sim_timer_set(s, idx, 0);
	if (!d->report_ms || (s->o.rate > 0 && s->o.report_interval <= 0))
		return;
	/* The first report right after registration, then one per period. */
	if (dev_send(s, idx, MSG_REPORT, NULL) == 0)
		s->st.reports_sent++;
	d->round_end = s->now;
	report_next(s, idx);
}
