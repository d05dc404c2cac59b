// SPDX-License-Identifier: GPL-2.0-only
/*
 * A CSMP device for csmpd's network tests, over real UDP sockets. It
 * replays the OpenCSMP registration capture (frame 1 of the fixture pcap,
 * read with libpcap at run time), optionally altered (another EID, no
 * CurrentTime), and checks csmpd's answer the way the wire facts require;
 * it also sends reports, notifications and malformed datagrams.
 *
 *   csmpd_peer [common options] reg      check a 2.03 (or --expect-code)
 *   csmpd_peer [common options] report   SessionID report; expects silence
 *   csmpd_peer [common options] notify   CGMSNotification --code N
 *   csmpd_peer [common options] junk     malformed datagrams; silence
 *   csmpd_peer [common options] burst    --count N registrations, no wait
 *
 * Common options: --target ADDR:PORT, --bind ADDR (source address),
 * --pcap FILE, --pubkey PEM, --backend-id HEX, --mid N, --eid HEX16,
 * --no-time, --twice (same datagram again: the answer must be
 * byte-identical), --session SID, --expect-code C.DD, --expect-src ADDR,
 * --report-interval S, --report-tlvs LIST, --expect-group ID.
 * Prints "session=<SessionID>" and "ack=<hex>" on success; exit 0 or 1.
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "csmp.h"
#include "sig.h"
#include "testutil.h"

static struct {
	const char *target, *bind, *pcap, *pubkey, *session, *expect_src;
	const char *report_tlvs;
	int backend_id;
	int mid;
	uint64_t eid;
	bool set_eid, no_time, twice;
	int expect_code;	/* packed c.dd, -1: expect 2.03 with payload */
	int notify_code;
	long expect_group;	/* GroupAssign id expected; -1: none */
	int count;
	bool count_set;
	long report_interval;
} o = { .backend_id = -1, .mid = -1, .expect_code = -1, .count = 100,
	.report_interval = -1, .expect_group = -1 };

#define FAIL(...)                                                              \
	do {                                                                   \
		fprintf(stderr, "csmpd_peer: " __VA_ARGS__);                   \
		fputc('\n', stderr);                                           \
		return -1;                                                     \
	} while (0)

static int sock_open(struct sockaddr_storage *dst, socklen_t *dlen)
{
	struct sockaddr_storage src;
	char err[160];
	socklen_t slen;
	int fd;

	if (csmp_hostport_parse(o.target, -1, dst, dlen, err, sizeof(err)))
		FAIL("--target %s", err);
	fd = socket(dst->ss_family, SOCK_DGRAM, 0);
	if (fd < 0)
		FAIL("socket: %m");
	if (o.bind) {
		if (csmp_hostport_parse(o.bind, 0, &src, &slen, err,
					sizeof(err)))
			FAIL("--bind %s", err);
		if (bind(fd, (struct sockaddr *)&src, slen))
			FAIL("bind %s: %m", o.bind);
	}
	return fd;
}

/* The capture's first CSMP datagram (the registration). */
static int fixture_registration(uint8_t *out, size_t cap)
{
	struct fx_dgram dg;
	int n = fx_load_path(o.pcap, &dg, 1);

	if (n < 0)
		FAIL("%s: not a capture", o.pcap);
	if (n == 0)
		FAIL("%s: no CSMP datagram", o.pcap);
	if (dg.len > cap)
		FAIL("frame too large");
	memcpy(out, dg.data, dg.len);
	return (int)dg.len;
}

