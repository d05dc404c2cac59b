#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# `dpkg-buildpackage -us -uc -b` (scripts/deb-build.sh, from a copy of the
# tree) builds csmpd, csmpd-tools and csmp-dkms; lintian finds no error;
# each package holds what it should and nothing of the others'.
. "$(dirname "$0")/../lib.sh"
require_cmd dpkg-buildpackage lintian dh
D=$CSMP_BUILD/deb

if bash "$CSMP_TOP/scripts/deb-build.sh" >"$CSMP_BUILD/deb-test.log" 2>&1; then
	ok "dpkg-buildpackage -us -uc -b and lintian without errors"
else
	sed 's/^/# /' "$CSMP_BUILD/deb-test.log" | tail -n 40
	not_ok "dpkg-buildpackage -us -uc -b and lintian without errors"
	tap_done
fi
grep '^[EW]:' "$D/lintian.log" | sed 's/^/# lintian: /'
ver=$(cd "$CSMP_TOP" && dpkg-parsechangelog -S Version)
# VERSION owns the version; debian/changelog must carry the same one.
check "debian/changelog's upstream version is VERSION's ($(cat "$CSMP_TOP/VERSION"))" \
	test "${ver%-*}" = "$(cat "$CSMP_TOP/VERSION")"
files() { dpkg-deb -c "$D/$1" | awk '{print $6}' | sed 's|^\./|/|'; }
main=$(files "csmpd_${ver}_amd64.deb")
tools=$(files "csmpd-tools_${ver}_amd64.deb")
dkms=$(files "csmp-dkms_${ver}_all.deb")

has() { # LIST PATH...
	local l=$1 f; shift
	for f; do grep -qx -- "$f" <<<"$l" || { diag "missing $f"; return 1; }; done
}
check "csmpd: daemon in /usr/sbin, admin tools in /usr/bin" has "$main" \
	/usr/sbin/csmpd /usr/bin/csmpctl /usr/bin/csmp-request /usr/bin/csmpdump
check "csmpd: units, sysusers, logrotate, config" has "$main" \
	/lib/systemd/system/csmpd.service /lib/systemd/system/csmp-lb@.service \
	/usr/lib/sysusers.d/csmpd.conf /etc/logrotate.d/csmpd /etc/csmpd/csmpd.conf
check "csmpd: BPF objects" has "$main" /usr/lib/csmpd/csmp_lb.bpf.o /usr/lib/csmpd/csmp_reuseport.bpf.o
check "csmpd: manual pages" has "$main" /usr/share/man/man8/csmpd.8.gz \
	/usr/share/man/man5/csmpd.conf.5.gz /usr/share/man/man8/csmpctl.8.gz
check "csmpd has no load tool" test -z "$(grep -E 'bin/csmp-(sim|blast|loadgen|cryptobench)$' <<<"$main")"
check "csmpd-tools: the four tools and their pages" has "$tools" /usr/bin/csmp-sim \
	/usr/bin/csmp-blast /usr/bin/csmp-loadgen /usr/bin/csmp-cryptobench \
	/usr/share/man/man1/csmp-sim.1.gz
up=${ver%-*}
check "csmp-dkms: module sources under /usr/src/csmp-$up" has "$dkms" \
	"/usr/src/csmp-$up/dkms.conf" "/usr/src/csmp-$up/Kbuild" "/usr/src/csmp-$up/scripts/kmod-build.sh"
conf=$(dpkg-deb --fsys-tarfile "$D/csmp-dkms_${ver}_all.deb" | tar -xO "./usr/src/csmp-$up/dkms.conf")
check "csmp-dkms: dkms.conf carries the package version, not git's" \
	grep -qx "PACKAGE_VERSION=\"$up\"" <<<"$conf"
check "csmp-dkms depends on dkms" bash -c "dpkg-deb -f '$D/csmp-dkms_${ver}_all.deb' Depends | grep -qw dkms"
check "csmpd's postinst makes the user before debhelper starts the unit" bash -c \
	"dpkg-deb --ctrl-tarfile '$D/csmpd_${ver}_amd64.deb' | tar -xO ./postinst | awk '/systemd-sysusers/{u=NR} /deb-systemd-invoke/{s=NR} END{exit !(u && s && u < s)}'"
tap_done
