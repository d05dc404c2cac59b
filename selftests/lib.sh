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
