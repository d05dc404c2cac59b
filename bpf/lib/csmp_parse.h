/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The BPF fallback classifier: the same struct csmp_class as csmp_classify()
 * (include/csmp/classify.h) for the fields steering uses (msg_class, reason,
 * eid, backend, CF_EID/CF_SESSION/CF_BACKEND, n_tlvs, first_tlv, coap
 * type/code/mid, payload_off), used when csmp.ko's bpf_csmp_classify kfunc
 * is absent. The datagram has been copied into the caller's per-CPU
 * scratch buffer.
 *
 * Why a second walk instead of compiling classify.h: the shared parser
 * compares positions against a variable length and nests loops (TLVs x
 * protobuf fields x varint bytes), which the 6.1 verifier can neither bound
 * nor finish. Here every read is masked into the buffer and the walk is a
 * step machine driven by bpf_loop: one step handles one CoAP option, one
 * TLV header, one vendor SubTLV or one protobuf field, with all state in
 * the scratch map value, so the verifier checks the step body once on any
 * kernel. Each step consumes at least one byte, so 2 * CSMP_MAX_DGRAM + a
 * few steps always suffice. The rules below mirror classify.h/coap.h/tlv.h
 * line for line; selftests/bpf/test_csmp_lb.c checks the two agree on the
 * fixtures and on random mutations of them.
 */
#ifndef CSMP_BPF_PARSE_H
#define CSMP_BPF_PARSE_H

#define CSMP_BUF_MASK		(CSMP_MAX_DGRAM - 1)
_Static_assert((CSMP_MAX_DGRAM & (CSMP_MAX_DGRAM - 1)) == 0,
	       "the scratch mask needs a power of two");

enum csmp_pphase {
	CSMP_P_OPT	= 0,	/* CoAP options, one per step */
	CSMP_P_TLV	= 1,	/* TLV headers, one per step */
	CSMP_P_VDRAFT	= 2,	/* vendor TLV, draft form: one SubTLV */
	CSMP_P_PB	= 3,	/* DeviceID / SessionID value: one field */
	CSMP_P_DONE	= 4,
};

/*
 * The scratch record (include/csmp/lb_parse.h) is a per-CPU map value of
 * the calling program, which owns and declares the map. bpf_loop hands
 * its step callback this context on the caller's stack.
 */
struct csmp_parse_ctx {
	struct csmp_scratch *s;
};

static __always_inline __u8 csmp_rd(const struct csmp_scratch *s, __u32 pos)
{
	return s->buf[pos & CSMP_BUF_MASK];
}

/* tlv.h csmp_varint32: at most 5 bytes, 32 bits, reads below `end`. */
static __always_inline int csmp_bvarint32(const struct csmp_scratch *s,
					  __u32 end, __u32 *pos, __u32 *val,
					  __u32 *nonmin)
{
	__u32 v = 0, p = *pos;
	__u8 b;
	int i;

	for (i = 0; i < CSMP_VARINT_MAX_BYTES; i++) {
		if (p >= end)
			return -1;
		b = csmp_rd(s, p);
		p++;
		if (i == 4 && (b & 0xf0))
			return -1;
		v |= (__u32)(b & 0x7f) << (7 * i);
		if (!(b & 0x80)) {
			if (nonmin && i > 0 && b == 0)
				*nonmin = 1;
			*pos = p;
			*val = v;
			return 0;
		}
	}
	return -1;
}

/* tlv.h csmp_pb_skip_varint: up to 10 bytes, 64 bits. */
static __always_inline int csmp_bvarint64(const struct csmp_scratch *s,
					  __u32 end, __u32 *pos, __u64 *val)
{
	__u64 v = 0;
	__u32 p = *pos;
	__u8 b;
	int i;

	for (i = 0; i < 10; i++) {
		if (p >= end)
			return -1;
		b = csmp_rd(s, p);
		p++;
		v |= (__u64)(b & 0x7f) << (7 * i);
		if (!(b & 0x80)) {
			*pos = p;
			*val = v;
			return 0;
		}
	}
	return -1;
}

