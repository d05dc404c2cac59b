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

CSMPD=$BIN/csmpd
SIM=$BIN/csmp-sim
for f in "$CSMPD" "$SIM"; do
	[ -x "$f" ] || { echo "# SKIP $f not built (make all)"; exit $KSFT_SKIP; }
done
N=2000

tmp=$(mktemp -d /tmp/csmp-simfleet.XXXXXX)
pid=
cleanup() {
	[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
	netns_cleanup
	rm -rf "$tmp"
}
trap cleanup EXIT

netns_add he || exit 1
NS=$(ns he)
ip -n "$NS" link set lo up
openssl ecparam -name prime256v1 -genkey -noout -out "$tmp/nms.pem" 2>/dev/null
openssl ec -in "$tmp/nms.pem" -pubout -out "$tmp/nms.pub" 2>/dev/null

start_csmpd() { # LOG ARGS...
	local log=$1 i
	shift
	: >"$log"
	ip netns exec "$NS" "$CSMPD" --listen '[::1]:61628' --workers 2 \
		--nms-key "$tmp/nms.pem" --backend-id 00b7 --report-interval 2 \
		--report-tlvs 22,23,35 "$@" 2>"$log" &
	pid=$!
	for i in $(seq 100); do
		grep -q '%CSMP-5-START' "$log" && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	sed 's/^/# /' "$log"
	return 1
}

stop_csmpd() {
	local rc
	kill -TERM "$pid"
	wait "$pid"
	rc=$?
	pid=
	return $rc
}

# The number after WORD in csmpd's STOPPED line.
stopped() { sed -n "s/.*%CSMP-5-STOPPED:.* $1 \([0-9]*\).*/\1/p" "$2"; }

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
	stop_csmpd
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
		test "$(stopped registrations "$log")" = "$(sim .reg_attempts)"
	rep=$(stopped reports "$log")
	check "$io: every report reached csmpd ($rep), first + periodic" \
		test -n "$rep" -a "$rep" = "$(sim .reports_sent)" -a \
		"$(sim .reports_sent)" -gt $N
	check "$io: no unknown session, nothing malformed" \
		test "$(stopped session "$log")" = 0 -a \
		"$(stopped malformed "$log")" = 0
	diag "$io: $(jq -c '{registered,reg_attempts,reports_sent,all_registered_s,reg_latency_ms}' "$j")"
done

# Open loop (--rate, the load generator's mode): attempts at the set rate
# whatever the answers, every device registered and re-registering.
log=$tmp/csmpd.rate.log
if start_csmpd "$log"; then
	ip netns exec "$NS" "$SIM" --target '[::1]:61628' \
		--nms-pubkey "$tmp/nms.pub" --devices 500 --rate 2000 \
		--duration 2 --json --quiet >"$tmp/sim.rate.json"
	stop_csmpd
	j=$tmp/sim.rate.json
	att=$(jq .reg_attempts "$j")
	check "--rate 2000 for 2 s: exactly 4000 attempts, got $att" \
		test "$att" = 4000
	check "--rate: all 500 registered, the rest re-registrations, all verified" \
		test "$(jq .registered "$j")" = 500 -a \
		"$(jq '.registered + .reregistrations' "$j")" = "$(jq .acks_verified "$j")" \
		-a "$(jq .acks_bad_signature "$j")" = 0
	check "--rate: csmpd answered every attempt" \
		test "$(stopped registrations "$log")" = "$att"
else
	not_ok "rate: csmpd starts"
fi

check "no device route left behind" \
	test -z "$(ip -n "$NS" -6 route show table local | grep fd00:c5)"
tap_done
