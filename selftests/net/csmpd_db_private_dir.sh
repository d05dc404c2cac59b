#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Issue 16 item 12: with --db in a directory the run user cannot read (a
# 0700 root temporary directory), csmpd registered and persisted devices,
# but `csmpctl devices` answered "no registry: csmpd runs without --db":
# the control side opened its reader after the privilege drop and gave the
# wrong reason. The reader is now opened before the drop; and when the
# registry cannot be read, the answer names the real reason.
source "$(dirname "$0")/../lib.sh"
require_root
require_cmd ip jq

SIM=$BIN/csmp-sim
CTL=$BIN/csmpctl
require_built "$SIM" "$CSMPD" "$CTL"

csmp_tmpdir db-private
chmod 700 "$tmp"	# root's, and nobody can neither read nor search it
netns_add_lo he || exit 1
NS=$(ns he)
T='[::1]:61633'
"$CTL" keygen "$tmp/nms.pem" "$tmp/nms.pub" >/dev/null
ctl() { ip netns exec "$NS" "$CTL" --control "$tmp/control.sock" "$@"; }
cat >"$tmp/csmpd.conf" <<CONF
[csmpd]
listen = $T
workers = 1
nms-key = $tmp/nms.pem
control = $tmp/control.sock
db = $tmp/registry.db
user = nobody
[policy]
uplink-signature = off
CONF

check "csmpd starts as nobody with its registry in a 0700 root directory" \
	csmpd_start "$NS" "$tmp/log" --config "$tmp/csmpd.conf"
ip netns exec "$NS" "$SIM" --target "$T" --nms-pubkey "$tmp/nms.pub" \
	--devices 5 --until-registered --reg-min 1 --reg-max 2 \
	--report-interval 0 --duration 30 --json --quiet >"$tmp/sim.json"
check "5 devices registered" test "$(jq .registered "$tmp/sim.json")" = 5
out=$(ctl devices --count 2>&1)
diag "csmpctl devices --count: $out"
check "csmpctl devices --count answers 5" test "$out" = 5
out=$(ctl --json devices 2>&1)
check "csmpctl devices lists 5" test "$(jq '.devices | length' <<<"$out" 2>/dev/null)" = 5
check "csmpd exits 0 on SIGTERM" csmpd_stop
check "the registry holds 5 devices" \
	test "$(sqlite3 "$tmp/registry.db" 'select count(*) from devices' 2>/dev/null)" = 5
tap_done