static __always_inline int csmp_bhex(__u8 c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static __always_inline long csmp_pfail(struct csmp_pstate *st, __u32 reason)
{
	st->c.msg_class = CSMP_C_MALFORMED;
	st->c.reason = (__u8)reason;
	st->phase = CSMP_P_DONE;
	return 1;
}

/* coap.h csmp_coap_ext. */
static __always_inline int csmp_bext(const struct csmp_scratch *s, __u32 len,
				     __u32 *pos, __u32 nib, __u32 *val)
{
	__u32 p = *pos;

	if (nib < 13) {
		*val = nib;
		return 0;
	}
	if (nib == 13) {
		if (p + 1 > len)
			return -1;
		*val = 13u + csmp_rd(s, p);
		*pos = p + 1;
		return 0;
	}
	if (p + 2 > len)
		return -1;
	*val = 269u + ((__u32)csmp_rd(s, p) << 8) + csmp_rd(s, p + 1);
	*pos = p + 2;
	return 0;
}

/* One CoAP option (coap.h csmp_coap_parse's loop body). */
static __always_inline long csmp_step_opt(struct csmp_scratch *s,
					  struct csmp_pstate *st)
{
	__u32 pos = st->pos, len = st->len, b, delta, olen;

	if (st->i > CSMP_MAX_OPTIONS || pos >= len) {
		/* No payload: the TLV walk sees nothing. */
		st->c.payload_off = (__u16)len;
		st->pos = len;
		st->phase = CSMP_P_TLV;
		return 0;
	}
	b = csmp_rd(s, pos);
	pos++;
	if (b == CSMP_COAP_MARKER) {
		if (pos >= len)
			return csmp_pfail(st, CSMP_R_COAP_EMPTY_PAYLOAD);
		st->c.payload_off = (__u16)pos;
		st->pos = pos;
		st->i = 0;
		st->phase = CSMP_P_TLV;
		return 0;
	}
	if (st->i == CSMP_MAX_OPTIONS)
		return csmp_pfail(st, CSMP_R_COAP_TOO_MANY_OPTS);
	if ((b >> 4) == 15 || (b & 15) == 15)
		return csmp_pfail(st, CSMP_R_COAP_OPT_RESERVED);
	if (csmp_bext(s, len, &pos, b >> 4, &delta) ||
	    csmp_bext(s, len, &pos, b & 15, &olen))
		return csmp_pfail(st, CSMP_R_COAP_OPT_TRUNC);
	if (olen > len - pos)
		return csmp_pfail(st, CSMP_R_COAP_OPT_TRUNC);
	st->num += delta;
	if (st->num > 0xffff)
		return csmp_pfail(st, CSMP_R_COAP_OPT_RESERVED);
	if (st->num == CSMP_COAP_OPT_URI_PATH) {
		if (st->n_path == 0) {
			st->path0_len = olen;
			st->path0_byte = olen ? csmp_rd(s, pos) : 0;
		}
		if (st->n_path <= CSMP_MAX_PATH_SEGS)
			st->n_path++;	/* CSMP_MAX_PATH_SEGS + 1: overflow */
	}
	st->pos = pos + olen;
	st->i++;
	return 0;
}

/* Account one accepted TLV (classify.h's loop body, common part). */
static __always_inline void csmp_tlv_accept(struct csmp_pstate *st,
					    __u32 type, __u32 nonmin)
{
	if (st->c.n_tlvs == 0)
		st->c.first_tlv = (__u16)type;
	if (st->c.flags & CSMP_CF_SIGNED)
		st->c.flags |= CSMP_CF_SIG_NOT_LAST;
	st->c.n_tlvs++;
	if (nonmin)
		st->c.flags |= CSMP_CF_NONMINIMAL;
	switch (type) {
	case CSMP_TLV_CURRENT_TIME:
		st->c.flags |= CSMP_CF_CURRENT_TIME;
		break;
	case CSMP_TLV_CGMS_NOTIFICATION:
		st->c.flags |= CSMP_CF_NOTIFY;
		break;
	case CSMP_TLV_SIGNATURE_VALIDITY:
		st->c.flags |= CSMP_CF_VALIDITY;
		break;
	case CSMP_TLV_SIGNATURE:
		st->c.flags |= CSMP_CF_SIGNED;
		break;
	}
}

/* Vendor TLV in the agent's form, after the draft form was refused. */
static __always_inline long csmp_vendor_agent(struct csmp_scratch *s,
					      struct csmp_pstate *st)
{
	__u32 apos = st->v_type_end, pen, vt, alen, nonmin = 0;

	if (csmp_bvarint32(s, st->len, &apos, &pen, 0) ||
	    csmp_bvarint32(s, st->len, &apos, &vt, 0) ||
	    csmp_bvarint32(s, st->len, &apos, &alen, &nonmin))
		return csmp_pfail(st, CSMP_R_TLV_VENDOR);
	if (alen > st->len - apos)
		return csmp_pfail(st, CSMP_R_TLV_VENDOR);
	csmp_tlv_accept(st, CSMP_TLV_VENDOR, nonmin);
	st->c.flags |= CSMP_CF_VENDOR_AGENT;
	st->pos = apos + alen;
	st->phase = CSMP_P_TLV;
	return 0;
}

/* One TLV header (tlv.h csmp_tlv_next). */
static __always_inline long csmp_step_tlv(struct csmp_scratch *s,
					  struct csmp_pstate *st)
{
	__u32 pos = st->pos, type, len, nonmin = 0;

	if (pos >= st->len) {
		st->phase = CSMP_P_DONE;
		return 1;
	}
	if (st->c.n_tlvs >= CSMP_MAX_TLVS)
		return csmp_pfail(st, CSMP_R_TLV_TOO_MANY);
	if (csmp_bvarint32(s, st->len, &pos, &type, 0))
		return csmp_pfail(st, CSMP_R_TLV_VARINT);

	if (type == CSMP_TLV_VENDOR) {
		__u32 dpos = pos, dlen;

		st->v_type_end = pos;
		if (!csmp_bvarint32(s, st->len, &dpos, &dlen, &nonmin) &&
		    dlen <= st->len - dpos) {
			st->v_dpos = dpos;
			st->v_dlen = dlen;
			st->v_nonmin = nonmin;
			st->pos = dpos;
			st->end = dpos + dlen;
			st->i = 0;
			st->phase = CSMP_P_VDRAFT;
			return 0;
		}
		return csmp_vendor_agent(s, st);
	}

	if (csmp_bvarint32(s, st->len, &pos, &len, &nonmin))
		return csmp_pfail(st, CSMP_R_TLV_VARINT);
	if (len > st->len - pos)
		return csmp_pfail(st, CSMP_R_TLV_TRUNC);
	csmp_tlv_accept(st, type, nonmin);
	st->pos = pos + len;
	if (type == CSMP_TLV_DEVICE_ID || type == CSMP_TLV_SESSION_ID) {
		st->pb_tlv = type;
		st->pb_f1_found = 0;
		st->pb_f1_val = 0;
		st->pb_f2_found = 0;
		st->pb_next = pos + len;
		st->end = pos + len;
		st->pos = pos;
		st->i = 0;
		st->phase = CSMP_P_PB;
	}
	return 0;
}

/* One SubTLV of a vendor TLV in the draft form (tlv.h csmp_vendor_draft). */
static __always_inline long csmp_step_vdraft(struct csmp_scratch *s,
					     struct csmp_pstate *st)
{
	__u32 pos = st->pos, end = st->end, stype, sl;

	if (st->i < CSMP_MAX_TLVS && pos < end) {
		if (csmp_bvarint32(s, end, &pos, &stype, 0) ||
		    csmp_bvarint32(s, end, &pos, &sl, 0) || sl > end - pos)
			return csmp_vendor_agent(s, st);
		if (st->i == 0) {
			__u32 vp = pos, v;

			if (stype != 1 ||
			    csmp_bvarint32(s, pos + sl, &vp, &v, 0) ||
			    vp != pos + sl)
				return csmp_vendor_agent(s, st);
		}
		st->pos = pos + sl;
		st->i++;
		return 0;
	}
	if (pos != end || st->i == 0)
		return csmp_vendor_agent(s, st);
	csmp_tlv_accept(st, CSMP_TLV_VENDOR, st->v_nonmin);
	st->c.flags |= CSMP_CF_VENDOR_DRAFT;
	st->pos = st->v_dpos + st->v_dlen;
	st->phase = CSMP_P_TLV;
	return 0;
}

/* DeviceID / SessionID value fully walked: apply tlv.h's rules. */
static __always_inline long csmp_pb_finish(struct csmp_scratch *s,
					   struct csmp_pstate *st)
{
	__u32 o = st->pb_f2_off, l = st->pb_f2_len, k;

	if (st->pb_tlv == CSMP_TLV_DEVICE_ID) {
		__u64 eid = 0;

		if (st->pb_f1_found && st->pb_f1_val != CSMP_DEVICE_ID_EUI64)
			return csmp_pfail(st, CSMP_R_DEVICE_ID);
		if (!st->pb_f2_found || l != CSMP_EID_HEX_LEN)
			return csmp_pfail(st, CSMP_R_DEVICE_ID);
		for (k = 0; k < CSMP_EID_HEX_LEN; k++) {
			int h = csmp_bhex(csmp_rd(s, o + k));

			if (h < 0)
				return csmp_pfail(st, CSMP_R_DEVICE_ID);
			eid = (eid << 4) | (__u64)h;
		}
		st->c.eid = eid;
		st->c.flags |= CSMP_CF_EID;
		st->has_devid = 1;
	} else {
		__u16 b = 0;

		if (!st->pb_f2_found || l == 0 || l > CSMP_SESSION_ID_MAX)
			return csmp_pfail(st, CSMP_R_SESSION_ID);
		st->c.flags |= CSMP_CF_SESSION;
		st->c.flags &= (__u16)~CSMP_CF_BACKEND;
		if (!st->sid_len) {
			st->sid_off = o;	/* the first, as csmpd reads */
			st->sid_len = l;
		}
		if (l >= CSMP_SESSION_BACKEND_HEX) {
			for (k = 0; k < CSMP_SESSION_BACKEND_HEX; k++) {
				__u8 c = csmp_rd(s, o + k);

				if (c >= '0' && c <= '9')
					b = (__u16)((b << 4) | (c - '0'));
				else if (c >= 'a' && c <= 'f')
					b = (__u16)((b << 4) | (c - 'a' + 10));
				else
					goto no_backend;
			}
			st->c.backend = b;
			st->c.flags |= CSMP_CF_BACKEND;
		}
	}
no_backend:
	st->pos = st->pb_next;
	st->phase = CSMP_P_TLV;
	return 0;
}

/* One protobuf field of the value (tlv.h csmp_pb_find, both fields at once). */
static __always_inline long csmp_step_pb(struct csmp_scratch *s,
					 struct csmp_pstate *st)
{
	__u32 pos = st->pos, end = st->end, wt, fnum, l = 0, vo;
	__u32 bad = st->pb_tlv == CSMP_TLV_DEVICE_ID ? CSMP_R_DEVICE_ID :
						       CSMP_R_SESSION_ID;
	__u64 key, v = 0;

	if (st->i >= CSMP_PB_MAX_FIELDS || pos >= end) {
		if (pos < end)
			return csmp_pfail(st, bad);
		return csmp_pb_finish(s, st);
	}
	if (csmp_bvarint64(s, end, &pos, &key) || key >> 32)
		return csmp_pfail(st, bad);
	wt = key & 7;
	fnum = (__u32)(key >> 3);
	if (!fnum)
		return csmp_pfail(st, bad);
	vo = pos;
	switch (wt) {
	case 0:
		if (csmp_bvarint64(s, end, &pos, &v))
			return csmp_pfail(st, bad);
		break;
	case 1:
	case 5:
		l = wt == 1 ? 8 : 4;
		if (l > end - pos)
			return csmp_pfail(st, bad);
		pos += l;
		break;
	case 2:
		if (csmp_bvarint32(s, end, &pos, &l, 0) || l > end - pos)
			return csmp_pfail(st, bad);
		vo = pos;
		pos += l;
		break;
	default:
		return csmp_pfail(st, bad);
	}
	if (st->pb_tlv == CSMP_TLV_DEVICE_ID && fnum == 1 && wt == 0) {
		st->pb_f1_found = 1;
		st->pb_f1_val = v;
	}
	if (fnum == (st->pb_tlv == CSMP_TLV_DEVICE_ID ? 2u : 1u) && wt == 2) {
		st->pb_f2_found = 1;
		st->pb_f2_off = vo;
		st->pb_f2_len = l;
	}
	st->pos = pos;
	st->i++;
	return 0;
}

static long csmp_parse_step(__u32 idx, void *ctx)
{
	struct csmp_scratch *s = ((struct csmp_parse_ctx *)ctx)->s;
	struct csmp_pstate *st = &s->st;

	switch (st->phase) {
	case CSMP_P_OPT:
		return csmp_step_opt(s, st);
	case CSMP_P_TLV:
		return csmp_step_tlv(s, st);
	case CSMP_P_VDRAFT:
		return csmp_step_vdraft(s, st);
	case CSMP_P_PB:
		return csmp_step_pb(s, st);
	default:
		return 1;
	}
}

/*
 * Classify s->buf[0..len) into s->st.c. len <= CSMP_MAX_DGRAM (the caller
 * classifies larger datagrams as CSMP_R_COAP_OVERSIZE).
 */
static __always_inline void csmp_bpf_classify(struct csmp_scratch *s, __u32 len)
{
	struct csmp_pstate *st = &s->st;
	struct csmp_class *c = &st->c;
	struct csmp_parse_ctx pc = { .s = s };
	__u8 b0, cls;
	__u32 tkl;

	__builtin_memset(st, 0, sizeof(*st));
	st->len = len;
	c->msg_class = CSMP_C_UNKNOWN;
	if (len < CSMP_COAP_HDR_LEN) {
		csmp_pfail(st, CSMP_R_COAP_SHORT);
		return;
	}
	b0 = s->buf[0];
	c->coap_type = (b0 >> 4) & 3;
	c->coap_code = s->buf[1];
	c->mid = (__u16)((s->buf[2] << 8) | s->buf[3]);
	if ((b0 >> 6) != CSMP_COAP_VERSION) {
		csmp_pfail(st, CSMP_R_COAP_VERSION);
		return;
	}
	tkl = b0 & 15;
	if (tkl > CSMP_COAP_MAX_TKL) {
		csmp_pfail(st, CSMP_R_COAP_TKL);
		return;
	}
	if (CSMP_COAP_HDR_LEN + tkl > len) {
		csmp_pfail(st, CSMP_R_COAP_TOKEN_TRUNC);
		return;
	}
	cls = c->coap_code >> 5;
	if (cls == 1 || cls >= 6 ||
	    (c->coap_code == CSMP_COAP_EMPTY &&
	     (tkl || len != CSMP_COAP_HDR_LEN))) {
		csmp_pfail(st, CSMP_R_COAP_CODE);
		return;
	}
	if (tkl)
		c->flags |= CSMP_CF_TOKEN;
	st->pos = CSMP_COAP_HDR_LEN + tkl;
	st->phase = CSMP_P_OPT;
	bpf_loop(2 * CSMP_MAX_DGRAM + 64, csmp_parse_step, &pc, 0);
	if (c->msg_class == CSMP_C_MALFORMED)
		return;
	if (st->phase != CSMP_P_DONE) {
		/* Cannot happen (each step eats a byte); never pass it on. */
		csmp_pfail(st, CSMP_R_TLV_TOO_MANY);
		return;
	}

	/* classify.h's class rules. */
	if ((c->coap_code >> 5) >= 2) {
		c->msg_class = CSMP_C_RESPONSE;
		return;
	}
	if (c->coap_code == CSMP_COAP_POST && st->n_path == 1 &&
	    st->path0_len == 1 && st->path0_byte == 'r') {
		if (c->coap_type != CSMP_COAP_CON)
			return;
		if (!c->n_tlvs) {
			csmp_pfail(st, CSMP_R_TLV_EMPTY);
			return;
		}
		c->msg_class = CSMP_C_REGISTRATION;
		return;
	}
	if (c->coap_code == CSMP_COAP_POST && st->n_path == 1 &&
	    st->path0_len == 1 && st->path0_byte == 'c' &&
	    c->coap_type == CSMP_COAP_NON) {
		if (!c->n_tlvs) {
			csmp_pfail(st, CSMP_R_TLV_EMPTY);
			return;
		}
		if (c->first_tlv == CSMP_TLV_SESSION_ID)
			c->msg_class = CSMP_C_REPORT;
		else if (st->has_devid && (c->flags & CSMP_CF_NOTIFY))
			c->msg_class = CSMP_C_NOTIFICATION;
		else
			c->msg_class = CSMP_C_ASYNC_REPLY;
		return;
	}
	if ((c->coap_code >> 5) == 0 && c->coap_code != CSMP_COAP_EMPTY &&
	    st->n_path >= 1 && st->path0_len == 1 && st->path0_byte == 'c')
		c->msg_class = CSMP_C_REQUEST;
}

#endif /* CSMP_BPF_PARSE_H */
