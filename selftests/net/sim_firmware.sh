#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# csmp-sim --serve devices take firmware as the OpenCSMP agent does
# (csmp-firmware.md), driven by fw_driver straight at a device's CoAP
# server, in a namespace of their own; sim_responder is the head-end the
# devices register with. Checked:
#  - a full unicast transfer: TransferRequest confirmed by GET /c/65,
#    every block once, the bitmap full, the completion step (a block sent
#    again) that removes the bitmap, the right bytes received (SHA-256);
#  - LoadRequest with loadTime 1 and with a past time refused with
#    INVALID_REQ (6), a future one accepted and shown by GET /c/68; at that
#    time the device reboots, registers again, and its RUN slot and
#    HardwareDesc firmware revision show the new version;
#  - --loss 0.1: blocks lost both ways, repaired from the bitmap alone,
#    the image still complete and right;
#  - an image above --fw-slot-size refused with FILE_SIZE_TOO_BIG (4),
#    nothing downloading (GET /c/65 4.03), the draft's TransferResponse
#    with --fw-transfer-response; a second TransferRequest of an image
#    under way refused (DUP_XFER 11) without wiping it;
#  - CancelLoadRequest before the time leaves the old image running;
#  - --link-rate: a paced transfer takes the link's time; an unpaced burst
#    overflows the PAN queue (--pan-queue) and loses blocks the bitmap shows.
source "$(dirname "$0")/../lib.sh"
require_root
require_cmd jq openssl ip

SIM=$BIN/csmp-sim
RESP=$CSMP_BUILD/selftests/net/sim_responder
DRV=$CSMP_BUILD/selftests/net/fw_driver
MK=$CSMP_BUILD/selftests/net/fw_mkimage
require_built "$SIM" "$RESP" "$DRV" "$MK"

csmp_tmpdir simfw
P4=fd00:c5:2:$(printf %x $(($$ & 0xffff)))
base=00C5000000000000
N=4
rpid= spid=
cleanup() {
	[ -n "$spid" ] && kill -KILL "$spid" 2>/dev/null
	[ -n "$rpid" ] && kill -KILL "$rpid" 2>/dev/null
	csmp_cleanup
}
trap cleanup EXIT
netns_add_lo fw || exit 1
NS=$(ns fw)
nms_keygen "$tmp"
"$MK" "$tmp/new.bin" --size 24114 --version 6.9.99
"$MK" "$tmp/big.bin" --size 40000 --version 7.0.1

# start SIM-ARGS...: the responder, then N serving devices (up to 60 s).
start() {
	ip netns exec "$NS" "$RESP" --listen "[::1]:61628" --key "$tmp/nms.pem" \
		--devices $N --eid-base $base --mode good --report-interval 30 \
		--duration 120 >"$tmp/resp.json" 2>"$tmp/resp.err" &
	rpid=$!
	for _ in $(seq 50); do grep -q listening "$tmp/resp.err" && break; sleep 0.1; done
	ip netns exec "$NS" "$SIM" --target "[::1]:61628" --nms-pubkey "$tmp/nms.pub" \
		--devices $N --eid-base $base --src-prefix "$P4::" --reg-min 0.2 \
		--reg-max 1 --duration 60 --serve --json --quiet "$@" >"$tmp/sim.json" &
	spid=$!
	sleep 1
}
stop() {
	kill -INT "$spid"; wait "$spid"; spid=
	kill -INT "$rpid"; wait "$rpid"; rpid=
}
# drv DEVICE IMAGE STEP...: fw_driver at device DEVICE's address.
drv() {
	local d=$1 img=$2 a
	shift 2
	if [ "$d" = 0 ]; then a="$P4:2c5::"; else a=$(printf '%s:2c5::%x' "$P4" "$d"); fi
	ip netns exec "$NS" "$DRV" --target "[$a]:61628" --key "$tmp/nms.pem" \
		--image "$img" "$@"
}
step() { jq -c "select(.step == \"$1\")" "$tmp/out" | tail -1; }
sj() { jq -r "$1" "$tmp/sim.json"; }
sjc() { jq -c "$1" "$tmp/sim.json"; }

# ---- full transfer, load refusals, load, reboot ----
start
drv 0 "$tmp/new.bin" transfer blocks repair complete load:1 load:-10 \
	load:+3 get68 wait:5 run get11 >"$tmp/out"
check "TransferRequest accepted: 2.01 without a body, GET /c/65 echoes it" \
	test "$(step transfer | jq -r '[.code, .response // "none", .get65] | join(" ")')" = "2.01 none 2.05"
check "every block sent once and answered 2.01, DescriptionRequest answered at each 10 %" \
	test "$(step blocks | jq -r '[.sent, .answered, (.described >= 10)] | join(" ")')" = "48 48 true"
check "the bitmap is full after one pass" \
	test "$(step repair | jq -r '[.missing_first, .full] | join(" ")')" = "0 true"
