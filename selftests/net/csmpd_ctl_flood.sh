#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The control socket under attack (issue 16 item 4). 140 connections that
# never send anything and 4 that send a batch of devices and stats
# requests (about a megabyte of answers) and never read: `csmpctl stats`
# must still answer, each time within 1 s. With 32 slots and no idle
# timeout, 32 idle connections locked csmpctl out ("too many clients"),
# and a client that did not read held the one control thread a second
# per blocked send. Then the idle and non-reading clients are closed by
# csmpd's idle timeout (10 s). Last, 8 non-reading clients at once, and
# csmpctl stats right behind them within 1 s.
source "$(dirname "$0")/../lib.sh"
require_root
require_cmd ip jq

SIM=$BIN/csmp-sim
CTL=$BIN/csmpctl
FLOOD=$CSMP_BUILD/selftests/net/ctl_flood
require_built "$SIM" "$CSMPD" "$CTL" "$FLOOD"

csmp_tmpdir ctl-flood
netns_add_lo he || exit 1
NS=$(ns he)
T='[::1]:61629'
IDLE=140
SLOW=4
"$CTL" keygen "$tmp/nms.pem" "$tmp/nms.pub" >/dev/null
cat >"$tmp/csmpd.conf" <<CONF
[csmpd]
listen = $T
workers = 1
nms-key = $tmp/nms.pem
control = $tmp/control.sock
db = $tmp/registry.db
[policy]
uplink-signature = off
CONF
ctl() { ip netns exec "$NS" "$CTL" --control "$tmp/control.sock" "$@"; }

check "csmpd starts" \
	csmpd_start "$NS" "$tmp/log" --config "$tmp/csmpd.conf"
ip netns exec "$NS" "$SIM" --target "$T" --nms-pubkey "$tmp/nms.pub" \
	--devices 200 --until-registered --reg-min 1 --reg-max 2 \
	--report-interval 0 --duration 30 --json --quiet >"$tmp/sim.json"
check "200 devices registered" test "$(jq .registered "$tmp/sim.json")" = 200

ip netns exec "$NS" "$FLOOD" "$tmp/control.sock" $IDLE $SLOW 13 \
	>"$tmp/flood.out" 2>&1 &
fpid=$!
for i in $(seq 100); do
	grep -q ready "$tmp/flood.out" && break
	sleep 0.1
done
check "the attack is set up" grep -q ready "$tmp/flood.out"
worst=0
for k in $(seq 5); do
	t0=$(date +%s%N)
	out=$(ctl --json stats 2>&1)
	rc=$?
	ms=$((($(date +%s%N) - t0) / 1000000))
	[ $ms -gt $worst ] && worst=$ms
	diag "stats $k: $ms ms"
	[ $rc = 0 ] || diag "csmpctl stats: $out"
	check "stats $k answers under attack" \
		test $rc = 0 -a "$(jq -r '.workers | length' <<<"$out" 2>/dev/null)" = 1
	sleep 0.3
done
diag "slowest csmpctl stats under attack: $worst ms"
check "every stats answered within 1 s" test $worst -lt 1000
wait $fpid
res=$(cat "$tmp/flood.out")
diag "$res"
check "idle clients closed by the idle timeout" \
	grep -q "idle_closed=$IDLE " "$tmp/flood.out"
check "non-reading clients dropped" grep -q "slow_closed=$SLOW " "$tmp/flood.out"
check "csmpctl stats after the attack" ctl stats

# Non-reading clients alone, csmpctl right behind them: a blocking send
# held the thread about a second for each.
ip netns exec "$NS" "$FLOOD" "$tmp/control.sock" 0 8 2 >"$tmp/flood2.out" 2>&1 &
fpid=$!
for i in $(seq 100); do
	grep -q ready "$tmp/flood2.out" && break
	sleep 0.05
done
t0=$(date +%s%N)
ctl stats >/dev/null
rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
diag "csmpctl stats behind 8 non-reading clients: $ms ms"
check "stats behind 8 non-reading clients within 1 s" test $rc = 0 -a $ms -lt 1000
wait $fpid
check "csmpd exits 0 on SIGTERM" csmpd_stop
tap_done
