# SPDX-License-Identifier: GPL-2.0-only
# BPF: one object per bpf/<hook>.bpf.c, built with clang -target bpf, then
# linked with bpftool gen object and turned into a libbpf skeleton that the
# userspace programs include (build/bpf/<name>.skel.h).

BPF_SRCS	:= $(wildcard bpf/*.bpf.c)
BPF_OBJS	:= $(patsubst bpf/%.bpf.c,$(B)/bpf/%.bpf.o,$(BPF_SRCS))
BPF_SKELS	:= $(patsubst bpf/%.bpf.c,$(B)/bpf/%.skel.h,$(BPF_SRCS))
BPF_CFLAGS	:= -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Werror \
		   -I/usr/include/$(shell uname -m)-linux-gnu -Iinclude -Ibpf \
		   -I$(B)/bpf

all: $(BPF_OBJS)

$(B)/bpf/%.tmp.o: bpf/%.bpf.c $(wildcard bpf/lib/*.h include/csmp/*.h)
	$(call msg,BPF,$<)
	@mkdir -p $(B)/bpf
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(B)/bpf/%.bpf.o: $(B)/bpf/%.tmp.o
	$(Q)$(BPFTOOL) gen object $@ $<

$(B)/bpf/%.skel.h: $(B)/bpf/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $(subst -,_,$*) > $@
