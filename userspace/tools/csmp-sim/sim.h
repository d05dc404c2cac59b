/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * csmp-sim internals. One thread drives the whole fleet: an epoll loop over
 * a few UDP sockets, one binary heap of device deadlines (each device has at
 * most one pending timer: its next registration attempt or its next report),
 * and per-socket sendmmsg batches flushed once per loop turn. Devices are
 * plain structs in one array indexed by (EID - eid_base); nothing is
 * allocated per message. proto.c holds what a device says and how it judges
 * the head-end's answers (OpenCSMP's behaviour); loop.c holds the engine;
 * route.c the local /64 on lo; main.c options and the summary.
 */
#ifndef CSMP_SIM_H
#define CSMP_SIM_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <linux/types.h>

#define SIM_BATCH	64		/* datagrams per sendmmsg/recvmmsg */
#define SIM_BUF		2048		/* the agent's send buffer size */
#define SIM_MAX_SOCKS	64
#define SIM_NOPOS	UINT32_MAX
#define SIM_MAX_SUBS	16		/* distinct ReportSubscribe lists */
#define SIM_SUB_TLVS	15		/* the agent keeps at most 15 ids */

#define NSEC_PER_MSEC	1000000ull
#define NSEC_PER_SEC	1000000000ull

enum sim_state {
	SIM_UNREG = 0,		/* registering, timer = next attempt */
	SIM_REG = 1,		/* registered, timer = next report */
};

struct sim_dev {
	uint64_t deadline;	/* CLOCK_MONOTONIC ns of the pending timer */
	uint64_t round_end;	/* end of the current backoff/report period */
	uint64_t first_try;	/* first registration attempt (latency base) */
	uint64_t last_try;	/* latest attempt (per-attempt RTT base) */
	uint64_t reg_at;	/* when the verified ACK arrived */
	uint32_t hpos;		/* index in the heap, SIM_NOPOS if not queued */
	uint32_t ival_ms;	/* current registration interval I */
	uint32_t report_ms;	/* ReportSubscribe interval, 0 = none */
	uint32_t rng;		/* per-device PRNG state */
	uint32_t attempts;
	uint32_t group[2];	/* GroupAssign: config, firmware (0 = none) */
	uint16_t mid;		/* the agent's 16-bit counter, from 0 */
	uint8_t state;		/* enum sim_state */
	uint8_t sub;		/* index into sim.subs */
	uint8_t sock;		/* index into sim.socks */
	uint8_t session_len;
	uint8_t flags;		/* SIM_F_* */
	uint32_t async_gen;	/* the pending asynchronous answer (radio.c) */
	char session[16];	/* SessionID from the ACK (<= 16 chars) */
};

/* sim_dev.flags: what the fleet's shares made of a device. */
#define SIM_F_STOPS	0x01	/* --stop-share: goes silent at --stop-after */
#define SIM_F_WRONG_KEY	0x02	/* --wrong-key-share: another NMS key */

/* A ReportSubscribe tlvid list, interned: most devices share one. */
struct sim_sub {
	uint8_t n;
	uint16_t ids[SIM_SUB_TLVS];
};

/* Log-linear histogram of microseconds: 32 sub-buckets per power of 2. */
#define SIM_HIST_SUB	32
#define SIM_HIST_N	(40 * SIM_HIST_SUB)
struct sim_hist {
	uint64_t n;
	uint64_t max;
	uint32_t b[SIM_HIST_N];
};

struct sim_stats {
	uint64_t reg_attempts;
	uint64_t registered;
	uint64_t reregistrations;	/* --rate: ACKs for registered devices */
	uint64_t reports_sent;
	uint64_t notifications_sent;
	uint64_t acks_rx;		/* every datagram received */
	uint64_t acks_2xx;		/* 2.xx answers, before judging them */
	uint64_t acks_verified;
	uint64_t acks_bad_signature;	/* signature wrong or missing */
	uint64_t acks_bad_validity;	/* SignatureValidity absent or not now */
	uint64_t acks_rejected;		/* 2.xx whose TLVs the agent refuses */
	uint64_t acks_token;		/* dropped: token present (agent) */
	uint64_t acks_error_code;	/* 4.xx/5.xx answers */
	uint64_t acks_unexpected;	/* for an already registered device */
	uint64_t acks_unverified;	/* accepted without check (--verify-every) */
	uint64_t rx_malformed;
	uint64_t rx_unknown_dev;
	uint64_t tx_errors;		/* sendmmsg failures (datagrams) */
	uint64_t tx_datagrams;
	uint64_t tx_bytes;
	uint64_t rx_bytes;
	uint64_t reboots;		/* firmware load, RebootRequest */
	uint64_t async_sent;		/* NON POST /c answers to NON requests */
	uint64_t tx_lost;		/* --loss, device -> head-end */
	uint64_t rx_lost;		/* --loss, head-end -> device */
};