/* The capture, altered as asked: MID, EID, CurrentTime removed. */
static int build_registration(uint8_t *buf, size_t cap, __u64 eid_override,
			      bool set_eid)
{
	uint8_t orig[2048];
	int n = fixture_registration(orig, sizeof(orig));
	struct csmp_coap_msg m;
	struct csmp_tlv_iter it;
	struct csmp_tlv t;
	size_t hdr, len;

	if (n < 0)
		return n;
	if (csmp_coap_parse(orig, (__u32)n, &m))
		FAIL("fixture does not parse");
	hdr = m.payload_off;
	memcpy(buf, orig, hdr);
	len = hdr;
	if (o.mid >= 0) {
		buf[2] = (uint8_t)(o.mid >> 8);
		buf[3] = (uint8_t)o.mid;
	}
	if (set_eid) {
		Csmp__DeviceID did = CSMP__DEVICE_ID__INIT;
		char hex[17];
		struct csmp_tlvw w;

		snprintf(hex, sizeof(hex), "%016llX", (unsigned long long)eid_override);
		did.type = 1;
		did.id = hex;
		csmp_pb_set_present(&did.base, 1);
		csmp_pb_set_present(&did.base, 2);
		csmp_tlvw_init(&w, buf + len, cap - len, CSMP_TLVW_PAD);
		csmp_tlvw_put(&w, CSMP_TLV_DEVICE_ID, &did.base);
		if (csmp_tlvw_finish(&w) < 0)
			FAIL("DeviceID does not fit");
		len += w.len;
	}
	csmp_tlv_init(&it, orig + m.payload_off, m.payload_len);
	while (csmp_tlv_next(&it, &t) > 0) {
		size_t sz = t.off + t.len - t.hdr;

		if (set_eid && t.type == CSMP_TLV_DEVICE_ID)
			continue;
		if (o.no_time && t.type == CSMP_TLV_CURRENT_TIME)
			continue;
		if (len + sz > cap)
			FAIL("too large");
		memcpy(buf + len, orig + m.payload_off + t.hdr, sz);
		len += sz;
	}
	return (int)len;
}

static int recv_reply(int fd, uint8_t *buf, size_t cap, int timeout_ms,
		      struct sockaddr_storage *from)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	struct msghdr mh = { 0 };
	struct iovec iov = { buf, cap };
	ssize_t n;

	if (poll(&pfd, 1, timeout_ms) <= 0)
		return 0;
	mh.msg_name = from;
	mh.msg_namelen = sizeof(*from);
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	n = recvmsg(fd, &mh, 0);
	return n < 0 ? -1 : (int)n;
}

static int check_src(const struct sockaddr_storage *from)
{
	char got[INET6_ADDRSTRLEN];
	struct sockaddr_storage want;
	socklen_t wl;

	if (from->ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)from)->sin6_addr,
			  got, sizeof(got));
	else
		inet_ntop(AF_INET, &((struct sockaddr_in *)from)->sin_addr, got,
			  sizeof(got));
	printf("reply_src=%s\n", got);
	if (!o.expect_src)
		return 0;
	if (csmp_hostport_parse(o.expect_src, 0, &want, &wl, NULL, 0))
		FAIL("bad --expect-src %s", o.expect_src);
	if (want.ss_family != from->ss_family ||
	    (want.ss_family == AF_INET6 ?
		     memcmp(&((struct sockaddr_in6 *)&want)->sin6_addr,
			    &((struct sockaddr_in6 *)from)->sin6_addr, 16) :
		     memcmp(&((struct sockaddr_in *)&want)->sin_addr,
			    &((struct sockaddr_in *)from)->sin_addr, 4)))
		FAIL("reply came from %s, expected %s", got, o.expect_src);
	return 0;
}

static void print_hex(const char *k, const uint8_t *b, int n)
{
	printf("%s=", k);
	for (int i = 0; i < n; i++)
		printf("%02x", b[i]);
	printf("\n");
}

