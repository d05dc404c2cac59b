// SPDX-License-Identifier: GPL-2.0-only
/*
 * csmp_lb: the XDP steering program of an LB host (ARCHITECTURE.md §1-§3).
 * CSMP datagrams to a VIP are classified (csmp.ko's kfunc, or the BPF
 * fallback of lib/csmp_parse.h), malformed ones dropped with their reason,
 * registrations rate-limited per EID and globally, and the rest steered to
 * the owning head-end by the keys of §2 in order (reply port, session
 * token, pin, DeviceID, learned binding, interface id, source hash), then
 * encapsulated IPv6-in-IPv6 (or 4-in-6) and sent out by XDP_TX or
 * XDP_REDIRECT towards the next hop bpf_fib_lookup gives. In `local` mode
 * the datagram passes to the local stack after the filter and the storm
 * control. Everything that is not CSMP to a VIP passes untouched.
 *
 * Every map is pinned by name (lb.h) and BTF-typed; userspace (libcsmp
 * lb.c, csmpctl lb) writes the configuration, VIPs, backends, reply ports,
 * pins and the Maglev table, and reads the counters.
 */
#include "lib/csmp_common.h"
#include "lib/ctx/xdp.h"
#include "lib/csmp_pkt.h"
#include "lib/csmp_walk.h"
#include "lib/csmp_parse.h"

char LICENSE[] SEC("license") = "GPL";

/* Set by the loader after probing BTF for csmp.ko's kfuncs. */
const volatile bool use_kfuncs = false;

/*
 * The in-place read of the steering TLV in encap mode (csmp_fast_class).
 * Off, every datagram takes the full walk: the tests compare the two
 * paths datagram by datagram, the bench times both.
 */
const volatile bool fast_path = true;

/*
 * How long a CPU reuses a backend's next hop (csmp_fib_cache) before it
 * asks bpf_fib_lookup again; 0 looks up every packet. The lookup is the
 * largest single cost of a steered packet (scripts/bench/xdp.sh), and a
 * route or neighbour change reaching the LB within this window is far
 * below the failover times of the routing protocols that cause it.
 */
const volatile __u64 fib_cache_ns = 100 * 1000 * 1000;

/* Configuration: written by lb.c at attach and by csmpctl, read per packet. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct csmp_lb_config);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} CSMP_MAP_CFG SEC(".maps");

/* VIPs: written by csmpctl lb attach; value CSMP_VIP_F_*. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CSMP_LB_MAX_VIPS);
	__type(key, struct csmp_addr);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} CSMP_MAP_VIPS SEC(".maps");

/* Backends by id: written by csmpctl lb backend, read to encapsulate. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, CSMP_LB_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct csmp_backend);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} CSMP_MAP_BACKENDS SEC(".maps");

/* The two Maglev tables (lb.h csmp_table): written by lb.c. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, CSMP_LB_TABLE_ENTRIES);
	__type(key, __u32);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} CSMP_MAP_TABLE SEC(".maps");

/* Reply port -> backend whose request block it is: written by csmpctl. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, struct csmp_port);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} CSMP_MAP_PORTS SEC(".maps");

/* Operator pins, EID -> backend: written by csmpctl lb pin. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CSMP_LB_MAX_PINS);
	__type(key, __u64);
	__type(value, struct csmp_pin);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} CSMP_MAP_PINS SEC(".maps");

/* Source address -> EID of its last registration: written here. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, CSMP_LB_MAX_LEARNED);
	__type(key, struct csmp_addr);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} CSMP_MAP_LEARNED SEC(".maps");

/* Per-EID registration buckets: written here. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, CSMP_LB_MAX_STORM);
	__type(key, __u64);
	__type(value, struct csmp_bucket);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} CSMP_MAP_STORM SEC(".maps");

/* The global registration budget, one bucket under a lock. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct csmp_budget);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} CSMP_MAP_BUDGET SEC(".maps");

/*
 * A backend's next hop as bpf_fib_lookup last gave it on this CPU, reused
 * while it is younger than fib_cache_ns and the lookup's inputs (the
 * backend's and the LB's addresses, the ingress device) are the same.
 * max_len is the largest outer packet the lookup accepted: a larger one
 * asks again, so the MTU check is never skipped.
 */
