#!/bin/bash
# The removal child runs as the user, so the user can stop or kill it. A child stopped
# by the user mid-batch: remove_batch returns at its deadline, the child is killed and
# reaped, unanswered items are "error not-run", and every item reported removed is gone.
# A child killed by the user: unanswered items are "error not-run ECHILD", no hang.
. "$(dirname "$0")/../lib.sh"
need_root
TR=$B/tools/t_remove
scratch_tmpfs M 256m
scratch_user UA
uid=$(id -u "$UA")
as() { setpriv --reuid="$uid" --regid="$(id -g "$UA")" --clear-groups -- "$@"; }
N=20000

for sig in STOP KILL; do
	rm -rf "$M/many"
	as /usr/bin/python3 -c '
import os, sys
os.mkdir(sys.argv[1]); os.chdir(sys.argv[1])
for i in range(int(sys.argv[2])): open("f%d" % i, "w").close()' "$M/many" $N
	# The user's own loop signalling any t_remove running as them (only the child is).
	bg STOPPER as sh -c "while :; do pkill -$sig -u $uid -x t_remove; done"
	start=$(date +%s%N)
	(cd "$M" && ls -f many | grep '^f' | sed 's|^|many/|') |
		timeout 30 "$TR" --user "$UA" --deadline-ms 1500 --stdin "$M" >"$T_SCRATCH/out" 2>"$T_SCRATCH/err"
	ms=$((($(date +%s%N) - start) / 1000000))
	kill -9 "$STOPPER"; pkill -9 -u "$uid"
	cat "$T_SCRATCH/err"
	removed=$(grep -c ' removed none 0$' "$T_SCRATCH/out")
	if [ $sig = STOP ]; then want='error not-run ETIMEDOUT'; else want='error not-run ECHILD'; fi
	notrun=$(grep -c " $want\$" "$T_SCRATCH/out")
	left=$(ls -f "$M/many" | grep -c '^f')
	echo "$sig: removed=$removed notrun=$notrun left=$left ms=$ms"
	check "$sig: returned in time (${ms} ms < 10000)" [ "$ms" -lt 10000 ]
	check "$sig: the user's signal cut the batch short ($notrun not run)" [ "$notrun" -gt 0 ]
	check "$sig: every item answered removed or not-run" [ $((removed + notrun)) -eq $N ]
	# An item in flight may be gone without an answer: at most one such.
	check "$sig: files left match the answers" [ "$left" -ge $((notrun - 1)) ] && [ "$left" -le "$notrun" ]
	check "$sig: no child left behind" [ -z "$(pgrep -u "$uid" -x t_remove)" ]
done
finish
