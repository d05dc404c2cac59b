// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* The build's version (version.h). */
#include <stdio.h>

#include "csmp_version.h"
#include "version.h"

const char *csmp_version(void)
{
	return CSMP_VERSION;
}

int csmp_version_print(const char *prog)
{
	printf("%s %s\n", prog, CSMP_VERSION);
	return 0;
}
