#!/bin/bash
# The command line held to its documentation, each list taken from the code itself:
# the subcommands of helper/main.c's dispatch table are those of --help and of
# tmpfs-sweep(8); each subcommand's --help exits 0, and the options its usage line names
# are those of the --help command list and of the man page's synopsis, and each is
# accepted; every long option of the code is documented; the exit codes of helper.h are
# those --help and the man page's EXIT STATUS list.
. "$(dirname "$0")/../lib.sh"
man=$TOP/man/tmpfs-sweep.8
words() { echo $*; } # one line, for messages
opts_of() { grep -oE -- '--[a-z][a-z-]*' | grep -vx -- '--help' | sort -u; }
# A value an option takes that passes its own check, so that only --help decides.
value_of() {
	case $1 in
	--top | --jobs) echo 1 ;; --user) echo root ;; --since) echo 1 ;; --cgroup) echo / ;;
	--mount) echo /dev/shm ;; --conf) echo /nonexistent.conf ;; esac
}

help=$("$SWEEP" --help); rc=$?
check "--help exits 0" test $rc -eq 0

code_cmds=$(grep -oE '\{"[a-z-]+", cmd_[a-z_]+\}' "$TOP/helper/main.c" | cut -d'"' -f2 | sort)
help_cmds=$(sed -n '/^Commands:/,/^$/p' <<<"$help" | grep -oE '^  [a-z][a-z-]+' | tr -d ' ' | sort)
man_cmds=$(grep -E '^\.B tmpfs-sweep [a-z-]+$' "$man" | awk '{print $3}' | sort)
check "at least 7 subcommands in the dispatch table ($(words $code_cmds))" \
	test "$(wc -w <<<"$code_cmds")" -ge 7
check "subcommands: --help lists the dispatch table's ($(words $help_cmds))" \
	test "$code_cmds" = "$help_cmds"
check "subcommands: tmpfs-sweep(8) lists the dispatch table's ($(words $man_cmds))" \
	test "$code_cmds" = "$man_cmds"

all_documented=
for cmd in $code_cmds; do
	usage=$("$SWEEP" "$cmd" --help 2>&1); rc=$?
	check "$cmd --help exits 0 with its usage line" \
		eval '[ $rc -eq 0 ] && grep -q "^Usage: tmpfs-sweep $cmd" <<<"$usage"'
	u=$(head -n1 <<<"$usage" | opts_of)
	h=$(grep -E "^  $cmd( |\$)" <<<"$help" | sed -E 's/   .*//' | opts_of)
	m=$(sed -n "/^\\.B tmpfs-sweep $cmd\$/,/^\\.\\(br\\|SH\\)/p" "$man" | sed 's/\\-/-/g' | opts_of)
	check "$cmd: options of its usage ($(words $u)) = of --help ($(words $h))" test "$u" = "$h"
	check "$cmd: options of its usage ($(words $u)) = of tmpfs-sweep(8) ($(words $m))" \
		test "$u" = "$m"
	for o in $u; do
		"$SWEEP" "$cmd" "$o" $(value_of "$o") --help >/dev/null 2>&1
		check "$cmd accepts $o" test $? -eq 0
	done
	all_documented="$all_documented $u"
done
# The long options of every getopt table in the helper (other than --help).
code_opts=$(grep -ohE '\{"[a-z][a-z-]*", *(no|required|optional)_argument' "$TOP"/helper/*.c |
	cut -d'"' -f2 | grep -vx help | sort -u)
missing=
for o in $code_opts; do
	grep -qx -- "--$o" <<<"$(tr ' ' '\n' <<<"$all_documented")" || missing="$missing --$o"
done
check "every long option of the code is documented (missing:${missing:- none})" test -z "$missing"

code_exits=$(grep -oE 'EXIT_[A-Z]+ = [0-9]+' "$TOP/helper/helper.h" | awk '{print $3}' | sort -n)
help_exits=$(sed -n '/^Exit status:/,/^See/p' <<<"$help" | grep -oE '(^|[:,] )[0-9]+ [a-z]' |
	grep -oE '[0-9]+' | sort -n)
man_exits=$(sed -n '/^\.SH EXIT STATUS/,/^\.SH/p' "$man" | grep -A1 -x '\.TP' |
	sed -n 's/^\.B \([0-9]*\)$/\1/p' | sort -n)
check "exit codes: helper.h has 0 to 7 ($(words $code_exits))" test "$(words $code_exits)" = "0 1 2 3 4 5 6 7"
check "exit codes: --help lists helper.h's ($(words $help_exits))" test "$code_exits" = "$help_exits"
check "exit codes: tmpfs-sweep(8) lists helper.h's ($(words $man_exits))" test "$code_exits" = "$man_exits"
finish
