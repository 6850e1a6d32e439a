#!/bin/bash
# The removal child can be stopped or killed only by root (it takes the user's
# filesystem identity alone: threat_remover.sh has the user's attempts). A child stopped
# mid-batch (a stall): remove_batch returns at its deadline, the child is killed and
# reaped, unanswered items are "error not-run", and every item reported removed is gone.
# A child killed mid-batch: unanswered items are "error not-run ECHILD", except the one
# whose unlink it had done without saying so: its handle finds no inode, "removed
# not-run". No hang, no child left behind, the answers match the files exactly.
. "$(dirname "$0")/../lib.sh"
need_root
TR=$B/tools/t_remove
scratch_tmpfs M 256m
scratch_user UA
uid=$(id -u "$UA")
as() { setpriv --reuid="$uid" --regid="$(id -g "$UA")" --clear-groups -- "$@"; }
N=20000

for sig in STOP KILL; do
	rm -rf "$M/many" "$T_SCRATCH/go" "$T_SCRATCH/go.ready" "$T_SCRATCH/held"
	as /usr/bin/python3 -c '
import os, sys
os.mkdir(sys.argv[1]); os.chdir(sys.argv[1])
for i in range(int(sys.argv[2])): open("f%d" % i, "w").close()' "$M/many" $N
	(cd "$M" && ls -f many | grep '^f' | sed 's|^|many/|') >"$T_SCRATCH/list"
	# Held at the 100th answer: the remover goes on until the result pipe is full (a few
	# thousand items), and is signalled by root meanwhile, whatever the machine's load.
	# KILL: a deadline that never comes first, however loaded the machine (what is not
	# answered is then ECHILD, never ETIMEDOUT).
	if [ $sig = STOP ]; then dl=3000; else dl=60000; fi
	"$TR" --user "$UA" --deadline-ms $dl --wait "$T_SCRATCH/go" \
		--hold-at 100 "$T_SCRATCH/held" --stdin "$M" \
		<"$T_SCRATCH/list" >"$T_SCRATCH/out" 2>"$T_SCRATCH/err" &
	trpid=$!
	wait_for 20 test -e "$T_SCRATCH/go.ready" || not_ok "$sig: t_remove never got ready"
	start=$(date +%s%N)
	touch "$T_SCRATCH/go"
	wait_for 20 test -e "$T_SCRATCH/held" || not_ok "$sig: t_remove never held"
	check "$sig: root signalled the remover" pkill -$sig -P $trpid -x t_remove
	rm -f "$T_SCRATCH/held"
	timeout 30 tail --pid=$trpid -f /dev/null
	ms=$((($(date +%s%N) - start) / 1000000))
	wait "$trpid" 2>/dev/null
	cat "$T_SCRATCH/err"
	removed=$(grep -c ' removed none 0$' "$T_SCRATCH/out")
	unconfirmed=$(grep -c ' removed not-run 0$' "$T_SCRATCH/out")
	if [ $sig = STOP ]; then want='error not-run ETIMEDOUT'; else want='error not-run ECHILD'; fi
	notrun=$(grep -c " $want\$" "$T_SCRATCH/out")
	left=$(ls -f "$M/many" | grep -c '^f')
	echo "$sig: removed=$removed unconfirmed=$unconfirmed notrun=$notrun left=$left ms=$ms"
	check "$sig: returned by itself (${ms} ms; deadline $dl ms + 60 s of slack)" [ "$ms" -lt $((dl + 60000)) ]
	check "$sig: the signal cut the batch short ($notrun not run)" [ "$notrun" -gt 0 ]
	check "$sig: every item answered removed or not-run" \
		[ $((removed + unconfirmed + notrun)) -eq $N ]
	# An item in flight may be gone without an answer: its handle says so.
	check "$sig: files left are exactly those not run" [ "$left" -eq "$notrun" ]
	check "$sig: the child was not left behind" grep -q 'abandoned=0' "$T_SCRATCH/err"
	check "$sig: no child left behind" [ -z "$(pgrep -P "$trpid")" ]
done
finish
