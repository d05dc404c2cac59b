/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The contract between the steering programs (bpf/csmp_lb.bpf.c,
 * csmp_reuseport.bpf.c, csmp_srcfix.bpf.c) and their userspace (libcsmp lb.c,
 * csmpctl lb, csmpd): map names, pin paths, map key/value layouts and the
 * configuration record. Every map is pinned by name under CSMP_LB_PIN_ROOT
 * (or a test's own directory) and BTF-typed, so `bpftool map dump pinned
 * /sys/fs/bpf/csmp/csmp_stats` prints these field names: bpftool is an
 * operator interface, and these layouts are its schema. Change them only
 * by adding fields at the end and bumping CSMP_LB_ABI.
 *
 * Includes nothing; the includer provides __u8..__u64.
 */
#ifndef CSMP_LB_H
#define CSMP_LB_H

#define CSMP_LB_ABI		2	/* 2: csmp_table direct, n_pins, table_half */
#define CSMP_LB_PIN_ROOT	"/sys/fs/bpf/csmp"

/*
 * Map names (<= 15 characters, the kernel keeps no more). The BPF side uses
 * them as identifiers, userspace stringifies them (CSMP_STR) for pin paths.
 * Who writes / who reads each map is said at its definition in bpf/.
 */
#define CSMP_MAP_CFG		csmp_lb_cfg	/* struct csmp_lb_config */
#define CSMP_MAP_VIPS		csmp_vips	/* csmp_addr -> __u32 */
#define CSMP_MAP_BACKENDS	csmp_backends	/* id -> csmp_backend */
#define CSMP_MAP_TABLE		csmp_table	/* two Maglev tables, one array */
#define CSMP_MAP_PORTS		csmp_ports	/* reply port -> csmp_port */
#define CSMP_MAP_PINS		csmp_pins	/* EID -> csmp_pin */
#define CSMP_MAP_LEARNED	csmp_learned	/* csmp_addr -> EID (LRU) */
#define CSMP_MAP_STORM		csmp_storm	/* EID -> csmp_bucket (LRU) */
#define CSMP_MAP_BUDGET		csmp_budget	/* [0] -> csmp_budget */
#define CSMP_MAP_STATS		csmp_stats	/* reason -> csmp_count (pcpu) */
#define CSMP_MAP_STEER		csmp_steer	/* steer key -> csmp_count */
#define CSMP_MAP_CLASSES	csmp_classes	/* msg class -> csmp_count */
#define CSMP_MAP_BSTATS		csmp_bstats	/* backend -> csmp_count */
#define CSMP_MAP_SCRATCH	csmp_scratch	/* per-CPU parse buffer */
#define CSMP_MAP_FIBC		csmp_fib_cache	/* per-CPU next hop per backend */
#define CSMP_MAP_WORKERS	csmp_workers	/* reuseport socket array */
#define CSMP_MAP_RP_STATS	csmp_rp_stats	/* reason -> csmp_count */
#define CSMP_MAP_RP_STEER	csmp_rp_steer	/* steer key -> csmp_count */
#define CSMP_MAP_RP_WCOUNT	csmp_rp_wcount	/* worker -> csmp_count */
#define CSMP_MAP_SRCFIX		csmp_sf_addrs	/* csmp_addr -> csmp_srcfix_cfg */
#define CSMP_MAP_SF_STATS	csmp_sf_stats	/* reason -> csmp_count */

#define CSMP_XSTR(x)		#x
#define CSMP_STR(x)		CSMP_XSTR(x)

/* Sizes. Backend ids are the SessionID's 4 hex digits, but bounded. */
#define CSMP_LB_MAX_BACKENDS	4096	/* ids 1..4095; 0 = none */
#define CSMP_LB_MAX_VIPS	64
#define CSMP_LB_MAX_PINS	65536
#define CSMP_LB_MAX_LEARNED	(1 << 20)
#define CSMP_LB_MAX_STORM	(1 << 20)
#define CSMP_LB_MAX_WORKERS	256
#define CSMP_LB_SCRATCH		CSMP_MAX_DGRAM	/* needs wire.h */

/* An address: IPv6, or IPv4 mapped (::ffff:a.b.c.d). Network order. */
struct csmp_addr {
	__u8 a[16];
};
_Static_assert(sizeof(struct csmp_addr) == 16, "csmp_addr is map ABI");

/* csmp_vips value bits. */
#define CSMP_VIP_F_ACTIVE	0x1

enum csmp_backend_state {
	CSMP_BE_DOWN		= 0,	/* nothing reaches it */
	CSMP_BE_ACTIVE		= 1,	/* in the Maglev table */
	CSMP_BE_DRAINING	= 2,	/* session tokens, reply ports, pins */
};

struct csmp_backend {
	struct csmp_addr addr;	/* tunnel endpoint (IPv6) */
	__u32 state;		/* enum csmp_backend_state */
	__u32 weight;		/* Maglev weight, 1..CSMP_MAGLEV_MAX_WEIGHT */
};
_Static_assert(sizeof(struct csmp_backend) == 24, "csmp_backend is map ABI");

#define CSMP_MAGLEV_MAX_WEIGHT	1000

/* csmp_ports: reply port -> backend that owns the port's block. */
struct csmp_port {
	__u16 backend;		/* 0 = no owner */
	__u16 pad;
};
_Static_assert(sizeof(struct csmp_port) == 4, "csmp_port is map ABI");

/* csmp_pins: operator override, EID -> backend. */
struct csmp_pin {
	__u16 backend;
	__u16 pad;
};
_Static_assert(sizeof(struct csmp_pin) == 4, "csmp_pin is map ABI");

/* Token bucket: tokens in milli-tokens, refilled from the elapsed time. */
struct csmp_bucket {
	__u64 ts_ns;		/* last refill */
	__u64 mtokens;		/* 1000 = one registration */
};
_Static_assert(sizeof(struct csmp_bucket) == 16, "csmp_bucket is map ABI");

/* The global registration budget, shared by every CPU under its lock. */
struct csmp_budget {
	struct bpf_spin_lock lock;
	__u32 pad;
	struct csmp_bucket b;
};
_Static_assert(sizeof(struct csmp_budget) == 24, "csmp_budget is map ABI");

/* Per-CPU counters: summed over CPUs by readers. */
struct csmp_count {
	__u64 packets;
	__u64 bytes;
};
_Static_assert(sizeof(struct csmp_count) == 16, "csmp_count is map ABI");

enum csmp_lb_mode {
	CSMP_LB_MODE_ENCAP	= 0,	/* ip6ip6 to the owning backend */
	CSMP_LB_MODE_LOCAL	= 1,	/* filter, rate-limit, XDP_PASS */
};

/* csmp_lb_cfg[0], written by the loader / csmpctl, read per packet. */
struct csmp_lb_config {
	struct csmp_addr lb_addr;	/* outer source of encapsulated frames */
	__u64 k0, k1;			/* SipHash key (siphash.h byte order) */
	__u16 port;			/* CSMP ports, host order */
	__u16 port_alt;
	__u16 reply_lo;			/* reply-port range, inclusive */
	__u16 reply_hi;
	__u32 mode;			/* enum csmp_lb_mode */
	__u32 flags;			/* CSMP_LB_F_* */
	__u32 eid_rate;			/* registrations/s per EID (milli) */
	__u32 eid_burst;		/* bucket depth (milli) */
	__u32 global_rate;		/* registrations/s per LB (milli) */
	__u32 global_burst;
	__u32 generation;		/* table generation, for operators */
	__u32 hop_limit;		/* outer hop limit */
	__u32 n_pins;			/* entries in csmp_pins: 0 skips the lookup */
	__u32 table_half;		/* 0/1: the csmp_table half in use */
};
_Static_assert(sizeof(struct csmp_lb_config) == 80, "csmp_lb_config is map ABI");

/*
 * csmp_table: backend id per Maglev slot, two tables in one array. The
 * table in use is [table_half * CSMP_MAGLEV_M, + CSMP_MAGLEV_M); lb.c writes
 * the other half whole, then flips table_half in csmp_lb_cfg with one
 * update, so a packet sees the old table or the new one, never a mix, and
 * finds its slot with a single lookup.
 */
#define CSMP_LB_TABLE_ENTRIES	(2 * CSMP_MAGLEV_M)	/* needs siphash.h */

#define CSMP_LB_F_ENABLED	0x1	/* off: everything passes */
#define CSMP_LB_F_LEARN		0x2	/* learn source -> EID bindings */

/* A rate of 0 means "no limit". */

/*
 * csmp_reuseport's configuration, a `const volatile` of the program set by
 * the loader (one program per reuseport group: each group has its own
 * socket array). Worker = csmp_bucket_worker(csmp_eid_bucket(k0, k1, EID),
 * n_workers) (steer.h), the function csmpd shards its registry on, so a
 * device keeps its worker while the group keeps its size.
 */
struct csmp_rp_config {
	__u64 k0, k1;		/* csmpd's bucket key (siphash.h byte order) */
	__u32 n_workers;	/* sockets in the group, slot = worker index */
	__u32 flags;		/* none yet */
};
_Static_assert(sizeof(struct csmp_rp_config) == 24, "csmp_rp_config is ABI");

/*
 * TC egress source fix: csmp_sf_addrs maps a third-party head-end's own
 * source address (key) to the VIP its CSMP replies must come from. IPv4
 * entries use mapped addresses on both sides; a family never changes.
 */
struct csmp_srcfix_cfg {
	struct csmp_addr vip;	/* what devices addressed */
	__u16 port;		/* CSMP ports, host order: replies come from these */
	__u16 port_alt;		/* 0 = only `port` */
	__u32 flags;		/* none yet */
};
_Static_assert(sizeof(struct csmp_srcfix_cfg) == 24, "csmp_srcfix_cfg is map ABI");

#define CSMP_SRCFIX_MAX		256	/* entries of csmp_sf_addrs */

#endif /* CSMP_LB_H */
