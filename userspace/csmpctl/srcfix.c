// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * csmpctl srcfix: the operator's front end to csmp_srcfix (libcsmp
 * srcfix.h), for a third-party head-end behind the LB that answers from
 * its own address. attach loads the TC egress program on an interface and
 * records which of the host's addresses (--backend-src) answer for which
 * VIP; detach removes the filter (and, with --backend-src, those records);
 * stats prints the pinned counters by reason.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>

#include "csmpctl.h"
#include "lbctl.h"
#include "srcfix.h"
#include "names.h"
#include <csmp/reason.h>

#define SF_MAX_SRC	16

static void sf_help(FILE *f)
{
	fprintf(f,
"usage: csmpctl [--json] srcfix [--pin-dir DIR] COMMAND\n"
"  attach IFACE --vip ADDR --backend-src ADDR [--backend-src ADDR...]\n"
"         [--port P] [--port-alt P]   (default ports %u and %u; 0 = none)\n"
"  detach IFACE [--backend-src ADDR...]   (those records are removed too)\n"
"  stats\n"
"Rewrites the source of UDP leaving IFACE from a --backend-src address and a\n"
"CSMP port to the VIP, checksums fixed (TC egress, csmp_srcfix).\n"
"Default --pin-dir %s\n"
"Example:\n"
"  csmpctl srcfix attach eth0 --vip 2001:db8::53 --backend-src 2001:db8:1::10\n"
"  csmpctl --json srcfix stats\n",
		CSMP_PORT, CSMP_PORT_ALT, CSMP_LB_PIN_ROOT);
}

static int sf_usage(FILE *f)
{
	sf_help(f);
	return 2;
}

struct sfargs {
	unsigned int ifindex;
	struct csmp_addr vip;
	bool have_vip;
	struct csmp_addr src[SF_MAX_SRC];
	unsigned int n_src;
	long port, port_alt;
};

static int addr_arg(const char *cmd, const char *s, struct csmp_addr *a)
{
	struct in6_addr in;

	if (csmp_lb_parse_addr(s, &in)) {
		fprintf(stderr, "csmpctl srcfix %s: '%s' is not an IPv6 or IPv4 address\n",
			cmd, s);
		return -EINVAL;
	}
	memcpy(a->a, &in, 16);
	return 0;
}

