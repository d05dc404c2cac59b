// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * csmpd, the CSMP head-end daemon: the options (conf/), then one life-cycle
 * table of subsystems, each with {init, start, stop, fini}. Every init
 * runs in table order (privileged set-up first, as STYLE.md asks: key,
 * state, registry, sockets, sk_reuseport; the privilege drop last), then
 * every start (the threads, unprivileged), and on any failure what was
 * done is undone in reverse, the same way as at a normal exit. SIGTERM and
 * SIGINT stop the workers, which answer what they already received and
 * send every queued reply before the process exits 0.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <unistd.h>
#include <liburing.h>

#include "csmpd.h"
#include "stats/process.h"
#include "stats/stats.h"
#include "events.h"
#include "sd.h"

/* io_uring may be compiled in and still refused: disabled by sysctl
 * (EPERM), by seccomp (ENOSYS/EPERM) or by an old kernel. */
static const struct csmpd_io_ops *pick_io(const struct csmpd_config *c)
{
	struct io_uring ring;
	int err;

	if (c->io == CSMPD_IO_MMSG) {
		csmpd_log(CSMPD_INFO, "IO_BACKEND", "using recvmmsg/sendmmsg (--io mmsg)");
		return &csmpd_io_mmsg;
	}
	err = io_uring_queue_init(4, &ring, 0);
	if (!err) {
		/* Provided buffer rings (5.19) are what the backend needs
		 * beyond a bare ring; multishot recvmsg came with 6.0. */
		struct io_uring_buf_reg reg = { .ring_entries = 1, .bgid = 0 };
		void *br = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
				MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);

		if (br == MAP_FAILED) {
			err = -errno;
		} else {
			reg.ring_addr = (unsigned long)br;
			err = io_uring_register_buf_ring(&ring, &reg, 0);
			if (!err)
				io_uring_unregister_buf_ring(&ring, 0);
			munmap(br, 4096);
		}
		io_uring_queue_exit(&ring);
	}
	if (err) {
		if (c->io == CSMPD_IO_URING) {
			csmpd_log(CSMPD_ERR, "IO_BACKEND",
				  "--io uring: io_uring unavailable: %s",
				  strerror(-err));
			return NULL;
		}
		csmpd_log(CSMPD_NOTICE, "IO_BACKEND",
			  "io_uring unavailable (%s): using recvmmsg/sendmmsg",
			  strerror(-err));
		return &csmpd_io_mmsg;
	}
	csmpd_log(CSMPD_INFO, "IO_BACKEND", "using io_uring");
	return &csmpd_io_uring;
}

/* ---- life cycle ------------------------------------------------------------ */

static int io_init(struct csmpd_daemon *d)
{
	d->io = pick_io(&d->cfg);
	return d->io ? 0 : -ENOSYS;
}

static int sign_init(struct csmpd_daemon *d)
{
	int err = csmpd_sign_init(d);

	if (!err && !d->sign_key)
		csmpd_log(CSMPD_WARNING, "UNSIGNED",
			  "no --nms-key: registration answers are not signed");
	return err;
}

static int workers_alloc(struct csmpd_daemon *d)
{
	unsigned int i;

	d->n_workers = d->cfg.workers;
	d->workers = calloc(d->n_workers, sizeof(*d->workers));
	if (!d->workers)
		return -ENOMEM;
	for (i = 0; i < d->n_workers; i++)
		d->workers[i].evfd = -1;
	return 0;
}

static void workers_free(struct csmpd_daemon *d)
{
	free(d->workers);
	d->workers = NULL;
}

static int device_keys_load(struct csmpd_daemon *d)
{
	return d->cfg.device_keys ?
	       csmpd_keys_load_dir(d, d->cfg.device_keys) : 0;
}

/* The routing key decides every device's shard and is written into the
 * SessionIDs: the registry restored it when there is one. */
