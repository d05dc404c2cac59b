// SPDX-License-Identifier: GPL-2.0-only
/*
 * csmpd's protocol layer in-process: a daemon's state with one worker and
 * no socket, thread or privilege; datagrams handed to the worker's batch
 * (csmpd_batch: classify, route, verify, the handlers) and the answers
 * read from its send queue. The rules csmpd's net tests check through
 * namespaces, here without root: registration (4.00 without DeviceID or
 * CurrentTime, 4.03 under an allowlist, GroupAssign only when the group
 * differs, a repeated MID answered with the identical bytes, one
 * signature for identical answers), reports of known and unknown
 * sessions, CGMSNotification code 2, malformed datagrams by reason.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "kselftest_harness.h"
#include "csmpd.h"
#include "tlvmsg.h"
#include "coapmsg.h"

#define EID_TEXT	"0A0027FFFE3B2AB2"
#define EID		0x0A0027FFFE3B2AB2ull

struct dgram {
	__u8 buf[CSMP_MAX_DGRAM];
	int len;
};

/* CON POST /r: DeviceID and/or CurrentTime, an optional GroupInfo. */
static void reg(struct dgram *g, __u16 mid, bool with_eid, bool with_time,
		int group)
{
	Csmp__DeviceID did = CSMP__DEVICE_ID__INIT;
	Csmp__CurrentTime ct = CSMP__CURRENT_TIME__INIT;
	Csmp__GroupInfo gi = CSMP__GROUP_INFO__INIT;
	struct csmp_coap_enc e;
	struct csmp_tlvw w;

	csmp_coap_enc_init(&e, g->buf, sizeof(g->buf), CSMP_COAP_CON,
			   CSMP_COAP_POST, mid, NULL, 0);
	csmp_coap_enc_path(&e, "r");
	csmp_coap_enc_payload_begin(&e, &w, CSMP_TLVW_PAD);
	if (with_eid) {
		did.type = 1;
		did.id = EID_TEXT;
		csmp_pb_set_present(&did.base, 1);
		csmp_pb_set_present(&did.base, 2);
		csmp_tlvw_put(&w, CSMP_TLV_DEVICE_ID, &did.base);
	}
	if (with_time) {
		ct.posix = 1700000000;
		csmp_pb_set_present(&ct.base, 1);
		csmp_tlvw_put(&w, CSMP_TLV_CURRENT_TIME, &ct.base);
	}
	if (group >= 0) {
		gi.type = CSMP_GROUP_CONFIG;
		gi.id = (__u32)group;
		csmp_pb_set_present(&gi.base, 1);
		csmp_pb_set_present(&gi.base, 2);
		csmp_tlvw_put(&w, CSMP_TLV_GROUP_INFO, &gi.base);
	}
	csmp_coap_enc_payload_end(&e, &w);
	g->len = csmp_coap_enc_finish(&e);
}

/* NON POST /c: a report (SessionID first, then an Uptime). */
static void report(struct dgram *g, __u16 mid, const char *session)
{
	Csmp__SessionID sid = CSMP__SESSION_ID__INIT;
	Csmp__Uptime up = CSMP__UPTIME__INIT;
	struct csmp_coap_enc e;
	struct csmp_tlvw w;

	csmp_coap_enc_init(&e, g->buf, sizeof(g->buf), CSMP_COAP_NON,
			   CSMP_COAP_POST, mid, NULL, 0);
	csmp_coap_enc_path(&e, "c");
	csmp_coap_enc_payload_begin(&e, &w, CSMP_TLVW_PAD);
	sid.id = (char *)session;
	csmp_pb_set_present(&sid.base, 1);
	csmp_tlvw_put(&w, CSMP_TLV_SESSION_ID, &sid.base);
	up.sys_up_time = 4242;
	csmp_pb_set_present(&up.base, 1);
	csmp_tlvw_put(&w, CSMP_TLV_UPTIME, &up.base);
	csmp_coap_enc_payload_end(&e, &w);
	g->len = csmp_coap_enc_finish(&e);
}

