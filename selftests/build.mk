# SPDX-License-Identifier: GPL-2.0-only
# Test binaries. C tests use the kernel's kselftest harness, extracted at
# build time from Debian's linux-source package (never committed):
#   selftests/unit/<name>.c -> build/selftests/unit/<name>   (ASan+UBSan)
#   selftests/bpf/<name>.c  -> build/selftests/bpf/<name>    (ASan+UBSan)
#   selftests/net/<name>.c  -> build/selftests/net/<name>    (helpers for net/*.sh)
#   selftests/fuzz/<name>.c -> build/fuzz/<name>             (libFuzzer)
#   selftests/bpf/progs/<name>.bpf.c -> build/selftests/progs/<name>.bpf.o
#                              and .skel.h (programs only tests and benches
#                              load: never installed, never in build/bpf/)

KSFT_TAR	?= $(firstword $(wildcard /usr/src/linux-source-6.1.tar.xz))
KSFT_DIR	:= $(B)/ksft
KSFT_HDRS	:= $(KSFT_DIR)/kselftest_harness.h $(KSFT_DIR)/kselftest.h

UNIT_SRCS	:= $(wildcard selftests/unit/*.c)
UNIT_BINS	:= $(patsubst selftests/unit/%.c,$(B)/selftests/unit/%,$(UNIT_SRCS))
BPFT_SRCS	:= $(wildcard selftests/bpf/*.c)
BPFT_BINS	:= $(patsubst selftests/bpf/%.c,$(B)/selftests/bpf/%,$(BPFT_SRCS))
NETT_SRCS	:= $(wildcard selftests/net/*.c)
NETT_BINS	:= $(patsubst selftests/net/%.c,$(B)/selftests/net/%,$(NETT_SRCS))
FUZZ_SRCS	:= $(wildcard selftests/fuzz/*.c)
FUZZ_BINS	:= $(patsubst selftests/fuzz/%.c,$(B)/fuzz/%,$(FUZZ_SRCS))
TPROG_SRCS	:= $(wildcard selftests/bpf/progs/*.bpf.c)
TPROG_OBJS	:= $(patsubst selftests/bpf/progs/%.bpf.c,$(B)/selftests/progs/%.bpf.o,$(TPROG_SRCS))
TPROG_SKELS	:= $(TPROG_OBJS:.bpf.o=.skel.h)

TEST_CFLAGS	:= $(BASE_CFLAGS) $(CSMPD_CFLAGS) -I$(KSFT_DIR) -Iselftests \
		   -I$(B)/selftests/progs -O1 -g $(SAN_FLAGS)

# csmpd's own modules (db, config, control, ...) for the unit tests that
# exercise them: an archive, so a test pulls in only the objects it uses
# (and never csmpd's main, since the test defines its own). CSMPD_SRCS
# and CSMPD_CFLAGS come from userspace/build.mk.
LIBCSMPD_SAN	:= $(B)/lib/libcsmpd-san.a
$(LIBCSMPD_SAN): $(patsubst %.c,$(B)/obj/san/%.o,$(CSMPD_SRCS))
	$(call msg,AR,$@)
	@mkdir -p $(dir $@)
	$(Q)rm -f $@ && ar rcs $@ $^

.PHONY: tests fuzzers
tests: $(UNIT_BINS) $(BPFT_BINS) $(NETT_BINS) $(FUZZ_BINS) $(TPROG_SKELS) $(TPROG_OBJS)
fuzzers: $(FUZZ_BINS)

$(KSFT_HDRS):
	$(call msg,KSFT,$(KSFT_TAR))
	@test -n "$(KSFT_TAR)" || { echo "linux-source-6.1 missing: run scripts/setup.sh" >&2; exit 1; }
	@mkdir -p $(KSFT_DIR)
	$(Q)tar -xJf $(KSFT_TAR) -C $(KSFT_DIR) --strip-components=4 \
		linux-source-6.1/tools/testing/selftests/kselftest_harness.h \
		linux-source-6.1/tools/testing/selftests/kselftest.h
	$(Q)touch $(KSFT_HDRS)

$(B)/selftests/unit/%: selftests/unit/%.c $(LIBCSMPD_SAN) $(LIBCSMP_SAN) | $(KSFT_HDRS) $(GEN_HDRS)
	$(call msg,TEST,$@)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(TEST_CFLAGS) -MMD -MP -o $@ $< $(LIBCSMPD_SAN) $(LIBCSMP_SAN) $(LIBS)

$(B)/selftests/progs/%.tmp.o: selftests/bpf/progs/%.bpf.c $(BPF_HDRS)
	$(call msg,BPF,$<)
	@mkdir -p $(dir $@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(B)/selftests/progs/%.bpf.o: $(B)/selftests/progs/%.tmp.o
	$(Q)$(BPFTOOL) gen object $@ $<

$(B)/selftests/progs/%.skel.h: $(B)/selftests/progs/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $(subst -,_,$*) > $@

$(B)/selftests/bpf/%: selftests/bpf/%.c $(LIBCSMP_SAN) $(BPF_OBJS) | $(KSFT_HDRS) $(GEN_HDRS) $(TPROG_SKELS)
	$(call msg,TEST,$@)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(TEST_CFLAGS) -MMD -MP -o $@ $< $(LIBCSMP_SAN) $(LIBS)

# Helpers the net suite's shell tests drive (real sockets, netns).
$(B)/selftests/net/%: selftests/net/%.c $(LIBCSMP_SAN) | $(KSFT_HDRS) $(GEN_HDRS) $(TPROG_SKELS)
	$(call msg,TEST,$@)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(TEST_CFLAGS) -MMD -MP -o $@ $< $(LIBCSMP_SAN) $(LIBS)

$(B)/fuzz/%: selftests/fuzz/%.c $(LIBCSMP_FUZZ) | $(GEN_HDRS)
	$(call msg,FUZZ,$@)
	@mkdir -p $(dir $@)
	$(Q)$(CLANG) $(BASE_CFLAGS) -Wno-unknown-warning-option -O1 -g \
		-fsanitize=fuzzer,address,undefined -o $@ $< $(LIBCSMP_FUZZ) $(LIBS)

-include $(wildcard $(B)/selftests/*/*.d)

# BPF helpers of the net suite's shell tests (selftests/net/progs/*.bpf.c).
NETT_BPF_SRCS	:= $(wildcard selftests/net/progs/*.bpf.c)
NETT_BPF_OBJS	:= $(patsubst selftests/net/progs/%.bpf.c,$(B)/selftests/net/%.bpf.o,$(NETT_BPF_SRCS))
tests: $(NETT_BPF_OBJS)

$(B)/selftests/net/%.bpf.o: selftests/net/progs/%.bpf.c
	$(call msg,BPF,$<)
	@mkdir -p $(dir $@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@
