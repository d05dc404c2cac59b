#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Bench suite "durable": what ack-after-commit costs. csmpd (2 workers,
# signed answers, a fresh SQLite registry with the default db-sync = full)
# runs in a namespace of its own, once with ack-after-commit = true (the
# default: a 2.03 leaves once its record is committed) and once with false
# (answered at once), alternately, twice each, in the same run. durable_reg
# registers distinct devices, keeping a fixed number of registrations
# outstanding (closed loop), and measures each answer's latency from the
# first send of its attempt:
#   reg_per_s_{ack,noack}              answers/s under a flood (window 64)
#   reg_latency_{p50,p99}_us_{ack,noack}   the same run's latencies
#   light_latency_{p50,p99}_us_{ack,noack} 4 outstanding: the cost of the
#                                      wait for one commit at low load
#   reg_rate_ack_over_noack            ratio of the flood rates
#   *_latency_*_ack_over_noack         ratios of the latencies
#   records_per_commit_ack             registrations per group commit
#   records_dropped_noack              answered registrations whose record
#                                      never reached the registry (the
#                                      writer's queue was full)
# Writes build/bench/durable.json and build/bench/durable.md.
#   scripts/bench/durable.sh   (DURABLE_DEVICES to change the flood, 20000)
set -euo pipefail
cd "$(dirname "$0")/../.."
out=build/bench
B=build/bin
REG=build/selftests/net/durable_reg
FIX=../shared/fixtures/opencsmp-register.pcap
devices=${DURABLE_DEVICES:-20000}
mkdir -p "$out"
for f in $B/csmpd $B/csmpctl $REG $FIX; do
	[ -e "$f" ] || { echo "durable bench: $f missing (make all tests)" >&2; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "durable bench: needs root (netns)" >&2; exit 1; }

