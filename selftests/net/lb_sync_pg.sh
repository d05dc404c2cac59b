#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# csmpctl lb sync: csmp_lb's backend set from the cluster's nodes table.
# Three real csmpd nodes share one PostgreSQL registry (selftests/pg.sh),
# each with its backend id, --node-addr and --reply-ports; csmp_lb is
# attached (generic XDP) twice in a namespace, on v0 and on v1, with two
# state files that share one Maglev key (two LB hosts):
#   - sync --once: the backends are the live nodes (id, address, reply-port
#     block, active), the preview printed before the apply;
#   - both LB states synced from the same database give the same table
#     (the same owner for 4096 EIDs from the live table, the same backends);
#   - a node row that is draining gives a draining backend; one without an
#     address, stopped (down) or expired gives none;
#   - kill -9 of one csmpd under a running sync (--interval 1 --timeout 3):
#     its backend leaves the live table within timeout + interval + 1 s;
#     restarted, it comes back;
#   - the database unreachable: sync fails and leaves the table alone;
#   - SIGTERM stops the running sync (exit 0).
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../pg.sh"
require_root
require_cmd ip jq nsenter
pg_require
CTL=$BIN/csmpctl
require_built "$CTL" "$CSMPD"

INTERVAL=1
TIMEOUT=3
declare -A node_pid
spid=
cleanup() {
	local p
	[ -n "$spid" ] && kill -KILL "$spid" 2>/dev/null
	for p in "${node_pid[@]}"; do
		{ kill -KILL "$p"; wait "$p"; } 2>/dev/null
	done
	csmp_cleanup
	pg_cleanup
	rm -rf "$pin" "$pin2"
}
lb_veth_setup lbsync || exit 1
pin2=$pin-b
trap cleanup EXIT
chmod 755 "$tmp"
pg_start || exit 1
NS=$(ns lb)
netns_add_lo he || exit 1
HE=$(ns he)

# lbc A|B ARGS: csmpctl lb on LB host A (v0, $pin) or B (v1, $pin2).
lbc() {
	local st=$tmp/a.state p=$pin
	[ "$1" = B ] && { st=$tmp/b.state; p=$pin2; }
	shift
	nsenter --net=/run/netns/"$NS" "$CTL" lb --state "$st" --pin-dir "$p" "$@"
}
quiet() { "$@" >/dev/null; }
# ids A|B: the backends of the live table, "ID:ADDR:STATE" sorted.
ids() { lbc "$1" --json table show | jq -r '[.backends[] | "\(.id):\(.addr):\(.state)"] | sort | join(" ")'; }
# owners A|B: the owner of 4096 EIDs in that LB's live table.
owners() { lbc "$1" --json eid $(seq -f '0A0027FFFE%06g' 100000 104095) | jq -r .backend | md5sum; }

# node N: csmpd with backend id N, its address and reply-port block.
node() {
	local n=$1 log=$tmp/node$1.log
	touch "$log"
	local k=$(grep -c '%CSMP-5-START' "$log")
	ip netns exec "$HE" "$CSMPD" --listen "[::1]:$((61700 + n))" --workers 1 \
		--unsigned --db "$PG_URL" --backend-id "000$n" \
		--node-addr "2001:db8:2::$n" --reply-ports "4${n}000-4${n}099" \
		--report-interval 3600 2>>"$log" &
	node_pid[$n]=$!
	pid=${node_pid[$n]} csmpd_wait_listen "$log" $((k + 1))
}
# want N...: the backends those nodes should give, as ids prints them.
want() {
	local n out=()
	for n; do out+=("$n:2001:db8:2::$n:active"); done
	printf '%s\n' "${out[@]}" | sort | paste -sd' '
}

if ! lbc A attach v0 --vip 2001:db8::53 --lb-addr 2001:db8:1::1 --generic \
	>"$tmp/attach" 2>&1; then
	sed 's/^/# /' "$tmp/attach"
	not_ok "csmp_lb attached"
	tap_done
fi
# LB host B shares A's Maglev key: its state starts as a copy of A's.
cp -p "$tmp/a.state" "$tmp/b.state"
check "a second csmp_lb (LB host B, the same key) attached" \
	lbc B attach v1 --vip 2001:db8::53 --lb-addr 2001:db8:1::1 --generic

for n in 1 2 3; do
	check "csmpd node $n starts on the PostgreSQL registry" node $n
done
sleep 1.5	# every node has heartbeat
check "the nodes table has the three nodes up, with their addresses" \
	test "$(pg_sql "SELECT string_agg(node || ' ' || addr || ' ' || state || ' ' || reply_port_lo || '-' || reply_port_hi, ',' ORDER BY node) FROM nodes")" = \
	"1 2001:db8:2::1 up 41000-41099,2 2001:db8:2::2 up 42000-42099,3 2001:db8:2::3 up 43000-43099"

lbc A sync --db "$PG_CONN" --once --timeout $TIMEOUT >"$tmp/once" 2>&1
rc=$?
sed 's/^/# A: /' "$tmp/once"
check "sync --once applies the nodes" [ $rc = 0 ]
check "the preview is printed before the apply" \
	test "$(grep -n -e '^preview:' -e '^applied' "$tmp/once" | cut -d: -f2 | paste -sd,)" = "preview,applied generation 2"
check "the live table's backends are the live nodes" test "$(ids A)" = "$(want 1 2 3)"
check "the state holds their reply-port blocks" \
	test "$(grep '^backend ' "$tmp/a.state" | awk '{print $2, $6 "-" $7}' | sort | paste -sd,)" = \
	"1 41000-41099,2 42000-42099,3 43000-43099"
check "every node owns slots of the live table" \
	test "$(lbc A --json table show | jq '[.backends[] | select(.slots > 20000)] | length')" = 3
