/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * csmpd's core structures, in one place: the configuration the command line
 * (and later the config file) fills, the per-worker counters the control
 * socket and metrics expose, the per-device state, the worker with its
 * per-batch scratch, the I/O backend interface (io_uring or
 * recvmmsg/sendmmsg), and the functions each room of userspace/csmpd
 * offers the others (README.md there says who may call what).
 *
 * Threading model: every worker thread owns its sockets, its ring, its
 * counters and its shard of the device registry; nothing on the per-datagram
 * path takes a lock. A datagram that belongs to another shard is handed to
 * that shard's worker through its inbox (worker.c explains the routing).
 */
#ifndef CSMPD_H
#define CSMPD_H

#include <linux/types.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "csmp.h"
#include "csmp/reply.h"
#include "sig.h"
#include "conf/config.h"

/* ---- sizes ------------------------------------------------------------- */

#define CSMPD_MAX_LISTEN	8	/* --listen addresses */
#define CSMPD_MAX_SOCKS		(CSMPD_MAX_LISTEN + 1)	/* + request socket */
#define CSMPD_REQ_MAX		256	/* head-end requests in flight/worker */
#define CSMPD_MAX_WORKERS	256	/* <= 65536 routing buckets; wake mask */
#define CSMPD_BATCH		64	/* datagrams handled per batch */
#define CSMPD_TX_SLOTS		1024	/* replies in flight or parked */
#define CSMPD_PARK_MAX		256	/* answers waiting for a commit */
#define CSMPD_PARK_TIMEOUT_NS	(5 * 1000000000ull)	/* then withheld */
#define CSMPD_TX_MAX		1280	/* largest reply: the IPv6 minimum MTU */
#define CSMPD_ACK_CACHE_MAX	320	/* cached registration answer */
#define CSMPD_MAX_REPORT_TLVS	15	/* the agent keeps at most 15 ids */
#define CSMPD_DEV_TLV_TYPES	16	/* reported TLV types kept per device */
#define CSMPD_DEV_TLV_BYTES	1536	/* raw TLV bytes kept per device */
#define CSMPD_INBOX_SLOTS	1024	/* cross-shard hand-offs queued */
#define CSMPD_EXCHANGE_LIFETIME	247	/* RFC 7252 EXCHANGE_LIFETIME, s */
#define CSMPD_DRAIN_NS		(2 * 1000000000ull)	/* stop: max per phase */
#define CSMPD_ARENA_BYTES	(64 << 10)	/* decoded values of one message */

/* Receive buffer: recvmsg_out header + name + control + one datagram. A
 * datagram larger than CSMP_MAX_DGRAM shows up truncated (MSG_TRUNC). */
#define CSMPD_RX_CTRL		128
/* sockaddr_in6 (28 bytes) rounded up: the control messages the kernel
 * writes right after the name must be 8-byte aligned for CMSG_*. */
#define CSMPD_RX_NAME		32
#define CSMPD_RX_BUF		((16 + CSMPD_RX_NAME + CSMPD_RX_CTRL +         \
				  CSMP_MAX_DGRAM + 64 + 63) & ~63)

/* ---- addresses ---------------------------------------------------------- */

struct csmpd_addr {
	union {
		struct sockaddr sa;
		struct sockaddr_in in;
		struct sockaddr_in6 in6;
	};
	socklen_t len;
};

/* The local address a datagram was sent to (IPV6_PKTINFO / IP_PKTINFO). A
 * reply uses it as its source so it leaves from the VIP the device used. */
struct csmpd_local {
	sa_family_t family;	/* 0: no pktinfo was received */
	int ifindex;
	union {
		struct in6_addr a6;	/* AF_INET6; v4-mapped for IPv4 */
		struct in_addr a4;	/* AF_INET sockets */
	};
};

struct csmpd_listen {
	struct csmpd_addr addr;
	char text[64];		/* as given on the command line */
};

