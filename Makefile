# tmpfs-sweep: PAM session module + helper that finds, attributes and sweeps what a
# login session left on tmpfs. `make help` lists the targets.

# The version has one source: the first line of debian/changelog (the Debian package's
# version; epoch and revision dropped). tmpfs-sweep.spec passes its Version as VERSION=, and
# tests/integration/pkg_version.sh checks that the two agree.
VERSION     := $(shell sed -n '1s/^[^ ]* (\([0-9]*:\)\{0,1\}\([^)-]*\).*/\2/p' debian/changelog 2>/dev/null)
ifeq ($(VERSION),)
$(error cannot read the version from debian/changelog; give VERSION=)
endif
PREFIX      ?= /usr
SYSCONFDIR  ?= /etc
SBINDIR     ?= $(PREFIX)/sbin
LIBEXECDIR  ?= $(PREFIX)/libexec/tmpfs-sweep
DATADIR     ?= $(PREFIX)/share
MANDIR      ?= $(DATADIR)/man
DOCDIR      ?= $(DATADIR)/doc/tmpfs-sweep
STATEDIR    ?= /run/tmpfs-sweep
DESTDIR     ?=
# System directories, as the distribution's pkg-config files give them (fallbacks for a
# build host without them). Merged /usr: an answer under /lib (Debian 12's pam.pc) is taken
# under /usr/lib, the same directory there. The unit directory is systemd.pc's as it is:
# Debian 12's debhelper finds units only in the /lib/systemd/system it names.
pc_var       = $(shell pkg-config --variable=$(2) $(1) 2>/dev/null)
or_default   = $(if $(1),$(1),$(2))
usr_merged   = $(patsubst /lib/%,/usr/lib/%,$(1))
PAMDIR      ?= $(call usr_merged,$(call or_default,$(call pc_var,pam,libdir),/usr/lib/$(shell $(CC) -print-multiarch 2>/dev/null)))/security
UNITDIR     ?= $(call or_default,$(call pc_var,systemd,systemdsystemunitdir),/usr/lib/systemd/system)
TMPFILESDIR ?= $(call usr_merged,$(call or_default,$(call pc_var,systemd,tmpfilesdir),/usr/lib/tmpfiles.d))
CATALOGDIR  ?= $(call usr_merged,$(call or_default,$(call pc_var,systemd,catalogdir),/usr/lib/systemd/catalog))
COMPLETIONSDIR ?= $(call or_default,$(call pc_var,bash-completion,completionsdir),$(DATADIR)/bash-completion/completions)

CC      ?= cc
PKGS    := pam libsystemd mount
B       := build

WARN    := -Wall -Wextra -Wformat=2 -Wshadow -Wmissing-prototypes -Wwrite-strings \
           -Wno-unused-parameter
# CPPFLAGS, CFLAGS and LDFLAGS from the environment or the command line are honoured
# (dpkg-buildflags, rpm's %set_build_flags); a _FORTIFY_SOURCE level they set wins over ours.
CPPFLAGS ?=
CFLAGS  ?= -O2 -g
LDFLAGS ?=
HARDEN  := $(if $(findstring _FORTIFY_SOURCE,$(CPPFLAGS) $(CFLAGS)),,-D_FORTIFY_SOURCE=3) \
           -fstack-protector-strong
BASE_CFLAGS := -std=gnu11 -D_GNU_SOURCE $(WARN) $(HARDEN) -fvisibility=hidden -Ilib \
           -DVERSION='"$(VERSION)"' -DSYSCONFDIR='"$(SYSCONFDIR)"' \
           -DLIBEXECDIR='"$(LIBEXECDIR)"' -DSTATEDIR='"$(STATEDIR)"' \
           $(shell pkg-config --cflags $(PKGS) 2>/dev/null) $(CPPFLAGS)
LDFLAGS_COMMON := -Wl,-z,relro,-z,now,--no-undefined
# The helper and the module link neither libsystemd nor libmount: they load them when
# first needed (lib/dl.c; dlopen is in glibc >= 2.34, -ldl for older ones). Tests, tools,
# benchmarks and the fuzzer may call them directly.
LIBS    := $(if $(shell printf '\043include <dlfcn.h>\nint main(void){return !dlopen;}' | \
             $(CC) -x c - -o /dev/null 2>/dev/null && echo y),,-ldl)
