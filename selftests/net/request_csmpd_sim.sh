#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Head-end-initiated requests end to end, in a namespace of their own:
# csmp-sim devices register with csmpd (2 workers, reply ports
# 40000-40999) and serve CoAP at their own addresses (--serve); csmp-request
# goes through csmpd's control socket. Checked: GET of TLVs 1, 11 and 75
# printed as `[id/Name]: {json}` with the device's own values, GET /c (the
# TlvIndex) and /c/<id> (4.04 for an id the device lacks, exit 4), that
# each request left from the reply port of the worker that owns the device
# (the device's own log of who asked), a signed POST accepted 2.01 and
# applied (ReportSubscribe, GroupAssign), POSTs with a tampered signature,
# a tampered payload or no signature refused 4.01/4.01/4.03 by the device,
# the timeout path (exit 3, logged), an unknown device (exit 1), and both
# I/O backends.
source "$(dirname "$0")/../lib.sh"
require_root
require_cmd ip jq

SIM=$BIN/csmp-sim
REQ=$BIN/csmp-request
CTL=$BIN/csmpctl
TAMPER=$CSMP_BUILD/selftests/net/request_tamper
require_built "$CSMPD" "$SIM" "$REQ" "$CTL" "$TAMPER"
N=16
LO=40000 HI=40999 PER=500	# 1000 ports over 2 workers

csmp_tmpdir request
spid=
cleanup() {
	[ -n "$spid" ] && kill -KILL "$spid" 2>/dev/null
	csmp_cleanup
}
trap cleanup EXIT
[ -n "${RQ_KEEP:-}" ] && trap - EXIT

netns_add_lo rq || exit 1
NS=$(ns rq)
P4=fd00:c5:1:$(printf %x $(($$ & 0xffff)))
PFX=$P4::
"$CTL" keygen "$tmp/nms.pem" "$tmp/nms.pub" >/dev/null

start() { # IO
	: >"$tmp/log"
	csmpd_start "$NS" "$tmp/log" --listen '[::1]:61628' --workers 2 \
		--nms-key "$tmp/nms.pem" --control "$tmp/ctl.sock" \
		--reply-ports $LO-$HI --io "$1" --report-interval 900
	: >"$tmp/serve.log"
	ip netns exec "$NS" "$SIM" --target '[::1]:61628' \
		--nms-pubkey "$tmp/nms.pub" --devices $N --src-prefix "$PFX" \
		--reg-min 0.2 --reg-max 1 --duration 60 --serve \
		--serve-log "$tmp/serve.log" --json --quiet >"$tmp/sim.json" &
	spid=$!
	for i in $(seq 100); do
		[ "$(grep -c REGISTERED "$tmp/log")" -ge $N ] && return 0
		sleep 0.1
	done
	return 1
}
stop() {
	kill -TERM "$spid"; wait "$spid"; spid=
	csmpd_stop
}
rq() { ip netns exec "$NS" "$REQ" --control "$tmp/ctl.sock" "$@"; }
eid() { printf '00C50000000000%02X' "$1"; }
# The device's address, canonical: the /64 + the modified EUI-64 of its EID.
addr() { if [ "$1" = 0 ]; then echo "$P4:2c5::"; else printf '%s:2c5::%x\n' "$P4" "$1"; fi; }

check "uring: csmpd and $N serving devices up, all registered" start uring

# GET of TLVs 1, 11, 75: one line each, the device's own values.
E1=$(eid 1)
rq -r "$E1" 1 11 75 >"$tmp/get" 2>"$tmp/get.err"
rc=$?
check "GET 1 11 75 exits 0 (2.05)" test $rc = 0
check "GET prints [1/TlvIndex] listing 1, 11 and 75" \
	grep -q '^\[1/TlvIndex\]: {"tlvid":\[.*"11".*"75".*\]}$' "$tmp/get"
check "GET prints [11/HardwareDesc] with the device's serial (its EID)" \
	grep -q "^\[11/HardwareDesc\]: {.*\"entPhysicalSerialNum\":\"$E1\"" "$tmp/get"
