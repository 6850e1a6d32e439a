#!/bin/bash
# bash completion (conf/tmpfs-sweep.bash-completion) against the helper it completes: every
# subcommand `tmpfs-sweep --help` lists is offered, and for each one every --option its
# --help line names; values where they can be listed (tmpfs mount points for --mount, users
# for --user); nothing is offered after an unknown word.
source "$(dirname "$0")/../lib.sh"
comp=$TOP/conf/tmpfs-sweep.bash-completion

# complete WORDS...: what the completion offers for the command line WORDS (the last word
# is the one being completed), one per line.
complete_words() {
	bash -c 'source "$1"; shift
		COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
		_tmpfs_sweep tmpfs-sweep "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
		printf "%s\n" "${COMPREPLY[@]}"' _ "$comp" "$@"
}
has_all() { # OFFERED WANTED...: each wanted word is offered
	local offered=$1 w; shift
	for w in "$@"; do grep -qxF -- "$w" <<<"$offered" || { echo "   missing $w"; return 1; }; done
}

help=$("$SWEEP" --help)
cmds=$(sed -n '/^Commands:/,/^$/s/^  \([a-z][a-z-]*\) .*/\1/p' <<<"$help")
check "--help lists the subcommands ($(echo $cmds))" test "$(wc -w <<<"$cmds")" -ge 7
# shellcheck disable=SC2086
check "every subcommand is offered after 'tmpfs-sweep'" has_all "$(complete_words tmpfs-sweep '')" $cmds
check "'tmpfs-sweep g' completes to gc only" test "$(complete_words tmpfs-sweep g)" = gc
check "'tmpfs-sweep --' offers --help and --version" has_all "$(complete_words tmpfs-sweep --)" --help --version
for c in $cmds; do
	# The options named on the subcommand's line(s) of --help.
	opts=$(sed -n '/^Commands:/,/^$/p' <<<"$help" | awk -v c="$c" '/^  [a-z]/ { on = ($1 == c) } on' |
		grep -oE -- '--[a-z][a-z-]*' | sort -u)
	[ -n "$opts" ] || continue
	# shellcheck disable=SC2086
	check "'tmpfs-sweep $c --' offers $(echo $opts)" has_all "$(complete_words tmpfs-sweep "$c" --)" $opts
done
mnt=$(awk '$3 == "tmpfs" { print $2; exit }' /proc/self/mounts)
check "scan --mount offers tmpfs mount points ($mnt)" \
	has_all "$(complete_words tmpfs-sweep scan --mount "${mnt:0:2}")" "$mnt"
check "scan --user offers users (root)" has_all "$(complete_words tmpfs-sweep scan --user ro)" root
check "nothing is offered after an unknown subcommand's option" \
	test -z "$(complete_words tmpfs-sweep frobnicate --)"
finish
