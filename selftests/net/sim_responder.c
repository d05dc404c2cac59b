// SPDX-License-Identifier: GPL-2.0-only
/*
 * A scriptable CSMP head-end for testing csmp-sim on its own: it answers
 * registrations the way a test asks (signed by the right key, by another
 * key, with a token, with an empty body, with an expired validity, or the
 * captured FND ACK from the fixtures) and checks what the simulated agents
 * send: the registration TLV order, the agent's padded lengths, no token,
 * a MID that grows by one per request per device, source addresses whose
 * IID is the device's modified EUI-64, reports that start with the
 * SessionID it handed out, and CGMSNotification codes. It is a test
 * harness for the simulator's OpenCSMP behaviour; csmp-sim against csmpd
 * is tested with the real daemon (sim_csmpd_*.sh).
 *
 *   sim_responder --listen [::1]:PORT --key nms.pem --devices N \
 *                 --eid-base HEX [--mode good|otherkey|token|empty|expired|
 *                 fixture --fixture PCAP] [--report-interval S]
 *                 [--duration S] > counters.json
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#include "csmp.h"
#include "sig.h"
#include "testutil.h"

enum mode { M_GOOD, M_OTHERKEY, M_TOKEN, M_EMPTY, M_EXPIRED, M_FIXTURE };

struct devrec {
	int seen;
	uint16_t last_mid;
};

static volatile sig_atomic_t stop;
static struct {
	unsigned long long dgrams, registrations, reports, reports_session_ok,
		notifications, notify_code[4], mid_errors, order_errors,
		pad_errors, token_errors, iid_mismatch, unknown_eid,
		malformed, reg_first_mid_nonzero;
	unsigned long long distinct_eids, distinct_srcs;
} c;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* IPv6 only: the responder stands in for an IPv6 field network. */
static int parse_listen(const char *arg, struct sockaddr_in6 *a)
{
	struct sockaddr_storage ss;
	char err[160];
	socklen_t len;

	if (csmp_hostport_parse(arg, -1, &ss, &len, err, sizeof(err))) {
		fprintf(stderr, "sim_responder: --listen %s\n", err);
		return -EINVAL;
	}
	if (ss.ss_family != AF_INET6) {
		fprintf(stderr, "sim_responder: --listen %s: wants [IPv6]:PORT\n",
			arg);
		return -EINVAL;
	}
	memcpy(a, &ss, sizeof(*a));
	return 0;
}

/* The first CoAP ACK among a capture's CSMP datagrams. */
static int load_fixture(const char *path, uint8_t *out, size_t cap)
{
	enum { MAX_DG = 32 };
	struct fx_dgram *dg = calloc(MAX_DG, sizeof(*dg));
	int n, i, len = -ENOENT;

	if (!dg)
		return -ENOMEM;
	n = fx_load_path(path, dg, MAX_DG);
	for (i = 0; i < n; i++) {
		if (!dg[i].len || (dg[i].data[0] & 0xf0) != 0x60 ||
		    dg[i].len > cap)
			continue;
		len = (int)dg[i].len;
		memcpy(out, dg[i].data, dg[i].len);
		break;
	}
	free(dg);
	return n < 0 ? n : len;
}

