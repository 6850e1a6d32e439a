#!/bin/bash
# THREATS.md 5 and 33 through real sessions (issue 15 §3): the logging-out user U1 keeps
# exchanging (renameat2 RENAME_EXCHANGE, in a directory of its own) a file of its own with
# a FIFO of a second account U2, on which U2's writer is blocked in open(). The close's walk
# statx()es the file, then opens it to scan its pages: it must never open the FIFO. fanotify
# (t_openwatch, which itself opens nothing) says who opens it; on main the close does within
# a few sessions and U2's writer is released.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/pam_common.bash"
source "$(dirname "$0")/threat_common.bash"
thr_setup
scratch_user U2
XCHG=$B/tools/thr_exchange WATCH=$B/tools/t_openwatch
[ -x "$XCHG" ] && [ -x "$WATCH" ] || skip_all "build first (thr_exchange, t_openwatch)"
echo "remove $P_SHM/** class=charged,created" >>"$P_CONF"

D=$P_SHM/x
run_as "$U1" mkdir -m 777 "$D"
run_as "$U1" dd if=/dev/zero of="$D/F" bs=64k count=1 status=none
run_as "$U2" mkfifo -m 600 "$D/P"
"$WATCH" "$D/P" "$T_SCRATCH/opens" "$T_SCRATCH/watching" &
at_exit "kill -9 $!"
wait_for 10 test -e "$T_SCRATCH/watching" || skip_all "no fanotify here"
run_as "$U2" sh -c "echo released >'$D/P'" &
WRITER=$!
at_exit "kill -9 $WRITER"
# (the exchanges start once the writer sleeps in open(): else it might open U1's file)
blocked() { for p in $(pgrep -u "$U2" -x sh); do grep -qE 'fifo|pipe|partner' "/proc/$p/wchan" && return; done; return 1; }
check "U2's writer is blocked on its FIFO" wait_for 10 blocked
run_as "$U1" "$XCHG" "$D/F" "$D/P" >/dev/null 2>&1 &
XPID=$!
at_exit "kill -9 $XPID"

rounds=5
for i in $(seq $rounds); do
	session "$U1" "$T_SCRATCH/s$i.out"
	check "round $i: the session closed" grep -qx close_ms=.* "$T_SCRATCH/s$i.out"
	# the close is done with the tree once the record is gone
	wait_for 10 test ! -e "$P_STATE/sessions/$SID"
done
sleep 0.2
sed 's/^/    opened by: /' "$T_SCRATCH/opens"
# our closes run the helper from LIBEXECDIR (.../tmpfs-sweep/tmpfs-sweep); an explain of
# another checkout on this machine walks every tmpfs and may open it too (not ours)
ours=$(grep -c 'tmpfs-sweep/tmpfs-sweep$' "$T_SCRATCH/opens")
check "none of $rounds closes opened U2's FIFO ($ours opens)" test "$ours" -eq 0
if [ "$(wc -l <"$T_SCRATCH/opens")" -eq 0 ]; then
	check "U2's writer is still blocked" blocked
fi
# (the exchanges stop first: two names looked at while they swap could miss both)
pkill -9 -u "$U1" -x thr_exchange
wait_for 10 eval '! pgrep -u "$U1" -x thr_exchange >/dev/null'
ls -l "$D" | sed 's/^/    # /'
check "U1's file and U2's FIFO are both still there" \
	eval 'test -p "$D/P" -a -f "$D/F" || test -p "$D/F" -a -f "$D/P"'
finish
