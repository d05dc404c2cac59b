// SPDX-License-Identifier: GPL-2.0-only
/*
 * build/bin/csmpdump end to end: both fixture captures in text and JSON
 * (the JSON parsed with jq), a capture the test writes with libpcap holding
 * signed (good, tampered, expired), malformed and odd datagrams over
 * Ethernet/IPv6 and VLAN/IPv4, signature verification with a key the test
 * generates, --extract, --help, and a live capture on the loopback of a
 * private network namespace.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <net/if.h>
#include "kselftest_harness.h"
#include "testutil.h"
#include "sig.h"

#define T0	1700000000u

static char bin[1024];
static char fx_reg[1024], fx_get[1024];

static int setup_paths(void)
{
	const char *b = getenv("CSMP_BUILD");
	char exe[PATH_MAX];
	ssize_t n;

	if (b) {
		snprintf(bin, sizeof(bin), "%.900s/bin/csmpdump", b);
	} else {
		n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
		if (n <= 0)
			return -1;
		exe[n] = '\0';
		*strrchr(exe, '/') = '\0';
		snprintf(bin, sizeof(bin), "%.900s/../../bin/csmpdump", exe);
	}
	if (access(bin, X_OK))
		return -1;
	if (fx_path("opencsmp-register.pcap", fx_reg, sizeof(fx_reg)) ||
	    fx_path("opencsmp-get.pcap", fx_get, sizeof(fx_get)))
		return -2;
	return 0;
}

/* Run a shell command; its stdout into out (NUL-terminated); exit code. */
static int run(const char *cmd, char *out, size_t cap)
{
	FILE *p = popen(cmd, "r");
	size_t n = 0;
	int st;

	if (!p)
		return -1;
	if (out) {
		n = fread(out, 1, cap - 1, p);
		out[n] = '\0';
	} else {
		char sink[4096];

		while (fread(sink, 1, sizeof(sink), p) > 0)
			;
	}
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* csmpdump ARGS --json | jq -e -s FILTER: exit status 0 when FILTER holds. */
static int jq_check(const char *args, const char *filter)
{
	char cmd[16384];

	snprintf(cmd, sizeof(cmd), "%s %s --json | jq -e -s '%s' >/dev/null",
		 bin, args, filter);
	return run(cmd, NULL, 0);
}

#define NEED_PATHS() do {						\
	int _e = setup_paths();						\
	if (_e == -1)							\
		SKIP(return, "build/bin/csmpdump not built");		\
	if (_e == -2)							\
		SKIP(return, "fixtures not found");			\
} while (0)

TEST(register_capture_text)
{
	static char out[65536];
	char cmd[4096];
	static const char *const want[] = {
		"[2018::188]:46790 -> [2018::2]:61628 602 bytes",
		"CoAP CON POST (0.02) mid=0 token=- path=/r",
		"class=registration eid=0A0027FFFE3B2AB2 tlvs=15",
		"[2/DeviceID]: {\"type\":1,\"id\":\"0A0027FFFE3B2AB2\"}",
		"[18/CurrentTime]: {\"posix\":1608173973,\"source\":0}",
		"\"entPhysicalDescr\":\"CSMP Agent Lib test node\"",
		"\"ifName\":\"lowpan\",\"ifDescr\":\"Ieee154\",\"ifType\":259",
		"\"rssiForward\":-69",
		"[75/FirmwareImageInfo]: {\"index\":1,",
		"anomaly: nonminimal_length: 15 of 15",
		"CoAP ACK Valid (2.03) mid=0 token=-",
		"[13/ReportSubscribe]: {\"interval\":20,\"tlvid\":[\"2\",\"22\"]}",
		"[7/SessionID]: {\"id\":\"1\"}",
		"[76/SignatureValidity]: {\"notBefore\":1557295060,\"notAfter\":1667295060}",
		"signature: region=5+30",
		"suite=ecdsa-p256-sha256 value=86 bytes",
		"validity=1557295060..1667295060 (2019-05-08T05:57:40Z..2022-11-01T09:31:00Z, contains capture time)",
		"2 frames, 2 CSMP datagrams, 0 malformed, 1 anomalies",
	};
	size_t i;

	NEED_PATHS();
	snprintf(cmd, sizeof(cmd), "%s -r %s", bin, fx_reg);
	ASSERT_EQ(0, run(cmd, out, sizeof(out)));
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		EXPECT_NE(NULL, strstr(out, want[i]))
			TH_LOG("missing: %s", want[i]);
	}
}