struct csmp_fib_ent {
	__u64 dst[2];		/* struct csmp_addr, as words to compare */
	__u64 src[2];
	__u64 expires_ns;
	__u32 in_ifindex;
	__u32 out_ifindex;
	__u32 max_len;
	__u8 dmac[ETH_ALEN];
	__u8 smac[ETH_ALEN];
};
_Static_assert(sizeof(struct csmp_fib_ent) == 64, "csmp_fib_ent layout");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CSMP_LB_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct csmp_fib_ent);
} CSMP_MAP_FIBC SEC(".maps");

/*
 * Counters per reason, steering key, message class and backend: written
 * here, read by csmpctl lb stats and bpftool.
 */
CSMP_COUNTERS(CSMP_MAP_STATS, CSMP_R__MAX);
CSMP_COUNTERS(CSMP_MAP_STEER, CSMP_K__MAX);
CSMP_COUNTERS(CSMP_MAP_CLASSES, CSMP_C__MAX);
CSMP_COUNTERS(CSMP_MAP_BSTATS, CSMP_LB_MAX_BACKENDS);

/*
 * The fallback classifier's copy of the datagram and its walk state
 * (lib/csmp_parse.h), per CPU: written and read within one program run;
 * the tests read the last verdict back.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct csmp_scratch);
} CSMP_MAP_SCRATCH SEC(".maps");

static __always_inline int csmp_is_port(const struct csmp_lb_config *cfg,
					__u16 port)
{
	return port == cfg->port || port == cfg->port_alt;
}

/*
 * Token bucket in milli-tokens. Refill from the elapsed microseconds
 * (capped at 10 s, so the product cannot overflow), take one token. The
 * timestamp only moves when at least one milli-token was credited (or the
 * bucket is full): under a storm whose packets arrive faster than one
 * refill unit, moving it on every packet would throw the elapsed time away
 * and the bucket would never refill.
 */
static __always_inline int csmp_bucket_take(struct csmp_bucket *b, __u64 now,
					    __u32 rate, __u32 burst)
{
	__u64 us = (now - b->ts_ns) / 1000, add;

	if (us > 10000000)
		us = 10000000;
	add = us * rate / 1000000;
	if (add) {
		b->mtokens += add;
		b->ts_ns = now;
	}
	if (b->mtokens >= burst) {
		b->mtokens = burst;
		b->ts_ns = now;
	}
	if (b->mtokens < 1000)
		return 0;
	b->mtokens -= 1000;
	return 1;
}

/* Returns CSMP_R_OK or the storm reason. */
static __always_inline __u32 csmp_storm_check(const struct csmp_lb_config *cfg,
					const struct csmp_class *c)
{
	__u64 now;
	__u32 zero = 0;

	if (!cfg->eid_rate && !cfg->global_rate)
		return CSMP_R_OK;
	now = bpf_ktime_get_ns();
	if (cfg->eid_rate && (c->flags & CSMP_CF_EID)) {
		struct csmp_bucket *b = bpf_map_lookup_elem(&CSMP_MAP_STORM,
							    &c->eid);

		if (!b) {
			struct csmp_bucket nb = { .ts_ns = now,
						  .mtokens = cfg->eid_burst };

			bpf_map_update_elem(&CSMP_MAP_STORM, &c->eid, &nb,
					    BPF_NOEXIST);
			b = bpf_map_lookup_elem(&CSMP_MAP_STORM, &c->eid);
		}
		if (b && !csmp_bucket_take(b, now, cfg->eid_rate,
					   cfg->eid_burst))
			return CSMP_R_STORM_EID;
	}
	if (cfg->global_rate) {
		struct csmp_budget *g = bpf_map_lookup_elem(&CSMP_MAP_BUDGET,
							    &zero);
		int ok;

		if (!g)
			return CSMP_R_OK;
		bpf_spin_lock(&g->lock);
		if (!g->b.ts_ns) {
			g->b.ts_ns = now;
			g->b.mtokens = cfg->global_burst;
		}
		ok = csmp_bucket_take(&g->b, now, cfg->global_rate,
				      cfg->global_burst);
		bpf_spin_unlock(&g->lock);
		if (!ok)
			return CSMP_R_STORM_GLOBAL;
	}
	return CSMP_R_OK;
}

