#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Bench suite "verify": uplink signature verification through csmpd, side by
# side with the raw verify rate of the same suite measured by
# csmp-cryptobench in the same run. csmpd runs in a namespace of its own
# with uplink-signature = optional; csmp-sim registers a fleet, every
# device's key is enrolled over the control socket, then ops_uplink sends
# distinct pre-signed reports, paced above what the workers can verify,
# and the rate is read from csmpd's verified counters (csmpctl stats):
#   verify_over_raw_ratio_{p256,ed25519}  verified/s per worker (1 worker)
#                                         over the raw verify rate
#   scaling_2_over_1                      P-256 verified/s, 2 workers over 1
#   good_throughput_ratio_under_bad_flood good verified/s with 10 % of the
#                                         traffic badly signed, over without
# Writes build/bench/verify.json and build/bench/verify.md.
#   scripts/bench/verify.sh   (VERIFY_SECONDS to change the run, default 4)
set -euo pipefail
cd "$(dirname "$0")/../.."
top=$PWD
out=build/bench
B=build/bin
UP=build/selftests/net/ops_uplink
secs=${VERIFY_SECONDS:-4}
devices=200
mkdir -p "$out"
for f in $B/csmpd $B/csmpctl $B/csmp-sim $B/csmp-cryptobench $UP; do
	[ -x "$f" ] || { echo "verify bench: $f missing (make all tests)" >&2; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "verify bench: needs root (netns)" >&2; exit 1; }

ns=csmpbv$$
tmp=$(mktemp -d /tmp/csmp-bench-verify.XXXXXX)
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

cmd_crypto="$B/csmp-cryptobench --seconds 0.5 --rounds 3"
$cmd_crypto >"$tmp/crypto.json"
raw_p256=$(jq .p256_raw_verify_per_s "$tmp/crypto.json")
raw_ed=$(jq .ed25519_raw_verify_per_s "$tmp/crypto.json")

$B/csmpctl keygen "$tmp/nms.pem" "$tmp/nms.pub" >/dev/null
$B/csmpctl keygen --suite p256 "$tmp/p256.pem" "$tmp/p256.pub" >/dev/null
$B/csmpctl keygen --suite ed25519 "$tmp/ed25519.pem" "$tmp/ed25519.pub" >/dev/null

ctl() { ip netns exec "$ns" $B/csmpctl --control "$tmp/ctl.sock" "$@"; }
verified() { ctl stats --json | jq '[.workers[].verified_ok] | add'; }
badsig() { ctl stats --json | jq '[.workers[].verify_failed.sig_bad] | add'; }

# run SUITE WORKERS BAD_RATE -> good verified per second (all workers)
run() {
	local suite=$1 workers=$2 bad=$3 raw rate v0 v1 b0 b1 t
	rm -f "$tmp/db"*
	printf '[policy]\nuplink-signature = optional\n' >"$tmp/conf"
	ip netns exec "$ns" $B/csmpd --config "$tmp/conf" --listen "$T" \
		--workers "$workers" --nms-key "$tmp/nms.pem" --db "$tmp/db" \
		--control "$tmp/ctl.sock" --log-level 3 2>"$tmp/log" &
	pid=$!
	for i in $(seq 100); do [ -S "$tmp/ctl.sock" ] && break; sleep 0.1; done
	ip netns exec "$ns" $B/csmp-sim --target "$T" --nms-pubkey "$tmp/nms.pub" \
		--devices $devices --until-registered --reg-min 1 --reg-max 2 \
		--report-interval 0 --quiet --json >/dev/null
	sleep 0.2
	ctl devices --json | jq -r '.devices[].eid' | while read -r e; do
		ctl enroll "$e" "$tmp/$suite.pub" >/dev/null
	done
	ctl devices --json | jq -r '.devices[].session' >"$tmp/sessions"
	raw=$([ "$suite" = p256 ] && echo "$raw_p256" || echo "$raw_ed")
	# Offer 1.5x what the workers could verify at the raw rate.
	rate=$(awk -v r="$raw" -v w="$workers" 'BEGIN {print int(r * w * 1.5)}')
	v0=$(verified)
	b0=$(badsig)
	ip netns exec "$ns" $UP --target "$T" --mode flood --sessions "$tmp/sessions" \
		--key "$tmp/$suite.pem" --distinct 20000 --bad-rate "$bad" \
		--rate "$rate" --seconds "$secs" >"$tmp/flood.json"
	v1=$(verified)
	b1=$(badsig)
	t=$(jq .seconds "$tmp/flood.json")
	kill -TERM $pid
	wait $pid || true
	pid=
	echo "$suite workers=$workers bad=$bad offered=$rate/s sent=$(jq .sent "$tmp/flood.json") verified=$((v1 - v0)) bad_dropped=$((b1 - b0)) in ${t}s" >&2
	awk -v v="$((v1 - v0))" -v t="$t" 'BEGIN {printf "%.1f", v / t}'
}