static int port_arg(const char *cmd, const char *s, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || !*s || *end || v < 0 || v > 65535) {
		fprintf(stderr, "csmpctl srcfix %s: port '%s' is not in 0..65535\n",
			cmd, s);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

static int parse(const char *cmd, int argc, char **argv, struct sfargs *a)
{
	static const struct option lo[] = {
		{ "vip", required_argument, 0, 'v' },
		{ "backend-src", required_argument, 0, 's' },
		{ "port", required_argument, 0, 'p' },
		{ "port-alt", required_argument, 0, 'a' },
		{ 0, 0, 0, 0 },
	};
	int opt;

	a->port = CSMP_PORT;
	a->port_alt = CSMP_PORT_ALT;
	optind = 0;	/* glibc: 0 re-initialises after main's getopt */
	while ((opt = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (opt) {
		case 'v':
			if (addr_arg(cmd, optarg, &a->vip))
				return -EINVAL;
			a->have_vip = true;
			break;
		case 's':
			if (a->n_src == SF_MAX_SRC) {
				fprintf(stderr, "csmpctl srcfix %s: at most %d --backend-src\n",
					cmd, SF_MAX_SRC);
				return -E2BIG;
			}
			if (addr_arg(cmd, optarg, &a->src[a->n_src]))
				return -EINVAL;
			a->n_src++;
			break;
		case 'p':
			if (port_arg(cmd, optarg, &a->port))
				return -EINVAL;
			break;
		case 'a':
			if (port_arg(cmd, optarg, &a->port_alt))
				return -EINVAL;
			break;
		default:
			return -EINVAL;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "csmpctl srcfix %s: expected one interface\n", cmd);
		return -EINVAL;
	}
	a->ifindex = if_nametoindex(argv[optind]);
	if (!a->ifindex) {
		fprintf(stderr, "csmpctl srcfix %s: %s: no such interface\n", cmd,
			argv[optind]);
		return -ENODEV;
	}
	return 0;
}

static bool v4_mapped(const struct csmp_addr *a)
{
	static const __u8 pfx[12] = { [10] = 0xff, [11] = 0xff };

	return !memcmp(a->a, pfx, sizeof(pfx));
}

static int cmd_attach(const char *pin, int argc, char **argv,
		      const struct csmpctl_opts *o)
{
	struct sfargs a = { 0 };
	struct csmp_srcfix_cfg cfg = { 0 };
	unsigned int i;
	int err;

	if (parse("attach", argc, argv, &a))
		return 2;
	if (!a.have_vip || !a.n_src || !a.port) {
		fprintf(stderr, "csmpctl srcfix attach: --vip, --backend-src and a non-zero --port are required\n");
		return 2;
	}
	cfg.vip = a.vip;
	cfg.port = (__u16)a.port;
	cfg.port_alt = (__u16)a.port_alt;
	/* A record the program would refuse stops us before attaching. */
	for (i = 0; i < a.n_src; i++) {
		if (v4_mapped(&a.src[i]) != v4_mapped(&a.vip)) {
			fprintf(stderr, "csmpctl srcfix attach: --backend-src and --vip must be of one address family\n");
			return 2;
		}
	}
	err = csmp_srcfix_attach(pin, a.ifindex);
	if (err) {
		fprintf(stderr, "csmpctl srcfix attach: %s: %s\n", argv[argc - 1],
			strerror(-err));
		return 1;
	}
	for (i = 0; i < a.n_src; i++) {
		err = csmp_srcfix_set(pin, &a.src[i], &cfg);
		if (err) {
			char s[INET6_ADDRSTRLEN];

			csmp_lb_format_addr((const struct in6_addr *)a.src[i].a,
					    s, sizeof(s));
			fprintf(stderr, "csmpctl srcfix attach: --backend-src %s: %s\n",
				s, strerror(-err));
			return 1;
		}
	}
	if (o->json)
		printf("{\"attached\":\"%s\",\"backend_src\":%u}\n",
		       argv[argc - 1], a.n_src);
	else
		printf("csmp_srcfix attached to %s egress (%u backend source address%s)\n",
		       argv[argc - 1], a.n_src, a.n_src == 1 ? "" : "es");
	return 0;
}

static int cmd_detach(const char *pin, int argc, char **argv,
		      const struct csmpctl_opts *o)
{
	struct sfargs a = { 0 };
	unsigned int i;
	int err, rc = 0;

	if (parse("detach", argc, argv, &a))
		return 2;
	err = csmp_srcfix_detach(a.ifindex);
	if (err) {
		fprintf(stderr, "csmpctl srcfix detach: %s: %s\n", argv[argc - 1],
			err == -ENOENT ? "csmp_srcfix is not attached" :
					 strerror(-err));
		rc = 1;
	}
	for (i = 0; i < a.n_src; i++) {
		err = csmp_srcfix_del(pin, &a.src[i]);
		if (err && err != -ENOENT) {
			fprintf(stderr, "csmpctl srcfix detach: %s\n",
				strerror(-err));
			rc = 1;
		}
	}
	if (!rc && o->json)
		printf("{\"detached\":\"%s\",\"backend_src_removed\":%u}\n",
		       argv[argc - 1], a.n_src);
	else if (!rc)
		printf("csmp_srcfix detached from %s\n", argv[argc - 1]);
	return rc;
}

static int cmd_stats(const char *pin, const struct csmpctl_opts *o)
{
	int fd = csmp_lb_map_fd(pin, CSMP_STR(CSMP_MAP_SF_STATS));
	struct csmp_count c;
	bool first = true;
	unsigned int r;

	if (fd < 0) {
		fprintf(stderr, "csmpctl srcfix stats: %s/%s: %s\n", pin,
			CSMP_STR(CSMP_MAP_SF_STATS), strerror(-fd));
		return 1;
	}
	if (o->json)
		printf("{\"reasons\":{");
	else
		printf("%-20s %12s %14s\n", "reason", "packets", "bytes");
	for (r = 0; r < CSMP_R__MAX; r++) {
		if (csmp_lb_count_sum(fd, r, &c) || !c.packets)
			continue;
		if (o->json)
			printf("%s\"%s\":{\"packets\":%llu,\"bytes\":%llu}",
			       first ? "" : ",", csmp_reason_name(r),
			       (unsigned long long)c.packets,
			       (unsigned long long)c.bytes);
		else
			printf("%-20s %12llu %14llu\n",
			       r == CSMP_R_OK ? "rewritten" : csmp_reason_name(r),
			       (unsigned long long)c.packets,
			       (unsigned long long)c.bytes);
		first = false;
	}
	if (o->json)
		printf("}}\n");
	close(fd);
	return 0;
}

static int sf_main(int argc, char **argv, const struct csmpctl_opts *o)
{
	const char *pin = CSMP_LB_PIN_ROOT;
	int i = 1;

	if (i + 1 < argc && !strcmp(argv[i], "--pin-dir")) {
		pin = argv[i + 1];
		i += 2;
	}
	if (i >= argc)
		return sf_usage(stderr);
	argc -= i;
	argv += i;
	if (!strcmp(argv[0], "attach"))
		return cmd_attach(pin, argc, argv, o);
	if (!strcmp(argv[0], "detach"))
		return cmd_detach(pin, argc, argv, o);
	if (!strcmp(argv[0], "stats") && argc == 1)
		return cmd_stats(pin, o);
	return sf_usage(stderr);
}

CSMPCTL_COMMAND_HELP(srcfix, "srcfix", "srcfix [--pin-dir D] attach|detach|stats",
		     "TC egress: replies of a third-party head-end leave from the VIP",
		     sf_main, sf_help)