/* Everything the wire facts ask of a registration ACK (§1.3, §4, §6.1). */
static int check_ack(const uint8_t *req, const uint8_t *a, int n)
{
	struct csmp_key *key = NULL;
	struct csmp_coap_msg m;
	struct csmp_tlv_iter it;
	struct csmp_tlv t;
	struct csmp_arena ar;
	static uint8_t abuf[65536];
	uint32_t order[8], k = 0;
	const uint8_t *pl;
	char sid[32] = "";
	enum csmp_reason r;
	time_t now = time(NULL);
	struct csmp_sig_loc loc;

	if (csmp_coap_parse(a, (__u32)n, &m))
		FAIL("answer does not parse as CoAP (reason %u)", m.reason);
	if (m.type != CSMP_COAP_ACK)
		FAIL("answer type %u, not ACK", m.type);
	if (m.mid != (req[2] << 8 | req[3]))
		FAIL("MID %u not echoed (request %u)", m.mid,
		     req[2] << 8 | req[3]);
	if (m.tkl)
		FAIL("answer carries a token (the agent drops it)");
	if (o.expect_code >= 0) {
		if (m.code != o.expect_code)
			FAIL("code %u.%02u, expected %u.%02u", m.code >> 5,
			     m.code & 31, o.expect_code >> 5,
			     o.expect_code & 31);
		if (m.payload_len || m.n_opts)
			FAIL("error answer with options or payload");
		return 0;
	}
	if (m.code != CSMP_COAP_VALID)
		FAIL("code %u.%02u, expected 2.03", m.code >> 5, m.code & 31);
	if (m.n_opts || a[4] != 0xff)
		FAIL("answer has options");
	pl = a + m.payload_off;
	csmp_arena_init(&ar, abuf, sizeof(abuf));
	csmp_tlv_init(&it, pl, m.payload_len);
	while (csmp_tlv_next(&it, &t) > 0) {
		ProtobufCMessage *msg = NULL;

		if (k < 8)
			order[k++] = t.type;
		if (csmp_tlv_decode(&ar, pl, &t, &msg))
			FAIL("TLV %u does not decode", t.type);
		if (t.type == CSMP_TLV_REPORT_SUBSCRIBE) {
			Csmp__ReportSubscribe *rs = (void *)msg;
			char list[256] = "";
			size_t i, l = 0;

			if (!csmp_pb_has(msg, 1))
				FAIL("ReportSubscribe without interval");
			for (i = 0; i < rs->n_tlvid; i++)
				l += (size_t)snprintf(list + l, sizeof(list) - l,
						      "%s%s", i ? "," : "",
						      rs->tlvid[i]);
			printf("report_interval=%u\nreport_tlvs=%s\n",
			       rs->interval, list);
			if (o.report_interval >= 0 &&
			    rs->interval != (uint32_t)o.report_interval)
				FAIL("interval %u, expected %ld", rs->interval,
				     o.report_interval);
			if (o.report_tlvs && strcmp(list, o.report_tlvs))
				FAIL("tlvids %s, expected %s", list,
				     o.report_tlvs);
		} else if (t.type == CSMP_TLV_GROUP_ASSIGN) {
			Csmp__GroupAssign *g = (void *)msg;

			printf("group_assign=%u:%u\n", g->type, g->id);
			if (!csmp_pb_has(msg, 1) || !csmp_pb_has(msg, 2))
				FAIL("GroupAssign without type or id");
			if (g->type != CSMP_GROUP_CONFIG ||
			    (long)g->id != o.expect_group)
				FAIL("GroupAssign %u:%u, expected 1:%ld",
				     g->type, g->id, o.expect_group);
		} else if (t.type == CSMP_TLV_SESSION_ID) {
			Csmp__SessionID *s = (void *)msg;
			char pfx[8];

			snprintf(sid, sizeof(sid), "%s", s->id ? s->id : "");
			snprintf(pfx, sizeof(pfx), "%04x", o.backend_id);
			if (!*sid || strlen(sid) > 16)
				FAIL("SessionID '%s' empty or over 16", sid);
			if (o.backend_id >= 0 && strncmp(sid, pfx, 4))
				FAIL("SessionID '%s' lacks prefix %s", sid,
				     pfx);
		}
	}
	if (k < 4 || order[0] != CSMP_TLV_REPORT_SUBSCRIBE ||
	    order[1] != CSMP_TLV_SESSION_ID ||
	    order[k - 2] != CSMP_TLV_SIGNATURE_VALIDITY ||
	    order[k - 1] != CSMP_TLV_SIGNATURE)
		FAIL("TLV order is not ReportSubscribe, SessionID, [GroupAssign], SignatureValidity, Signature");
	if (k != (o.expect_group >= 0 ? 5u : 4u))
		FAIL("%u TLVs, expected %u", k, o.expect_group >= 0 ? 5 : 4);
	if (k == 5 && order[2] != CSMP_TLV_GROUP_ASSIGN)
		FAIL("unexpected TLV %u", order[2]);
	printf("tlvs=%u\n", k);

	if (csmp_sig_locate(pl, m.payload_len, &loc))
		FAIL("signature TLVs malformed");
	printf("validity=%u..%u now=%ld\n", loc.not_before, loc.not_after,
	       (long)now);
	if ((time_t)loc.not_before > now || (time_t)loc.not_after < now)
		FAIL("SignatureValidity does not contain now");
	if (!o.pubkey)
		FAIL("--pubkey needed to verify");
	if (csmp_key_load_pem(o.pubkey, &key))
		FAIL("cannot load %s", o.pubkey);
	r = csmp_sig_check(NULL, key, pl, m.payload_len, (uint64_t)now);
	csmp_key_put(key);
	if (r != CSMP_R_OK)
		FAIL("signature does not verify with %s (reason %u)", o.pubkey,
		     r);
	printf("signature=ok\nsession=%s\n", sid);
	return 0;
}

