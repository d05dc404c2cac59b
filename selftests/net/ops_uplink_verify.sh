#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Uplink signature verification end to end through csmpd, in a namespace of
# its own: devices registered with the OpenCSMP capture, their keys
# enrolled over the control socket (P-256 and Ed25519), then signed reports
# for every outcome: good, tampered payload, tampered signature, expired,
# not yet valid, unknown key, and unsigned under each group policy (off,
# optional, required). Each outcome is read back from csmpctl stats --json
# (verified / failed by reason, reports accepted) and the window errors
# from the %CSMP-3-SIGNATURE_FAILURE log line and the event stream.
source "$(dirname "$0")/../lib.sh"
require_root
require_cmd ip jq

PEER=$CSMP_BUILD/selftests/net/csmpd_peer
UP=$CSMP_BUILD/selftests/net/ops_uplink
CSMPD=$BIN/csmpd
CTL=$BIN/csmpctl
FIX=$CSMP_TOP/../shared/fixtures/opencsmp-register.pcap
for f in "$PEER" "$UP" "$CSMPD" "$CTL"; do
	[ -x "$f" ] || { echo "# SKIP $f not built (make all tests)"; exit $KSFT_SKIP; }
done
[ -r "$FIX" ] || { echo "# SKIP fixture $FIX missing"; exit $KSFT_SKIP; }

