# tmpfs-sweep: PAM session module + helper that finds, attributes and sweeps what a
# login session left on tmpfs. `make help` lists the targets.

VERSION     := 0.1.0
PREFIX      ?= /usr
SYSCONFDIR  ?= /etc
SBINDIR     ?= $(PREFIX)/sbin
LIBEXECDIR  ?= $(PREFIX)/libexec/tmpfs-sweep
MANDIR      ?= $(PREFIX)/share/man
PAMDIR      ?= $(shell pkg-config --variable=libdir pam 2>/dev/null || echo /lib/x86_64-linux-gnu)/security
UNITDIR     ?= /lib/systemd/system
TMPFILESDIR ?= /usr/lib/tmpfiles.d
DOCDIR      ?= $(PREFIX)/share/doc/tmpfs-sweep
STATEDIR    ?= /run/tmpfs-sweep
DESTDIR     ?=

CC      ?= cc
PKGS    := pam libsystemd mount
B       := build

WARN    := -Wall -Wextra -Wformat=2 -Wshadow -Wmissing-prototypes -Wwrite-strings \
           -Wno-unused-parameter
HARDEN  := -D_FORTIFY_SOURCE=3 -fstack-protector-strong
CFLAGS  ?= -O2 -g
BASE_CFLAGS := -std=gnu11 -D_GNU_SOURCE $(WARN) $(HARDEN) -fvisibility=hidden -Ilib \
           -DVERSION='"$(VERSION)"' -DSYSCONFDIR='"$(SYSCONFDIR)"' \
           -DLIBEXECDIR='"$(LIBEXECDIR)"' -DSTATEDIR='"$(STATEDIR)"' \
           $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDFLAGS_COMMON := -Wl,-z,relro,-z,now,--no-undefined
LIBS    := $(shell pkg-config --libs libsystemd mount 2>/dev/null)

ifeq ($(WERROR),1)
BASE_CFLAGS += -Werror
endif
ifeq ($(SANITIZE),1)
B       := build-san
BASE_CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
BASE_CFLAGS := $(filter-out -D_FORTIFY_SOURCE=3,$(BASE_CFLAGS))
LDFLAGS_COMMON := -fsanitize=address,undefined -Wl,-z,relro,-z,now
endif
ifeq ($(TEST_HOOKS),1)
BASE_CFLAGS += -DTMPFS_SWEEP_TEST_HOOKS=1
endif

