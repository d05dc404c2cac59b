// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * csmpd, the CSMP head-end daemon: command line, then one life-cycle
 * table of subsystems, each with {init, start, stop, fini}. Every init
 * runs in table order (privileged set-up first, as STYLE.md asks: key,
 * state, registry, sockets, sk_reuseport; the privilege drop last), then
 * every start (the threads, unprivileged), and on any failure what was
 * done is undone in reverse, the same way as at a normal exit. SIGTERM and
 * SIGINT stop the workers, which answer what they already received and
 * send every queued reply before the process exits 0.
 */
#include <getopt.h>
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

#define DEFAULT_REPORT_INTERVAL	900	/* FND's shortest report interval */
#define DEFAULT_SIG_LIFETIME	3600
#define DEFAULT_SIG_SLACK	60

static void usage(FILE *f)
{
	fprintf(f,
"usage: csmpd [OPTIONS]\n"
"The CSMP head-end daemon: answers device registrations (CON POST /r) with a\n"
"signed 2.03, keeps each device's session and latest report, logs\n"
"notifications. One worker thread, io_uring and SO_REUSEPORT socket per\n"
"listening address per CPU.\n"
"\n"
"  --config FILE          read settings from FILE; options below override it\n"
"  --listen ADDR:PORT     listen here (repeatable; [v6]:port or a.b.c.d:port);\n"
"                         default [::]:61628 and [::]:61624 (dual-stack)\n"
"  --workers N            worker threads (default: online CPUs)\n"
"  --io uring|mmsg        I/O backend (default: io_uring, recvmmsg/sendmmsg\n"
"                         when io_uring is unavailable)\n"
"  --uring-buffers N      io_uring provided buffers per worker, a power of 2\n"
"                         (default 512)\n"
"  --nms-key PEM          NMS private key (ECDSA P-256) signing every answer\n"
"  --unsigned             run without --nms-key: answers are not signed\n"
"                         (devices that require signatures refuse them)\n"
"  --backend-id HEX4      this node's id, first 4 characters of every\n"
"                         SessionID (default 0001)\n"
"  --policy open|allowlist  who may register (default open)\n"
"  --allow FILE           EIDs allowed under --policy allowlist, one per line\n"
"  --group ID             config group (GroupAssign type 1) devices belong to\n"
"  --report-interval S    ReportSubscribe interval (default %u)\n"
"  --report-tlvs LIST     ReportSubscribe TLV ids, e.g. 22,23,35 (default\n"
"                         22,23,25,35)\n"
"  --sig-lifetime S       SignatureValidity length (default %u)\n"
"  --sig-slack S          notBefore this far before now (default %u)\n"
"  --db PATH|CONNINFO     device registry: a SQLite file, or PostgreSQL\n"
"                         shared by a cluster (postgresql://... or\n"
"                         'host=... dbname=...'); a registration\n"
"                         is answered once its record is committed (the\n"
"                         config file's ack-after-commit = false answers at\n"
"                         once)\n"
"  --control PATH         control socket (csmpctl, csmp-request)\n"
"  --metrics ADDR:PORT    Prometheus metrics over HTTP\n"
"  --events PATH|-        events as JSON lines to PATH or stdout\n"
"  --user NAME            run as NAME once bound (default csmpd, else nobody)\n"
"  --device-keys DIR      enrolled device public keys, <EID>.pem\n"
"  --reply-ports LO-HI    this node's block of source ports for head-end\n"
"                         requests (csmp-request), split between the workers;\n"
"                         the same block as `csmpctl lb backend add --ports`\n"
"                         (default: one ephemeral port per worker, no LB)\n"
"  --log-level N          log severities 0..N (default 6; 7 = debug)\n"
"  --steer-workers[=DIR]  attach csmp_reuseport to each listening group, so\n"
"                         every device's datagrams reach the worker that owns\n"
"                         it; counters pinned in DIR (default /sys/fs/bpf/csmp)\n"
"  --foreground           csmpd never forks; accepted for init scripts\n"
"  -h, --help             this text\n"
"\n"
"Logs go to stderr as %%CSMP-<severity>-<MNEMONIC>: text, rate-limited per\n"
"mnemonic.\n"
"\n"
"Example (a key from `openssl ecparam -name prime256v1 -genkey -noout -out\n"
"nms.pem`):\n"
"  csmpd --listen '[::1]:61628' --workers 2 --nms-key nms.pem --backend-id 00a1 \\\n"
"        --report-interval 900 --report-tlvs 22,23,35\n",
		DEFAULT_REPORT_INTERVAL, DEFAULT_SIG_LIFETIME,
		DEFAULT_SIG_SLACK);
}

