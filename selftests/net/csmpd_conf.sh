#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# csmpd's options as a process sees them, in a namespace of its own:
#   - --help and --check-config print, exit 0 (or 2 for a bad file) and
#     touch nothing: no control socket, no registry, no listening socket;
#   - a bad config at start exits 2 with FILE:LINE;
#   - a config only root can read (0600 in a 0700 directory) is reloaded
#     after csmpd dropped to nobody (issue 16 item 5), by SIGHUP and by
#     csmpctl reload, also when the file is replaced by rename as editors
#     do; the new [policy] is what the workers apply (devices = allowlist
#     refuses an EID it does not list with 4.03); the config reader keeps
#     uid 0 with no capability at all.
source "$(dirname "$0")/../lib.sh"
require_root
require_cmd ip jq
id nobody >/dev/null 2>&1 || { echo "# SKIP needs the user nobody"; exit $KSFT_SKIP; }

PEER=$CSMP_BUILD/selftests/net/csmpd_peer
CTL=$BIN/csmpctl
FIX=$CSMP_TOP/../shared/fixtures/opencsmp-register.pcap
require_built "$CSMPD" "$CTL" "$PEER"
require_file "$FIX"

csmp_tmpdir csmpd-conf
chmod 700 "$tmp"
netns_add_lo he || exit 1
NS=$(ns he)
T='[::1]:61628'
BID=00c3
EID=0A0027FFFE3B2AB2	# the capture's device
"$CTL" keygen "$tmp/nms.pem" "$tmp/nms.pub" >/dev/null

# ---- options that only print ------------------------------------------------
ip netns exec "$NS" "$CSMPD" --help --control "$tmp/h.sock" --db "$tmp/h.db" >"$tmp/help" 2>&1
check "--help exits 0" test $? = 0
check "--help lists the options of both sections" \
	grep -q -- '--listen ADDR:PORT' "$tmp/help" -a -n "$(grep -- '--uplink-signature' "$tmp/help")"
check "--help touched nothing" test ! -e "$tmp/h.sock" -a ! -e "$tmp/h.db"
ip netns exec "$NS" "$CSMPD" -h >/dev/null 2>&1
check "-h exits 0" test $? = 0
# No call that makes, binds, writes or removes anything, whatever else
# the command line says (a real one, with --help in the middle).
if command -v strace >/dev/null; then
	printf '[csmpd]\nlisten = %s\n' "$T" >"$tmp/h.conf"
	for flag in --help --version; do
		ip netns exec "$NS" strace -f -qq -o "$tmp/trace" \
			-e trace=socket,connect,bind,sendto,sendmsg,bpf,flock,rename,renameat,renameat2,unlink,unlinkat,mkdir,mkdirat,truncate,ftruncate,creat,open,openat \
			"$CSMPD" --config "$tmp/h.conf" --listen "$T" $flag --db "$tmp/h.db" \
			--control "$tmp/h.sock" --nms-key "$tmp/nms.pem" >/dev/null 2>&1
		check "$flag makes no socket, bpf, lock or write call, reads no config" \
			test -z "$(grep -E '^[0-9]+ +(socket|connect|bind|send(to|msg)|bpf|flock|rename(at2?)?|unlink(at)?|mkdir(at)?|truncate|ftruncate|creat)\(|O_WRONLY|O_RDWR|O_CREAT|O_TRUNC|h\.conf' "$tmp/trace")"
	done
else
	skip "--help makes no socket, bpf, lock or write call" "needs strace"
fi
ip netns exec "$NS" "$CSMPD" --version --control "$tmp/v.sock" >"$tmp/out" 2>&1
check "--version exits 0" test $? = 0
check "--version prints csmpd and a version" grep -qE '^csmpd [0-9]+\.[0-9]+' "$tmp/out"
check "--version touched nothing" test ! -e "$tmp/v.sock"

cat >"$tmp/good.conf" <<CONF
[csmpd]
listen = $T
db = $tmp/cc.db
control = $tmp/cc.sock
nms-key = $tmp/nms.pem
CONF
ip netns exec "$NS" "$CSMPD" --check-config "$tmp/good.conf" >"$tmp/out" 2>&1
check "--check-config: a good file exits 0" test $? = 0
check "--check-config says so" grep -q "good.conf: configuration ok" "$tmp/out"
check "--check-config opened nothing" test ! -e "$tmp/cc.db" -a ! -e "$tmp/cc.sock"
printf '[csmpd]\nlisten = %s\n\n[policy]\ndevices = sometimes\n' "$T" >"$tmp/bad.conf"
ip netns exec "$NS" "$CSMPD" --check-config="$tmp/bad.conf" --unsigned >"$tmp/out" 2>&1
check "--check-config: a bad file exits 2" test $? = 2
check "--check-config: FILE:LINE and the reason" \
	grep -q "%CSMP-2-CONFIG: $tmp/bad.conf:5: devices: 'sometimes' is not open or allowlist" "$tmp/out"
