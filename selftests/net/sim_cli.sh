#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# csmp-sim's command line: -h/--help prints the usage, exits 0 and does
# nothing else (no socket, no route, wherever the flag stands, beside
# options that would fail); --version prints "csmp-sim VERSION" with the
# build's version (scripts/version.sh, from VERSION); --target goes through libcsmp's
# one host:port parser and is refused with its reason (exit 2).
source "$(dirname "$0")/../lib.sh"
require_root
require_cmd strace ip

SIM=$BIN/csmp-sim
require_built "$SIM"
csmp_tmpdir simcli
netns_add_lo cli || exit 1
NS=$(ns cli)

for args in "--help" "-h" "--serve --devices 5 --help" "--devices 0 -h --target nonsense"; do
	ip netns exec "$NS" strace -f -qq -e trace=socket,bind,sendto,sendmmsg,sendmsg \
		-o "$tmp/trace" "$SIM" $args >"$tmp/out" 2>"$tmp/err"
	rc=$?
	check "csmp-sim $args: usage on stdout, exit 0" \
		test $rc = 0 -a -n "$(grep '^usage: csmp-sim' "$tmp/out")" -a ! -s "$tmp/err"
	check "csmp-sim $args: no socket made, nothing sent" \
		test -z "$(grep -E 'socket|bind|send' "$tmp/trace")"
done
check "--help added no route" test -z "$(ip -n "$NS" -6 route show table local | grep fd00:c5)"
v=$("$SIM" --version)
# The build's version starts with the VERSION file's (scripts/version.sh).
check "--version: csmp-sim and the build's version ($v)" \
	test "${v%%+*}" = "csmp-sim $(cat "$CSMP_TOP/VERSION")" -o \
	     "${v%%-*}" = "csmp-sim $(cat "$CSMP_TOP/VERSION")"

bad() { # ARG REASON
	"$SIM" --target "$1" --verify-every 0 >/dev/null 2>"$tmp/err"
	check "--target $1 refused (exit 2): $2" \
		test $? = 2 -a -n "$(grep -F -- "$2" "$tmp/err")"
}
bad '[::1]:99999' "port 99999 out of range 0..65535"
bad 'fe80::1::2' "is not an IPv6 or IPv4 address"
bad '[::1]:0' "port 0 is no destination"
tap_done
