// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target for the CoAP walk (include/csmp/coap.h) and libcsmp's
 * accessors and encoder. Every accepted datagram must have its offsets
 * inside the input, a reason of OK, and re-encode (header, token,
 * Uri-Path, Uri-Query, payload) into a datagram that parses to the same
 * fields; every rejected one must carry a reason whose errno it returned.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "csmp.h"

#define CHECK(c) do { if (!(c)) abort(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t len);

int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t len)
{
	static uint8_t out[CSMP_MAX_DGRAM + 512];
	struct csmp_coap_msg m, m2;
	struct csmp_coap_enc e;
	char s[CSMP_MAX_DGRAM + 1];
	uint16_t off, ql;
	unsigned int i;
	int err, n;

	err = csmp_coap_parse(buf, (__u32)len, &m);
	if (err) {
		CHECK(m.reason != CSMP_R_OK);
		CHECK(csmp_reason_errno(m.reason) == err);
		return 0;
	}
	CHECK(m.reason == CSMP_R_OK);
	CHECK(m.tkl <= CSMP_COAP_MAX_TKL);
	CHECK((size_t)m.payload_off + m.payload_len == len);
	CHECK(m.payload_len == 0 || buf[m.payload_off - 1] == CSMP_COAP_MARKER);
	for (i = 0; i < m.n_path; i++)
		CHECK((size_t)m.path[i].off + m.path[i].len <= len);
	for (i = 0; i < m.n_query; i++)
		CHECK((size_t)m.query[i].off + m.query[i].len <= len);
	CHECK(csmp_coap_path_str(buf, &m, s, sizeof(s)) >= 0);
	CHECK(csmp_coap_query_str(buf, &m, s, sizeof(s)) >= 0);
	if (!csmp_coap_query_get(buf, &m, "q", &off, &ql)) {
		struct csmp_tlvid ids[8];

		CHECK((size_t)off + ql <= len);
		csmp_tlvid_list((const char *)buf + off, ql, ids, 8);
	}

	/* Only Uri-Path/Uri-Query options: re-encode and compare. */
	if (m.n_opts != m.n_path + m.n_query ||
	    (m.flags & (CSMP_COAPF_PATH_OVERFLOW | CSMP_COAPF_QUERY_OVERFLOW)))
		return 0;
	csmp_coap_enc_init(&e, out, sizeof(out), m.type, m.code, m.mid,
			   m.token, m.tkl);
	for (i = 0; i < m.n_path; i++)
		csmp_coap_enc_opt(&e, CSMP_COAP_OPT_URI_PATH, buf + m.path[i].off,
				  m.path[i].len);
	for (i = 0; i < m.n_query; i++)
		csmp_coap_enc_opt(&e, CSMP_COAP_OPT_URI_QUERY,
				  buf + m.query[i].off, m.query[i].len);
	csmp_coap_enc_payload(&e, buf + m.payload_off, m.payload_len);
	n = csmp_coap_enc_finish(&e);
	CHECK(n > 0);
	/* The walk accepts non-minimal option encodings; ours is minimal. */
	CHECK((size_t)n <= len);
	CHECK(csmp_coap_parse(out, (__u32)n, &m2) == 0);
	CHECK(m2.type == m.type && m2.code == m.code && m2.mid == m.mid);
	CHECK(m2.tkl == m.tkl && !memcmp(m2.token, m.token, m.tkl));
	CHECK(m2.n_path == m.n_path && m2.n_query == m.n_query);
	for (i = 0; i < m.n_path; i++)
		CHECK(m2.path[i].len == m.path[i].len &&
		      !memcmp(out + m2.path[i].off, buf + m.path[i].off,
			      m.path[i].len));
	for (i = 0; i < m.n_query; i++)
		CHECK(m2.query[i].len == m.query[i].len &&
		      !memcmp(out + m2.query[i].off, buf + m.query[i].off,
			      m.query[i].len));
	CHECK(m2.payload_len == m.payload_len &&
	      !memcmp(out + m2.payload_off, buf + m.payload_off, m.payload_len));
	return 0;
}
