/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * What every program's command line shares: -h/--help and --version are
 * answered before anything else on the line is parsed, opened or sent, so
 * that `csmpctl reload --help` or `csmpctl lb detach --help` prints its
 * usage and does nothing else, wherever the word stands and whatever
 * precedes it (an option that would fail, a file that does not exist).
 */
#ifndef LIBCSMP_CLI_H
#define LIBCSMP_CLI_H

#include <stdbool.h>
#include <stdio.h>

enum csmp_cli_early {
	CSMP_CLI_RUN = 0,	/* neither: go on */
	CSMP_CLI_HELP,		/* -h or --help */
	CSMP_CLI_VERSION,	/* --version */
};

/*
 * Scan argv[1..argc-1] up to a "--" for -h, --help or --version, and
 * return the first one found. A word that is an option's value counts too
 * ("--control --help" asks for help): asking for help never acts, so the
 * mistake costs nothing.
 */
enum csmp_cli_early csmp_cli_early(int argc, char *const argv[]);

/*
 * For a program with one usage text: answer help (usage(stdout)) or
 * --version ("PROG VERSION") and return true, the program then exits 0;
 * false when neither was asked. First thing in main().
 */
bool csmp_cli_answered(int argc, char *const argv[], const char *prog,
		       void (*usage)(FILE *f));

#endif /* LIBCSMP_CLI_H */
