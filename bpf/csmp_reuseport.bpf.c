// SPDX-License-Identifier: GPL-2.0-only
/*
 * csmp_reuseport: the sk_reuseport program of a head-end node
 * (ARCHITECTURE.md §1). csmpd opens one SO_REUSEPORT UDP socket per worker
 * for each listening address; this program, attached to the group, puts
 * every datagram on the socket of the worker that owns the device, so the
 * worker's registry shard is never touched by another thread. The owner is
 * the one steer.h defines and csmpd shards on: the SessionID's bucket for a
 * report, the keyed hash of the DeviceID's EID for everything that carries
 * one, and the source address (modified EUI-64 interface id, else a fold
 * of the address) for the rest, malformed datagrams included (csmpd counts
 * and drops those itself, so they are never dropped here).
 *
 * Sockets sit in a REUSEPORT_SOCKARRAY at the index of their worker. A
 * worker that restarts puts its new socket back at the same index, so no
 * device changes owner; while the slot is empty the kernel's own hash
 * picks a socket (counted as CSMP_R_NO_WORKER) and csmpd hands the
 * datagram to its owner.
 *
 * Under sk_reuseport the packet starts at the UDP header (the IP header is
 * already pulled; ctx->len is the UDP length, which the program checks
 * against the header before trusting the layout), and the source address
 * is read relative to the network header. The program uses only helpers
 * of 6.1 (bpf_loop, bpf_skb_load_bytes[_relative], bpf_sk_select_reuseport);
 * no kernel offers kfuncs to sk_reuseport programs, so the classifier is
 * the BPF one of lib/csmp_parse.h.
 */
#include "lib/csmp_common.h"
#include "lib/csmp_pkt.h"
#include "lib/csmp_parse.h"

char LICENSE[] SEC("license") = "GPL";

/* Set by the loader (reuseport.c) before load; zero n_workers: no steering. */
const volatile struct csmp_rp_config rp_cfg = {};

/*
 * The group's sockets, index = worker: written by the loader and by a
 * restarting worker, read here. Not pinned: it belongs to one group.
 */
struct {
	__uint(type, BPF_MAP_TYPE_REUSEPORT_SOCKARRAY);
	__uint(max_entries, CSMP_LB_MAX_WORKERS);
	__type(key, __u32);
	__type(value, __u64);
} CSMP_MAP_WORKERS SEC(".maps");

/* Counters, written here, read by csmpctl/bpftool and the tests. Pinned by
 * name, so every group of a node adds to the same ones. */
CSMP_COUNTERS(CSMP_MAP_RP_STATS, CSMP_R__MAX);
CSMP_COUNTERS(CSMP_MAP_RP_STEER, CSMP_K__MAX);
CSMP_COUNTERS(CSMP_MAP_RP_WCOUNT, CSMP_LB_MAX_WORKERS);

/* The fallback classifier's copy and walk state (lib/csmp_parse.h), per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct csmp_scratch);
} CSMP_MAP_SCRATCH SEC(".maps");

/* The datagram's source as a csmp_addr (IPv4 mapped); -1 if unreadable. */
static __always_inline int rp_source(struct sk_reuseport_md *ctx,
				     struct csmp_addr *src)
{
	__be32 v4;

	if (ctx->eth_protocol == bpf_htons(ETH_P_IPV6))
		return bpf_skb_load_bytes_relative(ctx,
				__builtin_offsetof(struct ipv6hdr, saddr), src->a, 16,
				BPF_HDR_START_NET) ? -1 : 0;
	if (ctx->eth_protocol == bpf_htons(ETH_P_IP)) {
		if (bpf_skb_load_bytes_relative(ctx,
				__builtin_offsetof(struct iphdr, saddr), &v4, 4,
				BPF_HDR_START_NET))
			return -1;
		csmp_v4_mapped(src, v4);
		return 0;
	}
	return -1;
}

/*
 * Classify the UDP payload into the scratch record. Returns the reason
 * (CSMP_R_OK when it parsed); s->st.c is valid only then.
 */
static __always_inline __u32 rp_classify(struct sk_reuseport_md *ctx,
					 struct csmp_scratch *s)
{
	struct udphdr uh;
	__u32 len;

