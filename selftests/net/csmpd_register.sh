#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# csmpd end to end over real UDP sockets in a namespace of its own, with
# both I/O backends: the OpenCSMP registration capture is answered with a
# signed 2.03 that decodes as the wire facts require, a repeated MID gets
# the same bytes, a missing CurrentTime gets 4.00, the allowlist refuses
# with 4.03, a report with the assigned SessionID updates the device and
# gets no reply, a notification with code 2 is logged as
# DEVICE_SIG_REJECT, malformed datagrams are counted and change nothing,
# and SIGTERM ends the daemon with status 0.
source "$(dirname "$0")/../lib.sh"
require_root
require_cmd ip openssl

PEER=$CSMP_BUILD/selftests/net/csmpd_peer
FIX=$CSMP_FIXTURE_REG
require_built "$PEER" "$CSMPD"
require_file "$FIX"
csmp_tmpdir register

netns_add_lo he || exit 1
NS=$(ns he)
nms_keygen "$tmp"
printf '# allowed\n0A0027FFFE3B2AB2\n' >"$tmp/allow"
EID=0A0027FFFE3B2AB2
BID=00a1

# start_csmpd LOG ARGS...: csmpd in the namespace with this test's settings.
start_csmpd() {
	local log=$1
	shift
	csmpd_start "$NS" "$log" --workers 2 --listen '[::1]:61628' \
		--listen 127.0.0.1:61628 --nms-key "$tmp/nms.pem" \
		--backend-id $BID --report-interval 300 --report-tlvs 22,23 \
		--log-level 7 "$@"
}

peer() { ip netns exec "$NS" "$PEER" --pcap "$FIX" --pubkey "$tmp/nms.pub" \
	--backend-id $BID "$@"; }

for io in uring mmsg; do
	log=$tmp/csmpd.$io.log
	if ! start_csmpd "$log" --io $io; then
		not_ok "$io: csmpd starts"
		continue
	fi
	grep -q "IO_BACKEND: using $( [ $io = uring ] && echo io_uring || echo recvmmsg)" "$log"
	check "$io: log names the I/O backend" test $? = 0

	out=$tmp/reg.$io
	if peer --target '[::1]:61628' --twice --report-interval 300 \
		--report-tlvs 22,23 reg >"$out" 2>&1; then
		ok "$io: fixture registration answered: ACK 2.03, MID echoed, no token, no options, ReportSubscribe, SessionID $BID..., validity contains now, signature verifies"
		ok "$io: same MID again gets the byte-identical cached answer"
	else
		sed 's/^/# /' "$out"
		not_ok "$io: fixture registration answered as the wire facts require"
		not_ok "$io: same MID again gets the byte-identical cached answer"
	fi
	sid=$(sed -n 's/^session=//p' "$out")

	# A new MID is a new registration: the device keeps its SessionID.
	peer --target 127.0.0.1:61628 --mid 5 reg >"$out.2" 2>&1
	sid2=$(sed -n 's/^session=//p' "$out.2")
	check "$io: re-registration (new MID, over IPv4) keeps SessionID $sid" \
		test -n "$sid" -a "$sid" = "$sid2"

	peer --target '[::1]:61628' --mid 6 --no-time --expect-code 4.00 reg \
		>"$out.3" 2>&1
	check "$io: registration without CurrentTime gets 4.00, no payload" test $? = 0

	peer --target '[::1]:61628' --session "$sid" report >"$out.4" 2>&1
	check "$io: report with the assigned SessionID gets no reply" test $? = 0
	peer --target '[::1]:61628' --session ${BID}ffff00000000 report \
		>"$out.5" 2>&1
	check "$io: report with an unknown SessionID gets no reply" test $? = 0

	peer --target '[::1]:61628' --eid $EID --code 2 notify >"$out.6" 2>&1
	check "$io: notification gets no reply" test $? = 0

	peer --target '[::1]:61628' junk >"$out.7" 2>&1
	check "$io: malformed datagrams get no reply" test $? = 0
	njunk=$(sed -n 's/^junk_sent=//p' "$out.7")

	peer --target '[::1]:61628' --mid 8 reg >"$out.8" 2>&1
	sid3=$(sed -n 's/^session=//p' "$out.8")
	check "$io: after the malformed datagrams csmpd still answers, same session" \
		test -n "$sid3" -a "$sid3" = "$sid"

	csmpd_stop
	check "$io: SIGTERM: exit status 0" test $? = 0

	grep -q "REPORT: device $EID session $sid: report of 3 TLVs" "$log"
	check "$io: the report updated the device (log)" test $? = 0
	grep -q "UNKNOWN_SESSION: report from .* unknown SessionID '${BID}ffff00000000'" "$log"
	check "$io: the unknown SessionID is logged" test $? = 0
	grep -q "%CSMP-2-DEVICE_SIG_REJECT: device $EID at .*check NMS key and clock synchronisation" "$log"
	check "$io: notification code 2 logged as %CSMP-2-DEVICE_SIG_REJECT" test $? = 0
	stats=$(grep '%CSMP-5-STOPPED' "$log")
	diag "$stats"
	[[ $stats == *"registrations 3 dup 1 refused 0 bad 1 "* ]]
	check "$io: counters: 3 registrations, 1 duplicate, 1 bad" test $? = 0
	[[ $stats == *"reports 1 unknown session 1 "* ]]
	check "$io: counters: 1 report matched, 1 unknown session" test $? = 0
	[[ $stats == *"notifications 1 malformed $njunk "* ]]
	check "$io: counters: every one of the $njunk malformed datagrams counted" test $? = 0