static int cmd_reg(void)
{
	struct sockaddr_storage dst, from;
	socklen_t dl;
	uint8_t req[2048], a[2048], b[2048];
	int fd, n, an, bn;

	n = build_registration(req, sizeof(req), o.eid, o.set_eid);
	if (n < 0)
		return 1;
	fd = sock_open(&dst, &dl);
	if (fd < 0)
		return 1;
	if (sendto(fd, req, (size_t)n, 0, (struct sockaddr *)&dst, dl) != n)
		FAIL("sendto: %m");
	an = recv_reply(fd, a, sizeof(a), 3000, &from);
	if (an <= 0)
		FAIL("no answer to the registration");
	print_hex("ack", a, an);
	if (check_src(&from) || check_ack(req, a, an))
		return 1;
	if (o.twice) {
		if (sendto(fd, req, (size_t)n, 0, (struct sockaddr *)&dst,
			   dl) != n)
			FAIL("sendto: %m");
		bn = recv_reply(fd, b, sizeof(b), 3000, &from);
		if (bn <= 0)
			FAIL("no answer to the repeated registration");
		if (bn != an || memcmp(a, b, (size_t)an))
			FAIL("repeated MID: answer differs from the first");
		printf("repeat=identical\n");
	}
	close(fd);
	return 0;
}

/* Expect no datagram back within 300 ms. */
static int expect_silence(int fd)
{
	struct sockaddr_storage from;
	uint8_t b[2048];
	int n = recv_reply(fd, b, sizeof(b), 300, &from);

	if (n > 0) {
		print_hex("unexpected", b, n);
		FAIL("got an answer where none is due");
	}
	return 0;
}

static int cmd_report(void)
{
	Csmp__SessionID s = CSMP__SESSION_ID__INIT;
	Csmp__CurrentTime ct = CSMP__CURRENT_TIME__INIT;
	Csmp__Uptime up = CSMP__UPTIME__INIT;
	struct sockaddr_storage dst;
	struct csmp_coap_enc e;
	struct csmp_tlvw w;
	uint8_t buf[512];
	socklen_t dl;
	int fd, n;

	if (!o.session)
		FAIL("report needs --session");
	s.id = (char *)o.session;
	csmp_pb_set_present(&s.base, 1);
	ct.posix = (uint32_t)time(NULL);
	csmp_pb_set_present(&ct.base, 1);
	up.sys_up_time = 1234;
	csmp_pb_set_present(&up.base, 1);
	csmp_coap_enc_init(&e, buf, sizeof(buf), CSMP_COAP_NON, CSMP_COAP_POST,
			   (uint16_t)(o.mid < 0 ? 7 : o.mid), NULL, 0);
	csmp_coap_enc_path(&e, "c");
	csmp_coap_enc_payload_begin(&e, &w, CSMP_TLVW_PAD);
	csmp_tlvw_put(&w, CSMP_TLV_SESSION_ID, &s.base);
	csmp_tlvw_put(&w, CSMP_TLV_CURRENT_TIME, &ct.base);
	csmp_tlvw_put(&w, CSMP_TLV_UPTIME, &up.base);
	csmp_coap_enc_payload_end(&e, &w);
	n = csmp_coap_enc_finish(&e);
	if (n < 0)
		FAIL("encoding the report: %d", n);
	fd = sock_open(&dst, &dl);
	if (fd < 0)
		return 1;
	for (int i = 0; i < (o.count_set ? o.count : 1); i++)
		if (sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&dst,
			   dl) != n)
			FAIL("sendto: %m");
	return expect_silence(fd) ? 1 : 0;
}

