#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Run every libFuzzer target in build/fuzz/ for FUZZ_SECONDS each (default
# 60; `make fuzz`; selftests/run uses FUZZ_SMOKE_SECONDS=5 for `make check`).
# Seeds: the CSMP datagrams of both fixture captures, extracted at run time
# with csmpdump -x into build/fuzz/corpus/seed (never committed), plus
# selftests/fuzz/corpus/<target>/ when a target ships its own. New inputs
# go to build/fuzz/corpus/<target>/, crashes to build/fuzz/crashes/.
# FUZZ_TAP=1 prints one TAP line per target:
#   ok 1 fuzz_coap: 123456 runs, no crash
#   not ok 2 fuzz_tlv: crash, reproducer build/fuzz/crashes/fuzz_tlv-crash-...
set -u
cd "$(dirname "$0")/../.." || exit 1
B=${B:-build}
SECS=${FUZZ_SECONDS:-60}
TAP=${FUZZ_TAP:-0}
FIXTURES=${CSMP_FIXTURES:-$PWD/../shared/fixtures}
corpus=$B/fuzz/corpus crashes=$B/fuzz/crashes logs=$B/fuzz/logs

say() { [ "$TAP" = 1 ] && echo "# $*" || echo "$*"; }

targets=()
for t in "$B"/fuzz/*; do
	[ -f "$t" ] && [ -x "$t" ] && targets+=("$t")
done
if [ ${#targets[@]} = 0 ]; then
	say "no fuzz targets in $B/fuzz (make fuzzers)"
	[ "$TAP" = 1 ] && echo "not ok 1 fuzz targets built" && echo "1..1"
	exit 1
fi

mkdir -p "$corpus/seed" "$crashes" "$logs"
# Seed corpus from the captures: every CSMP UDP payload, one file each.
if [ ! -x "$B/bin/csmpdump" ]; then
	make --no-print-directory -s "$B/bin/csmpdump" >/dev/null || true
fi
for cap in "$FIXTURES"/*.pcap; do
	[ -f "$cap" ] || continue
	name=$(basename "$cap" .pcap)
	if ! "$B/bin/csmpdump" -q -r "$cap" -x "$corpus/seed/$name" >/dev/null; then
		say "warning: could not extract seeds from $cap"
	fi
done
nseeds=$(find "$corpus/seed" -type f | wc -l)
say "seed corpus: $nseeds datagrams from $FIXTURES"

n=0 fail=0
for t in "${targets[@]}"; do
	name=$(basename "$t")
	n=$((n + 1))
	mkdir -p "$corpus/$name"
	dirs=("$corpus/$name" "$corpus/seed")
	[ -d "selftests/fuzz/corpus/$name" ] && dirs+=("selftests/fuzz/corpus/$name")
	log=$logs/$name.log
	ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1} \
	UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1} \
	timeout --kill-after=10 $((SECS + 60)) \
		"$t" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$crashes/$name-" \
		"${dirs[@]}" >"$log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	repro=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
	if [ $rc = 0 ] && [ -n "$runs" ]; then
		line="$name: $runs runs, no crash"
		[ "$TAP" = 1 ] && echo "ok $n $line" || echo "$line"
		continue
	fi
	fail=$((fail + 1))
	if [ -n "$repro" ]; then
		line="$name: crash, reproducer $repro (run: $t $repro; log $log)"
	else
		line="$name: exit status $rc, no stats (log $log)"
	fi
	[ "$TAP" = 1 ] && echo "not ok $n $line" || echo "FAIL $line"
	grep -E 'ERROR|runtime error|SUMMARY|==[0-9]+==' "$log" | head -5 |
		sed 's/^/# /'
done
[ "$TAP" = 1 ] && echo "1..$n"
[ $fail = 0 ]
