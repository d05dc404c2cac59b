#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Issue 16 item 3: the registry (and its -wal, -shm) was 0644: any local
# user read the bucket key and every device. It is now 0600 and the run
# user's, made so at creation and narrowed when an older csmpd left it
# wider.
source "$(dirname "$0")/../lib.sh"
require_root
require_cmd ip jq stat

SIM=$BIN/csmp-sim
CTL=$BIN/csmpctl
require_built "$SIM" "$CSMPD" "$CTL"

csmp_tmpdir db-modes
chmod 755 "$tmp"
netns_add_lo he || exit 1
NS=$(ns he)
T='[::1]:61634'
"$CTL" keygen "$tmp/nms.pem" "$tmp/nms.pub" >/dev/null
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
modes_ok() { # WHEN
	local f m
	for f in "$tmp/registry.db" "$tmp/registry.db-wal" "$tmp/registry.db-shm"; do
		m=$(stat -c '%a %U' "$f" 2>&1)
		diag "$1: ${f##*/}: $m"
		[ "$m" = "600 nobody" ] || return 1
	done
}

check "csmpd starts with a new registry" \
	csmpd_start "$NS" "$tmp/log" --config "$tmp/csmpd.conf"
ip netns exec "$NS" "$SIM" --target "$T" --nms-pubkey "$tmp/nms.pub" \
	--devices 3 --until-registered --reg-min 1 --reg-max 2 \
	--report-interval 0 --duration 30 --json --quiet >"$tmp/sim.json"
check "3 devices registered" test "$(jq .registered "$tmp/sim.json")" = 3
check "a new registry, -wal and -shm are 0600, the run user's" modes_ok new
check "csmpd exits 0 on SIGTERM" csmpd_stop
touch "$tmp/registry.db-wal" "$tmp/registry.db-shm"
chmod 644 "$tmp"/registry.db*
check "csmpd starts with a 0644 registry" \
	csmpd_start "$NS" "$tmp/log" --config "$tmp/csmpd.conf"
check "a registry left 0644 is made 0600" modes_ok old
check "csmpd exits 0 on SIGTERM" csmpd_stop
tap_done