TEST_LIBS := $(LIBS) $(shell pkg-config --libs libsystemd mount 2>/dev/null)

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

.PHONY: hooks all build-all build-deps deps check demo install uninstall clean help fuzz bench check-vm
all: $(HELPER) $(PAMMOD) $(TOOL_BIN)

# Every binary the tree has: what `all` builds, the unit tests, the benchmarks and the
# test-hooks helper (CI builds it once more with clang -Werror: B=build-clang CC=clang).
build-all: all $(UNIT_BIN) $(BENCH_BIN) hooks

# Each compile writes its own header dependencies (-MMD -MP: a removed header is no error).
DEPFLAGS = -MMD -MP -MT $@ -MF $@.d

# The libraries the build needs (pkg-config name:Debian package): on a machine without them,
# one message naming them and their Debian packages, not a compiler's "libmount.h: No such
# file". `make deps` (root) installs them; `make check` and `make demo` do it themselves.
BUILD_DEPS := pam:libpam0g-dev libsystemd:libsystemd-dev mount:libmount-dev
build-deps:
	@mods=; pkgs=; command -v pkg-config >/dev/null || pkgs=" pkg-config"; \
	for d in $(BUILD_DEPS); do \
		pkg-config --exists "$${d%%:*}" 2>/dev/null || \
			{ mods="$$mods $${d%%:*}"; pkgs="$$pkgs $${d#*:}"; }; \
	done; \
	[ -z "$$pkgs" ] || { echo "tmpfs-sweep: the build needs pkg-config and its modules$$mods" \
		"(Debian:$$pkgs; \`make deps\` as root installs them)" >&2; exit 1; }

$(B)/%.o: %.c | build-deps
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
	$(CC) $(BASE_CFLAGS) $(CFLAGS) $(DEPFLAGS) $(LDFLAGS_COMMON) -o $@ $< $(LIBA) $(TEST_LIBS) \
		$(shell pkg-config --cflags --libs cmocka 2>/dev/null)

$(B)/tools/%: tests/tools/%.c $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(CFLAGS) $(DEPFLAGS) $(LDFLAGS_COMMON) -o $@ $< $(LIBA) $(TEST_LIBS) \
		$(shell pkg-config --libs pam pam_misc 2>/dev/null)

$(B)/bench/%: bench/%.c $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(CFLAGS) $(DEPFLAGS) $(LDFLAGS_COMMON) -o $@ $< $(LIBA) $(TEST_LIBS) \
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
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer $(DEPFLAGS) -o $@ $< $(B)/fuzz/libfuzz.a $(TEST_LIBS)

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
# installed and the .deb on board; runs tests/vm/guest/*.sh in it over ssh. Root; ends with
# "N passed, N failed".
check-vm: all deb-build
	@B=$(B) tests/vm/run.sh

demo: deps
	@$(MAKE) --no-print-directory all
	@B=$(B) tools/demo.sh

bench: deps
	@$(MAKE) --no-print-directory all $(BENCH_BIN)
	@B=$(B) bench/run

