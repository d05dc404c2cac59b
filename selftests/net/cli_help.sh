#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# -h, --help and --version of every program and every csmpctl command
# print on stdout, exit 0 and touch nothing: no socket (not even the
# control socket), no bpf(2), no file written, renamed or removed, no lock.
# Each command line is a real one (it would reload, detach, add a backend,
# write a key...) with the flag added at the end, in the middle or first,
# run under strace in a namespace where csmp_lb is attached to a veth; the
# trace must hold none of those calls, and afterwards the XDP program, the
# state file and the live Maglev table must be the ones from before.
source "$(dirname "$0")/../lib.sh"
require_root
require_cmd ip strace jq nsenter
CTL=$BIN/csmpctl
require_built "$CTL" "$BIN/csmp-request" "$BIN/csmpdump" "$BIN/csmp-blast" \
	"$BIN/csmp-loadgen" "$BIN/csmp-cryptobench"

lb_veth_setup clihelp || exit 1
N=$(ns lb)
sock=$tmp/control.sock	# nothing listens: a connect() shows in the trace
st=$tmp/lb.state
EID=0A0027FFFE3B2AB2
LB=(lb --state "$st" --pin-dir "$pin")

inns() { nsenter --net=/run/netns/"$N" "$@"; }
if ! inns "$CTL" "${LB[@]}" attach v0 --vip 2001:db8::53 \
	--lb-addr 2001:db8:1::1 --generic >"$tmp/out" 2>&1 ||
   ! inns "$CTL" "${LB[@]}" backend add 1 2001:db8:2::1 >>"$tmp/out" 2>&1; then
	diag "csmp_lb attach failed:"; sed 's/^/# /' "$tmp/out"
	not_ok "csmp_lb attached for the test"
	tap_done
fi
openssl ecparam -name prime256v1 -genkey -noout -out "$tmp/dev.pem" 2>/dev/null
openssl ec -in "$tmp/dev.pem" -pubout -out "$tmp/dev.pub" 2>/dev/null
touch "$tmp/fw.bin"

snapshot() {
	ip -n "$N" -d link show v0 | grep -o 'prog/xdp id [0-9]*'
	sha256sum "$st"
	inns "$CTL" --json "${LB[@]}" table show
	ls -A "$tmp" | grep -Ev '^(trace|stdout|stderr|before|after|diff|out)$'
}
snapshot >"$tmp/before" 2>&1
live() { grep -q 'prog/xdp id' "$1" && grep -q '"backends":\[{"id":1,' "$1"; }
check "csmp_lb attached, backend 1 in the live table" live "$tmp/before"

# Calls --help must never make. Opening a file to read it is allowed (the
# loader does); opening one to write, create or truncate is not.
BAD='^[0-9]+ +(socket|connect|bind|send(to|msg|mmsg)|bpf|flock|rename(at2?)?|unlink(at)?|mkdir(at)?|truncate|ftruncate|creat)\(|O_WRONLY|O_RDWR|O_CREAT|O_TRUNC'
TRACE=socket,connect,bind,sendto,sendmsg,sendmmsg,bpf,flock,rename,renameat,renameat2,unlink,unlinkat,mkdir,mkdirat,truncate,ftruncate,creat,open,openat

# try LABEL FLAG CMD...: CMD with FLAG appended (FLAG '' keeps CMD as is).
try() {
	local label=$1 flag=$2 rc
	shift 2
	inns strace -f -qq -o "$tmp/trace" -e trace=$TRACE -- "$@" ${flag:+"$flag"} \
		>"$tmp/stdout" 2>"$tmp/stderr"
	rc=$?
	if [ $rc != 0 ]; then
		not_ok "$label: exit status $rc"
		sed 's/^/# /' "$tmp/stderr" | head -5
	elif ! [ -s "$tmp/stdout" ]; then
		not_ok "$label: nothing on stdout"
	elif grep -Eq "$BAD" "$tmp/trace"; then
		not_ok "$label: touched something"
		grep -E "$BAD" "$tmp/trace" | head -5 | sed 's/^/# /'
	else
		ok "$label"
	fi
}

# Every csmpctl command as an operator would type it.
CMDS=(
	""
	"stats"
	"stats --json"
	"devices"
	"devices --count"
	"devices $EID"
	"reload"
	"keygen $tmp/new.pem"
	"enroll $EID $tmp/dev.pub"
	"firmware add $tmp/fw.bin --store $tmp/store"
	"firmware images --store $tmp/store"
	"srcfix --pin-dir $pin attach v0 --vip 2001:db8::53 --backend-src 2001:db8:2::1"
	"srcfix --pin-dir $pin detach v0"
	"srcfix --pin-dir $pin stats"
	"lb"
	"${LB[*]} attach v1 --vip 2001:db8::54 --lb-addr 2001:db8:1::1 --generic"
	"${LB[*]} detach"
	"${LB[*]} backend add 2 2001:db8:2::2"
	"${LB[*]} backend remove 1"
	"${LB[*]} backend drain 1"
	"${LB[*]} backend weight 1 7"
	"${LB[*]} table show"
	"${LB[*]} table preview"
	"${LB[*]} pin $EID 1"
	"${LB[*]} limits --eid-rate 5 --eid-burst 9"
	"${LB[*]} eid $EID"
	"${LB[*]} stats --interval 0.1"
)
for c in "${CMDS[@]}"; do
	# shellcheck disable=SC2086
	for f in --help -h; do
		try "csmpctl $c $f" "$f" "$CTL" --control "$sock" $c
	done
	try "csmpctl --version $c" "" "$CTL" --control "$sock" --version $c
done
# The flag before the command's own words, and before the command.
try "csmpctl lb --help detach" "" "$CTL" --control "$sock" "${LB[@]}" --help detach
try "csmpctl lb backend --help add" "" "$CTL" "${LB[@]}" backend --help add 2 2001:db8:2::2
try "csmpctl --help reload" "" "$CTL" --control "$sock" --help reload
try "csmpctl --bogus reload --help" "" "$CTL" --bogus --control "$sock" reload --help
grep -q '^usage: csmpctl reload' "$tmp/stdout" ||
	not_ok "csmpctl reload --help prints reload's usage"

# The tools, each with a line that would send, read a capture or measure.
TOOLS=(
	"csmp-request --control $sock $EID 11"
	"csmp-request --control $sock --post GroupAssign={\"type\":1,\"id\":7} [::1]:61628"
	"csmpdump -r $CSMP_FIXTURE_REG -x $tmp/x"
	"csmpdump -i v1"
	"csmp-blast --target [::1]:61628 --template $tmp/fw.bin --duration 1"
	"csmp-loadgen --target [::1]:61628 --sessions $tmp/fw.bin --key $tmp/dev.pem"
	"csmp-cryptobench --seconds 0.1 --rounds 1"
)
for c in "${TOOLS[@]}"; do
	set -- $c
	p=$1
	shift
	for f in --help -h --version; do
		try "$c $f" "$f" "$BIN/$p" "$@"
	done
	grep -q "^$p " "$tmp/stdout" || not_ok "$p --version prints '$p VERSION'"
done

snapshot >"$tmp/after" 2>&1
if diff -u "$tmp/before" "$tmp/after" >"$tmp/diff"; then
	ok "XDP program, state file, Maglev table and files unchanged"
else
	not_ok "XDP program, state file, Maglev table and files unchanged"
	sed 's/^/# /' "$tmp/diff"
fi
tap_done
