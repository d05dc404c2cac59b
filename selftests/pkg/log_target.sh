#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# csmpd's log-target option picks the sink: stderr lines carry an RFC 3339
# timestamp; syslog lines reach /dev/log (busybox syslogd in a private
# mount namespace, so the host's log sees nothing) with facility daemon and
# the line's severity; journal without a journald falls back to stderr and
# loses nothing; a bad value is refused with the names allowed (exit 2).
. "$(dirname "$0")/../lib.sh"
require_root
require_cmd busybox unshare
require_built "$CSMPD"
csmp_tmpdir logtarget
port=$((40000 + $$ % 20000))
run() { # ARGS...: csmpd for 2 s on a private loopback port; its stderr
	timeout -s TERM 2 "$CSMPD" --listen "[::1]:$port" --workers 1 --unsigned "$@" 2>&1
}

out=$(run --log-target stderr)
check "stderr: every line has an RFC 3339 timestamp" bash -c \
	'grep -q "%CSMP-5-START" <<<"$1" && ! grep -vqE "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\.[0-9]{3}Z %CSMP-" <<<"$1"' _ "$out"

mkdir "$tmp/dev"
for d in null zero urandom random; do cp -a "/dev/$d" "$tmp/dev/"; done
unshare -m sh -c "mount --make-rprivate / && mount --bind '$tmp/dev' /dev &&
	{ busybox syslogd -n -O '$tmp/syslog' & s=\$!; sleep 0.5;
	  timeout -s TERM 2 '$CSMPD' --listen '[::1]:$port' --workers 1 --unsigned --log-target syslog \
		>'$tmp/syslog.stderr' 2>&1; sleep 0.3; kill \$s; }"
check "syslog: lines reach /dev/log as daemon.<severity>" bash -c \
	"grep -q 'daemon.notice csmpd\[[0-9]*\]: %CSMP-5-START: csmpd up' '$tmp/syslog' &&
	 grep -q 'daemon.warn csmpd\[[0-9]*\]: %CSMP-4-UNSIGNED' '$tmp/syslog'"
check "syslog: nothing on stderr" test ! -s "$tmp/syslog.stderr"

out=$(env -u JOURNAL_STREAM unshare -m sh -c "mount --make-rprivate / && mount -t tmpfs tmpfs /run &&
	timeout -s TERM 2 '$CSMPD' --listen '[::1]:$port' --workers 1 --unsigned --log-target journal 2>&1")
check "journal without journald: the lines go to stderr, timestamped" \
	grep -qE '^[0-9-]{10}T[0-9:.]{12}Z %CSMP-5-START: csmpd up' <<<"$out"

out=$("$CSMPD" --log-target console 2>&1)
rc=$?
check "a bad log-target: exit 2 naming the choices" bash -c \
	'[ "$1" = 2 ] && grep -q "auto" <<<"$2" && grep -q "syslog" <<<"$2"' _ "$rc" "$out"
tap_done