/*
 * Bind a registering source to its EID (csmp_learned). Devices re-register
 * from the address they had, so the binding is usually there already: the
 * lookup refreshes the LRU entry as an update would, and an LRU update
 * (a free node taken, the old one released) costs several times as much.
 */
static __always_inline void csmp_learn(const struct csmp_addr *src, __u64 eid)
{
	__u64 *have = bpf_map_lookup_elem(&CSMP_MAP_LEARNED, src);

	if (have && *have == eid)
		return;
	bpf_map_update_elem(&CSMP_MAP_LEARNED, src, &eid, BPF_ANY);
}

static __always_inline struct csmp_backend *csmp_backend_get(__u32 id,
							     __u32 min_state)
{
	struct csmp_backend *be;

	if (!id || id >= CSMP_LB_MAX_BACKENDS)
		return NULL;
	be = bpf_map_lookup_elem(&CSMP_MAP_BACKENDS, &id);
	if (!be || be->state == CSMP_BE_DOWN)
		return NULL;
	if (min_state == CSMP_BE_ACTIVE && be->state != CSMP_BE_ACTIVE)
		return NULL;
	return be;
}

static __always_inline __u64 csmp_hash(const struct csmp_lb_config *cfg,
				       __u64 eid)
{
	if (use_kfuncs)
		return bpf_csmp_eid_hash(eid);
	return csmp_eid_siphash(cfg->k0, cfg->k1, eid);
}

/* Maglev: the backend id of an EID's slot, 0 when there is no table. */
static __always_inline __u32 csmp_maglev(const struct csmp_lb_config *cfg,
					 __u64 eid)
{
	__u32 slot = (__u32)(csmp_hash(cfg, eid) % CSMP_MAGLEV_M), *id;

	if (cfg->table_half)
		slot += CSMP_MAGLEV_M;
	id = bpf_map_lookup_elem(&CSMP_MAP_TABLE, &slot);
	return id ? *id : 0;
}

/*
 * The EID a datagram speaks for, when the payload did not say it: the
 * learned binding of its source, the modified EUI-64 in the source's
 * interface id (the universal bit set: RFC 4291 App. A), or a pseudo-EID
 * from the whole source address.
 */
static __always_inline __u64 csmp_src_eid(const struct csmp_addr *src,
					  __u32 *key)
{
	__u64 *learned = bpf_map_lookup_elem(&CSMP_MAP_LEARNED, src);

	if (learned) {
		*key = CSMP_K_LEARNED;
		return *learned;
	}
	/* One rule for csmp_lb, csmp_reuseport and the library. */
	return csmp_addr_eid(src->a, key);
}

/* Steering (§2): the backend and the key that chose it, or NULL. */
static __always_inline struct csmp_backend *
csmp_steer_pick(const struct csmp_lb_config *cfg, const struct csmp_l4 *p,
	   const struct csmp_class *c, __u32 *key, __u32 *be_id, __u64 *eid_out)
{
	struct csmp_backend *be;
	struct csmp_pin *pin;
	__u32 id;
	__u64 eid;

	if (csmp_is_port(cfg, p->sport) && p->dport >= cfg->reply_lo &&
	    p->dport <= cfg->reply_hi) {
		__u32 port = p->dport;
		struct csmp_port *pt = bpf_map_lookup_elem(&CSMP_MAP_PORTS,
							   &port);

		if (pt && (be = csmp_backend_get(pt->backend, CSMP_BE_DRAINING))) {
			*key = CSMP_K_REPLY_PORT;
			*be_id = pt->backend;
			return be;
		}
	}
	if (c->flags & CSMP_CF_BACKEND) {
		be = csmp_backend_get(c->backend, CSMP_BE_DRAINING);
		if (be) {
			*key = CSMP_K_SESSION;
			*be_id = c->backend;
			return be;
		}
	}
	if (c->flags & CSMP_CF_EID) {
		eid = c->eid;
		*key = CSMP_K_DEVICE_ID;
	} else {
		eid = csmp_src_eid(&p->src, key);
	}
	*eid_out = eid;
	/* Usually there are no pins at all: then no hash lookup either. */
	pin = cfg->n_pins ? bpf_map_lookup_elem(&CSMP_MAP_PINS, &eid) : NULL;
	if (pin && (be = csmp_backend_get(pin->backend, CSMP_BE_DRAINING))) {
		*key = CSMP_K_PIN;
		*be_id = pin->backend;
		return be;
	}
	id = csmp_maglev(cfg, eid);
	*be_id = id;
	return csmp_backend_get(id, CSMP_BE_ACTIVE);
}