check "GET prints [75/FirmwareImageInfo] as JSON" \
	grep -q '^\[75/FirmwareImageInfo\]: {"index":1,.*"version":"1.0.0"' "$tmp/get"
check "-r prints each TLV's raw bytes (75 = 4b...)" \
	grep -q '^  raw: 4b' "$tmp/get"
check "the TLVs in that order, 75 once per firmware slot (RUN, UPLOAD, BACKUP)" \
	test "$(grep -o '^\[[0-9]*/' "$tmp/get" | tr -d '[/' | xargs)" = "1 11 75 75 75"
jl=$(tail -1 "$tmp/serve.log")
check "the device saw GET /c?q=1 11 75 (ids split on spaces)" \
	test "$(jq -r '[.method, .path, .query] | join(" ")' <<<"$jl")" = "GET c q=1 11 75"

# Each request leaves from the reply port of the worker that owns the
# device, from the address the device registered to.
bad=0 seen=
for i in $(seq 0 $((N - 1))); do
	j=$(rq --json "$(eid $i)" 22) || { bad=1; continue; }
	w=$(jq .worker <<<"$j") p=$(jq .src_port <<<"$j")
	l=$(grep "\"eid\":\"$(eid $i)\"" "$tmp/serve.log" | tail -1)
	[ "$p" = $((LO + w * PER)) ] || bad=1
	[ "$(jq .port <<<"$l")" = "$p" ] || bad=1
	[ "$(jq -r .from <<<"$l")" = "::1" ] || bad=1
	[ "$(jq -r .addr <<<"$j")" = "[$(addr $i)]:61628" ] || bad=1
	seen="$seen $w"
done
check "every request came from its worker's reply port ($LO + worker * $PER), source ::1" \
	test $bad = 0
check "both workers' blocks were used" \
	test "$(tr ' ' '\n' <<<"$seen" | sort -u | grep -c .)" = 2

rq "$E1" >"$tmp/idx"
check "GET /c with no ids answers the TlvIndex" \
	grep -q '^\[1/TlvIndex\]' "$tmp/idx"
rq --path c/75 "$E1" >"$tmp/one"
check "GET /c/75 answers the three slots' FirmwareImageInfo" \
	test "$(grep -c '^\[75/FirmwareImageInfo\]' "$tmp/one")" = 3
rq --path c/75/3 "$E1" >"$tmp/one"
check "GET /c/75/3 answers the BACKUP slot alone" \
	grep -q '^\[75/FirmwareImageInfo\]: {"index":3,' "$tmp/one"
rq --path c/99 "$E1" 2>"$tmp/nf"
rc=$?
check "GET /c/99 (not a TLV the device has): 4.04, exit 4" \
	test $rc = 4 -a -n "$(grep '^4.04 Not Found' "$tmp/nf")"
rq "$(addr 1)" 11 >"$tmp/byaddr"
check "a target given by address reaches the same device" \
	grep -q "\"entPhysicalSerialNum\":\"$E1\"" "$tmp/byaddr"

# POSTs, signed by csmpd with the NMS key, applied by the device.
E2=$(eid 2)
rq -v --post 'ReportSubscribe={"interval":300,"tlvid":["22","23"]}' "$E2" \
	2>"$tmp/post.err"
rc=$?
check "signed POST ReportSubscribe: 2.01, exit 0" \
	test $rc = 0 -a -n "$(grep '^2.01 Created' "$tmp/post.err")"
rq --post 'GroupAssign={"type":1,"id":42}' "$E2"
check "signed POST GroupAssign: 2.01" test $? = 0
rq "$E2" 13 58 >"$tmp/after"
check "the device applied the new ReportSubscribe" \
	grep -q '^\[13/ReportSubscribe\]: {"interval":300,"tlvid":\["22","23"\]}' "$tmp/after"
check "the device applied the GroupAssign (GroupInfo 1/42)" \
	grep -q '^\[58/GroupInfo\]: {"type":1,"id":42}' "$tmp/after"
