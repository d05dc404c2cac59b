/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Numbers that cross a boundary between the BPF programs, the kernel module
 * and userspace: drop/parse reasons, message classes and steering keys.
 *
 * Every value is explicit and is never renumbered or reused: counters in
 * pinned maps, metrics and JSON output are indexed by them. A retired value
 * stays as CSMP_R_UNUSEDn. Mirrors: the name tables in userspace/lib/names.c.
 */
#ifndef CSMP_REASON_H
#define CSMP_REASON_H

enum csmp_reason {
	CSMP_R_OK			= 0,
	/* Packet layers (XDP, TC). */
	CSMP_R_NOT_CSMP			= 1,	/* passed untouched */
	CSMP_R_L2_TRUNC			= 2,
	CSMP_R_L3_TRUNC			= 3,
	CSMP_R_IPV6_EXTHDR		= 4,	/* bogus or too many ext headers */
	CSMP_R_FRAGMENT			= 5,	/* passed to the stack, counted */
	CSMP_R_UDP_TRUNC		= 6,
	CSMP_R_UDP_LEN			= 7,	/* UDP length disagrees with IP */
	CSMP_R_IPV4_OPTIONS		= 8,	/* IPv4 with options (walked) */
	CSMP_R_VLAN			= 9,	/* more VLAN tags than we walk */
	/* CoAP (RFC 7252). */
	CSMP_R_COAP_SHORT		= 16,	/* fewer than 4 bytes */
	CSMP_R_COAP_VERSION		= 17,	/* version != 1 */
	CSMP_R_COAP_TKL			= 18,	/* token length 9..15 */
	CSMP_R_COAP_TOKEN_TRUNC		= 19,	/* token runs past the end */
	CSMP_R_COAP_OPT_RESERVED	= 20,	/* delta or length nibble 15 */
	CSMP_R_COAP_OPT_TRUNC		= 21,	/* option runs past the end */
	CSMP_R_COAP_EMPTY_PAYLOAD	= 22,	/* marker with no payload */
	CSMP_R_COAP_CODE		= 23,	/* reserved class or bad empty */
	CSMP_R_COAP_TOO_MANY_OPTS	= 24,
	CSMP_R_COAP_PATH		= 25,	/* not a CSMP resource */
	CSMP_R_COAP_OVERSIZE		= 26,	/* larger than CSMP_MAX_DGRAM */
	/* CSMP TLV framing and the fields the fast path reads. */
	CSMP_R_TLV_VARINT		= 32,	/* varint overlong or > 32 bit */
	CSMP_R_TLV_TRUNC		= 33,	/* value runs past the payload */
	CSMP_R_TLV_TOO_MANY		= 34,
	CSMP_R_TLV_VENDOR		= 35,	/* vendor TLV fits neither form */
	CSMP_R_DEVICE_ID		= 36,	/* DeviceID not 16 hex digits */
	CSMP_R_SESSION_ID		= 37,	/* SessionID empty or too long */
	CSMP_R_PB_MALFORMED		= 38,	/* protobuf value does not parse */
	CSMP_R_TLV_EMPTY		= 39,	/* no TLV in a CSMP payload */
	/* Policy (XDP and csmpd). */
	CSMP_R_STORM_EID		= 48,	/* per-EID registration bucket */
	CSMP_R_STORM_GLOBAL		= 49,	/* global registration budget */
	CSMP_R_NO_BACKEND		= 50,	/* table empty or backend down */
	CSMP_R_FIB			= 51,	/* no route to the backend */
	CSMP_R_ENCAP			= 52,	/* could not grow the frame */
	CSMP_R_POLICY_REFUSED		= 53,	/* device not allowed (4.03) */
	CSMP_R_UNKNOWN_SESSION		= 54,	/* report with unknown SessionID */
	CSMP_R_MISSING_TLV		= 55,	/* required TLV absent (4.00) */
	CSMP_R_DUPLICATE		= 56,	/* retransmission, cached answer */
	CSMP_R_NO_WORKER		= 57,	/* owner's socket slot empty */
	CSMP_R_REWRITE			= 58,	/* TC could not rewrite the packet */
	/* Signatures (csmpd). */
	CSMP_R_SIG_BAD			= 64,	/* signature does not verify */
	CSMP_R_SIG_EXPIRED		= 65,	/* now > notAfter + skew */
	CSMP_R_SIG_NOT_YET		= 66,	/* now < notBefore - skew */
	CSMP_R_SIG_UNKNOWN_KEY		= 67,	/* no key enrolled for the EID */
	CSMP_R_SIG_MALFORMED		= 68,	/* DER or TLV order wrong */
	CSMP_R_SIG_MISSING		= 69,	/* unsigned under "required" */
	CSMP_R__MAX			= 80,	/* size of reason-indexed arrays */
};

/* What a CSMP datagram is, from the head-end's point of view. */
enum csmp_msg_class {
	CSMP_C_UNKNOWN		= 0,	/* CSMP port, not a message we know */
	CSMP_C_REGISTRATION	= 1,	/* CON POST r */
	CSMP_C_REPORT		= 2,	/* NON POST c, SessionID first */
	CSMP_C_NOTIFICATION	= 3,	/* NON POST c, DeviceID + TLV 44 */
	CSMP_C_ASYNC_REPLY	= 4,	/* NON POST c, anything else */
	CSMP_C_RESPONSE		= 5,	/* ACK/response to a head-end request */
	CSMP_C_REQUEST		= 6,	/* a request to a device (downlink) */
	CSMP_C_MALFORMED	= 7,	/* parse failed: see the reason */
	CSMP_C__MAX		= 8,
};

/* Which steering key chose the backend (ARCHITECTURE.md §2, in order). */
enum csmp_steer_key {
	CSMP_K_NONE		= 0,
	CSMP_K_REPLY_PORT	= 1,
	CSMP_K_SESSION		= 2,
	CSMP_K_PIN		= 3,
	CSMP_K_DEVICE_ID	= 4,
	CSMP_K_LEARNED		= 5,
	CSMP_K_IID		= 6,
	CSMP_K_SRC_HASH		= 7,
	CSMP_K__MAX		= 8,
};

#endif /* CSMP_REASON_H */
