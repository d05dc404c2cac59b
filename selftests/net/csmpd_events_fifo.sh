#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Issue 16 item 9: --events naming a FIFO without a reader blocked csmpd's
# start in open(2) with its signals blocked: only SIGKILL ended it. Now
# csmpd refuses it at once with a clear message, refuses a FIFO that has a
# reader (a stalled reader would stall the event writer), takes a
# character device (/dev/null), and a SIGHUP reopen that finds a FIFO
# where the file was keeps writing to the old file without hanging.
source "$(dirname "$0")/../lib.sh"
require_root
require_cmd ip

CTL=$BIN/csmpctl
require_built "$CSMPD" "$CTL"

csmp_tmpdir events-fifo
chmod 755 "$tmp"	# the reopen runs as the run user
netns_add_lo he || exit 1
NS=$(ns he)
T='[::1]:61632'
"$CTL" keygen "$tmp/nms.pem" "$tmp/nms.pub" >/dev/null
args=(--listen "$T" --nms-key "$tmp/nms.pem" --control "$tmp/control.sock")

# run_refused LOG EVENTS: csmpd must exit non-zero by itself within 5 s.
run_refused() {
	local t0 rc ms
	t0=$(date +%s%N)
	timeout -s KILL 5 ip netns exec "$NS" "$CSMPD" "${args[@]}" --events "$2" 2>"$1"
	rc=$?
	ms=$((($(date +%s%N) - t0) / 1000000))
	diag "csmpd --events $2: exit $rc after $ms ms: $(grep EVENTS "$1")"
	[ $rc != 0 ] && [ $rc != 137 ]
}

# stop_within: SIGTERM; csmpd must be gone within 5 s (else SIGKILL, fail).
stop_within() {
	local i
	kill -TERM "$pid"
	for i in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || { wait "$pid"; i=$?; pid=; return $i; }
		sleep 0.1
	done
	diag "csmpd still running 5 s after SIGTERM"
	kill -KILL "$pid"; wait "$pid"; pid=
	return 1
}

mkfifo "$tmp/ev.fifo"
check "a FIFO without a reader: csmpd exits at once" \
	run_refused "$tmp/log1" "$tmp/ev.fifo"
check "... saying why" grep -q "a FIFO without a reader" "$tmp/log1"

cat "$tmp/ev.fifo" >/dev/null &
rpid=$!
check "a FIFO with a reader: refused" run_refused "$tmp/log2" "$tmp/ev.fifo"
check "... as not a regular file" grep -q "not a regular file (a FIFO)" "$tmp/log2"
kill $rpid 2>/dev/null; wait $rpid 2>/dev/null

check "/dev/null is taken" \
	csmpd_start "$NS" "$tmp/log3" "${args[@]}" --events /dev/null
check "csmpd exits 0 on SIGTERM" csmpd_stop

check "a regular file is taken" \
	csmpd_start "$NS" "$tmp/log4" "${args[@]}" --events "$tmp/ev.json"
mv "$tmp/ev.json" "$tmp/ev.json.1"
mkfifo -m 666 "$tmp/ev.json"	# where logrotate would leave a new file
kill -HUP "$pid"
for i in $(seq 50); do
	grep -q "cannot reopen" "$tmp/log4" && break
	sleep 0.1
done
check "a reopen finding a FIFO without a reader is refused" \
	grep -q "cannot reopen $tmp/ev.json: a FIFO without a reader" "$tmp/log4"
grep -E "EVENTS|RELOAD" "$tmp/log4" | sed "s/^/# /"
check "csmpd still answers after it" \
	timeout 5 ip netns exec "$NS" "$CTL" --control "$tmp/control.sock" stats
check "csmpd stops on SIGTERM" stop_within
tap_done
