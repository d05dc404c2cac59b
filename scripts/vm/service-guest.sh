#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Runs inside the packaged-service guest (selftests/vm/service.sh), as a
# oneshot unit under systemd as PID 1: installs the csmpd packages and
# checks the service as an operator meets it. TAP on /dev/ttyS1, then
# power off.
exec 3>/dev/ttyS1
n=0
ok() { n=$((n + 1)); echo "ok $n $*" >&3; }
not_ok() { n=$((n + 1)); echo "not ok $n $*" >&3; }
diag() { echo "# $*" >&3; }
check() { local name=$1; shift; if "$@"; then ok "$name"; else not_ok "$name"; fi; }
finish() { echo "# guest done" >&3; sync; systemctl poweroff --force --force; }
trap finish EXIT

prop() { systemctl show -P "$1" csmpd.service; }
# wait_active: the unit is active (Type=notify: READY=1 was sent).
wait_active() {
	local i
	for i in $(seq 100); do
		[ "$(prop ActiveState)" = active ] && return 0
		[ "$(prop ActiveState)" = failed ] && break
		sleep 0.2
	done
	systemctl status --no-pager csmpd.service 2>&1 | sed 's/^/# /' >&3
	return 1
}
# jhas PID PATTERN ARGS...: csmpd process PID's journal entries (ARGS:
# more matches, -p) have a line matching PATTERN; else show them.
jhas() {
	local p=$1 pat=$2
	shift 2
	journalctl -q _PID="$p" "$@" | grep -q -- "$pat" && return 0
	diag "journal of csmpd $p ($*), expected '$pat':"
	journalctl -q _PID="$p" -o verbose "$@" | tail -n 20 | sed 's/^/#   /' >&3
	return 1
}
# mode_owner PATH MODE USER GROUP
mode_owner() {
	local got
	got=$(stat -c '%a %U %G' "$1" 2>&1)
	[ "$got" = "$2 $3 $4" ] || { diag "$1: $got, expected $2 $3 $4"; return 1; }
}

diag "kernel $(uname -r), $(systemctl --version | head -n1), PID 1: $(cat /proc/1/comm)"
check "systemd is PID 1" test "$(cat /proc/1/comm)" = systemd

if dpkg -i /csmp/csmpd_*.deb /csmp/csmpd-tools_*.deb >/tmp/dpkg.log 2>&1; then
	ok "dpkg -i csmpd csmpd-tools"
else
	sed 's/^/# /' /tmp/dpkg.log >&3
	not_ok "dpkg -i csmpd csmpd-tools"
	exit 0
fi
check "system user csmpd (no login shell)" bash -c \
	'[ "$(getent passwd csmpd | cut -d: -f7)" = /usr/sbin/nologin ] && [ "$(id -u csmpd)" -lt 1000 ]'
check "postinst made the NMS key, root:csmpd 0640" mode_owner /etc/csmpd/nms-key.pem 640 root csmpd
check "the package started csmpd.service" wait_active
check "csmpd.service is enabled" test "$(systemctl is-enabled csmpd.service)" = enabled

# systemd-analyze verify with the installed binaries and pages.
out=$(systemd-analyze verify csmpd.service 2>&1)
[ -z "$out" ] || echo "$out" | sed 's/^/# /' >&3
check "systemd-analyze verify csmpd.service" test -z "$out"
out=$(systemd-analyze verify csmp-lb@lo.service 2>&1)
[ -z "$out" ] || echo "$out" | sed 's/^/# /' >&3
check "systemd-analyze verify csmp-lb@lo.service" test -z "$out"
diag "$(systemd-analyze security csmpd.service 2>/dev/null | tail -n1)"

# What an operator does next: the registry, the control socket, metrics
# and events in the config file, then a restart.
conf=/etc/csmpd/csmpd.conf
grep -q '^\[csmpd\]' $conf || sed -i '1i [csmpd]' $conf
for kv in "db = /var/lib/csmpd/registry.db" "control = /run/csmpd/control.sock" \
	"metrics = 127.0.0.1:9628" "events = /var/log/csmpd/events.jsonl"; do
	grep -q "^${kv%% =*} *=" $conf || sed -i "/^\[csmpd\]/a $kv" $conf
done
systemctl restart csmpd.service
check "restart with registry, control, metrics and events" wait_active
pid=$(prop MainPID)
check "Type=notify, main process csmpd" test "$(prop Type) $(cat /proc/"$pid"/comm)" = "notify csmpd"
check "csmpd runs as user csmpd" test "$(ps -o user= -p "$pid")" = csmpd
check "csmpd has no capability" test "$(awk '/^CapEff/{print $2}' /proc/"$pid"/status)" = 0000000000000000
check "io_uring passes the system call filter" jhas "$pid" 'using io_uring' CSMP_MNEMONIC=IO_BACKEND
check "journal: START at PRIORITY=5 with CSMP_MNEMONIC" jhas "$pid" '^    PRIORITY=5$' CSMP_MNEMONIC=START -o verbose
check "journal: the message keeps %CSMP-5-START, no RFC 3339 prefix" \
	jhas "$pid" '^    MESSAGE=%CSMP-5-START: csmpd up' CSMP_MNEMONIC=START -o verbose

if csmp-sim --target '[::1]:61628' --nms-pubkey /etc/csmpd/nms-key.pub.pem --devices 200 \
	--until-registered --duration 120 --report-interval 0 --quiet --json >/tmp/sim.json 2>/tmp/sim.err; then
	ok "csmp-sim: 200 simulated devices registered with signed answers"
