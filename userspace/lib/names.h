/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Names for the numbers of include/csmp/reason.h and for CoAP header
 * fields, as they appear in metrics labels, logs and JSON. A value without
 * a name (never assigned) reads "unknown".
 */
#ifndef LIBCSMP_NAMES_H
#define LIBCSMP_NAMES_H

#include <stdint.h>

/* "coap_tkl", "tlv_varint", ... (lower case, no prefix). */
const char *csmp_reason_name(unsigned int reason);
/* "registration", "report", ... */
const char *csmp_msg_class_name(unsigned int cls);
/* "reply_port", "session", ... */
const char *csmp_steer_key_name(unsigned int key);
/* "CON", "NON", "ACK", "RST". */
const char *csmp_coap_type_name(unsigned int type);
/* "2.03" into out[5]; returns out. */
char *csmp_coap_code_str(uint8_t code, char *out);
/* "Valid", "Content", "GET", ...; "unknown" for unassigned codes. */
const char *csmp_coap_code_name(uint8_t code);

/* Reverse lookups: the value, or -ENOENT. */
int csmp_reason_by_name(const char *name);

#endif /* LIBCSMP_NAMES_H */
