#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Issue 16 item 11: a malformed "eid" in a devices request is refused, not
# answered with the whole registry; the control socket file goes at exit.
# csmpd runs as root dropping to nobody, so its socket is removed after the
# drop: in the directory csmpd made (as systemd's RuntimeDirectory=) it is;
# in a root directory nobody cannot write, the exit says so in the log; a
# socket that another csmpd bound over csmpd's own is never removed.
source "$(dirname "$0")/../lib.sh"
require_root
require_cmd ip jq

SIM=$BIN/csmp-sim
CTL=$BIN/csmpctl
SEND=$CSMP_BUILD/selftests/net/ctl_send
require_built "$SIM" "$CSMPD" "$CTL" "$SEND"

csmp_tmpdir ctl-cleanup
chmod 755 "$tmp"
netns_add_lo he || exit 1
NS=$(ns he)
T='[::1]:61631'
"$CTL" keygen "$tmp/nms.pem" "$tmp/nms.pub" >/dev/null
conf() { # CONTROL-PATH
	cat >"$tmp/csmpd.conf" <<CONF
[csmpd]
listen = $T
workers = 1
nms-key = $tmp/nms.pem
control = $1
db = $tmp/registry.db
user = nobody
[policy]
uplink-signature = off
CONF
}
S=$tmp/run/control.sock
conf "$S"
check "csmpd starts (its control directory made)" \
	csmpd_start "$NS" "$tmp/log" --config "$tmp/csmpd.conf"
ip netns exec "$NS" "$SIM" --target "$T" --nms-pubkey "$tmp/nms.pub" \
	--devices 3 --until-registered --reg-min 1 --reg-max 2 \
	--report-interval 0 --duration 30 --json --quiet >"$tmp/sim.json"
check "3 devices registered" test "$(jq .registered "$tmp/sim.json")" = 3
check "the whole list has 3" \
	test "$("$SEND" "$S" '{"cmd":"devices"}' | jq '.devices | length')" = 3
for bad in 1 null '[]' '{}' true '"xyz"'; do
	out=$("$SEND" "$S" "{\"cmd\":\"devices\",\"eid\":$bad}")
	diag "eid $bad: $out"
	check "eid $bad refused" test "$(jq -r .ok <<<"$out")" = false
	check "eid $bad: no device list" test "$(jq 'has("devices")' <<<"$out")" = false
done
check "csmpd exits 0 on SIGTERM" csmpd_stop
check "the socket file is removed at exit" test ! -e "$S"

# A directory root owns and nobody cannot write: left, with the reason.
mkdir "$tmp/rootdir"
S=$tmp/rootdir/control.sock
conf "$S"
check "csmpd starts (root's control directory)" \
	csmpd_start "$NS" "$tmp/log2" --config "$tmp/csmpd.conf"
check "csmpd exits 0 on SIGTERM" csmpd_stop
check "a socket left behind is logged with its reason" \
	grep -q "control socket $S left behind: Permission denied" "$tmp/log2"

# Another socket bound over csmpd's own: not csmpd's to remove.
S=$tmp/run/control.sock
conf "$S"
check "csmpd starts again" csmpd_start "$NS" "$tmp/log3" --config "$tmp/csmpd.conf"
rm "$S"
"$SEND" "$S" '{}' >/dev/null 2>&1	# nothing listens: fails, nothing made
mkfifo "$S"	# a file of another inode where the socket was
check "csmpd exits 0 on SIGTERM" csmpd_stop
check "a file not csmpd's own is left" test -p "$S"
tap_done
