#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# io_uring provided-buffer exhaustion: one worker whose ring has 16
# provided buffers gets a burst of registrations far larger than that
# while it signs each answer. The multishot receive must end
# with -ENOBUFS, be re-armed once buffers are back, and every registration
# must still be answered: nothing lost, nothing answered twice.
source "$(dirname "$0")/../lib.sh"
require_root
require_cmd ip openssl

PEER=$CSMP_BUILD/selftests/net/csmpd_peer
FIX=$CSMP_FIXTURE_REG
require_built "$PEER" "$CSMPD"
require_file "$FIX"
csmp_tmpdir rearm

netns_add_lo he || exit 1
NS=$(ns he)
nms_keygen "$tmp"
N=2500
log=$tmp/csmpd.log

csmpd_start "$NS" "$log" --io uring --uring-buffers 16 --workers 1 \
	--listen '[::1]:61628' --nms-key "$tmp/nms.pem" ||
	{ not_ok "csmpd starts"; tap_done; }

ip netns exec "$NS" "$PEER" --pcap "$FIX" --target '[::1]:61628' \
	--count $N burst >"$tmp/burst" 2>&1
check "a burst of $N registrations is sent" test $? = 0
# Let the worker catch up (bounded), then stop it.
for i in $(seq 100); do
	sleep 0.1
	ip netns exec "$NS" ss -uHn state all "sport = :61628" | \
		awk '{ if ($2 != 0) exit 1 }' && break
done
csmpd_stop
check "SIGTERM: exit status 0" test $? = 0
stats=$(grep '%CSMP-5-STOPPED:' "$log")
io=$(grep '%CSMP-6-STOPPED_IO:' "$log")
diag "$stats"
diag "$io"
[[ $stats == *"rx $N tx $N registrations $N "* ]]
check "every one of the $N registrations answered once" test $? = 0
enobufs=$(sed -n 's/.* enobufs \([0-9]*\) .*/\1/p' <<<"$io")
rearm=$(sed -n 's/.* rearm \([0-9]*\) .*/\1/p' <<<"$io")
check "the buffer ring ran dry (ENOBUFS counted: ${enobufs:-none})" \
	test "${enobufs:-0}" -gt 0
check "the multishot receive was re-armed (${rearm:-none} times)" \
	test "${rearm:-0}" -gt 0
tap_done
