/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * CSMP signatures (wire facts §4): the Signature (77) and SignatureValidity
 * (76) TLVs, the DER form of Signature.value, two suites (ECDSA P-256 /
 * SHA-256 through OpenSSL 3 libcrypto, the one CSMP devices speak; Ed25519
 * through libsodium, for a profile we control at both ends), key loading
 * and generation, a bounded per-EID key cache, the downlink signature cache
 * and batch verification with a replay cache.
 *
 * Wire form of Signature.value (at most 88 bytes, the agent's buffer):
 *
 *   SEQUENCE { OBJECT IDENTIFIER suite, BIT STRING (0 unused bits) { sig } }
 *
 *   P-256:   OID 1.2.840.10045.4.3.2 (ecdsa-with-SHA256), sig = the DER
 *            Ecdsa-Sig-Value SEQUENCE { INTEGER r, INTEGER s } (70..72 B).
 *   Ed25519: OID 1.3.101.112 (id-Ed25519, RFC 8410), sig = the raw 64-byte
 *            R || S of RFC 8032. This is our own extension: no CSMP source
 *            defines an Ed25519 form, so we reuse the same envelope with
 *            the RFC 8410 OID and the signature bytes as they are.
 *
 * The signed region is the CoAP payload from its first byte up to, not
 * including, the Signature TLV, which must be the last TLV; the
 * SignatureValidity TLV must lie inside the region. P-256 signs
 * SHA-256(region); Ed25519 signs the region itself (pure Ed25519).
 *
 * Threading: keys (struct csmp_key) are immutable once made and may be
 * shared by any number of threads. Signers, verifiers and key caches are
 * per worker (they hold mutable caches and OpenSSL contexts) and take no
 * locks; workers own disjoint devices, so nothing needs sharing.
 *
 * Errors: functions return 0 (or a length) or -errno; the high-level check
 * returns an enum csmp_reason, which is what csmpd counts and logs.
 */
#ifndef CSMP_SIG_H
#define CSMP_SIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <csmp/reason.h>

enum csmp_sig_suite {
	CSMP_SUITE_NONE		= 0,
	CSMP_SUITE_P256		= 1,	/* ECDSA P-256 / SHA-256 */
	CSMP_SUITE_ED25519	= 2,	/* Ed25519 (RFC 8032), libsodium */
};

/* Signature.value is copied into an 88-byte buffer by the agent. */
#define CSMP_SIG_VALUE_MAX	88
/* DER Ecdsa-Sig-Value for P-256: r and s of up to 33 bytes each. */
#define CSMP_SIG_ECDSA_DER_MAX	72
#define CSMP_SIG_ED25519_LEN	64
/* Raw public keys: uncompressed SEC1 point (0x04 || X || Y), Ed25519. */
#define CSMP_SIG_P256_PUB_LEN	65
#define CSMP_SIG_ED25519_PUB_LEN 32
#define CSMP_SIG_PUB_MAX	65
/* What the two trailing TLVs can add to a payload (76 and 77). */
#define CSMP_SIG_TLVS_MAX	(2 + 2 + 12 + 2 + 2 + CSMP_SIG_VALUE_MAX)

/* ---------------------------------------------------------------------
 * DER envelope of Signature.value. No crypto here: safe on any input.
 */

/*
 * Parse Signature.value. On success sets *suite and points *sig (length
 * *sig_len) at the inner signature (DER Ecdsa-Sig-Value or raw Ed25519)
 * inside `v`. Every malformation has its own errno, so tests and counters
 * can tell them apart:
 *   -ENODATA          empty value
 *   -EMSGSIZE         longer than 88 bytes
 *   -EPROTO           a tag is not the one the form requires
 *   -EILSEQ           length octets: indefinite, > 2 octets or not minimal
 *   -EOVERFLOW        an element's length runs past its container
 *   -EBADMSG          bytes left over inside or after an element
 *   -EPROTONOSUPPORT  an OID that names no suite of ours
 *   -EINVAL           BIT STRING with unused bits
 *   -EDOM             r or s zero, negative, empty or not minimal
 *   -ERANGE           r or s wider than 32 bytes, or Ed25519 not 64 bytes
 */
int csmp_sig_der_parse(const uint8_t *v, size_t len,
		       enum csmp_sig_suite *suite, const uint8_t **sig,
		       size_t *sig_len);

/*
 * Wrap an inner signature into Signature.value. Returns the length written
 * to out (cap >= CSMP_SIG_VALUE_MAX always suffices) or -errno.
 */
int csmp_sig_der_build(enum csmp_sig_suite suite, const uint8_t *sig,
		       size_t sig_len, uint8_t *out, size_t cap);

/* ---------------------------------------------------------------------
 * Locating the signature TLVs in a CoAP payload.
 */

struct csmp_sig_loc {
	uint32_t region_len;	/* signed bytes: payload[0 .. region_len) */
	uint32_t not_before;	/* SignatureValidity, POSIX seconds */
	uint32_t not_after;
	const uint8_t *value;	/* Signature.value (the DER envelope) */
	uint32_t value_len;
	enum csmp_sig_suite suite;
	const uint8_t *sig;	/* inner signature inside value */
	uint32_t sig_len;
	uint8_t reason;		/* enum csmp_reason: OK, SIG_MISSING, SIG_MALFORMED */
	int err;		/* the precise -errno behind SIG_MALFORMED */
};

/*
 * Find and check the structure of the signature TLVs. Returns 0 with every
 * field set, or -errno with loc->reason and loc->err:
 *   SIG_MISSING    -ENOENT      no Signature TLV (SignatureValidity alone too)
 *   SIG_MALFORMED  the TLV walk's errno when the payload does not frame;
 *                  -ENOTEMPTY   a TLV follows the Signature (it must be last)
 *                  -ESRCH       no SignatureValidity before the Signature
 *                  -ENOMSG      Signature without value, or a validity bound
 *                               missing (the agent needs both)
 *                  -EBADE       the 76 or 77 protobuf does not parse
 *                  -EFBIG       a validity bound wider than 32 bits
 *                  -ETIME       notBefore > notAfter
 *                  -EMSGSIZE    payload larger than CSMP_MAX_DGRAM
 *                  otherwise    csmp_sig_der_parse()'s errno for the value
 * No clock and no key are involved: this runs before any crypto.
 */
int csmp_sig_locate(const uint8_t *payload, size_t len,
		    struct csmp_sig_loc *loc);

/*
 * Append SignatureValidity{nb, na} to the payload being built, in minimal
 * form with both fields written even when zero (the agent tests presence).
 * Returns the new length or -ENOSPC. Exposed for tests and for the rare
 * caller that signs elsewhere; csmp_sig_append() is what senders use.
 */
int csmp_sig_put_validity(uint8_t *buf, size_t len, size_t cap,
			  uint32_t not_before, uint32_t not_after);
/* Append Signature{value}. Returns the new length or -errno. */
int csmp_sig_put_signature(uint8_t *buf, size_t len, size_t cap,
			   const uint8_t *value, size_t value_len);

/* ---------------------------------------------------------------------
 * Keys. OpenSSL 3 key parsing costs tens of microseconds: parse once (at
 * enrolment or start), keep the struct csmp_key, never parse per message.
 */

struct csmp_key;

/* A PEM private key (PKCS#8 or SEC1 "EC PRIVATE KEY") or public key
 * (SubjectPublicKeyInfo), P-256 or Ed25519. Other curves: -EPROTONOSUPPORT;
 * not PEM at all: -EBADMSG. */
int csmp_key_from_pem(const char *pem, size_t len, struct csmp_key **out);
int csmp_key_load_pem(const char *path, struct csmp_key **out);
/* Raw public key: 65-byte uncompressed SEC1 P-256 point (the agent's form,
 * checked to be on the curve) or 32-byte Ed25519 key. */
int csmp_key_from_raw(enum csmp_sig_suite suite, const uint8_t *pub,
		      size_t len, struct csmp_key **out);
/* A new random key pair. */
int csmp_key_generate(enum csmp_sig_suite suite, struct csmp_key **out);
/* Write the key pair as PEM: private key PKCS#8, created 0600 (O_EXCL: an
 * existing file is never overwritten, -EEXIST); public key SPKI, 0644.
 * Either path may be NULL. csmpctl keygen is this plus option parsing. */
int csmp_key_write_pem(const struct csmp_key *key, const char *priv_path,
		       const char *pub_path);
/* Raw public key bytes (for the registry and for `csmpctl enroll`). */
int csmp_key_public_raw(const struct csmp_key *key, uint8_t *out,
			size_t cap);

enum csmp_sig_suite csmp_key_suite(const struct csmp_key *key);
bool csmp_key_has_private(const struct csmp_key *key);
/* SHA-256 of suite || raw public key: a stable identity for caches. */
const uint8_t *csmp_key_id(const struct csmp_key *key);

/* Keys are reference counted (atomically): the cache, in-flight batch
 * items and signers each hold their own reference. */
struct csmp_key *csmp_key_get(struct csmp_key *key);
void csmp_key_put(struct csmp_key *key);	/* NULL is fine */

/*
 * Device keys by EID: bounded, O(1) lookup, least recently used evicted.
 * One per worker; the registry holds the raw bytes, so an evicted key is
 * re-made from them with csmp_keycache_put_raw() on the next miss.
 */
struct csmp_keycache;

struct csmp_keycache_stats {
	uint64_t hits;
	uint64_t misses;
	uint64_t evictions;
	uint32_t count;
	uint32_t capacity;
};

int csmp_keycache_new(uint32_t capacity, struct csmp_keycache **out);
void csmp_keycache_free(struct csmp_keycache *kc);
/* Borrowed pointer: valid until the next put/del on this cache, or
 * longer with csmp_key_get(). NULL when the EID has no cached key. */
struct csmp_key *csmp_keycache_lookup(struct csmp_keycache *kc, uint64_t eid);
/* Insert or replace; takes its own reference. */
int csmp_keycache_put(struct csmp_keycache *kc, uint64_t eid,
		      struct csmp_key *key);
int csmp_keycache_put_raw(struct csmp_keycache *kc, uint64_t eid,
			  enum csmp_sig_suite suite, const uint8_t *pub,
			  size_t len);
int csmp_keycache_del(struct csmp_keycache *kc, uint64_t eid);
void csmp_keycache_stats(const struct csmp_keycache *kc,
			 struct csmp_keycache_stats *st);

/* ---------------------------------------------------------------------
 * Signing (downlink). One signer per worker.
 */

struct csmp_signer;

struct csmp_signer_stats {
	uint64_t signs;		/* signatures computed */
	uint64_t cache_hits;	/* signatures reused */
	uint64_t cache_misses;
	uint64_t pool_signs;	/* of signs: from a precomputed nonce */
	uint64_t pool_empty;	/* of signs: no pair (pool empty), signed afresh */
};

/*
 * cache_entries: the downlink signature cache (0 = off). Identical signed
 * regions (same bytes, so same validity window, since SignatureValidity is
 * inside) reuse one signature: ECDSA is randomised, so the cache is keyed
 * by SHA-256 of the region, not by the signature. Rounded up to a power of
 * two; direct-mapped, a colliding region replaces the older one.
 */
int csmp_signer_new(struct csmp_key *key, uint32_t cache_entries,
		    struct csmp_signer **out);
void csmp_signer_free(struct csmp_signer *s);

/* Sign a region into Signature.value (out >= CSMP_SIG_VALUE_MAX bytes).
 * Returns the value length or -errno. Uses the cache, then (P-256) a nonce
 * from the pool set with csmp_signer_set_pool(), else signs afresh. */
int csmp_signer_sign(struct csmp_signer *s, const uint8_t *region,
		     size_t len, uint8_t *out);

/*
 * Append SignatureValidity{nb, na} and Signature to the payload in buf
 * (len bytes so far, cap bytes of room; CSMP_SIG_TLVS_MAX extra always
 * suffice). The payload must not already be signed. Returns the new
 * length or -errno (-ENOSPC, -EINVAL for nb > na).
 */
int csmp_sig_append(struct csmp_signer *s, uint8_t *buf, size_t len,
		    size_t cap, uint32_t not_before, uint32_t not_after);

/*
 * A validity window that makes repeated answers cacheable: notBefore is
 * `now - back` rounded down to a multiple of `quantum`, notAfter is
 * notBefore + back + lifetime + quantum, so every `now` in one quantum
 * gives the same window and so the same signed bytes.
 */
void csmp_sig_window(uint64_t now, uint32_t back, uint32_t lifetime,
		     uint32_t quantum, uint32_t *not_before,
		     uint32_t *not_after);

void csmp_signer_stats(const struct csmp_signer *s,
		       struct csmp_signer_stats *st);

/* ---------------------------------------------------------------------
 * The nonce pool: P-256 signing in storms. ECDSA's cost is almost all in
 * the nonce (k, kG, k^-1); the part that needs the message is a few
 * multiplications modulo n. A pool holds (k^-1, r) pairs made in idle time
 * by one low-priority refill thread per process, in one ring per signer
 * (worker): a signer with a pair pays only s = k^-1 (z + r d) mod n; with
 * none it signs as before, so an empty pool costs nothing but the check.
 *
 * Each pair is used once, copied out and wiped (OPENSSL_cleanse) before
 * its slot is reused. The rings are locked in memory (mlock), excluded from
 * core dumps (MADV_DONTDUMP) and wiped in a forked child (MADV_WIPEONFORK),
 * so pairs are never swapped, persisted or shared between processes;
 * csmp_sigpool_new() fails rather than run without any of the three
 * (mlock needs RLIMIT_MEMLOCK or CAP_IPC_LOCK for entries * rings * 64 B).
 *
 * Threads: one producer (the refill thread, or a caller of
 * csmp_sigpool_refill() while the thread is not running) and one consumer
 * per ring (the signer bound to it); nothing else is shared.
 */
struct csmp_sigpool;

#define CSMP_SIGPOOL_RINGS_MAX		256
#define CSMP_SIGPOOL_ENTRIES_MAX	(1u << 20)

struct csmp_sigpool_opts {
	uint32_t rings;		/* one per signer, 1..CSMP_SIGPOOL_RINGS_MAX */
	uint32_t entries;	/* pairs per ring, rounded up to a power of 2 */
	uint32_t rate;		/* refill thread: pairs/s at most, 0 = no cap */
};

enum csmp_sigpool_sched {
	CSMP_SIGPOOL_SCHED_NONE		= 0,	/* no refill thread yet */
	CSMP_SIGPOOL_SCHED_IDLE		= 1,	/* SCHED_IDLE */
	CSMP_SIGPOOL_SCHED_NICE		= 2,	/* refused: nice 19 instead */
	CSMP_SIGPOOL_SCHED_NORMAL	= 3,	/* both refused */
};

struct csmp_sigpool_stats {
	uint64_t made;		/* pairs computed */
	uint64_t taken;		/* pairs used by signers */
	uint64_t empty;		/* signatures that found their ring empty */
	uint64_t errors;	/* pairs the refill failed to make */
	uint32_t avail;		/* pairs ready now, all rings */
	uint32_t capacity;	/* rings * entries */
	uint8_t sched;		/* enum csmp_sigpool_sched */
};

/* key: a P-256 private key (-EINVAL otherwise). Rings start empty. */
int csmp_sigpool_new(struct csmp_key *key, const struct csmp_sigpool_opts *o,
		     struct csmp_sigpool **out);
/* Stops the refill thread and wipes every pair. NULL is fine. */
void csmp_sigpool_free(struct csmp_sigpool *p);
/* Make up to max pairs now, spread over the rings with room. Returns the
 * number made (0: all full) or -errno. */
int csmp_sigpool_refill(struct csmp_sigpool *p, unsigned int max);
/* The refill thread: SCHED_IDLE (else nice 19), signals blocked, paced to
 * opts.rate, asleep while every ring is full and woken once one is half
 * empty. -EALREADY when running. */
int csmp_sigpool_start(struct csmp_sigpool *p);
void csmp_sigpool_stop(struct csmp_sigpool *p);
void csmp_sigpool_stats(const struct csmp_sigpool *p,
			struct csmp_sigpool_stats *st);
uint32_t csmp_sigpool_avail(const struct csmp_sigpool *p, unsigned int ring);

/*
 * Make signer s take its nonces from ring `ring` of p (the pool must be
 * for the signer's key and outlive the signer; one signer per ring):
 * -EINVAL another key or not P-256, -ERANGE no such ring, -EBUSY the ring
 * has a signer already. p = NULL detaches.
 */
int csmp_signer_set_pool(struct csmp_signer *s, struct csmp_sigpool *p,
			 unsigned int ring);

/* ---------------------------------------------------------------------
 * Verification (uplink, and requests submitted for sending). One verifier
 * per worker.
 */

struct csmp_verifier;

struct csmp_verifier_opts {
	uint32_t skew;		/* seconds of clock skew tolerated each side */
	uint32_t replay_entries; /* replay cache slots (0 = off) */
};

struct csmp_verifier_stats {
	uint64_t by_reason[CSMP_R__MAX];	/* every outcome, OK included */
	uint64_t crypto;	/* signature checks actually computed */
	uint64_t replay_hits;	/* outcomes taken from the replay cache */
	uint64_t replay_misses;
	uint64_t digests;	/* SHA-256 computations: one per message */
};

/* opts may be NULL: no skew, replay cache of 1024 slots. */
int csmp_verifier_new(const struct csmp_verifier_opts *opts,
		      struct csmp_verifier **out);
void csmp_verifier_free(struct csmp_verifier *v);
void csmp_verifier_stats(const struct csmp_verifier *v,
			 struct csmp_verifier_stats *st);

/*
 * One message to verify. Fill it with csmp_verify_item_init() from a
 * payload, or by hand from parts (region, Signature.value, window).
 */
struct csmp_verify_item {
	const struct csmp_key *key;	/* NULL: no key enrolled for the sender */
	const uint8_t *region;
	uint32_t region_len;
	const uint8_t *value;		/* Signature.value, the DER envelope */
	uint32_t value_len;
	uint32_t not_before;
	uint32_t not_after;
	uint8_t reason;		/* set by init: a non-OK reason skips the item */
	uint8_t pad[3];
	int err;		/* -errno behind a SIG_MALFORMED outcome */
	uint64_t user;		/* caller's cookie (EID, slot), untouched */
};

/* Locate the signature TLVs in payload and fill the item. Returns the
 * reason so far (OK, SIG_MISSING, SIG_MALFORMED), also kept in item. */
enum csmp_reason csmp_verify_item_init(struct csmp_verify_item *item,
				       const uint8_t *payload, size_t len,
				       const struct csmp_key *key);

/*
 * Verify n items; results[i] gets the enum csmp_reason of item i:
 * OK, SIG_BAD, SIG_EXPIRED, SIG_NOT_YET, SIG_UNKNOWN_KEY, SIG_MALFORMED or
 * SIG_MISSING. Order of checks, cheapest first, so a flood of bad messages
 * costs no crypto: structure (init), key, window against `now` +- skew,
 * the replay cache, then the signature. Returns the number of OK items.
 * The replay cache holds (key id, SHA-256(region), value) exactly, found by
 * the digest that P-256 needs anyway (one SHA-256 per message, no second
 * hash for the cache key), and only the crypto outcome (OK or SIG_BAD); the
 * window is checked first on every call, so a cached answer never outlives
 * its window.
 *
 * No batch algorithm: ECDSA has no practical one, and libsodium 1.0.18
 * has no Ed25519 batch API (nor a prepared-key verify), so each item is
 * verified on its own. What the batch saves is per-message set-up: keys
 * parsed once, one EVP_PKEY_CTX per key reused across messages, no
 * allocation, and answers already known (retransmissions) not recomputed.
 */
int csmp_verify_batch(struct csmp_verifier *v, struct csmp_verify_item *items,
		      unsigned int n, uint8_t *results, uint64_t now);

/* One payload, one key: init + a batch of one. v may be NULL (no skew, no
 * replay cache, no counters, a context made per call: for tools such as
 * csmpdump, not for hot paths). */
enum csmp_reason csmp_sig_check(struct csmp_verifier *v,
				const struct csmp_key *key,
				const uint8_t *payload, size_t len, uint64_t now);

#endif /* CSMP_SIG_H */
