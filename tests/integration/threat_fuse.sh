#!/bin/bash
# THREATS.md 34: the user mounts its own FUSE file system (through /dev/fuse, for the
# user, as fusermount does; allow_other or not) on entries the walk has just listed, and
# the file system takes every request and never answers (whoever enters it sleeps in the
# kernel, unkillable). Timed with the TEST_HOOKS pause between the walk and the removal:
# - close: nothing enters the mounts (the servers see no request), the files under them
#   stay (skipped-changed: mount), the session's other file goes, the close is prompt;
# - gc of an orphaned session: the same;
# - a remover child stuck in the kernel anyway (TMPFS_SWEEP_TEST_REMOVER_ENTER makes it
#   look at a path on such a mount): left behind at the deadline and said so, not waited
#   for; the close returns;
# - spawn (the module's side): a helper stuck the same way is killed at the deadline and
#   not waited for, on the clone3 path and on the fork fallback.
# Every mount is aborted (fusectl) and lazily unmounted at exit, even on failure.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/pam_common.bash"
source "$(dirname "$0")/threat_common.bash"
thr_setup
FUSE=$B/tools/t_fuse
SPAWN=$B/tools/t_spawn
HS=$B/hooks/tmpfs-sweep
[ -x "$HS" ] || skip_all "build the hooks helper first (make hooks)"
[ -x "$FUSE" ] && [ -x "$SPAWN" ] || skip_all "build first (t_fuse, t_spawn)"
[ -c /dev/fuse ] || skip_all "no /dev/fuse"
FC=$T_SCRATCH/fusectl
mkdir "$FC"
mount -t fusectl fusectl "$FC" || skip_all "cannot mount fusectl"
at_exit "umount -l '$FC'"
U1_GID=$(id -g "$U1")

# fuse_on MOUNTPOINT [--allow-other]: a never-answering FUSE server for U1 on it (serving
# as U1 once mounted); its log's path in $FLOG, also listed in $FLOGS.
FLOGS=()
fuse_on() {
	local mnt=$1 log=$T_SCRATCH/fuse.$RANDOM.log pid conn; shift
	"$FUSE" "$mnt" "$U1_ID" "$U1_GID" "$@" --serve-as "$U1_ID" "$log" 2>>"$T_SCRATCH/fuse.err" &
	pid=$!
	if ! wait_for 10 grep -qs '^ready' "$log"; then
		echo "    t_fuse did not come up on $mnt: $(cat "$T_SCRATCH/fuse.err")"
		kill -9 "$pid"
		return 1
	fi
	conn=$(awk '/^ready/ {print $2}' "$log")
	# Abort first: whatever sleeps on it wakes up; then the mount goes, then the server.
	at_exit "echo 1 >'$FC/$conn/abort'; umount -l '$mnt'; kill -9 $pid"
	FLOG=$log
	FLOGS+=("$log")
}
# requests: what the servers were asked, besides INIT.
requests() { cat "${FLOGS[@]}" 2>/dev/null | grep -c '^op '; }

printf 'Watch %s\nStateDir %s\nAuditLog %s\nMetricsFile none\nTimeout 10s\nremove %s/** class=charged,created\n' \
	"$P_SHM" "$P_STATE" "$P_AUDIT" "$P_SHM" >"$P_CONF"

# paused CMD...: run the hooks helper (CMD: close ID / gc, --conf added) and the script in
# $MOUNTS while it is paused between its walk and its removal; $MS: how long the helper
# took once released.
paused() {
	local pf=$T_SCRATCH/pause.$RANDOM t0
	TMPFS_SWEEP_TEST_PAUSE_FILE=$pf timeout -s KILL 60 "$HS" "$@" --conf "$P_CONF" \
		>"$T_SCRATCH/helper.out" 2>&1 &
	local pid=$!
	if wait_for 20 test -e "$pf"; then
		eval "$MOUNTS"
	else
		echo "    the helper never paused"
	fi
	t0=$(date +%s%N)
	rm -f "$pf"
	wait "$pid"
	RC=$?
	MS=$((($(date +%s%N) - t0) / 1000000))
	echo "    $1: rc=$RC, ${MS} ms after the pause: $(head -c 300 "$T_SCRATCH/helper.out")"
}

