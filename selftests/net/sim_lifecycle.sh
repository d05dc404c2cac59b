#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# csmp-sim --serve devices as the agent for issue 11's device lifecycle,
# in a namespace of their own. fw_driver is the NMS the devices send to
# (--nms) and the head-end that asks:
#  - a NON GET with a=2 is answered by the device's own NON POST /c with
#    the TLVs asked for, within a= seconds (no ACK, no token);
#  - a NON POST that applies sends CGMSNotification code 0 echoing the
#    request's token; one with a TLV the agent cannot POST, code 3 listing it;
#  - firmware groups: GroupAssign {2, 7} to three of four devices, the
#    image's blocks once to the group's multicast address: the three have
#    every block, the fourth none, and each member sent one
#    CGMSNotification (code 0) per block (the agent's quirk);
# and against sim_responder (a head-end that answers registrations):
#  - --stop-after 2 --stop-share 0.25: exactly 5 of 20 devices stop: they
#    answer nothing and send nothing after 2 s, the others still answer;
#  - --wrong-key-share 0.1: exactly 2 devices verify with another NMS key:
#    they refuse every ACK with CGMSNotification code 2, never register,
#    refuse a signed POST with 4.01, and the run still exits 0.
source "$(dirname "$0")/../lib.sh"
require_root
require_cmd jq openssl ip

SIM=$BIN/csmp-sim
RESP=$CSMP_BUILD/selftests/net/sim_responder
DRV=$CSMP_BUILD/selftests/net/fw_driver
MK=$CSMP_BUILD/selftests/net/fw_mkimage
require_built "$SIM" "$RESP" "$DRV" "$MK"

csmp_tmpdir simlife
P4=fd00:c5:3:$(printf %x $(($$ & 0xffff)))
base=00C5000000000000
rpid= spid=
cleanup() {
	[ -n "$spid" ] && kill -KILL "$spid" 2>/dev/null
	[ -n "$rpid" ] && kill -KILL "$rpid" 2>/dev/null
	csmp_cleanup
}
trap cleanup EXIT
[ -n "${KEEP:-}" ] && trap - EXIT
netns_add_lo life || exit 1
NS=$(ns life)
# Multicast: a namespace's lo does not loop it back, a veth does; the
# group sockets join on v0 and the driver sends out of it.
ip -n "$NS" link add v0 type veth peer name v1 &&
	ip -n "$NS" link set v0 up && ip -n "$NS" link set v1 up &&
	ip -n "$NS" -6 addr add fd00:c5:3::1/64 dev v0 nodad || exit 1
nms_keygen "$tmp"
"$MK" "$tmp/img.bin" --size 12000 --version 6.9.99

addr() { if [ "$1" = 0 ]; then echo "$P4:2c5::"; else printf '%s:2c5::%x' "$P4" "$1"; fi; }
drv() { # DEVICE STEP...
	local d=$1
	shift
	ip netns exec "$NS" "$DRV" --target "[$(addr "$d")]:61628" \
		--key "$tmp/nms.pem" --image "$tmp/img.bin" "$@"
}
step() { jq -c "select(.step == \"$1\")" "$tmp/out" | tail -1; }
sim_start() { # N ARGS...
	local n=$1
	shift
	ip netns exec "$NS" "$SIM" --target "[::1]:61628" --nms-pubkey "$tmp/nms.pub" \
		--devices "$n" --eid-base $base --src-prefix "$P4::" --reg-min 0.2 \
		--reg-max 1 --serve --json --quiet "$@" >"$tmp/sim.json" &
	spid=$!
	sleep 1
}
sim_stop() { kill -INT "$spid"; wait "$spid"; local rc=$?; spid=; return $rc; }
sj() { jq -r "$1" "$tmp/sim.json"; }

# ---- NON requests, the driver as the NMS ----
sim_start 4 --duration 60 --mcast-if v0
drv 1 --nms '[::1]:61628' nonget:22,23:2 nonpost:ok nonpost:bad nonget:22:0 >"$tmp/out"
diag "$(cat "$tmp/out" | head -3 | tr '\n' ' ')"
nonget() { jq -c -s "[.[] | select(.step == \"nonget\")][$1]" "$tmp/out"; }
check "NON GET ?a=2: answered by a NON POST /c with TLVs 22 and 23" \
	test "$(nonget 0 | jq -c '[.answer, (.tlvs | unique)]')" = '[true,[22,23]]'
