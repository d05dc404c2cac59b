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

SIM=$BIN/csmp-sim
require_built "$CSMPD" "$SIM"
N=200

csmp_tmpdir simkey
netns_add_lo he || exit 1
NS=$(ns he)
nms_keygen "$tmp" nms
nms_keygen "$tmp" other

log=$tmp/csmpd.log
csmpd_start "$NS" "$log" --listen '[::1]:61628' --workers 1 \
	--nms-key "$tmp/nms.pem"

# First attempts within 1 s, retries [0.5, 1] s later: >= 2 each by 3 s.
ip netns exec "$NS" "$SIM" --target '[::1]:61628' --nms-pubkey "$tmp/other.pub" \
	--devices $N --reg-min 1 --reg-max 2 --duration 3 --json --quiet \
	>"$tmp/sim.json"
src=$?
csmpd_stop
crc=$?
sim() { jq -r "$1" "$tmp/sim.json"; }
att=$(sim .reg_attempts)
notes=$(csmpd_stopped notifications "$log")

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
