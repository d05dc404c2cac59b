// SPDX-License-Identifier: GPL-2.0-only
/*
 * A firmware head-end in miniature for the sim_firmware*.sh tests: it
 * drives one device's CoAP server (csmp-sim --serve) straight, the way
 * csmp-firmware.md says a head-end must, and prints one JSON line per
 * step so the test can check what the device answered:
 *
 *   transfer      signed TransferRequest, then GET /c/65 to confirm (on a
 *                 lost answer it asks GET /c/65 before sending again, so
 *                 it never wipes an upload under way)
 *   blocks        every block once, unsigned CON POSTs, DescriptionRequest
 *                 {75} before the block at each 10 % and with the last
 *   repair        GET /c/75/2 for the bitmap, re-send what it lacks, until
 *                 it is full (at most 50 rounds)
 *   burst         every block at once, no waiting for answers (what a
 *                 head-end that does not pace does), then 1 s of answers
 *   complete      re-send block 0 (the completion quirk), then check that
 *                 the UPLOAD entry carries no bitmap any more
 *   load:+S load:T load:1     signed LoadRequest at now+S, T, or 1
 *   cancel        signed CancelLoadRequest
 *   get68 get65 run          GET /c/68, /c/65, /c/75/1 (the RUN slot)
 *   wait:S        sleep S seconds
 *
 * With --nms [ADDR]:PORT it is also the NMS the devices send to, for the
 * asynchronous steps (csmp-wire-facts.md §1.4):
 *   nonget:IDS:A  NON GET /c?q=IDS (commas become spaces)&a=A, then the
 *                 device's NON POST /c with the answer (at most 2A + 2 s;
 *                 A = 0 is the agent's 20 s)
 *   nonpost:ok|bad  NON POST with a token, signed: GroupAssign {1, 5}
 *                 (ok) or CGMSSettings (bad: the agent cannot POST it),
 *                 then the device's CGMSNotification
 *   assign:G      signed CON POST GroupAssign {2, G} (the firmware group)
 *   mcast:G       every block as a NON POST {GroupMatch {2, G}, ImageBlock}
 *                 to the group's address (--group-mcast, default
 *                 ff05::c5:0:0 + G) out --mcast-if (default lo), 5 ms apart
 *   notes:S       count the CGMSNotifications that come in S seconds
 *
 *   fw_driver --target [ADDR]:PORT --key NMS.pem --image FILE
 *             [--block-size N] [--timeout-ms N] STEP...
 *
 * A CON that draws no answer in --timeout-ms (default 300) is not sent
 * again by the same step: loss is repaired from the bitmap, which is the
 * point.
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <net/if.h>

#include "csmp.h"
#include "fwimage.h"
#include "hostport.h"
#include "sig.h"

static struct {
	int fd;
	int nms;			/* --nms: what the devices send us */
	struct in6_addr group_base;
	const char *mcast_if;
	struct sockaddr_in6 to;
	struct csmp_signer *signer;
	uint16_t mid;
	int timeout_ms;
	struct csmp_fw_image img;
	uint8_t *data;
	uint32_t bs, nblocks;
	unsigned long sent, resent, lost, bitmap_reads;
	uint8_t ans[2048];
	int ans_len;
	struct csmp_coap_msg m;
	struct csmp_arena arena;
	uint8_t arena_buf[16384];
} g;

/* One CON exchange: 0 with g.m/g.ans, -ETIMEDOUT. */
static int exchange(const uint8_t *buf, size_t len)
{
	uint16_t mid = (uint16_t)(g.mid - 1);
	struct pollfd p = { .fd = g.fd, .events = POLLIN };
	struct timespec t0, t1;

	if (sendto(g.fd, buf, len, 0, (struct sockaddr *)&g.to, sizeof(g.to)) < 0)
		return -errno;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		int left;

		clock_gettime(CLOCK_MONOTONIC, &t1);
		left = g.timeout_ms - (int)((t1.tv_sec - t0.tv_sec) * 1000 +
					     (t1.tv_nsec - t0.tv_nsec) / 1000000);
		if (left <= 0 || poll(&p, 1, left) != 1) {
			g.lost++;
			return -ETIMEDOUT;
		}
		g.ans_len = (int)recv(g.fd, g.ans, sizeof(g.ans), 0);
		if (g.ans_len < 0 || csmp_coap_parse(g.ans, (uint32_t)g.ans_len, &g.m))
			continue;
		if (g.m.mid == mid)	/* a late answer to an earlier one: skip */
			return 0;
	}
}