/* ---- configuration ------------------------------------------------------ */

enum csmpd_io_kind {
	CSMPD_IO_AUTO = 0,	/* io_uring, else mmsg when refused */
	CSMPD_IO_URING = 1,
	CSMPD_IO_MMSG = 2,
};

/*
 * Filled by conf/ (csmpd_conf_init) from the option table conf/options.def:
 * every option member below is named in that table, which owns its
 * parser, range and default; the [policy] options are in *policy.
 */
struct csmpd_config {
	struct csmpd_listen listen[CSMPD_MAX_LISTEN];
	unsigned int n_listen;
	unsigned int workers;
	enum csmpd_io_kind io;
	__u32 uring_bufs;		/* provided buffers per worker ring */
	const char *config_path;	/* --config FILE (argv's) */
	char *db_path;
	char *nms_key_path;		/* PEM private key */
	char *control_path;
	char *metrics_addr;		/* ADDR:PORT */
	char *events_path;		/* PATH|- */
	char *user;			/* run as, after binding */
	char *device_keys;		/* DIR: uplink keys */
	__u16 backend_id;		/* SessionID prefix */
	char *node_addr;		/* where LBs reach it; NULL: not offered */
	struct csmp_reply_block reply;	/* 0-0: ephemeral */
	unsigned int db_sync;		/* enum csmpd_db_sync */
	__u32 commit_interval_ms;
	__u32 commit_batch;
	__u32 report_interval;		/* ReportSubscribe.interval, s */
	__u32 report_tlvs[CSMPD_MAX_REPORT_TLVS];
	unsigned int n_report_tlvs;
	__u32 sig_lifetime;		/* SignatureValidity length, s */
	__u32 sig_slack;		/* notBefore = floor(now) - slack */
	__u32 sign_pool;		/* nonce pairs per worker, 0 = no pool */
	__u32 sign_pool_rate;		/* refill pairs/s at most, 0 = no cap */
	__u32 exchange_lifetime;	/* dedup window, s */
	int log_level;			/* print severities <= this */
	unsigned int log_target;	/* enum csmpd_log_target (sd.h) */
	bool foreground;
	bool unsigned_ok;		/* lab use only */
	bool steer_workers;		/* csmp_reuseport */
	char *steer_pin;		/* its counters' pin directory */
	/* With a registry: a registration is answered only once its record
	 * is committed (default); false answers at once. */
	bool ack_after_commit;
	/* The policy at start; the policy reference takes it over. */
	struct csmp_policy *policy;
	/* Re-reads the policy for a reload (conf/reader.c). */
	struct csmpd_conf_reader *reader;
};

/* ---- counters ----------------------------------------------------------- */

/*
 * One per worker (the fields: stats/counters.def), written only by that
 * worker with relaxed stores and read by anyone with relaxed loads
 * (csmpd_counters_sum): aligned 64-bit words,
 * so a reader never sees a torn value, and the fast path has no atomic
 * read-modify-write.
 */
struct csmpd_counters {
#define CSMPD_CTR(field, ...) __u64 field;
#define CSMPD_SHOW(...)
#include "stats/counters.def"
#undef CSMPD_CTR
#undef CSMPD_SHOW
	__u64 msg_class[CSMP_C__MAX];	/* by enum csmp_msg_class */
	__u64 reason[CSMP_R__MAX];	/* by enum csmp_reason */
};

#define CSMPD_INC(ctr, field) CSMPD_ADD(ctr, field, 1)
#define CSMPD_SET(ctr, field, v)                                               \
	__atomic_store_n(&(ctr)->field, (v), __ATOMIC_RELAXED)
#define CSMPD_ADD(ctr, field, n)                                               \
	__atomic_store_n(&(ctr)->field,                                        \
			 __atomic_load_n(&(ctr)->field, __ATOMIC_RELAXED) + (n), \
			 __ATOMIC_RELAXED)

/* ---- per-device state --------------------------------------------------- */

