#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# csmpctl firmware add / images / remove over a store directory of the
# test's own: a good image stored under its SHA-256 (0640, the hash
# printed, --json with hash/name/version/hwid/size), added twice without a
# second file, a bad header version, a bad CRC, a truncated and a too-large
# image each refused with its reason and exit 1, leaving nothing behind
# (no file, no temporary); images lists what is stored and flags a damaged
# file; remove deletes by hash and refuses an unknown or malformed one.
source "$(dirname "$0")/../lib.sh"
require_cmd jq sha256sum stat

CTL=$BIN/csmpctl
MK=$CSMP_BUILD/selftests/net/fw_mkimage
require_built "$CTL" "$MK"
csmp_tmpdir fwstore
S=$tmp/store
fw() { "$CTL" "$@" --store "$S"; }

"$MK" "$tmp/good.bin" --size 24114 --version 6.9.99
h=$(sha256sum "$tmp/good.bin" | cut -c1-64)
out=$(fw firmware add "$tmp/good.bin")
check "add prints the SHA-256" test "$out" = "$h"
check "stored as STORE/<sha256>, 0640, same bytes" \
	test "$(stat -c %a "$S/$h")" = 640 -a "$(sha256sum <"$S/$h" | cut -c1-64)" = "$h"
j=$("$CTL" --json firmware add "$tmp/good.bin" --store "$S")
check "--json: hash, name, version, hwid, size" \
	test "$(jq -c '[.hash, .name, .version, .hwid, .size]' <<<"$j")" = \
	"[\"$h\",\"opencsmp-node\",\"6.9.99\",\"OPENCSMP\",24114]"
check "adding it again leaves one file" test "$(ls -A "$S" | wc -l)" = 1

refused() { # NAME FILE REASON-PATTERN
	local err rc
	err=$(fw firmware add "$2" 2>&1 >/dev/null)
	rc=$?
	check "$1 refused, exit 1, with the reason" \
		test $rc = 1 -a -n "$(grep -E -- "$3" <<<"$err")"
	diag "$err"
}
"$MK" "$tmp/ver.bin" --size 2000 --spoil version
"$MK" "$tmp/crc.bin" --size 2000 --spoil crc
"$MK" "$tmp/trunc.bin" --size 2000 --spoil trunc
"$MK" "$tmp/big.bin" --size $((1024 * 1024 + 1))
refused "bad header version" "$tmp/ver.bin" "refused: header version 1, not 2"
refused "bad CRC" "$tmp/crc.bin" "refused: header CRC-32 is 0x[0-9a-f]{8}, the header's bytes give"
refused "truncated image" "$tmp/trunc.bin" "refused: truncated: 1999 bytes, the header's app_len says 2000"
refused "too-large image" "$tmp/big.bin" "refused: image is 1048577 bytes, more than the 1048576"
check "refused images stored nothing (no file, no temporary)" \
	test "$(ls -A "$S")" = "$h"

"$MK" "$tmp/v2.bin" --size 5000 --version 7.0.1 --seed 2
h2=$(fw firmware add "$tmp/v2.bin")
fw firmware images >"$tmp/list"
check "images lists both, with name, version, hwid, size" \
	test "$(awk 'NR > 1 {print $1, $3, $5}' "$tmp/list" | sort | xargs)" = \
	"$(printf '%s\n' "$h 6.9.99 24114" "$h2 7.0.1 5000" | sort | xargs)"
check "images --json" \
	test "$("$CTL" --json firmware images --store "$S" | jq -r '[.[].version] | sort | join(" ")')" = "6.9.99 7.0.1"
cp "$tmp/v2.bin" "$S/$(printf 'a%.0s' $(seq 64))"
fw firmware images >/dev/null 2>"$tmp/dmg"
check "images flags a file whose content is not its name (exit 1)" \
	test $? = 1 -a -n "$(grep 'damaged: its SHA-256 is' "$tmp/dmg")"
rm -f "$S/$(printf 'a%.0s' $(seq 64))"

fw firmware remove "$h2"
check "remove deletes by hash" test $? = 0 -a ! -e "$S/$h2"
fw firmware remove "$h2" 2>"$tmp/rm"
check "remove of an unknown hash: exit 1, said so" \
	test $? = 1 -a -n "$(grep 'no such image in the store' "$tmp/rm")"
fw firmware remove nothex 2>/dev/null
check "remove of a malformed hash: usage error (exit 2)" test $? = 2
tap_done
