#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# csmp-sim <-> csmpd over loopback in a namespace of their own, with both
# I/O backends (--io uring, --io mmsg): 2,000 simulated OpenCSMP devices,
# each from its own address (a local /64 on the namespace's lo, IID = the
# modified EUI-64), register; every ACK verifies with the NMS public key,
# none is refused, every device sends its first report at once and more
# per the ReportSubscribe interval csmpd hands out, and csmpd's own
# counters (its STOPPED line on SIGTERM) agree with what the sim sent.
# Then the open-loop mode: attempts at a fixed rate whatever the answers.
source "$(dirname "$0")/../lib.sh"
require_root
require_cmd ip openssl jq

SIM=$BIN/csmp-sim
require_built "$CSMPD" "$SIM"
N=2000

csmp_tmpdir simfleet
netns_add_lo he || exit 1
NS=$(ns he)
nms_keygen "$tmp"

start_csmpd() { # LOG ARGS...
	local log=$1
	shift
	csmpd_start "$NS" "$log" --listen '[::1]:61628' --workers 2 \
		--nms-key "$tmp/nms.pem" --backend-id 00b7 --report-interval 2 \
		--report-tlvs 22,23,35 "$@"
}

for io in uring mmsg; do
	log=$tmp/csmpd.$io.log
	if ! start_csmpd "$log" --io "$io"; then
		not_ok "$io: csmpd starts"
		continue
	fi
	ip netns exec "$NS" "$SIM" --target '[::1]:61628' \
		--nms-pubkey "$tmp/nms.pub" --devices $N --until-registered \
		--linger 2.5 --duration 25 --json --quiet >"$tmp/sim.$io.json"
	src=$?
	csmpd_stop
	crc=$?
	j=$tmp/sim.$io.json
	sim() { jq -r "$1" "$j"; }
	check "$io: csmp-sim exits 0 (every device registered)" test $src = 0
	check "$io: $N of $N registered" test "$(sim .registered)" = $N
	check "$io: one source address per device (prefix mode)" \
		test "$(sim .src_mode)" = prefix
	check "$io: every ACK verified with the NMS key" \
		test "$(sim .acks_verified)" = "$(sim .acks_2xx)" -a \
		"$(sim .acks_verified)" -ge $N
	check "$io: 0 bad signatures, 0 bad validity, 0 refusals" \
		test "$(sim .acks_bad_signature)" = 0 -a \
		"$(sim .acks_bad_validity)" = 0 -a "$(sim .acks_rejected)" = 0 \
		-a "$(sim .notifications_sent)" = 0
	check "$io: csmpd exits 0 on SIGTERM" test $crc = 0
	check "$io: csmpd answered every attempt the sim made" \
		test "$(csmpd_stopped registrations "$log")" = "$(sim .reg_attempts)"
	rep=$(csmpd_stopped reports "$log")
	check "$io: every report reached csmpd ($rep), first + periodic" \
		test -n "$rep" -a "$rep" = "$(sim .reports_sent)" -a \
		"$(sim .reports_sent)" -gt $N
	check "$io: no unknown session, nothing malformed" \
		test "$(csmpd_stopped session "$log")" = 0 -a \
		"$(csmpd_stopped malformed "$log")" = 0
	diag "$io: $(jq -c '{registered,reg_attempts,reports_sent,all_registered_s,reg_latency_ms}' "$j")"
done

# Open loop (--rate, the load generator's mode): attempts at the set rate
# whatever the answers, every device registered and re-registering.
log=$tmp/csmpd.rate.log
if start_csmpd "$log"; then
	ip netns exec "$NS" "$SIM" --target '[::1]:61628' \
		--nms-pubkey "$tmp/nms.pub" --devices 500 --rate 2000 \
		--duration 2 --json --quiet >"$tmp/sim.rate.json"
	csmpd_stop
	j=$tmp/sim.rate.json
	att=$(jq .reg_attempts "$j")
	check "--rate 2000 for 2 s: exactly 4000 attempts, got $att" \
		test "$att" = 4000
	check "--rate: all 500 registered, the rest re-registrations, all verified" \
		test "$(jq .registered "$j")" = 500 -a \
		"$(jq '.registered + .reregistrations' "$j")" = "$(jq .acks_verified "$j")" \
		-a "$(jq .acks_bad_signature "$j")" = 0
	check "--rate: csmpd answered every attempt" \
		test "$(csmpd_stopped registrations "$log")" = "$att"
else
	not_ok "rate: csmpd starts"
fi

check "no device route left behind" \
	test -z "$(ip -n "$NS" -6 route show table local | grep fd00:c5)"
tap_done