static bool padded_lengths(const uint8_t *p, uint32_t len)
{
	struct csmp_tlv_iter it;
	struct csmp_tlv t;
	int r;

	csmp_tlv_init(&it, p, len);
	while ((r = csmp_tlv_next(&it, &t)) == 1)
		if (t.len < 128 && !(t.flags & CSMP_TLVF_NONMINIMAL))
			return false;
	return r == 0;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "listen", required_argument, 0, 'l' },
		{ "key", required_argument, 0, 'k' },
		{ "otherkey", required_argument, 0, 'o' },
		{ "devices", required_argument, 0, 'n' },
		{ "eid-base", required_argument, 0, 'b' },
		{ "mode", required_argument, 0, 'm' },
		{ "fixture", required_argument, 0, 'f' },
		{ "report-interval", required_argument, 0, 'r' },
		{ "duration", required_argument, 0, 'd' },
		{ 0 },
	};
	static const uint32_t reg_order[] = { 2, 18, 11, 12, 16 };
	const char *keyp = NULL, *otherp = NULL, *fixp = NULL;
	struct csmp_key *key = NULL;
	struct csmp_signer *signer = NULL;
	uint8_t fixture[2048];
	int fixture_len = 0, fd, opt, err;
	unsigned long devices = 0, report_interval = 5, duration = 60;
	uint64_t eid_base = 0;
	struct sockaddr_in6 la;
	enum mode mode = M_GOOD;
	struct devrec *dev;
	time_t end;

	memset(&la, 0, sizeof(la));
	while ((opt = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (opt) {
		case 'l':
			if (parse_listen(optarg, &la))
				return 2;
			break;
		case 'k': keyp = optarg; break;
		case 'o': otherp = optarg; break;
		case 'n': devices = strtoul(optarg, NULL, 10); break;
		case 'b': eid_base = strtoull(optarg, NULL, 16); break;
		case 'f': fixp = optarg; break;
		case 'r': report_interval = strtoul(optarg, NULL, 10); break;
		case 'd': duration = strtoul(optarg, NULL, 10); break;
		case 'm':
			if (!strcmp(optarg, "good")) mode = M_GOOD;
			else if (!strcmp(optarg, "otherkey")) mode = M_OTHERKEY;
			else if (!strcmp(optarg, "token")) mode = M_TOKEN;
			else if (!strcmp(optarg, "empty")) mode = M_EMPTY;
			else if (!strcmp(optarg, "expired")) mode = M_EXPIRED;
			else if (!strcmp(optarg, "fixture")) mode = M_FIXTURE;
			else return 2;
			break;
		default:
			return 2;
		}
	}
	if (!devices || !la.sin6_port) {
		fprintf(stderr, "usage: see the comment at the top of %s\n", __FILE__);
		return 2;
	}
	if (mode == M_FIXTURE) {
		fixture_len = load_fixture(fixp ? fixp : "", fixture, sizeof(fixture));
		if (fixture_len < 4) {
			fprintf(stderr, "sim_responder: no ACK in %s\n", fixp);
			return 1;
		}
	}
	if (mode == M_OTHERKEY) {
		err = otherp ? csmp_key_load_pem(otherp, &key) :
			       csmp_key_generate(CSMP_SUITE_P256, &key);
	} else {
		err = keyp ? csmp_key_load_pem(keyp, &key) : -EINVAL;
	}
	if (err || csmp_signer_new(key, 0, &signer)) {
		fprintf(stderr, "sim_responder: signing key: %s\n", strerror(-err));
		return 1;
	}
	dev = calloc(devices, sizeof(*dev));
	fd = socket(AF_INET6, SOCK_DGRAM, 0);
	if (!dev || fd < 0 || bind(fd, (struct sockaddr *)&la, sizeof(la))) {
		perror("sim_responder: bind");
		return 1;
	}
	{
		int v = 8 << 20;
		struct timeval tv = { .tv_sec = 0, .tv_usec = 100000 };

		setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &v, sizeof(v));
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	fprintf(stderr, "sim_responder: listening\n");
	end = time(NULL) + (time_t)duration;

	while (!stop && time(NULL) < end) {
		uint8_t buf[2048], out[2048];
		struct sockaddr_in6 from;
		socklen_t fl = sizeof(from);
		struct csmp_coap_msg m;
		struct csmp_tlv t;
		const uint8_t *p;
		__u64 eid = 0;
		uint64_t idx;
		ssize_t n;

		n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
		if (n < 0)
			continue;
		c.dgrams++;
		if (csmp_coap_parse(buf, (uint32_t)n, &m)) {
			c.malformed++;
			continue;
		}
		if (m.tkl)
			c.token_errors++;
		p = buf + m.payload_off;
		if (!padded_lengths(p, m.payload_len))
			c.pad_errors++;

		/* Notifications and registrations carry the DeviceID. */
		if (!csmp_tlv_find(p, m.payload_len, CSMP_TLV_DEVICE_ID, &t, NULL))
			csmp_deviceid_eid(p + t.off, t.len, &eid);
		if (!eid && !csmp_tlv_find(p, m.payload_len, CSMP_TLV_SESSION_ID, &t, NULL)) {
			uint32_t off, sl;
			uint16_t be;
			char s[17] = { 0 };

			if (csmp_sessionid(p + t.off, t.len, &off, &sl, &be) >= 0 &&
			    sl > 4) {
				memcpy(s, p + t.off + off, sl);
				eid = eid_base + strtoull(s + 4, NULL, 16);
				c.reports_session_ok++;
			}
		}
		idx = eid - eid_base;
		if (!eid || idx >= devices) {
			c.unknown_eid++;
			continue;
		}
		if (dev[idx].seen && (uint16_t)(dev[idx].last_mid + 1) != m.mid)
			c.mid_errors++;
		if (!dev[idx].seen) {
			c.distinct_eids++;
			if (m.mid != 0)
				c.reg_first_mid_nonzero++;
			/* In prefix mode the source IID is the modified EUI-64. */
			if (!IN6_IS_ADDR_LOOPBACK(&from.sin6_addr)) {
				c.distinct_srcs++;
				if (csmp_in6_to_eid(from.sin6_addr.s6_addr) != eid)
					c.iid_mismatch++;
			}
		}
		dev[idx].seen = 1;
		dev[idx].last_mid = m.mid;

		if (m.type == CSMP_COAP_NON) {
			if (!csmp_tlv_find(p, m.payload_len, CSMP_TLV_CGMS_NOTIFICATION, &t, NULL)) {
				__u64 code = 9;

				c.notifications++;
				csmp_pb_find(p + t.off, t.len, 1, 0, &code, NULL, NULL);
				if (code < 4)
					c.notify_code[code]++;
			} else {
				c.reports++;
			}
			continue;
		}
		if (m.type != CSMP_COAP_CON || m.code != CSMP_COAP_POST)
			continue;
		c.registrations++;
		{
			struct csmp_tlv_iter it;
			unsigned int i = 0;

			csmp_tlv_init(&it, p, m.payload_len);
			while (i < 5 && csmp_tlv_next(&it, &t) == 1) {
				if (t.type == reg_order[i])
					i++;
				else if (i == 0 || t.type != reg_order[i - 1])
					break;
			}
			if (i < 5)
				c.order_errors++;
		}

		/* The answer. */
		{
			struct csmp_coap_enc e;
			struct csmp_tlvw w;
			Csmp__ReportSubscribe rs;
			Csmp__SessionID sid;
			char sess[32], *ids[] = { "22", "23" };
			uint8_t tok = 0x42;
			uint32_t nb, na;
			int len;

			if (mode == M_FIXTURE) {
				memcpy(out, fixture, (size_t)fixture_len);
				out[2] = (uint8_t)(m.mid >> 8);
				out[3] = (uint8_t)m.mid;
				len = fixture_len;
				goto send;
			}
			protobuf_c_message_init(&csmp__report_subscribe__descriptor, &rs);
			protobuf_c_message_init(&csmp__session_id__descriptor, &sid);
			rs.interval = (uint32_t)report_interval;
			rs.interval_present_case = 1;
			rs.n_tlvid = 2;
			rs.tlvid = ids;
			snprintf(sess, sizeof(sess), "00a1%llx",
				 (unsigned long long)(idx & 0xffffffffull));
			sid.id = sess;
			sid.id_present_case = 1;
			csmp_coap_enc_init(&e, out, sizeof(out), CSMP_COAP_ACK,
					   CSMP_COAP_VALID, m.mid,
					   mode == M_TOKEN ? &tok : NULL,
					   mode == M_TOKEN ? 1 : 0);
			if (mode == M_EMPTY) {
				len = csmp_coap_enc_finish(&e);
				goto send;
			}
			csmp_coap_enc_payload_begin(&e, &w, 0);
			csmp_tlvw_put(&w, CSMP_TLV_REPORT_SUBSCRIBE, &rs.base);
			csmp_tlvw_put(&w, CSMP_TLV_SESSION_ID, &sid.base);
			csmp_sig_window((uint64_t)time(NULL) -
					(mode == M_EXPIRED ? 7200 : 0),
					60, 600, 1, &nb, &na);
			len = csmp_sig_append(signer, w.buf, w.len, w.cap, nb, na);
			if (len < 0)
				continue;
			w.len = (size_t)len;
			csmp_coap_enc_payload_end(&e, &w);
			len = csmp_coap_enc_finish(&e);
send:
			if (len > 0)
				sendto(fd, out, (size_t)len, 0,
				       (struct sockaddr *)&from, fl);
		}
	}
	printf("{\"dgrams\":%llu,\"registrations\":%llu,\"reports\":%llu,"
	       "\"reports_session_ok\":%llu,\"notifications\":%llu,"
	       "\"notify_code0\":%llu,\"notify_code2\":%llu,"
	       "\"mid_errors\":%llu,\"order_errors\":%llu,\"pad_errors\":%llu,"
	       "\"token_errors\":%llu,\"iid_mismatch\":%llu,"
	       "\"unknown_eid\":%llu,\"malformed\":%llu,"
	       "\"first_mid_nonzero\":%llu,\"distinct_eids\":%llu,"
	       "\"distinct_srcs\":%llu}\n",
	       c.dgrams, c.registrations, c.reports, c.reports_session_ok,
	       c.notifications, c.notify_code[0], c.notify_code[2],
	       c.mid_errors, c.order_errors, c.pad_errors, c.token_errors,
	       c.iid_mismatch, c.unknown_eid, c.malformed,
	       c.reg_first_mid_nonzero, c.distinct_eids, c.distinct_srcs);
	csmp_signer_free(signer);
	csmp_key_put(key);
	free(dev);
	close(fd);
	return 0;
}
