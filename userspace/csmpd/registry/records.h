/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The persistent registry as the daemon holds it (registry/records.c):
 * the database the workers' records go to, and the control thread's
 * reader. The control commands and the stats read through it.
 */
#ifndef CSMPD_REGISTRY_RECORDS_H
#define CSMPD_REGISTRY_RECORDS_H

#include "registry/db.h"

struct csmpd_registry {
	struct csmp_db *db;
	struct csmp_db_reader *reader;	/* control thread only */
	char reader_err[512];		/* why there is no reader */
};

struct csmpd_daemon;

/* The control thread's reader, opened with the registry (before the
 * privilege drop, which may leave the run user unable to open the file),
 * else on use: 0, -ENODEV without --db, or -errno with the reason in
 * err. */
int csmpd_registry_reader(struct csmpd_daemon *d, struct csmp_db_reader **out,
			  char *err, size_t errlen);
/* The control thread's record of an enrolled key (it is the registry's
 * last producer): 0, -ENODEV without --db, -EBUSY when its queue is full. */
int csmpd_registry_key(struct csmpd_daemon *d, uint64_t eid, int suite,
		       const void *pub, size_t len);

#endif /* CSMPD_REGISTRY_RECORDS_H */
