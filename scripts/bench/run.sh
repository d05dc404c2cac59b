#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# make bench: runs every suite script scripts/bench/<suite>.sh. Each writes
# its figures as one flat JSON object to build/bench/<suite>.json and a
# Markdown section (table of figures plus the commands that reproduce them)
# to build/bench/<suite>.md. This script then assembles BENCHMARKS.md from
# the sections, in suite order, with the machine it ran on.
#   scripts/bench/run.sh [SUITE...]   (default: every suite)
set -euo pipefail
cd "$(dirname "$0")/../.."
out=build/bench
mkdir -p "$out"
suites=("$@")
if [ ${#suites[@]} = 0 ]; then
	for f in scripts/bench/*.sh; do
		s=$(basename "$f" .sh)
		[ "$s" = run ] || suites+=("$s")
	done
fi
rc=0
loads=()
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
for s in "${suites[@]}"; do
	echo "== bench $s (load average $(loadavg))"
	loads+=("$s: $(loadavg) at the start")
	if ! bash "scripts/bench/$s.sh"; then
		echo "bench $s failed" >&2
		rc=1
	fi
	[ -f "$out/$s.json" ] && jq . "$out/$s.json"
done
{
	echo "# Benchmarks"
	echo
	echo "Measured by \`make bench\` ($(date -u +%Y-%m-%d), $(uname -r), $(nproc) CPUs:"
	echo "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')). Figures are ratios measured"
	echo "side by side in one run; absolute numbers are for this machine only. Each suite's raw figures are"
	echo "in \`build/bench/<suite>.json\`."
	echo
	echo "Load average (1, 5, 15 min) when each suite started; figures taken well above 1 are not"
	echo "those of a quiet machine:"
	echo
	for l in "${loads[@]}"; do echo "- $l"; done
	for f in "$out"/*.md; do
		[ -f "$f" ] || continue
		echo
		cat "$f"
	done
} > BENCHMARKS.md
exit $rc
