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

#include "cli.h"
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
		   "  --version        print csmpctl's version\n"
		   "  COMMAND --help   the command's usage (it runs nothing)\n\n"
		   "Example:\n  csmpctl --control ./run/control.sock stats\n",
		CSMPCTL_DEFAULT_CONTROL);
}

static void cmd_usage(const struct csmpctl_cmd *c, FILE *f)
{
	if (c->usage_fn)
		c->usage_fn(f);
	else
		fprintf(f, "usage: csmpctl [--json] [--control PATH] %s\n%s\n",
			c->usage, c->help);
}

static const struct csmpctl_cmd *cmd_find(const char *name)
{
	const struct csmpctl_cmd *c;

	for (c = cmds; c; c = c->next)
		if (!strcmp(c->name, name))
			return c;
	return NULL;
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
	/* Before anything else: help and version never act (cli.h). */
	enum csmp_cli_early want = csmp_cli_early(argc, argv);
	struct csmpctl_opts o = { .control = CSMPCTL_DEFAULT_CONTROL };
	const struct csmpctl_cmd *c = NULL;
	int opt, first, i, n;

	/* Asked for help, a bad global option is not worth an error. */
	opterr = !want;
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
			if (want)
				break;
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc)
		c = cmd_find(argv[optind]);
	if (want == CSMP_CLI_VERSION)
		return csmp_version_print("csmpctl");
	if (want == CSMP_CLI_HELP) {
		if (c)
			cmd_usage(c, stdout);
		else
			usage(stdout);
		return 0;
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	if (!c) {
		fprintf(stderr, "csmpctl: unknown command '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	first = optind;
	/* --json means the same after the command word as before it, for
	 * every command: taken here, so no command has to parse it. */
	for (i = first + 1, n = first + 1; i < argc; i++) {
		if (!strcmp(argv[i], "--")) {
			while (i < argc)
				argv[n++] = argv[i++];
			break;
		}
		if (!strcmp(argv[i], "--json"))
			o.json = true;
		else
			argv[n++] = argv[i];
	}
	argc = n;
	argv[argc] = NULL;
	/* glibc: optind = 0 reinitialises getopt for the command, which
	 * parses its own options. */
	optind = 0;
	return c->fn(argc - first, argv + first, &o);
}
