#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# make run: the 10,000-device demo on loopback. Creates a demo NMS key under
# ./run/ (kept across runs), starts csmpd on [::1] with its registry,
# control socket and log under ./run/, lets csmp-sim register 10,000
# simulated OpenCSMP devices (each verifying csmpd's signed ACK) and report
# for a few seconds, prints a summary with csmpd's own counters, and stops
# everything. Exits 0 only if every device registered.
#   CSMP_DEMO_DEVICES=N CSMP_DEMO_PORT=P scripts/run-demo.sh
set -uo pipefail
cd "$(dirname "$0")/.."
B=build/bin
RUN=run
N=${CSMP_DEMO_DEVICES:-10000}
PORT=${CSMP_DEMO_PORT:-61628}
PREFIX=fd00:c5:de:1::
pid=

cleanup() {
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	fi
	# csmp-sim removes its route itself; this covers a killed sim.
	[ "$(id -u)" = 0 ] && ip -6 route del local "$PREFIX/64" dev lo \
		table local 2>/dev/null
	return 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for p in csmpd csmp-sim csmpctl; do
	[ -x "$B/$p" ] || { echo "run-demo: $B/$p missing (make all)" >&2; exit 1; }
done
mkdir -p "$RUN"
if [ ! -f "$RUN/nms-key.pem" ]; then
	"$B/csmpctl" keygen "$RUN/nms-key.pem" "$RUN/nms-key.pub.pem" || exit 1
fi

echo "== csmpd on [::1]:$PORT (state in $RUN/, log $RUN/csmpd.log)"
: >"$RUN/csmpd.log"
rm -f "$RUN/control.sock"
"$B/csmpd" --listen "[::1]:$PORT" --nms-key "$RUN/nms-key.pem" \
	--db "$RUN/csmpd.db" --control "$RUN/control.sock" \
	--report-interval 5 --report-tlvs 22,23,35 2>"$RUN/csmpd.log" &
pid=$!
for _ in $(seq 100); do
	grep -q '%CSMP-5-START' "$RUN/csmpd.log" && break
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.1
done
if ! grep -q '%CSMP-5-START' "$RUN/csmpd.log"; then
	echo "run-demo: csmpd did not start:" >&2
	cat "$RUN/csmpd.log" >&2
	exit 1
fi
grep -E 'START|IO_BACKEND|REGISTRY_LOADED' "$RUN/csmpd.log" | sed 's/^/   /'

echo "== csmp-sim: $N devices, until all registered, then 6 s of reports"
"$B/csmp-sim" --target "[::1]:$PORT" --nms-pubkey "$RUN/nms-key.pub.pem" \
	--devices "$N" --src-prefix "$PREFIX" --until-registered --linger 6 \
	--duration 60 --json >"$RUN/sim.json"
src=$?
"$B/csmpctl" --control "$RUN/control.sock" --json stats >"$RUN/stats.json" \
	2>/dev/null || echo '{}' >"$RUN/stats.json"
kill -TERM "$pid"
wait "$pid"
crc=$?
pid=
[ -s "$RUN/sim.json" ] || { echo "run-demo: csmp-sim failed ($src)" >&2; exit 1; }

s() { jq -r "$1" "$RUN/sim.json"; }
c() { jq -r "[.workers[]? | $1] | add // \"n/a\"" "$RUN/stats.json"; }
echo
echo "== summary"
printf '  %-32s %s\n' \
	"devices registered" "$(s .registered) / $(s .devices) in $(s .all_registered_s) s ($(s .src_mode) mode: one source address each)" \
	"registration attempts" "$(s .reg_attempts)" \
	"ACKs verified (NMS key)" "$(s .acks_verified), bad signature $(s .acks_bad_signature), bad validity $(s .acks_bad_validity)" \
	"registration latency" "p50 $(s .reg_latency_ms.p50) ms, p99 $(s .reg_latency_ms.p99) ms (first attempt -> ACK verified)" \
	"answer RTT" "p50 $(s .rtt_ms.p50) ms, p99 $(s .rtt_ms.p99) ms (attempt -> ACK in the kernel)" \
	"registration rate" "$(s .rates.registrations_per_s) /s" \
	"reports sent" "$(s .reports_sent) ($(s .rates.reports_per_s) /s)" \
	"csmpd received / sent" "$(c .received) / $(c .sent) datagrams" \
	"csmpd registrations / reports" "$(c .registrations) / $(c .reports) (unknown session $(c .reports_unknown_session))" \
	"csmpd signed (cache hits)" "$(c .signed) ($(c .signature_cache_hits))" \
	"csmpd devices in registry" "$(c .devices)" \
	"csmpd exit status" "$crc"
grep '%CSMP-5-STOPPED' "$RUN/csmpd.log" | sed 's/^/  /'
if [ "$(s .registered)" = "$N" ] && [ "$crc" = 0 ]; then
	echo "run-demo: OK, every device registered"
	exit 0
fi
echo "run-demo: FAILED: $(s .registered) of $N registered, csmpd exit $crc" >&2
exit 1
