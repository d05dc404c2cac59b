/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The build's version, one string for every program: generated at build
 * time from `git describe`, or from the VERSION file where there is no git
 * (scripts/version.sh), into build/gen/csmp_version.h, which only
 * version.c includes, so a new commit recompiles one file.
 */
#ifndef LIBCSMP_VERSION_H
#define LIBCSMP_VERSION_H

/* "0.1.0", "0.1.0+g52d1bfedd92e", "0.2.0-3-g1234abcd5678-dirty". */
const char *csmp_version(void);

/* What --version prints on stdout: "PROG VERSION\n". Returns 0, the exit
 * status of a --version. */
int csmp_version_print(const char *prog);

#endif /* LIBCSMP_VERSION_H */