static void begin(struct csmp_coap_enc *e, uint8_t *buf, size_t cap,
		  uint8_t code)
{
	csmp_coap_enc_init(e, buf, cap, CSMP_COAP_CON, code, g.mid++, NULL, 0);
	csmp_coap_enc_path(e, "c");
}

static int post(ProtobufCMessage *const *msgs, const uint32_t *ids, int n,
		bool sign)
{
	uint8_t buf[1400];
	struct csmp_coap_enc e;
	struct csmp_tlvw w;
	uint32_t now = (uint32_t)time(NULL);
	int len;

	begin(&e, buf, sizeof(buf), CSMP_COAP_POST);
	csmp_coap_enc_payload_begin(&e, &w, 0);
	for (int i = 0; i < n; i++)
		csmp_tlvw_put(&w, ids[i], msgs[i]);
	if (sign) {
		len = csmp_sig_append(g.signer, w.buf, w.len, w.cap, now - 60,
				      now + 3600);
		if (len < 0)
			return len;
		w.len = (size_t)len;
	}
	csmp_coap_enc_payload_end(&e, &w);
	len = csmp_coap_enc_finish(&e);
	if (len < 0)
		return len;
	return exchange(buf, (size_t)len);
}

static int get(const char *path)
{
	uint8_t buf[256];
	struct csmp_coap_enc e;
	int len;

	csmp_coap_enc_init(&e, buf, sizeof(buf), CSMP_COAP_CON, CSMP_COAP_GET,
			   g.mid++, NULL, 0);
	csmp_coap_enc_path(&e, path);
	len = csmp_coap_enc_finish(&e);
	if (len < 0)
		return len;
	return exchange(buf, (size_t)len);
}

/* GET with retries: loss must not end a step that only reads. */
static int get_retry(const char *path)
{
	for (int i = 0; i < 20; i++)
		if (!get(path))
			return 0;
	return -ETIMEDOUT;
}

static const char *code_str(void)
{
	static char c[8];

	return csmp_coap_code_str(g.m.code, c);
}

/* The first TLV of type id in the answer, decoded; NULL if none. */
static ProtobufCMessage *answer_tlv(uint32_t id, unsigned int nth)
{
	const uint8_t *p = g.ans + g.m.payload_off;
	struct csmp_tlv_iter it;
	struct csmp_tlv t;
	ProtobufCMessage *m;

	csmp_tlv_init(&it, p, g.m.payload_len);
	while (csmp_tlv_next(&it, &t) == 1) {
		if (t.type != id || nth--)
			continue;
		if (csmp_tlv_decode(&g.arena, p, &t, &m))
			return NULL;
		return m;
	}
	return NULL;
}

static void hash_bytes(ProtobufCBinaryData *b)
{
	b->len = 32;
	b->data = g.img.hash;
}

static int step_transfer(void)
{
	Csmp__TransferRequest tr;
	Csmp__HardwareInfo hw;
	ProtobufCMessage *msgs[1] = { &tr.base };
	uint32_t ids[1] = { CSMP_TLV_TRANSFER_REQUEST };
	const Csmp__FirmwareResponse *fr;
	int r = -1, tries = 0;

	protobuf_c_message_init(&csmp__transfer_request__descriptor, &tr);
	protobuf_c_message_init(&csmp__hardware_info__descriptor, &hw);
	hw.hw_id = g.img.hwid;
	hw.hw_id_present_case = 1;
	tr.hw_info = &hw;
	hash_bytes(&tr.file_hash);
	tr.file_name = g.img.name;
	tr.version = g.img.version;
	tr.file_size = (uint32_t)g.img.size;
	tr.block_size = g.bs;
	for (uint32_t f = 2; f <= 6; f++)
		csmp_pb_set_present(&tr.base, f);
	while (tries++ < 10) {
		r = post(msgs, ids, 1, true);
		if (!r)
			break;
		/* Lost answer: did it arrive? GET /c/65 before resending. */
		if (!get_retry("c/65") && g.m.code == CSMP_COAP_CONTENT)
			break;
	}
	csmp_arena_reset(&g.arena);
	fr = r ? NULL : (const Csmp__FirmwareResponse *)
		answer_tlv(CSMP_TLV_TRANSFER_RESPONSE, 0);
	printf("{\"step\":\"transfer\",\"code\":\"%s\",\"tries\":%d",
	       r ? "timeout" : code_str(), tries);
	if (fr)
		printf(",\"response\":%u", fr->response);
	if (get_retry("c/65"))
		return printf("}\n"), 1;
	printf(",\"get65\":\"%s\"}\n", code_str());
	return 0;
}

