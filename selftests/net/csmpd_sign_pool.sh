#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# csmpd's nonce pool (libcsmp sig_pool.c through proto/sign.c): the refill
# thread fills the pool at SCHED_IDLE, its memory is locked, not dumped and
# wiped on fork; a fleet's registrations are answered with pooled nonces and
# every ACK verifies with the NMS public key; the used pairs are made again;
# --sign-pool sizes the pool and --sign-pool 0 leaves it out, every answer
# then signed afresh. One namespace, loopback only.
source "$(dirname "$0")/../lib.sh"
require_root
require_cmd ip openssl jq

SIM=$BIN/csmp-sim
CTL=$BIN/csmpctl
require_built "$CSMPD" "$SIM" "$CTL"
N=300

csmp_tmpdir signpool
netns_add_lo he || exit 1
NS=$(ns he)
nms_keygen "$tmp" nms

log=$tmp/csmpd.log
POOL=1024
csmpd_start "$NS" "$log" --listen '[::1]:61628' --workers 1 \
	--nms-key "$tmp/nms.pem" --control "$tmp/ctl.sock" --sign-pool $POOL || exit 1
for _ in $(seq 50); do [ -S "$tmp/ctl.sock" ] && break; sleep 0.1; done
stats() { "$CTL" --control "$tmp/ctl.sock" --json stats >"$tmp/stats.json" && jq -r "$1" "$tmp/stats.json"; }
# wait_full: the pool full again (the refill thread is idle-priority and
# the machine may be busy: 60 s at most).
wait_full() {
	local i
	for i in $(seq 600); do
		[ "$(stats '.sign_pool | .available == .capacity')" = true ] && return 0
		sleep 0.1
	done
	return 1
}

check "csmpd logs its nonce pool" grep -q "%CSMP-6-SIGN_POOL: nonce pool: $POOL pairs x 1 workers" "$log"
check "the pool fills" wait_full
check "capacity is --sign-pool, $POOL pairs per worker" test "$(stats .sign_pool.capacity)" = $POOL
check "the refill thread runs at idle priority" test "$(stats .sign_pool.idle_priority)" = true
tid=
for t in /proc/"$pid"/task/*; do
	[ "$(cat "$t/comm")" = csmp-sigpool ] && tid=${t##*/}
done
# Field 41 of stat is the policy; SCHED_IDLE is 5 (comm has no spaces).
check "a thread named csmp-sigpool with policy SCHED_IDLE" \
	test -n "$tid" -a "$(awk '{print $41}' /proc/"$pid"/task/"$tid"/stat 2>/dev/null)" = 5
check "a mapping that is locked, not dumped and wiped on fork" \
	grep -q 'VmFlags:.* lo .*wf dd' /proc/"$pid"/smaps

ip netns exec "$NS" "$SIM" --target '[::1]:61628' --nms-pubkey "$tmp/nms.pub" \
	--devices $N --reg-min 0.5 --reg-max 4 --until-registered --duration 30 \
	--json --quiet >"$tmp/sim.json"
src=$?
sim() { jq -r "$1" "$tmp/sim.json"; }
check "every device registered" test $src = 0 -a "$(sim .registered)" = $N
check "every ACK verified with the NMS public key ($(sim .acks_verified))" \
	test "$(sim .acks_verified)" -ge $N -a "$(sim .acks_bad_signature)" = 0
signed=$(stats '[.workers[].signed] | add')
hits=$(stats '[.workers[].signature_cache_hits] | add')
pooled=$(stats '[.workers[].signed_pooled] | add')
diag "signed $signed, from the cache $hits, with a pooled nonce $pooled"
check "every signature computed took a pooled nonce" \
	test "$pooled" -ge $N -a "$pooled" = $((signed - hits))
check "none was signed afresh" test "$(stats '[.workers[].sign_pool_empty] | add')" = 0
check "the pool counts the pairs taken" test "$(stats .sign_pool.taken)" = "$pooled"
check "the used pairs are made again" wait_full
check "made = capacity + taken" \
	test "$(stats .sign_pool.made)" = $((POOL + pooled)) -a "$(stats .sign_pool.errors)" = 0
csmpd_stop
check "csmpd exits 0 on SIGTERM" test $? = 0

# No pool: the same fleet, every answer signed afresh and still valid.
rm -f "$tmp/ctl.sock"
csmpd_start "$NS" "$log" --listen '[::1]:61628' --workers 1 \
	--nms-key "$tmp/nms.pem" --control "$tmp/ctl.sock" --sign-pool 0 || exit 1
for _ in $(seq 50); do [ -S "$tmp/ctl.sock" ] && break; sleep 0.1; done
check "--sign-pool 0: no pool in the stats" test "$(stats '.sign_pool // "none"')" = none
check "--sign-pool 0: no refill thread" \
	sh -c "! grep -qx csmp-sigpool /proc/$pid/task/*/comm"
ip netns exec "$NS" "$SIM" --target '[::1]:61628' --nms-pubkey "$tmp/nms.pub" \
	--devices $N --reg-min 0.5 --reg-max 4 --until-registered --duration 30 \
	--eid-base 00C5000000100000 --json --quiet >"$tmp/sim.json"
check "--sign-pool 0: every device registered, every ACK verified" \
	test $? = 0 -a "$(sim .acks_verified)" -ge $N -a "$(sim .acks_bad_signature)" = 0
check "--sign-pool 0: no signature took a pooled nonce" \
	test "$(stats '[.workers[].signed_pooled] | add')" = 0 -a "$(stats '[.workers[].signed] | add')" -ge $N
csmpd_stop
check "csmpd exits 0 on SIGTERM" test $? = 0
tap_done
