# Makefile for the C PDS.  GNU make (4.x).
#
#   make                 build everything (programs and the core archive)
#   make run             install what is missing, build, start a local PDS
#   make test            install what is missing, build, run every test
#   make test SANITIZE=address,undefined
#   make fuzz            build the libFuzzer targets (clang)
#   make bench           benchmarks, printed next to the reference's figures
#   make install         PREFIX=/usr/local DESTDIR=
#   make O=/tmp/b ...    build out of tree (objects and programs under O)
#
# The protocol core and storage (fcgi/core, fcgi/repo, fcgi/store) are
# compiled once into $(O)/fcgi/libpdscore.a, which pds-fcgi, pds-firehose
# and the cron helpers all link.  Source lists are explicit.

.SUFFIXES:
.DELETE_ON_ERROR:

PREFIX	?= /usr/local
BINDIR	?= $(PREFIX)/bin
SBINDIR	?= $(PREFIX)/sbin
DESTDIR	?=
O	?= .
CC	?= cc
AR	?= ar
CLANG	?= clang
SANITIZE ?=
WERROR	?=
INTEROP	?= $(abspath ../shared/interop)

# ---- flags ------------------------------------------------------------
WARNFLAGS = -Wall -Wextra -Wstrict-prototypes -Wmissing-prototypes \
	-Wmissing-declarations -Wshadow -Wpointer-arith -Wsign-compare \
	-Wformat=2 -Wvla
ifneq ($(WERROR),)
WARNFLAGS += -Werror
endif
ifeq ($(SANITIZE),)
OPTFLAGS  = -O2 -g -D_FORTIFY_SOURCE=2
else
OPTFLAGS  = -O1 -g -fno-omit-frame-pointer -fsanitize=$(SANITIZE) \
	-fno-sanitize-recover=all -DPDS_NO_SANDBOX
SANLDFLAGS = -fsanitize=$(SANITIZE)
endif
HARDEN	  = -fstack-protector-strong -fPIE
HARDENLD  = -pie -Wl,-z,relro,-z,now -Wl,-z,noexecstack

PKGS	  = sqlite3 jansson libsecp256k1 openssl libcurl
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS  := $(shell pkg-config --libs $(PKGS) 2>/dev/null || \
	echo "-lsqlite3 -ljansson -lsecp256k1 -lssl -lcrypto -lcurl")
FCGI_CFLAGS ?=
FCGI_LIBS ?= -lfcgi

INCS	  = -Ifcgi/core -Ifcgi/repo -Ifcgi/store -Ifcgi/server -Ifcgi/xrpc
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARNFLAGS) $(OPTFLAGS) $(HARDEN) \
	$(INCS) $(PKG_CFLAGS) $(FCGI_CFLAGS) -MMD -MP $(CPPFLAGS) $(CFLAGS)
ALL_LDFLAGS = $(HARDENLD) $(SANLDFLAGS) $(LDFLAGS)
ALL_LIBS  = $(PKG_LIBS) -lm -lpthread $(LDLIBS)

# ---- sources ----------------------------------------------------------
# Each part of the tree appends its own lists under its own banner:
# CORE_SRCS (into libpdscore.a), SERVER_SRCS (pds-fcgi), FIREHOSE_SRCS,
# DDNS_SRCS, BACKUP_SRCS, MAINTAIN_SRCS, UNIT_TESTS (tests/unit/test_<n>.c),
# FUZZ_TARGETS (tests/fuzz/fuzz_<n>.c), TEST_TOOLS (tests/lib/tool_<n>.c).
CORE_SRCS =
SERVER_SRCS =
FIREHOSE_SRCS =
DDNS_SRCS =
BACKUP_SRCS =
MAINTAIN_SRCS =
UNIT_TESTS =
FUZZ_TARGETS =
TEST_TOOLS =

# == core: memory, logging, encodings ==
CORE_SRCS += fcgi/core/arena.c fcgi/core/buf.c fcgi/core/enc.c \
	fcgi/core/log.c fcgi/core/util.c
UNIT_TESTS += core

# == core: CID, DAG-CBOR, JSON mapping ==

# == core: syntax, TID, MST key height ==

# == core: keys, signatures, JWT ==

# == core: configuration ==

# == repo: CAR, MST, commits ==

# == store: databases, actor stores, sequencer, blobs ==

# == pds-fcgi: pre-fork master, worker, XRPC ==

# == pds-firehose ==

# == cron helpers ==

# ---- derived ----------------------------------------------------------
obj	= $(patsubst %.c,$(O)/%.o,$(1))
CORE_OBJS = $(call obj,$(CORE_SRCS))
LIBCORE	= $(O)/fcgi/libpdscore.a
PROGS	=
ifneq ($(SERVER_SRCS),)
PROGS	+= $(O)/fcgi/pds-fcgi
endif
ifneq ($(FIREHOSE_SRCS),)
PROGS	+= $(O)/firehose/pds-firehose
endif
ifneq ($(DDNS_SRCS),)
PROGS	+= $(O)/cron/pds-ddns
endif
ifneq ($(BACKUP_SRCS),)
PROGS	+= $(O)/cron/pds-backup
endif
ifneq ($(MAINTAIN_SRCS),)
PROGS	+= $(O)/cron/pds-maintain
endif
UNIT_BINS = $(patsubst %,$(O)/tests/unit/test_%,$(UNIT_TESTS))
REPLAY_BINS = $(patsubst %,$(O)/tests/fuzz/replay_%,$(FUZZ_TARGETS))
FUZZ_BINS = $(patsubst %,$(O)/tests/fuzz/fuzz_%,$(FUZZ_TARGETS))
TOOL_BINS = $(patsubst %,$(O)/tests/lib/tool_%,$(TEST_TOOLS))
ALL_OBJS = $(CORE_OBJS) $(call obj,$(SERVER_SRCS) $(FIREHOSE_SRCS) \
	$(DDNS_SRCS) $(BACKUP_SRCS) $(MAINTAIN_SRCS))