TEST(register_capture_json)
{
	char args[2048];

	NEED_PATHS();
	snprintf(args, sizeof(args), "-r %s", fx_reg);
	EXPECT_EQ(0, jq_check(args, "length == 2"));
	EXPECT_EQ(0, jq_check(args,
		".[0] | .class == \"registration\" and .eid == \"0A0027FFFE3B2AB2\""
		" and .coap.type == \"CON\" and .coap.code == \"0.02\""
		" and .coap.path == \"r\" and .sport == 46790 and .dport == 61628"
		" and .src == \"2018::188\" and (.tlvs | length) == 15"));
	EXPECT_EQ(0, jq_check(args,
		".[0].tlvs | map(.type) == [2,18,11,12,12,16,16,16,17,23,23,25,35,53,75]"));
	EXPECT_EQ(0, jq_check(args,
		".[0].tlvs[0].value.id == \"0A0027FFFE3B2AB2\" and"
		" .[0].tlvs[1].value.posix == 1608173973 and"
		" .[0].tlvs[1].value.source == 0 and"
		" .[0].tlvs[2].value.entPhysicalDescr == \"CSMP Agent Lib test node\" and"
		" .[0].tlvs[14].value.fileSize == 246272 and"
		" .[0].tlvs[14].value.hwInfo.vendorHwId == \"vendor hardware ID\" and"
		" all(.[0].tlvs[]; .paddedLength == true)"));
	EXPECT_EQ(0, jq_check(args,
		".[1] | .coap.type == \"ACK\" and .coap.code == \"2.03\" and"
		" .coap.mid == 0 and .coap.token == \"\" and"
		" .tlvs[0].value == {\"interval\":20,\"tlvid\":[\"2\",\"22\"]} and"
		" .tlvs[1].value.id == \"1\" and"
		" .signature.notBefore == 1557295060 and"
		" .signature.notAfter == 1667295060 and"
		" .signature.windowContainsCaptureTime == true and"
		" .signature.regionOffset == 5 and .signature.regionLength == 30 and"
		" .signature.suite == \"p256\" and .signature.verify == \"not_checked\""
		" and .anomalies == []"));
}

TEST(get_capture_json)
{
	char args[2048];

	NEED_PATHS();
	snprintf(args, sizeof(args), "-r %s", fx_get);
	EXPECT_EQ(0, jq_check(args, "length == 36 and all(.[]; .error == null)"));
	EXPECT_EQ(0, jq_check(args,
		".[0].coap == {\"type\":\"CON\",\"code\":\"0.01\",\"codeName\":\"GET\","
		"\"mid\":0,\"token\":\"\",\"path\":\"c\",\"query\":[\"q=1\"],"
		"\"options\":2,\"payloadLength\":0}"));
	EXPECT_EQ(0, jq_check(args,
		".[1].tlvs[0].value.tlvid == [\"1\",\"2\",\"7\",\"55\",\"58\",\"13\","
		"\"11\",\"12\",\"16\",\"17\",\"18\",\"22\",\"23\",\"25\",\"35\",\"53\",\"75\"]"));
	/* Every GET is answered by a 2.05 with the same MID and token. */
	EXPECT_EQ(0, jq_check(args,
		"[range(0; length; 2) as $i | select(.[$i].coap.code == \"0.01\") |"
		" .[$i].coap.mid == .[$i+1].coap.mid and"
		" .[$i].coap.token == .[$i+1].coap.token and"
		" .[$i+1].coap.code == \"2.05\"] | length == 17 and all"));
	EXPECT_EQ(0, jq_check(args,
		"[.[] | select(.coap.token == \"10\")] | length == 2"));
}

/* ---- a capture written by the test ---- */

static size_t eth_ipv6_udp(uint8_t *f, const char *src, uint16_t sport,
			   const char *dst, uint16_t dport, const uint8_t *pl,
			   size_t len)
{
	memset(f, 0, 54);
	f[12] = 0x86;
	f[13] = 0xdd;
	f[14] = 0x60;
	f[18] = (uint8_t)((len + 8) >> 8);
	f[19] = (uint8_t)(len + 8);
	f[20] = IPPROTO_UDP;
	f[21] = 64;
	inet_pton(AF_INET6, src, f + 22);
	inet_pton(AF_INET6, dst, f + 38);
	f[54] = sport >> 8;
	f[55] = sport & 255;
	f[56] = dport >> 8;
	f[57] = dport & 255;
	f[58] = (uint8_t)((len + 8) >> 8);
	f[59] = (uint8_t)(len + 8);
	f[60] = f[61] = 0;
	memcpy(f + 62, pl, len);
	return 62 + len;
}

