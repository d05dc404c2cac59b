/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The per-CPU scratch record of the BPF programs' fallback classifier
 * (bpf/lib/csmp_parse.h): the copied datagram and the walk's state, ending
 * in the struct csmp_class the walk produced. Shared so that the BPF tests
 * can read the fallback's verdict back and compare it with csmp_classify()
 * field by field. Includer provides __u8..__u64 and struct csmp_class
 * (classify.h) and CSMP_MAX_DGRAM (wire.h).
 */
#ifndef CSMP_LB_PARSE_H
#define CSMP_LB_PARSE_H

struct csmp_pstate {
	__u32 len;		/* datagram length */
	__u32 phase;
	__u32 pos;		/* absolute position in buf */
	__u32 i;		/* iterations in the current walk */
	__u32 num;		/* CoAP option number */
	__u32 end;		/* end of the current sub-region */
	__u32 n_path;
	__u32 path0_len;
	__u32 path0_byte;
	__u32 has_devid;
	/* vendor TLV being tried in the draft form */
	__u32 v_type_end;	/* position after the 0x7f type */
	__u32 v_dpos;
	__u32 v_dlen;
	__u32 v_nonmin;
	/* protobuf walk of a DeviceID (2) or SessionID (7) value */
	__u32 pb_tlv;
	__u32 pb_f1_found;
	__u64 pb_f1_val;	/* DeviceID.type */
	__u32 pb_f2_found;	/* DeviceID.id / SessionID.id */
	__u32 pb_f2_off;
	__u32 pb_f2_len;
	__u32 pb_next;		/* TLV iterator position after the value */
	/* the first SessionID string, for steering on its bucket (steer.h) */
	__u32 sid_off;		/* position in buf */
	__u32 sid_len;		/* 0: no SessionID */
	struct csmp_class c;
};

struct csmp_scratch {
	__u8 buf[CSMP_MAX_DGRAM];
	struct csmp_pstate st;
};
_Static_assert(sizeof(struct csmp_pstate) == 120, "csmp_pstate layout");
_Static_assert(sizeof(struct csmp_scratch) == CSMP_MAX_DGRAM + 120,
	       "csmp_scratch layout");

#endif /* CSMP_LB_PARSE_H */
