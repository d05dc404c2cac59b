/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Shared by the csmp_reuseport and csmp_srcfix tests: real CSMP datagrams
 * built with libcsmp (the agent's registration from the shared capture with
 * its DeviceID replaced, reports carrying csmpd's SessionIDs, async replies,
 * responses, malformed ones), addresses in the 16-byte map form, and the
 * per-CPU counter sums. The capture reader and frame builder are
 * lb_test.h's.
 */
#ifndef CSMP_STEER_TEST_H
#define CSMP_STEER_TEST_H

#include "lb_test.h"
#include "csmp.h"
#include "reuseport.h"
#include <csmp/siphash.h>
#include <csmp/steer.h>

/* The agent's registration (frame 1 of the capture): its UDP payload. */
static inline int st_fixture_registration(uint8_t *out, size_t cap)
{
	uint8_t fr[4096];
	size_t n;
	int err = lbt_pcap_frame("opencsmp-register.pcap", 0, fr, sizeof(fr),
				 &n);

	if (err)
		return err;
	/* Ethernet, IPv6 without extension headers, UDP. */
	if (n < 14 + 40 + 8 || fr[12] != 0x86 || fr[13] != 0xdd ||
	    fr[14 + 6] != 17 || n - 62 > cap)
		return -EINVAL;
	memcpy(out, fr + 62, n - 62);
	return (int)(n - 62);
}

/* The registration with DeviceID = eid, in the agent's padded TLV form. */
static inline int st_registration(uint8_t *buf, size_t cap, uint64_t eid)
{
	Csmp__DeviceID did = CSMP__DEVICE_ID__INIT;
	uint8_t orig[CSMP_MAX_DGRAM];
	int n = st_fixture_registration(orig, sizeof(orig));
	struct csmp_coap_msg m;
	struct csmp_tlv_iter it;
	struct csmp_tlvw w;
	struct csmp_tlv t;
	char hex[17];
	size_t len;

	if (n < 0)
		return n;
	if (csmp_coap_parse(orig, (__u32)n, &m) || m.payload_off > cap)
		return -EINVAL;
	memcpy(buf, orig, m.payload_off);
	len = m.payload_off;
	snprintf(hex, sizeof(hex), "%016llX", (unsigned long long)eid);
	did.type = 1;
	did.id = hex;
	csmp_pb_set_present(&did.base, 1);
	csmp_pb_set_present(&did.base, 2);
	csmp_tlvw_init(&w, buf + len, cap - len, CSMP_TLVW_PAD);
	csmp_tlvw_put(&w, CSMP_TLV_DEVICE_ID, &did.base);
	if (csmp_tlvw_finish(&w) < 0)
		return -ENOSPC;
	len += w.len;
	csmp_tlv_init(&it, orig + m.payload_off, m.payload_len);
	while (csmp_tlv_next(&it, &t) > 0) {
		size_t sz = t.off + t.len - t.hdr;

		if (t.type == CSMP_TLV_DEVICE_ID)
			continue;
		if (len + sz > cap)
			return -ENOSPC;
		memcpy(buf + len, orig + m.payload_off + t.hdr, sz);
		len += sz;
	}
	return (int)len;
}

/* NON POST /c: SessionID first (a report) or CurrentTime only (async). */
static inline int st_post_c(uint8_t *buf, size_t cap, const char *sid,
			    uint16_t mid)
{
	Csmp__SessionID s = CSMP__SESSION_ID__INIT;
	Csmp__CurrentTime ct = CSMP__CURRENT_TIME__INIT;
	struct csmp_coap_enc e;
	struct csmp_tlvw w;

	csmp_coap_enc_init(&e, buf, cap, CSMP_COAP_NON, CSMP_COAP_POST, mid,
			   NULL, 0);
	csmp_coap_enc_path(&e, "c");
	csmp_coap_enc_payload_begin(&e, &w, CSMP_TLVW_PAD);
	if (sid) {
		s.id = (char *)sid;
		csmp_pb_set_present(&s.base, 1);
		csmp_tlvw_put(&w, CSMP_TLV_SESSION_ID, &s.base);
	}
	ct.posix = 1700000000u + mid;
	csmp_pb_set_present(&ct.base, 1);
	csmp_tlvw_put(&w, CSMP_TLV_CURRENT_TIME, &ct.base);
	csmp_coap_enc_payload_end(&e, &w);
	return csmp_coap_enc_finish(&e);
}

/* csmpd's SessionID for a device of bucket `bucket`. */
static inline void st_session(char out[CSMP_SESSION_LEN + 1], uint16_t backend,
			      uint32_t bucket, uint32_t opaque)
{
	snprintf(out, CSMP_SESSION_LEN + 1, CSMP_SESSION_FMT, backend, bucket,
		 opaque);
}

static inline void st_addr6(struct csmp_addr *a, const struct in6_addr *in)
{
	memcpy(a->a, in, 16);
}

static inline void st_addr4(struct csmp_addr *a, const struct in_addr *in)
{
	memset(a->a, 0, 16);
	a->a[10] = 0xff;
	a->a[11] = 0xff;
	memcpy(&a->a[12], in, 4);
}

static inline int st_is_v4(const struct csmp_addr *a)
{
	static const uint8_t pfx[12] = { [10] = 0xff, [11] = 0xff };

	return !memcmp(a->a, pfx, 12);
}

/* Sum of one entry of a pinned per-CPU csmp_count array. */
static inline uint64_t st_count(const char *pin_dir, const char *map,
				uint32_t idx)
{
	struct csmp_count c = { 0 };
	int fd = csmp_lb_map_fd(pin_dir, map);

	if (fd < 0)
		return (uint64_t)-1;
	if (csmp_lb_count_sum(fd, idx, &c))
		c.packets = (uint64_t)-1;
	close(fd);
	return c.packets;
}

/* Remove a test's pin directory and what is pinned in it. */
static inline void st_unpin(const char *dir)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd)) {
		/* best effort: the directory may never have been made */
	}
}

#endif /* CSMP_STEER_TEST_H */