.PHONY: all test unit fuzz-replay integration configcheck bench fuzz run \
	deps install clean

all: $(LIBCORE) $(PROGS)

$(O)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(LIBCORE): $(CORE_OBJS)
	@mkdir -p $(@D)
	rm -f $@
	$(AR) rcs $@ $(CORE_OBJS)

$(O)/fcgi/pds-fcgi: $(call obj,$(SERVER_SRCS)) $(LIBCORE)
	$(CC) $(ALL_LDFLAGS) -o $@ $(call obj,$(SERVER_SRCS)) $(LIBCORE) \
		$(FCGI_LIBS) $(ALL_LIBS)
$(O)/firehose/pds-firehose: $(call obj,$(FIREHOSE_SRCS)) $(LIBCORE)
	$(CC) $(ALL_LDFLAGS) -o $@ $(call obj,$(FIREHOSE_SRCS)) $(LIBCORE) \
		$(ALL_LIBS)
$(O)/cron/pds-ddns: $(call obj,$(DDNS_SRCS)) $(LIBCORE)
	$(CC) $(ALL_LDFLAGS) -o $@ $(call obj,$(DDNS_SRCS)) $(LIBCORE) \
		$(ALL_LIBS)
$(O)/cron/pds-backup: $(call obj,$(BACKUP_SRCS)) $(LIBCORE)
	$(CC) $(ALL_LDFLAGS) -o $@ $(call obj,$(BACKUP_SRCS)) $(LIBCORE) \
		$(ALL_LIBS)
$(O)/cron/pds-maintain: $(call obj,$(MAINTAIN_SRCS)) $(LIBCORE)
	$(CC) $(ALL_LDFLAGS) -o $@ $(call obj,$(MAINTAIN_SRCS)) $(LIBCORE) \
		$(ALL_LIBS)

# Unit tests: each is its own program linked against the core archive.
$(O)/tests/unit/test_%: tests/unit/test_%.c tests/unit/t.h $(LIBCORE)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Itests/unit -DT_INTEROP_DIR='"$(INTEROP)"' \
		$(ALL_LDFLAGS) -o $@ $< $(LIBCORE) $(ALL_LIBS)

# Test tools: small programs over the core that the Node suites drive.
$(O)/tests/lib/tool_%: tests/lib/tool_%.c $(LIBCORE)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(LIBCORE) $(ALL_LIBS)

# Fuzz replay: the libFuzzer entry point driven by a plain main() over the
# kept corpus and crashes, built with the ordinary compiler.
$(O)/tests/fuzz/replay_%: tests/fuzz/fuzz_%.c tests/fuzz/replay_main.c \
		$(LIBCORE)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< tests/fuzz/replay_main.c \
		$(LIBCORE) $(ALL_LIBS)

# libFuzzer builds: the core is compiled again with clang and coverage.
FUZZ_O	= $(O)/tests/fuzz/obj
FUZZ_CFLAGS = -std=c11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer \
	-fsanitize=fuzzer-no-link,address,undefined $(INCS) $(PKG_CFLAGS) \
	-DPDS_FUZZING -DPDS_NO_SANDBOX
FUZZ_CORE_OBJS = $(patsubst %.c,$(FUZZ_O)/%.o,$(CORE_SRCS))
$(FUZZ_O)/%.o: %.c
	@mkdir -p $(@D)
	$(CLANG) $(FUZZ_CFLAGS) -c -o $@ $<
$(O)/tests/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_CORE_OBJS)
	$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer,address,undefined -o $@ $< \
		$(FUZZ_CORE_OBJS) $(ALL_LIBS)

fuzz: $(FUZZ_BINS)

# ---- tests --------------------------------------------------------------
NODE_STAMP = tests/node_modules/.package-lock.json

deps:
	tests/deps.sh

test: $(if $(PDS_SKIP_DEPS),,deps) all $(UNIT_BINS) $(REPLAY_BINS) $(TOOL_BINS)
	tests/run-unit.sh $(UNIT_BINS)
	tests/run-fuzz-replay.sh $(REPLAY_BINS)
	PDS_BIN_DIR=$(abspath $(O)) tests/run-integration.sh

unit: all $(UNIT_BINS)
	tests/run-unit.sh $(UNIT_BINS)

fuzz-replay: $(REPLAY_BINS)
	tests/run-fuzz-replay.sh $(REPLAY_BINS)

integration: all $(TOOL_BINS)
	PDS_BIN_DIR=$(abspath $(O)) tests/run-integration.sh

bench: deps all $(TOOL_BINS)
	PDS_BIN_DIR=$(abspath $(O)) tests/bench/run.sh

run: deps all
	PDS_BIN_DIR=$(abspath $(O)) tests/lib/devstack.sh run

install: all
	install -d $(DESTDIR)$(SBINDIR)
	for p in $(PROGS); do install -m 755 $$p $(DESTDIR)$(SBINDIR)/; done

clean:
	rm -f $(ALL_OBJS) $(ALL_OBJS:.o=.d) $(LIBCORE) $(PROGS) $(UNIT_BINS) \
		$(REPLAY_BINS) $(FUZZ_BINS) $(TOOL_BINS)
	rm -rf $(FUZZ_O)

-include $(ALL_OBJS:.o=.d)