check "... within a= seconds, without a token" \
	test "$(nonget 0 | jq '.after_ms <= 2500 and .tkl == 0')" = true
check "NON GET ?a=0: the agent's default, within 20 s" \
	test "$(nonget 1 | jq '.answer and .after_ms <= 20500')" = true
check "NON POST applied: CGMSNotification code 0 with the request's token" \
	test "$(jq -c -s '[.[] | select(.kind == "ok")][0] | [.code, .token]' "$tmp/out")" = '[0,"abcd"]'
check "NON POST of a TLV the agent cannot POST: code 3 listing 42" \
	test "$(jq -c -s '[.[] | select(.kind == "bad")][0] | [.code, .failed]' "$tmp/out")" = '[3,[42]]'

# ---- firmware group multicast ----
for d in 0 1 2 3; do
	[ $d = 3 ] || drv $d assign:7 >>"$tmp/assign"
	drv $d transfer >>"$tmp/assign"
done
check "GroupAssign {2, 7} accepted by three devices, TransferRequest by four" \
	test "$(jq -r 'select(.code) | .code' "$tmp/assign" | sort | uniq -c | xargs)" = "7 2.01"
drv 0 --nms '[::1]:61628' --mcast-if v0 mcast:7 notes:2 >"$tmp/out"
nb=$(step end | jq .blocks)
check "each of the 3 members notified once per block ($nb), code 0" \
	test "$(step notes | jq -c '[.notifications, .code0]')" = "[$((3 * nb)),$((3 * nb))]"
full=0
for d in 0 1 2; do
	drv $d repair >"$tmp/out"
	[ "$(step repair | jq -c '[.missing_first, .full]')" = '[0,true]' ] && full=$((full + 1))
done
check "the three members have every block from the one multicast pass" test $full = 3
drv 3 upload >"$tmp/out"
check "the device outside the group got none" \
	test "$(step upload | jq -r '.tlvs[0].v.bitmap')" = "$(printf '0%.0s' $(seq $(( (nb + 7) / 8 * 2 ))))"
sim_stop
check "the sim joined one group and handed each datagram to its 3 members" \
	test "$(sj '[.radio.groups_joined, .radio.mcast_rx, .radio.mcast_deliveries] | join(" ")')" = "1 $nb $((3 * nb))"

# ---- fleet shares, against a head-end that answers registrations ----
ip netns exec "$NS" "$RESP" --listen "[::1]:61628" --key "$tmp/nms.pem" \
	--devices 20 --eid-base $base --mode good --report-interval 1 \
	--duration 60 >"$tmp/resp.json" 2>"$tmp/resp.err" &
rpid=$!
for _ in $(seq 50); do grep -q listening "$tmp/resp.err" && break; sleep 0.1; done
sim_start 20 --duration 20 --stop-after 2.5 --stop-share 0.25 --wrong-key-share 0.1
# i stops when floor((i+1)/4) > floor(i/4): 3 7 11 15 19; the wrong key
# counts from the end: 19 - i in {9, 19}: devices 10 and 0.
sleep 2.5
drv 1 get11 >"$tmp/out1"
drv 10 assign:1 >"$tmp/out10"
drv 3 get11 >"$tmp/out3"
sim_stop
rc=$?
kill -INT "$rpid"; wait "$rpid"; rpid=
check "a stopped device answers nothing" \
	test "$(jq -r 'select(.step == "get11") | .code' "$tmp/out3")" = timeout
check "a running device still answers" \
	test "$(jq -r 'select(.step == "get11") | .code' "$tmp/out1")" = 2.05
check "a wrong-key device refuses a signed POST: 4.01" \
	test "$(jq -r 'select(.step == "assign") | .code' "$tmp/out10")" = 4.01
check "exactly 5 stopping and 2 wrong-key devices" \
	test "$(sj '[.stopping_devices, .wrong_key_devices] | join(" ")')" = "5 2"
check "18 registered, the 2 with the wrong key never; exit status 0" \
	test "$(sj .registered)" = 18 -a $rc = 0
check "the wrong-key devices sent CGMSNotification code 2 for every ACK" \
	test "$(jq .notify_code2 "$tmp/resp.json")" -ge 2 -a \
	     "$(sj .acks_bad_signature)" = "$(jq .notify_code2 "$tmp/resp.json")"
check "the stopped devices took requests while down and answered none" \
	test "$(sj .served.while_down)" -ge 1
tap_done