ns=csmpbd$$
tmp=$(mktemp -d /tmp/csmp-bench-durable.XXXXXX)
chmod 755 "$tmp"
pid=
cleanup() {
	[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
	ip netns del "$ns" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
ip netns add "$ns"
ip -n "$ns" link set lo up
T='[::1]:61628'
$B/csmpctl keygen "$tmp/nms.pem" "$tmp/nms.pub" >/dev/null
printf '[csmpd]\nack-after-commit = true\n' >"$tmp/ack.conf"
printf '[csmpd]\nack-after-commit = false\n' >"$tmp/noack.conf"

ctl() { ip netns exec "$ns" $B/csmpctl --control "$tmp/ctl.sock" "$@"; }

# run MODE NAME DEVICES WINDOW: one csmpd, one fresh registry, one flood.
# Leaves $tmp/NAME.json (durable_reg) and $tmp/NAME.stats (csmpctl stats).
run() {
	local mode=$1 name=$2 n=$3 win=$4
	rm -f "$tmp/db"*
	ip netns exec "$ns" $B/csmpd --config "$tmp/$mode.conf" --listen "$T" \
		--workers 2 --nms-key "$tmp/nms.pem" --db "$tmp/db" \
		--control "$tmp/ctl.sock" --report-interval 3600 --log-level 3 \
		2>"$tmp/log" &
	pid=$!
	for _ in $(seq 100); do [ -S "$tmp/ctl.sock" ] && break; sleep 0.1; done
	ip netns exec "$ns" $REG flood --target "$T" --pcap "$FIX" \
		--devices "$n" --window "$win" --seconds 60 \
		--eid-base 00B0000000000000 >"$tmp/$name.json"
	sleep 0.3	# the writer catches up (without ack-after-commit)
	ctl stats --json >"$tmp/$name.stats"
	kill -TERM $pid
	wait $pid || true
	pid=
	echo "$name: $(jq -c '{answered,rate,latency_p50_us,latency_p99_us}' "$tmp/$name.json") registry $(jq -c '.registry | {records,commits,max_commit_us}' "$tmp/$name.stats") dropped $(jq '[.workers[].registry_dropped] | add' "$tmp/$name.stats")" >&2
	[ "$(jq .answered "$tmp/$name.json")" = "$n" ] || {
		echo "durable bench: $name: not every device was answered" >&2
		return 1
	}
}

cmd_flood="durable_reg flood --devices $devices --window 64"
cmd_light="durable_reg flood --devices 2000 --window 4"
run ack ack1 "$devices" 64
run noack noack1 "$devices" 64
run ack ack2 "$devices" 64
run noack noack2 "$devices" 64
run ack light_ack 2000 4
run noack light_noack 2000 4

# mean of the two runs of a figure
m() { jq -s "((.[0] | $3) + (.[1] | $3)) / 2" "$tmp/${1}1.$2" "$tmp/${1}2.$2"; }
jq -n \
	--argjson ra "$(m ack json .rate)" --argjson rn "$(m noack json .rate)" \
	--argjson a50 "$(m ack json .latency_p50_us)" \
	--argjson a99 "$(m ack json .latency_p99_us)" \
	--argjson n50 "$(m noack json .latency_p50_us)" \
	--argjson n99 "$(m noack json .latency_p99_us)" \
	--argjson la50 "$(jq .latency_p50_us "$tmp/light_ack.json")" \
	--argjson la99 "$(jq .latency_p99_us "$tmp/light_ack.json")" \
	--argjson ln50 "$(jq .latency_p50_us "$tmp/light_noack.json")" \
	--argjson ln99 "$(jq .latency_p99_us "$tmp/light_noack.json")" \
	--argjson rec "$(m ack stats .registry.records)" \
	--argjson com "$(m ack stats .registry.commits)" \
	--argjson drop "$(m noack stats '.workers | map(.registry_dropped) | add')" '{
	reg_per_s_ack: $ra,
	reg_per_s_noack: $rn,
	reg_rate_ack_over_noack: ($ra / $rn),
	reg_latency_p50_ack_over_noack: ($a50 / $n50),
	reg_latency_p99_ack_over_noack: ($a99 / $n99),
	light_latency_p50_ack_over_noack: ($la50 / $ln50),
	reg_latency_p50_us_ack: $a50,
	reg_latency_p99_us_ack: $a99,
	reg_latency_p50_us_noack: $n50,
	reg_latency_p99_us_noack: $n99,
	light_latency_p50_us_ack: $la50,
	light_latency_p99_us_ack: $la99,
	light_latency_p50_us_noack: $ln50,
	light_latency_p99_us_noack: $ln99,
	records_per_commit_ack: ($rec / $com),
	records_dropped_noack: $drop
}' >"$out/durable.json"

j() { jq -r "$1" "$out/durable.json"; }
r() { printf "%.3f" "$(j "$1")"; }
n() { printf "%'.0f" "$(j "$1")"; }
{
	echo "## durable: ack-after-commit (a 2.03 only once its record is committed)"
	echo
	echo "csmpd with 2 workers, signed answers and a fresh SQLite registry (\`db-sync = full\`: one fsync"
	echo "per commit) in a network namespace on loopback, alternately with \`ack-after-commit = true\` and"
	echo "\`false\`, twice each in the same run (figures are the means). \`durable_reg\` registers"
	echo "$devices distinct devices with the OpenCSMP capture, keeping 64 registrations outstanding, and"
	echo "times each answer from the send of its attempt; the light-load rows keep 4 outstanding over"
	echo "2,000 devices. The 2 cores are shared by csmpd's workers, its registry writer and the sender"
	echo "(a test helper built with ASan), so the rates are this machine's, not a ceiling."
	echo
	echo "| figure | ack-after-commit = true | false |"
	echo "| --- | ---: | ---: |"
	echo "| registrations answered/s (64 outstanding) | $(n .reg_per_s_ack) | $(n .reg_per_s_noack) |"
	echo "| latency p50 / p99, µs | $(n .reg_latency_p50_us_ack) / $(n .reg_latency_p99_us_ack) | $(n .reg_latency_p50_us_noack) / $(n .reg_latency_p99_us_noack) |"
	echo "| light load (4 outstanding): latency p50 / p99, µs | $(n .light_latency_p50_us_ack) / $(n .light_latency_p99_us_ack) | $(n .light_latency_p50_us_noack) / $(n .light_latency_p99_us_noack) |"
	echo "| answered registrations never written (writer queue full) | 0 by construction | $(n .records_dropped_noack) |"
	echo
	echo "| ratio | value |"
	echo "| --- | ---: |"
	echo "| **reg_rate_ack_over_noack** | $(r .reg_rate_ack_over_noack) |"
	echo "| reg_latency_p50_ack_over_noack (flood) | $(r .reg_latency_p50_ack_over_noack) |"
	echo "| reg_latency_p99_ack_over_noack (flood) | $(r .reg_latency_p99_ack_over_noack) |"
	echo "| light_latency_p50_ack_over_noack | $(r .light_latency_p50_ack_over_noack) |"
	echo "| registrations per group commit (ack-after-commit) | $(r .records_per_commit_ack) |"
	echo
	echo "With ack-after-commit every answer waits for the group commit of its record (one fsync shared"
	echo "by all the registrations of the group), which is the added latency at light load; under a"
	echo "flood the answers go at the pace the writer commits. Without it csmpd answers faster than the"
	echo "writer stores: the answered registrations beyond the writer's queues are never stored at all"
	echo "(the row above), and the others become durable only one commit later. The rates move by tens"
	echo "of percent between runs on this shared 2-core machine; compare within one run."
	echo
	echo "Reproduce (root, after \`make all tests\`):"
	echo
	echo '```sh'
	echo "DURABLE_DEVICES=$devices scripts/bench/durable.sh   # also run by make bench"
	echo "# by hand, in a namespace with csmpd on [::1]:61628 (config: ack-after-commit = true|false):"
	echo "build/selftests/net/$cmd_flood --target '[::1]:61628' --pcap $FIX"
	echo "build/selftests/net/$cmd_light --target '[::1]:61628' --pcap $FIX"
	echo '```'
} >"$out/durable.md"
cat "$out/durable.json"
