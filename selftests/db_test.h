/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the registry persistence tests of both backends (unit/test_db.c,
 * unit/test_db_pg.c) feed the writer: a real registration's TLVs, records
 * filled like csmpd's workers fill them, and a bounded wait for a commit.
 */
#ifndef CSMP_SELFTESTS_DB_TEST_H
#define CSMP_SELFTESTS_DB_TEST_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "csmp/tlv.h"
#include "registry/db.h"

/* The TLVs of frame 1 of opencsmp-register.pcap (after the 0xff marker). */
static const char reg_tlvs[] =
	"02940008011210304130303237464646453342324142321288"
	"00089593ebfe0518000be2000801121843534d50204167656e74204c69622074"
	"657374206e6f646528093a066c6f7770616e4203312e304a05312e302e305a10"
	"304130303237464646453342324142326209494f544720435244436a0e43534d"
	"50204147454e54204c49428801010c9200080112026c6f1a084c6f6f70626163"
	"6b20180ca000080212066c6f7770616e1a074965656531353420830232080a00"
	"27fffe3b2ab210a100080110021a100000000000000000000000000000000120"
	"0128013004380150800110a100080210021a10fe800000000000000207810900"
	"dc0c8d200228013005380150800110a000080310021a102001000a000b000c00"
	"000000000000092002280130043801504011ae00080110021a10000000000000"
	"00000000000000000000200028043210fe800000000000000a0027fffe3b2ab1"
	"3802179400080120012801300038004000480050005800600017960008022001"
	"2809300a38a80a40e20448175000580060001998000801100118800220012802"
	"30023889014075483c5008580423a700080212044352444318d2092000280030"
	"01388002400148b7ff0150fd01581c60046801700a780035a100080110aa011a"
	"1020010db800000000000000000000000020ce01288002300138044bdc000801"
	"1220313233343500000000000000000000000000000000000000000000000000"
	"00001a0f76656e646f72206669726d776172652205312e302e302880840f4001"
	"48015a160a00121276656e646f72206861726477617265204944";

#define REG_EID 0x0A0027FFFE3B2AB2ull

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void fill_reg(struct csmp_db_rec *r, uint64_t eid, const char *sid)
{
	r->op = CSMP_DB_OP_REGISTER;
	r->eid = eid;
	r->ts_ms = now_ms();
	memset(&r->addr, 0, sizeof(r->addr));
	r->addr.sin6_family = AF_INET6;
	r->addr.sin6_addr.s6_addr[0] = 0x20;
	r->addr.sin6_addr.s6_addr[1] = 0x18;
	r->addr.sin6_addr.s6_addr[15] = 0x88;
	r->addr.sin6_port = htons(46790);
	snprintf(r->session, sizeof(r->session), "%s", sid);
	snprintf(r->group, sizeof(r->group), "meters");
}

/* Wait until producer p's records up to seq are committed (bounded). */
static int wait_committed(struct csmp_db *db, unsigned int p, uint64_t seq)
{
	int i;

	/* 10 s: a loaded machine, a PostgreSQL server that restarts. */
	for (i = 0; i < 10000; i++) {
		if (csmp_db_committed(db, p) >= seq)
			return 0;
		usleep(1000);
	}
	return -ETIMEDOUT;
}

static int count_cb(void *ctx, const struct csmp_db_dev *d)
{
	(*(unsigned int *)ctx)++;
	return 0;
}

static int copy_cb(void *ctx, const struct csmp_db_dev *d)
{
	*(struct csmp_db_dev *)ctx = *d;
	return 0;
}

struct tlv_seen {
	unsigned int n, ip_addrs;
	size_t hw_len;
};

static int tlv_cb(void *ctx, uint32_t tlv, uint32_t idx, const void *v,
		  size_t len, int64_t ts)
{
	struct tlv_seen *s = ctx;

	s->n++;
	if (tlv == CSMP_TLV_IP_ADDRESS)
		s->ip_addrs++;
	if (tlv == CSMP_TLV_HARDWARE_DESC)
		s->hw_len = len;
	return 0;
}

#endif /* CSMP_SELFTESTS_DB_TEST_H */
