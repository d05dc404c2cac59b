#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Boot Debian's 6.1 and 6.12 kernels in qemu (software emulation is enough)
# with a small initramfs: busybox-static, the static test binary
# (selftests/vm/csmp_vmtest.c), csmp.ko built for that kernel, the
# project's BPF objects (build/bpf/*.bpf.o), the fixture corpus, and the
# veth and pktgen modules from the host's /lib/modules/<release>. The guest
# runs scripts/vm/guest.sh and writes TAP to its second serial port; this
# script numbers the lines, prefixes the kernel release and fails when the
# guest did not finish. Guest console logs: build/vm/<release>/console.log.
set -uo pipefail

usage() {
	cat <<'USAGE'
usage: scripts/vmtest.sh [--kernel PREFIX]... [--mode test|bench] [--timeout SEC]
  --kernel PREFIX  only kernels whose release starts with PREFIX (6.1, 6.12)
  --mode bench     run the csmp_lb timing instead of the tests (scripts/bench/vm.sh)
Prints TAP. Needs root-free qemu-system-x86_64, busybox-static and the Debian
kernels installed by scripts/setup.sh.
example: scripts/vmtest.sh --kernel 6.1
USAGE
}

cd "$(dirname "$0")/.." || exit 1
top=$PWD
B=${B:-build}
. scripts/vm/kernels.sh

prefixes=()
mode=test
tmo=${CSMP_VM_TIMEOUT:-420}
while [ $# -gt 0 ]; do
	case $1 in
	--kernel) prefixes+=("$2"); shift 2 ;;
	--mode) mode=$2; shift 2 ;;
	--timeout) tmo=$2; shift 2 ;;
	-h|--help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done

n=0 fail=0
emit() { # pass|fail name
	n=$((n + 1))
	if [ "$1" = pass ]; then
		echo "ok $n $2"
	else
		fail=1
		echo "not ok $n $2"
	fi
}

skip_all() { echo "# SKIP $*"; exit 4; }
for c in qemu-system-x86_64 busybox cpio gzip xz ip ldd dash pahole objcopy; do
	command -v $c >/dev/null || skip_all "needs $c (scripts/setup.sh)"
done
busybox_bin=$(command -v busybox)
[[ $(file -L "$busybox_bin" 2>/dev/null) == *"statically linked"* ]] ||
	skip_all "busybox is not static (install busybox-static)"

