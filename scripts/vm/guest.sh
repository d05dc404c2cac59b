#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# The vm suite inside a guest (busybox sh). Prints TAP "ok - name" lines;
# the host numbers them. After every test the kernel log is scanned for
# BUG/WARNING/Oops/KASAN/leak reports, and each scan is a test of its own.
#   guest.sh test    the whole suite
#   guest.sh bench   csmp_lb timing for scripts/bench/vm.sh
C=/csmp
T=$C/csmp_vmtest
KO=$C/csmp.ko
OBJS=$(ls $C/bpf/*.bpf.o 2>/dev/null)
REL=$(uname -r)

ok() { echo "ok - $*"; }
not_ok() { echo "not ok - $*"; }
check() { n=$1; shift; if "$@"; then ok "$n"; else not_ok "$n"; fi; }

klog_mark=0
klog_begin() { klog_mark=$(dmesg | wc -l); }
klog_check() {
	bad=$(dmesg | tail -n +$((klog_mark + 1)) |
	      grep -E 'BUG|WARNING|Oops|KASAN|kmemleak|general protection|Call Trace|refcount_t|list_(add|del) corruption')
	if [ -n "$bad" ]; then
		echo "$bad" | sed 's/^/# /'
		not_ok "kernel log clean after $1"
	else
		ok "kernel log clean after $1"
	fi
}

loaded() { grep -q '^csmp ' /proc/modules; }
not_loaded() { ! loaded; }

t_objects_without_module() {
	if [ -z "$OBJS" ]; then
		echo "# no project BPF objects (build/bpf/*.bpf.o) in this initramfs"
		return
	fi
	$T verify 0 accept $OBJS
	$T verify 1 reject-if-flagged $OBJS
}

t_insmod_cycles() {
	i=0
	good=1
	while [ $i -lt 5 ]; do
		insmod $KO || good=0
		[ -e /sys/kernel/btf/csmp ] || good=0
		[ -e /sys/module/csmp/parameters/hash_key ] || good=0
		rmmod csmp || good=0
		not_loaded || good=0
		i=$((i + 1))
	done
	check "insmod/rmmod csmp.ko 5 times, module BTF and hash_key present while loaded" [ $good = 1 ]

	# The same module stripped of .BTF must refuse to load, loudly.
	m=$(dmesg | wc -l)
	if insmod $C/csmp-nobtf.ko 2>/dev/null; then
		rmmod csmp
		not_ok "csmp.ko without .BTF refuses to load"
	else
		dmesg | tail -n +$((m + 1)) | grep -q 'csmp.ko has no .BTF section' &&
			not_loaded
		check "csmp.ko without .BTF refuses to load and says why" [ $? = 0 ]
	fi
	# ...and so must one whose BTF was made for another kernel.
	if [ ! -f $C/csmp-wrongbtf.ko ]; then
		echo "ok - csmp.ko with another kernel's BTF refuses to load # SKIP no other kernel's vmlinux on the build host"
	else
		m=$(dmesg | wc -l)
		if insmod $C/csmp-wrongbtf.ko 2>/dev/null; then
			rmmod csmp
			not_ok "csmp.ko with another kernel's BTF refuses to load"
		else
			dmesg | tail -n +$((m + 1)) | grep -q "the kernel rejected csmp.ko's BTF" &&
				not_loaded
			check "csmp.ko with another kernel's BTF refuses to load and says why" [ $? = 0 ]
		fi
	fi
	insmod $KO hash_key=ffeeddccbbaa99887766554433221100
	check "insmod with hash_key=... parameter" loaded
	rmmod csmp
}

t_kfuncs() {
	insmod $KO
	check "csmp.ko loads for the kfunc tests" loaded
	dmesg | grep -E "csmp: kfuncs not offered" | tail -n1 | sed "s/^/# /"
	$T kfunc $C/kfunc_test.bpf.o $C/corpus.bin 2000
}

t_objects_with_module() {
	[ -n "$OBJS" ] || return
	$T verify 0 accept $OBJS
	$T verify 1 accept $OBJS
	$T diff $C/corpus.bin $OBJS
}

# The bpf suite's binaries (csmp_lb fixture tables: verdicts, counters
# and exact output bytes) with use_kfuncs=$1. Run without the module at 0
# and with it at 1, the same expected tables hold on both paths.
t_bpf_suite() {
	for t in $C/host/*; do
		[ -x "$t" ] || continue
		name=${t##*/}
		# With kfuncs, only the tests that can use them run again.
		[ "$1" = 0 ] || grep -qx "$name" $C/kfunc-tests || continue
		CSMP_TOP=$C/top CSMP_TEST_USE_KFUNCS=$1 PATH=/usr/sbin:/bin \
			ASAN_OPTIONS=detect_leaks=1 timeout 200 $t 2>&1 |
			sed -e "s/^ok [0-9]* \(.*\)/ok - $name use_kfuncs=$1: \1/" \
			    -e "s/^not ok [0-9]* \(.*\)/not ok - $name use_kfuncs=$1: \1/" \
			    -e '/^#  *\(RUN\|OK\) /d' -e '/^\(not \)\{0,1\}ok - /b' \
			    -e '/^#/b' -e 's/^/# /'
	done
}
t_bpf_suite_without_module() { not_loaded || rmmod csmp; t_bpf_suite 0; }
t_bpf_suite_with_module() { loaded || insmod $KO; t_bpf_suite 1; }

t_net_modules() {
	insmod /lib/modules/$REL/veth.ko
	insmod /lib/modules/$REL/pktgen.ko
	check "veth and pktgen modules load" [ -e /proc/net/pktgen/pgctrl ] &&
		grep -q '^veth ' /proc/modules
}

t_pktgen() {
	ip link add csa type veth peer name csb
	# busybox ip ignores the peer name: the peer is the other new link.
	rx=csa
	tx=$(ls /sys/class/net | grep -v -e '^lo$' -e '^csa$' | head -n1)
	ip link set $tx up
	ip link set $rx up
	ip addr add 10.99.0.2/24 dev $rx
	ip addr add 10.99.0.1/24 dev $tx
	mac=$(cat /sys/class/net/$rx/address)
	$T pktgen $C/kfunc_test.bpf.o $tx $rx $mac 2000
	ip link del $rx
}

t_rmmod_final() {
	rmmod csmp
	check "rmmod csmp after every program is gone" not_loaded
}

run() { # name function
	klog_begin
	echo "# -- $1"
	$2
	klog_check "$1"
}

case ${1:-test} in
test)
	echo "# kernel $REL, $(ls $C/bpf 2>/dev/null | wc -l) project BPF objects"
	run "veth and pktgen" t_net_modules
	run "project objects without the module" t_objects_without_module
	run "insmod/rmmod cycles" t_insmod_cycles
	run "kfuncs equal the C library" t_kfuncs
	run "project objects with the module" t_objects_with_module
	run "bpf suite with kfuncs" t_bpf_suite_with_module
	rmmod csmp
	run "bpf suite without the module" t_bpf_suite_without_module
	insmod $KO
	run "XDP on veth with pktgen" t_pktgen
	run "final rmmod" t_rmmod_final
	;;
bench)
	echo "# kernel $REL"
	insmod /lib/modules/$REL/veth.ko
	insmod $KO
	check "csmp.ko loads for the bench" loaded
	CSMP_TOP=$C/top PATH=/usr/sbin:/bin $C/csmp_vmbench ${CSMP_BENCH_ROUNDS:-1000}
	;;
esac