/* NON POST /c: DeviceID and a CGMSNotification with this code. */
static void notification(struct dgram *g, __u16 mid, __u32 code)
{
	Csmp__DeviceID did = CSMP__DEVICE_ID__INIT;
	Csmp__CGMSNotification n = CSMP__CGMSNOTIFICATION__INIT;
	struct csmp_coap_enc e;
	struct csmp_tlvw w;

	csmp_coap_enc_init(&e, g->buf, sizeof(g->buf), CSMP_COAP_NON,
			   CSMP_COAP_POST, mid, NULL, 0);
	csmp_coap_enc_path(&e, "c");
	csmp_coap_enc_payload_begin(&e, &w, CSMP_TLVW_PAD);
	did.type = 1;
	did.id = EID_TEXT;
	csmp_pb_set_present(&did.base, 1);
	csmp_pb_set_present(&did.base, 2);
	csmp_tlvw_put(&w, CSMP_TLV_DEVICE_ID, &did.base);
	n.code = code;
	csmp_pb_set_present(&n.base, 1);
	csmp_tlvw_put(&w, CSMP_TLV_CGMS_NOTIFICATION, &n.base);
	csmp_coap_enc_payload_end(&e, &w);
	g->len = csmp_coap_enc_finish(&e);
}

FIXTURE(proto) {
	struct csmpd_daemon *d;
	struct csmpd_worker *w;
};

/*
 * What main.c does before the sockets, for one worker: the command line
 * through the option table (the real parser and defaults), then the
 * policy, the worker's state, the key store and verification. extra:
 * more options, NULL-terminated.
 */
static void daemon_up(struct __test_metadata *_metadata,
		      struct csmpd_daemon **out, struct csmpd_worker **wout,
		      bool sign, const char *const *extra)
{
	const char *argv[32] = { "csmpd", "--unsigned", "--workers", "1",
				 "--backend-id", "00a1", "--report-tlvs",
				 "22,35", "--log-level", "0" };
	struct csmpd_daemon *d = calloc(1, sizeof(*d));
	struct csmpd_config *c;
	int argc = 10;
	unsigned int i;
	bool done = true;

	ASSERT_NE(NULL, d);
	while (extra && *extra && argc < 31)
		argv[argc++] = *extra++;
	c = &d->cfg;
	ASSERT_EQ(0, csmpd_conf_init(c, argc, (char **)argv, &done));
	ASSERT_FALSE(done);
	csmpd_log_init(c->log_level);
	for (i = 0; i < c->n_report_tlvs; i++) {
		snprintf(d->report_tlv_str[i], sizeof(d->report_tlv_str[i]),
			 "%u", c->report_tlvs[i]);
		d->report_tlv_ptrs[i] = d->report_tlv_str[i];
	}
	d->bucket_key[0] = 1;
	d->bucket_key[1] = 2;
	/* Signing with a key made here, as --nms-key would load one. */
	if (sign)
		ASSERT_EQ(0, csmp_key_generate(CSMP_SUITE_P256, &d->sign_key));
	d->n_workers = 1;
	d->workers = calloc(1, sizeof(*d->workers));
	ASSERT_NE(NULL, d->workers);
	d->workers[0].evfd = -1;
	ASSERT_EQ(0, csmpd_policy_init(d));
	ASSERT_EQ(0, csmpd_workers_init(d));
	ASSERT_EQ(0, csmpd_keys_init(d));
	ASSERT_EQ(0, csmpd_verify_init(d));
	*out = d;
	*wout = &d->workers[0];
	(*wout)->n_socks = 1;
	(*wout)->req_sock = -1;		/* no request socket */
}

static void daemon_down(struct csmpd_daemon *d)
{
	if (!d)
		return;
	csmpd_events_fini(d);
	csmpd_verify_fini(d);
	csmpd_keys_fini(d);
	csmpd_workers_fini(d);
	csmpd_policy_fini(d);
	csmpd_conf_free(d);
	csmpd_sign_fini(d);
	free(d->workers);
	free(d);
}

