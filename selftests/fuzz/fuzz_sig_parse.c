// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target for the signature parsers: csmp_sig_der_parse() on a
 * Signature.value, and csmp_sig_locate() + csmp_verify_batch() on a whole
 * CoAP payload, with invariants checked on every accepted input (offsets
 * inside the input, region before the value, window ordered).
 *
 * The first input byte picks the mode. Modes 2 and 3 XOR the rest of the
 * input onto the signed ACK of the agent's capture (its payload, or its
 * Signature.value), so the fuzzer works near the real structure from the
 * first run even with an empty corpus; selftests/fuzz/corpus/fuzz_sig_parse
 * holds that payload as a seed too.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "sig.h"

/* Frame 2 of opencsmp-register.pcap, CoAP payload (wire facts §7.2). */
static const uint8_t ack[] = {
	0x0d, 0x09, 0x08, 0x14, 0x12, 0x01, 0x32, 0x12, 0x02, 0x32, 0x32, 0x07,
	0x03, 0x0a, 0x01, 0x31, 0x4c, 0x0c, 0x08, 0xd4, 0xdf, 0xc9, 0xe6, 0x05,
	0x10, 0xd4, 0xce, 0x83, 0x9b, 0x06, 0x4d, 0x58, 0x0a, 0x56, 0x30, 0x54,
	0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02, 0x03, 0x48,
	0x00, 0x30, 0x45, 0x02, 0x21, 0x00, 0xa9, 0x04, 0x14, 0x35, 0xc2, 0xdb,
	0x29, 0x74, 0xa3, 0x7a, 0x95, 0x3f, 0x19, 0xad, 0x78, 0x94, 0x24, 0x58,
	0x39, 0x33, 0x87, 0xea, 0x42, 0x2f, 0x7c, 0xe7, 0xe9, 0x67, 0x06, 0xd7,
	0x84, 0x96, 0x02, 0x20, 0x1e, 0xc2, 0x25, 0xfb, 0x32, 0x4c, 0xa2, 0xf2,
	0x0b, 0x48, 0xf1, 0x85, 0x36, 0x34, 0x0d, 0x99, 0xf9, 0xdc, 0x51, 0x3a,
	0x74, 0x43, 0xfb, 0x36, 0x04, 0x17, 0x43, 0xe4, 0x83, 0xc5, 0x84, 0x2e,
};
#define ACK_VALUE	34	/* offset of Signature.value in ack[] */

/* The P-256 base point as a public key: valid, and no one's key. */
static const uint8_t p256_g[65] = {
	0x04, 0x6b, 0x17, 0xd1, 0xf2, 0xe1, 0x2c, 0x42, 0x47, 0xf8, 0xbc, 0xe6,
	0xe5, 0x63, 0xa4, 0x40, 0xf2, 0x77, 0x03, 0x7d, 0x81, 0x2d, 0xeb, 0x33,
	0xa0, 0xf4, 0xa1, 0x39, 0x45, 0xd8, 0x98, 0xc2, 0x96, 0x4f, 0xe3, 0x42,
	0xe2, 0xfe, 0x1a, 0x7f, 0x9b, 0x8e, 0xe7, 0xeb, 0x4a, 0x7c, 0x0f, 0x9e,
	0x16, 0x2b, 0xce, 0x33, 0x57, 0x6b, 0x31, 0x5e, 0xce, 0xcb, 0xb6, 0x40,
	0x68, 0x37, 0xbf, 0x51, 0xf5,
};

static struct csmp_key *key_p256, *key_ed;
static struct csmp_verifier *ver;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct csmp_verifier_opts o = { .skew = 30, .replay_entries = 64 };
	uint8_t seed[32] = { 0 }, ed[32], sk[64];

	/* A fixed Ed25519 key (all-zero seed) keeps runs reproducible. */
	if (sodium_init() < 0)
		abort();
	crypto_sign_ed25519_seed_keypair(ed, sk, seed);
	if (csmp_key_from_raw(CSMP_SUITE_P256, p256_g, sizeof(p256_g),
			      &key_p256) ||
	    csmp_key_from_raw(CSMP_SUITE_ED25519, ed, sizeof(ed), &key_ed) ||
	    csmp_verifier_new(&o, &ver))
		abort();
	return 0;
}

static void check_der(const uint8_t *v, size_t len)
{
	enum csmp_sig_suite su;
	const uint8_t *sig;
	size_t sl;
	uint8_t out[CSMP_SIG_VALUE_MAX];
	int n;

	if (csmp_sig_der_parse(v, len, &su, &sig, &sl))
		return;
	if (sig < v || sig + sl > v + len || len > CSMP_SIG_VALUE_MAX)
		abort();
	/* What parses must rebuild to the same bytes (DER is canonical). */
	n = csmp_sig_der_build(su, sig, sl, out, sizeof(out));
	if (n != (int)len || memcmp(out, v, len))
		abort();
}

static void check_payload(const uint8_t *p, size_t len)
{
	struct csmp_verify_item it[2];
	struct csmp_sig_loc loc;
	uint8_t res[2];

	if (!csmp_sig_locate(p, len, &loc)) {
		if (loc.region_len >= len || loc.value < p + loc.region_len ||
		    loc.value + loc.value_len > p + len ||
		    loc.sig < loc.value ||
		    loc.sig + loc.sig_len > loc.value + loc.value_len ||
		    loc.not_before > loc.not_after)
			abort();
	} else if (loc.reason != CSMP_R_SIG_MISSING &&
		   loc.reason != CSMP_R_SIG_MALFORMED) {
		abort();
	}
	csmp_verify_item_init(&it[0], p, len, key_p256);
	csmp_verify_item_init(&it[1], p, len, key_ed);
	/* Inside the capture's window, so the crypto path runs too. */
	csmp_verify_batch(ver, it, 2, res, 1600000000u);
	if (res[0] == CSMP_R_OK || res[1] == CSMP_R_OK)
		abort();	/* nobody holds these keys' private halves */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t buf[sizeof(ack) + 64];
	size_t i, n;

	if (size < 1)
		return 0;
	switch (data[0] & 3) {
	case 0:
		check_der(data + 1, size - 1);
		break;
	case 1:
		check_payload(data + 1, size - 1);
		break;
	case 2:
		/* The capture's payload with the input XORed on, and
		 * truncated or extended to the input's length. */
		n = size - 1 < sizeof(buf) ? size - 1 : sizeof(buf);
		memset(buf, 0, sizeof(buf));
		memcpy(buf, ack, sizeof(ack));
		for (i = 0; i < n; i++)
			buf[i] ^= data[1 + i];
		check_payload(buf, n > sizeof(ack) ? n :
			      sizeof(ack) - (data[0] >> 2));
		break;
	case 3:
		n = sizeof(ack) - ACK_VALUE;
		memcpy(buf, ack + ACK_VALUE, n);
		for (i = 0; i + 1 < size && i < n; i++)
			buf[i] ^= data[1 + i];
		check_der(buf, n - (data[0] >> 2 < n ? data[0] >> 2 : 0));
		break;
	}
	return 0;
}
