# SPDX-License-Identifier: GPL-2.0-only
#
# csmpd build. Everything generated (objects, protobuf-c code, BPF objects and
# skeletons, the kselftest headers, test binaries) lands in build/; nothing
# generated is committed. Each part of the tree adds its rules in its own
# build.mk fragment; this file holds the shared variables and the top-level
# targets of ARCHITECTURE.md §6/§8.
#
#   make            userspace programs and BPF objects
#   make check      set-up, build, every test suite (selftests/run)
#   make run        set-up, build, the 10,000-device demo on loopback
#   make bench      benchmarks -> build/bench/*.json and BENCHMARKS.md
#   make fuzz       libFuzzer targets for FUZZ_SECONDS each (default 60)
#   make kmod       the kernel module (KDIR=... for another kernel)
#   make install    csmpd, csmpctl, csmp-request, csmpdump, units, man pages
#                   into $(DESTDIR)$(PREFIX) (FHS: sbin/, bin/, /etc/csmpd)
#   make install-tools  the load and test tools (csmp-sim, csmp-blast, ...)
#   make deb        Debian packages into build/deb/ (dpkg-buildpackage)
#   make V=1        show the commands

.DELETE_ON_ERROR:
.SUFFIXES:
MAKEFLAGS += --no-builtin-rules

B	:= build
PREFIX	?= /usr/local
ARCH	?= $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')

CC	?= gcc
ifeq ($(origin CC),default)
CC	:= gcc
endif
CLANG	?= clang
BPFTOOL	?= bpftool
PROTOC_C ?= protoc-c

ifeq ($(V),1)
Q	:=
msg	:=
else
Q	:= @
msg	= @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

# Userspace. -Werror always: warnings are errors (STYLE.md 1).
# -Wno-missing-braces: protoc-c 1.4.1's CSMP__FOO__INIT macros leave out the
# braces of a bytes field inside a oneof (every presence-carrying bytes field
# of proto/csmp.proto), and code must be able to use them.
WARN	:= -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter \
	   -Wno-missing-field-initializers -Wno-missing-braces
CFLAGS	?= -O2 -g
BASE_CFLAGS := -std=gnu11 $(WARN) -D_GNU_SOURCE -Iinclude -Iuserspace/lib \
	   -I$(B)/gen -I$(B)/bpf $(shell pkg-config --cflags libpq) -pthread \
	   -fno-strict-aliasing
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all \
	   -fno-omit-frame-pointer
LIBS	:= -lbpf -lelf -lz -luring -lprotobuf-c -lsodium -lcrypto -lsqlite3 -lpq \
	   -lpcap -ljansson -lcap -lsystemd -lpthread -lm
# csmpd's config file (userspace/csmpd/conf/)
LIBS	+= -linih

.PHONY: all check run bench fuzz install clean setup help kmod
all:

setup:
	$(Q)CSMP_SETUP_QUIET=1 bash scripts/setup.sh

# bpf/ first: userspace rules take BPF_SKELS as order-only prerequisites,
# which make expands when it reads the rule.
include bpf/build.mk
include userspace/build.mk
include kmod/build.mk
include selftests/build.mk
include dist/build.mk

check: setup
	$(Q)$(MAKE) --no-print-directory all tests
	$(Q)selftests/run

run: setup
	$(Q)$(MAKE) --no-print-directory all
	$(Q)bash scripts/run-demo.sh

bench: setup
	$(Q)$(MAKE) --no-print-directory all tests
	$(Q)bash scripts/bench/run.sh

fuzz: setup
	$(Q)$(MAKE) --no-print-directory fuzzers
	$(Q)FUZZ_SECONDS=$${FUZZ_SECONDS:-60} bash selftests/fuzz/run.sh

clean:
	rm -rf $(B)

help:
	@sed -n '/^#   make/s/^#   //p' Makefile
