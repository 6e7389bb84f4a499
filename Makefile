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
CORE_SRCS += fcgi/core/cid.c fcgi/core/cbor.c fcgi/core/cbor_json.c
UNIT_TESTS += cid cbor
FUZZ_TARGETS += cbor json_cbor cid
TEST_TOOLS += cbor

# == core: syntax, TID, MST key height ==
CORE_SRCS += fcgi/core/syntax.c fcgi/core/tid.c fcgi/core/mstkey.c
UNIT_TESTS += syntax tid
FUZZ_TARGETS += syntax
TEST_TOOLS += syntax

# == core: keys, signatures, JWT ==
CORE_SRCS += fcgi/core/keys.c fcgi/core/jwt.c
UNIT_TESTS += keys jwt
FUZZ_TARGETS += jwt didkey
TEST_TOOLS += crypto

# == core: lexicon validation ==
CORE_SRCS += fcgi/core/lexicon.c fcgi/core/lexcompile.c fcgi/core/lexvalid.c \
	fcgi/core/lexicons.gen.c fcgi/core/grapheme.c fcgi/core/grapheme_tab.c
UNIT_TESTS += lexicon
FUZZ_TARGETS += lexicon
TEST_TOOLS += lexicon
# `make lexicons` regenerates the committed fcgi/core/lexicons.gen.c from
# fcgi/core/lexicons/*.json (see fcgi/core/lexicons/README.md).
.PHONY: lexicons
lexicons: $(O)/fcgi/core/lexicons/lexgen
	$(O)/fcgi/core/lexicons/lexgen $(sort $(wildcard \
		fcgi/core/lexicons/*.json)) > fcgi/core/lexicons.gen.c
$(O)/fcgi/core/lexicons/lexgen: fcgi/core/lexicons/lexgen.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(ALL_LIBS)

# == core: configuration ==
CORE_SRCS += fcgi/core/config.c fcgi/xrpc/xrpc_parse.c
UNIT_TESTS += config
FUZZ_TARGETS += query envfile

# == repo: CAR, MST, commits ==
CORE_SRCS += fcgi/core/car.c fcgi/repo/blockmap.c fcgi/repo/mst.c \
	fcgi/repo/mst_walk.c fcgi/repo/commit.c fcgi/repo/repo.c
UNIT_TESTS += car mst commit
FUZZ_TARGETS += car
TEST_TOOLS += repo

# == store: databases, actor stores, sequencer, blobs ==
CORE_SRCS += fcgi/store/actorstore.c fcgi/store/actorread.c \
	fcgi/store/blobstore.c fcgi/store/mimesniff.c fcgi/store/seqevt.c \
	fcgi/store/repowrite.c fcgi/store/storectx.c fcgi/store/prepare.c
UNIT_TESTS += actorstore
FUZZ_TARGETS += record
CORE_SRCS += fcgi/store/db.c
UNIT_TESTS += db
CORE_SRCS += fcgi/store/seqdb.c
UNIT_TESTS += seqdb
TEST_TOOLS += seq
# accounts: passwords, account.sqlite, did_cache.sqlite, PLC, resolution
CORE_SRCS += fcgi/core/password.c fcgi/core/fetch.c fcgi/core/plc.c \
	fcgi/core/resolve.c fcgi/store/accountdb.c fcgi/store/didcache.c
UNIT_TESTS += password plc accountdb
FUZZ_TARGETS += identity
# proxy: service-auth JWTs, upstream parsing and SSRF policy
CORE_SRCS += fcgi/core/svcauth.c fcgi/core/upstream.c
UNIT_TESTS += proxy
FUZZ_TARGETS += upstream
TEST_TOOLS += svcauth
# admin: SMTP mailer, shared rate-limit counters, admin/invite/email queries
CORE_SRCS += fcgi/core/mailer.c fcgi/store/ratelimit.c fcgi/store/admindb.c
UNIT_TESTS += mailer ratelimit
FUZZ_TARGETS += mailer

# == pds-fcgi: pre-fork master, worker, XRPC ==
SERVER_SRCS += fcgi/xrpc/h_repo.c fcgi/xrpc/h_sync.c
SERVER_SRCS += fcgi/server/main.c fcgi/server/listen.c \
	fcgi/server/prefork.c fcgi/server/worker.c fcgi/xrpc/dispatch.c \
	fcgi/xrpc/request.c fcgi/xrpc/response.c fcgi/xrpc/error.c \
	fcgi/xrpc/auth.c fcgi/xrpc/actor.c fcgi/xrpc/catchall.c \
	fcgi/xrpc/basic.c fcgi/xrpc/routes.c
UNIT_TESTS += xrpc
SERVER_SRCS += fcgi/xrpc/acct_util.c fcgi/xrpc/acct_repo.c \
	fcgi/xrpc/acct_reserved.c fcgi/xrpc/h_server_account.c \
	fcgi/xrpc/h_server_session.c fcgi/xrpc/h_identity.c
# proxy: the catch-all, pipethrough, app.bsky local routes, getServiceAuth
SERVER_SRCS += fcgi/xrpc/proxy.c fcgi/xrpc/proxy_http.c \
	fcgi/xrpc/h_appbsky.c fcgi/xrpc/h_svcauth.c fcgi/xrpc/raw.c
# admin: email flows, invites, admin API, moderator auth, rate limits
SERVER_SRCS += fcgi/xrpc/admin_util.c fcgi/xrpc/admin_auth.c \
	fcgi/xrpc/ratelimits.c fcgi/xrpc/h_admin.c fcgi/xrpc/h_server_email.c \
	fcgi/xrpc/h_server_invite.c
# test_xrpc also links the pds-fcgi objects (all but main.o) and libfcgi;
# the list is expanded at link time, so rows added to SERVER_SRCS later
# in this file are included.  `private` keeps it off the prerequisites.
$(O)/tests/unit/test_xrpc: $(O)/fcgi/pds-fcgi
$(O)/tests/unit/test_xrpc: private ALL_LIBS = $(filter-out \
	%/fcgi/server/main.o,$(patsubst %.c,$(O)/%.o,$(SERVER_SRCS))) \
	$(LIBCORE) $(FCGI_LIBS) $(PKG_LIBS) -lm -lpthread $(LDLIBS)

# == pds-firehose ==
CORE_SRCS += firehose/ws.c
UNIT_TESTS += ws
FUZZ_TARGETS += ws
FIREHOSE_SRCS += firehose/main.c firehose/conn.c firehose/hub.c \
	firehose/frame.c firehose/wake.c firehose/crawl.c

# == cron helpers ==
CRON_COMMON = cron/common.c
DDNS_SRCS += cron/ddns.c $(CRON_COMMON) cron/http.c cron/ipaddr.c \
	cron/xml.c cron/dnsname.c cron/awscred.c cron/dns_route53.c \
	cron/dns_cloudflare.c
BACKUP_SRCS += cron/backup.c $(CRON_COMMON) cron/files.c cron/manifest.c \
	cron/retention.c cron/rclone.c cron/snapshot.c
MAINTAIN_SRCS += cron/maintain.c $(CRON_COMMON) cron/files.c \
	cron/maintain_blobs.c
UNIT_TESTS += cron_ddns cron_backup
FUZZ_TARGETS += route53 cloudflare ddns_text backup

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
FUZZ_LIBCORE = $(FUZZ_O)/libpdscore.a
$(FUZZ_LIBCORE): $(FUZZ_CORE_OBJS)
	rm -f $@
	$(AR) rcs $@ $(FUZZ_CORE_OBJS)
$(O)/tests/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_LIBCORE)
	$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer,address,undefined -o $@ $< \
		$(FUZZ_LIBCORE) $(ALL_LIBS)
.SECONDARY: $(FUZZ_CORE_OBJS)

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

# Every unit test under valgrind memcheck; suppressions (library noise
# only) in tests/unit/valgrind.supp.  Not with SANITIZE.
.PHONY: valgrind
valgrind: all $(UNIT_BINS)
	tests/run-valgrind.sh $(UNIT_BINS)

fuzz-replay: $(REPLAY_BINS)
	tests/run-fuzz-replay.sh $(REPLAY_BINS)

integration: all $(TOOL_BINS)
	PDS_BIN_DIR=$(abspath $(O)) tests/run-integration.sh

configcheck:
	tests/run-integration.sh configcheck

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