static int send_block(uint32_t b, bool describe)
{
	Csmp__DescriptionRequest dr;
	Csmp__ImageBlock ib;
	char *id75 = "75";
	ProtobufCMessage *msgs[2];
	uint32_t ids[2];
	size_t off = (size_t)b * g.bs, len = g.bs;
	int n = 0;

	if (off + len > g.img.size)
		len = g.img.size - off;
	protobuf_c_message_init(&csmp__description_request__descriptor, &dr);
	protobuf_c_message_init(&csmp__image_block__descriptor, &ib);
	dr.n_tlvid = 1;
	dr.tlvid = &id75;
	/* A hash prefix: the agent compares 4..32 bytes. */
	ib.file_hash.len = 8;
	ib.file_hash.data = g.img.hash;
	ib.block_num = b;
	ib.block_data.len = len;
	ib.block_data.data = g.data + off;
	for (uint32_t f = 1; f <= 4; f++)
		if (f != 3)
			csmp_pb_set_present(&ib.base, f);
	if (describe) {
		msgs[n] = &dr.base;
		ids[n++] = CSMP_TLV_DESCRIPTION_REQ;
	}
	msgs[n] = &ib.base;
	ids[n++] = CSMP_TLV_IMAGE_BLOCK;
	g.sent++;
	return post(msgs, ids, n, false);
}

static int step_blocks(void)
{
	uint32_t tenth = g.nblocks / 10 ? g.nblocks / 10 : 1, described = 0;
	unsigned long answered = 0;

	for (uint32_t b = 0; b < g.nblocks; b++) {
		bool d = b % tenth == 0 || b + 1 == g.nblocks;

		if (send_block(b, d))
			continue;
		answered++;
		if (d && answer_tlv(CSMP_TLV_FIRMWARE_IMAGE_INFO, 0))
			described++;
		csmp_arena_reset(&g.arena);
	}
	printf("{\"step\":\"blocks\",\"sent\":%lu,\"answered\":%lu,"
	       "\"described\":%u}\n", g.sent, answered, described);
	return 0;
}

static int step_burst(void)
{
	struct pollfd p = { .fd = g.fd, .events = POLLIN };
	unsigned long answered = 0;
	int saved = g.timeout_ms;

	g.timeout_ms = 0;	/* send, do not wait */
	for (uint32_t b = 0; b < g.nblocks; b++)
		send_block(b, false);
	g.timeout_ms = saved;
	g.lost -= g.nblocks;
	while (poll(&p, 1, 1000) == 1 && recv(g.fd, g.ans, sizeof(g.ans), 0) > 0)
		answered++;
	printf("{\"step\":\"burst\",\"sent\":%u,\"answered\":%lu}\n",
	       g.nblocks, answered);
	return 0;
}

/* The UPLOAD slot: 1 with its bitmap in *bm (NULL: none), 0 not ours. */
static int upload_slot(const ProtobufCBinaryData **bm)
{
	const Csmp__FirmwareImageInfo *fi;

	csmp_arena_reset(&g.arena);
	if (get_retry("c/75/2") || g.m.code != CSMP_COAP_CONTENT)
		return -1;
	g.bitmap_reads++;
	fi = (const Csmp__FirmwareImageInfo *)answer_tlv(CSMP_TLV_FIRMWARE_IMAGE_INFO, 0);
	if (!fi || fi->file_hash.len != 32 ||
	    memcmp(fi->file_hash.data, g.img.hash, 32))
		return 0;
	*bm = fi->bitmap_present_case ? &fi->bitmap : NULL;
	return 1;
}