# 1. close: a directory and a file of the session become the user's FUSE mounts.
open_only "$U1" "$T_SCRATCH/open1.out" \
	"run:$(as "$U1" sh -c "'mkdir $P_SHM/d && echo f >$P_SHM/f && echo g >$P_SHM/g'")"
check "close: the session was recorded" test -n "$SID"
MOUNTS='fuse_on "$P_SHM/d" && fuse_on "$P_SHM/f" --allow-other'
paused close "$SID"
check "close: finished, well within its Timeout (${MS} ms)" \
	eval '[ "$RC" -eq 0 ] && [ "$MS" -lt 8000 ]'
check "close: nothing entered the FUSE mounts (requests: $(requests))" test "$(requests)" -eq 0
check "close: the directory under a mount is skipped-changed (mount)" \
	expect_result "$P_SHM/d" skipped-changed "mount"
check "close: the file under a mount is skipped-changed (mount)" \
	expect_result "$P_SHM/f" skipped-changed "mount"
check "close: the session's other file was removed" \
	eval 'test ! -e "$P_SHM/g" && expect_result "$P_SHM/g" removed'
check "close: a session-close line" test -n "$(closeline)"

# 2. gc of an orphaned session (its process is gone): the same.
open_only "$U1" "$T_SCRATCH/open2.out" \
	"run:$(as "$U1" sh -c "'mkdir $P_SHM/d2 && echo g >$P_SHM/g2'")"
SID2=$SID
check "gc: the orphaned session was recorded" test -e "$P_STATE/sessions/$SID2"
MOUNTS='fuse_on "$P_SHM/d2" --allow-other'
paused gc
check "gc: finished, well within the Timeout (${MS} ms)" eval '[ "$RC" -eq 0 ] && [ "$MS" -lt 8000 ]'
check "gc: nothing entered the FUSE mounts (requests: $(requests))" test "$(requests)" -eq 0
check "gc: the directory under a mount is skipped-changed (mount)" \
	expect_result "$P_SHM/d2" skipped-changed "mount"
check "gc: the session's other file was removed" \
	eval 'test ! -e "$P_SHM/g2" && expect_result "$P_SHM/g2" removed'

# 3. A remover that does get stuck in the kernel is left at the deadline, not waited for.
mkdir -m 755 "$T_SCRATCH/fm"
chown "$U1" "$T_SCRATCH/fm"
fuse_on "$T_SCRATCH/fm" --allow-other
STUCK_LOG=$FLOG
printf 'Watch %s\nStateDir %s\nAuditLog %s\nMetricsFile none\nTimeout 3s\nremove %s/** class=charged,created\n' \
	"$P_SHM" "$P_STATE" "$P_AUDIT" "$P_SHM" >"$P_CONF"
open_only "$U1" "$T_SCRATCH/open3.out" "run:$(as "$U1" sh -c "'echo h >$P_SHM/h'")"
t0=$(date +%s%N)
TMPFS_SWEEP_TEST_REMOVER_ENTER=$T_SCRATCH/fm/x timeout -s KILL 60 "$HS" close "$SID" \
	--conf "$P_CONF" >"$T_SCRATCH/stuck.out" 2>&1
rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
echo "    stuck remover: rc=$rc, ${ms} ms"
check "stuck remover: it really entered the mount" grep -q '^op ' "$STUCK_LOG"
check "stuck remover: the close returned at its deadline (${ms} ms), not killed" \
	eval '[ "$rc" -ne 137 ] && [ "$ms" -lt 8000 ]'
check "stuck remover: the session-close line says it was left behind" \
	eval 'cfield reason | grep -q "left behind"'
check "stuck remover: the file it never reached is an error (not-run), still there" \
	eval 'test -e "$P_SHM/h" && expect_result "$P_SHM/h" error "not-run"'

# 4. The module's side: a helper stuck the same way is killed at the deadline and left.
for how in clone3 fork; do
	flag=; [ $how = fork ] && flag=--fork
	out=$(timeout -s KILL 30 "$SPAWN" $flag 1000 /usr/bin/stat "$T_SCRATCH/fm/y")
	echo "    spawn ($how): $out"
	check "spawn ($how): a stuck helper times out, not waited for ($out)" \
		eval '[[ "$out" =~ ^rc=-110\ ms=([0-9]+)$ ]] && [ "${BASH_REMATCH[1]}" -lt 5000 ]'
done
check "every audit line is JSON" eval 'json_valid_lines "$P_AUDIT" >/dev/null'
finish