/*
 * An address of a map value (csmp_backend, csmp_lb_config: 8-byte aligned
 * at offset 0) as two words: a byte-wise compare or copy of a u8[16] costs
 * 16 loads and, worse, stack for their spills.
 */
static __always_inline const __u64 *csmp_addr_w(const struct csmp_addr *a)
{
	return (const __u64 *)a->a;
}

/* Where an encapsulated frame goes: bpf_fib_lookup's answer, cached or not. */
struct csmp_nh {
	__u8 dmac[ETH_ALEN];
	__u8 smac[ETH_ALEN];
	__u32 ifindex;
};

static __always_inline void csmp_nh_set(struct csmp_nh *nh, const __u8 *dmac,
					const __u8 *smac, __u32 ifindex)
{
	__builtin_memcpy(nh->dmac, dmac, ETH_ALEN);
	__builtin_memcpy(nh->smac, smac, ETH_ALEN);
	nh->ifindex = ifindex;
}

/*
 * The next hop towards backend `be_id` for an outer packet of `tot_len`
 * bytes: from this CPU's csmp_fib_cache entry when it still holds for these
 * inputs, else from bpf_fib_lookup (remembered when it succeeded). Returns
 * the lookup's BPF_FIB_LKUP_RET_*, *nh filled in on success.
 */
static __always_inline int csmp_next_hop(struct xdp_md *ctx,
					 const struct csmp_lb_config *cfg,
					 const struct csmp_backend *be,
					 __u32 be_id, __u32 tot_len,
					 __u8 l4_protocol, struct csmp_nh *nh)
{
	struct bpf_fib_lookup fib;
	struct csmp_fib_ent *e = NULL;
	__u64 now = 0;
	int rc, same;

	if (fib_cache_ns)
		e = bpf_map_lookup_elem(&CSMP_MAP_FIBC, &be_id);
	same = e && e->in_ifindex == ctx->ingress_ifindex &&
	       e->dst[0] == csmp_addr_w(&be->addr)[0] &&
	       e->dst[1] == csmp_addr_w(&be->addr)[1] &&
	       e->src[0] == csmp_addr_w(&cfg->lb_addr)[0] &&
	       e->src[1] == csmp_addr_w(&cfg->lb_addr)[1];
	if (e) {
		/* Coarse: a tick of error does not matter to a 100 ms TTL. */
		now = bpf_ktime_get_coarse_ns();
		if (same && now < e->expires_ns) {
			if (tot_len <= e->max_len) {
				csmp_nh_set(nh, e->dmac, e->smac, e->out_ifindex);
				return BPF_FIB_LKUP_RET_SUCCESS;
			}
		} else {
			same = 0;
		}
	}

	__builtin_memset(&fib, 0, sizeof(fib));
	fib.family = AF_INET6;
	fib.ifindex = ctx->ingress_ifindex;
	fib.l4_protocol = l4_protocol;
	fib.tot_len = tot_len;
	__builtin_memcpy(fib.ipv6_src, cfg->lb_addr.a, 16);
	__builtin_memcpy(fib.ipv6_dst, be->addr.a, 16);
	rc = bpf_fib_lookup(ctx, &fib, sizeof(fib), 0);
	if (rc != BPF_FIB_LKUP_RET_SUCCESS)
		return rc;
	csmp_nh_set(nh, fib.dmac, fib.smac, fib.ifindex);
	if (!e)
		return rc;
	if (same) {
		/* Only a larger packet than before: widen, keep the age. */
		if (tot_len > e->max_len)
			e->max_len = tot_len;
	} else {
		e->dst[0] = csmp_addr_w(&be->addr)[0];
		e->dst[1] = csmp_addr_w(&be->addr)[1];
		e->src[0] = csmp_addr_w(&cfg->lb_addr)[0];
		e->src[1] = csmp_addr_w(&cfg->lb_addr)[1];
		e->in_ifindex = ctx->ingress_ifindex;
		e->expires_ns = now + fib_cache_ns;
		e->max_len = tot_len;
	}
	e->out_ifindex = fib.ifindex;
	__builtin_memcpy(e->dmac, fib.dmac, ETH_ALEN);
	__builtin_memcpy(e->smac, fib.smac, ETH_ALEN);
	return rc;
}

