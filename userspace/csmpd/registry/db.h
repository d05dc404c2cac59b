/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The device registry's persistence: a database written by one writer
 * thread with group commit, fed by the workers through one lock-free ring
 * per worker (workers never touch the database and never wait). The
 * database is a SQLite file in WAL mode (the embedded default) or, for a
 * cluster of nodes sharing one registry, PostgreSQL: a target that starts
 * with postgresql:// or postgres://, or a libpq key=value connection
 * string (one containing '='), selects PostgreSQL (db_backend.h).
 *
 * Durability contract: while the database can be written, a record pushed
 * at time T is committed by T + commit_interval + the commit's own
 * duration, whatever the load (the writer commits once it has drained the
 * rings: at once when idle, under load a few commit durations after the
 * previous commit; after at most commit_batch records; and never holds a
 * transaction open longer than commit_interval). csmp_db_committed() tells
 * a producer which of its records are durable and the eventfd of
 * csmp_db_notify_fd() fires after each commit that covered some of them, so
 * csmpd holds a registration's answer until its record is committed
 * (ack-after-commit). A transaction that fails (disk full, I/O error, the
 * PostgreSQL server gone) is rolled back and retried from the same
 * records, with a back-off of 50 ms doubling to 1 s, until it commits (a
 * lost PostgreSQL connection is re-established at each attempt): nothing
 * is published as committed that is not, the records wait in their rings
 * meanwhile (a full ring refuses new ones), and %CSMP-2-DB_WRITE is logged
 * when the failure starts and every 10 s while it lasts,
 * %CSMP-5-DB_RECOVERED when it ends. A commit whose outcome is unknown
 * (the connection died during COMMIT) is retried too: a record may then be
 * applied twice (a registration counted twice), never lost.
 * SQLite: with synchronous=FULL (db-sync = full, the default) a commit is
 * one fsync of the WAL and survives a power failure; synchronous=NORMAL
 * survives the death of the process (kill -9) but may lose the last
 * commits to a power failure. PostgreSQL: the writer's session runs with
 * synchronous_commit = on whatever db-sync says, so COMMIT returns once
 * the server has flushed its WAL (the server's own fsync setting rules).
 */
#ifndef CSMPD_DB_H
#define CSMPD_DB_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CSMP_DB_SCHEMA_VERSION	3
#define CSMP_DB_PAYLOAD_MAX	1536	/* CSMP TLVs kept per record */
#define CSMP_DB_GROUP_MAX	32
#define CSMP_DB_SESSION_MAX	17	/* 16 characters + NUL */
#define CSMP_DB_TEXT_MAX	64

enum csmp_db_op {
	CSMP_DB_OP_REGISTER	= 1,	/* answered registration */
	CSMP_DB_OP_REPORT	= 2,	/* report from a known device */
	CSMP_DB_OP_NOTIFY	= 3,	/* notification: last seen + TLVs */
	CSMP_DB_OP_KEY		= 4,	/* enrolled key: pad = suite, payload
					 * = raw public key */
};

/* One slot of a worker's ring: what the writer needs, nothing to free. */
struct csmp_db_rec {
	uint8_t op;			/* enum csmp_db_op */
	uint8_t pad;
	uint16_t len;			/* bytes in payload */
	uint32_t pad2;
	uint64_t eid;
	int64_t ts_ms;			/* wall clock, ms since the epoch */
	struct sockaddr_in6 addr;	/* IPv4 as v4-mapped */
	char session[CSMP_DB_SESSION_MAX];
	char group[CSMP_DB_GROUP_MAX];
	uint8_t payload[CSMP_DB_PAYLOAD_MAX];	/* the message's TLVs */
};

/* A device as stored: what csmpd needs to resume it and what csmpctl shows. */
struct csmp_db_dev {
	uint64_t eid;
	char session[CSMP_DB_SESSION_MAX];
	struct sockaddr_in6 addr;
	char group[CSMP_DB_GROUP_MAX];
	int64_t first_reg_ms;
	int64_t last_reg_ms;
	int64_t last_seen_ms;
	uint64_t registrations;
	uint64_t reports;
	char hw_model[CSMP_DB_TEXT_MAX];	/* HardwareDesc.entPhysicalModelName */
	char hw_serial[CSMP_DB_TEXT_MAX];	/* HardwareDesc.entPhysicalSerialNum */
	char fw_version[CSMP_DB_TEXT_MAX];	/* running FirmwareImageInfo.version */
	uint16_t owner;			/* node (backend id) that owns it;
					 * 0: none recorded */
	uint64_t epoch;			/* ownership changes so far */
};

/* A node of the cluster as its heartbeats record it. */
struct csmp_db_node {
	uint16_t node;			/* backend id */
	char addr[CSMP_DB_TEXT_MAX];	/* where the LB reaches it */
	uint16_t reply_port_lo;		/* its block of request source ports */
	uint16_t reply_port_hi;
	char state[16];			/* up, draining, down */
	int64_t started_ms;
	int64_t heartbeat_ms;		/* the database's clock */
	int64_t age_ms;			/* since heartbeat_ms, by the same
					 * clock when read (csmp_db_nodes) */
	uint64_t epoch;			/* starts of this node so far */
};

struct csmp_db_opts {
	const char *path;
	unsigned int producers;		/* one ring per worker */
	unsigned int ring_slots;	/* per producer, power of two; 0: 4096 */
	unsigned int commit_interval_ms;	/* 0: 50 */
	unsigned int commit_batch;	/* 0: 1024 */
	bool sync_full;			/* synchronous=FULL instead of NORMAL */
	/* This node, as the nodes table records it. */
	uint16_t node;			/* backend id */
	const char *node_addr;		/* NULL: "" */
	uint16_t reply_port_lo, reply_port_hi;
	unsigned int heartbeat_ms;	/* 0: 1000 */
};

struct csmp_db_stats {
	uint64_t records;		/* committed */
	uint64_t commits;
	uint64_t errors;		/* transactions that failed */
	uint64_t failing;		/* 1: the last transaction failed */
	uint64_t max_commit_us;		/* slowest commit so far */
	uint64_t queue_depth;		/* records waiting, all rings */
	uint64_t writer_cpu_ns;		/* CPU time of the writer thread */
};

struct csmp_db;

/*
 * Open (or create) the database, check it can be written, and migrate its
 * schema to CSMP_DB_SCHEMA_VERSION. On failure returns -errno and a
 * one-line reason in err ("PATH: file is not a database").
 */
int csmp_db_open(const struct csmp_db_opts *o, struct csmp_db **out,
		 char *err, size_t errlen);

/* Call cb for every stored device this node owns (at start, before the
 * workers run; SQLite: every device). A non-zero return from cb stops the
 * walk and is returned. */
typedef int (*csmp_db_dev_cb)(void *ctx, const struct csmp_db_dev *d);
int csmp_db_load(struct csmp_db *db, csmp_db_dev_cb cb, void *ctx,
		 char *err, size_t errlen);
/* Malformed device rows the last csmp_db_load skipped. */
unsigned int csmp_db_bad_rows(const struct csmp_db *db);

/*
 * Daemon-wide values that must survive a restart (the SipHash key that
 * places EIDs in shards and SessionIDs). Before csmp_db_start() only.
 * get() returns the stored length (copying at most cap bytes) or -ENOENT.
 */
int csmp_db_meta_get(struct csmp_db *db, const char *key, void *val,
		     size_t cap);
int csmp_db_meta_set(struct csmp_db *db, const char *key, const void *val,
		     size_t len);
/* The value every node of a cluster must share: val is stored unless key
 * has a value already, then val is overwritten with the stored value (the
 * first node's, whichever node asks). Returns the stored length. */
int csmp_db_meta_init(struct csmp_db *db, const char *key, void *val,
		      size_t len);

/* Enrolled device keys (before csmp_db_start(), like the load). */
typedef int (*csmp_db_key_cb)(void *ctx, uint64_t eid, int suite,
			      const void *pub, size_t len);
int csmp_db_keys(struct csmp_db *db, csmp_db_key_cb cb, void *ctx);

/* Records waiting in producer p's ring (a gauge). */
uint64_t csmp_db_queue_depth(struct csmp_db *db, unsigned int p);

/* The database as logs name it (a connection string without password). */
const char *csmp_db_name(const struct csmp_db *db);

/* Start the writer thread. */
int csmp_db_start(struct csmp_db *db);

/* Producer side (worker `p` only): a slot to fill, or NULL when its ring is
 * full; then push() publishes it and returns its sequence number. */
struct csmp_db_rec *csmp_db_reserve(struct csmp_db *db, unsigned int p);
uint64_t csmp_db_push(struct csmp_db *db, unsigned int p);

/* The highest sequence of producer p that is committed: every record of p
 * whose push() returned at most this is durable. */
uint64_t csmp_db_committed(struct csmp_db *db, unsigned int p);
/* An eventfd written after every commit that covered records of p. */
int csmp_db_notify_fd(struct csmp_db *db, unsigned int p);

void csmp_db_get_stats(struct csmp_db *db, struct csmp_db_stats *s);

/* Stop the writer after it has committed everything pushed, then close. */
void csmp_db_close(struct csmp_db *db);

/*
 * Read side, for the control thread and csmpctl: its own read-only
 * connection, which reads while the writer writes (SQLite: WAL). It sees
 * committed records only.
 */
struct csmp_db_reader;
int csmp_db_reader_open(const char *path, struct csmp_db_reader **out,
			char *err, size_t errlen);
void csmp_db_reader_close(struct csmp_db_reader *r);
int csmp_db_count(struct csmp_db_reader *r, uint64_t *n);
/* One device (eid != NULL; -ENOENT when unknown) or all of them. cb must
 * not use the reader (PostgreSQL streams the rows on its connection). */
int csmp_db_devices(struct csmp_db_reader *r, const uint64_t *eid,
		    csmp_db_dev_cb cb, void *ctx);
/* The latest value of every TLV the device sent (raw protobuf bytes). */
typedef int (*csmp_db_tlv_cb)(void *ctx, uint32_t tlv, uint32_t idx,
			      const void *val, size_t len, int64_t ts_ms);
int csmp_db_tlvs(struct csmp_db_reader *r, uint64_t eid, csmp_db_tlv_cb cb,
		 void *ctx);
/* Every node that ever heartbeat, by backend id. Its age comes from the
 * clock that stamped its heartbeats (PostgreSQL: the server's), so every
 * reader of one database judges a node alive or expired alike. */
typedef int (*csmp_db_node_cb)(void *ctx, const struct csmp_db_node *n);
int csmp_db_nodes(struct csmp_db_reader *r, csmp_db_node_cb cb, void *ctx);

/* A stored device as JSON (csmpd's devices command prints the same). */
struct json_t;
struct json_t *csmp_db_dev_json(const struct csmp_db_dev *d);
/* The devices command's answer ({"count"}, {"device"} or {"devices"})
 * read from target itself, with no csmpd: for a cluster's registry. */
int csmp_db_devices_answer(const char *target, bool count, const char *eid,
			   struct json_t **out, char *err, size_t errlen);

/* True when target names a PostgreSQL database rather than a file. */
bool csmp_db_is_pg(const char *target);
/* target as logs show it: a PostgreSQL conninfo without its password. */
void csmp_db_display(const char *target, char *out, size_t cap);

/* EID <-> the 16 upper-case hex digits of the DeviceID TLV. */
void csmp_db_eid_str(uint64_t eid, char out[17]);
int csmp_db_eid_parse(const char *s, uint64_t *eid);

#endif /* CSMPD_DB_H */