enum {
	OPT_CONFIG = 256, OPT_LISTEN, OPT_WORKERS, OPT_DB, OPT_NMS_KEY,
	OPT_CONTROL, OPT_METRICS, OPT_IO, OPT_BACKEND_ID, OPT_POLICY,
	OPT_ALLOW, OPT_REPORT_INTERVAL, OPT_REPORT_TLVS, OPT_LOG_LEVEL,
	OPT_FOREGROUND, OPT_GROUP, OPT_SIG_LIFETIME, OPT_SIG_SLACK,
	OPT_UNSIGNED, OPT_EVENTS, OPT_USER, OPT_DEVICE_KEYS, OPT_URING_BUFS,
	OPT_STEER_WORKERS,
	OPT_REPLY_PORTS,
};

static const struct option long_opts[] = {
	{ "config", required_argument, 0, OPT_CONFIG },
	{ "listen", required_argument, 0, OPT_LISTEN },
	{ "workers", required_argument, 0, OPT_WORKERS },
	{ "db", required_argument, 0, OPT_DB },
	{ "nms-key", required_argument, 0, OPT_NMS_KEY },
	{ "control", required_argument, 0, OPT_CONTROL },
	{ "metrics", required_argument, 0, OPT_METRICS },
	{ "io", required_argument, 0, OPT_IO },
	{ "backend-id", required_argument, 0, OPT_BACKEND_ID },
	{ "policy", required_argument, 0, OPT_POLICY },
	{ "allow", required_argument, 0, OPT_ALLOW },
	{ "group", required_argument, 0, OPT_GROUP },
	{ "report-interval", required_argument, 0, OPT_REPORT_INTERVAL },
	{ "report-tlvs", required_argument, 0, OPT_REPORT_TLVS },
	{ "sig-lifetime", required_argument, 0, OPT_SIG_LIFETIME },
	{ "sig-slack", required_argument, 0, OPT_SIG_SLACK },
	{ "log-level", required_argument, 0, OPT_LOG_LEVEL },
	{ "foreground", no_argument, 0, OPT_FOREGROUND },
	{ "unsigned", no_argument, 0, OPT_UNSIGNED },
	{ "events", required_argument, 0, OPT_EVENTS },
	{ "user", required_argument, 0, OPT_USER },
	{ "device-keys", required_argument, 0, OPT_DEVICE_KEYS },
	{ "uring-buffers", required_argument, 0, OPT_URING_BUFS },
	{ "steer-workers", optional_argument, 0, OPT_STEER_WORKERS },
	{ "reply-ports", required_argument, 0, OPT_REPLY_PORTS },
	{ "help", no_argument, 0, 'h' },
	{ 0, 0, 0, 0 },
};

static int parse_u32(const char *opt, const char *s, __u32 min, __u32 max,
		     __u32 *out)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || !*s || *end || v < min || v > max) {
		fprintf(stderr, "csmpd: --%s: expected a number in %u..%u, got '%s'\n",
			opt, min, max, s);
		return -EINVAL;
	}
	*out = (__u32)v;
	return 0;
}

static int parse_tlv_list(const char *s, struct csmpd_config *c)
{
	char buf[256], *tok, *save = NULL;

	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	c->n_report_tlvs = 0;
	for (tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		__u32 id;

		if (c->n_report_tlvs == CSMPD_MAX_REPORT_TLVS) {
			fprintf(stderr, "csmpd: --report-tlvs: at most %d ids (the agent keeps 15)\n",
				CSMPD_MAX_REPORT_TLVS);
			return -E2BIG;
		}
		if (parse_u32("report-tlvs", tok, 1, 0x7fffffff, &id))
			return -EINVAL;
		c->report_tlvs[c->n_report_tlvs++] = id;
	}
	return 0;
}