/*
 * Put an outer IPv6 header in front of the IP packet and address the frame
 * to the next hop. Returns the XDP verdict, or -1 with *reason set.
 */
static __always_inline int csmp_encap(struct xdp_md *ctx,
				      const struct csmp_lb_config *cfg,
				      const struct csmp_l4 *p,
				      const struct csmp_backend *be,
				      __u32 be_id, __u64 eid, __u32 *reason)
{
	struct csmp_nh nh;
	struct ethhdr eth;
	struct ipv6hdr *o;
	void *data, *data_end;
	__u32 vlan_hdr = 0, flow;
	int rc;

	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if (data + sizeof(eth) + 4 > data_end && p->vlan)
		return XDP_ABORTED;
	if (data + sizeof(eth) > data_end)
		return XDP_ABORTED;
	__builtin_memcpy(&eth, data, sizeof(eth));
	if (p->vlan) {
		if (data + sizeof(eth) + 4 > data_end)
			return XDP_ABORTED;
		__builtin_memcpy(&vlan_hdr, data + sizeof(eth), 4);
	}
	if (bpf_xdp_adjust_head(ctx, -(int)sizeof(struct ipv6hdr))) {
		*reason = CSMP_R_ENCAP;
		return -1;
	}
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if (p->vlan) {
		if (data + sizeof(eth) + 4 + sizeof(*o) > data_end)
			return XDP_ABORTED;
		__builtin_memcpy(data + sizeof(eth), &vlan_hdr, 4);
		/* The outer packet is IPv6 whatever the inner one is. */
		*(__u16 *)(data + sizeof(eth) + 2) = bpf_htons(ETH_P_IPV6);
		o = data + sizeof(eth) + 4;
	} else {
		if (data + sizeof(eth) + sizeof(*o) > data_end)
			return XDP_ABORTED;
		o = data + sizeof(eth);
	}
	eth.h_proto = p->vlan ? eth.h_proto : bpf_htons(ETH_P_IPV6);

	/* A flow label per device gives ECMP between LB and head-end entropy. */
	flow = (__u32)(eid ^ (eid >> 20) ^ (eid >> 40)) & 0xfffff;
	o->version = 6;
	o->priority = 0;
	o->flow_lbl[0] = (__u8)(flow >> 16);
	o->flow_lbl[1] = (__u8)(flow >> 8);
	o->flow_lbl[2] = (__u8)flow;
	o->payload_len = bpf_htons((__u16)p->ip_len);
	o->nexthdr = p->ipv6 ? IPPROTO_IPV6 : IPPROTO_IPIP;
	o->hop_limit = cfg->hop_limit ? (__u8)cfg->hop_limit : 64;
	__builtin_memcpy(&o->saddr, cfg->lb_addr.a, 16);
	__builtin_memcpy(&o->daddr, be->addr.a, 16);

	rc = csmp_next_hop(ctx, cfg, be, be_id, sizeof(*o) + p->ip_len,
			   o->nexthdr, &nh);
	if (rc == BPF_FIB_LKUP_RET_NO_NEIGH) {
		/* Let the stack resolve the neighbour and forward it. */
		__builtin_memcpy(data, &eth, sizeof(eth));
		return XDP_PASS;
	}
	if (rc != BPF_FIB_LKUP_RET_SUCCESS) {
		*reason = CSMP_R_FIB;
		return -1;
	}
	__builtin_memcpy(eth.h_dest, nh.dmac, ETH_ALEN);
	__builtin_memcpy(eth.h_source, nh.smac, ETH_ALEN);
	__builtin_memcpy(data, &eth, sizeof(eth));
	if (nh.ifindex == ctx->ingress_ifindex)
		return XDP_TX;
	return bpf_redirect(nh.ifindex, 0);
}

