#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Build csmp.ko with module BTF for one kernel (KDIR given) or, by default,
# for the running kernel when it has a build directory, else for every
# Debian kernel the test guests boot (scripts/vm/kernels.sh). Output:
# build/kmod/<release>/csmp.ko.
#
# Module BTF needs two things Debian's 6.1 headers lack; 6.12's ship both:
#  - the kernel's ELF vmlinux (split-BTF base). Makefile.modfinal looks for
#    ./vmlinux in the build directory, so when KDIR has none, the module is
#    built against a private overlay of KDIR under build/kmod/<release>/kdir
#    (symlinks to every entry of KDIR plus the vmlinux decompressed from
#    /boot/vmlinuz-<release>). The system headers are never touched.
#  - resolve_btfids, built once from the linux-source-6.1 package into
#    build/kmod/tools/ when KDIR does not provide it.
set -euo pipefail

usage() {
	cat <<'USAGE'
usage: scripts/kmod-build.sh [KDIR...]
Build build/kmod/<release>/csmp.ko (with .BTF and .BTF_ids) for each KDIR,
a kernel build directory. Without KDIR: /lib/modules/$(uname -r)/build if it
exists, else the newest Debian 6.1 and 6.12 kernels installed.
example: scripts/kmod-build.sh /usr/src/linux-headers-$(ls /boot | sed -n 's/^vmlinuz-\(6\.1\..*\)/\1/p' | tail -n1)
USAGE
}

case ${1:-} in -h|--help) usage; exit 0 ;; esac

cd "$(dirname "$0")/.."
top=$PWD
B=${B:-build}
out_top=$top/$B/kmod
. scripts/vm/kernels.sh

log() { printf '  %-8s %s\n' "$1" "$2"; }
die() { echo "kmod-build: $*" >&2; exit 1; }

# sections FILE: its ELF section names, one per line (captured whole: grep
# -q on a pipe would SIGPIPE readelf and fail the pipeline under pipefail).
sections() {
	readelf -SW "$1" 2>/dev/null | sed -n 's/^ *\[ *[0-9]*\] \([^ ]*\).*/\1/p'
}

# has_section FILE NAME
has_section() {
	local all
	all=$(sections "$1")
	grep -qx -- "$2" <<<"$all"
}

# has_btf FILE: an ELF file with a .BTF section.
has_btf() {
	has_section "$1" .BTF
}

# vmlinux_from_vmlinuz VMLINUZ OUT: the bzImage payload is xz; the first
# offset whose stream decompresses to an ELF with .BTF is the kernel.
vmlinux_from_vmlinuz() {
	local z=$1 out=$2 off
	for off in $(LC_ALL=C grep -obUaP '\xfd\x37\x7a\x58\x5a\x00' "$z" | cut -d: -f1); do
		tail -c +$((off + 1)) "$z" | xz -dc >"$out.tmp" 2>/dev/null || true
		if has_btf "$out.tmp"; then
			mv "$out.tmp" "$out"
			return 0
		fi
	done
	rm -f "$out.tmp"
	return 1
}

RESOLVE_BTFIDS_BUILT=$out_top/tools/linux/tools/bpf/resolve_btfids/resolve_btfids
build_resolve_btfids() {
	local tar src=$out_top/tools/linux
	[ -x "$RESOLVE_BTFIDS_BUILT" ] && return 0
	tar=$(ls /usr/src/linux-source-6.1.tar.xz 2>/dev/null) ||
		die "resolve_btfids: linux-source-6.1 missing (run scripts/setup.sh)"
	log TAR "$tar (tools, scripts, include/uapi)"
	rm -rf "$src"
	mkdir -p "$src"
	tar -xJf "$tar" -C "$src" --strip-components=1 \
		linux-source-6.1/tools linux-source-6.1/scripts \
		linux-source-6.1/include/uapi
	log MAKE resolve_btfids
	make -s -C "$src/tools/bpf/resolve_btfids" >"$out_top/tools/resolve_btfids.log" 2>&1 ||
		{ cat "$out_top/tools/resolve_btfids.log" >&2; die "building resolve_btfids failed"; }
	[ -x "$RESOLVE_BTFIDS_BUILT" ] || die "resolve_btfids not produced"
}

