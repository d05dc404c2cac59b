/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * libcsmp, the CSMP wire library: the one header a program includes. It
 * pulls in the freestanding walk shared with the kernel module
 * (include/csmp/: wire constants, reasons, the CoAP and TLV walk, the
 * classifier), the protobuf-c messages generated from proto/csmp.proto, and
 * the userspace API built on them:
 *
 *   arena.h    per-worker ProtobufCAllocator: decoding costs no malloc
 *   coapmsg.h  CoAP encoder, decoder accessors, TLV-id lists (q=1+2+e5771.127)
 *   tlvmsg.h   TLV writer (minimal or the agent's padded lengths, both vendor
 *              forms), TLV lookup, the TLV id -> message table, decoding
 *   pbjson.h   JSON of any decoded message, driven by the descriptors
 *   eid.h      EID text form, EUI-64 <-> modified EUI-64 interface id
 *   frame.h    captured frames (Ethernet/VLAN/SLL/raw, IPv4/IPv6) to UDP
 *   names.h    names of reasons, message classes, steering keys, CoAP codes
 *
 * Every function returns 0 (or a length/count) on success and -errno on
 * failure; where a wire reason exists (enum csmp_reason) it is recorded too.
 */
#ifndef LIBCSMP_CSMP_H
#define LIBCSMP_CSMP_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>
#include <protobuf-c/protobuf-c.h>

#include "csmp/wire.h"
#include "csmp/reason.h"
#include "csmp/coap.h"
#include "csmp/tlv.h"
#include "csmp/classify.h"
#include "csmp.pb-c.h"

#include "arena.h"
#include "coapmsg.h"
#include "tlvmsg.h"
#include "pbjson.h"
#include "eid.h"
#include "frame.h"
#include "names.h"
#include "hostport.h"

#endif /* LIBCSMP_CSMP_H */