FIXTURE_SETUP(proto)
{
	daemon_up(_metadata, &self->d, &self->w, false, NULL);
}

FIXTURE_TEARDOWN(proto)
{
	daemon_down(self->d);
}

/* One datagram from [2001:db8::1]:61628 through the worker's batch. */
static void input(struct csmpd_worker *w, const void *buf, int len)
{
	struct csmpd_rx rx = { .data = buf, .len = (__u32)len };

	rx.peer.in6.sin6_family = AF_INET6;
	rx.peer.in6.sin6_port = htons(61628);
	inet_pton(AF_INET6, "2001:db8::1", &rx.peer.in6.sin6_addr);
	rx.peer.len = sizeof(rx.peer.in6);
	csmpd_batch(w, &rx, 1);
}

/* The next queued answer, copied out and its slot given back; 0: none. */
static int answer(struct csmpd_worker *w, __u8 *out)
{
	struct csmpd_tx *tx = w->txq;
	int len;

	if (!tx)
		return 0;
	w->txq = tx->next;
	if (!w->txq)
		w->txq_tail = &w->txq;
	w->txq_len--;
	len = tx->len;
	memcpy(out, tx->buf, tx->len);
	csmpd_tx_release(w, tx);
	return len;
}

/* The TLV of type `type` in an answer without token or options. */
static bool has_tlv(const __u8 *a, int len, __u32 type, struct csmp_tlv *out)
{
	struct csmp_tlv_iter it;
	struct csmp_tlv t;

	if (len < 5 || a[4] != 0xff)
		return false;
	csmp_tlv_init(&it, a + 5, (__u32)len - 5);
	while (csmp_tlv_next(&it, &t) > 0)
		if (t.type == type) {
			if (out)
				*out = t;
			return true;
		}
	return false;
}

/* A counter as a signed number, for the harness's comparisons. */
#define CTR(self, f) ((long long)(self)->w->ctr.f)

TEST_F(proto, registration_answered_2_03_with_session)
{
	struct dgram g;
	__u8 a[CSMPD_TX_MAX];
	struct csmpd_device *dev;
	int n;

	reg(&g, 0x1234, true, true, -1);
	ASSERT_LT(0, g.len);
	input(self->w, g.buf, g.len);
	n = answer(self->w, a);
	ASSERT_LT(4, n);
	EXPECT_EQ(CSMP_COAP_VERSION << 6 | CSMP_COAP_ACK << 4, a[0]);
	EXPECT_EQ(CSMP_COAP_VALID, a[1]);
	EXPECT_EQ(0x12, a[2]);
	EXPECT_EQ(0x34, a[3]);
	EXPECT_TRUE(has_tlv(a, n, CSMP_TLV_REPORT_SUBSCRIBE, NULL));
	EXPECT_TRUE(has_tlv(a, n, CSMP_TLV_SESSION_ID, NULL));
	EXPECT_FALSE(has_tlv(a, n, CSMP_TLV_GROUP_ASSIGN, NULL));
	EXPECT_EQ(1, CTR(self, reg_ok));
	dev = csmpd_dev_by_eid(&self->w->shard, EID);
	ASSERT_NE(NULL, dev);
	/* The SessionID begins with the backend id. */
	EXPECT_EQ(0, strncmp(dev->session, "00a1", 4));
	EXPECT_EQ(0, answer(self->w, a));
}

TEST_F(proto, registration_without_device_id_or_time_is_4_00)
{
	struct dgram g;
	__u8 a[CSMPD_TX_MAX];

	reg(&g, 1, false, true, -1);
	input(self->w, g.buf, g.len);
	ASSERT_EQ(4, answer(self->w, a));
	EXPECT_EQ(CSMP_COAP_BAD_REQUEST, a[1]);
	reg(&g, 2, true, false, -1);
	input(self->w, g.buf, g.len);
	ASSERT_EQ(4, answer(self->w, a));
	EXPECT_EQ(CSMP_COAP_BAD_REQUEST, a[1]);
	EXPECT_EQ(2, a[3]);
	EXPECT_EQ(2, CTR(self, reg_bad));
	EXPECT_EQ(2, CTR(self, reason[CSMP_R_MISSING_TLV]));
	EXPECT_EQ(NULL, csmpd_dev_by_eid(&self->w->shard, EID));
}