lbc A sync --db "$PG_CONN" --once --timeout $TIMEOUT >"$tmp/again" 2>&1
check "a second sync --once changes nothing ($(cat "$tmp/again"))" \
	test "$(cat "$tmp/again")" = "in sync: 3 backends"
check "LB host B synced from the same database applies" \
	quiet lbc B sync --db "$PG_CONN" --once --timeout $TIMEOUT
check "both LB hosts have the same backends" test "$(ids A)" = "$(ids B)"
check "both LB hosts give the same owner to 4096 EIDs" test "$(owners A)" = "$(owners B)"

# Rows no csmpd of this test writes: a draining node, a node without an
# address, a stopped one, an expired one (heartbeats by the server's clock).
NOW="(extract(epoch FROM clock_timestamp()) * 1000)::bigint"
pg_sql "INSERT INTO nodes (node, addr, reply_port_lo, reply_port_hi, state, started, heartbeat) VALUES
	(7, '2001:db8:2::7', 47000, 47099, 'draining', 1, $NOW),
	(8, '', 0, 0, 'up', 1, $NOW),
	(9, '2001:db8:2::9', 0, 0, 'down', 1, $NOW),
	(10, '2001:db8:2::a', 0, 0, 'up', 1, $NOW - 60000)" >/dev/null
lbc A --json sync --db "$PG_CONN" --once --timeout $TIMEOUT >"$tmp/rows" 2>"$tmp/rows.err"
sed 's/^/# /' "$tmp/rows.err"
check "a draining node gives a draining backend; no address, down, expired: none" \
	test "$(ids A)" = "$(want 1 2 3) 7:2001:db8:2::7:draining"
check "sync --json says the new set" \
	test "$(jq -r 'select(.sync) | [.backends[] | "\(.id) \(.state)"] | join(",")' "$tmp/rows")" = \
	"1 active,2 active,3 active,7 draining"
check "the nodes left out are named once on stderr" \
	test "$(grep -cE 'node (8: no address|9: down|10: expired)' "$tmp/rows.err")" = 3
pg_sql "DELETE FROM nodes WHERE node >= 7" >/dev/null
lbc A sync --db "$PG_CONN" --once --timeout $TIMEOUT >"$tmp/rows" 2>&1
check "the rows gone, so is the draining backend" test "$(ids A)" = "$(want 1 2 3)"

# A database that cannot be read leaves the table alone.
before=$(owners A)
lbc A sync --db "host=$tmp/none dbname=csmp user=postgres" --once >"$tmp/bad" 2>&1
rc=$?
sed 's/^/# /' "$tmp/bad"
check "sync with the database unreachable fails (exit 1)" [ $rc = 1 ]
check "and leaves the table as it was" test "$(ids A)" = "$(want 1 2 3)" -a "$(owners A)" = "$before"

# ---- a running sync: a node dies, then comes back ------------------------------
# Not through lbc: $! must be csmpctl itself (nsenter execs it).
nsenter --net=/run/netns/"$NS" "$CTL" lb --state "$tmp/a.state" --pin-dir "$pin" \
	sync --db "$PG_CONN" --interval $INTERVAL --timeout $TIMEOUT >"$tmp/sync.log" 2>&1 &
spid=$!
sleep 1
t0=$(date +%s.%N)
{ kill -KILL "${node_pid[2]}"; wait "${node_pid[2]}"; } 2>/dev/null
unset 'node_pid[2]'
limit=$((TIMEOUT + INTERVAL + 1))
gone=
while :; do
	t=$(date +%s.%N)
	[ "$(ids A)" = "$(want 1 3)" ] && { gone=$t; break; }
	awk -v a="$t0" -v b="$t" -v l="$limit" 'BEGIN { exit !(b - a > l + 2) }' && break
	sleep 0.1
done
took=$([ -n "$gone" ] && awk -v a="$t0" -v b="$gone" 'BEGIN { printf "%.2f", b - a }')
check "kill -9 of node 2: its backend leaves the live table (${took:-never} s, limit $limit s)" \
	awk -v t="${took:-99}" -v l="$limit" 'BEGIN { exit !(t <= l) }'
check "the running sync printed its removal and preview" \
	grep -q -e '^backend 2: removed (node expired)' "$tmp/sync.log"
t0=$(date +%s.%N)
check "node 2 restarts" node 2
back=
for i in $(seq 50); do
	[ "$(ids A)" = "$(want 1 2 3)" ] && { back=$(date +%s.%N); break; }
	sleep 0.1
done
took=$([ -n "$back" ] && awk -v a="$t0" -v b="$back" 'BEGIN { printf "%.2f", b - a }')
check "restarted, it is a backend again (${took:-never} s after its start)" [ -n "$back" ]
check "LB host B synced again: the same table as A's" \
	quiet lbc B sync --db "$PG_CONN" --once --timeout $TIMEOUT
check "both LB hosts give the same owner to 4096 EIDs again" test "$(owners A)" = "$(owners B)"
kill -TERM "$spid"
wait "$spid"
rc=$?
spid=
check "SIGTERM stops the running sync (exit $rc)" [ $rc = 0 ]
sed 's/^/# sync: /' "$tmp/sync.log"

check "--interval 0 is refused (exit 2)" \
	bash -c '"$@" >/dev/null 2>&1; [ $? = 2 ]' _ "$CTL" lb --state "$tmp/a.state" --pin-dir "$pin" sync --db "$PG_CONN" --interval 0
check "sync without --db is refused (exit 2)" \
	bash -c '"$@" >/dev/null 2>&1; [ $? = 2 ]' _ "$CTL" lb --state "$tmp/a.state" --pin-dir "$pin" sync --once
tap_done