p1=$(run p256 1 0)
e1=$(run ed25519 1 0)
p2=$(run p256 2 0)
pb=$(run p256 1 0.1)

jq -n --argjson p1 "$p1" --argjson e1 "$e1" --argjson p2 "$p2" --argjson pb "$pb" \
	--argjson rp "$raw_p256" --argjson re "$raw_ed" '{
	verified_per_s_per_worker_p256: $p1,
	verified_per_s_per_worker_ed25519: $e1,
	verified_per_s_2_workers_p256: $p2,
	good_verified_per_s_bad_flood_p256: $pb,
	raw_verify_per_s_p256: $rp,
	raw_verify_per_s_ed25519: $re,
	verify_over_raw_ratio_p256: ($p1 / $rp),
	verify_over_raw_ratio_ed25519: ($e1 / $re),
	scaling_2_over_1: ($p2 / $p1),
	good_throughput_ratio_under_bad_flood: ($pb / $p1)
}' >"$out/verify.json"

j() { jq -r "$1" "$out/verify.json"; }
r() { printf "%.3f" "$(j "$1")"; }
n() { printf "%'.0f" "$(j "$1")"; }
{
	echo "## verify: uplink signature verification through csmpd"
	echo
	echo "csmpd in a network namespace on loopback, \`uplink-signature = optional\`, $devices devices"
	echo "registered by csmp-sim with their keys enrolled over the control socket; ops_uplink sends"
	echo "20,000 distinct pre-signed reports round-robin for ${secs} s, paced at 1.5x the raw verify rate"
	echo "per worker, and the rate is csmpd's own verified counter over that time. The raw rate is"
	echo "csmp-cryptobench's, measured in the same run (one core, library alone). The machine has 2"
	echo "cores: the 2-worker run shares them with the sender."
	echo
	echo "| figure | value |"
	echo "| --- | ---: |"
	echo "| P-256 verified/s, 1 worker | $(n .verified_per_s_per_worker_p256) |"
	echo "| P-256 raw verify/s (cryptobench) | $(n .raw_verify_per_s_p256) |"
	echo "| **verify_over_raw_ratio_p256** | $(r .verify_over_raw_ratio_p256) |"
	echo "| Ed25519 verified/s, 1 worker | $(n .verified_per_s_per_worker_ed25519) |"
	echo "| Ed25519 raw verify/s (cryptobench) | $(n .raw_verify_per_s_ed25519) |"
	echo "| **verify_over_raw_ratio_ed25519** | $(r .verify_over_raw_ratio_ed25519) |"
	echo "| P-256 verified/s, 2 workers | $(n .verified_per_s_2_workers_p256) |"
	echo "| **scaling_2_over_1** | $(r .scaling_2_over_1) |"
	echo "| P-256 good verified/s, 1 worker, 10 % badly signed | $(n .good_verified_per_s_bad_flood_p256) |"
	echo "| **good_throughput_ratio_under_bad_flood** | $(r .good_throughput_ratio_under_bad_flood) |"
	echo
	echo "A bad signature costs the same verification as a good one (the check must run to fail), so"
	echo "with the workers saturated a 10 % flood can take up to 10 % of the good throughput."
	echo
	echo "Reproduce (root, after \`make all tests\`):"
	echo
	echo '```sh'
	echo "VERIFY_SECONDS=$secs scripts/bench/verify.sh   # also run by make bench"
	echo "$cmd_crypto | jq '.p256_raw_verify_per_s, .ed25519_raw_verify_per_s'"
	echo '```'
} >"$out/verify.md"
cat "$out/verify.json"