static int step_repair(void)
{
	const ProtobufCBinaryData *bm;
	uint32_t missing = 0;
	int rounds;

	for (rounds = 0; rounds < 50; rounds++) {
		uint32_t todo[1024], n = 0;

		if (upload_slot(&bm) != 1 || !bm)
			break;
		for (uint32_t b = 0; b < g.nblocks; b++)
			if (b / 8 >= bm->len || !(bm->data[b / 8] & (0x80 >> (b % 8))))
				todo[n++] = b;
		if (!rounds)
			missing = n;
		if (!n)
			break;
		for (uint32_t i = 0; i < n; i++) {
			g.resent++;
			send_block(todo[i], false);
		}
	}
	printf("{\"step\":\"repair\",\"missing_first\":%u,\"resent\":%lu,"
	       "\"rounds\":%d,\"full\":%s}\n", missing, g.resent, rounds,
	       upload_slot(&bm) == 1 && bm &&
	       bm->len == (g.nblocks + 7) / 8 ? "true" : "false");
	return 0;
}

static int step_complete(void)
{
	const ProtobufCBinaryData *bm = NULL;
	int ours = 0, tries;

	for (tries = 1; tries <= 20; tries++) {
		send_block(0, false);
		ours = upload_slot(&bm);
		if (ours != 1 || !bm)
			break;
	}
	printf("{\"step\":\"complete\",\"tries\":%d,\"ours\":%s,\"bitmap\":%s}\n",
	       tries, ours == 1 ? "true" : "false", bm ? "true" : "false");
	return 0;
}

/* The next NON POST /c the NMS socket takes within ms: 0, -ETIMEDOUT. */
static int nms_next(int ms, uint64_t *after_ms)
{
	struct pollfd p = { .fd = g.nms, .events = POLLIN };
	struct timespec t0, t1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		int left;

		clock_gettime(CLOCK_MONOTONIC, &t1);
		left = ms - (int)((t1.tv_sec - t0.tv_sec) * 1000 +
				  (t1.tv_nsec - t0.tv_nsec) / 1000000);
		if (left <= 0 || poll(&p, 1, left) != 1)
			return -ETIMEDOUT;
		g.ans_len = (int)recv(g.nms, g.ans, sizeof(g.ans), 0);
		if (g.ans_len < 0 ||
		    csmp_coap_parse(g.ans, (uint32_t)g.ans_len, &g.m))
			continue;
		/* Registrations (CON /r) are not what we wait for. */
		if (g.m.type != CSMP_COAP_NON || g.m.code != CSMP_COAP_POST)
			continue;
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (after_ms)
			*after_ms = (uint64_t)((t1.tv_sec - t0.tv_sec) * 1000 +
					       (t1.tv_nsec - t0.tv_nsec) / 1000000);
		return 0;
	}
}

static void print_ids(void)
{
	const uint8_t *p = g.ans + g.m.payload_off;
	struct csmp_tlv_iter it;
	struct csmp_tlv t;
	bool first = true;

	printf(",\"tlvs\":[");
	csmp_tlv_init(&it, p, g.m.payload_len);
	while (csmp_tlv_next(&it, &t) == 1) {
		printf("%s%u", first ? "" : ",", t.type);
		first = false;
	}
	printf("]");
}

static int step_nonget(const char *arg)
{
	char ids[128], q[140], a[16];
	const char *colon = strrchr(arg, ':');
	uint8_t buf[256];
	struct csmp_coap_enc e;
	uint64_t after;
	int len, delay;

	if (!colon || g.nms < 0)
		return -EINVAL;
	snprintf(ids, sizeof(ids), "%.*s", (int)(colon - arg), arg);
	for (char *c = ids; *c; c++)
		if (*c == ',')
			*c = ' ';
	delay = atoi(colon + 1);
	snprintf(q, sizeof(q), "q=%s", ids);
	snprintf(a, sizeof(a), "a=%d", delay);
	csmp_coap_enc_init(&e, buf, sizeof(buf), CSMP_COAP_NON, CSMP_COAP_GET,
			   g.mid++, NULL, 0);
	csmp_coap_enc_path(&e, "c");
	csmp_coap_enc_query(&e, q);
	csmp_coap_enc_query(&e, a);
	len = csmp_coap_enc_finish(&e);
	if (len < 0 || sendto(g.fd, buf, (size_t)len, 0,
			      (struct sockaddr *)&g.to, sizeof(g.to)) < 0)
		return -EIO;
	printf("{\"step\":\"nonget\",\"a\":%d", delay);
	/* a=0 or absent: the agent's default of 20 s. */
	if (nms_next((2 * (delay ? delay : 20) + 2) * 1000, &after)) {
		printf(",\"answer\":false}\n");
		return 0;
	}
	printf(",\"answer\":true,\"after_ms\":%llu,\"tkl\":%u",
	       (unsigned long long)after, g.m.tkl);
	print_ids();
	printf("}\n");
	return 0;
}

