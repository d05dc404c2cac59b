#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Installs every Debian package csmpd needs to build, test and benchmark, and
# nothing by hand. Idempotent: a second run on a set-up machine only checks.
# Run as root it installs; run as a user it prints the one command to run.
set -euo pipefail

# Packages for the build, the tests and the benchmarks.
PKGS=(
	build-essential make pkg-config git clang llvm lld
	libbpf-dev bpftool libelf-dev zlib1g-dev
	liburing-dev protobuf-c-compiler libprotobuf-c-dev
	libsodium-dev libssl-dev openssl libsqlite3-dev sqlite3 libpcap-dev
	libclang-rt-14-dev
	iproute2 ethtool netsniff-ng jq tcpdump kmod curl
	qemu-system-x86 busybox-static cpio xz-utils
	dwarves linux-source-6.1 bc flex bison libcap-dev libjansson-dev
	dkms linux-perf
	# for the PostgreSQL registry backend (libpq) and its test servers
	postgresql-15 libpq-dev
	# for packaging: debian/, man pages, journald/sd_notify, the install test, promtool
	debhelper dh-dkms lintian scdoc libsystemd-dev mmdebstrap prometheus fakeroot dpkg-dev
	# for selftests/net/cli_help.sh: --help must make no syscall that touches anything
	strace
	# for csmpd's configuration file (userspace/csmpd/conf/): the INI syntax
	libinih-dev
)

# The qemu test guests boot Debian's 6.1 kernel (the amd64 metapackage) and
# the newest 6.12 backport for which both image and headers are offered.
kernel_pkgs() {
	echo linux-image-amd64 linux-headers-amd64
	local v
	v=$(apt-cache search --names-only '^linux-headers-6\.12\.[0-9]+\+deb12-amd64$' 2>/dev/null |
		awk '{print $1}' | sed 's/^linux-headers-//' | sort -V | while read -r k; do
			apt-cache show "linux-image-$k" >/dev/null 2>&1 && echo "$k"
		done | tail -n 1)
	[ -n "$v" ] && echo "linux-image-$v linux-headers-$v"
	return 0
}

missing() {
	local p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || echo "$p"
	done
}

need=$(missing "${PKGS[@]}")
# A 6.12 image already installed satisfies the guest need without apt look-ups.
if ! ls /boot/vmlinuz-6.12.*+deb12-amd64 >/dev/null 2>&1 ||
   ! ls -d /usr/src/linux-headers-6.12.*+deb12-amd64 >/dev/null 2>&1 ||
   ! ls /boot/vmlinuz-6.1.0-*-amd64 >/dev/null 2>&1; then
	if [ "$(id -u)" = 0 ] && [ -z "${CSMP_SETUP_NOUPDATE:-}" ]; then
		apt-get update -qq || true
	fi
	# shellcheck disable=SC2046
	need="$need $(missing $(kernel_pkgs))"
fi
need=$(echo $need)

if [ -z "$need" ]; then
	[ -n "${CSMP_SETUP_QUIET:-}" ] || echo "setup: all packages present"
	exit 0
fi

if [ "$(id -u)" != 0 ]; then
	echo "setup: missing packages; run as root:"
	echo "  sudo apt-get install -y --no-install-recommends $need"
	exit 1
fi

echo "setup: installing $need"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# The kernel images pull in initramfs-tools hooks that are slow and useless for
# a qemu guest we boot with our own initramfs; skip them.
apt-get install -y -qq --no-install-recommends $need >/tmp/csmp-setup.log 2>&1 || {
	tail -n 40 /tmp/csmp-setup.log
	exit 1
}
echo "setup: done"