/* Latest value of each reported TLV type: raw TLV bytes (header included,
 * every instance of a table TLV), bounded per device. */
struct csmpd_tlv_entry {
	__u32 type;
	__u16 off;	/* in blob */
	__u16 len;
};

struct csmpd_device {
	__u64 eid;
	char session[CSMP_SESSION_ID_MAX + 1];
	__u8 session_len;
	__u8 has_group;		/* GroupInfo of type config seen */
	__u16 bucket;		/* routing bucket (SessionID chars 4..7) */
	__u32 group_id;		/* the device's config group (GroupInfo) */
	__u64 registered_at;	/* CLOCK_REALTIME s of the last 2.03 */
	__u64 last_seen;	/* CLOCK_REALTIME s of the last datagram */
	__u32 registrations;
	__u32 reports;
	struct csmpd_addr peer;	/* where the last datagram came from */
	struct csmpd_local via;	/* our address it was sent to (family 0:
				 * unknown, e.g. resumed from the registry) */

	/* Duplicate detection: the last answered registration, answered again
	 * byte for byte when the same MID comes from the same source within
	 * the exchange lifetime. One entry: the agent never retransmits and
	 * uses a new MID per attempt, so more would only cost memory. */
	__u64 ack_expire_ns;	/* CLOCK_MONOTONIC; 0: nothing cached */
	__u64 ack_peer;		/* hash of the source address and port */
	__u64 ack_seq;		/* its registry record; 0: none */
	__u16 ack_mid;
	__u16 ack_len;
	__u8 ack[CSMPD_ACK_CACHE_MAX];

	/* Latest reported TLVs. tlv_dirty: bit i set while tlvs[i] changed
	 * since it was last handed to persistence, which writes only those. */
	__u8 n_tlvs;
	__u16 tlv_used;
	__u16 tlv_cap;
	__u16 tlv_dirty;
	struct csmpd_tlv_entry tlvs[CSMPD_DEV_TLV_TYPES];
	__u8 *tlv_blob;
};

_Static_assert(CSMPD_DEV_TLV_TYPES <= 16, "tlv_dirty has a bit per type");

/* One shard of the registry: open addressing, owned by one worker. */
struct csmpd_shard {
	struct csmpd_device **by_eid;
	struct csmpd_device **by_session;
	__u32 cap;		/* power of two */
	__u32 n;
};

/* ---- datagrams in a batch ----------------------------------------------- */

#define CSMPD_RXF_TRUNC		0x1	/* datagram did not fit the buffer */
#define CSMPD_RXF_DROP		0x2	/* uplink verification refused it */

struct csmpd_rx {
	const __u8 *data;
	__u32 len;
	__u32 flags;		/* CSMPD_RXF_* */
	unsigned int sock;	/* index of the listening address */
	struct csmpd_addr peer;
	struct csmpd_local dst;	/* where it was sent: our reply's source */
	struct csmp_class cls;	/* filled once, by csmp_classify */
};

/* A reply: owned by the worker's pool until the backend has sent it. */
struct csmpd_tx {
	struct csmpd_tx *next;
	unsigned int sock;
	__u16 len;
	__u64 seq;		/* parked: the record it waits for */
	__u64 parked_ns;	/* parked: when (CLOCK_MONOTONIC) */
	struct csmpd_addr peer;
	struct csmpd_local src;
	struct msghdr msg;	/* built by csmpd_tx_msghdr */
	struct iovec iov;
	union {
		char buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
		struct cmsghdr align;
	} ctrl;
	__u8 buf[CSMPD_TX_MAX];
};

/* ---- I/O backends ------------------------------------------------------- */

struct csmpd_worker;

/*
 * A backend owns the receive/send system calls of one worker. run() loops
 * until the daemon stops: receive a batch, hand it to csmpd_batch() (which
 * queues replies on w->txq), send the queued replies in one go, and
 * process the worker's inbox when woken through w->evfd. On stop it drains:
 * what was received is processed and every queued reply is sent.
 */