/* Apply one option to the configuration. */
static int apply_opt(struct csmpd_config *c, int opt, const char *arg)
{
	__u32 v;

	switch (opt) {
	case OPT_CONFIG:
		c->config_path = arg;
		return 0;
	case OPT_LISTEN:
		if (c->n_listen == CSMPD_MAX_LISTEN) {
			fprintf(stderr, "csmpd: at most %d --listen\n",
				CSMPD_MAX_LISTEN);
			return -E2BIG;
		}
		if (csmpd_parse_listen(arg, &c->listen[c->n_listen])) {
			fprintf(stderr, "csmpd: --listen: expected [v6]:port or a.b.c.d:port, got '%s'\n",
				arg);
			return -EINVAL;
		}
		c->n_listen++;
		return 0;
	case OPT_WORKERS:
		return parse_u32("workers", arg, 1, CSMPD_MAX_WORKERS,
				 &c->workers);
	case OPT_DB:
		c->db_path = arg;
		return 0;
	case OPT_NMS_KEY:
		c->nms_key_path = arg;
		return 0;
	case OPT_CONTROL:
		c->control_path = arg;
		return 0;
	case OPT_METRICS:
		c->metrics_addr = arg;
		return 0;
	case OPT_IO:
		if (!strcmp(arg, "uring") || !strcmp(arg, "io_uring"))
			c->io = CSMPD_IO_URING;
		else if (!strcmp(arg, "mmsg"))
			c->io = CSMPD_IO_MMSG;
		else {
			fprintf(stderr, "csmpd: --io: uring or mmsg, got '%s'\n",
				arg);
			return -EINVAL;
		}
		return 0;
	case OPT_BACKEND_ID: {
		char *end;
		unsigned long b;

		errno = 0;
		b = strtoul(arg, &end, 16);
		if (errno || !*arg || *end || strlen(arg) > 4 || b > 0xffff) {
			fprintf(stderr, "csmpd: --backend-id: 1 to 4 hex digits, got '%s'\n",
				arg);
			return -EINVAL;
		}
		c->backend_id = (__u16)b;
		return 0;
	}
	case OPT_POLICY:
		if (!strcmp(arg, "open"))
			c->policy = CSMPD_POLICY_OPEN;
		else if (!strcmp(arg, "allowlist"))
			c->policy = CSMPD_POLICY_ALLOWLIST;
		else {
			fprintf(stderr, "csmpd: --policy: open or allowlist, got '%s'\n",
				arg);
			return -EINVAL;
		}
		return 0;
	case OPT_ALLOW:
		c->allow_path = arg;
		return 0;
	case OPT_GROUP:
		if (parse_u32("group", arg, 0, UINT32_MAX, &v))
			return -EINVAL;
		c->group_set = true;
		c->group_id = v;
		return 0;
	case OPT_REPORT_INTERVAL:
		return parse_u32("report-interval", arg, 1, 7 * 86400,
				 &c->report_interval);
	case OPT_REPORT_TLVS:
		if (parse_tlv_list(arg, c)) {
			fprintf(stderr, "csmpd: --report-tlvs: comma-separated TLV ids, got '%s'\n",
				arg);
			return -EINVAL;
		}
		return 0;
	case OPT_SIG_LIFETIME:
		return parse_u32("sig-lifetime", arg, 1, 10 * 365 * 86400,
				 &c->sig_lifetime);
	case OPT_SIG_SLACK:
		return parse_u32("sig-slack", arg, 0, 86400, &c->sig_slack);
	case OPT_LOG_LEVEL:
		if (parse_u32("log-level", arg, 0, 7, &v))
			return -EINVAL;
		c->log_level = (int)v;
		return 0;
	case OPT_FOREGROUND:
		c->foreground = true;
		return 0;
	case OPT_UNSIGNED:
		c->unsigned_ok = true;
		return 0;
	case OPT_EVENTS:
		c->events_path = arg;
		return 0;
	case OPT_USER:
		c->user = arg;
		return 0;
	case OPT_DEVICE_KEYS:
		c->device_keys = arg;
		return 0;
	case OPT_STEER_WORKERS:
		c->steer_workers = true;
		c->steer_pin = arg;	/* NULL: steer.c's default */
		return 0;
	case OPT_REPLY_PORTS: {
		unsigned int lo, hi;
		int end = 0;

		if (sscanf(arg, "%u-%u%n", &lo, &hi, &end) != 2 || arg[end] ||
		    !lo || lo > hi || hi > 65535) {
			fprintf(stderr, "csmpd: --reply-ports: LO-HI, 1 <= LO <= HI <= 65535, got '%s'\n",
				arg);
			return -EINVAL;
		}
		c->reply.lo = (__u16)lo;
		c->reply.hi = (__u16)hi;
		return 0;
	}
	case OPT_URING_BUFS:
		if (parse_u32("uring-buffers", arg, 8, 32768, &v))
			return -EINVAL;
		if (v & (v - 1)) {
			fprintf(stderr, "csmpd: --uring-buffers: a power of 2, got %u\n",
				v);
			return -EINVAL;
		}
		c->uring_bufs = v;
		return 0;
	}
	return -EINVAL;
}