static int step_nonpost(const char *kind)
{
	static const uint8_t tok[2] = { 0xab, 0xcd };
	Csmp__GroupAssign ga;
	Csmp__CGMSSettings cs;
	const Csmp__CGMSNotification *n;
	uint8_t buf[512];
	struct csmp_coap_enc e;
	struct csmp_tlvw w;
	uint32_t now = (uint32_t)time(NULL);
	int len;

	if (g.nms < 0)
		return -EINVAL;
	csmp_coap_enc_init(&e, buf, sizeof(buf), CSMP_COAP_NON, CSMP_COAP_POST,
			   g.mid++, tok, sizeof(tok));
	csmp_coap_enc_path(&e, "c");
	csmp_coap_enc_payload_begin(&e, &w, 0);
	if (!strcmp(kind, "ok")) {
		protobuf_c_message_init(&csmp__group_assign__descriptor, &ga);
		ga.type = 1;
		ga.id = 5;
		csmp_pb_set_present(&ga.base, 1);
		csmp_pb_set_present(&ga.base, 2);
		csmp_tlvw_put(&w, CSMP_TLV_GROUP_ASSIGN, &ga.base);
	} else {
		protobuf_c_message_init(&csmp__cgmssettings__descriptor, &cs);
		cs.reg_interval_min = 10;
		csmp_pb_set_present(&cs.base, 1);
		csmp_tlvw_put(&w, CSMP_TLV_CGMS_SETTINGS, &cs.base);
	}
	len = csmp_sig_append(g.signer, w.buf, w.len, w.cap, now - 60, now + 3600);
	if (len < 0)
		return len;
	w.len = (size_t)len;
	csmp_coap_enc_payload_end(&e, &w);
	len = csmp_coap_enc_finish(&e);
	if (len < 0 || sendto(g.fd, buf, (size_t)len, 0,
			      (struct sockaddr *)&g.to, sizeof(g.to)) < 0)
		return -EIO;
	printf("{\"step\":\"nonpost\",\"kind\":\"%s\"", kind);
	if (nms_next(3000, NULL)) {
		printf(",\"answer\":false}\n");
		return 0;
	}
	csmp_arena_reset(&g.arena);
	n = (const Csmp__CGMSNotification *)answer_tlv(CSMP_TLV_CGMS_NOTIFICATION, 0);
	printf(",\"answer\":true,\"token\":\"");
	for (int i = 0; i < g.m.tkl; i++)
		printf("%02x", g.m.token[i]);
	printf("\"");
	if (n) {
		printf(",\"code\":%u,\"failed\":[", n->code);
		for (size_t i = 0; i < n->n_tlvs; i++)
			printf("%s%u", i ? "," : "", n->tlvs[i]);
		printf("]");
	}
	printf("}\n");
	return 0;
}

static int step_assign(const char *arg)
{
	Csmp__GroupAssign ga;
	ProtobufCMessage *msgs[1] = { &ga.base };
	uint32_t ids[1] = { CSMP_TLV_GROUP_ASSIGN };
	int r, tries = 0;

	protobuf_c_message_init(&csmp__group_assign__descriptor, &ga);
	ga.type = CSMP_GROUP_FIRMWARE;
	ga.id = (uint32_t)atoi(arg);
	csmp_pb_set_present(&ga.base, 1);
	csmp_pb_set_present(&ga.base, 2);
	do
		r = post(msgs, ids, 1, true);
	while (r && ++tries < 10);
	printf("{\"step\":\"assign\",\"code\":\"%s\"}\n",
	       r ? "timeout" : code_str());
	return 0;
}

