#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Issue 16 item 3: one malformed device row in the registry stopped csmpd
# at start. It is now skipped, counted in a log line, and the rest loaded.
source "$(dirname "$0")/../lib.sh"
require_root
require_cmd ip jq sqlite3

SIM=$BIN/csmp-sim
CTL=$BIN/csmpctl
require_built "$SIM" "$CSMPD" "$CTL"

csmp_tmpdir db-bad-row
netns_add_lo he || exit 1
NS=$(ns he)
T='[::1]:61635'
"$CTL" keygen "$tmp/nms.pem" "$tmp/nms.pub" >/dev/null
ctl() { ip netns exec "$NS" "$CTL" --control "$tmp/control.sock" "$@"; }
cat >"$tmp/csmpd.conf" <<CONF
[csmpd]
listen = $T
workers = 1
nms-key = $tmp/nms.pem
control = $tmp/control.sock
db = $tmp/registry.db
[policy]
uplink-signature = off
CONF

check "csmpd starts" csmpd_start "$NS" "$tmp/log" --config "$tmp/csmpd.conf"
ip netns exec "$NS" "$SIM" --target "$T" --nms-pubkey "$tmp/nms.pub" \
	--devices 4 --until-registered --reg-min 1 --reg-max 2 \
	--report-interval 0 --duration 30 --json --quiet >"$tmp/sim.json"
check "4 devices registered" test "$(jq .registered "$tmp/sim.json")" = 4
check "csmpd exits 0 on SIGTERM" csmpd_stop
sqlite3 "$tmp/registry.db" \
	"UPDATE devices SET addr = 'not an address' WHERE eid = (SELECT min(eid) FROM devices)"
check "csmpd starts with a malformed row" \
	csmpd_start "$NS" "$tmp/log2" --config "$tmp/csmpd.conf"
check "the row is counted in a log line" \
	grep -q "DB_BAD_ROW: .*: 1 malformed device rows skipped" "$tmp/log2"
check "the other 3 devices are resumed" grep -q "3 devices resumed" "$tmp/log2"
out=$(ctl --json devices 2>&1)
check "csmpctl devices lists the 3" test "$(jq '.devices | length' <<<"$out" 2>/dev/null)" = 3
check "csmpd exits 0 on SIGTERM" csmpd_stop
tap_done
