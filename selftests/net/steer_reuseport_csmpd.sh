#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# csmpd --steer-workers end to end: csmp-sim's devices (one modified-EUI-64
# source address each) register with a 4-worker csmpd in a namespace of its
# own and then report with their SessionIDs. With csmp_reuseport attached,
# every registration and report arrives on the worker that owns the device,
# so csmpd hands nothing from one worker to another (its "handoff out"
# counter stays 0) and every device registers once, with no unknown
# session; the program's pinned counters show the DeviceID and SessionID
# keys at work. The same run without the flag hands datagrams off, which
# shows the counter measures what it should.
source "$(dirname "$0")/../lib.sh"
require_root
require_cmd ip openssl bpftool jq nsenter

SIM=$BIN/csmp-sim
require_built "$SIM" "$CSMPD"
ensure_bpffs || { echo "# SKIP cannot mount bpffs"; exit $KSFT_SKIP; }

csmp_tmpdir steer
pin=/sys/fs/bpf/csmp-test-steer-$$
N=400
cleanup() {
	[ -n "${KEEP:-}" ] && tmp=
	csmp_cleanup
	rm -rf "$pin"
}
trap cleanup EXIT

netns_add_lo he || exit 1
NS=$(ns he)
nms_keygen "$tmp"

# nsenter keeps the host's mounts (ip netns exec remounts /sys), so the
# pinned counters are readable from here.
in_ns() { nsenter --net="/run/netns/$NS" "$@"; }

# run LABEL CSMPD-ARGS...: csmpd, the fleet, SIGTERM; leaves $tmp/LABEL.log
# and $tmp/LABEL.json.
run() {
	local label=$1 log=$tmp/$1.log
	shift
	nsenter --net="/run/netns/$NS" "$CSMPD" --workers 4 --listen '[::1]:61628' \
		--nms-key "$tmp/nms.pem" --backend-id 00a1 "$@" 2>"$log" &
	pid=$!
	csmpd_wait_listen "$log" || return 1
	in_ns timeout 60 "$SIM" --target '[::1]:61628' --nms-pubkey "$tmp/nms.pub" \
		--devices $N --reg-min 1 --reg-max 4 --report-interval 1 \
		--until-registered --linger 2.5 --json --quiet >"$tmp/$label.json"
	csmpd_stop
}
# stat LABEL WORD: the number after WORD in csmpd's STOPPED lines.
stat() { sed -n "s/.*STOPPED.*[ (]$2 \([0-9]*\).*/\1/p" "$tmp/$1.log" | head -1; }
count() { # MAP KEY: packets summed over CPUs
	bpftool -j map lookup pinned "$pin/$1" key $2 0 0 0 2>/dev/null |
		jq '[.formatted.values[].value.packets] | add'
}

if run steer --steer-workers="$pin"; then
	ok "csmpd starts with --steer-workers"
	grep -q "%CSMP-6-STEER: csmp_reuseport on \[::1\]:61628: 4 workers" "$tmp/steer.log"
	check "csmp_reuseport attached to the group" test $? = 0
	check "every device registered" test "$(jq .registered "$tmp/steer.json")" = $N
	regs=$(stat steer registrations)
	reps=$(stat steer reports)
	check "csmpd answered every registration ($regs)" test "${regs:-0}" -ge $N
	check "reports arrived ($reps)" test "${reps:-0}" -ge $N
	check "no report had an unknown session" test "$(stat steer 'unknown session')" = 0
	out=$(stat steer 'handoff out')
	check "no datagram crossed between workers (handoff out ${out:-?})" test "$out" = 0
	dev=$(count csmp_rp_steer 4)
	ses=$(count csmp_rp_steer 2)
	diag "csmp_rp_steer: device_id $dev session $ses"
	check "registrations steered by DeviceID" test "${dev:-0}" -ge $N
	check "reports steered by SessionID" test "${ses:-0}" -ge "$reps"
	busy=0
	for w in 0 1 2 3; do
		[ "$(count csmp_rp_wcount $w)" -gt 0 ] && busy=$((busy + 1))
	done
	check "all 4 workers received devices" test $busy = 4
else
	not_ok "csmpd starts with --steer-workers"
fi

if run plain; then
	out=$(stat plain 'handoff out')
	diag "without --steer-workers: handoff out $out"
	check "without steering the kernel's hash hands datagrams off" test "${out:-0}" -gt 0
else
	not_ok "csmpd starts without --steer-workers"
fi
tap_done
