#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The LB state file in a world-writable directory (the README's /tmp
# example) against a local user (nobody) who plants files there before
# root runs `csmpctl lb`: root must neither hand the state (the Maglev key)
# to the user nor write through the user's symbolic links, nor take a state
# file the user made as its own. Root's csmpctl runs in a new PID namespace,
# where its PID (1) is what the user guesses for the temporary file's name
# (the old `<state>.tmp.<pid>`). Each attack runs in a sticky (/tmp-like)
# and in a plain 0777 directory (where fs.protected_* never apply). No map
# is touched: --pin-dir names a directory that does not exist.
source "$(dirname "$0")/../lib.sh"
require_root
require_cmd setpriv unshare stat
CTL=$BIN/csmpctl
require_built "$CTL"
csmp_tmpdir lbattack
chmod 755 "$tmp"
U=nobody
as_user() { setpriv --reuid="$U" --regid=nogroup --clear-groups -- "$@"; }
# root's csmpctl lb, PID 1 in its own PID namespace.
lb_root() { unshare --pid --fork -- "$CTL" lb --state "$d/lb.state" --pin-dir "$tmp/nopin" "$@"; }
key_of() { sed -n 's/^key //p' "$1" 2>/dev/null; }

# A file of root's the user would like overwritten, outside the directory.
mkdir -m 700 "$tmp/root"
victim=$tmp/root/precious
echo "precious" >"$victim"

for mode in 1777 0777; do
	d=$tmp/ww$mode
	mkdir "$d" && chmod "$mode" "$d"

	# 1. The temporary file pre-created by the user, world-readable.
	for p in 1 2 3; do
		as_user sh -c "umask 0; : >'$d/lb.state.tmp.$p'"
	done
	lb_root backend add 1 2001:db8:2::1 >"$tmp/out" 2>&1
	check "$mode: root's edit succeeds beside the user's files" [ $? = 0 ]
	key=$(key_of "$d/lb.state")
	check "$mode: the state holds a key" [ -n "$key" ]
	check "$mode: the state is root's and 0600" \
		[ "$(stat -c '%u %a' "$d/lb.state")" = "0 600" ]
	if as_user cat "$d/lb.state" >/dev/null 2>&1; then
		not_ok "$mode: the user cannot read the state"
	else
		ok "$mode: the user cannot read the state"
	fi
	leak=0
	for f in "$d"/lb.state.tmp.*; do
		[ -n "$key" ] && grep -q "$key" "$f" 2>/dev/null && leak=1
	done
	check "$mode: no file of the user's holds the key" [ $leak = 0 ]
	if as_user sh -c "echo 'backend 9 2001:db8:66::6 active 100' >>'$d/lb.state'" 2>/dev/null; then
		not_ok "$mode: the user cannot add a backend to the state"
	else
		ok "$mode: the user cannot add a backend to the state"
	fi
	check "$mode: no temporary file left behind" \
		[ -z "$(find "$d" -name '.lb.state.*' -o -name 'lb.state.tmp.*' -user root)" ]

	# 2. The temporary names as links to root's file.
	rm -f "$d"/lb.state.tmp.*
	for p in 1 2 3; do as_user ln -s "$victim" "$d/lb.state.tmp.$p"; done
	lb_root backend add 2 2001:db8:2::2 >"$tmp/out" 2>&1
	check "$mode: root's file is not written through a planted tmp link" \
		[ "$(cat "$victim")" = precious ]
	check "$mode: the state is still a file of root's" \
		[ "$(stat -c '%F %u' "$d/lb.state")" = "regular file 0" ]

	# 3. The state file itself a link to root's file.
	rm -f "$d/lb.state" "$d"/lb.state.tmp.*
	as_user ln -s "$victim" "$d/lb.state"
	lb_root backend add 3 2001:db8:2::3 >"$tmp/out" 2>&1
	rc=$?
	check "$mode: a state that is a symbolic link is refused" [ $rc != 0 ]
	check "$mode: ... with a reason" grep -q 'symbolic link' "$tmp/out"
	check "$mode: root's file is not written through the state link" \
		[ "$(cat "$victim")" = precious ]
	check "$mode: the link stays a link" [ -L "$d/lb.state" ]

	# 4. A state file the user wrote, with the user's own key: not ours.
	rm -f "$d/lb.state"
	as_user sh -c "umask 022; printf 'key %s\n' 00112233445566778899aabbccddeeff >'$d/lb.state'"
	lb_root backend add 4 2001:db8:2::4 >"$tmp/out" 2>&1
	rc=$?
	check "$mode: a state owned by the user is refused" [ $rc != 0 ]
	check "$mode: ... with a reason" grep -q 'not by us' "$tmp/out"
	check "$mode: ... and left as it was" \
		[ "$(cat "$d/lb.state")" = "key 00112233445566778899aabbccddeeff" ]
	rm -f "$d/lb.state"
done

# A state of root's that others may write is not trusted either.
d=$tmp/ww0777
lb_root backend add 1 2001:db8:2::1 >/dev/null 2>&1
chmod 666 "$d/lb.state"
lb_root backend add 2 2001:db8:2::2 >"$tmp/out" 2>&1
check "a state writable by others is refused" [ $? != 0 ]
check "... with a reason" grep -q 'writable by others' "$tmp/out"
tap_done
