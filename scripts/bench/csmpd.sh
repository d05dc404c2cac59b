#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Bench suite "csmpd": the head-end's I/O backends and its registration
# rate against the raw ECDSA P-256 sign rate, all measured in one run.
# csmpd (1 worker) is pinned to one CPU, the load generator (csmp-sim,
# open loop) to the other, in a network namespace of their own, on
# loopback. Rates are per worker CPU-second: csmpd's CPU time (every
# thread's schedstat) over a window of its own counters (csmpctl stats),
# the basis csmp-cryptobench uses for the raw sign rate. Keys:
#   uring_over_mmsg_ratio          the I/O backends at saturation: unsigned
#                                  registrations (request + answer, no
#                                  crypto) from csmp-blast (pre-built
#                                  datagrams, sendmmsg from 8 sockets),
#                                  datagrams per worker CPU-second, --io
#                                  uring over --io mmsg, median of the
#                                  per-round ratios of alternating rounds
#   uring_over_mmsg_ratio_wall     the same per wall-clock second
#   uring_syscalls_per_dgram, mmsg_syscalls_per_dgram
#                                  worker system calls per datagram handled
#                                  at saturation (perf stat, raw_syscalls)
#   uring_over_mmsg_ratio_sim      as the first, csmp-sim's registrations
#                                  (open loop, below saturation)
#   uring_over_mmsg_ratio_reports  the same for reports (receive only)
#   registrations_per_s_per_worker signed, distinct devices
#   raw_sign_per_s                 csmp-cryptobench P-256 raw sign rate
#   reg_over_sign_ratio            registrations / raw sign (sustained: the
#                                  nonce pool drains in the first fraction
#                                  of a second and is refilled only in the
#                                  worker's idle gaps, its CPU counted)
#   reg_over_sign_ratio_storm      a storm burst of up to the nonce pool's
#                                  size (6,000 distinct devices registering
#                                  within 0.2 s, pool full at the start):
#                                  registrations per CPU-second of csmpd's
#                                  threads except the pool's idle-priority
#                                  refill thread, over raw sign
#   reg_over_sign_ratio_storm_all_threads  the same, the refill thread's
#                                  CPU in the burst counted too
#   reports_over_sign_ratio        reports per CPU-second (--io uring, the
#                                  uring_reports_per_cpu_s figure) / raw sign
#   reg_over_sign_ratio_cached     the same, a small fleet re-registering
#                                  so that identical answers recur within
#                                  one validity second (signature cache)
# Writes build/bench/csmpd.json and build/bench/csmpd.md.
#   scripts/bench/csmpd.sh   (CSMPD_BENCH_SECONDS: window, default 3)
set -euo pipefail
cd "$(dirname "$0")/../.."
out=build/bench
B=build/bin
secs=${CSMPD_BENCH_SECONDS:-3}
mkdir -p "$out"
for f in $B/csmpd $B/csmpctl $B/csmp-sim $B/csmp-cryptobench $B/csmp-blast $B/csmpdump; do
	[ -x "$f" ] || { echo "csmpd bench: $f missing (make all)" >&2; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "csmpd bench: needs root (netns)" >&2; exit 1; }
ncpu=$(nproc)
CPU_D=$((ncpu > 1 ? 1 : 0))	# csmpd
CPU_G=0				# the load generator

