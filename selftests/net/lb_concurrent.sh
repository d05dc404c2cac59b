#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Concurrent `csmpctl lb` edits all survive: each edit reads the state
# file, changes it, saves it and writes the pinned maps; without a lock
# two edits made at once each save a state without the other's change and
# the last apply wins. csmp_lb is attached (generic XDP) to a veth in a
# namespace; N backend adds, then N pins, are started at the same moment;
# every one must be in the state file, in the live backends map and pins
# map, and own slots of the live Maglev table.
source "$(dirname "$0")/../lib.sh"
require_root
require_cmd ip jq bpftool nsenter
CTL=$BIN/csmpctl
require_built "$CTL"
N=${CSMP_LB_CONCURRENT:-16}

lb_veth_setup lbconc || exit 1
NS=$(ns lb)
lbc() { nsenter --net=/run/netns/"$NS" "$CTL" lb --state "$tmp/lb.state" --pin-dir "$pin" "$@"; }
if ! lbc attach v0 --vip 2001:db8::53 --lb-addr 2001:db8:1::1 --generic \
	>"$tmp/attach" 2>&1; then
	sed 's/^/# /' "$tmp/attach"
	not_ok "csmp_lb attached"
	tap_done
fi

# run_all CMD-PREFIX: N copies, released together (they wait on a FIFO).
run_all() {
	local i pids=() fail=0
	mkfifo "$tmp/go"
	for i in $(seq 1 "$N"); do
		( read -r _ <"$tmp/go"; "$@" "$i" >"$tmp/o.$i" 2>&1 ) &
		pids+=($!)
	done
	sleep 0.5
	# One writer open releases every reader at once.
	: >"$tmp/go"
	for i in "${!pids[@]}"; do wait "${pids[$i]}" || fail=$((fail + 1)); done
	rm -f "$tmp/go"
	return $fail
}
add_be() { lbc backend add "$1" "2001:db8:2::$(printf %x "$1")"; }
add_pin() { lbc pin "$(printf '0A0027FFFE%06X' "$1")" "$1"; }

run_all add_be
rc=$?
check "$N concurrent backend adds all succeed" [ $rc = 0 ]
[ $rc = 0 ] || grep -hv '^applied' "$tmp"/o.* | sort | uniq -c | sed 's/^/# /' | head
check "the state file holds all $N backends" \
	[ "$(grep -c '^backend ' "$tmp/lb.state")" = "$N" ]
nsenter --net=/run/netns/"$NS" "$CTL" --json lb --state "$tmp/lb.state" --pin-dir "$pin" \
	table show >"$tmp/table" 2>&1
check "the live Maglev table gives slots to all $N backends" \
	[ "$(jq '[.backends[] | select(.slots > 0)] | length' "$tmp/table")" = "$N" ]
check "the live backends map holds all $N" \
	[ "$(bpftool -j map dump pinned "$pin/csmp_backends" |
		jq '[.[] | select(.formatted.value.weight > 0)] | length')" = "$N" ]

run_all add_pin
rc=$?
check "$N concurrent pins all succeed" [ $rc = 0 ]
check "the state file holds all $N pins" \
	[ "$(grep -c '^pin ' "$tmp/lb.state")" = "$N" ]
check "the live pins map holds all $N" \
	[ "$(bpftool -j map dump pinned "$pin/csmp_pins" | jq length)" = "$N" ]
check "the state's generation counts every edit" \
	[ "$(sed -n 's/^generation //p' "$tmp/lb.state")" = "$((2 * N + 1))" ]
tap_done