struct sim_sock {
	int fd;
	unsigned int n;			/* queued datagrams */
	struct mmsghdr msg[SIM_BATCH];
	struct iovec iov[SIM_BATCH];
	struct sockaddr_in6 dst[SIM_BATCH];
	union {
		char buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
		struct cmsghdr align;
	} cmsg[SIM_BATCH];
	uint8_t data[SIM_BATCH][SIM_BUF];
};

enum sim_src_mode {
	SIM_SRC_AUTO = 0,
	SIM_SRC_PREFIX,		/* one address per device from a /64 on lo */
	SIM_SRC_PORTS,		/* one socket (source port) per device */
};

struct sim_opts {
	struct sockaddr_storage target;
	socklen_t target_len;
	uint32_t devices;
	double duration;		/* seconds; 0 = until registered */
	const char *nms_pubkey;
	double reg_min, reg_max;	/* seconds */
	double report_interval;		/* seconds, < 0 = from the ACK */
	double rate;			/* open-loop registrations/s, 0 = off */
	double report_rate;		/* open-loop reports/s, 0 = off */
	double report_start;		/* seconds after start */
	uint32_t verify_every;		/* verify 1 ACK in N (1 = all) */
	uint32_t sockets;
	uint64_t seed;
	uint64_t eid_base;
	enum sim_src_mode src_mode;
	struct in6_addr src_prefix;	/* /64 */
	bool src_prefix_set;
	bool keep_route;		/* the route was there already */
	bool json;
	bool quiet;
	bool until_registered;		/* stop once every device registered */
	double linger;			/* seconds to keep running after that */
	double drain;			/* seconds to take answers after the end */
	/* devserver.c, uplink.c */
	bool serve;			/* --serve: answer head-end requests */
	uint16_t serve_port;		/* --serve-port, default 61628 */
	const char *serve_log;		/* --serve-log FILE: JSON per request */
	int uplink_suite;		/* --uplink-sign: enum csmp_sig_suite */
	const char *uplink_key_dir;	/* --uplink-key-dir DIR */
	double bad_sig_rate;		/* --bad-signature-rate F */
	/* firmware.c */
	const char *fw_versions;	/* --fw-version V[,V...]: starting images */
	const char *fw_hwid;		/* --fw-hwid S */
	uint32_t fw_slot_size;		/* --fw-slot-size BYTES */
	bool fw_transfer_response;	/* --fw-transfer-response */
	/* radio.c */
	double loss;			/* --loss P, each direction */
	double link_rate;		/* --link-rate bytes/s, 0 = unlimited */
	double pan_rate;		/* --pan-rate bytes/s, 0 = unlimited */
	uint32_t pan_size;		/* --pan-size N devices per PAN */
	uint32_t pan_queue;		/* --pan-queue N datagrams waiting */
	struct in6_addr group_mcast;	/* --group-mcast PREFIX (/96) */
	const char *mcast_if;		/* --mcast-if IFNAME */
	/* proto.c: fleet shares */
	double stop_after;		/* --stop-after S, < 0 = never */
	double stop_share;		/* --stop-share F */
	double wrong_key_share;		/* --wrong-key-share F */
};

struct sim_nms_key;

/* devserver.c: requests served (by answer class: [2] 2.xx, [4] 4.xx ...). */
struct sim_srv_stats {
	uint64_t requests;
	uint64_t by_class[8];
	uint64_t malformed;
	uint64_t not_con;
	uint64_t post_sig_ok;
	uint64_t post_sig_bad;		/* answered 4.01 */
	uint64_t post_unsigned;		/* answered 4.03 */
	uint64_t post_exempt;		/* unsigned, exempt TLVs only */
	uint64_t non;			/* NON requests handled */
	uint64_t mcast;			/* ... of them to a group */
	uint64_t async_queued;		/* answers due later (NON POST /c) */
	uint64_t notified;		/* CGMSNotification for a NON POST */
	uint64_t while_down;		/* requests to a stopped device */
	uint64_t report_changes;	/* ReportSubscribe applied */
	uint64_t group_changes;		/* GroupAssign applied */
	uint64_t tx_errors;
};

