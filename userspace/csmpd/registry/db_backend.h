/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The registry's storage backends behind db.c. db.c owns what does not
 * depend on the database: the rings, the writer thread and its group
 * commit, the ack-after-commit publication, the failure streak and its
 * back-off, the stats. A backend owns a connection and the SQL: schema and
 * migrations, the start-up reads, and the writer's transaction (begin,
 * apply one record, commit, roll back). Both backends store the same
 * schema at the same version, so csmpd, csmpctl and the tests see one
 * registry whichever holds it.
 *
 * Contract of the transaction calls: begin() opens a transaction (a
 * backend whose connection was lost reconnects here first, so the
 * writer's back-off paces the reconnection attempts); apply() adds a
 * record to it (a backend may only stage it until commit()); commit()
 * returns 0 only once the transaction is durable; any failure leaves the
 * reason in conn->msg, and the writer then calls rollback() and retries
 * every record of the transaction.
 */
#ifndef CSMPD_DB_BACKEND_H
#define CSMPD_DB_BACKEND_H

#include "registry/db.h"

struct csmp_db_conn {
	const struct csmp_db_backend *be;
	char msg[256];			/* why the last call failed */
	unsigned int bad_rows;		/* malformed device rows skipped */
};

struct csmp_db_conn_opts {
	const char *target;		/* file path or connection string */
	bool writer;			/* false: the read-only side */
	bool sync_full;
	uint16_t node;			/* this node's backend id */
};

struct csmp_db_backend {
	const char *name;
	/* Connect; the writer side also migrates and proves it can write.
	 * err gets "NAME: reason" where NAME is csmp_db_display(). */
	int (*open)(const struct csmp_db_conn_opts *o,
		    struct csmp_db_conn **out, char *err, size_t errlen);
	void (*close)(struct csmp_db_conn *c);
	/* Before the writer starts (the writer's connection). */
	int (*load)(struct csmp_db_conn *c, csmp_db_dev_cb cb, void *ctx);
	int (*meta_get)(struct csmp_db_conn *c, const char *key, void *val,
			size_t cap);
	int (*meta_set)(struct csmp_db_conn *c, const char *key,
			const void *val, size_t len);
	/* Store val only if key has no value yet (atomic: a race between
	 * nodes leaves the first value). */
	int (*meta_add)(struct csmp_db_conn *c, const char *key,
			const void *val, size_t len);
	int (*keys)(struct csmp_db_conn *c, csmp_db_key_cb cb, void *ctx);
	/* The writer thread's transaction (see the contract above). */
	int (*begin)(struct csmp_db_conn *c);
	int (*apply)(struct csmp_db_conn *c, const struct csmp_db_rec *r);
	int (*commit)(struct csmp_db_conn *c);
	void (*rollback)(struct csmp_db_conn *c);
	/* This node is alive (writer thread, outside a transaction). */
	int (*heartbeat)(struct csmp_db_conn *c, const struct csmp_db_node *n);
	/* The read side (its own connection). */
	int (*count)(struct csmp_db_conn *c, uint64_t *n);
	int (*devices)(struct csmp_db_conn *c, const uint64_t *eid,
		       csmp_db_dev_cb cb, void *ctx);
	int (*tlvs)(struct csmp_db_conn *c, uint64_t eid, csmp_db_tlv_cb cb,
		    void *ctx);
	int (*nodes)(struct csmp_db_conn *c, csmp_db_node_cb cb, void *ctx);
};

extern const struct csmp_db_backend csmp_db_sqlite;
extern const struct csmp_db_backend csmp_db_pg;

/* What a registration's TLVs say about the device (db.c decodes them once
 * for both backends). */
struct csmp_db_fields {
	char hw_model[CSMP_DB_TEXT_MAX];
	char hw_serial[CSMP_DB_TEXT_MAX];
	char fw_version[CSMP_DB_TEXT_MAX];
};

/*
 * Walk the TLVs a record stores as the device's latest values: cb gets
 * each instance (first: the first instance of its id in this record,
 * which replaces the whole stored set of that id; vendor TLVs keep their
 * header). Fills f from HardwareDesc and the running FirmwareImageInfo.
 * Returns 0 or cb's first non-zero return.
 */
typedef int (*csmp_db_rec_tlv_cb)(void *ctx, uint32_t tlv, bool first,
				  uint32_t idx, const void *val, size_t len);
int csmp_db_rec_tlvs(const struct csmp_db_rec *r, csmp_db_rec_tlv_cb cb,
		     void *ctx, struct csmp_db_fields *f);

/* The device columns both backends read, in this order. */
#define CSMP_DB_DEV_COLS "eid, session_id, addr, port, grp, first_reg," \
	" last_reg, last_seen, registrations, reports, hw_model, hw_serial," \
	" fw_version, owner, epoch"

/* Fill d from text columns in CSMP_DB_DEV_COLS order. -EBADMSG if bad. */
int csmp_db_dev_from_text(struct csmp_db_dev *d, const char *const col[15]);

#endif /* CSMPD_DB_BACKEND_H */
