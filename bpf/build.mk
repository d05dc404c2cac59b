# SPDX-License-Identifier: GPL-2.0-only
# BPF: one object per bpf/<hook>.bpf.c, built with clang -target bpf, then
# linked with bpftool gen object and turned into a libbpf skeleton that the
# userspace programs include (build/bpf/<name>.skel.h). Only these objects
# are installed; programs the tests and benches need on their own live in
# selftests/bpf/progs/ (selftests/build.mk).

BPF_SRCS	:= $(wildcard bpf/*.bpf.c)
BPF_OBJS	:= $(patsubst bpf/%.bpf.c,$(B)/bpf/%.bpf.o,$(BPF_SRCS))
BPF_SKELS	:= $(patsubst bpf/%.bpf.c,$(B)/bpf/%.skel.h,$(BPF_SRCS))
BPF_HDRS	:= $(wildcard bpf/lib/*.h include/csmp/*.h)

# -target bpf leaves out the host's system include directories, where the
# UAPI headers' <asm/...> live (a multiarch directory on Debian, elsewhere
# another). Ask the clang that builds the objects which directories it
# searches for the host and add them after our own, as libbpf-bootstrap's
# examples/c/Makefile does, instead of guessing one from `uname -m`.
CLANG_BPF_SYS_INCLUDES ?= $(shell $(CLANG) -v -E - </dev/null 2>&1 | \
	sed -n '/<\.\.\.> search starts here:/,/End of search list\./s|^ \(/.*\)|-idirafter \1|p')

BPF_CFLAGS	:= -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Werror \
		   -Iinclude -Ibpf -I$(B)/bpf $(CLANG_BPF_SYS_INCLUDES)

all: $(BPF_OBJS)

$(B)/bpf/%.tmp.o: bpf/%.bpf.c $(BPF_HDRS)
	$(call msg,BPF,$<)
	@mkdir -p $(B)/bpf
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(B)/bpf/%.bpf.o: $(B)/bpf/%.tmp.o
	$(Q)$(BPFTOOL) gen object $@ $<

$(B)/bpf/%.skel.h: $(B)/bpf/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $(subst -,_,$*) > $@