LIB_SRC    := $(sort $(wildcard lib/*.c))
HELPER_SRC := $(sort $(wildcard helper/*.c))
PAM_SRC    := $(sort $(wildcard pam_module/*.c))
UNIT_SRC   := $(sort $(wildcard tests/unit/test_*.c))
TOOL_SRC   := $(sort $(wildcard tests/tools/*.c))
BENCH_SRC  := $(sort $(wildcard bench/*.c))

LIB_OBJ    := $(LIB_SRC:%.c=$(B)/%.o)
HELPER_OBJ := $(HELPER_SRC:%.c=$(B)/%.o)
PAM_OBJ    := $(PAM_SRC:%.c=$(B)/%.o)

LIBA       := $(B)/libtmpfs-sweep.a
HELPER     := $(B)/tmpfs-sweep
PAMMOD     := $(B)/pam_tmpfs_sweep.so
UNIT_BIN   := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)
TOOL_BIN   := $(TOOL_SRC:tests/tools/%.c=$(B)/tools/%)
BENCH_BIN  := $(BENCH_SRC:bench/%.c=$(B)/bench/%)

.PHONY: hooks all build-all deps check demo install uninstall clean help fuzz bench check-vm
all: $(HELPER) $(PAMMOD) $(TOOL_BIN)

# Every binary the tree has: what `all` builds, the unit tests, the benchmarks and the
# test-hooks helper (CI builds it once more with clang -Werror: B=build-clang CC=clang).
build-all: all $(UNIT_BIN) $(BENCH_BIN) hooks

# Each compile writes its own header dependencies (-MMD -MP: a removed header is no error).
DEPFLAGS = -MMD -MP -MT $@ -MF $@.d

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(CFLAGS) $(DEPFLAGS) -fPIC -c -o $@ $<

$(LIBA): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(HELPER): $(HELPER_OBJ) $(LIBA)
	$(CC) $(BASE_CFLAGS) $(CFLAGS) -pie $(LDFLAGS_COMMON) $(LDFLAGS) -o $@ $(HELPER_OBJ) $(LIBA) $(LIBS)

$(PAMMOD): $(PAM_OBJ) $(LIBA) pam_module/pam_tmpfs_sweep.map
	$(CC) $(BASE_CFLAGS) $(CFLAGS) -shared $(LDFLAGS_COMMON) $(LDFLAGS) \
		-Wl,--version-script=pam_module/pam_tmpfs_sweep.map -o $@ $(PAM_OBJ) $(LIBA) \
		$(shell pkg-config --libs pam 2>/dev/null) $(LIBS)

$(B)/tests/%: tests/unit/%.c $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(CFLAGS) $(DEPFLAGS) $(LDFLAGS_COMMON) -o $@ $< $(LIBA) $(LIBS) \
		$(shell pkg-config --cflags --libs cmocka 2>/dev/null)

$(B)/tools/%: tests/tools/%.c $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(CFLAGS) $(DEPFLAGS) $(LDFLAGS_COMMON) -o $@ $< $(LIBA) $(LIBS) \
		$(shell pkg-config --libs pam pam_misc 2>/dev/null)

$(B)/bench/%: bench/%.c $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(CFLAGS) $(DEPFLAGS) $(LDFLAGS_COMMON) -o $@ $< $(LIBA) $(LIBS) \
		$(shell pkg-config --libs pam 2>/dev/null)

# libFuzzer target for the policy parser: clang, every lib/ object built again with the
# fuzzer's instrumentation into an archive, so the link takes whatever the parser needs.
# Runs FUZZ_SECONDS (default 60) seeded with the policy corpus (tests/policy/good and bad,
# the shipped conf) plus tests/fuzz/corpus/ (inputs found by fuzzing that the policy corpus
# does not have); new inputs and crashers land in $(B)/fuzz/.
FUZZ_SECONDS ?= 60
FUZZ_CFLAGS := $(filter-out -D_FORTIFY_SOURCE=3 -Werror,$(BASE_CFLAGS)) -g -O1 \
	-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
FUZZ_OBJ := $(LIB_SRC:%.c=$(B)/fuzz/%.o)
FUZZ_SEEDS = $(wildcard tests/policy/good/*.conf tests/policy/bad/*.conf conf/tmpfs-sweep.conf \
	tests/fuzz/corpus/*)

$(B)/fuzz/%.o: %.c
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) $(DEPFLAGS) -c -o $@ $<

$(B)/fuzz/libfuzz.a: $(FUZZ_OBJ)
	rm -f $@ && ar rcs $@ $^

$(B)/fuzz/fuzz_policy: tests/fuzz/fuzz_policy.c $(B)/fuzz/libfuzz.a
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer $(DEPFLAGS) -o $@ $< $(B)/fuzz/libfuzz.a $(LIBS)

fuzz: $(B)/fuzz/fuzz_policy
	@rm -rf $(B)/fuzz/corpus && mkdir -p $(B)/fuzz/corpus
	@i=0; for f in $(FUZZ_SEEDS); do i=$$((i + 1)); cp "$$f" $(B)/fuzz/corpus/seed-$$i; done
	cd $(B)/fuzz && ./fuzz_policy -max_total_time=$(FUZZ_SECONDS) -max_len=8192 \
		-timeout=10 -rss_limit_mb=1024 corpus

deps:
	@tools/deps.sh

# The whole suite: unit tests, then root integration tests; ends with "N passed, N failed".
# The helper again with test hooks (TMPFS_SWEEP_TEST_KILL_AFTER, ...) for the crash tests:
# $(B)/hooks/tmpfs-sweep. The installed build never honours them.
hooks:
	@$(MAKE) --no-print-directory B=$(B)/hooks TEST_HOOKS=1 $(B)/hooks/tmpfs-sweep

check: deps
	@$(MAKE) --no-print-directory all $(UNIT_BIN) WERROR=1
	@$(MAKE) --no-print-directory hooks WERROR=1
	@B=$(B) tests/run

# A Debian 12 guest under qemu (systemd, logind, pam_systemd, cgroup v2) with this build
# installed; runs tests/vm/guest/*.sh in it over ssh. Root; ends with "N passed, N failed".
check-vm: all
	@B=$(B) tests/vm/run.sh

demo: deps
	@$(MAKE) --no-print-directory all
	@B=$(B) tools/demo.sh

bench: deps
	@$(MAKE) --no-print-directory all $(BENCH_BIN)
	@B=$(B) bench/run

# Everything to its standard place under $(DESTDIR); the policy in $(SYSCONFDIR)/security
# is never overwritten, and the sshd PAM line goes to the docs: the admin adds it.
install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(LIBEXECDIR) $(DESTDIR)$(PAMDIR) \
		$(DESTDIR)$(SYSCONFDIR)/security $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8 \
		$(DESTDIR)$(UNITDIR) $(DESTDIR)$(TMPFILESDIR) $(DESTDIR)$(SYSCONFDIR)/logrotate.d \
		$(DESTDIR)$(DOCDIR)
	install -m 0755 $(HELPER) $(DESTDIR)$(LIBEXECDIR)/tmpfs-sweep
	ln -sf $(LIBEXECDIR)/tmpfs-sweep $(DESTDIR)$(SBINDIR)/tmpfs-sweep
	install -m 0644 $(PAMMOD) $(DESTDIR)$(PAMDIR)/pam_tmpfs_sweep.so
	test -e $(DESTDIR)$(SYSCONFDIR)/security/tmpfs-sweep.conf || \
		install -m 0644 conf/tmpfs-sweep.conf $(DESTDIR)$(SYSCONFDIR)/security/tmpfs-sweep.conf
	sed 's|/usr/sbin/tmpfs-sweep|$(SBINDIR)/tmpfs-sweep|' conf/tmpfs-sweep-gc.service \
		>$(B)/tmpfs-sweep-gc.service
	install -m 0644 $(B)/tmpfs-sweep-gc.service conf/tmpfs-sweep-gc.timer $(DESTDIR)$(UNITDIR)/
	install -m 0644 conf/tmpfs-sweep.tmpfiles $(DESTDIR)$(TMPFILESDIR)/tmpfs-sweep.conf
	install -m 0644 conf/tmpfs-sweep.logrotate $(DESTDIR)$(SYSCONFDIR)/logrotate.d/tmpfs-sweep
	install -m 0644 conf/pam.d-sshd-snippet $(DESTDIR)$(DOCDIR)/pam.d-sshd-snippet
	sed 's|/usr/sbin/tmpfs-sweep|$(SBINDIR)/tmpfs-sweep|' conf/tmpfs-sweep-unit.conf \
		>$(B)/tmpfs-sweep-unit.conf
	install -m 0644 $(B)/tmpfs-sweep-unit.conf $(DESTDIR)$(DOCDIR)/tmpfs-sweep-unit.conf
	for m in man/*.5; do [ -e "$$m" ] && install -m 0644 $$m $(DESTDIR)$(MANDIR)/man5/ || :; done
	for m in man/*.8; do [ -e "$$m" ] && install -m 0644 $$m $(DESTDIR)$(MANDIR)/man8/ || :; done

# Removes what install put; keeps the policy file (the admin's) and the audit log.
uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/tmpfs-sweep $(DESTDIR)$(LIBEXECDIR)/tmpfs-sweep \
		$(DESTDIR)$(PAMDIR)/pam_tmpfs_sweep.so \
		$(DESTDIR)$(UNITDIR)/tmpfs-sweep-gc.service $(DESTDIR)$(UNITDIR)/tmpfs-sweep-gc.timer \
		$(DESTDIR)$(TMPFILESDIR)/tmpfs-sweep.conf $(DESTDIR)$(SYSCONFDIR)/logrotate.d/tmpfs-sweep \
		$(DESTDIR)$(DOCDIR)/pam.d-sshd-snippet $(DESTDIR)$(DOCDIR)/tmpfs-sweep-unit.conf
	for m in man/*.5; do rm -f $(DESTDIR)$(MANDIR)/man5/$${m#man/}; done
	for m in man/*.8; do rm -f $(DESTDIR)$(MANDIR)/man8/$${m#man/}; done
	-rmdir $(DESTDIR)$(LIBEXECDIR) $(DESTDIR)$(DOCDIR) 2>/dev/null

clean:
	rm -rf build build-san build-clang

# Header dependencies written by the compiles above.
-include $(shell find $(B) -name '*.d' 2>/dev/null)

help:
	@echo "make            build helper ($(HELPER)) and PAM module ($(PAMMOD))"
	@echo "make check      install missing deps, build with -Werror, run all tests (root for integration)"
	@echo "make check SANITIZE=1   the same with ASan+UBSan"
	@echo "make check-vm   boot a Debian 12 systemd guest (qemu) with this build installed; run tests/vm/guest"
	@echo "make demo       build, then show a real session's tmpfs leftovers explained and swept"
	@echo "make build-all  every binary: helper, module, test tools, unit tests, benchmarks, hooks"
	@echo "make fuzz       fuzz the policy parser for FUZZ_SECONDS (default 60) with libFuzzer"
	@echo "make bench      benchmarks (ratios against anchors measured in the same run)"
	@echo "make install [DESTDIR=...] [PREFIX=/usr]"
	@echo "make uninstall [DESTDIR=...] [PREFIX=/usr]   (keeps the policy file)"
