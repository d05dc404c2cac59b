#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# csmpctl --json: every command prints one JSON object per result line,
# whether --json stands before the command word or after it, against a
# running csmpd (stats, devices, devices --count, reload, enroll) and
# without one (keygen, lb limits, lb eid).
source "$(dirname "$0")/../lib.sh"
require_root
require_cmd ip jq
CTL=$BIN/csmpctl
require_built "$CSMPD" "$CTL"
csmp_tmpdir clijson
chmod 755 "$tmp"
netns_add_lo he || exit 1
NS=$(ns he)
T='[::1]:61628'
"$CTL" keygen "$tmp/nms.pem" "$tmp/nms.pub" >/dev/null || exit 1
"$CTL" keygen "$tmp/dev.pem" "$tmp/dev.pub" >/dev/null || exit 1
printf '[csmpd]\nlisten = %s\n' "$T" >"$tmp/csmpd.conf"
csmpd_start "$NS" "$tmp/log" --config "$tmp/csmpd.conf" --unsigned \
	--nms-key "$tmp/nms.pem" --db "$tmp/registry.db" \
	--control "$tmp/control.sock" ||
	{ not_ok "csmpd starts"; tap_done; }
ctl() { ip netns exec "$NS" "$CTL" --control "$tmp/control.sock" "$@"; }

# json_lines LABEL CMD...: exit 0 and every stdout line a JSON object.
json_lines() {
	local label=$1
	shift
	if ! "$@" >"$tmp/out" 2>"$tmp/err"; then
		not_ok "$label: exit status"
		sed 's/^/# /' "$tmp/err" | head -3
	elif ! [ -s "$tmp/out" ] || ! jq -e 'type == "object"' "$tmp/out" >/dev/null 2>&1; then
		not_ok "$label: one JSON object per line"
		sed 's/^/# /' "$tmp/out" | head -3
	else
		ok "$label"
	fi
}
for c in "stats" "devices" "devices --count" "reload" \
	 "enroll 0A0027FFFE3B2AB2 $tmp/dev.pub"; do
	# shellcheck disable=SC2086
	json_lines "csmpctl --json $c" ctl --json $c
	# shellcheck disable=SC2086
	json_lines "csmpctl $c --json" ctl $c --json
done
json_lines "csmpctl keygen FILE --json" "$CTL" keygen "$tmp/k.pem" --json
LB=(lb --state "$tmp/lb.state" --pin-dir "$tmp/nopin")
json_lines "csmpctl lb limits --json" "$CTL" "${LB[@]}" limits --json
"$CTL" "${LB[@]}" backend add 1 2001:db8:2::1 >/dev/null
json_lines "csmpctl lb eid EID --json" "$CTL" "${LB[@]}" eid 0A0027FFFE3B2AB2 --json
json_lines "csmpctl --json lb eid EID EID" "$CTL" --json "${LB[@]}" eid \
	0A0027FFFE3B2AB2 0A0027FFFE3B2AB3
check "... one object per EID" [ "$(wc -l <"$tmp/out")" = 2 ]
tap_done
