#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# The version every program reports (libcsmp's csmp_version(), --version):
# `git describe` of the source tree when the tree is a git checkout of its
# own (a v-prefixed tag when there is one, else VERSION plus the commit),
# otherwise the VERSION file alone, as in a release tarball or a Debian
# source package. The git check insists on this tree's own top directory,
# so a tarball unpacked inside some other repository reports VERSION and
# not that repository's commit.
top=$(cd "$(dirname "$0")/.." && pwd -P)
v=$(cat "$top/VERSION") || exit 1
if [ "$(git -C "$top" rev-parse --show-toplevel 2>/dev/null)" = "$top" ]; then
	if d=$(git -C "$top" describe --tags --match 'v[0-9]*' --dirty 2>/dev/null); then
		echo "${d#v}"
		exit 0
	fi
	if d=$(git -C "$top" describe --always --dirty --abbrev=12 2>/dev/null); then
		echo "$v+g$d"
		exit 0
	fi
fi
echo "$v"