done

# Allowlist: the fixture's EID is listed, another is refused with 4.03.
log=$tmp/csmpd.allow.log
if start_csmpd "$log" --devices allowlist --allow-file "$tmp/allow"; then
	peer --target '[::1]:61628' reg >"$tmp/al.1" 2>&1
	check "allowlist: listed EID registers (2.03)" test $? = 0
	peer --target '[::1]:61628' --eid 1122334455667788 --expect-code 4.03 \
		reg >"$tmp/al.2" 2>&1
	check "allowlist: unlisted EID gets 4.03, no payload" test $? = 0
	csmpd_stop
	check "allowlist: SIGTERM: exit status 0" test $? = 0
	grep -q "REG_REFUSED: device 1122334455667788" "$log"
	check "allowlist: refusal logged" test $? = 0
else
	not_ok "allowlist: csmpd starts"
fi

# A configured group: the fixture's device reports no GroupInfo, so the
# answer carries GroupAssign{config, 7} between SessionID and the signature.
log=$tmp/csmpd.group.log
if start_csmpd "$log" --config-group 7; then
	peer --target '[::1]:61628' --expect-group 7 reg >"$tmp/gr.1" 2>&1
	rc=$?
	[ $rc = 0 ] || sed 's/^/# /' "$tmp/gr.1"
	check "group: a device outside the configured group gets GroupAssign(1, 7), signed" \
		test $rc = 0
	csmpd_stop
	check "group: SIGTERM: exit status 0" test $? = 0
else
	not_ok "group: csmpd starts"
fi

# Log lines are rate-limited per mnemonic: a flood of 300 reports with an
# unknown SessionID yields a burst of lines, then a count of the rest.
log=$tmp/csmpd.flood.log
if start_csmpd "$log" --io mmsg; then
	peer --target '[::1]:61628' --session ${BID}eeee00000000 --count 300 \
		report >"$tmp/fl.1" 2>&1
	csmpd_stop
	lines=$(grep -c 'UNKNOWN_SESSION' "$log")
	stats=$(grep '%CSMP-5-STOPPED' "$log")
	[[ $stats == *" unknown session 300 "* ]]
	check "flood: all 300 unknown-session reports counted" test $? = 0
	check "flood: the log is rate-limited ($lines UNKNOWN_SESSION lines for 300)" \
		test "$lines" -ge 1 -a "$lines" -le 30
else
	not_ok "flood: csmpd starts"
fi

# A bad allowlist is refused with file:line.
printf '0A0027FFFE3B2AB2\nnot-an-eid\n' >"$tmp/bad.allow"
ip netns exec "$NS" "$CSMPD" --listen '[::1]:61629' --nms-key "$tmp/nms.pem" \
	--devices allowlist --allow-file "$tmp/bad.allow" 2>"$tmp/bad.log" &
bpid=$!
wait $bpid
rc=$?
grep -q "bad.allow:2: not an EID" "$tmp/bad.log"
check "a malformed --allow-file is refused with file:line" test $? = 0 -a $rc != 0

tap_done
