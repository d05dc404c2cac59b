#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# A reload does not wait for idle workers. Two workers without steering:
# plain SO_REUSEPORT hands a share of the registrations to the other
# worker's inbox, which that worker drains when woken, between batches.
# With csmpd idle after such a hand-off, `csmpctl reload` must publish the
# new policy at once: a worker that kept its policy snapshot
# after draining its inbox stalled every reload for 2 s ("did not pass a
# batch boundary") and leaked the old policy.
source "$(dirname "$0")/../lib.sh"
require_root
require_cmd ip jq

SIM=$BIN/csmp-sim
CTL=$BIN/csmpctl
require_built "$SIM" "$CSMPD" "$CTL"

csmp_tmpdir reload-idle
chmod 755 "$tmp"	# reload reads the file as the run user
netns_add_lo he || exit 1
NS=$(ns he)
T='[::1]:61628'
N=64
"$CTL" keygen "$tmp/nms.pem" "$tmp/nms.pub" >/dev/null
cat >"$tmp/csmpd.conf" <<CONF
[csmpd]
listen = $T
workers = 2
nms-key = $tmp/nms.pem
control = $tmp/control.sock
db = $tmp/registry.db
[policy]
uplink-signature = off
CONF
no_line() { ! grep -q "$1" "$2"; }
ctl() { ip netns exec "$NS" "$CTL" --control "$tmp/control.sock" "$@"; }

check "csmpd starts with two workers" \
	csmpd_start "$NS" "$tmp/log" --config "$tmp/csmpd.conf" --user nobody
ip netns exec "$NS" "$SIM" --target "$T" --nms-pubkey "$tmp/nms.pub" \
	--devices $N --until-registered --reg-min 1 --reg-max 2 \
	--report-interval 0 --duration 30 --json --quiet >"$tmp/sim.json"
check "every device registered" test "$(jq .registered "$tmp/sim.json")" = $N

# One new device at a time, from an address of its own: about half of
# them reach the worker that does not own them and are handed over, and
# the owner's last act before it waits again is that inbox drain. Then,
# with both workers idle, a reload.
gen=1
for k in $(seq 10); do
	ip netns exec "$NS" "$SIM" --target "$T" --nms-pubkey "$tmp/nms.pub" \
		--devices 1 --eid-base "00C6$(printf %012X $k)" \
		--until-registered --reg-min 1 --reg-max 2 --report-interval 0 \
		--duration 10 --json --quiet >"$tmp/one.json"
	sleep 0.2	# both workers idle, waiting in I/O
	gen=$((gen + 1))
	t0=$(date +%s%N)
	out=$(ctl reload)
	ms=$((($(date +%s%N) - t0) / 1000000))
	diag "device $k: reload in $ms ms: $out"
	check "device $k registered" test "$(jq .registered "$tmp/one.json")" = 1
	check "idle workers: reload $gen published" \
		test "$out" = "policy generation $gen"
	check "idle workers: reload $gen took under 1 s" test $ms -lt 1000
done
check "no reload waited for a worker" \
	no_line "did not pass a batch boundary" "$tmp/log"
check "csmpd exits 0 on SIGTERM" csmpd_stop
hin=$(sed -n 's/.*STOPPED_IO:.* handoff out [0-9]* in \([0-9]*\).*/\1/p' "$tmp/log")
diag "datagrams handed to the owning worker: $hin"
check "registrations were handed between workers" test "${hin:-0}" -gt 0
tap_done
