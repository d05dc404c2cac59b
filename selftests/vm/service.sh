#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The packaged service, installed for real: a qemu guest boots Debian's 6.1
# kernel with systemd as PID 1 on a Debian 12 root file system made by
# mmdebstrap, installs the csmpd and csmpd-tools packages that
# scripts/deb-build.sh built, and scripts/vm/service-guest.sh checks the
# service there (start, a simulated fleet, reload, a refused reload,
# logrotate, restart, the watchdog, the journal's fields, file modes,
# systemd-analyze verify). It writes TAP to the guest's second serial port;
# this script prints it.
#
# The root file system is cached as an ext4 image under
# build/vm-service/, keyed by the package list (the packages' own
# dependencies plus what the test uses), and booted with snapshot=on so
# the cache stays clean. The first run downloads about 60 MB from Debian's
# mirror; later runs only build the packages and boot (a few minutes under
# software emulation).
. "$(dirname "$0")/../lib.sh"
cd "$CSMP_TOP" || exit 1
require_cmd qemu-system-x86_64 mmdebstrap mkfs.ext4 busybox cpio modinfo dpkg-deb
. scripts/vm/kernels.sh
W=$CSMP_BUILD/vm-service
mkdir -p "$W"
tmo=${CSMP_VM_SERVICE_TIMEOUT:-600}

rel=$(csmp_guest_kernels | grep '^6\.1\.' | head -n1)
[ -n "$rel" ] && [ -d "/lib/modules/$rel" ] ||
	{ echo "# SKIP no Debian 6.1 kernel with modules in /boot and /lib/modules (scripts/setup.sh)"; exit "$KSFT_SKIP"; }
busybox_bin=$(command -v busybox)
[[ $(file -L "$busybox_bin" 2>/dev/null) == *"statically linked"* ]] ||
	{ echo "# SKIP busybox is not static (busybox-static)"; exit "$KSFT_SKIP"; }

# 1. The packages, as an operator gets them (CSMP_DEB_PREBUILT=1: those
# already in build/deb/, when iterating on the guest side).
if [ -z "${CSMP_DEB_PREBUILT:-}" ] && ! bash scripts/deb-build.sh --no-lintian >"$W/deb.log" 2>&1; then
	tail -n 30 "$W/deb.log" | sed 's/^/# /'
	not_ok "dpkg-buildpackage built the packages"
	tap_done
fi
ver=$(dpkg-parsechangelog -S Version)
debs=("$CSMP_BUILD/deb/csmpd_${ver}_amd64.deb" "$CSMP_BUILD/deb/csmpd-tools_${ver}_amd64.deb")
ok "dpkg-buildpackage built the packages"

# 2. The root file system: the packages' dependencies (first of each
# alternative, versions dropped) and the test's tools, installed once.
pkgs=$(for d in "${debs[@]}"; do dpkg-deb -f "$d" Depends | tr ',' '\n'; done |
	sed 's/|.*//; s/(.*)//; s/[[:space:]]//g' | sed '/^$/d'
	printf '%s\n' systemd systemd-sysv dbus logrotate procps iproute2 openssl man-db)
pkgs=$(sort -u <<<"$pkgs" | tr '\n' ' ')
# No recommends, no docs or translations, nothing but what the list says.
# Man pages stay: systemd-analyze verify checks Documentation=.
mmopts=(--variant=minbase --dpkgopt='path-exclude=/usr/share/doc/*'
	--dpkgopt='path-exclude=/usr/share/locale/*')
key=$(printf 'bookworm %s %s' "${mmopts[*]}" "$pkgs" | sha256sum | cut -c1-16)
img=$W/rootfs-$key.ext4
if [ ! -f "$img" ]; then
	diag "mmdebstrap bookworm: $pkgs"
	rm -rf "$W/rootfs.tmp" "$img.tmp"
	if ! mmdebstrap "${mmopts[@]}" --include="${pkgs// /,}" \
		--customize-hook='echo csmp-guest >"$1/etc/hostname"' \
		--customize-hook='rm -f "$1"/etc/machine-id; : >"$1"/etc/machine-id' \
		bookworm "$W/rootfs.tmp" >"$W/mmdebstrap.log" 2>&1; then
		tail -n 30 "$W/mmdebstrap.log" | sed 's/^/# /'
		rm -rf "$W/rootfs.tmp"
		not_ok "mmdebstrap made the Debian 12 root file system"
		tap_done
	fi
	mb=$(( $(du -sm "$W/rootfs.tmp" | cut -f1) * 3 / 2 + 256 ))
	truncate -s "${mb}M" "$img.tmp"
	if ! mkfs.ext4 -q -L csmp-root -d "$W/rootfs.tmp" "$img.tmp" >>"$W/mmdebstrap.log" 2>&1; then
		tail -n 10 "$W/mmdebstrap.log" | sed 's/^/# /'
		not_ok "ext4 image of the root file system"
		rm -rf "$W/rootfs.tmp" "$img.tmp"
		tap_done
	fi
	rm -rf "$W/rootfs.tmp"
	# Images of other package lists are stale: keep only this one.
	find "$W" -maxdepth 1 -name 'rootfs-*.ext4' ! -name "${img##*/}" -delete
	mv "$img.tmp" "$img"