/* Copy the payload and classify it: kfunc when present, BPF otherwise. */
static __always_inline int csmp_classify_pkt(struct xdp_md *ctx, __u32 off,
					     __u32 len, struct csmp_class *c)
{
	__u32 zero = 0;
	struct csmp_scratch *s = bpf_map_lookup_elem(&CSMP_MAP_SCRATCH, &zero);

	__builtin_memset(c, 0, sizeof(*c));
	if (!s)
		return -1;
	if (len > CSMP_MAX_DGRAM) {
		c->msg_class = CSMP_C_MALFORMED;
		c->reason = CSMP_R_COAP_OVERSIZE;
		return 0;
	}
	if (len < CSMP_COAP_HDR_LEN) {
		c->msg_class = CSMP_C_MALFORMED;
		c->reason = CSMP_R_COAP_SHORT;
		return 0;
	}
	if (bpf_xdp_load_bytes(ctx, off, s->buf, len))
		return -1;
	if (use_kfuncs) {
		bpf_csmp_classify(s->buf, len, c);
		/* The scratch holds the last verdict on both paths. */
		__builtin_memcpy(&s->st.c, c, sizeof(*c));
		return 0;
	}
	csmp_bpf_classify(s, len);
	__builtin_memcpy(c, &s->st.c, sizeof(*c));
	return 0;
}

/*
 * 16 hex digits (either case, as tlv.h csmp_eid_from_hex accepts) as
 * two big-endian words of 8 characters each, decoded 8 at a time: every
 * byte range-checked at once (no byte may carry bit 7, so the per-byte
 * sums below cannot carry into the next byte), then the nibbles packed.
 * Returns -1 unless all 8 characters are hex digits.
 */
static __always_inline int csmp_hex8(__u64 x, __u64 *out)
{
	const __u64 ones = 0x0101010101010101ULL;
	const __u64 hi = 0x8080808080808080ULL;
	__u64 l = x | 0x2020202020202020ULL, dig, let;

	if (x & hi)
		return -1;
	/* byte >= lo: bit 7 of byte + (0x80 - lo). */
	dig = (x + (0x80 - 0x30) * ones) & ~(x + (0x80 - 0x3a) * ones);
	let = (l + (0x80 - 0x61) * ones) & ~(l + (0x80 - 0x67) * ones);
	if (((dig | let) & hi) != hi)
		return -1;
	x = (x & 0x0f0f0f0f0f0f0f0fULL) + ((let & hi) >> 7) * 9;
	x = (x | (x >> 4)) & 0x00ff00ff00ff00ffULL;
	x = (x | (x >> 8)) & 0x0000ffff0000ffffULL;
	x = (x | (x >> 16)) & 0x00000000ffffffffULL;
	*out = x;
	return 0;
}

/* tlv.h csmp_session_backend: 4 leading lowercase hex digits. */
static __always_inline int csmp_hex4_lower(const __u8 *s, __u16 *out)
{
	__u32 v = 0, i;

#pragma unroll
	for (i = 0; i < CSMP_SESSION_BACKEND_HEX; i++) {
		__u8 ch = s[i];

		if (ch >= '0' && ch <= '9')
			v = (v << 4) | (ch - '0');
		else if (ch >= 'a' && ch <= 'f')
			v = (v << 4) | (ch - 'a' + 10);
		else
			return -1;
	}
	*out = (__u16)v;
	return 0;
}

/* The agent's shapes read in place: bytes after the Uri-Path option. */
#define CSMP_FP_HDR		3	/* 0xb1 <path> 0xff */
#define CSMP_FP_SID_MIN		9	/* 07 L L 0a l + 4 backend digits */
#define CSMP_FP_DEVID		20	/* DeviceID value: 08 01 12 10 + 16 hex */

