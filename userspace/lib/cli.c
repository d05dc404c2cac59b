// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* -h/--help and --version before anything else (cli.h). */
#include <string.h>

#include "cli.h"
#include "version.h"

enum csmp_cli_early csmp_cli_early(int argc, char *const argv[])
{
	int i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			break;
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
			return CSMP_CLI_HELP;
		if (!strcmp(argv[i], "--version"))
			return CSMP_CLI_VERSION;
	}
	return CSMP_CLI_RUN;
}

bool csmp_cli_answered(int argc, char *const argv[], const char *prog,
		       void (*usage)(FILE *f))
{
	switch (csmp_cli_early(argc, argv)) {
	case CSMP_CLI_HELP:
		usage(stdout);
		return true;
	case CSMP_CLI_VERSION:
		csmp_version_print(prog);
		return true;
	default:
		return false;
	}
}
