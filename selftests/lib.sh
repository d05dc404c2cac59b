# SPDX-License-Identifier: GPL-2.0-only
# TAP helpers for shell tests (sourced). A test calls ok/not_ok/skip per
# check, cleans up in an EXIT trap, and ends with `tap_done`.
KSFT_SKIP=4
CSMP_TOP=${CSMP_TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
CSMP_BUILD=${CSMP_BUILD:-$CSMP_TOP/build}
BIN=$CSMP_BUILD/bin
_tap_n=0
_tap_fail=0

ok() { _tap_n=$((_tap_n + 1)); echo "ok $_tap_n $*"; }
not_ok() { _tap_n=$((_tap_n + 1)); _tap_fail=1; echo "not ok $_tap_n $*"; }
skip() { _tap_n=$((_tap_n + 1)); echo "ok $_tap_n $1 # SKIP ${2:-}"; }
# check NAME CMD...: ok when CMD succeeds.
check() { local name=$1; shift; if "$@"; then ok "$name"; else not_ok "$name"; fi; }
diag() { echo "# $*"; }
tap_done() { exit $_tap_fail; }

# Skip the whole test (exit 4) unless the requirements hold.
require_root() { [ "$(id -u)" = 0 ] || { echo "# SKIP needs root"; exit $KSFT_SKIP; }; }
require_cmd() { local c; for c; do command -v "$c" >/dev/null || { echo "# SKIP needs $c"; exit $KSFT_SKIP; }; done; }

# Mount bpffs when absent (a fresh machine has none).
ensure_bpffs() { mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf; }

# Unique namespace names per run, removed by netns_cleanup.
NS_PREFIX="csmpt$$"
_ns_list=()
netns_add() { ip netns add "$NS_PREFIX-$1" && _ns_list+=("$NS_PREFIX-$1"); }
ns() { echo "$NS_PREFIX-$1"; }
netns_cleanup() { local n; for n in "${_ns_list[@]}"; do ip netns pids "$n" 2>/dev/null | xargs -r kill 2>/dev/null; ip netns del "$n" 2>/dev/null; done; }

# ---- csmpd test scaffolding ---------------------------------------------
# One temp dir ($tmp), one csmpd ($pid) and the test's namespaces, all
# removed by csmp_cleanup on any exit. A test with more to undo defines its
# own cleanup that calls csmp_cleanup and installs that as the trap.
CSMPD=${CSMPD:-$BIN/csmpd}
CSMP_FIXTURE_REG=$CSMP_TOP/../shared/fixtures/opencsmp-register.pcap
pid=

# require_built FILE...: skip (exit 4) unless every FILE is an executable.
require_built() { local f; for f; do [ -x "$f" ] || { echo "# SKIP $f not built (make all tests)"; exit $KSFT_SKIP; }; done; }
# require_file FILE...: skip (exit 4) unless every FILE is readable.
require_file() { local f; for f; do [ -r "$f" ] || { echo "# SKIP $f missing"; exit $KSFT_SKIP; }; done; }
# csmp_tmpdir NAME: $tmp = a fresh /tmp/csmp-NAME.XXXXXX; EXIT trap csmp_cleanup.
csmp_tmpdir() { tmp=$(mktemp -d "/tmp/csmp-$1.XXXXXX") || exit 1; trap csmp_cleanup EXIT; }
# csmp_cleanup: SIGKILL $pid if still set, delete the namespaces and $tmp.
csmp_cleanup() { [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null; netns_cleanup; [ -n "${tmp:-}" ] && rm -rf "$tmp"; }
# netns_add_lo NAME: netns_add NAME with its loopback up.
netns_add_lo() { netns_add "$1" && ip -n "$(ns "$1")" link set lo up; }
# nms_keygen DIR [NAME]: a P-256 key pair DIR/NAME.pem + DIR/NAME.pub (NAME: nms).
nms_keygen() {
	openssl ecparam -name prime256v1 -genkey -noout -out "$1/${2:-nms}.pem" 2>/dev/null &&
		openssl ec -in "$1/${2:-nms}.pem" -pubout -out "$1/${2:-nms}.pub" 2>/dev/null
}
# csmpd_wait_listen LOG [N]: wait (10 s at most) for LOG's Nth START line (N: 1) while $pid lives; else print LOG, fail.
csmpd_wait_listen() {
	local i
	for i in $(seq 100); do
		[ "$(grep -c '%CSMP-5-START' "$1")" -ge "${2:-1}" ] && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	[ "$(grep -c '%CSMP-5-START' "$1")" -ge "${2:-1}" ] && return 0
	diag "csmpd did not start:"; sed 's/^/# /' "$1"
	return 1
}
# csmpd_start NS LOG ARGS...: csmpd ARGS in NS (behind $CSMPD_WRAP if set), stderr appended to LOG, $pid; csmpd_wait_listen.
csmpd_start() {
	local ns=$1 log=$2 n
	shift 2
	touch "$log"
	n=$(grep -c '%CSMP-5-START' "$log")
	ip netns exec "$ns" ${CSMPD_WRAP:+"$CSMPD_WRAP"} "$CSMPD" "$@" 2>>"$log" &
	pid=$!
	csmpd_wait_listen "$log" $((n + 1))
}
# csmpd_stop: SIGTERM $pid and reap it; the function's status is csmpd's.
csmpd_stop() { local rc; kill -TERM "$pid"; wait "$pid"; rc=$?; pid=; return $rc; }
# csmpd_stopped WORD LOG: the number after WORD in LOG's %CSMP-5-STOPPED line.
csmpd_stopped() { sed -n "s/.*%CSMP-5-STOPPED:.* $1 \([0-9]*\).*/\1/p" "$2"; }

# ---- csmp_lb test scaffolding -------------------------------------------
# lb_veth_setup NAME: csmp_tmpdir NAME; $pin = a fresh bpffs pin directory
# and netns lb (lo up) holding a veth pair v0/v1, both up, for csmp_lb;
# all removed on exit. Enter the netns with nsenter --net (ip netns exec
# remounts /sys, which hides the pins from the rest of the test).
lb_veth_setup() {
	csmp_tmpdir "$1"
	pin=/sys/fs/bpf/csmp-test-$1-$$
	trap 'csmp_cleanup; rm -rf "$pin"' EXIT
	ensure_bpffs
	netns_add_lo lb || return 1
	ip -n "$(ns lb)" link add v0 type veth peer name v1 &&
		ip -n "$(ns lb)" link set v0 up && ip -n "$(ns lb)" link set v1 up
}