static int routing_key(struct csmpd_daemon *d)
{
	if (d->bucket_key[0] || d->bucket_key[1])
		return 0;
	if (getrandom(d->bucket_key, sizeof(d->bucket_key), 0) !=
	    sizeof(d->bucket_key)) {
		csmpd_log(CSMPD_ERR, "START", "getrandom: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

static int workers_run(struct csmpd_daemon *d)
{
	int err = csmpd_workers_start(d);

	if (!err)
		csmpd_log(CSMPD_NOTICE, "START",
			  "csmpd up: %u workers, %s, backend id %04x, policy %s",
			  d->n_workers, d->io->name, d->cfg.backend_id,
			  csmpd_policy_devices(d));
	return err;
}

static void workers_halt(struct csmpd_daemon *d)
{
	csmpd_workers_stop(d);
	csmpd_workers_join(d);
	csmpd_stats_log_shutdown(d);
}

struct subsys {
	const char *name;
	int (*init)(struct csmpd_daemon *d);	/* privileged set-up */
	int (*start)(struct csmpd_daemon *d);	/* threads, after the drop */
	void (*stop)(struct csmpd_daemon *d);	/* undoes start */
	void (*fini)(struct csmpd_daemon *d);	/* undoes init */
};

/*
 * In start-up order. The registry loads its devices into the workers'
 * shards and restores the routing key, so it comes after the workers'
 * state and before the sockets (steering needs the final key); the
 * events, control and metrics are opened where root may, and the
 * privilege drop comes after every init that needs root and before any
 * thread. Workers start last and stop first: the registry, events and
 * control outlive them, so every record they pushed gets committed and
 * every control client its answer.
 */
static const struct subsys subsystems[] = {
	{ "io backend",	io_init,		NULL, NULL, NULL },
	{ "signing",	sign_init,		csmpd_sign_start, csmpd_sign_stop,
			csmpd_sign_fini },
	{ "workers",	workers_alloc,		NULL, NULL, workers_free },
	{ "policy",	csmpd_policy_init,	NULL, NULL, csmpd_policy_fini },
	{ "worker state", csmpd_workers_init,	NULL, NULL, csmpd_workers_fini },
	{ "device keys", csmpd_keys_init,	NULL, NULL, csmpd_keys_fini },
	{ "verification", csmpd_verify_init,	NULL, NULL, csmpd_verify_fini },
	{ "registry",	csmpd_registry_init,	csmpd_registry_start, NULL,
			csmpd_registry_fini },
	{ "key directory", device_keys_load,	NULL, NULL, NULL },
	{ "routing key", routing_key,		NULL, NULL, NULL },
	{ "events",	csmpd_events_init,	csmpd_events_start, NULL,
			csmpd_events_fini },
	{ "control",	csmpd_ctl_init,		csmpd_ctl_start, NULL,
			csmpd_ctl_fini },
	{ "http",	csmpd_http_init,	csmpd_http_start, NULL,
			csmpd_http_fini },
	{ "sockets",	csmpd_sockets_open,	NULL, NULL,
			csmpd_sockets_close },
	{ "privileges",	csmpd_privs_drop,	NULL, NULL, NULL },
	{ "workers",	NULL,			workers_run, workers_halt, NULL },
};

#define N_SUBSYS (sizeof(subsystems) / sizeof(subsystems[0]))

/* Every init, then every start; on failure, undo in reverse. Returns the
 * number of subsystems initialised (n_init) and started (n_start). */
static int lifecycle_up(struct csmpd_daemon *d, size_t *n_init,
			size_t *n_start)
{
	const struct subsys *s;
	int err;

	for (*n_init = 0; *n_init < N_SUBSYS; (*n_init)++) {
		s = &subsystems[*n_init];
		if (s->init && (err = s->init(d))) {
			csmpd_log(CSMPD_ERR, "START_FAIL", "%s: %s", s->name,
				  strerror(-err));
			return err;
		}
	}
	for (*n_start = 0; *n_start < N_SUBSYS; (*n_start)++) {
		s = &subsystems[*n_start];
		if (s->start && (err = s->start(d))) {
			csmpd_log(CSMPD_ERR, "START_FAIL", "%s: %s", s->name,
				  strerror(-err));
			return err;
		}
	}
	return 0;
}

static void lifecycle_down(struct csmpd_daemon *d, size_t n_init,
			   size_t n_start)
{
	size_t i;

	for (i = n_start; i-- > 0;)
		if (subsystems[i].start && subsystems[i].stop)
			subsystems[i].stop(d);
	for (i = n_init; i-- > 0;)
		if (subsystems[i].fini)
			subsystems[i].fini(d);
}

int main(int argc, char **argv)
{
	struct csmpd_daemon *d;
	size_t n_init = 0, n_start = 0;
	sigset_t sigs;
	int err, sig = 0;
	unsigned int i;
	bool done;

	d = calloc(1, sizeof(*d));
	if (!d)
		return 1;
	err = csmpd_conf_init(&d->cfg, argc, argv, &done);
	if (err || done) {
		free(d);
		return err ? 2 : 0;	/* it said why */
	}
	/* Before anything else exists (no socket, key or thread): what
	 * reads the configuration again for a reload. */
	err = csmpd_conf_reader_start(argc, argv, &d->cfg.reader);
	if (err) {
		fprintf(stderr, "csmpd: config reader: %s\n", strerror(-err));
		csmpd_conf_free(d);
		free(d);
		return 1;
	}
	csmpd_log_init(d->cfg.log_level);
	csmpd_log_target((enum csmpd_log_target)d->cfg.log_target);
	csmpd_sd_init();
	for (i = 0; i < d->cfg.n_report_tlvs; i++) {
		snprintf(d->report_tlv_str[i], sizeof(d->report_tlv_str[i]),
			 "%u", d->cfg.report_tlvs[i]);
		d->report_tlv_ptrs[i] = d->report_tlv_str[i];
	}

	/* Signals go to main only: workers never see them, main waits. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	err = lifecycle_up(d, &n_init, &n_start);
	if (!err) {
		csmpd_reload_note(true);	/* the start-up load */
		csmpd_sd_ready(d);
	}
	while (!err) {
		struct timespec wd;
		char why[512];
		int ret;

		/* With a systemd watchdog, wake at half its interval. */
		sig = csmpd_sd_watchdog_wait(&wd) ?
			      sigtimedwait(&sigs, NULL, &wd) :
			      sigwaitinfo(&sigs, NULL);
		csmpd_sd_watchdog(d);
		if (sig < 0)
			continue;	/* the timeout, or EINTR */
		if (sig != SIGHUP)
			break;
		csmpd_sd_reloading();
		/* Reopened whatever the config file says: logrotate sends
		 * SIGHUP after moving the file away. */
		if (csmp_events_reopen(d->events, why, sizeof(why)))
			csmpd_log(CSMPD_ERR, "EVENTS", "%s", why);
		ret = csmpd_conf_reload(d, why, sizeof(why));
		if (ret)
			csmpd_log(CSMPD_ERR, "CONFIG_RELOAD",
				  "%s; keeping the running policy", why);
		csmpd_reload_note(!ret);
		csmpd_sd_reloaded(!ret);
	}
	if (!err)
		csmpd_sd_stopping();
	if (!err) {
		if (!d->stop)
			csmpd_log(CSMPD_NOTICE, "STOP", "signal %d: draining",
				  sig);
		err = d->stop ? -EIO : 0;  /* a worker failed: exit non-zero */
	}
	lifecycle_down(d, n_init, n_start);
	csmpd_conf_free(d);
	free(d);
	return err ? 1 : 0;
}
