#!/bin/bash
# THREATS.md 35: the user cannot signal, stop or renice the remover. The remover child of
# a real close (pam_host -> module -> record; the hooks helper, paused in the child once it
# has taken the user's identity: TMPFS_SWEEP_TEST_REMOVER_PAUSE_FILE) has the user's
# filesystem identity only: fsuid and fsgid the user's, real/effective/saved ids root's,
# no capability. The user's kill -STOP, kill -KILL and renice fail with EPERM, the child
# goes on, and the user's files are removed with the user's permissions.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/pam_common.bash"
source "$(dirname "$0")/threat_common.bash"
thr_setup
HS=$B/hooks/tmpfs-sweep
[ -x "$HS" ] || skip_all "build the hooks helper first (make hooks)"
U1_GID=$(id -g "$U1")
printf 'Watch %s\nStateDir %s\nAuditLog %s\nMetricsFile none\nTimeout 60s\nremove %s/** class=charged,created\n' \
	"$P_SHM" "$P_STATE" "$P_AUDIT" "$P_SHM" >"$P_CONF"

open_only "$U1" "$T_SCRATCH/open.out" \
	"run:$(as "$U1" sh -c "'for f in a b c; do echo \$f >$P_SHM/\$f; done'")"
check "the session was recorded" test -n "$SID"
pf=$T_SCRATCH/remover.pid
TMPFS_SWEEP_TEST_REMOVER_PAUSE_FILE=$pf timeout -s KILL 90 "$HS" close "$SID" --conf "$P_CONF" \
	>"$T_SCRATCH/close.out" 2>&1 &
cpid=$!
at_exit "kill -9 $cpid"
if wait_for 30 test -s "$pf"; then
	rpid=$(cat "$pf")
	# The pause file is written before the drop: wait until the identity is taken.
	wait_for 10 eval 'awk -v u="$U1_ID" '"'"'$1 == "Uid:" && $5 == u {f = 1} END {exit !f}'"'"' /proc/$rpid/status'
	st=$(grep -E '^(Uid|Gid|CapEff|CapPrm|State):' "/proc/$rpid/status" | tr -s '\t ' ' ')
	echo "$st" | sed 's/^/    /'
	check "the remover's uids are root's but its fsuid the user's" \
		grep -qx "Uid: 0 0 0 $U1_ID" <<<"$st"
	check "the remover's gids are root's but its fsgid the user's" \
		grep -qx "Gid: 0 0 0 $U1_GID" <<<"$st"
	check "the remover holds no capability" \
		eval 'grep -qx "CapEff: 0000000000000000" <<<"$st" && grep -qx "CapPrm: 0000000000000000" <<<"$st"'
	for sig in STOP KILL; do
		err=$(run_as "$U1" kill -s $sig "$rpid" 2>&1)
		check "the user's kill -$sig fails with EPERM ($err)" \
			eval '[ -n "$err" ] && grep -q "Operation not permitted" <<<"$err"'
	done
	err=$(run_as "$U1" renice -n 19 -p "$rpid" 2>&1)
	check "the user's renice fails with EPERM ($err)" grep -q "Permission denied\|not permitted" <<<"$err"
	check "the remover is alive and not stopped" \
		eval 'awk '"'"'$1 == "State:" && $2 != "T" {f = 1} END {exit !f}'"'"' /proc/$rpid/status'
	check "its nice value is still 0" test "$(ps -o ni= -p "$rpid" | tr -d ' ')" = 0
	rm -f "$pf"
else
	not_ok "the remover never paused"
fi
wait "$cpid"
rc=$?
echo "    close rc=$rc: $(head -c 300 "$T_SCRATCH/close.out")"
check "the close finished (rc $rc)" test "$rc" -eq 0
for f in a b c; do
	check "$f: removed with the user's permissions" \
		eval 'test ! -e "$P_SHM/$f" && expect_result "$P_SHM/$f" removed'
done
finish