kernels=()
for v in $(csmp_guest_kernels); do
	if [ ${#prefixes[@]} = 0 ]; then
		kernels+=("$v")
		continue
	fi
	for p in "${prefixes[@]}"; do
		case $v in "$p".*|"$p"-*) kernels+=("$v") ;; esac
	done
done
[ ${#kernels[@]} -gt 0 ] || skip_all "no Debian kernel matching ${prefixes[*]:-6.1/6.12} with headers in /boot"

# Build what the guests need. Failures here are test failures, not skips.
build_log=$top/$B/vm/build.log
mkdir -p "$top/$B/vm"
kdirs=()
for v in "${kernels[@]}"; do kdirs+=("$(csmp_kdir "$v")"); done
if ! { make -s all tests && make -s vmtest-deps && bash scripts/kmod-build.sh "${kdirs[@]}"; } >"$build_log" 2>&1; then
	sed 's/^/# /' "$build_log" | tail -n 40
	emit fail "vm: build module, BPF objects and guest programs"
	exit 1
fi

# ship_elf FILE ROOT DEST: a dynamically linked host program and its
# shared libraries (the guests run the bpf suite's ASan binaries and
# iproute2's ip, which its tests call; busybox ip cannot name a veth peer).
ship_elf() {
	local f=$1 root=$2 dest=$3 lib
	mkdir -p "$root$(dirname "$dest")"
	cp -L "$f" "$root$dest"
	for lib in $(ldd "$f" | sed -n 's/.*=> \(\/[^ ]*\).*/\1/p; s/^[[:space:]]*\(\/[^ ]*\) (.*/\1/p'); do
		[ -e "$root$lib" ] && continue
		mkdir -p "$root$(dirname "$lib")"
		cp -L "$lib" "$root$lib"
	done
}

# wrong_btf REL OUT: csmp.ko for REL whose .BTF is re-encoded against
# another Debian kernel's vmlinux, as a module built for the wrong kernel
# would carry. Debian allows loading such a module (minus its BTF): the
# module must notice and refuse. Nothing is written when no other
# kernel's vmlinux is at hand.
wrong_btf() {
	local rel=$1 out=$2 v base=
	for v in $(csmp_guest_kernels); do
		[ "$v" = "$rel" ] && continue
		for base in "$B/kmod/$v/vmlinux" "$(csmp_kdir "$v")/vmlinux"; do
			[ -f "$base" ] && break
			base=
		done
		[ -n "$base" ] && break
	done
	[ -n "$base" ] || return 0
	objcopy --remove-section=.BTF "$B/kmod/$rel/csmp.ko" "$out"
	LLVM_OBJCOPY=objcopy pahole -J --btf_base "$base" "$out" || rm -f "$out"
}

# stage_initrd REL DIR: the initramfs tree and its gzip'd cpio.
stage_initrd() {
	local rel=$1 d=$2 root=$2/root m f
	rm -rf "$root"
	mkdir -p "$root"/{bin,dev,proc,sys,tmp,csmp/bpf,lib/modules/"$rel"}
	cp "$busybox_bin" "$root/bin/busybox"
	# /bin/sh is dash: busybox sh runs its own applets before PATH, and
	# the bpf suite's tests need iproute2's ip through system().
	ship_elf "$(command -v dash)" "$root" /bin/sh
	install -m 0755 scripts/vm/init "$root/init"
	cp scripts/vm/guest.sh "$B/vm/csmp_vmtest" "$B/vm/kfunc_test.bpf.o" \
		"$B/vm/corpus.bin" "$root/csmp/"
	cp "$B/kmod/$rel/csmp.ko" "$root/csmp/csmp.ko"
	objcopy --remove-section=.BTF "$B/kmod/$rel/csmp.ko" "$root/csmp/csmp-nobtf.ko"
	wrong_btf "$rel" "$root/csmp/csmp-wrongbtf.ko"
	for f in "$B"/bpf/*.bpf.o; do
		[ -f "$f" ] && cp "$f" "$root/csmp/bpf/"
	done
	# The bpf suite's test binaries (csmp_lb fixture tables and more),
	# run in the guest without and with the kfunc path, and what they
	# read: iproute2's ip, the fixture pcaps at $CSMP_TOP/../shared.
	if [ "$mode" = test ]; then
		: >"$root/csmp/kfunc-tests"
		for f in "$B"/selftests/bpf/*; do
			[ -f "$f" ] && [ -x "$f" ] || continue
			ship_elf "$f" "$root" "/csmp/host/$(basename "$f")"
			# Worth a second run with the module only if it can
			# switch to the kfunc path (test_csmp_lb.c).
			if grep -q CSMP_TEST_USE_KFUNCS "$f"; then
				basename "$f" >>"$root/csmp/kfunc-tests"
			fi
		done
	fi
	cp "$B/vm/csmp_vmbench" "$root/csmp/"
	ship_elf "$(command -v ip)" "$root" /usr/sbin/ip
	mkdir -p "$root/csmp/top" "$root/csmp/shared/fixtures"
	cp ../shared/fixtures/*.pcap "$root/csmp/shared/fixtures/" 2>/dev/null
	for m in drivers/net/veth net/core/pktgen; do
		f=/lib/modules/$rel/kernel/$m.ko
		if [ -f "$f" ]; then
			cp "$f" "$root/lib/modules/$rel/"
		elif [ -f "$f.xz" ]; then
			xz -dc "$f.xz" >"$root/lib/modules/$rel/$(basename "$m").ko"
		fi
	done
	(cd "$root" && find . | cpio -o -H newc --quiet) | gzip -1 >"$d/initrd.gz"
}

boot() { # REL DIR
	local rel=$1 d=$2 accel=tcg
	# KVM when the host has it (not on the reference machine: no VMX).
	[ -w /dev/kvm ] && grep -qE 'vmx|svm' /proc/cpuinfo && accel=kvm:tcg
	: >"$d/console.log"
	: >"$d/tap.log"
	timeout --kill-after=5 "$tmo" qemu-system-x86_64 \
		-machine q35,accel=$accel -cpu max -smp 2 -m 2048 \
		-display none -monitor none -no-reboot \
		-serial file:"$d/console.log" -serial file:"$d/tap.log" \
		-kernel "/boot/vmlinuz-$rel" -initrd "$d/initrd.gz" \
		-append "console=ttyS0 panic=-1 loglevel=4 csmpvm_mode=$mode csmpvm_rounds=${CSMP_BENCH_ROUNDS:-1000}" \
		</dev/null >"$d/qemu.log" 2>&1
}

# The guests boot side by side: most of their tests keep one vCPU busy,
# so two guests on two host cores take little longer than one.
pids=()
start=$(date +%s)
for rel in "${kernels[@]}"; do
	d=$top/$B/vm/$rel
	mkdir -p "$d"
	stage_initrd "$rel" "$d"
	{ boot "$rel" "$d"; echo $? >"$d/rc"; } &
	pids+=($!)
done
wait "${pids[@]}"

for rel in "${kernels[@]}"; do
	d=$top/$B/vm/$rel
	rc=$(cat "$d/rc")
	secs=$(($(date +%s) - start))
	echo "# $rel: guest finished within ${secs}s (console: $B/vm/$rel/console.log)"
	tr -d '\r' <"$d/tap.log" | while IFS= read -r line; do
		if [[ $line =~ ^(not\ )?ok\ (-\ |[0-9]+\ )?(.*)$ ]]; then
			[ -n "${BASH_REMATCH[1]}" ] && echo "not ok - $rel: ${BASH_REMATCH[3]}" ||
				echo "ok - $rel: ${BASH_REMATCH[3]}"
		elif [[ $line == \#* ]]; then
			echo "$line"
		else
			echo "# $line"
		fi
	done >"$d/tap.renum"
	while IFS= read -r line; do
		case $line in
		"ok - "*) emit pass "${line#ok - }" ;;
		"not ok - "*) emit fail "${line#not ok - }" ;;
		*) echo "$line" ;;
		esac
	done <"$d/tap.renum"
	if [ $rc = 124 ] || [ $rc = 137 ]; then
		emit fail "$rel: guest finished within ${tmo}s"
	elif ! grep -q '^# guest done' "$d/tap.log"; then
		grep -E 'Kernel panic|BUG|Oops' "$d/console.log" | head -n 20 | sed 's/^/# /'
		emit fail "$rel: guest ran the suite to its end (qemu exit $rc)"
	fi
done
exit $fail