struct csmpd_io_ops {
	const char *name;
	int (*setup)(struct csmpd_worker *w);	/* -errno; -ENOSYS etc.: fall back */
	int (*run)(struct csmpd_worker *w);
	void (*teardown)(struct csmpd_worker *w);	/* accepts half set-up */
};

extern const struct csmpd_io_ops csmpd_io_uring;
extern const struct csmpd_io_ops csmpd_io_mmsg;

/* ---- cross-shard hand-off ----------------------------------------------- */

struct csmpd_handoff {
	struct csmpd_rx rx;	/* rx.data points at data below */
	__u8 data[CSMP_MAX_DGRAM];
};

/* Bounded multi-producer queue into one worker. Producers are other
 * workers on the slow path (no affinity), so a mutex is fine here; the
 * owner checks `count` without the lock on every batch. */
struct csmpd_inbox {
	pthread_mutex_t lock;
	unsigned int head, count;
	struct csmpd_handoff *slots;	/* CSMPD_INBOX_SLOTS */
};

struct csmpd_daemon;
struct csmp_policy;
struct csmp_verifier;
struct csmp_keycache;

/* ---- worker and daemon -------------------------------------------------- */

struct csmpd_worker {
	struct csmpd_daemon *d;
	unsigned int idx;
	pthread_t thread;
	bool started;
	bool recv_done;		/* stopping: sockets drained */
	/* One per listening address, then the request socket (bound to
	 * this worker's reply port): answers to our requests land here. */
	int socks[CSMPD_MAX_SOCKS];
	unsigned int n_socks;
	int req_sock;			/* index in socks, -1: none */
	struct csmpd_reqs *reqs;	/* request.c */
	int evfd;			/* wakes the worker: inbox, stop */
	const struct csmpd_io_ops *io;
	void *io_priv;
	struct csmpd_counters ctr;
	struct csmpd_shard shard;
	struct csmpd_inbox inbox;

	/* Send pool: slots are taken while building replies, queued on txq,
	 * returned once sent. */
	struct csmpd_tx *tx_slots;
	struct csmpd_tx *tx_free;
	struct csmpd_tx *txq, **txq_tail;
	unsigned int txq_len;
	unsigned int tx_inflight;

	/* Registration answers waiting for their record's commit, oldest
	 * first (their sequences increase). commit_fd (-1: no registry)
	 * becomes readable after each commit of this worker's records; the
	 * backend waits on it while anything is parked. */
	struct csmpd_tx *parked, **parked_tail;
	unsigned int n_parked;
	int commit_fd;

	/* Per-batch time, read once. */
	__u64 now_ns;		/* CLOCK_MONOTONIC */
	__u64 now;		/* CLOCK_REALTIME, seconds */

	struct csmp_signer *signer;	/* NULL when running unsigned */
	struct csmp_arena arena;	/* protobuf-c decoding, per message */
	void *arena_buf;
	struct csmp_signer_stats sig_seen;	/* folded into ctr */
	__u8 scratch[CSMPD_TX_MAX + CSMPD_DEV_TLV_BYTES];
	__u64 session_seq;	/* disambiguates SessionID collisions */

	/* The policy snapshot, between csmpd_policy_enter() and
	 * csmpd_policy_leave(), which only the worker loop calls; NULL
	 * outside (conf/runtime.c). */
	const struct csmp_policy *policy;
	/* Uplink verification (proto/verify.c). */
	struct csmp_verifier *verifier;
	struct csmp_keycache *keycache;
	__u64 keycache_gen;	/* the key store's generation it mirrors */
};


struct csmpd_conf_state;
struct csmpd_keys;
struct csmpd_registry;
struct csmpd_ctl;
struct csmp_events;
struct csmp_metrics;