ns=csmpbd$$
tmp=$(mktemp -d /tmp/csmp-bench-csmpd.XXXXXX)
chmod 755 "$tmp"
pid=
spid=
cleanup() {
	[ -n "$spid" ] && kill -KILL "$spid" 2>/dev/null
	[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
	ip netns del "$ns" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
ip netns add "$ns"
ip -n "$ns" link set lo up
T='[::1]:61628'
$B/csmpctl keygen "$tmp/nms.pem" "$tmp/nms.pub" >/dev/null

cmd_crypto="$B/csmp-cryptobench --suite p256 --seconds 0.5 --rounds 3 --cpu $CPU_D"
$cmd_crypto >"$tmp/crypto.json"
raw_sign=$(jq .p256_raw_sign_per_s "$tmp/crypto.json")

# csmpd's CPU time and run-queue wait in ns, every thread (schedstat).
cpu_ns() { cat /proc/"$pid"/task/*/schedstat 2>/dev/null | awk '{s += $1; w += $2} END {print s, w}'; }
# CPU time in ns of the nonce pool's refill thread (libcsmp names it).
pool_ns() {
	local t c=0
	for t in /proc/"$pid"/task/*; do
		[ "$(cat "$t/comm" 2>/dev/null)" = csmp-sigpool ] || continue
		c=$(awk '{print $1}' "$t/schedstat" 2>/dev/null || echo 0)
	done
	echo "$c"
}
# One counter summed over the workers.
ctr() { jq "[.workers[].$1] | add" "$2"; }
snap() { # FILE: wall ns, cpu ns, stats
	local t c
	t=$(date +%s%N)
	c=$(cpu_ns)
	ip netns exec "$ns" $B/csmpctl --control "$tmp/ctl.sock" --json stats >"$1.json"
	echo "$t $c $(ip netns exec "$ns" awk '/^Udp6RcvbufErrors/ {print $2}' /proc/net/snmp6) $(pool_ns)" >"$1.t"
}

# measure NAME START CSMPD-ARGS -- SIM-ARGS: csmpd + csmp-sim, counters
# sampled START s after the sim began and again $secs later. Prints
# "<per worker CPU-s of: received sent registrations reports> util".
measure() {
	local name=$1 start=$2 cargs=() sargs=()
	shift 2
	while [ $# -gt 0 ] && [ "$1" != -- ]; do cargs+=("$1"); shift; done
	shift
	sargs=("$@")
	rm -f "$tmp/ctl.sock"
	ip netns exec "$ns" taskset -c $CPU_D $B/csmpd --listen "$T" --workers 1 \
		--control "$tmp/ctl.sock" --log-level 3 "${cargs[@]}" \
		2>"$tmp/$name.log" &
	pid=$!
	for _ in $(seq 100); do [ -S "$tmp/ctl.sock" ] && break; sleep 0.1; done
	ip netns exec "$ns" taskset -c $CPU_G $B/csmp-sim --target "$T" \
		--quiet --json "${sargs[@]}" \
		--duration "$(awk -v a="$start" -v s="$secs" 'BEGIN {print a + s + 0.5}')" \
		>"$tmp/$name.sim.json" &
	spid=$!
	sleep "$start"
	snap "$tmp/$name.a"
	sleep "$secs"
	snap "$tmp/$name.b"
	wait "$spid" || true
	spid=
	kill -TERM "$pid"
	wait "$pid" || true
	pid=
	awk -v a="$(cat "$tmp/$name.a.t")" -v b="$(cat "$tmp/$name.b.t")" \
	    -v rx="$(( $(ctr received "$tmp/$name.b.json") - $(ctr received "$tmp/$name.a.json") ))" \
	    -v tx="$(( $(ctr sent "$tmp/$name.b.json") - $(ctr sent "$tmp/$name.a.json") ))" \
	    -v rg="$(( $(ctr registrations "$tmp/$name.b.json") - $(ctr registrations "$tmp/$name.a.json") ))" \
	    -v rp="$(( $(ctr reports "$tmp/$name.b.json") - $(ctr reports "$tmp/$name.a.json") ))" \
	    -v sg="$(( $(ctr signed "$tmp/$name.b.json") - $(ctr signed "$tmp/$name.a.json") ))" \
	    -v ch="$(( $(ctr signature_cache_hits "$tmp/$name.b.json") - $(ctr signature_cache_hits "$tmp/$name.a.json") ))" \
	    'BEGIN {
		split(a, x, " "); split(b, y, " ");
		wall = (y[1] - x[1]) / 1e9; cpu = (y[2] - x[2]) / 1e9;
		printf "{\"wall_s\":%.3f,\"cpu_s\":%.3f,\"util\":%.3f,", wall, cpu, cpu / wall;
		printf "\"rx\":%d,\"tx\":%d,\"registrations\":%d,\"reports\":%d,\"signed\":%d,\"cache_hits\":%d,", rx, tx, rg, rp, sg, ch;
		printf "\"dgrams_per_cpu_s\":%.1f,\"reg_per_cpu_s\":%.1f,\"reports_per_cpu_s\":%.1f,", (rx + tx) / cpu, rg / cpu, rp / cpu;
		printf "\"dgrams_per_wall_s\":%.1f,\"reg_per_wall_s\":%.1f,", (rx + tx) / wall, rg / wall;
		printf "\"rcvbuf_drops\":%d,\"runq_wait\":%.3f}\n", y[4] - x[4], (y[3] - x[3]) / 1e9 / wall;
	    }' >"$tmp/$name.json"
	echo "$name: $(jq -c . "$tmp/$name.json") sim $(jq -c '{reg_attempts,registered,reports_sent,acks_verified,acks_bad_signature,tx_errors}' "$tmp/$name.sim.json")" >&2
}

# The I/O backends at saturation. csmp-sim builds every message and runs
# a state machine per device: its one core offers a few tens of thousands
# of datagrams per second, below what one worker handles, so its runs
# above measure a half-idle worker (small batches). csmp-blast sends
# pre-built copies of the OpenCSMP registration capture (its own DeviceID
# per device, a new MID per send) with sendmmsg from 8 sockets, several
# times what one worker can take: the worker never waits for work and the
# surplus overflows its socket. Both processes get a session (autogroup)
# of their own at nice -20: with kernel.sched_autogroup_enabled a plain
# `nice` only ranks tasks within one session, and the other sessions on
# this shared machine would otherwise take turns on the pinned CPUs.
tpl="$tmp/tpl"
$B/csmpdump -r ../shared/fixtures/opencsmp-register.pcap -x "$tpl" -q
blast_secs=${CSMPD_BENCH_BLAST_SECONDS:-2}
# prio PID COMM: once PID runs COMM (ip netns exec, setsid and taskset
# exec in turn; setsid made its autogroup by then), raise that autogroup.
prio() {
	for _ in $(seq 100); do
		[ "$(cat /proc/"$1"/comm 2>/dev/null)" = "$2" ] && break
		sleep 0.01
	done
	echo -20 >/proc/"$1"/autogroup 2>/dev/null || true
}
# Worker system calls and datagrams over 1 s (perf stat on the tracepoints:
# counting, no per-call cost). Prints "syscalls datagrams".
syscalls() {
	local c=$tmp/sc
	perf stat -x, -e raw_syscalls:sys_enter -p "$pid" -o "$c.perf" -- \
		sh -c "ip netns exec $ns $B/csmpctl --control $tmp/ctl.sock --json stats >$c.a.json;
		       sleep 1;
		       ip netns exec $ns $B/csmpctl --control $tmp/ctl.sock --json stats >$c.b.json" \
		>/dev/null 2>&1 || { echo "null null"; return; }
	echo "$(awk -F, '/raw_syscalls:sys_enter/ {print $1}' "$c.perf") $(( $(ctr received "$c.b.json") + $(ctr sent "$c.b.json") - $(ctr received "$c.a.json") - $(ctr sent "$c.a.json") ))"
}
# blast NAME IO: csmpd --io IO --unsigned under csmp-blast; writes
# $tmp/NAME.json like measure() plus the syscall counts.
blast() {
	local name=$1 io=$2 bp sc
	rm -f "$tmp/ctl.sock"
	ip netns exec "$ns" setsid taskset -c $CPU_D $B/csmpd --listen "$T" \
		--workers 1 --control "$tmp/ctl.sock" --log-level 3 --io "$io" \
		--unsigned 2>"$tmp/$name.log" &
	pid=$!
	for _ in $(seq 100); do [ -S "$tmp/ctl.sock" ] && break; sleep 0.1; done
	prio "$pid" csmpd
	ip netns exec "$ns" setsid taskset -c $CPU_G $B/csmp-blast --target "$T" \
		--template "$tpl/1.bin" --devices 4096 --sockets 8 --batch 256 \
		--duration "$(awk -v s="$blast_secs" 'BEGIN {print s + 4}')" --json \
		>"$tmp/$name.blast.json" &
	spid=$!
	bp=$spid
	prio "$bp" csmp-blast
	sleep 1
	snap "$tmp/$name.a"
	sleep "$blast_secs"
	snap "$tmp/$name.b"
	sc=$(syscalls)
	wait "$bp" || true
	spid=
	kill -TERM "$pid"
	wait "$pid" || true
	pid=
	awk -v a="$(cat "$tmp/$name.a.t")" -v b="$(cat "$tmp/$name.b.t")" -v sc="$sc" \
	    -v rx="$(( $(ctr received "$tmp/$name.b.json") - $(ctr received "$tmp/$name.a.json") ))" \
	    -v tx="$(( $(ctr sent "$tmp/$name.b.json") - $(ctr sent "$tmp/$name.a.json") ))" \
	    -v rg="$(( $(ctr registrations "$tmp/$name.b.json") - $(ctr registrations "$tmp/$name.a.json") ))" \
	    'BEGIN {
		split(a, x, " "); split(b, y, " "); split(sc, z, " ");
		wall = (y[1] - x[1]) / 1e9; cpu = (y[2] - x[2]) / 1e9;
		printf "{\"wall_s\":%.3f,\"cpu_s\":%.3f,\"util\":%.3f,", wall, cpu, cpu / wall;
		printf "\"rx\":%d,\"tx\":%d,\"registrations\":%d,", rx, tx, rg;
		printf "\"dgrams_per_cpu_s\":%.1f,\"dgrams_per_wall_s\":%.1f,", (rx + tx) / cpu, (rx + tx) / wall;
		printf "\"rcvbuf_drops_per_s\":%.1f,\"runq_wait\":%.3f,", (y[4] - x[4]) / wall, (y[3] - x[3]) / 1e9 / wall;
		if (z[1] == "null" || z[2] + 0 == 0) printf "\"syscalls_per_dgram\":null}\n";
		else printf "\"syscalls_per_dgram\":%.5f}\n", z[1] / z[2];
	    }' >"$tmp/$name.json"
	echo "$name: $(jq -c . "$tmp/$name.json") blast $(jq -c '{sent_per_s,answers_per_s}' "$tmp/$name.blast.json")" >&2
}
# Alternating rounds, the order flipped every round (uring first, then
# mmsg first) so that a drift in the machine's load favours neither.
blast_rounds=${CSMPD_BENCH_BLAST_ROUNDS:-5}
for r in $(seq "$blast_rounds"); do
	if [ $((r % 2)) = 1 ]; then order="uring mmsg"; else order="mmsg uring"; fi
	for io in $order; do
		blast "sat_${io}_$r" "$io"
	done
done

# I/O: unsigned registrations (request + answer) from a fleet of 2,000
# re-registering open loop, and reports from the same fleet. Alternating
# rounds; each backend's figure is the mean of its rounds.
sim_reg_io=(--devices 2000 --rate 1000000 --verify-every 0)
sim_rep_io=(--devices 2000 --reg-min 1 --reg-max 1.5 --report-interval 0
	    --report-rate 1000000 --report-start 2 --verify-every 0)
for r in 1 2; do
	for io in uring mmsg; do
		measure "reg_${io}_$r" 1 --io $io --unsigned -- "${sim_reg_io[@]}"
		measure "rep_${io}_$r" 3 --io $io --unsigned -- "${sim_rep_io[@]}"
	done
done

# Signed registrations: distinct devices (every answer new: one signature
# each), then 200 devices cycling (the same device answered again within
# the second: identical signed bytes, the signature cache hits).
sim_reg_new=(--devices 400000 --rate 1000000 --nms-pubkey "$tmp/nms.pub" --verify-every 64)
sim_reg_cached=(--devices 200 --rate 1000000 --nms-pubkey "$tmp/nms.pub" --verify-every 64)
measure reg_signed 1 --io uring --nms-key "$tmp/nms.pem" -- "${sim_reg_new[@]}"
measure reg_cached 1 --io uring --nms-key "$tmp/nms.pem" -- "${sim_reg_cached[@]}"

# A storm burst: csmpd signing with its nonce pool full (waited for), then
# 6,000 distinct devices whose first attempts fall within 0.2 s, each
# answered once, retries aside (csmp-sim stops when all are registered;
# a busy sim retries, hence fewer devices than the 8,192 pairs). The window runs
# from before the first attempt to after the last answer; idle time in it
# costs no CPU. The refill thread works in the worker's idle gaps during the
# burst (it runs at SCHED_IDLE on the same CPU): its CPU is kept apart.
storm_devices=6000
sim_storm=(--devices $storm_devices --until-registered --reg-min 0.2 --reg-max 20
	   --nms-pubkey "$tmp/nms.pub" --verify-every 64 --duration 60)
storm() {
	local name=$1 full=
	rm -f "$tmp/ctl.sock"
	ip netns exec "$ns" taskset -c $CPU_D $B/csmpd --listen "$T" --workers 1 \
		--control "$tmp/ctl.sock" --log-level 3 --io uring \
		--nms-key "$tmp/nms.pem" --sign-pool 8192 2>"$tmp/$name.log" &
	pid=$!
	for _ in $(seq 100); do [ -S "$tmp/ctl.sock" ] && break; sleep 0.1; done
	for _ in $(seq 600); do
		ip netns exec "$ns" $B/csmpctl --control "$tmp/ctl.sock" --json stats >"$tmp/$name.p.json"
		full=$(jq '.sign_pool | .available == .capacity and .capacity > 0' "$tmp/$name.p.json")
		[ "$full" = true ] && break
		sleep 0.1
	done
	[ "$full" = true ] || { echo "csmpd bench: the nonce pool never filled" >&2; exit 1; }
	snap "$tmp/$name.a"
	ip netns exec "$ns" taskset -c $CPU_G $B/csmp-sim --target "$T" \
		--quiet --json "${sim_storm[@]}" >"$tmp/$name.sim.json" || true
	snap "$tmp/$name.b"
	kill -TERM "$pid"
	wait "$pid" || true
	pid=
	awk -v a="$(cat "$tmp/$name.a.t")" -v b="$(cat "$tmp/$name.b.t")" \
	    -v rg="$(( $(ctr registrations "$tmp/$name.b.json") - $(ctr registrations "$tmp/$name.a.json") ))" \
	    -v sg="$(( $(ctr signed "$tmp/$name.b.json") - $(ctr signed "$tmp/$name.a.json") ))" \
	    -v pl="$(( $(ctr signed_pooled "$tmp/$name.b.json") - $(ctr signed_pooled "$tmp/$name.a.json") ))" \
	    -v em="$(( $(ctr sign_pool_empty "$tmp/$name.b.json") - $(ctr sign_pool_empty "$tmp/$name.a.json") ))" \
	    -v ch="$(( $(ctr signature_cache_hits "$tmp/$name.b.json") - $(ctr signature_cache_hits "$tmp/$name.a.json") ))" \
	    -v cap="$(jq .sign_pool.capacity "$tmp/$name.b.json")" \
	    'BEGIN {
		split(a, x, " "); split(b, y, " ");
		wall = (y[1] - x[1]) / 1e9; all = (y[2] - x[2]) / 1e9;
		pool = (y[5] - x[5]) / 1e9; cpu = all - pool;
		printf "{\"wall_s\":%.3f,\"cpu_s\":%.4f,\"cpu_s_all_threads\":%.4f,\"refill_cpu_s\":%.4f,", wall, cpu, all, pool;
		printf "\"registrations\":%d,\"signed\":%d,\"signed_pooled\":%d,\"sign_pool_empty\":%d,\"cache_hits\":%d,\"pool_capacity\":%d,", rg, sg, pl, em, ch, cap;
		printf "\"reg_per_cpu_s\":%.1f,\"reg_per_cpu_s_all_threads\":%.1f}\n", rg / cpu, rg / all;
	    }' >"$tmp/$name.json"
	echo "$name: $(jq -c . "$tmp/$name.json") sim $(jq -c '{reg_attempts,registered,acks_verified,acks_bad_signature}' "$tmp/$name.sim.json")" >&2
}
storm reg_storm

mean() { local k=$1; shift; jq -s "map(.$k) | add / length" "$@"; }
f() { jq "$1" "$tmp/$2.json"; }
# Saturation rounds: median of the per-round ratios, and of each figure.
sat() { # KEY IO: the per-round values as a JSON array, round order
	local r a=()
	for r in $(seq "$blast_rounds"); do a+=("$tmp/sat_${2}_$r.json"); done
	jq -s "map(.$1)" "${a[@]}"
}
median='sort | if length % 2 == 1 then .[length / 2 | floor] else (.[length / 2 - 1] + .[length / 2]) / 2 end'
ratios() { jq -n --argjson u "$(sat "$1" uring)" --argjson m "$(sat "$1" mmsg)" \
	'[range(0; $u | length) | $u[.] / $m[.]]'; }
sat_ratio=$(ratios dgrams_per_cpu_s | jq "$median")
sat_ratio_wall=$(ratios dgrams_per_wall_s | jq "$median")
sat_ratios=$(ratios dgrams_per_cpu_s | jq -c 'map(. * 1000 | round / 1000)')
sat_u=$(sat dgrams_per_cpu_s uring | jq "$median")
sat_m=$(sat dgrams_per_cpu_s mmsg | jq "$median")
sat_uw=$(sat dgrams_per_wall_s uring | jq "$median")
sat_mw=$(sat dgrams_per_wall_s mmsg | jq "$median")
sat_uutil=$(sat util uring | jq "$median")
sat_mutil=$(sat util mmsg | jq "$median")
sat_usc=$(sat syscalls_per_dgram uring | jq "map(select(. != null)) | if length > 0 then $median else null end")
sat_msc=$(sat syscalls_per_dgram mmsg | jq "map(select(. != null)) | if length > 0 then $median else null end")
sat_drops=$(jq -s 'map(.rcvbuf_drops_per_s) | sort | .[length / 2 | floor]' "$tmp"/sat_*.json)
sat_offered=$(jq -s 'map(.sent_per_s) | sort | .[length / 2 | floor]' "$tmp"/sat_*.blast.json)
uring_reg=$(mean dgrams_per_cpu_s "$tmp"/reg_uring_[12].json)
mmsg_reg=$(mean dgrams_per_cpu_s "$tmp"/reg_mmsg_[12].json)
uring_rep=$(mean reports_per_cpu_s "$tmp"/rep_uring_[12].json)
mmsg_rep=$(mean reports_per_cpu_s "$tmp"/rep_mmsg_[12].json)
reg=$(f .reg_per_cpu_s reg_signed)
regc=$(f .reg_per_cpu_s reg_cached)
bad=$(jq -s 'map(.acks_bad_signature + .acks_bad_validity) | add' "$tmp"/reg_signed.sim.json "$tmp"/reg_cached.sim.json "$tmp"/reg_storm.sim.json)
ver=$(jq -s 'map(.acks_verified) | add' "$tmp"/reg_signed.sim.json "$tmp"/reg_cached.sim.json "$tmp"/reg_storm.sim.json)

jq -n --argjson ur "$uring_reg" --argjson mr "$mmsg_reg" \
	--argjson up "$uring_rep" --argjson mp "$mmsg_rep" \
	--argjson reg "$reg" --argjson regc "$regc" --argjson sign "$raw_sign" \
	--argjson util "$(f .util reg_signed)" --argjson wall "$(f .reg_per_wall_s reg_signed)" \
	--argjson hits "$(f .cache_hits reg_cached)" --argjson signed "$(f .signed reg_cached)" \
	--argjson regs_c "$(f .registrations reg_cached)" \
	--argjson bad "$bad" --argjson ver "$ver" \
	--argjson offered "$(jq .rates.attempts_per_s "$tmp/reg_signed.sim.json")" \
	--argjson rxw "$(f '.rx / .wall_s' reg_signed)" \
	--argjson drops "$(f '.rcvbuf_drops / .wall_s' reg_signed)" \
	--argjson runq "$(f .runq_wait reg_signed)" \
	--argjson sr "$sat_ratio" --argjson srw "$sat_ratio_wall" \
	--argjson su "$sat_u" --argjson sm "$sat_m" --argjson suw "$sat_uw" \
	--argjson smw "$sat_mw" --argjson suu "$sat_uutil" --argjson smu "$sat_mutil" \
	--argjson susc "$sat_usc" --argjson smsc "$sat_msc" \
	--argjson sdrops "$sat_drops" --argjson soff "$sat_offered" \
	--argjson srounds "$blast_rounds" \
	--argjson storm "$(cat "$tmp/reg_storm.json")" \
	--argjson sigd "$(jq '{p256_api_sign_pooled_per_s, p256_pool_refill_over_sign}' "$tmp/crypto.json")" '{
	uring_over_mmsg_ratio: $sr,
	uring_over_mmsg_ratio_wall: $srw,
	uring_sat_dgrams_per_cpu_s: $su,
	mmsg_sat_dgrams_per_cpu_s: $sm,
	uring_sat_dgrams_per_wall_s: $suw,
	mmsg_sat_dgrams_per_wall_s: $smw,
	uring_sat_worker_utilisation: $suu,
	mmsg_sat_worker_utilisation: $smu,
	uring_syscalls_per_dgram: $susc,
	mmsg_syscalls_per_dgram: $smsc,
	sat_offered_per_s: $soff,
	sat_rcvbuf_drops_per_s: $sdrops,
	sat_rounds: $srounds,
	uring_over_mmsg_ratio_sim: ($ur / $mr),
	uring_over_mmsg_ratio_reports: ($up / $mp),
	uring_dgrams_per_cpu_s: $ur,
	mmsg_dgrams_per_cpu_s: $mr,
	uring_reports_per_cpu_s: $up,
	mmsg_reports_per_cpu_s: $mp,
	registrations_per_s_per_worker: $reg,
	registrations_per_s_per_worker_cached: $regc,
	raw_sign_per_s: $sign,
	reg_over_sign_ratio: ($reg / $sign),
	reg_over_sign_ratio_cached: ($regc / $sign),
	reg_over_sign_ratio_storm: ($storm.reg_per_cpu_s / $sign),
	reg_over_sign_ratio_storm_all_threads: ($storm.reg_per_cpu_s_all_threads / $sign),
	storm_registrations_per_cpu_s: $storm.reg_per_cpu_s,
	storm_registrations: $storm.registrations,
	storm_signed_pooled: $storm.signed_pooled,
	storm_sign_pool_empty: $storm.sign_pool_empty,
	storm_signature_cache_hits: $storm.cache_hits,
	storm_pool_capacity: $storm.pool_capacity,
	storm_refill_cpu_s: $storm.refill_cpu_s,
	storm_cpu_s: $storm.cpu_s,
	storm_wall_s: $storm.wall_s,
	pooled_sign_over_raw_sign: ($sigd.p256_api_sign_pooled_per_s / $sign),
	pool_refill_over_sign: $sigd.p256_pool_refill_over_sign,
	reports_over_sign_ratio: ($up / $sign),
	cached_run_signature_cache_hit_share: (if $regs_c > 0 then $hits / $regs_c else 0 end),
	cached_run_signatures_computed: ($signed - $hits),
	signed_run_worker_utilisation: $util,
	signed_run_registrations_per_wall_s: $wall,
	signed_run_offered_per_s: $offered,
	signed_run_received_per_wall_s: $rxw,
	signed_run_rcvbuf_drops_per_s: $drops,
	signed_run_worker_runq_wait: $runq,
	sim_acks_verified: $ver,
	sim_acks_bad: $bad
}' >"$out/csmpd.json"

j() { jq -r "$1" "$out/csmpd.json"; }
r() { printf "%.3f" "$(j "$1")"; }
n() { printf "%'.0f" "$(j "$1")"; }
{
	echo "## csmpd: I/O backends and registrations per worker"
	echo
	echo "csmpd with 1 worker pinned to CPU $CPU_D, csmp-sim (open loop) pinned to CPU $CPU_G: on this"
	echo "$ncpu-CPU machine the load generator and the daemon would otherwise compete for the same"
	echo "cores. Both run in a network namespace of their own, on loopback; every device has its own"
	echo "source address (a local /64 on lo). Each figure is csmpd's own counters (\`csmpctl stats\`)"
	echo "over a ${secs} s window divided by the CPU time csmpd's threads used in that window"
	echo "(\`/proc/PID/task/*/schedstat\`): operations per worker CPU-second, the basis"
	echo "csmp-cryptobench uses for the raw sign rate. Wall-clock rates depend on what else runs on"
	echo "this shared machine: in the signed run csmp-sim offered $(n .signed_run_offered_per_s) registrations/s,"
	echo "csmpd took $(n .signed_run_received_per_wall_s)/s off its socket ($(n .signed_run_rcvbuf_drops_per_s)/s overflowed the receive buffers, as in a"
	echo "storm) and answered $(n .signed_run_registrations_per_wall_s)/s wall clock while its worker got"
	echo "$(r .signed_run_worker_utilisation) of CPU $CPU_D: for $(r .signed_run_worker_runq_wait) of the window it was runnable but waiting"
	echo "for the CPU (schedstat run-queue wait), taken by other jobs. Hence the normalisation to CPU time."
	echo
	echo "| figure | value |"
	echo "| --- | ---: |"
	echo "| saturated: datagrams/CPU-s, unsigned registrations, --io uring | $(n .uring_sat_dgrams_per_cpu_s) |"
	echo "| saturated: datagrams/CPU-s, unsigned registrations, --io mmsg | $(n .mmsg_sat_dgrams_per_cpu_s) |"
	echo "| **uring_over_mmsg_ratio** (median of $(j .sat_rounds) per-round ratios: $sat_ratios) | $(r .uring_over_mmsg_ratio) |"
	echo "| saturated: datagrams/wall-s, --io uring / --io mmsg | $(n .uring_sat_dgrams_per_wall_s) / $(n .mmsg_sat_dgrams_per_wall_s) |"
	echo "| uring_over_mmsg_ratio_wall | $(r .uring_over_mmsg_ratio_wall) |"
	echo "| saturated: worker CPU busy, --io uring / --io mmsg | $(r .uring_sat_worker_utilisation) / $(r .mmsg_sat_worker_utilisation) |"
	echo "| saturated: system calls per datagram, --io uring / --io mmsg | $(j .uring_syscalls_per_dgram) / $(j .mmsg_syscalls_per_dgram) |"
	echo "| csmp-sim (below saturation): datagrams/CPU-s, --io uring | $(n .uring_dgrams_per_cpu_s) |"
	echo "| csmp-sim (below saturation): datagrams/CPU-s, --io mmsg | $(n .mmsg_dgrams_per_cpu_s) |"
	echo "| uring_over_mmsg_ratio_sim | $(r .uring_over_mmsg_ratio_sim) |"
	echo "| reports/CPU-s, --io uring | $(n .uring_reports_per_cpu_s) |"
	echo "| reports/CPU-s, --io mmsg | $(n .mmsg_reports_per_cpu_s) |"
	echo "| uring_over_mmsg_ratio_reports | $(r .uring_over_mmsg_ratio_reports) |"
	echo "| signed registrations/CPU-s, distinct devices (**registrations_per_s_per_worker**) | $(n .registrations_per_s_per_worker) |"
	echo "| raw P-256 sign/s (csmp-cryptobench, CPU $CPU_D) | $(n .raw_sign_per_s) |"
	echo "| **reg_over_sign_ratio** | $(r .reg_over_sign_ratio) |"
	echo "| signed registrations/CPU-s, 200 devices re-registering | $(n .registrations_per_s_per_worker_cached) |"
	echo "| **reg_over_sign_ratio_cached** | $(r .reg_over_sign_ratio_cached) |"
	echo "| share of cached-run answers whose signature came from the cache | $(r .cached_run_signature_cache_hit_share) |"
	echo "| storm burst: signed registrations/CPU-s, refill thread apart ($(n .storm_registrations) answers, $(n .storm_signed_pooled) with a pooled nonce, $(n .storm_sign_pool_empty) afresh) | $(n .storm_registrations_per_cpu_s) |"
	echo "| **reg_over_sign_ratio_storm** | $(r .reg_over_sign_ratio_storm) |"
	echo "| reg_over_sign_ratio_storm_all_threads (the refill thread's $(r .storm_refill_cpu_s) CPU-s in the burst counted) | $(r .reg_over_sign_ratio_storm_all_threads) |"
	echo "| csmp-cryptobench: pooled csmp_sig_append / raw sign; one refill pair / one raw signature | $(r .pooled_sign_over_raw_sign); $(r .pool_refill_over_sign) |"
	echo "| **reports_over_sign_ratio** (reports/CPU-s, --io uring, over raw sign) | $(r .reports_over_sign_ratio) |"
	echo
	echo "**The I/O backends at saturation** (\`uring_over_mmsg_ratio\`): csmp-blast copies the OpenCSMP"
	echo "registration capture once per device (4,096 DeviceIDs), gives every send a new CoAP MID (new"
	echo "work, never a retransmission) and sends open loop with sendmmsg, 256 per call, from 8 sockets;"
	echo "it offered $(n .sat_offered_per_s) datagrams/s (median round), several times what one worker takes, so"
	echo "the worker never waits for work ($(n .sat_rcvbuf_drops_per_s)/s overflow its receive buffer). csmpd answers every"
	echo "registration unsigned (\`--unsigned\`): receive, classify, registry, reply, no crypto. A figure"
	echo "is requests received + answers sent, from csmpd's counters over ${blast_secs} s, per CPU-second of"
	echo "csmpd's threads and per wall second; $(j .sat_rounds) rounds alternate the backends (order flipped each"
	echo "round) and the ratio is the median of the per-round ratios. csmpd and csmp-blast each run in a"
	echo "session of their own (\`setsid\`) whose autogroup is set to nice -20: this machine enables"
	echo "\`kernel.sched_autogroup_enabled\`, under which a plain \`nice\` ranks tasks only within one"
	echo "session and the other sessions' jobs would share the pinned CPUs. System calls per datagram:"
	echo "\`perf stat -e raw_syscalls:sys_enter -p PID\` over 1 s right after each round's window, over the"
	echo "datagrams csmpd counted in that second (io_uring: one \`io_uring_enter\` submits the batch's"
	echo "replies and waits for the next completions; mmsg: \`poll\` + \`recvmmsg\` (64) + \`sendmmsg\` per batch)."
	echo "The csmp-sim I/O runs below (\`_sim\`, \`_reports\`) stay below saturation: csmp-sim builds every"
	echo "message and offers only tens of thousands per second from its one core."
	echo
	echo "The I/O figures use answers that need no signature (\`csmpd --unsigned\`; the sim accepts them"
	echo "unchecked with \`--verify-every 0\`), so they measure receive, classify, registry and reply"
	echo "without crypto; two alternating rounds per backend, averaged. The signed runs answer every"
	echo "registration with a signed 2.03; the sim verifies one ACK in 64 with the NMS public key"
	echo "($(j .sim_acks_verified) verified, $(j .sim_acks_bad) refused)."
	echo "**The cached case**: csmpd reuses a signature when the bytes it signs are identical, and an"
	echo "answer's signed bytes (ReportSubscribe, SessionID, SignatureValidity) are identical when the"
	echo "same device, which keeps its SessionID, registers again within the same validity second. 200"
	echo "devices re-registering open loop (a new MID each time, so no duplicate-request shortcut) make"
	echo "most answers such repeats; a fleet of distinct devices never does. A registration storm from a"
	echo "fleet that keeps retrying, with answers lost on the way, is where this matters."
	echo
	echo "**The storm burst** (\`reg_over_sign_ratio_storm\`): csmpd signs with its nonce pool (8,192"
	echo "precomputed (k^-1, r) pairs per worker, filled by a refill thread at SCHED_IDLE); the run waits"
	echo "until \`csmpctl stats\` shows the pool full, then $(n .storm_registrations) answers go to $storm_devices distinct devices"
	echo "whose first attempts fall within 0.2 s ($(n .storm_signed_pooled) signed with a pooled nonce, $(n .storm_sign_pool_empty) afresh,"
	echo "$(n .storm_signature_cache_hits) from the signature cache: a device retrying within its second). The CPU is csmpd's"
	echo "threads from before the first attempt to after the last answer, less the refill thread, which"
	echo "ran in the worker's idle gaps ($(r .storm_refill_cpu_s) CPU-s of the burst's window, kept in the _all_threads figure)."
	echo "The sustained figure (\`reg_over_sign_ratio\`) runs far past the pool: there it is refilled only"
	echo "in idle gaps and most answers are signed afresh."
	echo
	echo "Reproduce (root, after \`make all\`):"
	echo
	echo '```sh'
	echo "CSMPD_BENCH_SECONDS=$secs scripts/bench/csmpd.sh   # also run by make bench"
	echo "$cmd_crypto | jq .p256_raw_sign_per_s"
	echo "# each run, in a netns, counters read with csmpctl --control CTL --json stats:"
	echo "csmpdump -r ../shared/fixtures/opencsmp-register.pcap -x TPL -q"
	echo "setsid taskset -c $CPU_D csmpd --listen '$T' --workers 1 --control CTL --io uring|mmsg --unsigned &"
	echo "echo -20 > /proc/\$CSMPD_PID/autogroup"
	echo "setsid taskset -c $CPU_G csmp-blast --target '$T' --template TPL/1.bin --devices 4096 --sockets 8 --batch 256 --duration $((blast_secs + 4)) --json &"
	echo "echo -20 > /proc/\$BLAST_PID/autogroup"
	echo "perf stat -e raw_syscalls:sys_enter -p \$CSMPD_PID -- sleep 1"
	echo "taskset -c $CPU_D csmpd --listen '$T' --workers 1 --control CTL --io uring|mmsg --unsigned"
	echo "taskset -c $CPU_G csmp-sim --target '$T' ${sim_reg_io[*]}"
	echo "taskset -c $CPU_G csmp-sim --target '$T' ${sim_rep_io[*]}"
	echo "taskset -c $CPU_D csmpd --listen '$T' --workers 1 --control CTL --io uring --nms-key nms.pem"
	echo "taskset -c $CPU_G csmp-sim --target '$T' --devices 400000 --rate 1000000 --nms-pubkey nms.pub --verify-every 64"
	echo "taskset -c $CPU_G csmp-sim --target '$T' --devices 200 --rate 1000000 --nms-pubkey nms.pub --verify-every 64"
	echo "# storm: csmpd as above with --sign-pool 8192 until csmpctl stats shows .sign_pool.available == .capacity, then"
	echo "taskset -c $CPU_G csmp-sim --target '$T' --devices $storm_devices --until-registered --reg-min 0.2 --reg-max 20 --nms-pubkey nms.pub --verify-every 64"
	echo '```'
} >"$out/csmpd.md"
cat "$out/csmpd.json"
