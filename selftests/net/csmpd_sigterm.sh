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
CSMPD=$BIN/csmpd
FIX=$CSMP_TOP/../shared/fixtures/opencsmp-register.pcap
for f in "$PEER" "$CSMPD"; do
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
N=400

for io in uring mmsg; do
	log=$tmp/csmpd.$io.log
	ip netns exec "$NS" "$CSMPD" --io $io --workers 2 \
		--listen '[::1]:61628' --nms-key "$tmp/nms.pem" 2>"$log" &
	pid=$!
	for i in $(seq 100); do
		grep -q '%CSMP-5-START' "$log" && break
		sleep 0.1
	done
	if ! grep -q '%CSMP-5-START' "$log"; then
		sed 's/^/# /' "$log"
		not_ok "$io: csmpd starts"
		continue
	fi
	ip netns exec "$NS" "$PEER" --pcap "$FIX" --target '[::1]:61628' \
		--count $N burst >"$tmp/burst.$io" 2>&1
	kill -TERM "$pid"
	wait "$pid"
	rc=$?
	pid=
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
