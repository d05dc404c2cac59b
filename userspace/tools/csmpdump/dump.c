// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * One CSMP datagram, decoded the way csmpd sees it (the shared classifier
 * and libcsmp), printed as text or as one JSON object per line: addresses
 * and ports, the CoAP header and options, every TLV with its name and
 * decoded fields, the signature region and validity window (verified when
 * an NMS key is given), and the anomalies a head-end operator wants to
 * know about. A datagram that does not parse is printed with the precise
 * reason and whatever came before the fault.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include "dump.h"
#include "sig.h"

#define OUT_MAX		(256 * 1024)
#define ARENA_MAX	(256 * 1024)

static char out_buf[OUT_MAX];
static char anom_buf[16 * 1024];
static unsigned char arena_buf[ARENA_MAX];

struct ctx {
	const struct dump_opts *o;
	struct dump_stats *st;
	struct csmp_sb *sb;	/* the datagram's output */
	struct csmp_sb *an;	/* anomalies, printed at the end */
	int n_anom;
	uint64_t ts_us;
};

static void iso_time(uint64_t sec, char *out, size_t cap)
{
	time_t t = (time_t)sec;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* One anomaly: a short kind (stable, for scripts) and a human detail. */
static void anomaly(struct ctx *c, const char *kind, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void anomaly(struct ctx *c, const char *kind, const char *fmt, ...)
{
	char detail[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	c->st->anomalies++;
	if (c->o->json) {
		csmp_sb_printf(c->an, "%s{\"kind\":", c->n_anom ? "," : "");
		csmp_sb_json_str(c->an, kind, strlen(kind));
		csmp_sb_puts(c->an, ",\"detail\":");
		csmp_sb_json_str(c->an, detail, strlen(detail));
		csmp_sb_putc(c->an, '}');
	} else {
		csmp_sb_printf(c->an, "  anomaly: %s: %s\n", kind, detail);
	}
	c->n_anom++;
}

static void put_addr(struct csmp_sb *sb, const struct csmp_frame *f, int dst)
{
	char a[INET6_ADDRSTRLEN];

	if (!inet_ntop(f->family, dst ? f->dst : f->src, a, sizeof(a)))
		strcpy(a, "?");
	csmp_sb_json_str(sb, a, strlen(a));
}

static void print_header(struct ctx *c, uint64_t no, const struct csmp_frame *f)
{
	char t[32], s[80], d[80];

	iso_time(c->ts_us / 1000000, t, sizeof(t));
	if (c->o->json) {
		csmp_sb_printf(c->sb, "{\"frame\":%llu,\"time\":%llu.%06llu,"
			       "\"src\":", (unsigned long long)no,
			       (unsigned long long)(c->ts_us / 1000000),
			       (unsigned long long)(c->ts_us % 1000000));
		put_addr(c->sb, f, 0);
		csmp_sb_printf(c->sb, ",\"sport\":%u,\"dst\":", f->sport);
		put_addr(c->sb, f, 1);
		csmp_sb_printf(c->sb, ",\"dport\":%u,\"length\":%u", f->dport,
			       f->udp_len);
		if (f->vlan)
			csmp_sb_printf(c->sb, ",\"vlan\":%u", f->vlan);
		return;
	}
	/* Drop the last 'Z' to put the microseconds before it. */
	t[strlen(t) - 1] = '\0';
	csmp_sb_printf(c->sb, "#%llu %s.%06lluZ %s -> %s %u bytes%s\n",
		       (unsigned long long)no, t,
		       (unsigned long long)(c->ts_us % 1000000),
		       csmp_frame_addr_str(f, 0, s, sizeof(s)),
		       csmp_frame_addr_str(f, 1, d, sizeof(d)), f->udp_len,
		       f->vlan ? " (vlan)" : "");
}

static void print_coap(struct ctx *c, const uint8_t *buf,
		       const struct csmp_coap_msg *m)
{
	char code[5], path[256];
	unsigned int i;

	csmp_coap_code_str(m->code, code);
	if (csmp_coap_path_str(buf, m, path, sizeof(path)) < 0)
		anomaly(c, "long_path", "Uri-Path longer than %zu bytes",
			sizeof(path) - 1);
	if (c->o->json) {
		csmp_sb_printf(c->sb, ",\"coap\":{\"type\":\"%s\",\"code\":\"%s\","
			       "\"codeName\":\"%s\",\"mid\":%u,\"token\":\"",
			       csmp_coap_type_name(m->type), code,
			       csmp_coap_code_name(m->code), m->mid);
		csmp_sb_hex(c->sb, m->token, m->tkl);
		csmp_sb_puts(c->sb, "\",\"path\":");
		csmp_sb_json_str(c->sb, path, strlen(path));
		csmp_sb_puts(c->sb, ",\"query\":[");
		for (i = 0; i < m->n_query; i++) {
			if (i)
				csmp_sb_putc(c->sb, ',');
			csmp_sb_json_str(c->sb, buf + m->query[i].off,
					 m->query[i].len);
		}
		csmp_sb_printf(c->sb, "],\"options\":%u,\"payloadLength\":%u}",
			       m->n_opts, m->payload_len);
		return;
	}
	csmp_sb_printf(c->sb, "  CoAP %s %s (%s) mid=%u token=",
		       csmp_coap_type_name(m->type),
		       csmp_coap_code_name(m->code), code, m->mid);
	if (m->tkl)
		csmp_sb_hex(c->sb, m->token, m->tkl);
	else
		csmp_sb_putc(c->sb, '-');
	if (m->n_path)
		csmp_sb_printf(c->sb, " path=/%s", path);
	for (i = 0; i < m->n_query; i++) {
		csmp_sb_puts(c->sb, i ? "&" : " query=");
		csmp_sb_printf(c->sb, "%.*s", m->query[i].len,
			       (const char *)buf + m->query[i].off);
	}
	csmp_sb_printf(c->sb, " payload=%u\n", m->payload_len);
}

static void print_error(struct ctx *c, unsigned int reason, int err,
			const char *where)
{
	c->st->malformed++;
	if (c->o->json) {
		csmp_sb_printf(c->sb, ",\"error\":{\"where\":\"%s\","
			       "\"reason\":\"%s\",\"errno\":%d,\"message\":",
			       where, csmp_reason_name(reason), err);
		csmp_sb_json_str(c->sb, strerror(-err), strlen(strerror(-err)));
		csmp_sb_putc(c->sb, '}');
		return;
	}
	csmp_sb_printf(c->sb, "  MALFORMED (%s): %s (%s)\n", where,
		       csmp_reason_name(reason), strerror(-err));
}

struct sig_seen {
	int validity;		/* a SignatureValidity decoded */
	uint32_t not_before, not_after;
	int signature;
	uint32_t sig_hdr;	/* offset of the Signature TLV in the payload */
};

/* One TLV: its line (text) or object (JSON), plus per-TLV anomalies. */
static void print_tlv(struct ctx *c, struct csmp_arena *a, const uint8_t *pl,
		      uint32_t pl_off, const struct csmp_tlv *t, int idx,
		      struct sig_seen *sg)
{
	const struct csmp_tlv_info *ti = csmp_tlv_info(t->type);
	ProtobufCMessage *pm = NULL;
	int err;

	err = csmp_tlv_decode(a, pl, t, &pm);
	if (!err && t->type == CSMP_TLV_SIGNATURE_VALIDITY) {
		Csmp__SignatureValidity *sv = (Csmp__SignatureValidity *)pm;

		sg->validity = 1;
		sg->not_before = sv->not_before;
		sg->not_after = sv->not_after;
	}
	if (t->type == CSMP_TLV_SIGNATURE) {
		sg->signature = 1;
		sg->sig_hdr = t->hdr;
	}

	if (c->o->json) {
		const char *name = ti ? ti->name : "Unknown";

		csmp_sb_printf(c->sb, "%s{\"type\":%u,\"name\":\"%s\","
			       "\"offset\":%u,\"length\":%u",
			       idx ? "," : "", t->type, name, pl_off + t->hdr,
			       t->len);
		if (t->flags & CSMP_TLVF_VENDOR_AGENT)
			csmp_sb_printf(c->sb, ",\"vendorForm\":\"agent\","
				       "\"pen\":%u,\"vtype\":%u", t->pen,
				       t->vtype);
		if (t->flags & CSMP_TLVF_VENDOR_DRAFT)
			csmp_sb_printf(c->sb, ",\"vendorForm\":\"draft\","
				       "\"pen\":%u", t->pen);
		if (t->flags & CSMP_TLVF_NONMINIMAL)
			csmp_sb_puts(c->sb, ",\"paddedLength\":true");
		csmp_sb_puts(c->sb, ",\"value\":");
		csmp_tlv_json(c->sb, a, pl, t);
		csmp_sb_putc(c->sb, '}');
	} else {
		csmp_sb_puts(c->sb, "  ");
		csmp_tlv_line(c->sb, a, pl, t);
		csmp_sb_putc(c->sb, '\n');
	}

	if (!ti)
		anomaly(c, "unknown_tlv", "TLV %u (%u bytes) is not one we know",
			t->type, t->len);
	else if (err == -EBADMSG)
		anomaly(c, "pb_malformed", "TLV %u/%s: value does not parse as "
			"%s", t->type, ti->name, ti->name);
	else if (err == -ENOMEM)
		anomaly(c, "too_large", "TLV %u/%s: value needs more than %u "
			"bytes decoded", t->type, ti->name, ARENA_MAX);
	if (pm && pm->n_unknown_fields)
		anomaly(c, "unknown_fields", "TLV %u/%s: %u protobuf field(s) "
			"not in proto/csmp.proto (first: %u)", t->type,
			ti ? ti->name : "?", pm->n_unknown_fields,
			pm->unknown_fields[0].tag);
	if (!t->len && t->type != CSMP_TLV_VENDOR)
		anomaly(c, "empty_value", "TLV %u has an empty value (the "
			"agent reads that as an error)", t->type);
	if (t->flags & CSMP_TLVF_NONMINIMAL_TYPE)
		anomaly(c, "nonminimal_type", "TLV %u: type varint is not "
			"minimal", t->type);
}

static void print_signature(struct ctx *c, const uint8_t *pl, uint32_t len,
			    uint32_t pl_off, const struct sig_seen *sg)
{
	uint64_t now = c->ts_us / 1000000;
	struct csmp_sig_loc loc;
	const char *verify = "not_checked";
	int in_window, lerr;
	char nb[32], na[32];

	lerr = csmp_sig_locate(pl, len, &loc);
	if (lerr && sg->signature)
		anomaly(c, "sig_malformed", "signature TLVs: %s (%s)",
			csmp_reason_name(loc.reason), strerror(-loc.err ?: -lerr));
	if (!sg->signature)
		anomaly(c, "sig_missing", "SignatureValidity without Signature");
	in_window = sg->validity && sg->not_before <= now &&
		    now <= sg->not_after;
	if (sg->validity && !in_window)
		anomaly(c, "sig_window", "validity window %u..%u does not "
			"contain the capture time %llu", sg->not_before,
			sg->not_after, (unsigned long long)now);
	if (c->o->nms_key && sg->signature) {
		enum csmp_reason r = csmp_sig_check(NULL, c->o->nms_key, pl,
						    len, now);

		verify = r == CSMP_R_OK ? "ok" : csmp_reason_name(r);
		if (r == CSMP_R_OK)
			c->st->sig_ok++;
		else
			c->st->sig_failed++;
	}

	iso_time(sg->not_before, nb, sizeof(nb));
	iso_time(sg->not_after, na, sizeof(na));
	if (c->o->json) {
		csmp_sb_puts(c->sb, ",\"signature\":{");
		if (sg->signature)
			csmp_sb_printf(c->sb, "\"regionOffset\":%u,"
				       "\"regionLength\":%u,\"tlvOffset\":%u,",
				       pl_off, sg->sig_hdr, pl_off + sg->sig_hdr);
		if (!lerr)
			csmp_sb_printf(c->sb, "\"suite\":\"%s\",\"valueLength\":%u,",
				       loc.suite == CSMP_SUITE_P256 ? "p256" :
				       loc.suite == CSMP_SUITE_ED25519 ?
				       "ed25519" : "none", loc.value_len);
		if (sg->validity)
			csmp_sb_printf(c->sb, "\"notBefore\":%u,\"notAfter\":%u,"
				       "\"windowContainsCaptureTime\":%s,",
				       sg->not_before, sg->not_after,
				       in_window ? "true" : "false");
		csmp_sb_printf(c->sb, "\"verify\":\"%s\"}", verify);
		return;
	}
	csmp_sb_puts(c->sb, "  signature:");
	if (sg->signature)
		csmp_sb_printf(c->sb, " region=%u+%u (datagram bytes %u..%u)",
			       pl_off, sg->sig_hdr, pl_off,
			       pl_off + sg->sig_hdr);
	if (!lerr)
		csmp_sb_printf(c->sb, " suite=%s value=%u bytes",
			       loc.suite == CSMP_SUITE_P256 ? "ecdsa-p256-sha256" :
			       loc.suite == CSMP_SUITE_ED25519 ? "ed25519" :
			       "none", loc.value_len);
	if (sg->validity)
		csmp_sb_printf(c->sb, " validity=%u..%u (%s..%s, %s capture "
			       "time)", sg->not_before, sg->not_after, nb, na,
			       in_window ? "contains" : "does NOT contain");
	csmp_sb_printf(c->sb, " verify=%s%s\n", verify,
		       c->o->nms_key ? "" : " (no --nms-pubkey)");
}

static void print_datagram(struct ctx *c, const uint8_t *buf, uint32_t len)
{
	static struct csmp_arena a;
	struct csmp_coap_msg m;
	struct csmp_class cl;
	struct csmp_tlv_iter it;
	struct csmp_tlv t;
	struct sig_seen sg = { 0 };
	const uint8_t *pl;
	int err, idx = 0, padded = 0, r;
	char eid[CSMP_EID_STRLEN];

	if (!a.pb.alloc)
		csmp_arena_init(&a, arena_buf, sizeof(arena_buf));
	csmp_arena_reset(&a);

	err = csmp_coap_parse(buf, len, &m);
	if (err) {
		print_error(c, m.reason, err, "coap");
		return;
	}
	print_coap(c, buf, &m);
	if (m.flags & CSMP_COAPF_UNKNOWN_CRITICAL)
		anomaly(c, "unknown_critical_option", "a critical CoAP option "
			"CSMP does not use (a device answers 4.02)");
	if (m.flags & (CSMP_COAPF_PATH_OVERFLOW | CSMP_COAPF_QUERY_OVERFLOW))
		anomaly(c, "too_many_segments", "more Uri-Path/Uri-Query "
			"options than CSMP uses");

	/* Class and EID as csmpd and the XDP path see them. */
	r = csmp_classify(buf, len, &cl);
	if (c->o->json) {
		csmp_sb_printf(c->sb, ",\"class\":\"%s\"",
			       csmp_msg_class_name(cl.msg_class));
		if (cl.flags & CSMP_CF_EID)
			csmp_sb_printf(c->sb, ",\"eid\":\"%s\"",
				       csmp_eid_format(cl.eid, eid));
		if (cl.flags & CSMP_CF_BACKEND)
			csmp_sb_printf(c->sb, ",\"sessionBackend\":%u",
				       cl.backend);
		csmp_sb_puts(c->sb, ",\"tlvs\":[");
	} else {
		csmp_sb_printf(c->sb, "  class=%s",
			       csmp_msg_class_name(cl.msg_class));
		if (cl.flags & CSMP_CF_EID)
			csmp_sb_printf(c->sb, " eid=%s",
				       csmp_eid_format(cl.eid, eid));
		if (cl.flags & CSMP_CF_BACKEND)
			csmp_sb_printf(c->sb, " session-backend=%04x",
				       cl.backend);
		csmp_sb_printf(c->sb, " tlvs=%u\n", cl.n_tlvs);
	}

	pl = buf + m.payload_off;
	csmp_tlv_init(&it, pl, m.payload_len);
	while ((err = csmp_tlv_next(&it, &t)) > 0) {
		if (t.flags & CSMP_TLVF_NONMINIMAL)
			padded++;
		if (sg.signature)
			anomaly(c, "sig_not_last", "TLV %u follows the "
				"Signature TLV (it must be last)", t.type);
		print_tlv(c, &a, pl, m.payload_off, &t, idx++, &sg);
	}
	if (c->o->json)
		csmp_sb_putc(c->sb, ']');
	if (err < 0) {
		print_error(c, it.reason, err, "tlv");
		return;
	}
	if (r && cl.reason != CSMP_R_OK)
		print_error(c, cl.reason, r, "classify");
	if (padded)
		anomaly(c, "nonminimal_length", "%d of %d TLV lengths padded to "
			"2 bytes (the OpenCSMP agent's form)", padded, idx);
	if (sg.signature || sg.validity)
		print_signature(c, pl, m.payload_len, m.payload_off, &sg);
}

void dump_frame(FILE *out, const struct dump_opts *o, struct dump_stats *st,
		int linktype, const uint8_t *pkt, uint32_t caplen,
		uint64_t no, uint64_t ts_us)
{
	struct csmp_sb sb, an;
	struct csmp_frame f;
	struct ctx c = {
		.o = o, .st = st, .sb = &sb, .an = &an, .ts_us = ts_us,
	};
	int err;

	st->frames++;
	err = csmp_frame_parse(linktype, pkt, caplen, &f);
	if (err == -EAGAIN) {
		st->fragments++;
		return;
	}
	if (err || !csmp_frame_is_csmp(&f)) {
		st->skipped++;
		return;
	}
	st->datagrams++;
	csmp_sb_init(&sb, out_buf, sizeof(out_buf));
	csmp_sb_init(&an, anom_buf, sizeof(anom_buf));
	print_header(&c, no, &f);
	if (f.truncated)
		anomaly(&c, "truncated_capture", "captured %u of %u bytes",
			f.len, f.udp_len);
	print_datagram(&c, f.payload, f.len);
	if (o->json) {
		csmp_sb_puts(&sb, ",\"anomalies\":[");
		csmp_sb_puts(&sb, an.buf);
		csmp_sb_puts(&sb, "]}\n");
	} else {
		csmp_sb_puts(&sb, an.buf);
	}
	if (sb.err || an.err) {
		/* Never print half a JSON object. */
		fprintf(out, o->json ? "{\"frame\":%llu,\"error\":{\"where\":"
			"\"output\",\"message\":\"decoded output too large\"}}\n" :
			"#%llu decoded output too large\n",
			(unsigned long long)no);
		return;
	}
	fputs(sb.buf, out);
}
