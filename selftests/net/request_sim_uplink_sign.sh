#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# csmp-sim's signed uplink against csmpd's verification, in a namespace of
# its own, for each suite (Ed25519, P-256): the sim makes one key pair per
# device in a key directory (a first short run), csmpd loads the public
# keys from it (--device-keys) and puts the fleet in a group whose
# uplink-signature is required; then every device registers with signed
# registrations, and --bad-signature-rate spoils a share of the signed
# reports. The good ones must all verify and be accepted, the spoiled ones
# must all be dropped and counted as sig_bad, nothing else may fail; keys
# already in the directory are reused, not remade.
source "$(dirname "$0")/../lib.sh"
require_root
require_cmd ip jq

SIM=$BIN/csmp-sim
CTL=$BIN/csmpctl
require_built "$CSMPD" "$SIM" "$CTL"
N=24

csmp_tmpdir uplink-sign
chmod 755 "$tmp"
netns_add_lo up || exit 1
NS=$(ns up)
"$CTL" keygen "$tmp/nms.pem" "$tmp/nms.pub" >/dev/null
sim() { ip netns exec "$NS" "$SIM" --target '[::1]:61628' \
	--nms-pubkey "$tmp/nms.pub" --devices $N --quiet "$@"; }
ctl() { ip netns exec "$NS" "$CTL" --control "$tmp/ctl.sock" "$@"; }

for suite in ed25519 p256; do
	keys=$tmp/keys-$suite
	# Nothing listens yet: this run only makes the keys.
	sim --uplink-sign $suite --uplink-key-dir "$keys" --duration 0.2 \
		--drain 0 >/dev/null
	check "$suite: one public key per device for csmpd" \
		test "$(ls "$keys"/*.pem | wc -l)" = $N
	check "$suite: private keys kept apart, 0600" \
		test "$(stat -c %a "$keys"/private/00C5000000000000.pem)" = 600
	sum0=$(cat "$keys"/*.pem | sha256sum)

	cat >"$tmp/csmpd.conf" <<CONF
[csmpd]
listen = [::1]:61628
workers = 2
control = $tmp/ctl.sock
nms-key = $tmp/nms.pem
device-keys = $keys
db = $tmp/db-$suite
reply-ports = 41000-41099

[policy]
uplink-signature = off

[group fleet]
members = 00C5*
uplink-signature = required
CONF
	: >"$tmp/log"
	csmpd_start "$NS" "$tmp/log" --config "$tmp/csmpd.conf" \
		--report-interval 1 --log-level 6
	sim --uplink-sign $suite --uplink-key-dir "$keys" \
		--bad-signature-rate 0.3 --reg-min 0.2 --reg-max 1 \
		--duration 5 --json >"$tmp/sim.json"
	rc=$?
	sleep 0.3
	s=$(ctl stats --json)
	csmpd_stop
	j=$tmp/sim.json
	signed=$(jq .uplink.signed "$j") bad=$(jq .uplink.bad_signature "$j")
	reports=$(jq .reports_sent "$j") regs=$(jq .reg_attempts "$j")
	diag "$suite: sim $(jq -c '{registered, reg_attempts, reports_sent, uplink}' "$j")"
	diag "$suite: csmpd $(jq -c '{verified: [.workers[].verified_ok] | add, sig_bad: [.workers[].verify_failed.sig_bad] | add, reports: [.workers[].reports] | add}' <<<"$s" 2>/dev/null)"
	check "$suite: reply-ports from the config file" \
		grep -q 'REPLY_PORTS: head-end requests from reply ports 41000-41099 (50 per worker)' "$tmp/log"
	check "$suite: every device registered with signed registrations (exit 0)" \
		test $rc = 0 -a "$(jq .registered "$j")" = $N
	check "$suite: every message signed, some reports spoiled" \
		test "$signed" = $((regs + reports)) -a "$bad" -gt 0 -a "$bad" -lt "$reports"
	check "$suite: csmpd verified exactly the good ones ($((signed - bad)))" \
		test "$(jq '[.workers[].verified_ok] | add' <<<"$s")" = $((signed - bad))
	check "$suite: csmpd counted exactly the spoiled ones as sig_bad ($bad)" \
		test "$(jq '[.workers[].verify_failed.sig_bad] | add' <<<"$s")" = "$bad"
	check "$suite: no other verification failure" \
		test "$(jq '[.workers[].verify_failed | to_entries[] | select(.key != "sig_bad") | .value] | add' <<<"$s")" = 0
	check "$suite: only the good reports reached the devices' state" \
		test "$(jq '[.workers[].reports] | add' <<<"$s")" = $((reports - bad))
	check "$suite: failures logged with the reason" \
		grep -q "%CSMP-3-SIGNATURE_FAILURE: eid=00C5.* reason=sig_bad" "$tmp/log"
	check "$suite: the keys were reused, not remade" \
		test "$(cat "$keys"/*.pem | sha256sum)" = "$sum0"
done
tap_done
