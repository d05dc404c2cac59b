#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# One csmpd per listening address. A second csmpd on the same address and
# port used to join the first one's SO_REUSEPORT group and take a share of
# its devices; it must refuse to start (exit 1, %CSMP-2-LISTEN_BUSY naming
# the address and the first csmpd's pid) while the first runs, and start
# normally once the first is gone, even after kill -9. Another port, or
# the same port in another network namespace, is not a conflict.
source "$(dirname "$0")/../lib.sh"
require_root
require_cmd ip jq

SIM=$BIN/csmp-sim
require_built "$SIM" "$CSMPD"

csmp_tmpdir single
netns_add_lo a || exit 1
netns_add_lo b || exit 1
A=$(ns a)
B=$(ns b)
T='[::1]:61628'
"$BIN/csmpctl" keygen "$tmp/nms.pem" "$tmp/nms.pub" >/dev/null
args=(--listen "$T" --workers 2 --nms-key "$tmp/nms.pem")
register() {	# NS EID-BASE: one device registers with the csmpd in NS
	ip netns exec "$1" "$SIM" --target "$T" --nms-pubkey "$tmp/nms.pub" \
		--devices 1 --eid-base "$2" --until-registered --reg-min 1 \
		--reg-max 2 --report-interval 0 --duration 10 --json --quiet |
		jq -e '.registered == 1' >/dev/null
}

check "first csmpd starts" csmpd_start "$A" "$tmp/first.log" "${args[@]}"
first=$pid

timeout 10 ip netns exec "$A" "$CSMPD" "${args[@]}" 2>"$tmp/second.log"
rc=$?
diag "second csmpd: exit $rc: $(grep LISTEN_BUSY "$tmp/second.log")"
check "second csmpd on the same address: exit status 1" test $rc = 1
check "second csmpd: %CSMP-2-LISTEN_BUSY names the address and the pid" \
	grep -q "%CSMP-2-LISTEN_BUSY: \[::1\]:61628 is served by another csmpd (pid $first): stop it first" "$tmp/second.log"
check "second csmpd never said it was up" \
	test "$(grep -c '%CSMP-5-START' "$tmp/second.log")" = 0
check "the first csmpd still answers" register "$A" 00C7000000000001

pid=
check "another port beside it starts" \
	csmpd_start "$A" "$tmp/other.log" --listen '[::1]:61629' --workers 1 \
		--nms-key "$tmp/nms.pem"
check "another port: SIGTERM, exit 0" csmpd_stop
check "the same port in another namespace starts" \
	csmpd_start "$B" "$tmp/ns.log" "${args[@]}"
check "another namespace: SIGTERM, exit 0" csmpd_stop

kill -KILL $first
wait $first 2>/dev/null
check "after kill -9 of the first, a new csmpd starts" \
	csmpd_start "$A" "$tmp/third.log" "${args[@]}"
check "and answers" register "$A" 00C7000000000002
check "SIGTERM, exit 0" csmpd_stop
check "after a clean exit, csmpd starts again" \
	csmpd_start "$A" "$tmp/fourth.log" "${args[@]}"
check "SIGTERM, exit 0 again" csmpd_stop
tap_done