static size_t eth_vlan_ipv4_udp(uint8_t *f, uint16_t sport, uint16_t dport,
				const uint8_t *pl, size_t len)
{
	memset(f, 0, 46);
	memcpy(f + 12, "\x81\x00\x00\x07\x08\x00", 6);
	f[18] = 0x45;
	f[20] = (uint8_t)((len + 28) >> 8);
	f[21] = (uint8_t)(len + 28);
	f[26] = 64;
	f[27] = IPPROTO_UDP;
	inet_pton(AF_INET, "192.0.2.10", f + 30);
	inet_pton(AF_INET, "192.0.2.1", f + 34);
	f[38] = sport >> 8;
	f[39] = sport & 255;
	f[40] = dport >> 8;
	f[41] = dport & 255;
	f[42] = (uint8_t)((len + 8) >> 8);
	f[43] = (uint8_t)(len + 8);
	memcpy(f + 46, pl, len);
	return 46 + len;
}

static void dump_pkt(pcap_dumper_t *d, const uint8_t *f, size_t len,
		     uint32_t sec)
{
	struct pcap_pkthdr h = { .caplen = (bpf_u_int32)len,
				 .len = (bpf_u_int32)len };

	h.ts.tv_sec = sec;
	pcap_dump((u_char *)d, &h, f);
}

/* An ACK 2.03 {ReportSubscribe 60, SessionID}, signed for [nb, na]. */
static int signed_ack(struct csmp_signer *s, uint32_t nb, uint32_t na,
		      uint8_t *out, size_t cap)
{
	Csmp__ReportSubscribe rs = CSMP__REPORT_SUBSCRIBE__INIT;
	Csmp__SessionID sid = CSMP__SESSION_ID__INIT;
	uint8_t pl[512];
	struct csmp_tlvw w;
	struct csmp_coap_enc e;
	int n;

	rs.interval = 60;
	rs.interval_present_case = CSMP__REPORT_SUBSCRIBE__INTERVAL_PRESENT_INTERVAL;
	sid.id = "0001c0ffee";
	sid.id_present_case = CSMP__SESSION_ID__ID_PRESENT_ID;
	csmp_tlvw_init(&w, pl, sizeof(pl), 0);
	csmp_tlvw_put(&w, CSMP_TLV_REPORT_SUBSCRIBE, &rs.base);
	csmp_tlvw_put(&w, CSMP_TLV_SESSION_ID, &sid.base);
	n = csmp_sig_append(s, pl, w.len, sizeof(pl), nb, na);
	if (n < 0)
		return n;
	csmp_coap_enc_init(&e, out, cap, CSMP_COAP_ACK, CSMP_COAP_VALID, 7,
			   NULL, 0);
	csmp_coap_enc_payload(&e, pl, (size_t)n);
	return csmp_coap_enc_finish(&e);
}

struct crafted {
	char dir[64], pcap[128], pub[128], other_pub[128];
};