tmp=$(mktemp -d /tmp/csmp-ops-verify.XXXXXX)
chmod 755 "$tmp"
pid=
cleanup() {
	[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
	netns_cleanup
	rm -rf "$tmp"
}
trap cleanup EXIT
[ -n "${OPS_KEEP:-}" ] && trap - EXIT

netns_add he || exit 1
NS=$(ns he)
ip -n "$NS" link set lo up
BID=00b7
T='[::1]:61628'
# Groups: REQ (required), OPT (optional), the rest off.
REQ_P=0A00000000000001 REQ_E=0A00000000000002 REQ_NOKEY=0A00000000000003
OPT=0B00000000000001 OFF=0C00000000000001

"$CTL" keygen "$tmp/nms.pem" "$tmp/nms.pub" >/dev/null
"$CTL" keygen --suite p256 "$tmp/dev-p.pem" "$tmp/dev-p.pub" >/dev/null
"$CTL" keygen --suite ed25519 "$tmp/dev-e.pem" "$tmp/dev-e.pub" >/dev/null
"$CTL" keygen --suite p256 "$tmp/other.pem" "$tmp/other.pub" >/dev/null
cat >"$tmp/csmpd.conf" <<CONF
[csmpd]
listen = $T
workers = 2
backend-id = $BID
db = $tmp/registry.db
control = $tmp/control.sock
events = $tmp/events.jsonl
nms-key = $tmp/nms.pem
device-keys = $tmp/keys

[policy]
uplink-signature = off
signature-skew = 30
CONF
cp "$tmp/csmpd.conf" "$tmp/base.conf"

ip netns exec "$NS" "$CSMPD" --config "$tmp/csmpd.conf" 2>"$tmp/log" &
pid=$!
for i in $(seq 100); do
	grep -q '%CSMP-5-START' "$tmp/log" && break
	sleep 0.1
done
check "csmpd starts with the config file" grep -q '%CSMP-5-START' "$tmp/log"

ctl() { ip netns exec "$NS" "$CTL" --control "$tmp/control.sock" "$@"; }
declare -A SID
for e in $REQ_P $REQ_E $REQ_NOKEY $OPT $OFF; do
	out=$(ip netns exec "$NS" "$PEER" --pcap "$FIX" --pubkey "$tmp/nms.pub" \
		--backend-id $BID --target "$T" --eid $e reg 2>&1)
	SID[$e]=$(sed -n 's/^session=//p' <<<"$out")
done
check "five devices registered" test "$(printf '%s\n' "${SID[@]}" | grep -c .)" = 5

# The agent never signs its registrations: the devices register while
# the policy is off, then SIGHUP brings in the signed groups.
cat "$tmp/base.conf" - >"$tmp/csmpd.conf" <<CONF
[group signed]
members = 0A*
uplink-signature = required
[group opt]
members = 0B00000000000001
uplink-signature = optional
[group broken
CONF
kill -HUP $pid
sleep 0.3
check "a bad file on SIGHUP is refused with file:line" \
	grep -q "CONFIG_RELOAD: $tmp/csmpd.conf:[0-9]*: section header without ']'; keeping the running policy" "$tmp/log"
sed -i '$d' "$tmp/csmpd.conf"
kill -HUP $pid
for i in $(seq 50); do grep -q 'policy generation 2' "$tmp/log" && break; sleep 0.1; done
check "SIGHUP publishes the new policy" grep -q 'CONFIG_RELOAD: .*policy generation 2: 2 groups' "$tmp/log"

check "enroll a P-256 device key" ctl enroll $REQ_P "$tmp/dev-p.pub"
check "enroll an Ed25519 device key" ctl enroll $REQ_E "$tmp/dev-e.pub"
check "enroll the optional device's key" ctl enroll $OPT "$tmp/dev-p.pub"
ctl enroll 0A0000000000000X "$tmp/dev-p.pub" 2>"$tmp/err"
check "enroll refuses a bad EID" grep -q 'must be 16 hex digits' "$tmp/err"

up() { ip netns exec "$NS" "$UP" --target "$T" --session "${SID[$1]}" \
	--key "$2" --mode "$3"; }
stats() { ctl stats --json; }
sum() { stats | jq "[.workers[] | $1] | add"; }

base_reports=$(sum .reports)
up $REQ_P "$tmp/dev-p.pem" good
up $REQ_E "$tmp/dev-e.pem" good
up $REQ_P "$tmp/dev-p.pem" payload
up $REQ_P "$tmp/dev-p.pem" sig
up $REQ_P "$tmp/other.pem" good		# signed by a key not enrolled for it
up $REQ_P "$tmp/dev-p.pem" expired
up $REQ_P "$tmp/dev-p.pem" notyet
up $REQ_NOKEY "$tmp/dev-p.pem" good	# no key enrolled at all
up $REQ_P "" unsigned
up $OPT "" unsigned			# optional: accepted
up $OPT "$tmp/dev-p.pem" good		# optional, signed: verified
up $OPT "$tmp/dev-p.pem" sig		# optional, bad: dropped
up $OFF "" unsigned			# off: accepted
up $OFF "$tmp/other.pem" sig		# off: not even looked at
sleep 0.5

s=$(stats)
f() { jq "[.workers[].verify_failed.$1] | add" <<<"$s"; }
check "good P-256, Ed25519 and optional signatures verified (3)" \
	test "$(jq '[.workers[].verified_ok] | add' <<<"$s")" = 3
check "tampered payload, tampered signature and wrong key: sig_bad (4)" \
	test "$(f sig_bad)" = 4
check "expired window: sig_expired" test "$(f sig_expired)" = 1
check "window not yet valid: sig_not_yet" test "$(f sig_not_yet)" = 1
check "no enrolled key: sig_unknown_key" test "$(f sig_unknown_key)" = 1
check "unsigned under required: sig_missing" test "$(f sig_missing)" = 1
check "unsigned under optional accepted" \
	test "$(jq '[.workers[].unsigned_accepted] | add' <<<"$s")" = 1
check "only the accepted reports changed a device (6)" \
	test "$(( $(jq '[.workers[].reports] | add' <<<"$s") - base_reports ))" = 6
check "window failure logged with the clock hint" \
	grep -q "%CSMP-3-SIGNATURE_FAILURE: eid=$REQ_P reason=sig_expired .*(check clock synchronisation)" "$tmp/log"
check "unknown key logged with the enrolment hint" \
	grep -q "SIGNATURE_FAILURE: eid=$REQ_NOKEY reason=sig_unknown_key .*csmpctl enroll" "$tmp/log"
check "signature failures are events" \
	test "$(jq -c 'select(.event == "signature_failure")' "$tmp/events.jsonl" | wc -l)" = 8

# Enrolled keys persist: after a restart the device still verifies.
kill -TERM $pid; wait $pid; pid=
ip netns exec "$NS" "$CSMPD" --config "$tmp/csmpd.conf" 2>"$tmp/log2" &
pid=$!
for i in $(seq 100); do grep -q '%CSMP-5-START' "$tmp/log2" && break; sleep 0.1; done
up $REQ_P "$tmp/dev-p.pem" good
up $REQ_E "$tmp/dev-e.pem" good
sleep 0.3
check "enrolled keys and sessions survive a restart" \
	test "$(sum .verified_ok)" = 2
check "reports after the restart are recognised" test "$(sum .reports)" = 2

kill -TERM $pid; wait $pid
check "csmpd exits 0 on SIGTERM" test $? = 0
pid=
tap_done
