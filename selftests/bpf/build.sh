#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# How the BPF objects are built and installed.
# 1-2. They find the system headers clang searches, whatever the build host
# is called: bpf/build.mk once added -I/usr/include/$(uname
# -m)-linux-gnu, which holds only on a Debian host whose machine name is
# the multiarch tuple's (not when cross-building, nor on a distribution
# without multiarch directories). Here `uname -m` names another machine;
# the object must build all the same, with the same flags clang reports.
# 3. `make install` installs the steering programs and none of the
# programs only tests and benches load (selftests/bpf/progs/).
set -u
cd "${CSMP_TOP:-$(dirname "$0")/../..}" || exit 1
echo "TAP version 13"
echo "1..3"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/bin"
real_uname=$(command -v uname)
cat >"$tmp/bin/uname" <<EOS
#!/bin/sh
[ "\$1" = -m ] && { echo riscv64; exit 0; }
exec $real_uname "\$@"
EOS
chmod +x "$tmp/bin/uname"

flags=$(PATH=$tmp/bin:$PATH make -s --no-print-directory -pn B="$tmp/b" ARCH=x86 2>/dev/null |
	sed -n 's/^BPF_CFLAGS := //p')
dirs=$(clang -v -E - </dev/null 2>&1 |
	sed -n '/<\.\.\.> search starts here:/,/End of search list\./s|^ \(/.*\)|\1|p')
ok=1
for d in $dirs; do
	[[ " $flags " == *" $d "* ]] || { echo "# clang's $d missing from: $flags"; ok=0; }
done
[[ $flags == *riscv64-linux-gnu* ]] && { echo "# a path from uname -m: $flags"; ok=0; }
[ $ok = 1 ] && echo "ok 1 BPF_CFLAGS hold clang's system include directories" ||
	echo "not ok 1 BPF_CFLAGS hold clang's system include directories"

if PATH=$tmp/bin:$PATH make -s --no-print-directory B="$tmp/b" ARCH=x86 \
	"$tmp/b/bpf/csmp_srcfix.bpf.o" >"$tmp/log" 2>&1; then
	echo "ok 2 csmp_srcfix builds while uname -m says riscv64"
else
	sed 's/^/# /' "$tmp/log" | tail -n 5
	echo "not ok 2 csmp_srcfix builds while uname -m says riscv64"
fi

inst=$(make -s --no-print-directory -n install DESTDIR="$tmp/root" 2>&1)
if [[ $inst == *csmp_lb.bpf.o* ]] && [[ $inst != *csmp_floor* ]]; then
	echo "ok 3 make install takes csmp_lb.bpf.o and no test program"
else
	echo "$inst" | grep -E 'bpf\.o|floor' | sed 's/^/# /'
	echo "not ok 3 make install takes csmp_lb.bpf.o and no test program"
fi