/* uplink.c */
struct sim_uplink_stats {
	uint64_t signed_msgs;
	uint64_t spoiled;		/* --bad-signature-rate */
	uint64_t errors;
};

struct sim_srv;
struct sim_uplink;
struct sim_fw;
struct sim_radio;
struct csmp_tlvw;
struct csmp_tlv;
struct csmp_key;
struct Csmp__ReportSubscribe;

/* epoll tag of a device's server socket (devserver.c) */
#define SIM_TAG_SRV	(4ull << 32)
/* epoll tag of a multicast group's socket (radio.c) */
#define SIM_TAG_MCAST	(8ull << 32)

struct sim {
	struct sim_opts o;
	struct sim_dev *dev;
	uint32_t *heap;
	uint32_t heap_n;
	struct sim_sock *socks[SIM_MAX_SOCKS];
	unsigned int n_socks;
	int *dev_fd;			/* SIM_SRC_PORTS: one fd per device */
	int epfd, sigfd;
	enum sim_src_mode src_mode;
	bool route_added;
	struct sim_sub subs[SIM_MAX_SUBS];
	unsigned int n_subs;
	struct sim_nms_key *key;
	uint64_t t0;			/* monotonic start */
	uint64_t now;			/* monotonic, refreshed per loop turn */
	uint64_t t_end;			/* end of the active run (drain after) */
	uint64_t rt_offset;		/* CLOCK_REALTIME - CLOCK_MONOTONIC */
	uint64_t rx_at;			/* kernel arrival of the datagram in hand */
	uint64_t rate_sent;		/* open-loop attempts sent */
	uint32_t rate_next;		/* next device for open-loop */
	uint64_t rrate_sent;		/* open-loop reports sent */
	uint32_t rrate_next;
	uint64_t all_registered_at;	/* 0 until every device registered */
	uint64_t verify_n;		/* ACKs seen, for --verify-every */
	struct sim_stats st;
	struct sim_hist lat;		/* first attempt -> verified ACK */
	struct sim_hist rtt;		/* attempt -> its ACK */
	uint64_t first_send;		/* monotonic, for rates */
	uint64_t last_reg;		/* latest verified registration */
	uint64_t last_rx;		/* latest 2.xx answer */
	bool draining;			/* past the end: answers only */
	bool stop;
	struct sim_srv *srv;		/* devserver.c, NULL without --serve */
	struct sim_uplink *up;		/* uplink.c, NULL without --uplink-sign */
	struct sim_fw *fw;		/* firmware.c */
	struct sim_radio *radio;	/* radio.c, NULL without --serve */
	uint32_t n_stops, n_wrong_key;	/* devices flagged by the shares */
};

/* loop.c */
int sim_setup(struct sim *s);
int sim_run(struct sim *s);
void sim_teardown(struct sim *s);
uint8_t *sim_tx_slot(struct sim *s, uint32_t idx);
void sim_tx_commit(struct sim *s, uint32_t idx, size_t len);
void sim_timer_set(struct sim *s, uint32_t idx, uint64_t deadline);
uint32_t sim_rand(uint32_t *state);
uint64_t sim_rand_between(uint32_t *state, uint64_t lo, uint64_t hi);
uint64_t sim_mono_ns(void);

/* proto.c: the device's side of CSMP */
int sim_proto_init(struct sim *s);
void sim_proto_fini(struct sim *s);
void sim_dev_init(struct sim *s, uint32_t idx);
void sim_dev_timer(struct sim *s, uint32_t idx);
void sim_dev_register_now(struct sim *s, uint32_t idx);
bool sim_dev_report_now(struct sim *s, uint32_t idx);
void sim_dev_rx(struct sim *s, uint32_t idx, const uint8_t *buf, size_t len);
uint64_t sim_dev_eid(const struct sim *s, uint32_t idx);

