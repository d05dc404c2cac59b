/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * csmpctl's command registry. Each command lives in its own file and
 * registers itself with CSMPCTL_COMMAND(); main.c parses the global options
 * (--json, --control PATH, --help) and dispatches on the first word, so a
 * new command touches no other file. -h/--help anywhere on a command's
 * line is answered by main.c from the command's help text before the
 * command runs: a command never sees it, so it cannot act on it.
 */
#ifndef CSMPCTL_H
#define CSMPCTL_H

#include <stdbool.h>
#include <stdio.h>

struct csmpctl_opts {
	bool json;		/* --json: machine-readable output */
	const char *control;	/* --control PATH: csmpd's control socket */
};

/* A command's entry point: argv[0] is the command's own name. Returns an
 * exit status (0 ok, 1 failure, 2 usage). */
typedef int (*csmpctl_fn)(int argc, char **argv, const struct csmpctl_opts *o);

struct csmpctl_cmd {
	const char *name;
	const char *usage;	/* one line: "devices [--count|EID]" */
	const char *help;	/* one sentence */
	csmpctl_fn fn;
	void (*usage_fn)(FILE *f);	/* the whole text (NULL: usage + help) */
	struct csmpctl_cmd *next;
};

void csmpctl_register(struct csmpctl_cmd *cmd);

#define CSMPCTL_COMMAND_HELP(id, nm, us, hl, f, ufn)                           \
	static struct csmpctl_cmd csmpctl_cmd_##id = {                         \
		.name = nm, .usage = us, .help = hl, .fn = f,                  \
		.usage_fn = ufn };                                             \
	__attribute__((constructor)) static void csmpctl_reg_##id(void)        \
	{                                                                      \
		csmpctl_register(&csmpctl_cmd_##id);                           \
	}
#define CSMPCTL_COMMAND(id, nm, us, hl, f)                                     \
	CSMPCTL_COMMAND_HELP(id, nm, us, hl, f, NULL)

#endif /* CSMPCTL_H */
