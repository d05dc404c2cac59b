// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * csmpctl: the operator's control tool for csmpd and the XDP steering
 * program. This file holds only the global options and the dispatch; every
 * command registers itself from its own file (csmpctl.h).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csmpctl.h"
#include "version.h"

#define CSMPCTL_DEFAULT_CONTROL "/run/csmpd/control.sock"

static struct csmpctl_cmd *cmds;

void csmpctl_register(struct csmpctl_cmd *cmd)
{
	struct csmpctl_cmd **p = &cmds;

	/* Keep the list sorted so --help reads the same on every build. */
	while (*p && strcmp((*p)->name, cmd->name) < 0)
		p = &(*p)->next;
	cmd->next = *p;
	*p = cmd;
}

static void usage(FILE *f)
{
	const struct csmpctl_cmd *c;

	fprintf(f, "usage: csmpctl [--json] [--control PATH] COMMAND [ARGS]\n\n"
		   "Commands:\n");
	for (c = cmds; c; c = c->next)
		fprintf(f, "  %-40s %s\n", c->usage, c->help);
	fprintf(f, "\nOptions:\n"
		   "  --json           machine-readable output\n"
		   "  --control PATH   csmpd control socket (default %s)\n"
		   "  -h, --help       this help\n"
		   "  --version        print csmpctl's version\n\n"
		   "Example:\n  csmpctl --control ./run/control.sock stats\n",
		CSMPCTL_DEFAULT_CONTROL);
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "control", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 },
	};
	struct csmpctl_opts o = { .control = CSMPCTL_DEFAULT_CONTROL };
	const struct csmpctl_cmd *c;
	int opt;

	/* '+': stop at the command word; its own options are its business. */
	while ((opt = getopt_long(argc, argv, "+h", lopts, NULL)) != -1) {
		switch (opt) {
		case 'j':
			o.json = true;
			break;
		case 'c':
			o.control = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			return csmp_version_print("csmpctl");
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	for (c = cmds; c; c = c->next) {
		if (!strcmp(c->name, argv[optind])) {
			int first = optind;

			/* glibc: optind = 0 reinitialises getopt for the
			 * command, which parses its own options. */
			optind = 0;
			return c->fn(argc - first, argv + first, &o);
		}
	}
	fprintf(stderr, "csmpctl: unknown command '%s'\n", argv[optind]);
	usage(stderr);
	return 2;
}