void sim_dev_addr(const struct sim *s, uint32_t idx, struct in6_addr *a);
void sim_dev_put_tlv(struct sim *s, uint32_t idx, struct csmp_tlvw *w,
		     uint32_t id);
uint8_t sim_dev_sub_intern(struct sim *s,
			   const struct Csmp__ReportSubscribe *rs);
bool sim_dev_down(const struct sim *s, uint32_t idx);
void sim_dev_reboot(struct sim *s, uint32_t idx);
int sim_dev_notify(struct sim *s, uint32_t idx, uint32_t code,
		   const uint32_t *tlvs, unsigned int n_tlvs,
		   const uint8_t *token, uint8_t tkl);
int sim_dev_send_async(struct sim *s, uint32_t idx, const uint8_t *tlvs,
		       size_t len);
struct csmp_key *sim_dev_nms_key(const struct sim *s, uint32_t idx);

/* devserver.c: the device side of head-end requests */
int sim_serve_setup(struct sim *s);
void sim_serve_teardown(struct sim *s);
void sim_serve_rx(struct sim *s, uint32_t idx);
void sim_serve_json(struct sim *s, FILE *f);
void sim_serve_deliver(struct sim *s, uint32_t idx, const uint8_t *buf,
		       size_t len, const struct sockaddr_in6 *from, bool mcast);
int sim_serve_fd(const struct sim *s, uint32_t idx);

/* firmware.c: the agent's three image slots */
int sim_fw_setup(struct sim *s);
void sim_fw_teardown(struct sim *s);
void sim_fw_put_info(struct sim *s, uint32_t idx, struct csmp_tlvw *w,
		     uint32_t index);
const char *sim_fw_running_version(const struct sim *s, uint32_t idx);
int sim_fw_post(struct sim *s, uint32_t idx, const uint8_t *p,
		const struct csmp_tlv *t, struct csmp_tlvw *out);
int sim_fw_get(struct sim *s, uint32_t idx, uint32_t id, struct csmp_tlvw *w);
void sim_fw_load_due(struct sim *s, uint32_t idx, uint32_t gen);
void sim_fw_json(struct sim *s, FILE *f);

/* radio.c: loss, link and PAN rates, deferred work, multicast groups */
enum sim_ev_kind {
	SIM_EV_RX = 1,		/* a request reaches the device */
	SIM_EV_TX,		/* an answer leaves the device */
	SIM_EV_ASYNC,		/* the answer to a NON request is due */
	SIM_EV_LOAD,		/* a LoadRequest's time came */
	SIM_EV_REBOOT,		/* RebootRequest, after a few seconds */
};
int sim_radio_setup(struct sim *s);
void sim_radio_teardown(struct sim *s);
bool sim_radio_lost(struct sim *s, uint32_t idx);
int sim_radio_down(struct sim *s, uint32_t idx, const uint8_t *buf,
		   size_t len, const struct sockaddr_in6 *from);
int sim_radio_up(struct sim *s, uint32_t idx, int fd, const uint8_t *buf,
		 size_t len, const struct sockaddr_in6 *to);
int sim_radio_later(struct sim *s, uint64_t at, uint32_t idx,
		    enum sim_ev_kind kind, uint32_t gen, const void *data,
		    size_t len);
uint64_t sim_radio_next(const struct sim *s);
void sim_radio_fire(struct sim *s);
int sim_radio_join(struct sim *s, uint32_t idx, uint32_t group);
void sim_radio_mcast_rx(struct sim *s, uint32_t gi);
void sim_radio_json(struct sim *s, FILE *f);

/* uplink.c: uplink signatures */
int sim_uplink_setup(struct sim *s);
void sim_uplink_teardown(struct sim *s);
void sim_uplink_sign(struct sim *s, uint32_t idx, struct csmp_tlvw *w,
		     bool report);
void sim_uplink_json(struct sim *s, FILE *f);

/* route.c */
int sim_route_local(const struct in6_addr *prefix, int plen, bool add);

/* stats.c */
void sim_hist_add(struct sim_hist *h, uint64_t usec);
double sim_hist_pct(const struct sim_hist *h, double pct);
void sim_progress(struct sim *s, FILE *f);
void sim_summary_json(struct sim *s, FILE *f);
void sim_summary_text(struct sim *s, FILE *f);

#endif /* CSMP_SIM_H */