static int cmd_notify(void)
{
	Csmp__DeviceID did = CSMP__DEVICE_ID__INIT;
	Csmp__CGMSNotification nt = CSMP__CGMSNOTIFICATION__INIT;
	struct sockaddr_storage dst;
	struct csmp_coap_enc e;
	struct csmp_tlvw w;
	uint8_t buf[512];
	char hex[17];
	socklen_t dl;
	int fd, n;

	snprintf(hex, sizeof(hex), "%016llX", (unsigned long long)o.eid);
	did.type = 1;
	did.id = hex;
	csmp_pb_set_present(&did.base, 1);
	csmp_pb_set_present(&did.base, 2);
	nt.code = (uint32_t)o.notify_code;
	csmp_pb_set_present(&nt.base, 1);
	csmp_coap_enc_init(&e, buf, sizeof(buf), CSMP_COAP_NON, CSMP_COAP_POST,
			   9, NULL, 0);
	csmp_coap_enc_path(&e, "c");
	csmp_coap_enc_payload_begin(&e, &w, CSMP_TLVW_PAD);
	csmp_tlvw_put(&w, CSMP_TLV_DEVICE_ID, &did.base);
	csmp_tlvw_put(&w, CSMP_TLV_CGMS_NOTIFICATION, &nt.base);
	csmp_coap_enc_payload_end(&e, &w);
	n = csmp_coap_enc_finish(&e);
	fd = sock_open(&dst, &dl);
	if (fd < 0 || n < 0)
		return 1;
	if (sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&dst, dl) != n)
		FAIL("sendto: %m");
	return expect_silence(fd) ? 1 : 0;
}

/* Malformed datagrams of every kind the brief names; each is followed by
 * a check that nothing came back. Prints how many were sent. */
static int cmd_junk(void)
{
	uint8_t reg[2048], d[4096];
	struct sockaddr_storage dst;
	socklen_t dl;
	int fd, n, sent = 0, i;

	n = build_registration(reg, sizeof(reg), 0, false);
	if (n < 0)
		return 1;
	fd = sock_open(&dst, &dl);
	if (fd < 0)
		return 1;
#define SEND(buf, len)                                                         \
	do {                                                                   \
		if (sendto(fd, buf, (size_t)(len), 0,                          \
			   (struct sockaddr *)&dst, dl) != (ssize_t)(len))     \
			FAIL("sendto: %m");                                    \
		sent++;                                                        \
	} while (0)

	srandom(42);
	for (i = 0; i < 20; i++) {		/* random bytes */
		int len = 1 + (int)(random() % 600);

		for (int k = 0; k < len; k++)
			d[k] = (uint8_t)random();
		d[0] = (uint8_t)((d[0] & 0x3f) | 0x40);	/* version 1 */
		d[0] |= 0x0f;				/* TKL 15 */
		SEND(d, len);
	}
	for (i = 1; i < 4; i++)			/* truncated CoAP header */
		SEND(reg, i);
	SEND(reg, 5);				/* option value missing */
	memcpy(d, reg, (size_t)n);		/* bad TLV length */
	d[8] = 0x94;
	d[9] = 0x7f;				/* DeviceID length 16276 */
	SEND(d, n);
	memcpy(d, reg, (size_t)n);		/* TLV runs past the end */
	SEND(d, n - 5);
	memcpy(d, reg, (size_t)n);		/* TKL 9 */
	d[0] = 0x49;
	SEND(d, n);
	memcpy(d, reg, (size_t)n);		/* oversized (> 2048 bytes) */
	memset(d + n, 0, sizeof(d) - (size_t)n);
	SEND(d, 3000);
	memcpy(d, reg, 7);			/* marker, empty payload */
	d[6] = 0xff;
	SEND(d, 7);
	printf("junk_sent=%d\n", sent);
	return expect_silence(fd) ? 1 : 0;
}