static int craft(struct crafted *c)
{
	static const char nms[] = "2001:db8::1", dev[] = "2001:db8::2";
	struct csmp_key *key = NULL, *other = NULL;
	struct csmp_signer *s = NULL;
	pcap_dumper_t *d;
	pcap_t *p;
	uint8_t dg[1024], f[1200];
	struct csmp_tlvw w;
	struct csmp_coap_enc e;
	Csmp__Uptime up = CSMP__UPTIME__INIT;
	Csmp__VendorTlv vt = CSMP__VENDOR_TLV__INIT;
	static const uint8_t vv[4] = { 1, 2, 3, 4 };
	int n, err = -1;

	strcpy(c->dir, "/tmp/csmpdump-test-XXXXXX");
	if (!mkdtemp(c->dir))
		return -1;
	snprintf(c->pcap, sizeof(c->pcap), "%s/crafted.pcap", c->dir);
	snprintf(c->pub, sizeof(c->pub), "%s/nms.pub.pem", c->dir);
	snprintf(c->other_pub, sizeof(c->other_pub), "%s/other.pub.pem",
		 c->dir);
	if (csmp_key_generate(CSMP_SUITE_P256, &key) ||
	    csmp_key_generate(CSMP_SUITE_P256, &other) ||
	    csmp_key_write_pem(key, NULL, c->pub) ||
	    csmp_key_write_pem(other, NULL, c->other_pub) ||
	    csmp_signer_new(key, 0, &s))
		goto out;
	p = pcap_open_dead(DLT_EN10MB, 65535);
	d = pcap_dump_open(p, c->pcap);
	if (!d)
		goto out_pcap;

	/* 1: signed, window around T0. */
	n = signed_ack(s, T0 - 100, T0 + 1000, dg, sizeof(dg));
	if (n < 0)
		goto out_dump;
	dump_pkt(d, f, eth_ipv6_udp(f, nms, 61628, dev, 40000, dg, (size_t)n), T0);
	/* 2: the same with ReportSubscribe.interval changed: tampered. */
	dg[7] ^= 0x01;
	dump_pkt(d, f, eth_ipv6_udp(f, nms, 61628, dev, 40000, dg, (size_t)n), T0);
	/* 3: signed, but the window ended before the capture time. */
	n = signed_ack(s, T0 - 1000, T0 - 500, dg, sizeof(dg));
	dump_pkt(d, f, eth_ipv6_udp(f, nms, 61628, dev, 40000, dg, (size_t)n), T0);
	/* 4: TKL 9. */
	memcpy(dg, "\x49\x01\x00\x01\x01\x02\x03\x04\x05\x06\x07\x08\x09", 13);
	dump_pkt(d, f, eth_ipv6_udp(f, dev, 61628, nms, 62000, dg, 13), T0);
	/* 5: NON POST /c: unknown TLV 3, agent vendor TLV, Signature, then
	 * Uptime after it. */
	csmp_coap_enc_init(&e, dg, sizeof(dg), CSMP_COAP_NON, CSMP_COAP_POST,
			   9, NULL, 0);
	csmp_coap_enc_path(&e, "c");
	csmp_coap_enc_payload_begin(&e, &w, CSMP_TLVW_PAD);
	csmp_tlvw_put_raw(&w, 3, "\xab\xcd", 2);
	vt.sub_type = 1;
	vt.sub_type_present_case = CSMP__VENDOR_TLV__SUB_TYPE_PRESENT_SUB_TYPE;
	vt.value.data = (uint8_t *)vv;
	vt.value.len = 4;
	vt.value_present_case = CSMP__VENDOR_TLV__VALUE_PRESENT_VALUE;
	csmp_tlvw_put_vendor_agent(&w, 5771, 127, &vt);
	csmp_tlvw_put_raw(&w, CSMP_TLV_SIGNATURE, "\x0a\x00", 2);
	up.sys_up_time = 42;
	up.sys_up_time_present_case = CSMP__UPTIME__SYS_UP_TIME_PRESENT_SYS_UP_TIME;
	csmp_tlvw_put(&w, CSMP_TLV_UPTIME, &up.base);
	csmp_coap_enc_payload_end(&e, &w);
	n = csmp_coap_enc_finish(&e);
	if (n < 0)
		goto out_dump;
	dump_pkt(d, f, eth_ipv6_udp(f, dev, 61628, nms, 61628, dg, (size_t)n), T0);
	/* 6: a report over VLAN 7 / IPv4 to port 61624. */
	n = fx_unhex("5002000ab163ff" "070c0a0a30303031633066666565"
		     "1206" "0881e2cfaa06", dg, sizeof(dg));
	dump_pkt(d, f, eth_vlan_ipv4_udp(f, 51000, 61624, dg, (size_t)n), T0);
	/* 7: a TLV running past the payload. */
	n = fx_unhex("5002000bb163ff" "0709" "0a0131", dg, sizeof(dg));
	dump_pkt(d, f, eth_ipv6_udp(f, dev, 61628, nms, 61628, dg, (size_t)n), T0);
	/* 8: not CSMP at all (port 53). */
	dump_pkt(d, f, eth_ipv6_udp(f, dev, 5353, nms, 53, dg, 4), T0);
	err = 0;
out_dump:
	pcap_dump_close(d);
out_pcap:
	pcap_close(p);
out:
	csmp_signer_free(s);
	csmp_key_put(key);
	csmp_key_put(other);
	return err;
}

static void cleanup(struct crafted *c)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", c->dir);
	run(cmd, NULL, 0);
}

