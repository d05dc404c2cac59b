#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The ack-after-commit contract on the PostgreSQL registry (csmpd --db
# postgresql://...), against a server this test starts (selftests/pg.sh):
#   - a simulated fleet (csmp-sim) registers: every device is in the
#     database, owned by this node, which heartbeats into the nodes table;
#   - csmpd is killed with SIGKILL while a registration flood is being
#     answered (durable_reg writes down every 2.03 it receives), three
#     times: after each restart every answered EID is in the database with
#     the SessionID of its answer, csmpd resumes them, and their reports are
#     recognised without re-registration;
#   - the server is stopped: no registration is answered (withheld, as on a
#     full disk), csmpd says so and keeps running; started again: csmpd
#     reconnects by itself, says so, and the devices are answered;
#   - the server is restarted in the middle of a flood: answers stop, then
#     resume, and every answered registration is in the database;
#   - SIGTERM: the node's row says down.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../pg.sh"
require_root
require_cmd ip jq awk comm sort
pg_require

REG=$CSMP_BUILD/selftests/net/durable_reg
CTL=$BIN/csmpctl
SIM=$BIN/csmp-sim
require_built "$REG" "$CSMPD" "$CTL" "$SIM"
require_file "$CSMP_FIXTURE_REG"

fpid=
cleanup() {
	[ -n "$fpid" ] && kill "$fpid" 2>/dev/null
	csmp_cleanup
	pg_cleanup
}
csmp_tmpdir durable-pg
trap cleanup EXIT
chmod 755 "$tmp"
pg_start || exit 1
netns_add_lo he || exit 1
NS=$(ns he)
T='[::1]:61628'
NODE=183	# --backend-id 00b7
"$CTL" keygen "$tmp/nms.pem" "$tmp/nms.pub" >/dev/null

start() {
	csmpd_start "$NS" "$tmp/log" --listen "$T" --workers 2 \
		--nms-key "$tmp/nms.pem" --db "$PG_URL" --backend-id 00b7 \
		--control "$tmp/control.sock" --report-interval 3600
}
ctl() { ip netns exec "$NS" "$CTL" --control "$tmp/control.sock" "$@"; }
reg() { ip netns exec "$NS" "$REG" "$@" --target "$T"; }
stat_sum() { ctl stats --json | jq "[.workers[].$1] | add"; }
# missing ANSWERS: answered "EID SESSION" lines not in the database.
missing() {
	pg_sql "SELECT eid || ' ' || session_id FROM devices" | sort >"$tmp/db.txt"
	sort "$1" | comm -23 - "$tmp/db.txt" | wc -l
}
resumed() { sed -n 's/.*REGISTRY_LOADED: \([0-9]*\) devices resumed.*/\1/p' "$tmp/log" | tail -n 1; }

# ---- a simulated fleet ----------------------------------------------------------
check "csmpd starts on the PostgreSQL registry" start
ip netns exec "$NS" "$SIM" --target "$T" --nms-pubkey "$tmp/nms.pub" \
	--devices 2000 --eid-base 00C6000000000000 --until-registered \
	--linger 1 --duration 30 --json --quiet >"$tmp/sim.json"
check "csmp-sim: 2000 devices registered ($(jq -c '{registered,reg_attempts,reports_sent}' "$tmp/sim.json"))" \
	test "$(jq .registered "$tmp/sim.json")" = 2000
check "every simulated device is in the database, owned by this node" \
	test "$(pg_sql "SELECT count(*) FROM devices WHERE eid LIKE '00C6%' AND owner = $NODE")" = 2000
check "csmpctl devices --db (no csmpd asked) lists them with their owner node" \
	test "$("$CTL" devices --db "$PG_CONN" | awk '$1 ~ /^00C6/ && $NF == "00b7"' | wc -l)" = 2000
check "the node heartbeats into the nodes table (state up, last beat < 3 s ago)" \
	test "$(pg_sql "SELECT state || ' ' || (extract(epoch FROM clock_timestamp()) * 1000 - heartbeat < 3000) FROM nodes WHERE node = $NODE")" = "up true"
kill -KILL "$pid"
wait "$pid" 2>/dev/null
pid=
check "csmpd restarts after kill -9" start
check "it resumed the fleet from the database ($(resumed) devices)" \
	test "$(resumed)" = 2000