/*
 * The fast path of encap mode: the two datagrams that make up the load,
 * read in place, without a copy and without the walk. The agent sends
 * every report as `NON POST /c` with the SessionID as the first TLV and
 * every registration as `CON POST /r` with the DeviceID first, each with
 * one Uri-Path option and nothing else before the payload. When the
 * datagram has exactly that shape up to the end of the steering TLV, the
 * checks the full walk would make on those bytes are made here, byte for
 * byte the same, and the class, the session backend or the EID are the
 * walk's. Returns 1 with *c filled in, or 0: the full walk decides.
 *
 * What the fast path does not look at is the rest of the payload (the
 * TLVs after the steering one): a datagram broken only there is steered
 * like a good one, and its head-end, which parses every datagram, drops
 * and counts it with the same reason the walk would have given here
 * (README "csmp_lb: what is checked where"; selftests/bpf/test_csmp_lb.c
 * holds the malformed corpus with the verdict of each path). A second
 * SessionID or DeviceID later in the payload is not seen either: the
 * fast path steers on the first, as csmpd reads it.
 */
static __always_inline int csmp_fast_class(struct xdp_md *ctx, __u32 off,
					   __u32 len, struct csmp_class *c)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	const __u8 *h, *q, *v;
	__u32 tkl, pos, type, tl, ll;
	__u8 b0;

	if (off > 0xffff || len > CSMP_MAX_DGRAM)
		return 0;
	h = data + off;
	if ((void *)(h + CSMP_COAP_HDR_LEN) > end)
		return 0;
	b0 = h[0];
	tkl = b0 & 15;
	if ((b0 >> 6) != CSMP_COAP_VERSION || tkl > CSMP_COAP_MAX_TKL ||
	    h[1] != CSMP_COAP_POST)
		return 0;
	pos = CSMP_COAP_HDR_LEN + tkl;
	q = h + pos;
	if ((void *)(q + CSMP_FP_HDR + CSMP_FP_SID_MIN) > end)
		return 0;
	if (q[0] != ((CSMP_COAP_OPT_URI_PATH << 4) | 1) || q[2] != CSMP_COAP_MARKER)
		return 0;
	type = (b0 >> 4) & 3;
	c->coap_type = (__u8)type;
	c->coap_code = CSMP_COAP_POST;
	c->mid = (__u16)((h[2] << 8) | h[3]);
	c->flags = tkl ? CSMP_CF_TOKEN : 0;
	c->payload_off = (__u16)(pos + CSMP_FP_HDR);
	c->n_tlvs = 1;
	pos += CSMP_FP_HDR;

	if (q[1] != 'c' && q[1] != 'r')
		return 0;
	if ((q[1] == 'c') != (type == CSMP_COAP_NON) ||
	    (q[1] == 'r') != (type == CSMP_COAP_CON))
		return 0;
	q += CSMP_FP_HDR;
	/*
	 * The TLV length: one varint byte, or two (the agent writes every
	 * length in two, the second 0: non-minimal, which the walk flags).
	 */
	tl = q[1];
	ll = 1;
	if (tl & 0x80) {
		if (q[2] & 0x80)
			return 0;
		tl = (tl & 0x7f) | ((__u32)q[2] << 7);
		ll = 2;
		if (!q[2])
			c->flags |= CSMP_CF_NONMINIMAL;
	}
	v = q + 1 + ll;
	if (pos + 1 + ll + tl > len)
		return 0;

	if (type == CSMP_COAP_NON) {
		__u32 sl;

		if ((void *)(v + 2 + CSMP_SESSION_BACKEND_HEX) > end)
			return 0;
		sl = v[1];
		if (q[0] != CSMP_TLV_SESSION_ID || v[0] != 0x0a ||
		    tl != sl + 2 || sl < 1 || sl > CSMP_SESSION_ID_MAX)
			return 0;
		c->first_tlv = CSMP_TLV_SESSION_ID;
		c->flags |= CSMP_CF_SESSION;
		if (sl >= CSMP_SESSION_BACKEND_HEX &&
		    !csmp_hex4_lower(v + 2, &c->backend))
			c->flags |= CSMP_CF_BACKEND;
		c->msg_class = CSMP_C_REPORT;
		return 1;
	} else {
		__u64 w0, w1, e0, e1;

		if ((void *)(v + CSMP_FP_DEVID) > end)
			return 0;
		if (q[0] != CSMP_TLV_DEVICE_ID || tl != CSMP_FP_DEVID ||
		    v[0] != 0x08 || v[1] != CSMP_DEVICE_ID_EUI64 ||
		    v[2] != 0x12 || v[3] != CSMP_EID_HEX_LEN)
			return 0;
		w0 = bpf_be64_to_cpu(*(const __u64 *)(v + 4));
		w1 = bpf_be64_to_cpu(*(const __u64 *)(v + 12));
		if (csmp_hex8(w0, &e0) || csmp_hex8(w1, &e1))
			return 0;
		c->first_tlv = CSMP_TLV_DEVICE_ID;
		c->eid = e0 << 32 | e1;
		c->flags |= CSMP_CF_EID;
		c->msg_class = CSMP_C_REGISTRATION;
		return 1;
	}
	return 0;
}