# check_ko KO: .BTF and .BTF_ids present, and every id of the kfunc set
# resolved (a set8 is cnt, flags, then cnt (id, flags) pairs).
check_ko() {
	local ko=$1 words cnt i
	has_section "$ko" .BTF || die "$ko: no .BTF section"
	has_section "$ko" .BTF_ids || die "$ko: no .BTF_ids section"
	words=($(objcopy -O binary --only-section=.BTF_ids "$ko" /dev/stdout |
		 od -An -v -tu4))
	cnt=${words[0]:-0}
	[ "$cnt" = 2 ] || die "$ko: kfunc set has $cnt entries, expected 2"
	for i in 0 1; do
		[ "${words[$((2 + 2 * i))]}" != 0 ] ||
			die "$ko: kfunc set entry $i unresolved (resolve_btfids did not run)"
	done
}

build_one() {
	local kdir=$1 rel out kb src f rb=()
	[ -f "$kdir/include/generated/utsrelease.h" ] ||
		die "$kdir: not a kernel build directory (no include/generated/utsrelease.h)"
	kdir=$(cd "$kdir" && pwd)
	# UTS_RELEASE is what uname -r and /boot use (Debian's
	# include/config/kernel.release holds the upstream version).
	rel=$(sed -n 's/^#define UTS_RELEASE "\(.*\)"$/\1/p' \
		"$kdir/include/generated/utsrelease.h")
	out=$out_top/$rel
	mkdir -p "$out"

	kb=$kdir
	if ! has_btf "$kdir/vmlinux"; then
		[ -f "/boot/vmlinuz-$rel" ] || die "$rel: no vmlinux in $kdir and no /boot/vmlinuz-$rel"
		if ! has_btf "$out/vmlinux" || [ "/boot/vmlinuz-$rel" -nt "$out/vmlinux" ]; then
			log VMLINUX "/boot/vmlinuz-$rel -> $B/kmod/$rel/vmlinux"
			vmlinux_from_vmlinuz "/boot/vmlinuz-$rel" "$out/vmlinux" ||
				die "$rel: no xz payload with .BTF in /boot/vmlinuz-$rel"
		fi
		kb=$out/kdir
		rm -rf "$kb"
		mkdir -p "$kb"
		for f in "$kdir"/* "$kdir"/.[!.]*; do
			[ -e "$f" ] && ln -s "$f" "$kb/"
		done
		ln -s ../vmlinux "$kb/vmlinux"
	fi
	if [ ! -x "$kdir/tools/bpf/resolve_btfids/resolve_btfids" ]; then
		build_resolve_btfids
		rb=(RESOLVE_BTFIDS="$RESOLVE_BTFIDS_BUILT")
	fi

	# The source tree Kbuild sees: the repository's layout (Kbuild,
	# kmod/, include/) as symlinks, so objects land in build/ only.
	src=$out/src
	rm -rf "$src"
	mkdir -p "$src/kmod"
	ln -s "$top/Kbuild" "$src/Kbuild"
	ln -s "$top/include" "$src/include"
	for f in "$top"/kmod/Kbuild "$top"/kmod/*.c "$top"/kmod/*.h; do
		ln -s "$f" "$src/kmod/"
	done

	log KMOD "$rel"
	make -C "$kb" M="$src" "${rb[@]}" -j"$(nproc)" modules >"$out/build.log" 2>&1 ||
		{ cat "$out/build.log" >&2; die "$rel: module build failed"; }
	if grep -q 'Skipping BTF generation' "$out/build.log"; then
		cat "$out/build.log" >&2
		die "$rel: Kbuild skipped module BTF"
	fi
	check_ko "$src/kmod/csmp.ko"
	cp "$src/kmod/csmp.ko" "$out/csmp.ko"
	log KO "$B/kmod/$rel/csmp.ko"
}

kdirs=("$@")
if [ ${#kdirs[@]} = 0 ]; then
	if [ -d "/lib/modules/$(uname -r)/build" ]; then
		kdirs=("/lib/modules/$(uname -r)/build")
	else
		for v in $(csmp_guest_kernels); do
			kdirs+=("$(csmp_kdir "$v")")
		done
	fi
	[ ${#kdirs[@]} -gt 0 ] || die "no kernel build directory found (run scripts/setup.sh)"
fi
for k in "${kdirs[@]}"; do
	build_one "$k"
done