ip netns exec "$NS" "$CSMPD" --config "$tmp/bad.conf" --unsigned >"$tmp/out" 2>&1
check "a bad file at start: exit status 2" test $? = 2
ip netns exec "$NS" "$CSMPD" --unsigned --listen "$T" --workers 0 >"$tmp/out" 2>&1
check "a bad flag at start: exit status 2 and the option" \
	test $? = 2 -a -n "$(grep -- "--workers: '0' is not a number in 1..256" "$tmp/out")"

# ---- reload of a root-only config after the privilege drop -------------------
conf() { # devices allow: the whole file, written as root, 0600
	cat >"$tmp/csmpd.conf.new" <<CONF
[csmpd]
listen = $T
workers = 2
backend-id = $BID
control = $tmp/control.sock
nms-key = $tmp/nms.pem

[policy]
devices = $1
allow = $2
CONF
	chmod 600 "$tmp/csmpd.conf.new"
	mv "$tmp/csmpd.conf.new" "$tmp/csmpd.conf"	# a new file, as editors do
}
reg() { ip netns exec "$NS" "$PEER" --pcap "$FIX" --pubkey "$tmp/nms.pub" \
	--backend-id $BID --target "$T" --eid $EID "$@" reg >/dev/null 2>&1; }
ctl() { ip netns exec "$NS" "$CTL" --control "$tmp/control.sock" "$@"; }

conf open 0A00000000000001
if csmpd_start "$NS" "$tmp/log" --config "$tmp/csmpd.conf"; then
	ok "csmpd starts with a 0600 root config in a 0700 directory"
	check "csmpd runs as nobody" \
		test "$(awk '/^Uid:/ {print $2}' /proc/$pid/status)" = 65534
	rd=$(pgrep -P "$pid" | head -n 1)
	check "a config reader runs beside it" test -n "$rd"
	check "the reader keeps uid 0" \
		test "$(awk '/^Uid:/ {print $2}' /proc/$rd/status 2>/dev/null)" = 0
	check "the reader has no capability, not even in its bounding set" \
		test "$(awk '/^Cap(Eff|Prm|Bnd):/ {print $2}' /proc/$rd/status 2>/dev/null | sort -u)" = 0000000000000000
	check "the reader has no_new_privs" \
		test "$(awk '/^NoNewPrivs:/ {print $2}' /proc/$rd/status 2>/dev/null)" = 1
	check "the root-only file is out of csmpd's own reach" \
		test "$(ip netns exec "$NS" setpriv --reuid 65534 --regid 65534 --clear-groups cat "$tmp/csmpd.conf" 2>&1 >/dev/null | grep -c 'Permission denied')" = 1
	check "open policy: the device registers" reg

	conf allowlist 0A00000000000001
	kill -HUP "$pid"
	for _ in $(seq 50); do grep -q 'policy generation 2' "$tmp/log" && break; sleep 0.1; done
	check "SIGHUP reloads the root-only file" \
		grep -q "CONFIG_RELOAD: $tmp/csmpd.conf: policy generation 2: 0 groups, devices allowlist" "$tmp/log"
	check "the reloaded allowlist refuses the device: 4.03" reg --expect-code 4.03

	conf allowlist "0A00000000000001 $EID"
	check "csmpctl reload reloads the replaced root-only file" \
		test "$(ctl reload 2>&1)" = "policy generation 3"
	check "the device is allowed again" reg

	printf '[policy]\ndevices = open\n[group x\n' >"$tmp/csmpd.conf"
	ctl reload >"$tmp/out" 2>&1
	check "a bad root-only file is refused by reload with FILE:LINE" \
		grep -q "$tmp/csmpd.conf:3: section header without ']'" "$tmp/out"
	check "no refused reload said Permission denied" \
		test -z "$(grep 'Permission denied' "$tmp/log")"
	csmpd_stop
	check "csmpd exits 0 on SIGTERM" test $? = 0
	check "the config reader is gone with it" test ! -e "/proc/$rd/status"
else
	not_ok "csmpd starts with a 0600 root config in a 0700 directory"
fi
tap_done
