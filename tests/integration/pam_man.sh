#!/bin/bash
# pam_tmpfs_sweep(8) is lint clean (mandoc -T lint, groff -ww) and agrees with the
# module's option parser (parse_options in pam_module/pam_tmpfs_sweep.c) both ways: every
# option the module parses is a tag of OPTIONS, every tag of OPTIONS is parsed, and the
# timeout's default and range are the module's.
source "$(dirname "$0")/../lib.sh"
man=$TOP/man/pam_tmpfs_sweep.8
src=$TOP/pam_module/pam_tmpfs_sweep.c
check "mandoc -T lint is clean" test -z "$(mandoc -T lint "$man" 2>&1)"
check "groff -ww is clean" test -z "$(groff -ww -z -man "$man" 2>&1)"
# The parser: `startswith(a, "conf=")`, `streq(a, "cgroup=create")`, ...; a test-hooks
# option (inside #ifdef TMPFS_SWEEP_TEST_HOOKS) is not the admin's.
parser=$(sed -n '/^static void parse_options(/,/^}/p' "$src" | sed '/#ifdef TMPFS_SWEEP_TEST_HOOKS/,/#endif/d')
code=$(grep -oE '(startswith|streq)\(a, "[a-z_]+=?[a-z]*"\)' <<<"$parser" | cut -d'"' -f2 | sort -u)
# The tags of OPTIONS: `.BI conf= PATH` -> conf=, `.B cgroup=create` -> cgroup=create.
tags=$(sed -n '/^\.SH OPTIONS/,/^\.SH/p' "$man" | grep -A1 -x '\.TP' | grep -E '^\.BI? ' |
	awk '{print $2}' | sed 's/\\-/-/g' | sort -u)
check "options found in the parser ($(echo $code))" test "$(wc -w <<<"$code")" -ge 6
check "the man page's OPTIONS are the parser's ($(echo $tags))" test "$code" = "$tags"
def=$(sed -n 's/^#define DEFAULT_TIMEOUT_NS (\([0-9]*\) \* NSEC_PER_SEC)$/\1/p' "$src")
max=$(sed -n 's/^#define MAX_TIMEOUT_S \([0-9]*\)$/\1/p' "$src")
txt=$(sed -n '/^\.BI timeout= SECONDS/,/^\.TP/p' "$man" | tr '\n' ' ')
check "timeout=: 1 to $max, default $def, as the module has them" \
	grep -q "1 to $max; default $def\\." <<<"$txt"
notes=$(sed -n '/^\.SH NOTES/,/^\.SH/p' "$man" | tr '\n' ' ')
check "NOTES: after pam_namespace.so, because of the session's own mount namespace" \
	grep -q 'Place it after \.BR pam_namespace\.so .*own mount namespace' <<<"$notes"
finish