static int step_mcast(const char *arg)
{
	struct sockaddr_in6 to = g.to;
	uint32_t group = (uint32_t)atoi(arg);
	unsigned int lo = if_nametoindex(g.mcast_if);
	int hops = 1;

	to.sin6_addr = g.group_base;
	for (int i = 0; i < 4; i++)
		to.sin6_addr.s6_addr[12 + i] = (uint8_t)(group >> (24 - 8 * i));
	if (setsockopt(g.fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, &lo, sizeof(lo)) ||
	    setsockopt(g.fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &hops, sizeof(hops)))
		return -errno;
	for (uint32_t b = 0; b < g.nblocks; b++) {
		Csmp__GroupMatch gm;
		Csmp__ImageBlock ib;
		uint8_t buf[1400];
		struct csmp_coap_enc e;
		struct csmp_tlvw w;
		size_t off = (size_t)b * g.bs, len = g.bs;
		int n;

		if (off + len > g.img.size)
			len = g.img.size - off;
		protobuf_c_message_init(&csmp__group_match__descriptor, &gm);
		protobuf_c_message_init(&csmp__image_block__descriptor, &ib);
		gm.type = CSMP_GROUP_FIRMWARE;
		gm.id = group;
		csmp_pb_set_present(&gm.base, 1);
		csmp_pb_set_present(&gm.base, 2);
		ib.file_hash.len = 8;
		ib.file_hash.data = g.img.hash;
		ib.block_num = b;
		ib.block_data.len = len;
		ib.block_data.data = g.data + off;
		csmp_pb_set_present(&ib.base, 1);
		csmp_pb_set_present(&ib.base, 2);
		csmp_pb_set_present(&ib.base, 4);
		csmp_coap_enc_init(&e, buf, sizeof(buf), CSMP_COAP_NON,
				   CSMP_COAP_POST, g.mid++, NULL, 0);
		csmp_coap_enc_path(&e, "c");
		csmp_coap_enc_query(&e, "a=1");
		csmp_coap_enc_payload_begin(&e, &w, 0);
		csmp_tlvw_put(&w, CSMP_TLV_GROUP_MATCH, &gm.base);
		csmp_tlvw_put(&w, CSMP_TLV_IMAGE_BLOCK, &ib.base);
		csmp_coap_enc_payload_end(&e, &w);
		n = csmp_coap_enc_finish(&e);
		if (n < 0 || sendto(g.fd, buf, (size_t)n, 0,
				    (struct sockaddr *)&to, sizeof(to)) < 0)
			return -errno;
		g.sent++;
		usleep(5000);
	}
	printf("{\"step\":\"mcast\",\"group\":%u,\"sent\":%u}\n", group,
	       g.nblocks);
	return 0;
}

static int step_notes(const char *arg)
{
	unsigned long n = 0, code0 = 0;
	struct timespec t0, t1;
	int ms = (int)(atof(arg) * 1000);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		const Csmp__CGMSNotification *cn;
		int left;

		clock_gettime(CLOCK_MONOTONIC, &t1);
		left = ms - (int)((t1.tv_sec - t0.tv_sec) * 1000 +
				  (t1.tv_nsec - t0.tv_nsec) / 1000000);
		if (left <= 0 || nms_next(left, NULL))
			break;
		csmp_arena_reset(&g.arena);
		cn = (const Csmp__CGMSNotification *)
			answer_tlv(CSMP_TLV_CGMS_NOTIFICATION, 0);
		if (!cn)
			continue;
		n++;
		code0 += cn->code == CSMP_NOTIFY_OK;
	}
	printf("{\"step\":\"notes\",\"notifications\":%lu,\"code0\":%lu}\n",
	       n, code0);
	return 0;
}

