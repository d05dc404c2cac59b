# SPDX-License-Identifier: GPL-2.0-only
# The kernel module (ARCHITECTURE.md §4): built out of tree into
# build/kmod/<release>/csmp.ko with module BTF. KDIR=... builds for one
# kernel; without it scripts/kmod-build.sh picks the running kernel's build
# directory, or the Debian kernels the test guests boot.
KDIR	?=

kmod:
	$(Q)bash scripts/kmod-build.sh $(KDIR)

# The vm suite's guest payload (scripts/vmtest.sh builds it with
# `make vmtest-deps`): a static test binary, its BPF programs and the
# fixture corpus. Not part of `tests`: it runs only inside the guests.
VM_B		:= $(B)/vm
VMT_BIN		:= $(VM_B)/csmp_vmtest
VMT_OBJ		:= $(VM_B)/kfunc_test.bpf.o
VMT_CORPUS	:= $(VM_B)/corpus.bin
VMT_PCAPS	:= $(wildcard ../shared/fixtures/*.pcap)
VMT_HDRS	:= selftests/vm/vmtest.h $(wildcard include/csmp/*.h)

VMB_BIN		:= $(VM_B)/csmp_vmbench

.PHONY: vmtest-deps
vmtest-deps: $(VMT_BIN) $(VMT_OBJ) $(VMT_CORPUS) $(VMB_BIN)

# csmp_lb timing on both paths (scripts/bench/vm.sh): libcsmp's LB control
# code and the bpf suite's frame helpers, linked statically.
$(VMB_BIN): selftests/vm/csmp_vmbench.c $(LIBCSMP) $(BPF_SKELS) $(VMT_HDRS) \
		selftests/bpf/lb_test.h
	$(call msg,CC-STATIC,$@)
	@mkdir -p $(VM_B)
	$(Q)$(CC) -std=gnu11 $(WARN) -D_GNU_SOURCE -O2 -g -static -Iinclude \
		-Iuserspace/lib -Iselftests/bpf -I$(B)/bpf -I$(B)/gen -o $@ $< \
		$(LIBCSMP) -lsodium -lbpf -lelf -lz

$(VMT_BIN): selftests/vm/csmp_vmtest.c $(VMT_HDRS)
	$(call msg,CC-STATIC,$@)
	@mkdir -p $(VM_B)
	$(Q)$(CC) -std=gnu11 $(WARN) -D_GNU_SOURCE -O2 -g -static -Iinclude \
		-Iselftests/vm -o $@ $< -lbpf -lelf -lz

$(VMT_OBJ): selftests/vm/progs/kfunc_test.bpf.c $(VMT_HDRS)
	$(call msg,BPF,$<)
	@mkdir -p $(VM_B)
	$(Q)$(CLANG) $(BPF_CFLAGS) -Iselftests/vm -c $< -o $@

$(VMT_CORPUS): $(VMT_BIN) $(VMT_PCAPS)
	$(call msg,CORPUS,$@)
	@test -n "$(VMT_PCAPS)" || { echo "no fixtures in ../shared/fixtures" >&2; exit 1; }
	$(Q)$(VMT_BIN) corpus $@ $(VMT_PCAPS) >/dev/null

# DKMS: the module's sources (Kbuild, kmod/, the shared headers and the
# build script) go to /usr/src/csmp-<version>/; dkms builds and installs it
# for the running kernel and again after every kernel update.
DKMS_VERSION	?= $(shell git describe --tags --always --dirty 2>/dev/null | sed 's/^v//;s/-/./g' || echo 0)
DKMS_SRC	:= $(DESTDIR)/usr/src/csmp-$(DKMS_VERSION)
DKMS_KERNEL	?= $(shell uname -r)

.PHONY: dkms-src dkms-install
dkms-src:
	$(Q)rm -rf $(DKMS_SRC)
	$(Q)install -d $(DKMS_SRC)/kmod $(DKMS_SRC)/include/csmp $(DKMS_SRC)/scripts/vm
	$(Q)install -m 0644 Kbuild $(DKMS_SRC)/
	$(Q)sed 's/@VERSION@/$(DKMS_VERSION)/' dkms.conf >$(DKMS_SRC)/dkms.conf
	$(Q)install -m 0644 kmod/Kbuild kmod/*.c kmod/*.h $(DKMS_SRC)/kmod/
	$(Q)install -m 0644 include/csmp/*.h $(DKMS_SRC)/include/csmp/
	$(Q)install -m 0755 scripts/kmod-build.sh $(DKMS_SRC)/scripts/
	$(Q)install -m 0644 scripts/vm/kernels.sh $(DKMS_SRC)/scripts/vm/
	@echo "  DKMS     $(DKMS_SRC)"

dkms-install: dkms-src
	dkms add -m csmp -v $(DKMS_VERSION)
	dkms build -m csmp -v $(DKMS_VERSION) -k $(DKMS_KERNEL)
	dkms install -m csmp -v $(DKMS_VERSION) -k $(DKMS_KERNEL)