check "a block sent again completes the upload: no bitmap any more" \
	test "$(step complete | jq -r '[.ours, .bitmap] | join(" ")')" = "true false"
check "LoadRequest loadTime 1: INVALID_REQ (6)" \
	test "$(jq -s -r '[.[] | select(.step == "load")][0].response' "$tmp/out")" = 6
check "LoadRequest in the past: INVALID_REQ (6)" \
	test "$(jq -s -r '[.[] | select(.step == "load")][1].response' "$tmp/out")" = 6
check "LoadRequest in 3 s: OK (0) with its loadTime" \
	test "$(step load | jq -r '.response')" = 0
check "GET /c/68 shows the pending load" \
	test "$(step get68 | jq -r '.tlvs[0].v.loadTime')" = "$(step load | jq -r .load_time)"
check "after the load time the RUN slot holds the new image" \
	test "$(step run | jq -r '.tlvs[0].v | [.version, .isRunning] | join(" ")')" = "6.9.99 true"
check "HardwareDesc.entPhysicalFirmwareRev is the new version" \
	test "$(step get11 | jq -r '.tlvs[0].v.entPhysicalFirmwareRev')" = 6.9.99
sleep 1.5
stop
check "the device rebooted and registered again" \
	test "$(sj '[.reboots, .reregistrations, .registered] | join(" ")')" = "1 1 $N"
check "the responder saw N + 1 registrations" \
	test "$(jq .registrations "$tmp/resp.json")" = $((N + 1))
check "the bytes received are the image (SHA-256 matches), one device on it" \
	test "$(sj '.firmware | [.content_ok, .content_bad, .running_loaded_image] | join(" ")')" = "1 0 1"
check "load verdicts: OK once, INVALID_REQ twice" \
	test "$(sjc '.firmware.load_codes')" = '{"0":1,"6":2}'

# ---- loss repaired from the bitmap ----
start --loss 0.1
drv 1 "$tmp/new.bin" transfer blocks repair complete >"$tmp/out"
stop
diag "loss: $(step repair) $(sjc .radio)"
check "--loss 0.1: datagrams lost in both directions" \
	test "$(sj '.radio.lost_down > 0 and .radio.lost_up > 0')" = true
check "--loss 0.1: missing blocks re-sent from the bitmap until full" \
	test "$(step repair | jq -r '.full')" = true -a "$(step end | jq -r '.resent > 0 or .timeouts > 0')" = true
check "--loss 0.1: the upload completed with the right bytes" \
	test "$(sj '.firmware | [.uploads_complete, .content_ok] | join(" ")')" = "1 1"

# ---- too large, duplicate transfer, cancel ----
start --fw-transfer-response
drv 2 "$tmp/big.bin" transfer >"$tmp/out"
check "image above the 30720-byte slot: FILE_SIZE_TOO_BIG (4), nothing downloading (4.03)" \
	test "$(step transfer | jq -r '[.response, .get65] | join(" ")')" = "4 4.03"
drv 3 "$tmp/new.bin" transfer blocks transfer upload >"$tmp/out"
check "a second TransferRequest of the upload under way: DUP_XFER (11)" \
	test "$(step transfer | jq -r .response)" = 11
check "... and the blocks already received are kept" \
	test "$(step upload | jq -r '.tlvs[0].v.bitmap')" = "$(printf 'f%.0s' $(seq 12))"
drv 3 "$tmp/new.bin" complete load:+2 cancel get68 wait:3 run >"$tmp/out"
check "CancelLoadRequest: OK (0), GET /c/68 then 4.03" \
	test "$(step cancel | jq -r .response) $(step get68 | jq -r .code)" = "0 4.03"
check "after the cancelled time the old image still runs" \
	test "$(step run | jq -r '.tlvs[0].v.version')" = 1.0.0
stop
check "the device counted 4 then 11 for the TransferRequests" \
	test "$(sjc '.firmware.transfer_codes')" = '{"0":1,"4":1,"11":1}'
check "no device rebooted" test "$(sj .reboots)" = 0

# ---- link and PAN rates ----
start --link-rate 4000 --pan-rate 8000 --pan-queue 8 --pan-size 2
t0=$(date +%s.%N)
drv 0 "$tmp/new.bin" --timeout-ms 2000 transfer blocks >"$tmp/out"
t1=$(date +%s.%N)
el=$(echo "$t1 - $t0" | bc)
diag "48 blocks of 512 at 4000 B/s: ${el} s"
check "a paced transfer at 4000 B/s takes the link's time (>= 6 s), nothing dropped" \
	test "$(echo "$el >= 6" | bc)" = 1 -a "$(step blocks | jq .answered)" = 48
drv 1 "$tmp/new.bin" --timeout-ms 2000 transfer burst repair >"$tmp/out"
stop
diag "burst: $(step burst) $(step repair) $(sjc .radio)"
check "an unpaced burst overflows the PAN queue: blocks dropped" \
	test "$(sj '.radio.queue_drops > 0')" = true -a "$(step repair | jq '.missing_first > 0')" = true
tap_done
