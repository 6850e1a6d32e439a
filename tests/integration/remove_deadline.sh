#!/bin/bash
# The removal child runs as the user, so the user can stop or kill it. A child stopped
# by the user mid-batch: remove_batch returns at its deadline, the child is killed and
# reaped, unanswered items are "error not-run", and every item reported removed is gone.
# A child killed by the user: unanswered items are "error not-run ECHILD", no hang.
# No clock is read: "at its deadline" is told by the answers (ETIMEDOUT: cut by the
# deadline; ECHILD: by the child's death, long before a 60 s deadline could), and "no hang"
# by the harness's timeout, a minute beyond the deadline (a batch that ignored it would
# wait for the stopped child forever and be killed there: status 124). The STOP deadline
# (5 s) leaves the user's signalling loop time to land even on a loaded machine.
. "$(dirname "$0")/../lib.sh"
need_root
TR=$B/tools/t_remove
scratch_tmpfs M 256m
scratch_user UA
uid=$(id -u "$UA")
as() { setpriv --reuid="$uid" --regid="$(id -g "$UA")" --clear-groups -- "$@"; }
N=20000
mkdir -m 1777 "$T_SCRATCH/flags"

for sig in STOP KILL; do
	rm -rf "$M/many"
	as /usr/bin/python3 -c '
import os, sys
os.mkdir(sys.argv[1]); os.chdir(sys.argv[1])
for i in range(int(sys.argv[2])): open("f%d" % i, "w").close()' "$M/many" $N
	# The user's own loop signalling any t_remove running as them (only the child is);
	# it leaves a flag when a signal was sent. One process (not a pkill per round): on a
	# loaded machine it must still land while the batch runs.
	hit=$T_SCRATCH/flags/hit-$sig
	if [ $sig = STOP ]; then dl=5000; else dl=60000; fi
	bg STOPPER as /usr/bin/python3 -c '
import os, signal, sys
sig, hit, me = getattr(signal, "SIG" + sys.argv[1]), sys.argv[2], os.getuid()
while True:
    for p in os.listdir("/proc"):
        try:
            if not p.isdigit() or os.stat("/proc/" + p).st_uid != me:
                continue
            with open("/proc/%s/comm" % p) as f:
                if f.read() != "t_remove\n":
                    continue
            os.kill(int(p), sig)
            open(hit, "w").close()
        except OSError:
            pass' $sig "$hit"
	start=$(date +%s%N)
	(cd "$M" && ls -f many | grep '^f' | sed 's|^|many/|') |
		timeout $((dl / 1000 + 60)) "$TR" --user "$UA" --deadline-ms $dl --stdin "$M" \
			>"$T_SCRATCH/out" 2>"$T_SCRATCH/err"
	st=${PIPESTATUS[1]}
	ms=$((($(date +%s%N) - start) / 1000000))
	kill -9 "$STOPPER"; pkill -9 -u "$uid"
	cat "$T_SCRATCH/err"
	removed=$(grep -c ' removed none 0$' "$T_SCRATCH/out")
	if [ $sig = STOP ]; then want='error not-run ETIMEDOUT'; else want='error not-run ECHILD'; fi
	notrun=$(grep -c " $want\$" "$T_SCRATCH/out")
	left=$(ls -f "$M/many" | grep -c '^f')
	echo "$sig: removed=$removed notrun=$notrun left=$left ms=$ms"
	check "$sig: the user's loop signalled the child" test -e "$hit"
	check "$sig: returned by itself (status $st, $ms ms; deadline $dl ms + 60 s: 124)" \
		[ "$st" -ne 124 ]
	check "$sig: the user's signal cut the batch short ($notrun not run)" [ "$notrun" -gt 0 ]
	check "$sig: every item answered removed or not-run" [ $((removed + notrun)) -eq $N ]
	# An item in flight may be gone without an answer: at most one such.
	check "$sig: files left match the answers" [ "$left" -ge $((notrun - 1)) ] && [ "$left" -le "$notrun" ]
	check "$sig: no child left behind" [ -z "$(pgrep -u "$uid" -x t_remove)" ]
done
finish