TEST(crafted_capture_signatures_errors_and_anomalies)
{
	struct crafted c;
	char args[2048], cmd[4096];
	static char out[65536];

	NEED_PATHS();
	ASSERT_EQ(0, craft(&c));
	snprintf(args, sizeof(args), "-r %s --nms-pubkey %s", c.pcap, c.pub);
	EXPECT_EQ(0, jq_check(args, "length == 7"));
	EXPECT_EQ(0, jq_check(args,
		".[0].signature.verify == \"ok\" and"
		" .[0].signature.windowContainsCaptureTime == true and"
		" .[0].tlvs[1].value.id == \"0001c0ffee\" and"
		" .[0].coap.mid == 7 and .[0].anomalies == []"));
	EXPECT_EQ(0, jq_check(args, ".[1].signature.verify == \"sig_bad\""));
	EXPECT_EQ(0, jq_check(args,
		".[2].signature.verify == \"sig_expired\" and"
		" .[2].signature.windowContainsCaptureTime == false and"
		" (.[2].anomalies | map(.kind) | index(\"sig_window\")) != null"));
	EXPECT_EQ(0, jq_check(args,
		".[3].error == {\"where\":\"coap\",\"reason\":\"coap_tkl\","
		"\"errno\":-34,\"message\":\"Numerical result out of range\"}"));
	EXPECT_EQ(0, jq_check(args,
		".[4] | (.anomalies | map(.kind)) as $k |"
		" ($k | index(\"unknown_tlv\")) != null and"
		" ($k | index(\"sig_not_last\")) != null and"
		" ($k | index(\"sig_malformed\")) != null and"
		" .tlvs[1].vendorForm == \"agent\" and .tlvs[1].pen == 5771 and"
		" .tlvs[1].value == {\"pen\":5771,\"vtype\":127,\"subType\":1,"
		"\"value\":\"01020304\"} and .tlvs[3].value.sysUpTime == 42"));
	EXPECT_EQ(0, jq_check(args,
		".[5] | .class == \"report\" and .vlan == 7 and"
		" .src == \"192.0.2.10\" and .dport == 61624 and"
		" .sessionBackend == 1 and .tlvs[1].value.posix == 1700000001"));
	EXPECT_EQ(0, jq_check(args,
		".[6].error.where == \"tlv\" and .[6].error.reason == \"tlv_trunc\""));

	/* Text: the same, and exit status 1 (malformed and bad signatures). */
	snprintf(cmd, sizeof(cmd), "%s %s", bin, args);
	EXPECT_EQ(1, run(cmd, out, sizeof(out)));
	EXPECT_NE(NULL, strstr(out, "verify=ok"));
	EXPECT_NE(NULL, strstr(out, "verify=sig_bad"));
	EXPECT_NE(NULL, strstr(out, "MALFORMED (coap): coap_tkl"));
	EXPECT_NE(NULL, strstr(out, "anomaly: sig_not_last"));
	EXPECT_NE(NULL, strstr(out, "[127/Vendor e5771.127]: {\"pen\":5771"));
	EXPECT_NE(NULL, strstr(out, "8 frames, 7 CSMP datagrams, 2 malformed"));
	EXPECT_NE(NULL, strstr(out, "1 signatures verified, 3 failed"));

	/* Another key: nothing verifies. */
	snprintf(args, sizeof(args), "-r %s --nms-pubkey %s", c.pcap,
		 c.other_pub);
	EXPECT_EQ(0, jq_check(args, ".[0].signature.verify == \"sig_bad\""));
	if (!getenv("CSMP_KEEP"))
		cleanup(&c);
	else
		TH_LOG("kept %s", c.dir);
}

TEST(extract_writes_each_payload)
{
	char cmd[4096], dir[] = "/tmp/csmpdump-x-XXXXXX";
	struct stat sb;
	char path[PATH_MAX];

	NEED_PATHS();
	ASSERT_NE(NULL, mkdtemp(dir));
	snprintf(cmd, sizeof(cmd), "%s -q -r %s -x %s/c", bin, fx_reg, dir);
	EXPECT_EQ(0, run(cmd, NULL, 0));
	snprintf(path, sizeof(path), "%s/c/1.bin", dir);
	EXPECT_EQ(0, stat(path, &sb));
	EXPECT_EQ(602, sb.st_size);
	snprintf(path, sizeof(path), "%s/c/2.bin", dir);
	EXPECT_EQ(0, stat(path, &sb));
	EXPECT_EQ(125, sb.st_size);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	run(cmd, NULL, 0);
}