TEST_F(proto, allowlist_refuses_with_4_03)
{
	struct dgram g;
	__u8 a[CSMPD_TX_MAX];

	static const char *const args[] = { "--devices", "allowlist",
					    "--allow", "0A0027FFFE3B2AB3", NULL };

	daemon_down(self->d);	/* another device is listed, not this one */
	daemon_up(_metadata, &self->d, &self->w, false, args);
	reg(&g, 7, true, true, -1);
	input(self->w, g.buf, g.len);
	ASSERT_EQ(4, answer(self->w, a));
	EXPECT_EQ(CSMP_COAP_FORBIDDEN, a[1]);
	EXPECT_EQ(1, CTR(self, reg_refused));
	EXPECT_EQ(1, CTR(self, reason[CSMP_R_POLICY_REFUSED]));
	EXPECT_EQ(NULL, csmpd_dev_by_eid(&self->w->shard, EID));
}

TEST_F(proto, group_assigned_only_when_it_differs)
{
	struct dgram g;
	__u8 a[CSMPD_TX_MAX];
	struct csmp_tlv t;
	int n;

	static const char *const args[] = { "--config-group", "42", NULL };

	daemon_down(self->d);
	daemon_up(_metadata, &self->d, &self->w, false, args);
	reg(&g, 1, true, true, 7);	/* the device says group 7 */
	input(self->w, g.buf, g.len);
	n = answer(self->w, a);
	ASSERT_LT(4, n);
	ASSERT_TRUE(has_tlv(a, n, CSMP_TLV_GROUP_ASSIGN, &t));
	reg(&g, 2, true, true, 42);	/* already in 42 */
	input(self->w, g.buf, g.len);
	n = answer(self->w, a);
	ASSERT_LT(4, n);
	EXPECT_FALSE(has_tlv(a, n, CSMP_TLV_GROUP_ASSIGN, NULL));
	reg(&g, 3, true, true, -1);	/* says nothing: assigned */
	input(self->w, g.buf, g.len);
	n = answer(self->w, a);
	EXPECT_TRUE(has_tlv(a, n, CSMP_TLV_GROUP_ASSIGN, NULL));
}

TEST_F(proto, repeated_mid_gets_the_identical_bytes)
{
	struct dgram g;
	__u8 a[CSMPD_TX_MAX], b[CSMPD_TX_MAX];
	int n, m;

	reg(&g, 0x4242, true, true, -1);
	input(self->w, g.buf, g.len);
	n = answer(self->w, a);
	input(self->w, g.buf, g.len);
	m = answer(self->w, b);
	ASSERT_LT(4, n);
	ASSERT_EQ(n, m);
	EXPECT_EQ(0, memcmp(a, b, (size_t)n));
	EXPECT_EQ(1, CTR(self, reg_ok));
	EXPECT_EQ(1, CTR(self, reg_dup));
	EXPECT_EQ(1, CTR(self, reason[CSMP_R_DUPLICATE]));
	EXPECT_EQ(1, (int)csmpd_dev_by_eid(&self->w->shard, EID)->registrations);
}

