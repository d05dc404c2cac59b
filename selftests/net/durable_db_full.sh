#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# csmpd when its registry cannot be written: the database lives on a small
# tmpfs that this test mounts in a mount namespace of its own (unshare -m:
# nothing leaks into the host's mounts), and the test fills it up.
#   - no registration is answered while the disk is full, not even a
#     retransmission of one whose answer is parked;
#   - %CSMP-2-DB_WRITE is logged, the failure is counted and shown;
#   - csmpd keeps running and reports from registered devices are still
#     recognised;
#   - once there is space again csmpd says so, answers the devices as they
#     retry, and the retransmitted registration was recorded once;
#   - a worker waiting for a commit that does not come does not spin, and
#     SIGTERM still stops csmpd, which says what it could not commit.
source "$(dirname "$0")/../lib.sh"
require_root
require_cmd ip jq sqlite3 unshare mount

if [ -z "${CSMP_DURABLE_MNTNS:-}" ]; then
	CSMP_DURABLE_MNTNS=1 exec unshare -m --propagation private bash "$0" "$@"
fi

REG=$CSMP_BUILD/selftests/net/durable_reg
CSMPD=$BIN/csmpd
CTL=$BIN/csmpctl
FIX=$CSMP_TOP/../shared/fixtures/opencsmp-register.pcap
for f in "$REG" "$CSMPD" "$CTL"; do
	[ -x "$f" ] || { echo "# SKIP $f not built (make all tests)"; exit $KSFT_SKIP; }
done

