# SPDX-License-Identifier: GPL-2.0-only
# Sourced by kmod-build.sh and vmtest.sh: which Debian kernels the module is
# built for and the guests boot. Versions move with security updates, so
# they are discovered, never written down: the newest 6.1 and the newest
# 6.12 that have both an image in /boot and headers.

# csmp_kdir VER: the kernel's build (headers) directory, or nothing.
csmp_kdir() {
	local d
	for d in "/lib/modules/$1/build" "/usr/src/linux-headers-$1"; do
		if [ -f "$d/include/generated/utsrelease.h" ]; then
			echo "$d"
			return 0
		fi
	done
	return 1
}

# csmp_guest_kernels: one version per line, 6.1 first.
csmp_guest_kernels() {
	local pat f v best
	for pat in '/boot/vmlinuz-6.1.0-*-amd64' '/boot/vmlinuz-6.12.*'; do
		best=
		for f in $pat; do
			[ -f "$f" ] || continue
			v=${f#/boot/vmlinuz-}
			csmp_kdir "$v" >/dev/null || continue
			best=$(printf '%s\n%s\n' "$best" "$v" | sed '/^$/d' | sort -V | tail -n1)
		done
		[ -n "$best" ] && echo "$best"
	done
	return 0
}