rq --post 'DescriptionRequest={"tlvid":["22"]}' "$E2" >"$tmp/desc"
check "POST DescriptionRequest: output TLVs with SessionID and CurrentTime" \
	test "$(grep -o '^\[[0-9]*/' "$tmp/desc" | tr -d '[/' | xargs)" = "22 7 18"
rq --post 'Bogus={"x":1}' "$E2" 2>"$tmp/bogus"
check "a POST of an unknown TLV is refused before sending (exit 1)" \
	test $? = 1 -a -n "$(grep 'not a TLV id or name' "$tmp/bogus")"
rq --post 'GroupAssign={"type":"one"}' "$E2" 2>"$tmp/badjson"
check "a POST whose value does not fit the message is refused with the field" \
	grep -q 'GroupAssign.type: expected an integer' "$tmp/badjson"

# What csmpd would never send: the device's signature checks.
T="[$(addr 3)]:61628"
tam() { ip netns exec "$NS" "$TAMPER" --target "$T" --key "$tmp/nms.pem" --mode "$1" --sport 39999; }
check "device accepts a good signed POST (2.01)" test "$(tam good)" = 2.01
check "tampered signature: 4.01" test "$(tam sig)" = 4.01
check "tampered payload: 4.01" test "$(tam payload)" = 4.01
check "unsigned POST while signatures are required: 4.03" \
	test "$(tam unsigned)" = 4.03

# Timeout and refusal paths.
rq --timeout 0.5 '[fd00:dead::1]:61628' 1 2>"$tmp/to"
rc=$?
check "no answer: timeout, exit 3" \
	test $rc = 3 -a -n "$(grep 'timeout: no answer from \[fd00:dead::1\]:61628 in 500 ms' "$tmp/to")"
check "the timeout is logged" grep -q '%CSMP-5-REQUEST_TIMEOUT: .*fd00:dead::1' "$tmp/log"
rq --timeout 0.6 --retries 2 '[fd00:dead::1]:61628' 1 2>"$tmp/to2"
check "--retries resends the same CON: 3 tries" grep -q '(3 tries)' "$tmp/to2"
rq 00C50000000000FF 1 2>"$tmp/unk"
check "unknown device: exit 1, said so" \
	test $? = 1 -a -n "$(grep 'is not registered with this csmpd' "$tmp/unk")"

st=$(ip netns exec "$NS" "$CTL" --control "$tmp/ctl.sock" stats --json)
req() { jq "[.workers[].requests.$1] | add" <<<"$st"; }
diag "csmpd requests: $(jq -c '[.workers[].requests]' <<<"$st"), device log: $(jq -s "[.[] | select(.port >= $LO and .port <= $HI)] | length" "$tmp/serve.log")"
check "csmpd stats: every answered request counted, timeouts 2, tries 1+3" \
	test "$(req answered)" = "$(jq -s "[.[] | select(.port >= $LO and .port <= $HI)] | length" "$tmp/serve.log")" \
	-a "$(req timeouts)" = 2 -a "$(req refused)" = 1 \
	-a "$(req sent)" = $(( $(req answered) + 4 ))
stop
j=$tmp/sim.json
check "the devices counted 3 good signed POSTs from csmpd + 1 direct, 2 bad, 1 unsigned" \
	test "$(jq -c '.served | [.post_sig_ok, .post_sig_bad, .post_unsigned]' "$j")" = "[4,2,1]"
check "no device was re-registered or refused by the requests" \
	test "$(jq .registered "$j")" = $N -a "$(jq .notifications_sent "$j")" = 0

check "mmsg: csmpd and $N serving devices up" start mmsg
rq "$(eid 5)" 75 >"$tmp/mm"
check "mmsg: GET 75 answered" grep -q '^\[75/FirmwareImageInfo\]' "$tmp/mm"
rq --timeout 0.3 '[fd00:dead::1]:61628' 1 2>/dev/null
check "mmsg: timeout path" test $? = 3
stop
tap_done
