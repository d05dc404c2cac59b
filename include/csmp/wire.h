/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * CSMP wire constants shared by the BPF programs, the kernel module and
 * userspace: ports, the CoAP profile CSMP uses, and the TLV identifiers.
 * Source of every value: shared/reference/csmp-wire-facts.md.
 *
 * Like every header in include/csmp/, this file includes nothing: the
 * includer provides __u8/__u16/__u32/__u64 (linux/types.h, vmlinux.h or the
 * kernel's own types).
 */
#ifndef CSMP_WIRE_H
#define CSMP_WIRE_H

/* UDP ports: 61628 is the agent's (both ends); 61624 is used by many sites. */
#define CSMP_PORT		61628
#define CSMP_PORT_ALT		61624

/* CoAP (RFC 7252) header fields. */
#define CSMP_COAP_VERSION	1
#define CSMP_COAP_HDR_LEN	4
#define CSMP_COAP_MAX_TKL	8
#define CSMP_COAP_MARKER	0xff

#define CSMP_COAP_CON		0
#define CSMP_COAP_NON		1
#define CSMP_COAP_ACK		2
#define CSMP_COAP_RST		3

/* Codes as c.dd packed into one byte: class << 5 | detail. */
#define CSMP_COAP_CODE(c, d)	(((c) << 5) | (d))
#define CSMP_COAP_EMPTY		CSMP_COAP_CODE(0, 0)
#define CSMP_COAP_GET		CSMP_COAP_CODE(0, 1)
#define CSMP_COAP_POST		CSMP_COAP_CODE(0, 2)
#define CSMP_COAP_PUT		CSMP_COAP_CODE(0, 3)
#define CSMP_COAP_DELETE	CSMP_COAP_CODE(0, 4)
#define CSMP_COAP_CREATED	CSMP_COAP_CODE(2, 1)
#define CSMP_COAP_VALID		CSMP_COAP_CODE(2, 3)
#define CSMP_COAP_CHANGED	CSMP_COAP_CODE(2, 4)
#define CSMP_COAP_CONTENT	CSMP_COAP_CODE(2, 5)
#define CSMP_COAP_BAD_REQUEST	CSMP_COAP_CODE(4, 0)
#define CSMP_COAP_UNAUTHORIZED	CSMP_COAP_CODE(4, 1)
#define CSMP_COAP_FORBIDDEN	CSMP_COAP_CODE(4, 3)
#define CSMP_COAP_NOT_FOUND	CSMP_COAP_CODE(4, 4)
#define CSMP_COAP_BAD_METHOD	CSMP_COAP_CODE(4, 5)
#define CSMP_COAP_INTERNAL	CSMP_COAP_CODE(5, 0)

/* CoAP option numbers CSMP uses (others are walked and skipped). */
#define CSMP_COAP_OPT_URI_HOST	3
#define CSMP_COAP_OPT_URI_PORT	7
#define CSMP_COAP_OPT_URI_PATH	11
#define CSMP_COAP_OPT_CFORMAT	12
#define CSMP_COAP_OPT_URI_QUERY	15

/*
 * Bounds. The agent's buffers are 1024 (receive) and 2048 (send) bytes; a
 * head-end accepts up to the IPv6 minimum MTU's worth of UDP payload plus
 * slack, and refuses larger datagrams as oversized.
 */
#define CSMP_MAX_DGRAM		2048
#define CSMP_MAX_OPTIONS	16	/* options walked per message */
#define CSMP_MAX_PATH_SEGS	4	/* c/<id>/<index> is the longest */
#define CSMP_MAX_QUERIES	4	/* q=, a=, r= */
#define CSMP_MAX_TLVS		128	/* TLVs walked per payload */
#define CSMP_VARINT_MAX_BYTES	5	/* a 32-bit protobuf varint */

/* EID: 16 hex digits (EUI-64). SessionID: at most 16 characters. */
#define CSMP_EID_HEX_LEN	16
#define CSMP_SESSION_ID_MAX	16
#define CSMP_SESSION_BACKEND_HEX 4	/* leading backend id, lowercase hex */

/* TLV identifiers (wire facts §3.3). Never renumbered: they are the wire. */
#define CSMP_TLV_TLV_INDEX		1
#define CSMP_TLV_DEVICE_ID		2
#define CSMP_TLV_NMS_REDIRECT		6
#define CSMP_TLV_SESSION_ID		7
#define CSMP_TLV_DESCRIPTION_REQ	8
#define CSMP_TLV_HARDWARE_DESC		11
#define CSMP_TLV_INTERFACE_DESC		12
#define CSMP_TLV_REPORT_SUBSCRIBE	13
#define CSMP_TLV_IP_ADDRESS		16
#define CSMP_TLV_IP_ROUTE		17
#define CSMP_TLV_CURRENT_TIME		18
#define CSMP_TLV_RPL_SETTINGS		21
#define CSMP_TLV_UPTIME			22
#define CSMP_TLV_INTERFACE_METRICS	23
#define CSMP_TLV_IP_ROUTE_RPL_METRICS	25
#define CSMP_TLV_REBOOT_REQUEST		32
#define CSMP_TLV_WPAN_STATUS		35
#define CSMP_TLV_CGMS_SETTINGS		42
#define CSMP_TLV_CGMS_STATUS		43
#define CSMP_TLV_CGMS_NOTIFICATION	44
#define CSMP_TLV_CGMS_STATS		45
#define CSMP_TLV_RPL_INSTANCE		53
#define CSMP_TLV_GROUP_ASSIGN		55
#define CSMP_TLV_GROUP_EVICT		56
#define CSMP_TLV_GROUP_MATCH		57
#define CSMP_TLV_GROUP_INFO		58
#define CSMP_TLV_TRANSFER_REQUEST	65
#define CSMP_TLV_IMAGE_BLOCK		67
#define CSMP_TLV_LOAD_REQUEST		68
#define CSMP_TLV_CANCEL_LOAD_REQUEST	69
#define CSMP_TLV_SET_BACKUP_REQUEST	70
#define CSMP_TLV_TRANSFER_RESPONSE	71
#define CSMP_TLV_LOAD_RESPONSE		72
#define CSMP_TLV_CANCEL_LOAD_RESPONSE	73
#define CSMP_TLV_SET_BACKUP_RESPONSE	74
#define CSMP_TLV_FIRMWARE_IMAGE_INFO	75
#define CSMP_TLV_SIGNATURE_VALIDITY	76
#define CSMP_TLV_SIGNATURE		77
#define CSMP_TLV_SIGNATURE_SETTINGS	79
#define CSMP_TLV_VENDOR			127

/* DeviceID.type: 1 = EUI-64. */
#define CSMP_DEVICE_ID_EUI64		1

/* CGMSNotification codes (agent csmp.h). */
#define CSMP_NOTIFY_OK			0
#define CSMP_NOTIFY_COAP_ERROR		1
#define CSMP_NOTIFY_SIG_ERROR		2
#define CSMP_NOTIFY_PROC_ERROR		3

/*
 * Firmware response codes (TransferResponse, LoadResponse, ...): the
 * draft's 0-9 and the OpenCSMP agent's 10-13 (csmp-firmware.md).
 */
#define CSMP_FW_OK			0
#define CSMP_FW_INCOMPATIBLE_HW		1
#define CSMP_FW_IMAGE_INCOMPLETE	2
#define CSMP_FW_UNKNOWN_HASH		3
#define CSMP_FW_FILE_SIZE_TOO_BIG	4
#define CSMP_FW_SIGNATURE_FAILED	5
#define CSMP_FW_INVALID_REQ		6
#define CSMP_FW_INVALID_BLOCK_SIZE	7
#define CSMP_FW_PENDING_REBOOT		8
#define CSMP_FW_IMAGE_RUNNING		9
#define CSMP_FW_NO_VOLUME		10
#define CSMP_FW_DUP_XFER		11
#define CSMP_FW_MATCH_RUN		12
#define CSMP_FW_MATCH_BAK		13

/* FirmwareImageInfo.index: the agent's three slots. */
#define CSMP_FW_SLOT_RUN		1
#define CSMP_FW_SLOT_UPLOAD		2
#define CSMP_FW_SLOT_BACKUP		3

/* Group types. */
#define CSMP_GROUP_CONFIG		1
#define CSMP_GROUP_FIRMWARE		2

#endif /* CSMP_WIRE_H */