static int step_load(const char *arg)
{
	Csmp__LoadRequest lr;
	ProtobufCMessage *msgs[1] = { &lr.base };
	uint32_t ids[1] = { CSMP_TLV_LOAD_REQUEST };
	const Csmp__LoadResponse *rsp;
	uint32_t now = (uint32_t)time(NULL), t;
	int r, tries = 0;

	t = arg[0] == '+' ? now + (uint32_t)atoi(arg + 1) : (uint32_t)strtoul(arg, NULL, 10);
	if (arg[0] == '-')
		t = now - (uint32_t)atoi(arg + 1);
	protobuf_c_message_init(&csmp__load_request__descriptor, &lr);
	hash_bytes(&lr.file_hash);
	lr.load_time = t;
	csmp_pb_set_present(&lr.base, 1);
	csmp_pb_set_present(&lr.base, 2);
	do
		r = post(msgs, ids, 1, true);
	while (r && ++tries < 10);
	csmp_arena_reset(&g.arena);
	rsp = r ? NULL : (const Csmp__LoadResponse *)answer_tlv(CSMP_TLV_LOAD_RESPONSE, 0);
	printf("{\"step\":\"load\",\"load_time\":%u,\"code\":\"%s\"", t,
	       r ? "timeout" : code_str());
	if (rsp)
		printf(",\"response\":%u", rsp->response);
	printf("}\n");
	return 0;
}

static int step_cancel(void)
{
	Csmp__CancelLoadRequest cr;
	ProtobufCMessage *msgs[1] = { &cr.base };
	uint32_t ids[1] = { CSMP_TLV_CANCEL_LOAD_REQUEST };
	const Csmp__FirmwareResponse *rsp;
	int r, tries = 0;

	protobuf_c_message_init(&csmp__cancel_load_request__descriptor, &cr);
	hash_bytes(&cr.file_hash);
	csmp_pb_set_present(&cr.base, 1);
	do
		r = post(msgs, ids, 1, true);
	while (r && ++tries < 10);
	csmp_arena_reset(&g.arena);
	rsp = r ? NULL : (const Csmp__FirmwareResponse *)
		answer_tlv(CSMP_TLV_CANCEL_LOAD_RESPONSE, 0);
	printf("{\"step\":\"cancel\",\"code\":\"%s\"", r ? "timeout" : code_str());
	if (rsp)
		printf(",\"response\":%u", rsp->response);
	printf("}\n");
	return 0;
}