struct csmpd_daemon {
	struct csmpd_config cfg;
	const struct csmpd_io_ops *io;
	struct csmpd_worker *workers;
	unsigned int n_workers;
	/* SipHash key: EID -> routing bucket (worker.c). Random at start
	 * unless the registry restored it: the buckets are part of the
	 * SessionIDs, so a persisted registry must persist the key too. */
	__u64 bucket_key[2];
	char report_tlv_str[CSMPD_MAX_REPORT_TLVS][12];
	char *report_tlv_ptrs[CSMPD_MAX_REPORT_TLVS];	/* ReportSubscribe.tlvid */
	volatile int stop;	/* set by the signal handler */
	unsigned int receiving;	/* workers still reading their sockets */
	struct csmp_key *sign_key;	/* --nms-key; NULL: unsigned */
	int listen_claim[CSMPD_MAX_LISTEN];	/* server/sock.c: one csmpd
						 * per address */
	struct csmp_sigpool *sign_pool;	/* nonces for sign_key; NULL: none */

	/* Each room's own state; NULL where the room is not in use. */
	struct csmpd_conf_state *conf;	/* conf/runtime.c: file, policy */
	struct csmpd_keys *keys;	/* proto/keys.c: enrolled keys */
	struct csmpd_registry *reg;	/* registry/records.c: --db */
	struct csmp_events *events;	/* events.c: --events */
	struct csmpd_ctl *ctl;		/* ctl/commands.c: --control */
	struct csmp_metrics *metrics;	/* http/: --metrics */
};

/* ---- functions ---------------------------------------------------------- */

/* log.c: `%CSMP-<sev>-<MNEMONIC>: text` on stderr, rate-limited per
 * mnemonic. Severities as syslog: 0 emerg .. 7 debug. */
#define CSMPD_EMERG	0
#define CSMPD_ALERT	1
#define CSMPD_CRIT	2
#define CSMPD_ERR	3
#define CSMPD_WARNING	4
#define CSMPD_NOTICE	5
#define CSMPD_INFO	6
#define CSMPD_DEBUG	7
void csmpd_log_init(int level);
/*
 * csmpd_log(sev, MNEMONIC, fmt, ...): the arguments (address formatting
 * and the like) are evaluated only when the line passes the level and its
 * mnemonic's rate limit, so a suppressed line costs one bucket check on
 * the per-message path, not an inet_ntop and a vsnprintf.
 */