	if (bpf_skb_load_bytes(ctx, 0, &uh, sizeof(uh)))
		return CSMP_R_UDP_TRUNC;
	/* The layout this program assumes: data starts at the UDP header. */
	if (bpf_ntohs(uh.len) != ctx->len || ctx->len < sizeof(uh))
		return CSMP_R_UDP_LEN;
	len = ctx->len - sizeof(uh);
	if (len > CSMP_MAX_DGRAM)
		return CSMP_R_COAP_OVERSIZE;
	if (len < CSMP_COAP_HDR_LEN)
		return CSMP_R_COAP_SHORT;
	if (bpf_skb_load_bytes(ctx, sizeof(uh), s->buf, len))
		return CSMP_R_UDP_TRUNC;
	csmp_bpf_classify(s, len);
	if (s->st.c.msg_class == CSMP_C_MALFORMED)
		return s->st.c.reason;
	return CSMP_R_OK;
}

/* The bucket of the SessionID the walk recorded, when it is csmpd's form. */
static __always_inline int rp_session_bucket(const struct csmp_scratch *s,
					     __u32 *bucket)
{
	__u8 c[CSMP_SESSION_BUCKET_HEX];
	__u32 o = s->st.sid_off + CSMP_SESSION_BUCKET_OFF, i;

	if (s->st.sid_len != CSMP_SESSION_LEN)
		return -1;
	for (i = 0; i < CSMP_SESSION_BUCKET_HEX; i++)
		c[i] = csmp_rd(s, o + i);
	return csmp_session_bucket4(c, bucket);
}

SEC("sk_reuseport")
int csmp_reuseport(struct sk_reuseport_md *ctx)
{
	__u32 zero = 0, reason, key = CSMP_K_NONE, bucket = 0, worker;
	__u64 bytes = ctx->len, eid;
	struct csmp_scratch *s;
	struct csmp_class *c;
	struct csmp_addr src;

	if (!rp_cfg.n_workers)
		return SK_PASS;
	s = bpf_map_lookup_elem(&CSMP_MAP_SCRATCH, &zero);
	if (!s)
		return SK_PASS;
	c = &s->st.c;

	reason = ctx->ip_protocol == IPPROTO_UDP ? rp_classify(ctx, s) :
						   CSMP_R_NOT_CSMP;
	if (reason == CSMP_R_OK) {
		/* csmpd routes reports on the SessionID, the rest on the EID. */
		if (c->msg_class == CSMP_C_REPORT &&
		    !rp_session_bucket(s, &bucket)) {
			key = CSMP_K_SESSION;
			goto select;
		}
		if (c->flags & CSMP_CF_EID) {
			key = CSMP_K_DEVICE_ID;
			bucket = csmp_eid_bucket(rp_cfg.k0, rp_cfg.k1, c->eid);
			goto select;
		}
		if (!rp_session_bucket(s, &bucket)) {
			key = CSMP_K_SESSION;
			goto select;
		}
	}
	if (rp_source(ctx, &src)) {
		/* Cannot happen for UDP over IP: leave it to the kernel. */
		csmp_count(&CSMP_MAP_RP_STEER, CSMP_K_NONE, bytes);
		csmp_count(&CSMP_MAP_RP_STATS, reason < CSMP_R__MAX ? reason : 0,
			   bytes);
		return SK_PASS;
	}
	eid = csmp_addr_eid(src.a, &key);
	bucket = csmp_eid_bucket(rp_cfg.k0, rp_cfg.k1, eid);

select:
	worker = csmp_bucket_worker(bucket, rp_cfg.n_workers);
	csmp_count(&CSMP_MAP_RP_STATS, reason < CSMP_R__MAX ? reason : 0, bytes);
	if (bpf_sk_select_reuseport(ctx, &CSMP_MAP_WORKERS, &worker, 0)) {
		/* The owner's slot is empty (restarting): the kernel picks. */
		csmp_count(&CSMP_MAP_RP_STATS, CSMP_R_NO_WORKER, bytes);
		return SK_PASS;
	}
	csmp_count(&CSMP_MAP_RP_STEER, key & (CSMP_K__MAX - 1), bytes);
	csmp_count(&CSMP_MAP_RP_WCOUNT, worker & (CSMP_LB_MAX_WORKERS - 1),
		   bytes);
	return SK_PASS;
}