TEST_F(proto, report_of_known_and_unknown_session)
{
	struct dgram g;
	__u8 a[CSMPD_TX_MAX];
	struct csmpd_device *dev;
	char sid[CSMP_SESSION_ID_MAX + 1];
	__u16 tl = 0;

	reg(&g, 1, true, true, -1);
	input(self->w, g.buf, g.len);
	ASSERT_LT(4, answer(self->w, a));
	dev = csmpd_dev_by_eid(&self->w->shard, EID);
	ASSERT_NE(NULL, dev);
	snprintf(sid, sizeof(sid), "%s", dev->session);

	report(&g, 2, sid);
	input(self->w, g.buf, g.len);
	EXPECT_EQ(0, answer(self->w, a));	/* NON: no answer */
	EXPECT_EQ(1, CTR(self, reports));
	EXPECT_EQ(1, (int)dev->reports);
	EXPECT_NE(NULL, csmpd_dev_tlv(dev, CSMP_TLV_UPTIME, &tl));
	EXPECT_LT(0, tl);

	report(&g, 3, "00a1ffff00000000");
	input(self->w, g.buf, g.len);
	EXPECT_EQ(0, answer(self->w, a));
	EXPECT_EQ(1, CTR(self, reports));
	EXPECT_EQ(1, CTR(self, reports_unknown));
	EXPECT_EQ(1, CTR(self, reason[CSMP_R_UNKNOWN_SESSION]));
}

TEST_F(proto, notification_code_2_is_a_signature_rejection)
{
	struct dgram g;
	__u8 a[CSMPD_TX_MAX];

	notification(&g, 9, 1);
	input(self->w, g.buf, g.len);
	notification(&g, 10, CSMP_NOTIFY_SIG_ERROR);
	input(self->w, g.buf, g.len);
	EXPECT_EQ(0, answer(self->w, a));
	EXPECT_EQ(2, CTR(self, notifications));
	EXPECT_EQ(1, CTR(self, notify_sig_reject));
}

TEST_F(proto, malformed_datagrams_counted_by_reason_never_answered)
{
	static const struct {
		const char *what;
		__u8 bytes[8];
		int len;
	} bad[] = {
		{ "shorter than a CoAP header", { 0x40 }, 1 },
		{ "CoAP version 2", { 0x80, 0x02, 0, 1 }, 4 },
		{ "token length 9", { 0x49, 0x02, 0, 1 }, 4 },
		{ "payload marker without payload", { 0x40, 0x02, 0, 1, 0xff }, 5 },
	};
	__u8 a[CSMPD_TX_MAX];
	unsigned int i, r;
	long long total;
	struct csmpd_rx rx = { 0 };

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		long long before = CTR(self, msg_class[CSMP_C_MALFORMED]);

		input(self->w, bad[i].bytes, bad[i].len);
		EXPECT_EQ(before + 1, CTR(self, msg_class[CSMP_C_MALFORMED]))
			TH_LOG("%s", bad[i].what);
	}
	/* Larger than a receive buffer: the backend flags it truncated. */
	rx.data = a;
	rx.len = 16;
	rx.flags = CSMPD_RXF_TRUNC;
	csmpd_batch(self->w, &rx, 1);
	EXPECT_EQ(1, CTR(self, rx_truncated));
	EXPECT_EQ(1, CTR(self, reason[CSMP_R_COAP_OVERSIZE]));
	EXPECT_EQ(0, answer(self->w, a));
	/* Every malformed datagram was counted under some reason. */
	for (r = 1, total = 0; r < CSMP_R__MAX; r++)
		total += CTR(self, reason[r]);
	EXPECT_EQ(CTR(self, msg_class[CSMP_C_MALFORMED]), total);
}

/*
 * Every events line parses as JSON, under a mix of registrations, reports,
 * notifications and uplink signature failures, while their log lines are
 * suppressed (log level 0): a signature failure's address used to be
 * formatted inside the log call's arguments, which a suppressed line never
 * evaluates, so its event carried uninitialised stack bytes.
 */