else
	sed 's/^/# /' /tmp/sim.err /tmp/sim.json | tail -n 20 >&3
	not_ok "csmp-sim: 200 simulated devices registered with signed answers"
fi
check "csmpctl devices --count: 200" test "$(csmpctl devices --count 2>&1)" = 200
check "journal: CSMP_EID fields name devices" bash -c \
	"journalctl -u csmpd.service -F CSMP_EID | grep -qE '^00C5[0-9A-F]{12}\$'"
curl_metrics() { exec 5<>/dev/tcp/127.0.0.1/9628 && printf 'GET /metrics HTTP/1.0\r\n\r\n' >&5 && cat <&5; }
curl_metrics >/tmp/metrics.txt 2>/dev/null
check "metrics endpoint answers" grep -q '^# TYPE' /tmp/metrics.txt

check "state directory /var/lib/csmpd 0750 csmpd" mode_owner /var/lib/csmpd 750 csmpd csmpd
check "registry 0600 csmpd" mode_owner /var/lib/csmpd/registry.db 600 csmpd csmpd
check "control socket 0600 csmpd" mode_owner /run/csmpd/control.sock 600 csmpd csmpd
check "events file 0640 csmpd" mode_owner /var/log/csmpd/events.jsonl 640 csmpd csmpd

# Reload: applied, then refused (a bad file), the service stays up.
check "systemctl reload" systemctl reload csmpd.service
sleep 1
check "journal: CONFIG_RELOAD applied at PRIORITY=5" \
	jhas "$pid" 'policy generation' -p notice..notice CSMP_MNEMONIC=CONFIG_RELOAD
cp /etc/csmpd/csmpd.conf /tmp/csmpd.conf.good
printf '[policy]\ndevices = sometimes\n' >>/etc/csmpd/csmpd.conf
systemctl reload csmpd.service
sleep 1
check "journal: a bad file's reload refused at PRIORITY=3 with FILE:LINE" \
	jhas "$pid" 'csmpd.conf:[0-9]' -p err..err CSMP_MNEMONIC=CONFIG_RELOAD
check "still active after the refused reload" test "$(prop ActiveState)" = active
check "csmpctl reload of the bad file: refused" bash -c \
	'! csmpctl reload >/tmp/reload.out 2>&1 && grep -q "reload refused" /tmp/reload.out'
check "journal: the refused csmpctl reload logged as a refused SIGHUP is" \
	jhas "$pid" '(csmpctl reload)' -p err..err CSMP_MNEMONIC=CONFIG_RELOAD
curl_metrics >/tmp/metrics2.txt 2>/dev/null
check "metrics: csmp_config_last_reload_successful 0" grep -qx 'csmp_config_last_reload_successful 0' /tmp/metrics2.txt
cp /tmp/csmpd.conf.good /etc/csmpd/csmpd.conf

# logrotate moves the events file; csmpd writes on to a new one.
before=$(wc -l </var/log/csmpd/events.jsonl)
logrotate -f /etc/logrotate.d/csmpd
sleep 1
csmp-sim --target '[::1]:61628' --nms-pubkey /etc/csmpd/nms-key.pub.pem --devices 20 \
	--eid-base 00C5000000100000 --until-registered --duration 60 --report-interval 0 \
	--quiet >/dev/null 2>&1
sleep 1
check "logrotate: the old events file rotated ($before lines)" test -s /var/log/csmpd/events.jsonl.1
check "logrotate: csmpd writes to the new events file" bash -c \
	'grep -q 00C5000000100000 /var/log/csmpd/events.jsonl && ! grep -q 00C5000000100000 /var/log/csmpd/events.jsonl.1'

# Restart: the registry survives, the journal has the drain.
systemctl restart csmpd.service
check "restart: active again" wait_active
check "restart: a new process" test "$(prop MainPID)" != "$pid"
check "restart: the stop drained (STOPPED at PRIORITY=5)" \
	jhas "$pid" registrations -p notice..notice CSMP_MNEMONIC=STOPPED
check "restart: the registry kept the devices" test "$(csmpctl devices --count 2>&1)" = 220

# The watchdog (WatchdogSec=30s): alive past it, pinged, never restarted.
t0=$(prop ActiveEnterTimestampMonotonic)
while [ $(( $(awk '{print int($1 * 1000000)}' /proc/uptime) - t0 )) -lt 36000000 ]; do sleep 1; done
check "watchdog: 30 s armed" test "$(prop WatchdogUSec)" = 30s
check "watchdog: pinged, no restart after 36 s" bash -c \
	"[ \"\$(systemctl show -P WatchdogTimestampMonotonic csmpd.service)\" -gt $t0 ] && [ \"\$(systemctl show -P NRestarts csmpd.service)\" = 0 ]"
systemctl status --no-pager csmpd.service >/tmp/status.txt 2>&1
check "systemctl status: active (running)" grep -q 'Active: active (running)' /tmp/status.txt

systemctl stop csmpd.service
check "stop: inactive, exit status 0" test "$(prop ActiveState) $(prop ExecMainStatus)" = "inactive 0"
check "journal: nothing at PRIORITY crit or worse" bash -c \
	"[ -z \"\$(journalctl -q -u csmpd.service -p crit)\" ]"