# Everything to its standard place under $(DESTDIR); the policy in $(SYSCONFDIR)/security
# is never overwritten, and the sshd PAM line goes to the docs: the admin adds it. The man
# pages get the version in their header.
install: $(HELPER) $(PAMMOD)
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(LIBEXECDIR) $(DESTDIR)$(PAMDIR) \
		$(DESTDIR)$(SYSCONFDIR)/security $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8 \
		$(DESTDIR)$(UNITDIR) $(DESTDIR)$(TMPFILESDIR) $(DESTDIR)$(SYSCONFDIR)/logrotate.d \
		$(DESTDIR)$(DOCDIR) $(DESTDIR)$(CATALOGDIR) $(DESTDIR)$(COMPLETIONSDIR)
	install -m 0755 $(HELPER) $(DESTDIR)$(LIBEXECDIR)/tmpfs-sweep
	ln -sfr $(DESTDIR)$(LIBEXECDIR)/tmpfs-sweep $(DESTDIR)$(SBINDIR)/tmpfs-sweep
	install -m 0644 $(PAMMOD) $(DESTDIR)$(PAMDIR)/pam_tmpfs_sweep.so
	test -e $(DESTDIR)$(SYSCONFDIR)/security/tmpfs-sweep.conf || \
		install -m 0644 conf/tmpfs-sweep.conf $(DESTDIR)$(SYSCONFDIR)/security/tmpfs-sweep.conf
	sed 's|/usr/sbin/tmpfs-sweep|$(SBINDIR)/tmpfs-sweep|' conf/tmpfs-sweep-gc.service \
		>$(B)/tmpfs-sweep-gc.service
	install -m 0644 $(B)/tmpfs-sweep-gc.service conf/tmpfs-sweep-gc.timer $(DESTDIR)$(UNITDIR)/
	install -m 0644 conf/tmpfs-sweep.tmpfiles $(DESTDIR)$(TMPFILESDIR)/tmpfs-sweep.conf
	install -m 0644 conf/tmpfs-sweep.logrotate $(DESTDIR)$(SYSCONFDIR)/logrotate.d/tmpfs-sweep
	install -m 0644 conf/tmpfs-sweep.catalog $(DESTDIR)$(CATALOGDIR)/tmpfs-sweep.catalog
	install -m 0644 conf/tmpfs-sweep.bash-completion $(DESTDIR)$(COMPLETIONSDIR)/tmpfs-sweep
	install -m 0644 conf/pam.d-sshd-snippet $(DESTDIR)$(DOCDIR)/pam.d-sshd-snippet
	sed 's|/usr/sbin/tmpfs-sweep|$(SBINDIR)/tmpfs-sweep|' conf/tmpfs-sweep-unit.conf \
		>$(B)/tmpfs-sweep-unit.conf
	install -m 0644 $(B)/tmpfs-sweep-unit.conf $(DESTDIR)$(DOCDIR)/tmpfs-sweep-unit.conf
	for m in man/*.[58]; do \
		sed '/^\.TH /s/"tmpfs-sweep [^"]*"/"tmpfs-sweep $(VERSION)"/' $$m \
			>$(DESTDIR)$(MANDIR)/man$${m##*.}/$${m#man/} && \
		chmod 0644 $(DESTDIR)$(MANDIR)/man$${m##*.}/$${m#man/} || exit 1; \
	done

# Removes what install put; keeps the policy file (the admin's) and the audit log.
uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/tmpfs-sweep $(DESTDIR)$(LIBEXECDIR)/tmpfs-sweep \
		$(DESTDIR)$(PAMDIR)/pam_tmpfs_sweep.so \
		$(DESTDIR)$(UNITDIR)/tmpfs-sweep-gc.service $(DESTDIR)$(UNITDIR)/tmpfs-sweep-gc.timer \
		$(DESTDIR)$(TMPFILESDIR)/tmpfs-sweep.conf $(DESTDIR)$(SYSCONFDIR)/logrotate.d/tmpfs-sweep \
		$(DESTDIR)$(CATALOGDIR)/tmpfs-sweep.catalog $(DESTDIR)$(COMPLETIONSDIR)/tmpfs-sweep \
		$(DESTDIR)$(DOCDIR)/pam.d-sshd-snippet $(DESTDIR)$(DOCDIR)/tmpfs-sweep-unit.conf
	for m in man/*.[58]; do rm -f $(DESTDIR)$(MANDIR)/man$${m##*.}/$${m#man/}; done
	-rmdir $(DESTDIR)$(LIBEXECDIR) $(DESTDIR)$(DOCDIR) 2>/dev/null

# ---- packages: a copy of the tree that ships (no build dirs, no tests) is built in
# build/deb/ or build/rpm/. What this make was given (SANITIZE=1, B=, CC=, flags: on its
# command line they are in the environment of recipes too) stays out of the package build.
PKG_FILES   := Makefile README.md conf debian helper lib man pam_module tmpfs-sweep.spec
PKG_SRC      = $(filter-out %~,$(shell find $(PKG_FILES) -type f 2>/dev/null))
PKG_ENV     := env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u CFLAGS -u CPPFLAGS -u LDFLAGS \
	-u SANITIZE -u WERROR -u TEST_HOOKS -u B -u CC -u VERSION
DEB_DIR     := build/deb
DEB_ARCH     = $(shell dpkg --print-architecture)
DEB_FILE     = $(DEB_DIR)/tmpfs-sweep_$(VERSION)_$(DEB_ARCH).deb
RPM_DIR     := build/rpm
.PHONY: deb deb-build rpm

# The .deb (dpkg-buildpackage -b), then lintian: no error and no warning (overrides only in
# debian/tmpfs-sweep.lintian-overrides, each with its reason).
deb: deb-build
	lintian --fail-on error,warning $(DEB_DIR)/tmpfs-sweep_$(VERSION)_$(DEB_ARCH).changes

deb-build: $(DEB_FILE)

$(DEB_FILE): $(PKG_SRC)
	rm -rf $(DEB_DIR) && mkdir -p $(DEB_DIR)/tmpfs-sweep-$(VERSION)
	tar -cf - $(PKG_FILES) | tar -C $(DEB_DIR)/tmpfs-sweep-$(VERSION) -xf -
	cd $(DEB_DIR)/tmpfs-sweep-$(VERSION) && $(PKG_ENV) dpkg-buildpackage -b -us -uc \
		>../build.log 2>&1 || { tail -n 40 ../build.log; exit 1; }
	@echo "deb: $@ (log: $(DEB_DIR)/build.log)"

# The RPM (rpmbuild -bb tmpfs-sweep.spec) from a tarball of the same tree. Off an RPM
# system (Debian's rpm package) the BuildRequires cannot be checked: RPMFLAGS=--nodeps.
RPMFLAGS    ?=
rpm: $(PKG_SRC)
	rm -rf $(RPM_DIR) && mkdir -p $(RPM_DIR)/SOURCES
	tar --transform 's|^|tmpfs-sweep-$(VERSION)/|' -czf $(RPM_DIR)/SOURCES/tmpfs-sweep-$(VERSION).tar.gz \
		$(PKG_FILES)
	$(PKG_ENV) rpmbuild -bb $(RPMFLAGS) --define "_topdir $(CURDIR)/$(RPM_DIR)" tmpfs-sweep.spec \
		>$(RPM_DIR)/build.log 2>&1 || { tail -n 40 $(RPM_DIR)/build.log; exit 1; }
	@ls $(RPM_DIR)/RPMS/*/*.rpm