/* Registrations of `count` distinct EIDs, sent without waiting. */
static int cmd_burst(void)
{
	struct sockaddr_storage dst;
	uint8_t req[2048];
	socklen_t dl;
	int fd, i, n;

	fd = sock_open(&dst, &dl);
	if (fd < 0)
		return 1;
	for (i = 0; i < o.count; i++) {
		o.mid = i;
		n = build_registration(req, sizeof(req),
				       0x0200000000000000ull + (__u64)i, true);
		if (n < 0)
			return 1;
		if (sendto(fd, req, (size_t)n, 0, (struct sockaddr *)&dst,
			   dl) != n)
			FAIL("sendto: %m");
	}
	printf("burst_sent=%d\n", o.count);
	return 0;
}

static int code_of(const char *s)
{
	unsigned int c, dd;

	if (sscanf(s, "%u.%u", &c, &dd) != 2 || c > 7 || dd > 31)
		return -1;
	return (int)(c << 5 | dd);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "target", 1, 0, 't' }, { "bind", 1, 0, 'b' },
		{ "pcap", 1, 0, 'p' }, { "pubkey", 1, 0, 'k' },
		{ "backend-id", 1, 0, 'B' }, { "mid", 1, 0, 'm' },
		{ "eid", 1, 0, 'e' }, { "no-time", 0, 0, 'T' },
		{ "twice", 0, 0, '2' }, { "session", 1, 0, 's' },
		{ "expect-code", 1, 0, 'c' }, { "expect-src", 1, 0, 'S' },
		{ "code", 1, 0, 'n' }, { "count", 1, 0, 'N' },
		{ "report-interval", 1, 0, 'i' }, { "report-tlvs", 1, 0, 'l' },
		{ "expect-group", 1, 0, 'g' },
		{ 0, 0, 0, 0 },
	};
	const char *cmd;
	int c;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 't': o.target = optarg; break;
		case 'b': o.bind = optarg; break;
		case 'p': o.pcap = optarg; break;
		case 'k': o.pubkey = optarg; break;
		case 'B': o.backend_id = (int)strtol(optarg, NULL, 16); break;
		case 'm': o.mid = atoi(optarg); break;
		case 'e':
			if (csmp_eid_parse(optarg, &o.eid))
				return fprintf(stderr, "bad --eid\n"), 2;
			o.set_eid = true;
			break;
		case 'T': o.no_time = true; break;
		case '2': o.twice = true; break;
		case 's': o.session = optarg; break;
		case 'c': o.expect_code = code_of(optarg); break;
		case 'S': o.expect_src = optarg; break;
		case 'n': o.notify_code = atoi(optarg); break;
		case 'N':
			o.count = atoi(optarg);
			o.count_set = true;
			break;
		case 'i': o.report_interval = atol(optarg); break;
		case 'l': o.report_tlvs = optarg; break;
		case 'g': o.expect_group = atol(optarg); break;
		default: return 2;
		}
	}
	if (optind >= argc || !o.target) {
		fprintf(stderr, "usage: csmpd_peer --target ADDR:PORT [options] reg|report|notify|junk|burst\n");
		return 2;
	}
	cmd = argv[optind];
	if (!strcmp(cmd, "reg"))
		return cmd_reg();
	if (!strcmp(cmd, "report"))
		return cmd_report();
	if (!strcmp(cmd, "notify"))
		return cmd_notify();
	if (!strcmp(cmd, "junk"))
		return cmd_junk() ? 1 : 0;
	if (!strcmp(cmd, "burst"))
		return cmd_burst();
	fprintf(stderr, "csmpd_peer: unknown command %s\n", cmd);
	return 2;
}
