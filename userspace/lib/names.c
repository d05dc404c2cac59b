// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * Name tables for include/csmp/reason.h (the header's "mirrors") and for
 * CoAP header fields. Indexed by the enum values themselves, so a new value
 * without a name here prints as "unknown" rather than shifting the others.
 */
#include <errno.h>
#include <string.h>
#include "csmp.h"

static const char *const reason_names[CSMP_R__MAX] = {
	[CSMP_R_OK]			= "ok",
	[CSMP_R_NOT_CSMP]		= "not_csmp",
	[CSMP_R_L2_TRUNC]		= "l2_trunc",
	[CSMP_R_L3_TRUNC]		= "l3_trunc",
	[CSMP_R_IPV6_EXTHDR]		= "ipv6_exthdr",
	[CSMP_R_FRAGMENT]		= "fragment",
	[CSMP_R_UDP_TRUNC]		= "udp_trunc",
	[CSMP_R_UDP_LEN]		= "udp_len",
	[CSMP_R_IPV4_OPTIONS]		= "ipv4_options",
	[CSMP_R_VLAN]			= "vlan",
	[CSMP_R_COAP_SHORT]		= "coap_short",
	[CSMP_R_COAP_VERSION]		= "coap_version",
	[CSMP_R_COAP_TKL]		= "coap_tkl",
	[CSMP_R_COAP_TOKEN_TRUNC]	= "coap_token_trunc",
	[CSMP_R_COAP_OPT_RESERVED]	= "coap_opt_reserved",
	[CSMP_R_COAP_OPT_TRUNC]		= "coap_opt_trunc",
	[CSMP_R_COAP_EMPTY_PAYLOAD]	= "coap_empty_payload",
	[CSMP_R_COAP_CODE]		= "coap_code",
	[CSMP_R_COAP_TOO_MANY_OPTS]	= "coap_too_many_opts",
	[CSMP_R_COAP_PATH]		= "coap_path",
	[CSMP_R_COAP_OVERSIZE]		= "coap_oversize",
	[CSMP_R_TLV_VARINT]		= "tlv_varint",
	[CSMP_R_TLV_TRUNC]		= "tlv_trunc",
	[CSMP_R_TLV_TOO_MANY]		= "tlv_too_many",
	[CSMP_R_TLV_VENDOR]		= "tlv_vendor",
	[CSMP_R_DEVICE_ID]		= "device_id",
	[CSMP_R_SESSION_ID]		= "session_id",
	[CSMP_R_PB_MALFORMED]		= "pb_malformed",
	[CSMP_R_TLV_EMPTY]		= "tlv_empty",
	[CSMP_R_STORM_EID]		= "storm_eid",
	[CSMP_R_STORM_GLOBAL]		= "storm_global",
	[CSMP_R_NO_BACKEND]		= "no_backend",
	[CSMP_R_FIB]			= "fib",
	[CSMP_R_ENCAP]			= "encap",
	[CSMP_R_POLICY_REFUSED]		= "policy_refused",
	[CSMP_R_UNKNOWN_SESSION]	= "unknown_session",
	[CSMP_R_MISSING_TLV]		= "missing_tlv",
	[CSMP_R_DUPLICATE]		= "duplicate",
	[CSMP_R_NO_WORKER]		= "no_worker",
	[CSMP_R_REWRITE]		= "rewrite_failed",
	[CSMP_R_SIG_BAD]		= "sig_bad",
	[CSMP_R_SIG_EXPIRED]		= "sig_expired",
	[CSMP_R_SIG_NOT_YET]		= "sig_not_yet",
	[CSMP_R_SIG_UNKNOWN_KEY]	= "sig_unknown_key",
	[CSMP_R_SIG_MALFORMED]		= "sig_malformed",
	[CSMP_R_SIG_MISSING]		= "sig_missing",
};

static const char *const class_names[CSMP_C__MAX] = {
	[CSMP_C_UNKNOWN]	= "unknown",
	[CSMP_C_REGISTRATION]	= "registration",
	[CSMP_C_REPORT]		= "report",
	[CSMP_C_NOTIFICATION]	= "notification",
	[CSMP_C_ASYNC_REPLY]	= "async_reply",
	[CSMP_C_RESPONSE]	= "response",
	[CSMP_C_REQUEST]	= "request",
	[CSMP_C_MALFORMED]	= "malformed",
};