bool csmpd_log_admit(int sev, const char *mnemonic, __u64 *suppressed);
void csmpd_log_emit(int sev, const char *mnemonic, __u64 suppressed,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
#define csmpd_log(sev, mnemonic, ...)                                          \
	do {                                                                   \
		__u64 csmpd_sup_;                                              \
		if (csmpd_log_admit((sev), (mnemonic), &csmpd_sup_))           \
			csmpd_log_emit((sev), (mnemonic), csmpd_sup_,          \
				       __VA_ARGS__);                           \
	} while (0)
const char *csmpd_addr_str(const struct csmpd_addr *a, char *buf, size_t len);

/* sock.c */
int csmpd_parse_listen(const char *s, struct csmpd_listen *l);
int csmpd_socket_open(const struct csmpd_listen *l);
int csmpd_sockets_open(struct csmpd_daemon *d);
void csmpd_sockets_close(struct csmpd_daemon *d);
int csmpd_rx_cmsg(struct msghdr *msg, struct csmpd_local *dst);
void csmpd_tx_msghdr(struct csmpd_tx *tx);

/* worker.c */
int csmpd_workers_init(struct csmpd_daemon *d);
void csmpd_workers_fini(struct csmpd_daemon *d);
int csmpd_workers_start(struct csmpd_daemon *d);
void csmpd_workers_stop(struct csmpd_daemon *d);
void csmpd_workers_join(struct csmpd_daemon *d);
void csmpd_batch(struct csmpd_worker *w, struct csmpd_rx *rx, unsigned int n);
void csmpd_inbox_drain(struct csmpd_worker *w);
bool csmpd_inbox_pending(struct csmpd_worker *w);
void csmpd_clock(struct csmpd_worker *w);
bool csmpd_socks_empty(const struct csmpd_worker *w);
void csmpd_recv_done(struct csmpd_worker *w);
bool csmpd_all_recv_done(const struct csmpd_worker *w);
struct csmpd_tx *csmpd_tx_alloc(struct csmpd_worker *w);
void csmpd_tx_queue(struct csmpd_worker *w, struct csmpd_tx *tx);
void csmpd_tx_release(struct csmpd_worker *w, struct csmpd_tx *tx);
bool csmpd_park_full(const struct csmpd_worker *w);
void csmpd_tx_park(struct csmpd_worker *w, struct csmpd_tx *tx, __u64 seq);
bool csmpd_seq_committed(struct csmpd_worker *w, __u64 seq);
void csmpd_park_release(struct csmpd_worker *w);
void csmpd_park_abandon(struct csmpd_worker *w);
void csmpd_counters_sum(const struct csmpd_daemon *d,
			struct csmpd_counters *out);
unsigned int csmpd_eid_bucket(const struct csmpd_daemon *d, __u64 eid);
unsigned int csmpd_bucket_owner(const struct csmpd_daemon *d,
				unsigned int bucket);

/* steer.c: attaches csmp_reuseport to one listening group (fds[i] belongs
 * to worker i) for --steer-workers. */
int csmpd_steer_group(struct csmpd_daemon *d, unsigned int listen,
		      const int *fds, unsigned int n);

/* handlers.c: the protocol. */
void csmpd_dispatch(struct csmpd_worker *w, struct csmpd_rx *rx);
int csmpd_route(struct csmpd_worker *w, const struct csmpd_rx *rx);
bool csmpd_tlv_known(__u32 type);

/* registry.c */
int csmpd_shard_init(struct csmpd_shard *s);
void csmpd_shard_fini(struct csmpd_shard *s);
struct csmpd_device *csmpd_dev_by_eid(struct csmpd_shard *s, __u64 eid);
struct csmpd_device *csmpd_dev_by_session(struct csmpd_shard *s,
					  const char *sid, size_t len);
struct csmpd_device *csmpd_dev_add(struct csmpd_shard *s, __u64 eid);
int csmpd_dev_set_session(struct csmpd_shard *s, struct csmpd_device *dev,
			  const char *sid, size_t len);
int csmpd_dev_store_tlvs(struct csmpd_worker *w, struct csmpd_device *dev,
			 const __u8 *payload, __u32 len);
const __u8 *csmpd_dev_tlv(const struct csmpd_device *dev, __u32 type,
			  __u16 *len);

/* proto/request.c: head-end-initiated requests (csmp-request). */
int csmpd_req_init(struct csmpd_worker *w);
void csmpd_req_fini(struct csmpd_worker *w);
int csmpd_req_socket(struct csmpd_daemon *d, unsigned int worker);
void csmpd_req_tick(struct csmpd_worker *w);
bool csmpd_req_busy(struct csmpd_worker *w);
void csmpd_req_rx(struct csmpd_worker *w, struct csmpd_rx *rx);
void csmpd_req_close(struct csmpd_worker *w);
struct csmp_ctl;
int csmpd_req_ctl_register(struct csmpd_daemon *d, struct csmp_ctl *ctl,
			   void **ctx);
void csmpd_req_ctl_free(void *ctx);

/* proto/sign.c: downlink signatures. */
int csmpd_sign_init(struct csmpd_daemon *d);
void csmpd_sign_fini(struct csmpd_daemon *d);
int csmpd_sign_start(struct csmpd_daemon *d);
void csmpd_sign_stop(struct csmpd_daemon *d);
int csmpd_signer_init(struct csmpd_worker *w);
void csmpd_signer_fini(struct csmpd_worker *w);
int csmpd_sign(struct csmpd_worker *w, __u8 *payload, size_t len, size_t cap);

/* proto/keys.c: enrolled device keys (--device-keys, the registry,
 * `csmpctl enroll`), one store read by every worker through its cache. */
int csmpd_keys_init(struct csmpd_daemon *d);
void csmpd_keys_fini(struct csmpd_daemon *d);
int csmpd_keys_put(struct csmpd_daemon *d, __u64 eid, struct csmp_key *key);
int csmpd_keys_load_dir(struct csmpd_daemon *d, const char *dir);
int csmpd_worker_keys_init(struct csmpd_worker *w);
void csmpd_worker_keys_fini(struct csmpd_worker *w);
void csmpd_worker_keys_sync(struct csmpd_worker *w);
const struct csmp_key *csmpd_worker_key(struct csmpd_worker *w, __u64 eid);

/* proto/verify.c: uplink signatures of one batch, verified together;
 * what fails is marked CSMPD_RXF_DROP. Inside the policy bracket. */
int csmpd_verify_init(struct csmpd_daemon *d);
void csmpd_verify_fini(struct csmpd_daemon *d);
void csmpd_verify_batch(struct csmpd_worker *w, struct csmpd_rx **rx,
			unsigned int n);

/* conf/runtime.c: the configuration as the running daemon uses it (the
 * command line and the file are conf/options.c's, config.h). */
void csmpd_conf_free(struct csmpd_daemon *d);
int csmpd_policy_init(struct csmpd_daemon *d);
void csmpd_policy_fini(struct csmpd_daemon *d);
void csmpd_policy_enter(struct csmpd_worker *w);
void csmpd_policy_leave(struct csmpd_worker *w);
bool csmpd_policy_allowed(struct csmpd_worker *w, __u64 eid);
bool csmpd_policy_config_group(struct csmpd_worker *w, __u64 eid, __u32 *id);
const char *csmpd_policy_group_name(struct csmpd_worker *w, __u64 eid);
int csmpd_conf_reload(struct csmpd_daemon *d, char *err, size_t errlen);
__u64 csmpd_policy_generation(struct csmpd_daemon *d);
const char *csmpd_policy_devices(struct csmpd_daemon *d);
__u64 csmpd_conf_reloads(struct csmpd_daemon *d);

/* privs.c: the privilege drop, after every privileged set-up. */
int csmpd_privs_drop(struct csmpd_daemon *d);

/* ctl/commands.c: the control socket and its commands (--control). */
int csmpd_ctl_init(struct csmpd_daemon *d);
int csmpd_ctl_start(struct csmpd_daemon *d);
void csmpd_ctl_fini(struct csmpd_daemon *d);

/* http/http.c: the HTTP endpoint (--metrics). */
int csmpd_http_init(struct csmpd_daemon *d);
int csmpd_http_start(struct csmpd_daemon *d);
void csmpd_http_fini(struct csmpd_daemon *d);

/* events.c, as the daemon starts it (--events). */
int csmpd_events_init(struct csmpd_daemon *d);
int csmpd_events_start(struct csmpd_daemon *d);
void csmpd_events_fini(struct csmpd_daemon *d);

/* registry/records.c: the persistent registry as the workers see it. */
int csmpd_registry_init(struct csmpd_daemon *d);
int csmpd_registry_start(struct csmpd_daemon *d);
void csmpd_registry_fini(struct csmpd_daemon *d);
/* Queue the device's record (op: enum csmp_db_op of registry/db.h); 0
 * with *seq its commit sequence (0: no registry), or -ENOBUFS when the
 * worker's queue is full. */
int csmpd_registry_record(struct csmpd_worker *w, struct csmpd_device *dev,
			  int op, __u64 *seq);
bool csmpd_registry_durable(const struct csmpd_daemon *d);
__u64 csmpd_registry_committed(struct csmpd_worker *w);

#endif /* CSMPD_H */