static void config_defaults(struct csmpd_config *c)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	memset(c, 0, sizeof(*c));
	c->workers = n < 1 ? 1 : n > CSMPD_MAX_WORKERS ? CSMPD_MAX_WORKERS :
							   (unsigned int)n;
	c->backend_id = 1;
	c->uring_bufs = 512;
	c->report_interval = DEFAULT_REPORT_INTERVAL;
	parse_tlv_list("22,23,25,35", c);
	c->sig_lifetime = DEFAULT_SIG_LIFETIME;
	c->sig_slack = DEFAULT_SIG_SLACK;
	c->sign_pool = 8192;	/* 512 KiB locked per worker */
	c->exchange_lifetime = CSMPD_EXCHANGE_LIFETIME;
	c->log_level = CSMPD_INFO;
	c->ack_after_commit = true;
}

/*
 * Two passes: the first only finds --config (so the file is read before
 * the flags), the second applies every flag over it.
 */
static int parse_args(struct csmpd_daemon *d, int argc, char **argv)
{
	struct csmpd_config *c = &d->cfg;
	bool listen_flag = false;
	int opt, err;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, "h", long_opts, NULL)) != -1)
		if (opt == OPT_CONFIG)
			c->config_path = optarg;
	if (c->config_path) {
		err = csmpd_conf_file(d, c->config_path);
		if (err)
			return err;	/* it printed file:line */
	}

	optind = 1;
	opterr = 1;
	while ((opt = getopt_long(argc, argv, "h", long_opts, NULL)) != -1) {
		if (opt == 'h') {
			usage(stdout);
			exit(0);
		}
		if (opt == '?') {
			usage(stderr);
			return -EINVAL;
		}
		/* --listen flags replace the file's list, not extend it. */
		if (opt == OPT_LISTEN && !listen_flag) {
			c->n_listen = 0;
			listen_flag = true;
		}
		err = apply_opt(c, opt, optarg);
		if (err)
			return err;
	}
	if (optind < argc) {
		fprintf(stderr, "csmpd: unexpected argument '%s'\n",
			argv[optind]);
		return -EINVAL;
	}

	if (!c->n_listen) {
		apply_opt(c, OPT_LISTEN, "[::]:61628");
		apply_opt(c, OPT_LISTEN, "[::]:61624");
	}
	if (!c->nms_key_path && !c->unsigned_ok) {
		fprintf(stderr, "csmpd: --nms-key PEM is required (registration answers must be signed); --unsigned to run without\n");
		return -EINVAL;
	}
	if (c->policy == CSMPD_POLICY_ALLOWLIST && !c->allow_path &&
	    !c->db_path && !c->config_path) {
		fprintf(stderr, "csmpd: --policy allowlist needs --allow FILE (or --db)\n");
		return -EINVAL;
	}
	return 0;
}

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
			  d->cfg.policy == CSMPD_POLICY_OPEN ? "open" :
							       "allowlist");
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

	d = calloc(1, sizeof(*d));
	if (!d)
		return 1;
	config_defaults(&d->cfg);
	err = parse_args(d, argc, argv);
	if (err) {
		csmpd_conf_free(d);
		free(d);
		return 2;
	}
	csmpd_log_init(d->cfg.log_level);
	csmpd_log_target(CSMPD_LOG_AUTO);
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