static const char *const key_names[CSMP_K__MAX] = {
	[CSMP_K_NONE]		= "none",
	[CSMP_K_REPLY_PORT]	= "reply_port",
	[CSMP_K_SESSION]	= "session",
	[CSMP_K_PIN]		= "pin",
	[CSMP_K_DEVICE_ID]	= "device_id",
	[CSMP_K_LEARNED]	= "learned",
	[CSMP_K_IID]		= "iid",
	[CSMP_K_SRC_HASH]	= "src_hash",
};

static const char *pick(const char *const *tab, unsigned int n, unsigned int i)
{
	return i < n && tab[i] ? tab[i] : "unknown";
}

const char *csmp_reason_name(unsigned int reason)
{
	return pick(reason_names, CSMP_R__MAX, reason);
}

int csmp_reason_by_name(const char *name)
{
	unsigned int i;

	for (i = 0; i < CSMP_R__MAX; i++)
		if (reason_names[i] && !strcmp(reason_names[i], name))
			return (int)i;
	return -ENOENT;
}

const char *csmp_msg_class_name(unsigned int cls)
{
	return pick(class_names, CSMP_C__MAX, cls);
}

const char *csmp_steer_key_name(unsigned int key)
{
	return pick(key_names, CSMP_K__MAX, key);
}

const char *csmp_coap_type_name(unsigned int type)
{
	static const char *const t[] = { "CON", "NON", "ACK", "RST" };

	return type < 4 ? t[type] : "unknown";
}

char *csmp_coap_code_str(uint8_t code, char *out)
{
	out[0] = (char)('0' + (code >> 5));
	out[1] = '.';
	out[2] = (char)('0' + (code & 31) / 10);
	out[3] = (char)('0' + (code & 31) % 10);
	out[4] = '\0';
	return out;
}

const char *csmp_coap_code_name(uint8_t code)
{
	switch (code) {
	case CSMP_COAP_EMPTY:		return "Empty";
	case CSMP_COAP_GET:		return "GET";
	case CSMP_COAP_POST:		return "POST";
	case CSMP_COAP_PUT:		return "PUT";
	case CSMP_COAP_DELETE:		return "DELETE";
	case CSMP_COAP_CODE(2, 1):	return "Created";
	case CSMP_COAP_CODE(2, 2):	return "Deleted";
	case CSMP_COAP_CODE(2, 3):	return "Valid";
	case CSMP_COAP_CODE(2, 4):	return "Changed";
	case CSMP_COAP_CODE(2, 5):	return "Content";
	case CSMP_COAP_CODE(4, 0):	return "Bad Request";
	case CSMP_COAP_CODE(4, 1):	return "Unauthorized";
	case CSMP_COAP_CODE(4, 2):	return "Bad Option";
	case CSMP_COAP_CODE(4, 3):	return "Forbidden";
	case CSMP_COAP_CODE(4, 4):	return "Not Found";
	case CSMP_COAP_CODE(4, 5):	return "Method Not Allowed";
	case CSMP_COAP_CODE(4, 6):	return "Not Acceptable";
	case CSMP_COAP_CODE(4, 12):	return "Precondition Failed";
	case CSMP_COAP_CODE(4, 13):	return "Request Entity Too Large";
	case CSMP_COAP_CODE(4, 15):	return "Unsupported Content-Format";
	case CSMP_COAP_CODE(5, 0):	return "Internal Server Error";
	case CSMP_COAP_CODE(5, 1):	return "Not Implemented";
	case CSMP_COAP_CODE(5, 2):	return "Bad Gateway";
	case CSMP_COAP_CODE(5, 3):	return "Service Unavailable";
	case CSMP_COAP_CODE(5, 4):	return "Gateway Timeout";
	case CSMP_COAP_CODE(5, 5):	return "Proxying Not Supported";
	default:			return "unknown";
	}
}
