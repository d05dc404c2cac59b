#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The ack-after-commit contract under kill -9: csmpd (default settings, a
# real SQLite file) answers a registration flood from durable_reg, which
# writes down every 2.03 it receives; csmpd is killed with SIGKILL at a
# random moment while answers are flowing, five times (alternating the
# io_uring and recvmmsg/sendmmsg backends). After each restart
# every EID whose answer was received is in the registry with the
# SessionID of that answer, and reports with those SessionIDs are
# recognised without re-registration. A last round with
# ack-after-commit = false shows, without asserting, what the old
# behaviour loses under the same flood.
source "$(dirname "$0")/../lib.sh"
require_root
require_cmd ip jq sqlite3 awk comm

REG=$CSMP_BUILD/selftests/net/durable_reg
CSMPD=$BIN/csmpd
CTL=$BIN/csmpctl
FIX=$CSMP_TOP/../shared/fixtures/opencsmp-register.pcap
for f in "$REG" "$CSMPD" "$CTL"; do
	[ -x "$f" ] || { echo "# SKIP $f not built (make all tests)"; exit $KSFT_SKIP; }
done

tmp=$(mktemp -d /tmp/csmp-durable-kill9.XXXXXX)
chmod 755 "$tmp"
pid=
fpid=
cleanup() {
	[ -n "$fpid" ] && kill "$fpid" 2>/dev/null
	[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
	netns_cleanup
	rm -rf "$tmp"
}
trap cleanup EXIT

netns_add he || exit 1
NS=$(ns he)
ip -n "$NS" link set lo up
T='[::1]:61628'
ROUNDS=5
"$CTL" keygen "$tmp/nms.pem" "$tmp/nms.pub" >/dev/null
printf '[csmpd]\n' >"$tmp/durable.conf"
printf '[csmpd]\nack-after-commit = false\n' >"$tmp/fast.conf"

# start CONFIG DB [IO]: csmpd in the namespace, up and listening.
start() {
	: >"$tmp/log"
	ip netns exec "$NS" "$CSMPD" --config "$1" --listen "$T" --workers 2 \
		--io "${3:-uring}" \
		--nms-key "$tmp/nms.pem" --db "$2" \
		--control "$tmp/control.sock" --report-interval 3600 \
		2>"$tmp/log" &
	pid=$!
	for _ in $(seq 100); do
		grep -q '%CSMP-5-START' "$tmp/log" && return 0
		kill -0 "$pid" 2>/dev/null
		sleep 0.1
	done
	cat "$tmp/log" >&2
	return 1
}
ctl() { ip netns exec "$NS" "$CTL" --control "$tmp/control.sock" "$@"; }

# flood_and_kill ROUND DB: a flood, csmpd killed with SIGKILL 0.3..1.3 s
# into it; sets answered, since_last (ms from the last answer to the kill).
flood_and_kill() {
	local r=$1 delay kill_ms
	delay=$(awk -v s="$RANDOM" 'BEGIN { srand(s); printf "%.2f", 0.3 + rand() }')
	ip netns exec "$NS" "$REG" flood --target "$T" --pcap "$FIX" \
		--devices 100000 --eid-base "$(printf '00D%02X00000000000' "$r")" \
		--window 64 --seconds $((2 + ${delay%%.*})) --retry-ms 500 \
		--out "$tmp/ans.$r" >"$tmp/flood.$r.json" &
	fpid=$!
	sleep "$delay"
	kill_ms=$(date +%s%3N)
	kill -KILL "$pid"
	wait "$pid" 2>/dev/null
	pid=
	wait "$fpid"
	fpid=
	answered=$(jq .answered "$tmp/flood.$r.json")
	since_last=$((kill_ms - $(jq .last_answer_ms "$tmp/flood.$r.json")))
	# Negative: answers still came between the time stamp and the signal.
	[ "$since_last" -lt 0 ] && since_last=0
	diag "round $r: killed ${delay} s into the flood: $(jq -c '{attempts,answered,late_answers,rate,latency_p50_us,latency_p99_us}' "$tmp/flood.$r.json")"
}

# missing ANSWERS DB: answered "EID SESSION" lines not in the registry.
missing() {
	sqlite3 -readonly "$2" "SELECT eid || ' ' || session_id FROM devices" |
		sort >"$tmp/db.txt"
	sort "$1" | comm -23 - "$tmp/db.txt" | wc -l
}

: >"$tmp/all"
for r in $(seq $ROUNDS); do
	io=$([ $((r % 2)) = 1 ] && echo uring || echo mmsg)
	check "round $r: csmpd starts on the registry (--io $io)" \
		start "$tmp/durable.conf" "$tmp/registry.db" "$io"
	flood_and_kill "$r"
	check "round $r: answers were flowing when csmpd was killed ($answered answered, the last $since_last ms before the kill)" \
		test "$answered" -gt 0 -a "$since_last" -lt 500
	cat "$tmp/ans.$r" >>"$tmp/all"

	check "round $r: csmpd restarts after kill -9" \
		start "$tmp/durable.conf" "$tmp/registry.db" "$io"
	m=$(missing "$tmp/all" "$tmp/registry.db")
	check "round $r: every EID whose 2.03 was received is in the registry with its SessionID ($(wc -l <"$tmp/all") so far, $m missing)" \
		test "$m" = 0
	resumed=$(sed -n 's/.*REGISTRY_LOADED: \([0-9]*\) devices resumed.*/\1/p' "$tmp/log")
	check "round $r: csmpd resumed them all at start ($resumed devices)" \
		test "${resumed:-0}" -ge "$(wc -l <"$tmp/all")"

	ip netns exec "$NS" "$REG" report --target "$T" --in "$tmp/ans.$r" \
		--rate 10000 >/dev/null
	for _ in $(seq 50); do
		st=$(ctl stats --json)
		[ "$(jq '[.workers[].reports] | add' <<<"$st")" -ge "$answered" ] && break
		sleep 0.1
	done
	check "round $r: reports with the SessionIDs of those answers are recognised ($(jq '[.workers[].reports] | add' <<<"$st") of $answered)" \
		test "$(jq '[.workers[].reports] | add' <<<"$st")" = "$answered"
	check "round $r: no report had an unknown session, nobody re-registered" \
		test "$(jq '[.workers[] | .reports_unknown_session + .registrations] | add' <<<"$st")" = 0
	kill -TERM "$pid"
	wait "$pid"
	pid=
done

# The same flood and kill with answers sent before the commit.
if start "$tmp/fast.conf" "$tmp/fast.db"; then
	flood_and_kill 9
	start "$tmp/fast.conf" "$tmp/fast.db" &&
		diag "ack-after-commit = false: $(missing "$tmp/ans.9" "$tmp/fast.db") of $answered answered registrations lost to kill -9"
	kill -TERM "$pid" 2>/dev/null
	wait "$pid"
	pid=
fi
tap_done