TEST(help_usage_and_errors)
{
	static char out[8192];
	char cmd[4096];

	NEED_PATHS();
	snprintf(cmd, sizeof(cmd), "%s --help", bin);
	EXPECT_EQ(0, run(cmd, out, sizeof(out)));
	EXPECT_NE(NULL, strstr(out, "csmpdump -r ../shared/fixtures/opencsmp-register.pcap"));
	snprintf(cmd, sizeof(cmd), "%s 2>/dev/null", bin);
	EXPECT_EQ(2, run(cmd, NULL, 0));
	snprintf(cmd, sizeof(cmd), "%s -r /nonexistent.pcap 2>/dev/null", bin);
	EXPECT_EQ(2, run(cmd, NULL, 0));
	snprintf(cmd, sizeof(cmd), "%s -r %s --nms-pubkey /nonexistent 2>/dev/null",
		 bin, fx_reg);
	EXPECT_EQ(2, run(cmd, NULL, 0));
}

/* The --help example, run as written from the repository root. */
TEST(help_example_works_as_written)
{
	char cmd[8192], top[PATH_MAX];
	static char out[65536];

	NEED_PATHS();
	/* bin is <top>/build/bin/csmpdump. */
	ASSERT_NE(NULL, realpath(bin, top));
	*strrchr(top, '/') = '\0';
	*strrchr(top, '/') = '\0';
	*strrchr(top, '/') = '\0';
	snprintf(cmd, sizeof(cmd), "cd '%s' && %s -r ../shared/fixtures/opencsmp-get.pcap"
		 " --json | jq -r .coap.path | sort | uniq -c", top, bin);
	ASSERT_EQ(0, run(cmd, out, sizeof(out)));
	EXPECT_NE(NULL, strstr(out, "17 c"));
}

static int netns_lo_up(void)
{
	struct ifreq ifr = { 0 };
	int fd, err;

	if (unshare(CLONE_NEWNET))
		return -errno;
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0)
		return -errno;
	strcpy(ifr.ifr_name, "lo");
	err = ioctl(fd, SIOCGIFFLAGS, &ifr);
	ifr.ifr_flags |= IFF_UP;
	if (!err)
		err = ioctl(fd, SIOCSIFFLAGS, &ifr);
	close(fd);
	return err ? -errno : 0;
}

TEST(live_capture_on_private_loopback)
{
	static const uint8_t msg[] = { 0x50, 0x02, 0x00, 0x05, 0xb1, 0x63,
				       0xff, 0x16, 0x02, 0x08, 0x2a };
	struct sockaddr_in6 to = { .sin6_family = AF_INET6,
				   .sin6_port = htons(CSMP_PORT),
				   .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	char cmd[4096], outf[] = "/tmp/csmpdump-live-XXXXXX";
	static char out[8192];
	int fd, ofd, i, st = -1;
	pid_t pid;

	NEED_PATHS();
	if (geteuid())
		SKIP(return, "needs root (a private network namespace)");
	/* The whole test runs in its own netns: nothing leaves it. */
	ASSERT_EQ(0, netns_lo_up());
	ofd = mkstemp(outf);
	ASSERT_GE(ofd, 0);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid) {
		dup2(ofd, 1);
		execl(bin, bin, "-i", "lo", "-c", "1", "--json", (char *)NULL);
		_exit(127);
	}
	fd = socket(AF_INET6, SOCK_DGRAM, 0);
	ASSERT_GE(fd, 0);
	/* Send until csmpdump has seen one (it needs a moment to start). */
	for (i = 0; i < 100; i++) {
		sendto(fd, msg, sizeof(msg), 0, (struct sockaddr *)&to,
		       sizeof(to));
		usleep(100000);
		if (waitpid(pid, &st, WNOHANG) == pid)
			break;
	}
	close(fd);
	if (i == 100) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
	}
	EXPECT_LT(i, 100);
	EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	snprintf(cmd, sizeof(cmd), "jq -e '.class == \"async_reply\" and"
		 " .dst == \"::1\" and .dport == 61628 and"
		 " .tlvs[0].value.sysUpTime == 42' < %s >/dev/null && cat %s",
		 outf, outf);
	EXPECT_EQ(0, run(cmd, out, sizeof(out)));
	close(ofd);
	unlink(outf);
}

TEST_HARNESS_MAIN
