#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Build the Debian packages (csmpd, csmpd-tools, csmp-dkms) with
# `dpkg-buildpackage -us -uc -b` from a copy of the tree in build/deb/src/,
# so the packages' build flags never mix with the objects in build/, and
# check them with lintian. The .deb files land in build/deb/.
#   usage: scripts/deb-build.sh [--no-lintian]
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
B=${B:-build}
out=$top/$B/deb
lint=1
case ${1:-} in
--no-lintian) lint=0 ;;
"") ;;
*) echo "usage: scripts/deb-build.sh [--no-lintian]" >&2; exit 2 ;;
esac

ver=$(dpkg-parsechangelog -S Version)
src=$out/csmpd-${ver%-*}
rm -rf "$out"
mkdir -p "$src"
# The files git knows of plus new ones not ignored: what a commit would hold.
git ls-files -z --cached --others --exclude-standard |
	while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
	tar -c --null -T - | tar -x -C "$src"

echo "  DEB      $src (log: $out/build.log)"
if ! (cd "$src" && dpkg-buildpackage -us -uc -b -j"$(nproc)") >"$out/build.log" 2>&1; then
	tail -n 40 "$out/build.log" >&2
	echo "deb-build: dpkg-buildpackage failed (log: $out/build.log)" >&2
	exit 1
fi
ls "$out"/*.deb
[ $lint = 1 ] || exit 0
# Errors fail the build; warnings are printed for the packager.
lintian --fail-on error --tag-display-limit 0 "$out"/*.changes | tee "$out/lintian.log"
