#!/bin/bash
# Every man page is clean under mandoc's linter and groff's warnings. (docs_cli.sh holds
# the helper's --help and tmpfs-sweep(8) to the code.)
. "$(dirname "$0")/../lib.sh"
for m in "$TOP"/man/*.[58]; do
	[ -e "$m" ] || continue
	out=$(mandoc -T lint -W warning "$m" 2>&1; groff -ww -z -man "$m" 2>&1)
	check "$(basename "$m") lints clean${out:+: $out}" test -z "$out"
done
finish
