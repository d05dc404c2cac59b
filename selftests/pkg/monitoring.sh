#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# The shipped monitoring (dist/monitoring/): the alert rules pass `promtool
# check rules` and their own `promtool test rules` cases; a running csmpd's
# /metrics passes `promtool check metrics` and has csmp_build_info, the
# process_* families and the reload gauge, which turns 0 on a refused
# reload and 1 again on a good one; every metric the rules and the Grafana
# dashboard query is one csmpd exports.
. "$(dirname "$0")/../lib.sh"
require_root
require_cmd promtool jq curl
require_built "$CSMPD" "$BIN/csmp-sim"
M=$CSMP_TOP/dist/monitoring
csmp_tmpdir monitoring

check "promtool check rules" bash -c "promtool check rules '$M/csmpd-alerts.yml' >'$tmp/cr.log' 2>&1 || { sed 's/^/# /' '$tmp/cr.log'; false; }"
(cd "$M" && promtool test rules csmpd-alerts.test.yml) >"$tmp/rt.log" 2>&1 ||
	sed 's/^/# /' "$tmp/rt.log"
check "promtool test rules (each alert fires on its case only)" grep -q SUCCESS "$tmp/rt.log"
dash_ok() {
	jq -e '(.panels | length > 0) and all(.panels[]; (.targets | length > 0) and
		all(.targets[]; .expr | length > 0)) and ([.panels[].id] | length == (unique | length))' \
		"$M/csmpd-dashboard.json" >/dev/null
}
check "dashboard: JSON whose panels all query, ids unique" dash_ok

netns_add_lo mon || exit 1
port=9628
conf() { # DEVICES: a config file with that policy
	printf '[csmpd]\ndb = %s\ncontrol = %s\n[policy]\ndevices = %s\n' \
		"$tmp/registry.db" "$tmp/control.sock" "$1" >"$tmp/csmpd.conf"
	chmod 0644 "$tmp/csmpd.conf"
}
# csmpd reads the file again as the user it drops to.
chmod 0755 "$tmp"
conf open
nms_keygen "$tmp" || exit 1
csmpd_start "$(ns mon)" "$tmp/csmpd.log" --config "$tmp/csmpd.conf" --listen '[::1]:61628' \
	--workers 2 --nms-key "$tmp/nms.pem" --metrics "127.0.0.1:$port" || { not_ok "csmpd starts with --metrics"; tap_done; }
ok "csmpd starts with --metrics"
scrape() { ip netns exec "$(ns mon)" curl -sf "http://127.0.0.1:$port/metrics"; }
ip netns exec "$(ns mon)" "$BIN/csmp-sim" --target '[::1]:61628' --nms-pubkey "$tmp/nms.pub" \
	--devices 50 --until-registered --duration 20 --report-interval 0 \
	--quiet >"$tmp/sim.log" 2>&1 || sed 's/^/# /' "$tmp/sim.log" | tail -n 5
scrape >"$tmp/m1.txt"
promtool check metrics <"$tmp/m1.txt" >"$tmp/lint.txt" 2>&1
rc=$?
sed 's/^/# promtool: /' "$tmp/lint.txt"
check "promtool check metrics: no problem" test "$rc $(wc -c <"$tmp/lint.txt")" = "0 0"

val() { sed -n "s/^$1\(\|{[^}]*}\) \([^ ]*\)\$/\2/p" "$2" | head -n1; }
ver=$(sh "$CSMP_TOP/scripts/version.sh")
build_info() {
	grep -qxF "csmp_build_info{version=\"$ver\",io=\"io_uring\"} 1" "$tmp/m1.txt" ||
		grep -qxF "csmp_build_info{version=\"$ver\",io=\"mmsg\"} 1" "$tmp/m1.txt" ||
		{ diag "$(grep ^csmp_build_info "$tmp/m1.txt"), version.sh: $ver"; return 1; }
}
check "csmp_build_info names the version and I/O backend" build_info
now=$(date +%s)
st=$(val process_start_time_seconds "$tmp/m1.txt")
check "process_start_time_seconds is within a minute of now" \
	awk -v s="$st" -v n="$now" 'BEGIN { exit !(s > n - 60 && s <= n + 1) }'
check "process_cpu_seconds_total > 0" awk -v v="$(val process_cpu_seconds_total "$tmp/m1.txt")" 'BEGIN { exit !(v > 0) }'
check "process_resident_memory_bytes > 1 MB" awk -v v="$(val process_resident_memory_bytes "$tmp/m1.txt")" 'BEGIN { exit !(v > 1e6) }'
fds=$(ls "/proc/$pid/fd" | wc -l)
check "process_open_fds matches /proc ($fds)" awk -v v="$(val process_open_fds "$tmp/m1.txt")" -v f="$fds" \
	'BEGIN { exit !(v >= f - 3 && v <= f + 3) }'
check "csmp_registrations_total counts the fleet" awk \
	'/^csmp_registrations_total\{/ { s += $2 } END { exit !(s >= 50) }' "$tmp/m1.txt"
check "reload gauge 1 after the start-up load" test "$(val csmp_config_last_reload_successful "$tmp/m1.txt")" = 1

conf sometimes
kill -HUP "$pid"
sleep 0.5
scrape >"$tmp/m2.txt"
check "reload gauge 0 after a refused reload" test "$(val csmp_config_last_reload_successful "$tmp/m2.txt")" = 0
check "the refused reload was refused for the bad value" grep -q "csmpd.conf:5" "$tmp/csmpd.log"
t_bad=$(val csmp_config_last_reload_success_timestamp_seconds "$tmp/m2.txt")
conf open
sleep 1
kill -HUP "$pid"
sleep 0.5
scrape >"$tmp/m3.txt"
check "reload gauge 1 again after a good reload" test "$(val csmp_config_last_reload_successful "$tmp/m3.txt")" = 1
check "success timestamp moves only on success" awk -v a="$t_bad" \
	-v b="$(val csmp_config_last_reload_success_timestamp_seconds "$tmp/m3.txt")" 'BEGIN { exit !(b > a) }'

# Every metric the rules and the dashboard use is exported (up is
# Prometheus' own; rate() windows and label names are not metrics).
have=$(sed -n 's/^# TYPE \([a-z_:]*\) .*/\1/p' "$tmp/m1.txt")
missing=
for name in $( { grep -h 'expr:' "$M/csmpd-alerts.yml"; jq -r '.panels[].targets[].expr, .templating.list[].definition' "$M/csmpd-dashboard.json"; } |
	grep -oE '\b(csmp|process)_[a-z_]+' | sort -u); do
	grep -qx "$name" <<<"$have" || missing+=" $name"
done
[ -z "$missing" ] || diag "not exported:$missing"
check "the rules and the dashboard query only exported metrics" test -z "$missing"
check "csmpd stops cleanly" csmpd_stop
grep -E 'CONFIG_RELOAD' "$tmp/csmpd.log" | sed 's/^/# /'
tap_done
