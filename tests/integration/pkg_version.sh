#!/bin/bash
# One version: debian/changelog's first entry is the source (the Makefile reads it, so
# `tmpfs-sweep --version` says it); tmpfs-sweep.spec's Version and its newest %changelog
# entry say the same. (pkg_deb.sh and pkg_rpm.sh check the built packages against it.)
source "$(dirname "$0")/../lib.sh"
[ -x "$SWEEP" ] || skip_all "build first ($B)"

if command -v dpkg-parsechangelog >/dev/null; then
	deb=$(cd "$TOP" && dpkg-parsechangelog -S Version)
else
	deb=$(sed -n '1s/^[^ ]* (\([^)]*\)).*/\1/p' "$TOP/debian/changelog")
fi
check "debian/changelog has a version ($deb), native (no Debian revision)" \
	grep -qE '^[0-9]+(\.[0-9]+)+$' <<<"$deb"
bin=$("$SWEEP" --version)
check "tmpfs-sweep --version ($bin) is the changelog's" test "$bin" = "tmpfs-sweep $deb"
spec=$(sed -n 's/^Version:[[:space:]]*//p' "$TOP/tmpfs-sweep.spec")
check "tmpfs-sweep.spec Version ($spec) is the changelog's" test "$spec" = "$deb"
speclog=$(sed -n '/^%changelog/,$ s/^\* .* - \([^ ]*\)$/\1/p' "$TOP/tmpfs-sweep.spec" | head -n1)
check "the spec's newest %changelog entry ($speclog) is for it" test "${speclog%-*}" = "$deb"
finish
