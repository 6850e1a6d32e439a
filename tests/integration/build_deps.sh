#!/bin/bash
# `make` on a machine without the libraries the build needs stops before compiling anything,
# with one line naming the pkg-config modules, their Debian packages and `make deps`, not a
# compiler's "libmount.h: No such file" (what a fresh Debian 12 printed before). pkg-config
# is pointed at an empty directory (PKG_CONFIG_LIBDIR): none of pam, libsystemd and mount
# is found.
# Cost: ~1 s.
source "$(dirname "$0")/../lib.sh"
command -v make >/dev/null && command -v pkg-config >/dev/null || skip_all "no make or pkg-config"
mkdir "$T_SCRATCH/empty"
out=$(cd "$TOP" && PKG_CONFIG_LIBDIR=$T_SCRATCH/empty make --no-print-directory \
	B="$T_SCRATCH/b" all 2>&1)
rc=$?
check "make stops ($rc)" test "$rc" -ne 0
check "it names the modules, the packages and make deps: $(printf '%s' "$out" | grep tmpfs-sweep:)" eval \
	'printf "%s\n" "$out" | grep -q "^tmpfs-sweep: the build needs pkg-config and its modules pam libsystemd mount (Debian: libpam0g-dev libsystemd-dev libmount-dev; \`make deps\` as root installs them)$"'
check "no compiler ran, nothing was built" eval \
	'! printf "%s\n" "$out" | grep -q -- "-c -o" && [ -z "$(find "$T_SCRATCH/b" -name "*.o" 2>/dev/null)" ]'
finish
