#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# csmp-sim behaves like the OpenCSMP agent: against sim_responder (a
# scriptable head-end that checks every datagram) over loopback in a
# namespace of their own, with one source address per device from a local
# /64 on the namespace's lo:
#  - a good signed ACK registers every device in one attempt, the first
#    report follows, MIDs grow by one per request per device from 0, the
#    TLVs come in the agent's order with padded lengths, no token is sent,
#    and every source address carries the device's modified EUI-64;
#  - an ACK signed by another key, an empty 2.03, an expired validity and
#    the captured FND ACK (signed by a key we do not have) are all refused
#    with CGMSNotification code 2 while the backoff goes on;
#  - an ACK with a token is dropped silently (no notification);
#  - with one socket per device instead (--src ports, the mode without
#    root), registration works the same;
#  - the local route is gone after the run.
source "$(dirname "$0")/../lib.sh"
require_root
require_cmd jq openssl ip

SIM=$BIN/csmp-sim
RESP=$CSMP_BUILD/selftests/net/sim_responder
FIX=$CSMP_TOP/../shared/fixtures/opencsmp-register.pcap
[ -x "$SIM" ] && [ -x "$RESP" ] || { echo "# SKIP build csmp-sim and sim_responder first"; exit $KSFT_SKIP; }

csmp_tmpdir simbeh
prefix=fd00:c5:1:1::
port=61628
base=00C5000000000000
rpid=

cleanup() {
	[ -n "$rpid" ] && kill "$rpid" 2>/dev/null && wait "$rpid" 2>/dev/null
	csmp_cleanup
}
trap cleanup EXIT
netns_add_lo sim || exit 1
NS=$(ns sim)
nms_keygen "$tmp"

# run MODE DEVICES SIM-ARGS...: responder in MODE, then the sim; leaves
# $tmp/sim.json and $tmp/resp.json.
run() {
	local mode=$1 n=$2; shift 2
	: >"$tmp/resp.err"
	ip netns exec "$NS" "$RESP" --listen "[::1]:$port" --key "$tmp/nms.pem" --devices "$n" \
		--eid-base $base --mode "$mode" --fixture "$FIX" \
		--report-interval 1 --duration 30 >"$tmp/resp.json" \
		2>"$tmp/resp.err" &
	rpid=$!
	for _ in $(seq 50); do
		grep -q listening "$tmp/resp.err" && break
		sleep 0.1
	done
	timeout 30 ip netns exec "$NS" "$SIM" --target "[::1]:$port" --nms-pubkey "$tmp/nms.pub" \
		--devices "$n" --eid-base $base --src-prefix "$prefix" \
		--json --quiet "$@" >"$tmp/sim.json"
	kill -INT "$rpid"
	wait "$rpid"
	rpid=
}
sim() { jq -r "$1" "$tmp/sim.json"; }
resp() { jq -r "$1" "$tmp/resp.json"; }

run good 500 --until-registered --linger 1.5 --reg-min 1
check "good ACK: every device registered" [ "$(sim .registered)" = 500 ]
check "good ACK: one attempt per device" [ "$(sim .reg_attempts)" = 500 ]
check "good ACK: every ACK verified" [ "$(sim .acks_verified)" = 500 ]
check "good ACK: reports reached the head-end" [ "$(resp .reports)" -ge 500 ]
check "reports start with the SessionID handed out" \
	[ "$(resp .reports_session_ok)" = "$(resp .reports)" ]
check "MIDs from 0, +1 per request per device" \
	[ "$(resp .mid_errors)" = 0 -a "$(resp .first_mid_nonzero)" = 0 ]
check "registration TLVs in the agent's order" [ "$(resp .order_errors)" = 0 ]
check "TLV lengths padded to 2 bytes" [ "$(resp .pad_errors)" = 0 ]
check "no token in requests" [ "$(resp .token_errors)" = 0 ]
check "one source address per device" [ "$(resp .distinct_srcs)" = 500 ]
check "source IID is the modified EUI-64" [ "$(resp .iid_mismatch)" = 0 ]

for mode in otherkey empty expired fixture; do
	run $mode 100 --duration 3.5 --reg-min 1 --reg-max 2
	check "$mode ACK: nobody registered" [ "$(sim .registered)" = 0 ]
	# By 3 s every device has made its second attempt (0..1 s, then
	# [0.5, 1] s later); some have made the third.
	n=$(sim .reg_attempts)
	check "$mode ACK: backoff continued (>= 2 attempts each)" [ "$n" -ge 200 ]
	check "$mode ACK: CGMSNotification code 2 per refusal" \
		[ "$(resp .notify_code2)" = "$n" -a "$(sim .notifications_sent)" = "$n" ]
	case $mode in
	otherkey|empty) what=acks_bad_signature ;;
	*) what=acks_bad_validity ;;	# the window is checked first
	esac
	check "$mode ACK: counted as $what" [ "$(sim .$what)" = "$n" ]
done

# Without root (no route can be added) each device gets its own socket:
# the head-end tells devices apart by source port.
run good 200 --until-registered --reg-min 1 --src ports
check "ports mode: every device registered, one socket each" \
	[ "$(sim .registered)" = 200 -a "$(sim .src_mode)" = ports -a "$(sim .sockets)" = 200 ]
check "ports mode: MIDs and TLV order as the agent's" \
	[ "$(resp .mid_errors)" = 0 -a "$(resp .order_errors)" = 0 -a "$(resp .registrations)" = 200 ]

run token 100 --duration 2.5 --reg-min 1 --reg-max 2
check "ACK with a token dropped silently" \
	[ "$(sim .acks_token)" = "$(sim .reg_attempts)" -a "$(resp .notifications)" = 0 ]

check "local route removed after the run" \
	[ -z "$(ip -n "$NS" -6 route show table local "$prefix/64")" ]
tap_done
