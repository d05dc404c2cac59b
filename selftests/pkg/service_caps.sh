#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# csmpd started as its own user with capabilities for the start only, as
# csmpd.service's steer-workers drop-in does (AmbientCapabilities=CAP_BPF
# CAP_NET_ADMIN), holds none once it is up: effective, permitted and
# ambient sets empty, no_new_privs set.
. "$(dirname "$0")/../lib.sh"
require_root
require_cmd setpriv
require_built "$CSMPD"
csmp_tmpdir caps
netns_add_lo caps || exit 1
chmod 0755 "$tmp"
CSMPD_WRAP=$tmp/wrap
cat >"$CSMPD_WRAP" <<'WRAP'
#!/bin/sh
exec setpriv --reuid=nobody --regid=nogroup --clear-groups \
	--inh-caps=+bpf,+net_admin --ambient-caps=+bpf,+net_admin "$@"
WRAP
chmod 0755 "$CSMPD_WRAP"
csmpd_start "$(ns caps)" "$tmp/csmpd.log" --listen '[::1]:61628' --workers 1 --unsigned ||
	{ not_ok "csmpd starts as nobody with CAP_BPF and CAP_NET_ADMIN ambient"; tap_done; }
ok "csmpd starts as nobody with CAP_BPF and CAP_NET_ADMIN ambient"
status() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$pid/status"; }
check "runs as nobody" test "$(stat -c %U "/proc/$pid")" = nobody
for set in CapEff CapPrm CapAmb; do
	check "$set empty once up" test "$(status $set)" = 0000000000000000
done
check "no_new_privs set" test "$(status NoNewPrivs)" = 1
check "the drop is logged" grep -q 'PRIVS: capabilities .* of the start dropped' "$tmp/csmpd.log"
check "csmpd stops cleanly" csmpd_stop
tap_done
