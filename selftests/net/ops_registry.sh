#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# csmpd's registry, control socket, metrics, events and privilege drop,
# with real processes in a namespace of its own:
#   - a config error stops csmpd at start with FILE:LINE; a corrupt
#     database with %CSMP-2-DB_OPEN and a non-zero exit, never a crash;
#   - csmp-sim registers a fleet; csmpctl devices/stats, the Prometheus
#     endpoint and the event stream agree with it; the control socket is
#     0600 and csmpd runs as nobody with no capability;
#   - durability: csmpd is killed with SIGKILL more than one commit
#     interval after the last registration was answered; after a restart
#     every device is there and reports with the persisted SessionIDs are
#     recognised without re-registration.
source "$(dirname "$0")/../lib.sh"
require_root
require_cmd ip jq curl

SIM=$BIN/csmp-sim
UP=$CSMP_BUILD/selftests/net/ops_uplink
CTL=$BIN/csmpctl
require_built "$SIM" "$UP" "$CSMPD" "$CTL"

csmp_tmpdir ops-registry
chmod 755 "$tmp"
netns_add_lo he || exit 1
NS=$(ns he)
N=300
T='[::1]:61628'
MPORT=$((20000 + $$ % 20000))
"$CTL" keygen "$tmp/nms.pem" "$tmp/nms.pub" >/dev/null

# ---- refusals at start ------------------------------------------------------
printf '[csmpd]\nworkers = 2\ncommit-interval-ms = soon\n' >"$tmp/bad.conf"
ip netns exec "$NS" "$CSMPD" --config "$tmp/bad.conf" 2>"$tmp/err"
rc=$?
check "bad config value: csmpd exits non-zero" test $rc -ne 0 -a $rc -lt 128
check "bad config value: FILE:LINE and the reason" \
	grep -q "%CSMP-2-CONFIG: $tmp/bad.conf:3: commit-interval-ms: 'soon' is not a number" "$tmp/err"

head -c 8192 /dev/urandom >"$tmp/corrupt.db"
ip netns exec "$NS" "$CSMPD" --listen "$T" --unsigned --db "$tmp/corrupt.db" 2>"$tmp/err"
rc=$?
check "corrupt database: csmpd exits non-zero, no crash" test $rc -ne 0 -a $rc -lt 128
check "corrupt database: %CSMP-2-DB_OPEN names the file" \
	grep -q "%CSMP-2-DB_OPEN: $tmp/corrupt.db: not a usable SQLite database" "$tmp/err"

# ---- a fleet ------------------------------------------------------------------
start() {
	csmpd_start "$NS" "$tmp/log" --listen "$T" --workers 2 \
		--nms-key "$tmp/nms.pem" --db "$tmp/registry.db" \
		--control "$tmp/control.sock" --metrics 127.0.0.1:$MPORT \
		--events "$tmp/events.jsonl" --report-interval 3600
}
ctl() { ip netns exec "$NS" "$CTL" --control "$tmp/control.sock" "$@"; }

check "csmpd starts with registry, control, metrics and events" start
ip netns exec "$NS" "$SIM" --target "$T" --nms-pubkey "$tmp/nms.pub" \
	--devices $N --until-registered --reg-min 1 --reg-max 2 \
	--report-interval 0 --duration 60 --json --quiet >"$tmp/sim.json"
check "csmp-sim: every device registered" \
	test "$(jq .registered "$tmp/sim.json")" = $N
# Every attempt is answered, once its record is committed: on a loaded
# disk a device may retry before its first answer left, so the counts
# below are of attempts, and the last answers may still be on their way.
ATT=$(jq .reg_attempts "$tmp/sim.json")
diag "csmp-sim: $N devices registered in $ATT attempts"

check "control socket is mode 0600" test "$(stat -c %a "$tmp/control.sock")" = 600
check "csmpd runs as nobody" \
	test "$(awk '/^Uid:/ {print $2}' /proc/$pid/status)" = 65534
check "csmpd has no effective capability" \
	test "$(awk '/^CapEff:/ {print $2}' /proc/$pid/status)" = 0000000000000000
check "csmpd has no permitted capability" \
	test "$(awk '/^CapPrm:/ {print $2}' /proc/$pid/status)" = 0000000000000000

for _ in $(seq 100); do
	[ "$(ctl stats --json | jq '[.workers[].registrations] | add')" = "$ATT" ] && break
	sleep 0.1
done
diag "csmpd: $(ctl stats --json | jq -c '{answered: ([.workers[].registrations] | add), held: ([.workers[].registrations_held] | add), withheld: ([.workers[].registrations_withheld] | add), registry: .registry}')"
check "csmpctl devices --count" test "$(ctl devices --count)" = $N
check "csmpctl devices --json lists every device" \
	test "$(ctl devices --json | jq '.devices | length')" = $N
EID=$(ctl devices --json | jq -r '.devices[0].eid')
ctl devices "$EID" >"$tmp/one"
check "csmpctl devices EID: session and decoded TLVs" \
	grep -q '^\[11/HardwareDesc\]: {' "$tmp/one"
check "csmpctl stats: registrations add up" \
	test "$(ctl stats --json | jq '[.workers[].registrations] | add')" = "$ATT"
ctl stats >"$tmp/stats"
check "csmpctl stats: table" grep -q '^WORKER' "$tmp/stats"

ip netns exec "$NS" curl -s http://127.0.0.1:$MPORT/metrics >"$tmp/metrics"
check "metrics: HELP and TYPE lines" \
	grep -q '^# TYPE csmp_registrations_total counter$' "$tmp/metrics"
check "metrics: per-worker registrations add up" \
	test "$(awk '/^csmp_registrations_total\{/ {s += $2} END {print s}' "$tmp/metrics")" = "$ATT"
check "metrics: labelled signature failure counters" \
	grep -q '^csmp_reason_total{worker="0",reason="sig_expired"} 0$' "$tmp/metrics"
check "events: one JSON registration line per attempt" \
	test "$(jq -c 'select(.event == "registration")' "$tmp/events.jsonl" | wc -l)" = "$ATT"
check "events: every device has its registration event" \
	test "$(jq -r 'select(.event == "registration") | .eid' "$tmp/events.jsonl" | sort -u | wc -l)" = $N

# ---- kill -9 and resume ---------------------------------------------------
kill -KILL $pid
wait $pid 2>/dev/null
pid=
check "csmpd restarts on the same registry" start
check "every answered registration survived kill -9" \
	test "$(ctl devices --count)" = $N
check "restart log says the devices resumed" \
	grep -q "REGISTRY_LOADED: $N devices resumed" "$tmp/log"
for s in $(ctl devices --json | jq -r '.devices[0:20][].session'); do
	ip netns exec "$NS" "$UP" --target "$T" --session "$s" --mode unsigned
done
sleep 0.3
st=$(ctl stats --json)
check "reports with persisted SessionIDs are recognised" \
	test "$(jq '[.workers[].reports] | add' <<<"$st")" = 20
check "no report had an unknown session" \
	test "$(jq '[.workers[].reports_unknown_session] | add' <<<"$st")" = 0
check "no device re-registered" \
	test "$(jq '[.workers[].registrations] | add' <<<"$st")" = 0

csmpd_stop
check "csmpd exits 0 on SIGTERM" test $? = 0
tap_done
