#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# With io_uring refused by seccomp (as container runtimes do), csmpd picks
# the recvmmsg/sendmmsg backend by itself, says so in its log and answers
# registrations; asked for --io uring explicitly, it refuses to start.
source "$(dirname "$0")/../lib.sh"
require_root
require_cmd ip openssl

PEER=$CSMP_BUILD/selftests/net/csmpd_peer
NORING=$CSMP_BUILD/selftests/net/csmpd_noring
FIX=$CSMP_FIXTURE_REG
require_built "$PEER" "$NORING" "$CSMPD"
require_file "$FIX"
csmp_tmpdir fallback

netns_add_lo he || exit 1
NS=$(ns he)
nms_keygen "$tmp"
log=$tmp/csmpd.log

CSMPD_WRAP=$NORING csmpd_start "$NS" "$log" --workers 2 --listen '[::1]:61628' \
	--nms-key "$tmp/nms.pem"
grep -q '%CSMP-5-IO_BACKEND: io_uring unavailable (Operation not permitted): using recvmmsg/sendmmsg' "$log"
rc=$?
[ $rc = 0 ] || sed 's/^/# /' "$log"
check "io_uring refused: csmpd falls back to recvmmsg/sendmmsg and logs it" test $rc = 0
ip netns exec "$NS" "$PEER" --pcap "$FIX" --pubkey "$tmp/nms.pub" \
	--target '[::1]:61628' reg >"$tmp/out" 2>&1
rc=$?
[ $rc = 0 ] || sed 's/^/# /' "$tmp/out"
check "io_uring refused: registration answered with a signed 2.03" test $rc = 0
csmpd_stop
check "io_uring refused: SIGTERM: exit status 0" test $? = 0

ip netns exec "$NS" "$NORING" "$CSMPD" --io uring --listen '[::1]:61628' \
	--nms-key "$tmp/nms.pem" 2>"$tmp/forced.log"
rc=$?
grep -q 'IO_BACKEND: --io uring: io_uring unavailable' "$tmp/forced.log"
check "io_uring refused and --io uring asked: csmpd refuses to start" \
	test $? = 0 -a $rc != 0

tap_done
