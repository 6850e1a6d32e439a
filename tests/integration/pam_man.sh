#!/bin/bash
# pam_tmpfs_sweep(8) is lint clean (mandoc -T lint, groff -ww) and names every option
# the module parses.
source "$(dirname "$0")/../lib.sh"
man=$TOP/man/pam_tmpfs_sweep.8
src=$TOP/pam_module/pam_tmpfs_sweep.c
check "mandoc -T lint is clean" test -z "$(mandoc -T lint "$man" 2>&1)"
check "groff -ww is clean" test -z "$(groff -ww -z -man "$man" 2>&1)"
opts=$(grep -oE '(startswith|streq)\(a, "[a-z_]+=?[a-z]*"\)' "$src" | sed -E 's/.*"([a-z_]+=?)[a-z]*".*/\1/' |
	grep -v '^helper=$' | sort -u)
check "options found in the source" test "$(wc -w <<<"$opts")" -ge 5
txt=$(MANWIDTH=200 man -l "$man" 2>/dev/null | col -b)
for o in $opts; do
	check "man page documents $o" grep -qF -- "$o" <<<"$txt"
done
finish
