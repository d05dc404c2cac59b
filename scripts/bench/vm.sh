#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Bench suite "vm": csmp_lb's cost per packet with csmp.ko's kfuncs over its
# pure-BPF path, both measured in the same qemu guest run on Debian's 6.1
# kernel (selftests/vm/csmp_vmbench.c; see its header for the method).
# Software emulation makes absolute nanoseconds meaningless; the ratio is
# the figure. Writes build/bench/vm.json and build/bench/vm.md.
set -euo pipefail
case ${1:-} in
-h|--help)
	echo "usage: scripts/bench/vm.sh   (env: CSMP_BENCH_ROUNDS=1000, CSMP_BENCH_KERNEL=6.1)"
	echo "example: CSMP_BENCH_ROUNDS=200 scripts/bench/vm.sh && cat build/bench/vm.json"
	exit 0 ;;
esac
cd "$(dirname "$0")/../.."
out=build/bench
mkdir -p "$out"
rounds=${CSMP_BENCH_ROUNDS:-1000}
kernel=${CSMP_BENCH_KERNEL:-6.1}
cmd="scripts/vmtest.sh --mode bench --kernel $kernel"

log=$(mktemp)
trap 'rm -f "$log"' EXIT
# vmtest.sh passes the round count to the guest on its kernel command line.
CSMP_BENCH_ROUNDS=$rounds bash $cmd | tee "$log" | grep -v '^# [0-9]*: ' || true
if ! grep -q '^ok .*same verdict and bytes on both paths' "$log"; then
	echo "vm bench: no valid measurement (see above)" >&2
	exit 1
fi
get() { sed -n "s/^# BENCH $1 //p" "$log" | tail -n1; }
rel=$(sed -n 's/^# kernel //p' "$log" | tail -n1)
jq -n --argjson ratio "$(get kfunc_over_bpf_ratio)" \
      --argjson p25 "$(get kfunc_over_bpf_ratio_p25)" \
      --argjson p75 "$(get kfunc_over_bpf_ratio_p75)" \
      --argjson bpf "$(get bpf_ns_per_packet)" \
      --argjson kf "$(get kfunc_ns_per_packet)" \
      --argjson frames "$(get frames)" \
      --argjson calls "$(get calls_per_path)" \
      '{kfunc_over_bpf_ratio: $ratio, kfunc_over_bpf_ratio_p25: $p25,
        kfunc_over_bpf_ratio_p75: $p75, bpf_ns_per_packet: $bpf,
        kfunc_ns_per_packet: $kf, frames: $frames, calls_per_path: $calls}' \
	>"$out/vm.json"
{
	echo "## vm: csmp_lb with csmp.ko's kfuncs vs its BPF fallback"
	echo
	echo "One qemu guest (software emulation, kernel $rel), csmp_lb loaded twice with identical"
	echo "state: \`use_kfuncs=0\` (BPF parser and SipHash) and \`use_kfuncs=1\` (\`bpf_csmp_classify\`,"
	echo "\`bpf_csmp_eid_hash\` from csmp.ko). The $(get frames) device-to-VIP frames of the fixture"
	echo "captures, $(get calls_per_path) BPF_PROG_TEST_RUN calls per path (repeat = 1, alternating"
	echo "paths call by call), kernel-reported durations; every call's verdict and output"
	echo "bytes were equal on both paths. A round is every frame once on each path; the ratio is"
	echo "the median over rounds. Emulation inflates absolute figures; compare the ratio."
	echo
	echo "| path | ns/packet (emulated, median over rounds) |"
	echo "| --- | ---: |"
	echo "| BPF fallback | $(get bpf_ns_per_packet) |"
	echo "| kfuncs (csmp.ko) | $(get kfunc_ns_per_packet) |"
	echo "| **kfunc / BPF ratio** (median of per-round ratios; p25-p75) | **$(get kfunc_over_bpf_ratio)** ($(get kfunc_over_bpf_ratio_p25)-$(get kfunc_over_bpf_ratio_p75)) |"
	echo
	echo "Reproduce:"
	echo
	echo '```'
	echo "CSMP_BENCH_ROUNDS=$rounds $cmd"
	echo "scripts/bench/run.sh vm"
	echo '```'
} >"$out/vm.md"
echo "vm: wrote $out/vm.json and $out/vm.md"
