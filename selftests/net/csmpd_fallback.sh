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
CSMPD=$BIN/csmpd
FIX=$CSMP_TOP/../shared/fixtures/opencsmp-register.pcap
for f in "$PEER" "$NORING" "$CSMPD"; do
	[ -x "$f" ] || { echo "# SKIP $f not built (make all tests)"; exit $KSFT_SKIP; }
done
[ -r "$FIX" ] || { echo "# SKIP fixture $FIX missing"; exit $KSFT_SKIP; }

tmp=$(mktemp -d)
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
openssl ecparam -name prime256v1 -genkey -noout -out "$tmp/nms.pem" 2>/dev/null
openssl ec -in "$tmp/nms.pem" -pubout -out "$tmp/nms.pub" 2>/dev/null
log=$tmp/csmpd.log

ip netns exec "$NS" "$NORING" "$CSMPD" --workers 2 --listen '[::1]:61628' \
	--nms-key "$tmp/nms.pem" 2>"$log" &
pid=$!
for i in $(seq 100); do
	grep -q '%CSMP-5-START' "$log" && break
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.1
done
grep -q '%CSMP-5-IO_BACKEND: io_uring unavailable (Operation not permitted): using recvmmsg/sendmmsg' "$log"
rc=$?
[ $rc = 0 ] || sed 's/^/# /' "$log"
check "io_uring refused: csmpd falls back to recvmmsg/sendmmsg and logs it" test $rc = 0
ip netns exec "$NS" "$PEER" --pcap "$FIX" --pubkey "$tmp/nms.pub" \
	--target '[::1]:61628' reg >"$tmp/out" 2>&1
rc=$?
[ $rc = 0 ] || sed 's/^/# /' "$tmp/out"
check "io_uring refused: registration answered with a signed 2.03" test $rc = 0
kill -TERM "$pid"
wait "$pid"
check "io_uring refused: SIGTERM: exit status 0" test $? = 0
pid=

ip netns exec "$NS" "$NORING" "$CSMPD" --io uring --listen '[::1]:61628' \
	--nms-key "$tmp/nms.pem" 2>"$tmp/forced.log"
rc=$?
grep -q 'IO_BACKEND: --io uring: io_uring unavailable' "$tmp/forced.log"
check "io_uring refused and --io uring asked: csmpd refuses to start" \
	test $? = 0 -a $rc != 0

tap_done
