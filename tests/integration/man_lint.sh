#!/bin/bash
# Every man page is clean under mandoc's linter and groff's warnings, and the helper's
# --help and tmpfs-sweep(8) name the same subcommands and exit codes.
. "$(dirname "$0")/../lib.sh"
for m in "$TOP"/man/*.[58]; do
	[ -e "$m" ] || continue
	out=$(mandoc -T lint -W warning "$m" 2>&1; groff -ww -z -man "$m" 2>&1)
	check "$(basename "$m") lints clean${out:+: $out}" test -z "$out"
done
help=$("$SWEEP" --help)
for cmd in explain scan close gc sessions check-config dump-config; do
	check "--help and tmpfs-sweep(8) both document '$cmd'" \
		bash -c "grep -q '^  $cmd' <<<\"\$1\" && grep -q '^\\.B.* $cmd\$\\|^\\.B tmpfs-sweep $cmd\$\\|^\\.BR\\? $cmd\\b' '$TOP/man/tmpfs-sweep.8'" _ "$help"
done
for code in 0 1 2 3 4 5 6 7; do
	check "exit status $code is in --help and the man page" \
		bash -c "grep -q '$code [a-z]' <<<\"\$1\" && grep -qx '\\.B $code' '$TOP/man/tmpfs-sweep.8'" _ "$help"
done
finish