tmp=$(mktemp -d /tmp/csmp-durable-full.XXXXXX)
chmod 755 "$tmp"
pid=
cleanup() {
	[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
	netns_cleanup
	umount -l "$tmp/fs" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

mkdir "$tmp/fs"
mount -t tmpfs -o size=2m,mode=0755 csmp-test "$tmp/fs" || exit 1
netns_add he || exit 1
NS=$(ns he)
ip -n "$NS" link set lo up
T='[::1]:61628'
DB=$tmp/fs/registry.db
"$CTL" keygen "$tmp/nms.pem" "$tmp/nms.pub" >/dev/null

reg() { ip netns exec "$NS" "$REG" "$@" --target "$T"; }
ctl() { ip netns exec "$NS" "$CTL" --control "$tmp/control.sock" "$@"; }
stat_sum() { ctl stats --json | jq "[.workers[].$1] | add"; }

ip netns exec "$NS" "$CSMPD" --listen "$T" --workers 2 \
	--nms-key "$tmp/nms.pem" --db "$DB" --control "$tmp/control.sock" \
	--report-interval 3600 2>"$tmp/log" &
pid=$!
for _ in $(seq 100); do
	grep -q '%CSMP-5-START' "$tmp/log" && break
	sleep 0.1
done
check "csmpd starts with its registry on the small tmpfs" \
	grep -q '%CSMP-5-START' "$tmp/log"

reg flood --pcap "$FIX" --devices 50 --eid-base 00E1000000000000 \
	--seconds 5 --out "$tmp/before" >"$tmp/before.json"
check "50 devices registered while there is space" \
	test "$(jq .answered "$tmp/before.json")" = 50

# Back-to-back retransmissions while the answer waits for its commit: one
# record, and every answer that leaves is the same committed 2.03.
reg repeat --pcap "$FIX" --eid 00E1000000000100 --mid 777 --count 3 \
	--interval-ms 0 --seconds 0.5 >"$tmp/dup.json"
check "retransmissions right after a registration: answered with one and the same 2.03 ($(jq -c '{answers,distinct}' "$tmp/dup.json"))" \
	test "$(jq .answers "$tmp/dup.json")" -ge 1 -a "$(jq .distinct "$tmp/dup.json")" = 1
check "retransmissions right after a registration: recorded once" \
	test "$(sqlite3 -readonly "$DB" "SELECT registrations FROM devices WHERE eid = '00E1000000000100'")" = 1

# ---- the disk is full --------------------------------------------------------
dd if=/dev/zero of="$tmp/fs/fill" bs=64k 2>/dev/null
dd if=/dev/zero of="$tmp/fs/fill2" bs=512 2>/dev/null
diag "tmpfs: $(df -h --output=avail "$tmp/fs" | tail -1 | tr -d ' ') left"

# One registration sent five times with the same MID: its answer is parked
# behind a commit that cannot happen, so none of the five is answered. The
# held-duplicate counter is cumulative (the back-to-back retransmissions
# above may have been held too): count from here.
held0=$(ctl stats --json | jq '[.workers[].registrations_duplicate_held] | add')
reg repeat --pcap "$FIX" --eid 00E2000000000001 --mid 4242 --count 5 \
	--interval-ms 200 --seconds 1.5 >"$tmp/repeat.json"
check "a registration and its retransmissions get no answer while the disk is full" \
	test "$(jq .answers "$tmp/repeat.json")" = 0
reg flood --pcap "$FIX" --devices 200 --eid-base 00E3000000000000 \
	--seconds 2 --retry-ms 300 --out "$tmp/during" >"$tmp/during.json"
check "no registration is answered while the disk is full ($(jq .attempts "$tmp/during.json") attempts)" \
	test "$(jq .answered "$tmp/during.json")" = 0
check "%CSMP-2-DB_WRITE alarm names the database and the reason" \
	grep -q "%CSMP-2-DB_WRITE: $DB: .*full" "$tmp/log"
check "the alarm is logged once for the failure, not once per record" \
	test "$(grep -c '%CSMP-2-DB_WRITE' "$tmp/log")" -le 2
check "csmpd keeps running" kill -0 "$pid"
st=$(ctl stats --json)
check "csmpctl stats: the registry is failing and its errors are counted" \
	test "$(jq '.registry.failing' <<<"$st")" = true -a \
	"$(jq '.registry.errors' <<<"$st")" -gt 0
check "csmpctl stats: registrations not answered are counted" \
	test "$(jq '[.workers[] | .registrations_withheld + .registrations_held] | add' <<<"$st")" -gt 0
check "csmpctl stats: the retransmissions of the parked registration were held" \
	test "$(jq '[.workers[].registrations_duplicate_held] | add' <<<"$st")" = $((held0 + 4))

reg report --in "$tmp/before" >/dev/null
for _ in $(seq 30); do
	[ "$(stat_sum reports)" = 50 ] && break
	sleep 0.1
done
check "reports from registered devices are still recognised" \
	test "$(stat_sum reports)" = 50

# ---- space again -----------------------------------------------------------------
rm -f "$tmp/fs/fill" "$tmp/fs/fill2"
for _ in $(seq 50); do
	grep -q '%CSMP-5-DB_RECOVERED' "$tmp/log" && break
	sleep 0.1
done
check "%CSMP-5-DB_RECOVERED once there is space" \
	grep -q "%CSMP-5-DB_RECOVERED: $DB" "$tmp/log"
reg flood --pcap "$FIX" --devices 200 --eid-base 00E3000000000000 \
	--seconds 5 --out "$tmp/after" >"$tmp/after.json"
check "the devices that retry are answered again" \
	test "$(jq .answered "$tmp/after.json")" = 200
check "csmpctl stats: the registry is no longer failing" \
	test "$(ctl stats --json | jq '.registry.failing')" = false
sort "$tmp/before" "$tmp/after" >"$tmp/answered"
sqlite3 -readonly "$DB" "SELECT eid || ' ' || session_id FROM devices" |
	sort >"$tmp/db.txt"
check "every answered registration is in the registry" \
	test "$(comm -23 "$tmp/answered" "$tmp/db.txt" | wc -l)" = 0
check "the retransmitted registration was recorded once" \
	test "$(sqlite3 -readonly "$DB" "SELECT registrations FROM devices WHERE eid = '00E2000000000001'")" = 1

# ---- full again, then stopped ------------------------------------------------------
dd if=/dev/zero of="$tmp/fs/fill" bs=64k 2>/dev/null
dd if=/dev/zero of="$tmp/fs/fill2" bs=512 2>/dev/null
reg repeat --pcap "$FIX" --eid 00E2000000000002 --count 1 --seconds 0.5 \
	>"$tmp/repeat2.json"
check "full again: the new registration is parked, not answered" \
	test "$(jq .answers "$tmp/repeat2.json")" = 0 -a "$(stat_sum registrations_held)" -ge 1
# A worker waits for the commit on an eventfd, not in a loop: over one
# second csmpd uses a small fraction of a CPU (a spinning worker would
# use most of one).
cpu() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
c0=$(cpu)
sleep 1
c1=$(cpu)
check "no busy wait while an answer waits for a failing registry ($((c1 - c0)) ticks of $(getconf CLK_TCK) in 1 s)" \
	test $((c1 - c0)) -lt $(($(getconf CLK_TCK) / 5))
kill -TERM "$pid"
wait "$pid"
check "csmpd exits 0 on SIGTERM even with the registry failing" test $? = 0
pid=
check "at exit it says how many records could not be committed" \
	grep -q "%CSMP-3-DB_WRITE: $DB: stopping with [0-9]* records not committed" "$tmp/log"
tap_done