/* GET a path and print the answer's TLVs as JSON. */
static int step_get(const char *step, const char *path)
{
	const uint8_t *p;
	struct csmp_tlv_iter it;
	struct csmp_tlv t;
	bool first = true;

	printf("{\"step\":\"%s\"", step);
	if (get_retry(path))
		return printf(",\"code\":\"timeout\"}\n"), 0;
	printf(",\"code\":\"%s\",\"tlvs\":[", code_str());
	p = g.ans + g.m.payload_off;
	csmp_tlv_init(&it, p, g.m.payload_len);
	while (csmp_tlv_next(&it, &t) == 1) {
		struct csmp_sb sb;
		char js[4096];

		csmp_arena_reset(&g.arena);
		csmp_sb_init(&sb, js, sizeof(js));
		csmp_tlv_json(&sb, &g.arena, p, &t);
		if (!csmp_sb_str(&sb))
			continue;
		printf("%s{\"id\":%u,\"v\":%s}", first ? "" : ",", t.type, js);
		first = false;
	}
	printf("]}\n");
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "target", required_argument, NULL, 't' },
		{ "key", required_argument, NULL, 'k' },
		{ "image", required_argument, NULL, 'i' },
		{ "block-size", required_argument, NULL, 'b' },
		{ "timeout-ms", required_argument, NULL, 'T' },
		{ "nms", required_argument, NULL, 'n' },
		{ "group-mcast", required_argument, NULL, 'G' },
		{ "mcast-if", required_argument, NULL, 'I' },
		{ 0 },
	};
	const char *target = NULL, *keyp = NULL, *image = NULL, *nms = NULL;
	struct csmp_key *key = NULL;
	char host[64], why[256];
	unsigned int port;
	int opt;

	g.bs = 512;
	g.timeout_ms = 300;
	g.nms = -1;
	g.mcast_if = "lo";
	inet_pton(AF_INET6, "ff05::c5:0:0", &g.group_base);
	while ((opt = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (opt) {
		case 't': target = optarg; break;
		case 'k': keyp = optarg; break;
		case 'i': image = optarg; break;
		case 'b': g.bs = (uint32_t)atoi(optarg); break;
		case 'T': g.timeout_ms = atoi(optarg); break;
		case 'n': nms = optarg; break;
		case 'I': g.mcast_if = optarg; break;
		case 'G':
			if (inet_pton(AF_INET6, optarg, &g.group_base) != 1)
				return 2;
			break;
		default: return 2;
		}
	}
	if (!target || !keyp || !image || target[0] != '[' ||
	    !strchr(target, ']') ||
	    sscanf(strchr(target, ']') + 1, ":%u", &port) != 1) {
		fprintf(stderr, "usage: fw_driver --target [ADDR]:PORT --key PEM --image FILE STEP...\n");
		return 2;
	}
	snprintf(host, sizeof(host), "%.*s",
		 (int)(strchr(target, ']') - target - 1), target + 1);
	g.to.sin6_family = AF_INET6;
	g.to.sin6_port = htons((uint16_t)port);
	if (inet_pton(AF_INET6, host, &g.to.sin6_addr) != 1)
		return 2;
	/* The image is checked as csmpctl firmware add checks it, but a
	 * too-large one is still sent: refusing it is the device's test. */
	if (csmp_fw_load(image, 64u << 20, &g.img, &g.data, why, sizeof(why))) {
		fprintf(stderr, "fw_driver: %s: %s\n", image, why);
		return 1;
	}
	g.nblocks = (uint32_t)((g.img.size + g.bs - 1) / g.bs);
	if (csmp_key_load_pem(keyp, &key) || csmp_signer_new(key, 0, &g.signer))
		return 1;
	csmp_arena_init(&g.arena, g.arena_buf, sizeof(g.arena_buf));
	g.mid = (uint16_t)getpid();
	g.fd = socket(AF_INET6, SOCK_DGRAM, 0);
	if (g.fd < 0)
		return 1;
	if (nms) {
		struct sockaddr_storage ss;
		socklen_t sl;

		g.nms = socket(AF_INET6, SOCK_DGRAM, 0);
		if (g.nms < 0 ||
		    csmp_hostport_parse(nms, 61628, &ss, &sl, why, sizeof(why)) ||
		    bind(g.nms, (struct sockaddr *)&ss, sl)) {
			fprintf(stderr, "fw_driver: --nms %s: %s\n", nms,
				strerror(errno));
			return 1;
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (int i = optind; i < argc; i++) {
		const char *s = argv[i];

		if (!strcmp(s, "transfer"))
			step_transfer();
		else if (!strcmp(s, "blocks"))
			step_blocks();
		else if (!strcmp(s, "burst"))
			step_burst();
		else if (!strcmp(s, "repair"))
			step_repair();
		else if (!strcmp(s, "complete"))
			step_complete();
		else if (!strncmp(s, "load:", 5))
			step_load(s + 5);
		else if (!strcmp(s, "cancel"))
			step_cancel();
		else if (!strcmp(s, "get65"))
			step_get(s, "c/65");
		else if (!strcmp(s, "get68"))
			step_get(s, "c/68");
		else if (!strcmp(s, "get11"))
			step_get(s, "c/11");
		else if (!strcmp(s, "run"))
			step_get(s, "c/75/1");
		else if (!strcmp(s, "upload"))
			step_get(s, "c/75/2");
		else if (!strncmp(s, "nonget:", 7))
			step_nonget(s + 7);
		else if (!strncmp(s, "nonpost:", 8))
			step_nonpost(s + 8);
		else if (!strncmp(s, "assign:", 7))
			step_assign(s + 7);
		else if (!strncmp(s, "mcast:", 6)) {
			int err = step_mcast(s + 6);

			if (err)
				fprintf(stderr, "fw_driver: mcast: %s\n", strerror(-err));
		}
		else if (!strncmp(s, "notes:", 6))
			step_notes(s + 6);
		else if (!strncmp(s, "wait:", 5))
			usleep((useconds_t)(atof(s + 5) * 1e6));
		else {
			fprintf(stderr, "fw_driver: unknown step '%s'\n", s);
			return 2;
		}
	}
	printf("{\"step\":\"end\",\"sent\":%lu,\"resent\":%lu,\"timeouts\":%lu,"
	       "\"bitmap_reads\":%lu,\"blocks\":%u}\n", g.sent, g.resent,
	       g.lost, g.bitmap_reads, g.nblocks);
	csmp_signer_free(g.signer);
	csmp_key_put(key);
	free(g.data);
	close(g.fd);
	return 0;
}
