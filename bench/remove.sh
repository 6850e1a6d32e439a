#!/bin/bash
# bench/remove.sh: the safe removal of one batch (remove_batch(): a child with the user's
# credentials re-checks each item's identity with statx against the snapshot, then
# unlinkat) against the bare removal of the same files by the same user. What used to be
# remove_sticky.sh's "1,000 files in one batch well under 100 ms", as a ratio.
#
# Each round: FILES (default 1,000) empty files of a scratch user in one directory of a
# sticky (1777) scratch tmpfs, made by one python process as that user. Subject:
# `t_remove --user U M many/f0 ... many/fN` (a process start, the lstat snapshot of each
# item and its parent, the fork of the child, the batch); anchor: `setpriv --reuid U ...
# rm -f M/many/f0 ...` (a process start, an unlinkat per file). Rounds alternate, ROUNDS of
# each (default 7), medians. After every round the directory is empty, and for a batch
# every item was answered "removed" (checked once, untimed, before the rounds).
# Usage (root): B=build bench/remove.sh      env: ROUNDS, FILES
# shellcheck source=/dev/null
. "$(dirname "$0")/lib.sh"
bench_need
TR=$B/tools/t_remove
[ -x "$TR" ] || skip_all "bench: $TR not built (make)"
scratch_tmpfs M 64m || skip_all "bench: cannot mount a scratch tmpfs"
scratch_user U || skip_all "bench: cannot make a scratch user"
N=${FILES:-1000}
[ "$ROUNDS" -ge 1 ] || ROUNDS=1
AS_U=(setpriv --reuid "$U" --regid "$(id -g "$U")" --clear-groups)
mkdir -m 1777 "$M/many"
rels=() paths=()
for ((i = 0; i < N; i++)); do rels+=("many/f$i"); paths+=("$M/many/f$i"); done

make_files() {
	"${AS_U[@]}" /usr/bin/python3 -c '
import os, sys
for i in range(int(sys.argv[2])):
    os.close(os.open("%s/f%d" % (sys.argv[1], i), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))' \
		"$M/many" "$N"
}
empty() { [ -z "$(ls -A "$M/many")" ] || { echo "bench: files left in $M/many" >&2; exit 1; }; }

# First, untimed: the batch really removes every item (measure drops stdout).
make_files
"$TR" --user "$U" "$M" "${rels[@]}" >"$T_SCRATCH/answers" 2>/dev/null
[ "$(grep -c ' removed none 0$' "$T_SCRATCH/answers")" -eq "$N" ] ||
	{ echo "bench: not every item answered removed" >&2; exit 1; }
empty

bw=() bc=() aw=() ac=()
for ((r = 0; r < ROUNDS; r++)); do
	make_files
	measure w c "$TR" --user "$U" "$M" "${rels[@]}" 2>>"$T_SCRATCH/batch.err" || exit 1
	empty
	bw+=("$w") bc+=("$c")
	make_files
	measure w c "${AS_U[@]}" rm -f "${paths[@]}" || exit 1
	empty
	aw+=("$w") ac+=("$c")
done

mbw=$(median "${bw[@]}") mbc=$(median "${bc[@]}") maw=$(median "${aw[@]}") mac=$(median "${ac[@]}")
result "load" "$(load)" info
result "remove_batch wall/CPU (median, ms)" "$(ms "$mbw") / $(ms "$mbc")" info
result "rm -f wall/CPU (median, ms)" "$(ms "$maw") / $(ms "$mac")" info
result "remove/rm ratio" "$(ratio "$mbw" "$maw")" "<= 2.0"
result "remove/rm cpu ratio" "$(ratio "$mbc" "$mac")" "<= 1.5"