SEC("xdp")
int csmp_lb(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u64 bytes = data_end - data, eid = 0;
	struct csmp_lb_config *cfg;
	struct csmp_backend *be;
	struct csmp_class c;
	struct csmp_l4 p = {};
	__u32 zero = 0, reason, key = CSMP_K_NONE, be_id = 0;
	int w, act;

	cfg = bpf_map_lookup_elem(&CSMP_MAP_CFG, &zero);
	if (!cfg || !(cfg->flags & CSMP_LB_F_ENABLED))
		return XDP_PASS;

	w = csmp_walk(ctx, ETH_HLEN, &CSMP_MAP_VIPS, &p, &reason);
	if (w == CSMP_W_PASS)
		goto pass;
	if (w == CSMP_W_DROP)
		goto drop;
	if (!csmp_is_port(cfg, p.dport) &&
	    !(csmp_is_port(cfg, p.sport) && p.dport >= cfg->reply_lo &&
	      p.dport <= cfg->reply_hi)) {
		reason = CSMP_R_NOT_CSMP;
		goto pass;
	}
	if (!csmp_udp_len_ok(&p)) {
		reason = CSMP_R_UDP_LEN;
		goto drop;
	}

	/* local mode and the kfunc path keep the full classification. */
	__builtin_memset(&c, 0, sizeof(c));
	if ((!fast_path || use_kfuncs || cfg->mode == CSMP_LB_MODE_LOCAL ||
	     !csmp_fast_class(ctx, p.l4_off + sizeof(struct udphdr),
			      p.udp_len - sizeof(struct udphdr), &c)) &&
	    csmp_classify_pkt(ctx, p.l4_off + sizeof(struct udphdr),
			      p.udp_len - sizeof(struct udphdr), &c)) {
		reason = CSMP_R_L3_TRUNC;
		goto drop;
	}
	csmp_count(&CSMP_MAP_CLASSES, c.msg_class & (CSMP_C__MAX - 1), bytes);
	if (c.msg_class == CSMP_C_MALFORMED) {
		reason = c.reason;
		goto drop;
	}
	if (c.msg_class == CSMP_C_REGISTRATION) {
		reason = csmp_storm_check(cfg, &c);
		if (reason != CSMP_R_OK)
			goto drop;
		if ((cfg->flags & CSMP_LB_F_LEARN) && (c.flags & CSMP_CF_EID))
			csmp_learn(&p.src, c.eid);
	}
	if (cfg->mode == CSMP_LB_MODE_LOCAL) {
		reason = CSMP_R_OK;
		csmp_count(&CSMP_MAP_STATS, reason, bytes);
		return XDP_PASS;
	}

	be = csmp_steer_pick(cfg, &p, &c, &key, &be_id, &eid);
	if (!be) {
		reason = CSMP_R_NO_BACKEND;
		goto drop;
	}
	if (c.flags & CSMP_CF_EID)
		eid = c.eid;
	act = csmp_encap(ctx, cfg, &p, be, be_id, eid, &reason);
	if (act < 0)
		goto drop;
	csmp_count(&CSMP_MAP_STEER, key & (CSMP_K__MAX - 1), bytes);
	csmp_count(&CSMP_MAP_BSTATS, be_id & (CSMP_LB_MAX_BACKENDS - 1), bytes);
	csmp_count(&CSMP_MAP_STATS, CSMP_R_OK, bytes);
	return act;

pass:
	csmp_count(&CSMP_MAP_STATS, reason < CSMP_R__MAX ? reason : 0, bytes);
	return XDP_PASS;
drop:
	csmp_count(&CSMP_MAP_STATS, reason < CSMP_R__MAX ? reason : 0, bytes);
	return XDP_DROP;
}
