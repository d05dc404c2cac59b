#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# The systemd units as `make install` writes them verify clean with
# systemd-analyze (host side: the units point at a private install, so the
# binaries they name exist), and keep the properties csmpd's service
# promises: Type=notify with a watchdog, its own user, the directories and
# the sandbox. The packaged-service vm test runs the real thing.
. "$(dirname "$0")/../lib.sh"
require_cmd systemd-analyze
require_built "$BIN/csmpd" "$BIN/csmpctl"
csmp_tmpdir units

if ! make -s -C "$CSMP_TOP" install DESTDIR= PREFIX="$tmp/usr" SYSCONFDIR="$tmp/etc" \
	STATEDIR="$tmp/var/lib" UNITDIR="$tmp/units" >"$tmp/install.log" 2>&1; then
	sed 's/^/# /' "$tmp/install.log"
	not_ok "make install into a private prefix"
	tap_done
fi
ok "make install into a private prefix"
u=$tmp/units
check "units name the installed binaries" grep -q "^ExecStart=$tmp/usr/sbin/csmpd --config $tmp/etc/csmpd/csmpd.conf\$" "$u/csmpd.service"

verify() { # UNIT
	local out
	out=$(systemd-analyze verify --man=no "$1" 2>&1)
	[ -z "$out" ] || { echo "$out" | sed 's/^/# /'; return 1; }
}
check "systemd-analyze verify csmpd.service" verify "$u/csmpd.service"
cp "$u/csmp-lb@.service" "$u/csmp-lb@lo.service"
check "systemd-analyze verify csmp-lb@lo.service" verify "$u/csmp-lb@lo.service"

has() { grep -qx -- "$1" "$u/csmpd.service" || { diag "csmpd.service lacks '$1'"; return 1; }; }
for line in Type=notify WatchdogSec=30s User=csmpd StateDirectory=csmpd StateDirectoryMode=0750 \
	RuntimeDirectory=csmpd ConfigurationDirectory=csmpd UMask=0027 ProtectSystem=strict \
	ProtectHome=yes PrivateTmp=yes NoNewPrivileges=yes CapabilityBoundingSet= \
	'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6' \
	'SystemCallFilter=@system-service io_uring_setup io_uring_enter io_uring_register'; do
	check "csmpd.service: $line" has "$line"
done
check "sysusers.d names the csmpd user" grep -q '^u csmpd ' "$tmp/usr/lib/sysusers.d/csmpd.conf"
check "logrotate file reopens the events file by SIGHUP" grep -q 'signal=HUP csmpd.service' "$tmp/etc/logrotate.d/csmpd"
check "tools are not installed without install-tools" test ! -e "$tmp/usr/bin/csmp-sim"
check "csmpd goes to sbin" test -x "$tmp/usr/sbin/csmpd"
check "state directory is not world-readable" test "$(stat -c %a "$tmp/var/lib/csmpd")" = 750
tap_done
