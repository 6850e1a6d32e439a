#!/bin/bash
# Issue 15 §5: gc and the end of a session's window.
# 1. A record from another boot (a StateDir kept across boots: its boot_id is another's)
#    while the same user has a live session that has just written a file: gc drops the
#    record without sweeping (a tmpfs does not outlive a boot, and what has those names
#    now is this boot's): the live session's file and the old session's own file stay,
#    the session-close line says why, no file line; --dry-run only says it would.
#    (It used to sweep such a record as final, its window ending at gc time, with no
#    other-sessions check: the live session's file was removed.)
# 2. A close of this boot interrupted (killed once its intents are journaled); the user
#    logs in again and writes a file; gc resumes the old close (OtherSessions proceed):
#    the window ends where that close began, never at gc time: the old session's file
#    goes, the new session's file stays.
# 3. An orphan of this boot (its process gone, close never ran) while the user has a
#    live session, OtherSessions defer: never final, deferred, nothing removed.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/pam_common.bash"
source "$(dirname "$0")/threat_common.bash"
thr_setup
HS=$B/hooks/tmpfs-sweep
[ -x "$HS" ] || skip_all "build the hooks helper first (make hooks)"
policy() { # OTHERSESSIONS
	printf 'Watch %s\nStateDir %s\nAuditLog %s\nMetricsFile none\nTimeout 30s\n' \
		"$P_SHM" "$P_STATE" "$P_AUDIT" >"$P_CONF"
	printf 'OtherSessions %s\nremove %s/** class=charged,created\n' "$1" "$P_SHM" >>"$P_CONF"
}
policy defer
fl=$T_SCRATCH/flags
mkdir -p "$fl"

# 1. Another boot.
open_only "$U1" "$T_SCRATCH/open1.out" "run:$(as "$U1" sh -c "'echo old >$P_SHM/old'")"
SA=$SID
rec=$P_STATE/sessions/$SA
check "the old session was recorded" test -n "$SA" -a -e "$rec"
other=$(cat /proc/sys/kernel/random/uuid)
sed -i "s/^boot_id=.*/boot_id=$other/" "$rec"
check "its record now says another boot" grep -qx "boot_id=$other" "$rec"
# Nor did its cgroup outlive that boot (it would tell the live session's pages apart).
cg=$(sed -n 's/^cgroup=//p' "$rec")
check "its session cgroup is gone" eval '[ -n "$cg" ] && rmdir "$(memcg_mnt)$cg"'
n0=$(wc -l <"$P_AUDIT")
"$SWEEP" gc --dry-run --conf "$P_CONF" >"$T_SCRATCH/dry.out" 2>&1
check "dry run: it would drop the record, not sweep it" \
	grep -q "^would drop $SA .*another boot" "$T_SCRATCH/dry.out"
check "dry run: the record stays, no audit line" \
	eval 'test -e "$rec" && [ "$(wc -l <"$P_AUDIT")" -eq "$n0" ]'
pam_run tmpfs-sweep "$U1" open "run:$(as "$U1" sh -c "'echo live >$P_SHM/live'")" \
	"run:$SWEEP gc --conf $P_CONF >$fl/gc1.out 2>&1; echo \$? >$fl/gc1.rc" \
	"run:ls $P_SHM >$fl/ls1" close >"$T_SCRATCH/b1.out" 2>&1
sed 's/^/    gc: /' "$fl/gc1.out"
check "gc exits 0" test "$(cat "$fl/gc1.rc")" = 0
check "gc says it drops the record of another boot" \
	grep -q "^dropping $SA .*another boot" "$fl/gc1.out"
check "the live session's file survived gc" grep -qx live "$fl/ls1"
check "the old session's file was not swept either" grep -qx old "$fl/ls1"
check "the record is gone" test ! -e "$rec"
check "no file line for the dropped session" test -z "$(audit_lines file "$SA")"
check "its session-close line says it was dropped from another boot, trigger gc" \
	eval '[ "$(cfield trigger "$SA")" = gc ] && [ "$(cfield files "$SA")" = 0 ] &&
		cfield reason "$SA" | grep -q "another boot: dropped, not swept"'
rm -f "$P_SHM/old"

# 2. An interrupted close resumed by gc: its window ends where the close began.
policy proceed
open_only "$U1" "$T_SCRATCH/open2.out" "run:$(as "$U1" sh -c "'echo mine >$P_SHM/mine'")"
SB=$SID
TMPFS_SWEEP_TEST_KILL_AT_INTENTS=1 "$HS" close "$SB" --conf "$P_CONF" >/dev/null 2>&1
check "the close was killed: the record is left closing" \
	grep -qx 'state=closing' "$P_STATE/sessions/$SB"
check "the closing record keeps where its window ends" grep -q '^end_ns=' "$P_STATE/sessions/$SB"
# Its cgroup ended with it (as a logind scope does): only birth times tell sessions apart.
cg=$(sed -n 's/^cgroup=//p' "$P_STATE/sessions/$SB")
check "its session cgroup is gone" eval '[ -n "$cg" ] && rmdir "$(memcg_mnt)$cg"'
sleep 0.05 # a birth time after the killed close's, whatever the clock's grain
pam_run tmpfs-sweep "$U1" open "run:$(as "$U1" sh -c "'echo later >$P_SHM/later'")" \
	"run:$SWEEP gc --conf $P_CONF >$fl/gc2.out 2>&1; echo \$? >$fl/gc2.rc" \
	"run:ls $P_SHM >$fl/ls2" close >"$T_SCRATCH/b2.out" 2>&1
sed 's/^/    gc: /' "$fl/gc2.out"
check "gc resumed the interrupted close" grep -q "^sweeping $SB .*interrupted" "$fl/gc2.out"
check "the old session's file was removed" \
	eval '! grep -qx mine "$fl/ls2" && expect_result "$P_SHM/mine" removed'
check "the new session's file, born after that close, survived gc" grep -qx later "$fl/ls2"
check "and the resumed close has no line for it" test -z "$(fline "$P_SHM/later" "$SB")"

# 3. An orphan of this boot while the user is logged in: deferred, not final.
policy defer
open_only "$U1" "$T_SCRATCH/open3.out" "run:$(as "$U1" sh -c "'echo orphan >$P_SHM/orphan'")"
SC=$SID
pam_run tmpfs-sweep "$U1" open \
	"run:$SWEEP gc --conf $P_CONF >$fl/gc3.out 2>&1; echo \$? >$fl/gc3.rc" \
	"run:ls $P_SHM >$fl/ls3" "run:cp $P_STATE/sessions/$SC $fl/rec3" close \
	>"$T_SCRATCH/b3.out" 2>&1
sed 's/^/    gc: /' "$fl/gc3.out"
check "gc looked at the orphan" grep -q "^sweeping $SC .*process is gone" "$fl/gc3.out"
check "the orphan's file stayed while the user was logged in" grep -qx orphan "$fl/ls3"
check "the orphan's record was kept, deferred" grep -qx 'state=deferred' "$fl/rec3"
check "its file line says deferred" expect_result "$P_SHM/orphan" deferred
check "every audit line is JSON" eval 'json_valid_lines "$P_AUDIT" >/dev/null'
finish
