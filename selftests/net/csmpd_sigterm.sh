#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# SIGTERM drains: a burst of registrations is still queued on csmpd's
# sockets when SIGTERM arrives (sendto on loopback has already put every
# datagram in a socket queue when it returns); csmpd must answer every one
# of them, send every reply and exit 0. Both I/O backends.
source "$(dirname "$0")/../lib.sh"
require_root
require_cmd ip openssl

PEER=$CSMP_BUILD/selftests/net/csmpd_peer
FIX=$CSMP_FIXTURE_REG
require_built "$PEER" "$CSMPD"
require_file "$FIX"
csmp_tmpdir sigterm

netns_add_lo he || exit 1
NS=$(ns he)
nms_keygen "$tmp"
N=400

for io in uring mmsg; do
	log=$tmp/csmpd.$io.log
	if ! csmpd_start "$NS" "$log" --io $io --workers 2 \
		--listen '[::1]:61628' --nms-key "$tmp/nms.pem"; then
		not_ok "$io: csmpd starts"
		continue
	fi
	ip netns exec "$NS" "$PEER" --pcap "$FIX" --target '[::1]:61628' \
		--count $N burst >"$tmp/burst.$io" 2>&1
	csmpd_stop
	rc=$?
	check "$io: SIGTERM during a burst of $N registrations: exit status 0" \
		test $rc = 0
	stats=$(grep '%CSMP-5-STOPPED' "$log")
	diag "$stats"
	[[ $stats == *"rx $N "* ]] || { sed 's/^/# /' "$log" "$tmp/burst.$io"; }
	[[ $stats == *"rx $N tx $N registrations $N "* ]]
	check "$io: every queued registration was received, answered and sent before exit" \
		test $? = 0
done

tap_done