TEST_F(proto, events_lines_parse_when_log_lines_are_suppressed)
{
	char path[] = "/tmp/csmpd-proto-events.XXXXXX";
	const char *args[] = { "--uplink-signature", "optional", "--events",
			       path, NULL };
	int i, lines = 0, failures = 0;
	struct dgram g;
	__u8 a[CSMPD_TX_MAX];
	char line[4096], sid[CSMP_SESSION_ID_MAX + 1];
	FILE *f;
	int fd = mkstemp(path);

	ASSERT_LE(0, fd);
	close(fd);
	daemon_down(self->d);
	daemon_up(_metadata, &self->d, &self->w, false, args);
	ASSERT_EQ(0, csmpd_events_init(self->d));
	ASSERT_EQ(0, csmpd_events_start(self->d));
	reg(&g, 1, true, true, -1);
	input(self->w, g.buf, g.len);
	ASSERT_LT(4, answer(self->w, a));
	snprintf(sid, sizeof(sid), "%s",
		 csmpd_dev_by_eid(&self->w->shard, EID)->session);
	for (i = 0; i < 200; i++) {
		switch (i % 4) {
		case 0:		/* signed with garbage: fails */
			reg(&g, (__u16)(i + 2), true, true, -1);
			g.buf[g.len++] = CSMP_TLV_SIGNATURE;
			g.buf[g.len++] = 2;
			g.buf[g.len++] = 0x30;
			g.buf[g.len++] = 0x00;
			break;
		case 1:
			report(&g, (__u16)(i + 2), sid);
			break;
		case 2:
			notification(&g, (__u16)(i + 2), 1);
			break;
		default:
			reg(&g, (__u16)(i + 2), true, true, -1);
			break;
		}
		input(self->w, g.buf, g.len);
		while (answer(self->w, a))
			;
	}
	csmpd_events_fini(self->d);	/* writes what is queued */

	f = fopen(path, "r");
	ASSERT_NE(NULL, f);
	while (fgets(line, sizeof(line), f)) {
		json_error_t je;
		json_t *j = json_loads(line, 0, &je);
		const char *ev, *addr;

		lines++;
		EXPECT_NE(NULL, j) TH_LOG("line %d: %s: %s", lines, je.text, line);
		if (!j)
			continue;
		ev = json_string_value(json_object_get(j, "event"));
		EXPECT_NE(NULL, ev);
		if (ev && !strcmp(ev, "signature_failure")) {
			failures++;
			addr = json_string_value(json_object_get(j, "addr"));
			EXPECT_STREQ("[2001:db8::1]:61628", addr ? addr : "");
		}
		json_decref(j);
	}
	fclose(f);
	unlink(path);
	EXPECT_LT(150, lines);
	EXPECT_EQ(50, failures);
}

FIXTURE(signed_proto) {
	struct csmpd_daemon *d;
	struct csmpd_worker *w;
};

FIXTURE_SETUP(signed_proto)
{
	daemon_up(_metadata, &self->d, &self->w, true, NULL);
}

FIXTURE_TEARDOWN(signed_proto)
{
	daemon_down(self->d);
}

TEST_F(signed_proto, identical_answers_share_one_signature)
{
	struct dgram g;
	__u8 a[CSMPD_TX_MAX], b[CSMPD_TX_MAX];
	struct csmp_tlv sa, sb;
	int n, m, tries;
	__u64 t0;

	/* The signed window is aligned to the second: both attempts must
	 * fall in the same one (retried when a second boundary fell
	 * between them). */
	for (tries = 0; tries < 5; tries++) {
		reg(&g, (__u16)(2 * tries + 1), true, true, -1);
		input(self->w, g.buf, g.len);
		t0 = self->w->now;
		n = answer(self->w, a);
		reg(&g, (__u16)(2 * tries + 2), true, true, -1);
		input(self->w, g.buf, g.len);
		m = answer(self->w, b);
		if (self->w->now == t0)
			break;
	}
	ASSERT_LT(tries, 5);
	ASSERT_TRUE(has_tlv(a, n, CSMP_TLV_SIGNATURE, &sa));
	ASSERT_TRUE(has_tlv(b, m, CSMP_TLV_SIGNATURE, &sb));
	EXPECT_TRUE(has_tlv(a, n, CSMP_TLV_SIGNATURE_VALIDITY, NULL));
	ASSERT_EQ(sa.len, sb.len);
	EXPECT_EQ(0, memcmp(a + 5 + sa.off, b + 5 + sb.off, sa.len));
	EXPECT_LE(1, CTR(self, sig_cache_hits));
	EXPECT_NE(a[3], b[3]);		/* different MIDs, one signature */
}

TEST_HARNESS_MAIN
