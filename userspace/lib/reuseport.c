// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * csmp_reuseport control (see reuseport.h): loading one program per
 * reuseport group, the socket array, the attach, and the prediction of
 * the program's choice for tests and tools.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "csmp.h"
#include "reuseport.h"
#include "csmp/siphash.h"
#include "csmp/steer.h"
#include "csmp_reuseport.skel.h"

struct csmp_rp {
	struct csmp_reuseport *skel;
	unsigned int n_workers;
};

int csmp_pin_dir_make(const char *path)
{
	char dir[PATH_MAX], *s;

	if (snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir))
		return -ENAMETOOLONG;
	for (s = dir + 1;; s++) {
		s = strchr(s, '/');
		if (s)
			*s = 0;
		if (mkdir(dir, 0700) && errno != EEXIST)
			return -errno;
		if (!s)
			return 0;
		*s = '/';
	}
}

int csmp_rp_set_worker(struct csmp_rp *rp, unsigned int worker, int fd)
{
	__u64 v = (__u64)fd;
	__u32 k = worker;

	if (!rp || worker >= rp->n_workers || fd < 0)
		return -EINVAL;
	if (bpf_map_update_elem(bpf_map__fd(rp->skel->maps.csmp_workers), &k,
				&v, BPF_ANY))
		return -errno;
	return 0;
}

int csmp_rp_attach(const struct csmp_rp_opts *o, const int *fds,
		   struct csmp_rp **out)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo, .pin_root_path = o->pin_dir);
	struct csmp_rp *rp;
	unsigned int i;
	int err, pfd;

	if (!o->n_workers || o->n_workers > CSMP_LB_MAX_WORKERS)
		return -EINVAL;
	if (o->pin_dir) {
		err = csmp_pin_dir_make(o->pin_dir);
		if (err)
			return err;
	}
	rp = calloc(1, sizeof(*rp));
	if (!rp)
		return -ENOMEM;
	rp->n_workers = o->n_workers;
	rp->skel = csmp_reuseport__open_opts(o->pin_dir ? &oo : NULL);
	if (!rp->skel) {
		err = -errno;
		goto err_free;
	}
	if (!o->pin_dir) {
		bpf_map__set_pin_path(rp->skel->maps.csmp_rp_stats, NULL);
		bpf_map__set_pin_path(rp->skel->maps.csmp_rp_steer, NULL);
		bpf_map__set_pin_path(rp->skel->maps.csmp_rp_wcount, NULL);
	}
	rp->skel->rodata->rp_cfg.k0 = o->k0;
	rp->skel->rodata->rp_cfg.k1 = o->k1;
	rp->skel->rodata->rp_cfg.n_workers = o->n_workers;
	err = bpf_map__set_max_entries(rp->skel->maps.csmp_workers,
				       o->n_workers);
	if (err)
		goto err_destroy;
	err = csmp_reuseport__load(rp->skel);
	if (err)
		goto err_destroy;
	for (i = 0; i < o->n_workers; i++) {
		err = csmp_rp_set_worker(rp, i, fds[i]);
		if (err)
			goto err_destroy;
	}
	pfd = bpf_program__fd(rp->skel->progs.csmp_reuseport);
	if (setsockopt(fds[0], SOL_SOCKET, SO_ATTACH_REUSEPORT_EBPF, &pfd,
		       sizeof(pfd))) {
		err = -errno;
		goto err_destroy;
	}
	*out = rp;
	return 0;

err_destroy:
	csmp_reuseport__destroy(rp->skel);
err_free:
	free(rp);
	return err;
}

void csmp_rp_destroy(struct csmp_rp *rp)
{
	if (!rp)
		return;
	csmp_reuseport__destroy(rp->skel);
	free(rp);
}

/* The first SessionID's bucket, when it has csmpd's form. */
static int first_session_bucket(const uint8_t *dg, const struct csmp_class *c,
				size_t len, __u32 *bucket)
{
	const uint8_t *pl = dg + c->payload_off;
	struct csmp_tlv_iter it;
	struct csmp_tlv t;
	__u32 so = 0, sl = 0;
	__u16 be;

	csmp_tlv_init(&it, pl, (__u32)(len - c->payload_off));
	while (csmp_tlv_next(&it, &t) > 0) {
		if (t.type != CSMP_TLV_SESSION_ID)
			continue;
		if (csmp_sessionid(pl + t.off, t.len, &so, &sl, &be) < 0)
			return -1;
		return csmp_session_bucket(pl + t.off + so, sl, bucket);
	}
	return -1;
}

unsigned int csmp_rp_predict(const struct csmp_rp_config *cfg,
			     const uint8_t *dg, size_t len,
			     const struct csmp_addr *src, __u32 *key)
{
	struct csmp_class c;
	__u32 k, bucket;
	__u64 eid;

	/* The program's order (csmp_reuseport.bpf.c): report -> SessionID,
	 * then DeviceID, then any SessionID, then the source address. */
	if (len >= CSMP_COAP_HDR_LEN && len <= CSMP_MAX_DGRAM &&
	    !csmp_classify(dg, (__u32)len, &c)) {
		if (c.msg_class == CSMP_C_REPORT &&
		    !first_session_bucket(dg, &c, len, &bucket)) {
			k = CSMP_K_SESSION;
			goto out;
		}
		if (c.flags & CSMP_CF_EID) {
			k = CSMP_K_DEVICE_ID;
			bucket = csmp_eid_bucket(cfg->k0, cfg->k1, c.eid);
			goto out;
		}
		if (!first_session_bucket(dg, &c, len, &bucket)) {
			k = CSMP_K_SESSION;
			goto out;
		}
	}
	eid = csmp_addr_eid(src->a, &k);
	bucket = csmp_eid_bucket(cfg->k0, cfg->k1, eid);
out:
	if (key)
		*key = k;
	return csmp_bucket_worker(bucket, cfg->n_workers);
}
