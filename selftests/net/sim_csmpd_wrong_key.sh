#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# A fleet holding the wrong NMS public key: csmpd signs with its key, every
# simulated OpenCSMP device fails to verify the 2.03, answers with NON POST
# /c {DeviceID, CGMSNotification{code 2}} and keeps retrying with backoff;
# csmpd counts each notification and logs %CSMP-2-DEVICE_SIG_REJECT naming
# the device and the fix (NMS key, clock). One namespace, loopback only.
source "$(dirname "$0")/../lib.sh"
require_root
require_cmd ip openssl jq

CSMPD=$BIN/csmpd
SIM=$BIN/csmp-sim
for f in "$CSMPD" "$SIM"; do
	[ -x "$f" ] || { echo "# SKIP $f not built (make all)"; exit $KSFT_SKIP; }
done
N=200

tmp=$(mktemp -d /tmp/csmp-simkey.XXXXXX)
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
for k in nms other; do
	openssl ecparam -name prime256v1 -genkey -noout -out "$tmp/$k.pem" 2>/dev/null
	openssl ec -in "$tmp/$k.pem" -pubout -out "$tmp/$k.pub" 2>/dev/null
done

log=$tmp/csmpd.log
: >"$log"
ip netns exec "$NS" "$CSMPD" --listen '[::1]:61628' --workers 1 \
	--nms-key "$tmp/nms.pem" 2>"$log" &
pid=$!
for i in $(seq 100); do
	grep -q '%CSMP-5-START' "$log" && break
	sleep 0.1
done

# First attempts within 1 s, retries [0.5, 1] s later: >= 2 each by 3 s.
ip netns exec "$NS" "$SIM" --target '[::1]:61628' --nms-pubkey "$tmp/other.pub" \
	--devices $N --reg-min 1 --reg-max 2 --duration 3 --json --quiet \
	>"$tmp/sim.json"
src=$?
kill -TERM "$pid"
wait "$pid"
crc=$?
pid=
sim() { jq -r "$1" "$tmp/sim.json"; }
att=$(sim .reg_attempts)
notes=$(sed -n 's/.*%CSMP-5-STOPPED:.* notifications \([0-9]*\).*/\1/p' "$log")

check "sim exits 3: not every device registered" test $src = 3
check "nobody registered" test "$(sim .registered)" = 0
check "csmpd answered 2.03 to every attempt ($att)" \
	test "$(sim .acks_2xx)" = "$att" -a "$att" -ge $((2 * N))
check "every ACK failed verification as a bad signature" \
	test "$(sim .acks_bad_signature)" = "$att" -a "$(sim .acks_verified)" = 0
check "one CGMSNotification code 2 per failed ACK" \
	test "$(sim .notifications_sent)" = "$att"
check "csmpd received every notification ($notes)" test "$notes" = "$att"
check "csmpd logs %CSMP-2-DEVICE_SIG_REJECT" \
	grep -q '%CSMP-2-DEVICE_SIG_REJECT: device 00C5000000000' "$log"
check "the log line says what to check" \
	grep -q 'DEVICE_SIG_REJECT.*check NMS key and clock' "$log"
check "csmpd exits 0 on SIGTERM" test $crc = 0
tap_done
