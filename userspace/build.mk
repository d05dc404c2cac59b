# SPDX-License-Identifier: GPL-2.0-only
# Userspace: protobuf-c code generated from proto/, libcsmp (userspace/lib),
# and one program per directory: csmpd, csmpctl, and userspace/tools/<name>.
# The library is built three ways: release (programs), san (ASan+UBSan, for
# the tests) and fuzz (clang, for libFuzzer targets).

PROTOS		:= $(wildcard proto/*.proto)
PROTO_C		:= $(patsubst proto/%.proto,$(B)/gen/%.pb-c.c,$(PROTOS))
PROTO_H		:= $(PROTO_C:.c=.h)

LIB_SRCS	:= $(wildcard userspace/lib/*.c) $(PROTO_C)
TOOLS		:= $(notdir $(patsubst %/,%,$(dir $(wildcard userspace/tools/*/*.c))))
PROGS		:= $(foreach p,csmpd csmpctl,$(if $(wildcard userspace/$(p)/*.c),$(p))) \
		   $(sort $(TOOLS))
PROGS_BIN	:= $(addprefix $(B)/bin/,$(PROGS))

prog_dir	= $(if $(filter csmpd csmpctl,$(1)),userspace/$(1),userspace/tools/$(1))
prog_srcs	= $(if $(filter csmpd,$(1)),$(CSMPD_SRCS),\
		  $(wildcard $(call prog_dir,$(1))/*.c))

# csmpd is laid out by function, one directory per room
# (userspace/csmpd/README.md); its files include each other by room,
# "registry/db.h", from the top of userspace/csmpd.
CSMPD_SRCS	:= $(wildcard userspace/csmpd/*.c userspace/csmpd/*/*.c)
CSMPD_CFLAGS	:= -Iuserspace/csmpd

LIBCSMP		:= $(B)/lib/libcsmp.a
LIBCSMP_SAN	:= $(B)/lib/libcsmp-san.a
LIBCSMP_FUZZ	:= $(B)/lib/libcsmp-fuzz.a

# Everything compiled may include generated headers: build them first.
GEN_HDRS	= $(PROTO_H) $(BPF_SKELS)

all: $(PROGS_BIN)

$(B)/gen/%.pb-c.c $(B)/gen/%.pb-c.h: proto/%.proto
	$(call msg,PROTOC,$<)
	@mkdir -p $(B)/gen
	$(Q)$(PROTOC_C) --proto_path=proto --c_out=$(B)/gen $<

$(B)/obj/rel/%.o: %.c | $(GEN_HDRS)
	$(call msg,CC,$<)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(BASE_CFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

$(B)/obj/san/%.o: %.c | $(GEN_HDRS)
	$(call msg,CC-SAN,$<)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(BASE_CFLAGS) -O1 -g $(SAN_FLAGS) -MMD -MP -c $< -o $@

$(B)/obj/fuzz/%.o: %.c | $(GEN_HDRS)
	$(call msg,CC-FUZZ,$<)
	@mkdir -p $(dir $@)
	$(Q)$(CLANG) $(BASE_CFLAGS) -Wno-unknown-warning-option -O1 -g \
		-fsanitize=fuzzer-no-link,address,undefined -MMD -MP -c $< -o $@

# Generated protobuf-c code is not ours to warn about (protoc-c 1.4.1's
# initialisers of single-member oneofs trip -Wmissing-braces). BASE_CFLAGS
# is expanded already, so the flag is appended rather than WARN replaced.
$(B)/obj/rel/$(B)/gen/%.o $(B)/obj/san/$(B)/gen/%.o $(B)/obj/fuzz/$(B)/gen/%.o: \
	BASE_CFLAGS += -w

$(B)/obj/rel/userspace/csmpd/%.o $(B)/obj/san/userspace/csmpd/%.o \
$(B)/obj/fuzz/userspace/csmpd/%.o: BASE_CFLAGS += $(CSMPD_CFLAGS)

$(LIBCSMP): $(patsubst %.c,$(B)/obj/rel/%.o,$(LIB_SRCS))
$(LIBCSMP_SAN): $(patsubst %.c,$(B)/obj/san/%.o,$(LIB_SRCS))
$(LIBCSMP_FUZZ): $(patsubst %.c,$(B)/obj/fuzz/%.o,$(LIB_SRCS))
$(LIBCSMP) $(LIBCSMP_SAN) $(LIBCSMP_FUZZ):
	$(call msg,AR,$@)
	@mkdir -p $(dir $@)
	$(Q)rm -f $@ && ar rcs $@ $^

define prog_rule
$(B)/bin/$(1): $(patsubst %.c,$(B)/obj/rel/%.o,$(call prog_srcs,$(1))) $(LIBCSMP)
	$$(call msg,LD,$$@)
	@mkdir -p $(B)/bin
	$(Q)$$(CC) $$(CFLAGS) -pthread -o $$@ $$^ $$(LIBS)
endef
$(foreach p,$(PROGS),$(eval $(call prog_rule,$(p))))

-include $(shell find $(B)/obj -name '*.d' 2>/dev/null)