clean:
	rm -rf build build-san build-clang

# Header dependencies written by the compiles above (not the packages' trees in build/deb
# and build/rpm, where etc/logrotate.d and the like are directories).
-include $(shell find $(B) \( -path $(B)/deb -o -path $(B)/rpm \) -prune -o -name '*.d' -type f \
	-print 2>/dev/null)

help:
	@echo "make            build helper ($(HELPER)) and PAM module ($(PAMMOD))"
	@echo "make check      install missing deps, build with -Werror, run all tests (root for integration)"
	@echo "make check SANITIZE=1   the same with ASan+UBSan"
	@echo "make check-vm   boot a Debian 12 systemd guest (qemu) with this build installed; run tests/vm/guest"
	@echo "make demo       build, then show a real session's tmpfs leftovers explained and swept"
	@echo "make build-all  every binary: helper, module, test tools, unit tests, benchmarks, hooks"
	@echo "make deps       install the Debian packages the build and the tests need (root)"
	@echo "make fuzz       fuzz the policy parser for FUZZ_SECONDS (default 60) with libFuzzer"
	@echo "make bench      benchmarks (ratios against anchors measured in the same run)"
	@echo "make deb        the Debian package in build/deb/ (dpkg-buildpackage -b), lintian clean"
	@echo "make rpm        the RPM in build/rpm/ (rpmbuild -bb tmpfs-sweep.spec; RPMFLAGS=--nodeps off RPM)"
	@echo "make install [DESTDIR=...] [PREFIX=/usr]"
	@echo "make uninstall [DESTDIR=...] [PREFIX=/usr]   (keeps the policy file)"