fi
ok "Debian 12 root file system (mmdebstrap, cached as ${img#"$CSMP_TOP"/})"

# 3. The initramfs: busybox, the modules that mount the root disk, and
# what the guest test installs; /init copies the latter into the root
# file system and hands over to systemd.
mods() { # MODULE...: the modules with their dependencies, dependencies first
	local m d
	for m; do
		for d in $(modinfo -k "$rel" -F depends "$m" 2>/dev/null | tr ',' ' '); do
			mods "$d"
		done
		modinfo -k "$rel" -n "$m" 2>/dev/null
	done
}
ir=$W/initrd
rm -rf "$ir"
mkdir -p "$ir"/{bin,dev,proc,sys,newroot,mods,csmp}
cp "$busybox_bin" "$ir/bin/busybox"
: >"$ir/mods/order"
# ext4 needs a crc32c implementation, a soft dependency modinfo does not list.
for f in $(mods virtio_pci virtio_blk crc32c_generic ext4 | awk '!seen[$0]++'); do
	b=$(basename "$f")
	case $f in
	*.xz) xz -dc "$f" >"$ir/mods/${b%.xz}"; b=${b%.xz} ;;
	*.zst) zstd -qdc "$f" >"$ir/mods/${b%.zst}"; b=${b%.zst} ;;
	*) cp "$f" "$ir/mods/$b" ;;
	esac
	echo "$b" >>"$ir/mods/order"
done
cp "${debs[@]}" "$ir/csmp/"
cp scripts/vm/service-guest.sh "$ir/csmp/guest.sh"
cat >"$ir/csmp/csmp-vmtest.service" <<'UNIT'
[Unit]
Description=csmpd packaged-service test
After=multi-user.target
[Service]
Type=oneshot
ExecStart=/bin/bash /csmp/guest.sh
StandardOutput=journal+console
UNIT
cat >"$ir/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in $(cat /mods/order); do insmod "/mods/$m" 2>/dev/null; done
i=0
while [ ! -b /dev/vda ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
mount -t ext4 -o rw /dev/vda /newroot || { echo "init: cannot mount /dev/vda"; poweroff -f; }
mkdir -p /newroot/csmp
cp /csmp/* /newroot/csmp/
cp /csmp/csmp-vmtest.service /newroot/etc/systemd/system/
mkdir -p /newroot/etc/systemd/system/multi-user.target.wants
ln -sf ../csmp-vmtest.service /newroot/etc/systemd/system/multi-user.target.wants/csmp-vmtest.service
# The serial console stays the kernel's and the test's.
ln -sf /dev/null /newroot/etc/systemd/system/serial-getty@ttyS0.service
umount /proc /sys
mount --move /dev /newroot/dev
exec switch_root /newroot /lib/systemd/systemd
INIT
chmod 0755 "$ir/init"
(cd "$ir" && find . | cpio -o -H newc --quiet) | gzip -1 >"$W/initrd.gz"

# 4. Boot. KVM when the host has it; software emulation otherwise.
accel=tcg
[ -w /dev/kvm ] && grep -qE 'vmx|svm' /proc/cpuinfo && accel=kvm:tcg
: >"$W/console.log"
: >"$W/tap.log"
start=$(date +%s)
timeout --kill-after=5 "$tmo" qemu-system-x86_64 \
	-machine q35,accel=$accel -cpu max -smp 2 -m 1536 \
	-display none -monitor none -no-reboot -nic none \
	-drive file="$img",format=raw,if=virtio,snapshot=on \
	-serial file:"$W/console.log" -serial file:"$W/tap.log" \
	-kernel "/boot/vmlinuz-$rel" -initrd "$W/initrd.gz" \
	-append "console=ttyS0 panic=-1 loglevel=4 systemd.show_status=0 systemd.unit=multi-user.target" \
	</dev/null >"$W/qemu.log" 2>&1
rc=$?
diag "guest ($rel) finished in $(($(date +%s) - start))s (console: ${W#"$CSMP_TOP"/}/console.log)"

tr -d '\r' <"$W/tap.log" | while IFS= read -r line; do
	if [[ $line =~ ^(not\ )?ok\ [0-9]+\ (.*)$ ]]; then
		[ -n "${BASH_REMATCH[1]}" ] && echo "not ok - guest: ${BASH_REMATCH[2]}" ||
			echo "ok - guest: ${BASH_REMATCH[2]}"
	else
		echo "# $line"
	fi
done >"$W/tap.renum"
while IFS= read -r line; do
	case $line in
	"ok - "*) ok "${line#ok - }" ;;
	"not ok - "*) not_ok "${line#not ok - }" ;;
	*) echo "$line" ;;
	esac
done <"$W/tap.renum"
if [ $rc = 124 ] || [ $rc = 137 ]; then
	not_ok "guest finished within ${tmo}s"
elif ! grep -q '^# guest done' "$W/tap.log"; then
	grep -E 'Kernel panic|BUG|Oops|init:' "$W/console.log" | head -n 20 | sed 's/^/# /'
	not_ok "guest ran the service test to its end (qemu exit $rc)"
fi
tap_done
