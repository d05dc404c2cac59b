#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# One version for every program (libcsmp's csmp_version()): each --version
# prints "PROG VERSION" with the string the build generated, which is the
# VERSION file's for a tree without git (a tarball), also when that
# tarball is unpacked inside some other git repository, and VERSION plus
# the commit in this checkout.
source "$(dirname "$0")/../lib.sh"
require_cmd git tar
PROGS=(csmpctl csmp-request csmpdump csmp-blast csmp-loadgen csmp-cryptobench)
for p in "${PROGS[@]}"; do require_built "$BIN/$p"; done
require_file "$CSMP_BUILD/gen/csmp_version.h" "$CSMP_TOP/VERSION"
csmp_tmpdir cliversion

built=$(sed -n 's/^#define CSMP_VERSION "\(.*\)"$/\1/p' "$CSMP_BUILD/gen/csmp_version.h")
file=$(cat "$CSMP_TOP/VERSION")
diag "built $built, VERSION $file"
for p in "${PROGS[@]}"; do
	out=$("$BIN/$p" --version 2>&1)
	check "$p --version prints '$p $built'" [ "$out" = "$p $built" ]
done
if git -C "$CSMP_TOP" rev-parse HEAD >/dev/null 2>&1 &&
   ! git -C "$CSMP_TOP" describe --tags --match 'v[0-9]*' >/dev/null 2>&1; then
	c=$(git -C "$CSMP_TOP" rev-parse --short=12 HEAD)
	check "a checkout without a release tag reports VERSION+g<commit>" \
		[ "$(sh "$CSMP_TOP/scripts/version.sh" | sed 's/-dirty$//')" = "$file+g$c" ]
fi

# A tarball of the tree (what `git archive` makes), alone and inside
# another repository: VERSION, not someone's commit.
mkdir -p "$tmp/t" "$tmp/outer/src"
git -C "$CSMP_TOP" archive HEAD VERSION scripts/version.sh | tar -x -C "$tmp/t"
check "a tarball reports the VERSION file" \
	[ "$(sh "$tmp/t/scripts/version.sh")" = "$(cat "$tmp/t/VERSION")" ]
git -C "$tmp/outer" init -q && git -C "$tmp/outer" -c user.name=t -c user.email=t@t \
	commit -q --allow-empty -m outer
cp -r "$tmp/t/." "$tmp/outer/src/"
check "a tarball inside another repository reports the VERSION file" \
	[ "$(sh "$tmp/outer/src/scripts/version.sh")" = "$(cat "$tmp/t/VERSION")" ]
tap_done