# ---- kill -9 while answers flow ---------------------------------------------------
: >"$tmp/all"
for r in 1 2 3; do
	delay=$(awk -v s="$RANDOM" 'BEGIN { srand(s); printf "%.2f", 0.3 + rand() }')
	reg flood --pcap "$CSMP_FIXTURE_REG" --devices 100000 \
		--eid-base "$(printf '00F%02X00000000000' "$r")" --window 64 \
		--seconds 3 --retry-ms 500 --out "$tmp/ans.$r" >"$tmp/flood.$r.json" &
	fpid=$!
	sleep "$delay"
	kill -KILL "$pid"
	wait "$pid" 2>/dev/null
	pid=
	wait "$fpid"
	fpid=
	answered=$(jq .answered "$tmp/flood.$r.json")
	diag "round $r: killed $delay s into the flood: $(jq -c '{attempts,answered,rate,latency_p50_us,latency_p99_us}' "$tmp/flood.$r.json")"
	check "round $r: answers were flowing when csmpd was killed ($answered)" \
		test "$answered" -gt 0
	cat "$tmp/ans.$r" >>"$tmp/all"
	m=$(missing "$tmp/all")
	check "round $r: every EID whose 2.03 was received is in the database with its SessionID ($(wc -l <"$tmp/all") so far, $m missing)" \
		test "$m" = 0
	check "round $r: csmpd restarts" start
	check "round $r: it resumed them all ($(resumed) devices)" \
		test "$(resumed)" -ge $(($(wc -l <"$tmp/all") + 2000))
	reg report --in "$tmp/ans.$r" --rate 10000 >/dev/null
	for _ in $(seq 50); do
		[ "$(stat_sum reports)" -ge "$answered" ] && break
		sleep 0.1
	done
	check "round $r: their reports are recognised ($(stat_sum reports) of $answered), nobody re-registered" \
		test "$(stat_sum reports)" = "$answered" -a \
		"$(ctl stats --json | jq '[.workers[] | .reports_unknown_session + .registrations] | add')" = 0
done

# ---- the server stopped, then started ----------------------------------------------
pg_stop fast
reg flood --pcap "$CSMP_FIXTURE_REG" --devices 200 --eid-base 00E5000000000000 \
	--seconds 2 --retry-ms 300 --out "$tmp/down" >"$tmp/down.json"
check "no registration is answered while PostgreSQL is down ($(jq .attempts "$tmp/down.json") attempts)" \
	test "$(jq .answered "$tmp/down.json")" = 0
check "%CSMP-2-DB_WRITE names the database and the lost connection" \
	grep -q "%CSMP-2-DB_WRITE: postgresql:.*connection" "$tmp/log"
check "csmpd keeps running, the registry shows failing" \
	test "$(kill -0 "$pid" && ctl stats --json | jq .registry.failing)" = true
pg_restart
for _ in $(seq 60); do
	grep -q '%CSMP-5-DB_RECOVERED' "$tmp/log" && break
	sleep 0.1
done
check "%CSMP-5-DB_RECOVERED once the server is back (csmpd reconnected)" \
	grep -q '%CSMP-5-DB_RECOVERED: postgresql:' "$tmp/log"
reg flood --pcap "$CSMP_FIXTURE_REG" --devices 200 --eid-base 00E5000000000000 \
	--seconds 5 --out "$tmp/up" >"$tmp/up.json"
check "the devices that retry are answered again" \
	test "$(jq .answered "$tmp/up.json")" = 200
cat "$tmp/down" "$tmp/up" >>"$tmp/all"
check "every answered registration is in the database" \
	test "$(missing "$tmp/all")" = 0

# ---- the server restarted under load ------------------------------------------------
rec0=$(grep -c '%CSMP-5-DB_RECOVERED' "$tmp/log")
reg flood --pcap "$CSMP_FIXTURE_REG" --devices 100000 --eid-base 00E6000000000000 \
	--window 64 --seconds 5 --retry-ms 500 --out "$tmp/load" >"$tmp/load.json" &
fpid=$!
sleep 1
n0=$(pg_sql "SELECT count(*) FROM devices WHERE eid LIKE '00E6%'")
pg_restart fast
wait "$fpid"
fpid=
diag "restart under load: $(jq -c '{attempts,answered,rate,latency_p99_us,latency_max_us}' "$tmp/load.json"), $n0 stored before the restart"
for _ in $(seq 30); do
	[ "$(grep -c '%CSMP-5-DB_RECOVERED' "$tmp/log")" -gt "$rec0" ] && break
	sleep 0.1
done
check "the restart was seen and recovered from (%CSMP-5-DB_RECOVERED)" \
	test "$(grep -c '%CSMP-5-DB_RECOVERED' "$tmp/log")" -gt "$rec0"
check "answers resumed after the restart ($(jq .answered "$tmp/load.json") answered, $n0 before it)" \
	test "$(jq .answered "$tmp/load.json")" -gt "$n0" -a "$n0" -gt 0
cat "$tmp/load" >>"$tmp/all"
check "nothing answered was lost: every one of $(wc -l <"$tmp/all") answers is in the database" \
	test "$(missing "$tmp/all")" = 0

csmpd_stop
check "csmpd exits 0 on SIGTERM" test $? = 0
check "a clean stop leaves the node down in the nodes table" \
	test "$(pg_sql "SELECT state FROM nodes WHERE node = $NODE")" = down
tap_done
