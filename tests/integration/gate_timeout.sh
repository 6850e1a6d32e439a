#!/bin/bash
# Issue 16, 4: the walk keeps the helper's Timeout. A session leaves ~100,000 entries (100
# directories of 1,000 empty files, made by one python process as the user) and the policy
# says `Timeout 50ms` and removes what the session created: the close says incomplete,
# the reason says time, nothing is removed, and the record stays for gc. (If the walk
# ignored the deadline, it would finish, the remover would find its time gone and the close
# would not say incomplete for the walk; THREATS.md 18.)
# Then the walk itself stops at the deadline, not only the deciding: with each directory's
# open (openat2) slowed by 10 ms under strace, a second session's close (the shared walk of
# closes and gc) and `tmpfs-sweep sweep` (its own walk) each open at most a few of the 100
# directories in their 50 ms, and so does gc's shared walk of the records they left (gc has
# no deadline of its own: each session's Timeout is all that stops it); a walk that ran on
# to its end would open all 100.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/pam_common.bash"
source "$(dirname "$0")/threat_common.bash"
thr_setup
W=$P_SHM
printf 'Watch %s\nStateDir %s\nAuditLog %s\nMetricsFile none\nTimeout 50ms\n%s\n' \
	"$P_SHM" "$P_STATE" "$P_AUDIT" "remove $W/** class=charged,created" >"$P_CONF"
check "the policy (Timeout 50ms) checks clean" "$SWEEP" check-config "$P_CONF"

mk="import os
for d in range(100):
    p = '$W/d%03d' % d
    os.mkdir(p)
    for f in range(1000):
        os.close(os.open('%s/f%04d' % (p, f), os.O_WRONLY | os.O_CREAT, 0o644))"
session "$U1" "$T_SCRATCH/out" "run:$(as "$U1" /usr/bin/python3 -c "\"$mk\"")"
n=$(find "$W" -type f | wc -l)
check "the session made 100,000 files" test "$n" -eq 100000
check "the close returned (close=success)" grep -qx close=success "$T_SCRATCH/out"
check "session-close: incomplete" test "$(cfield incomplete)" = true
check "session-close: the reason says time ($(cfield reason))" eval 'cfield reason | grep -q "incomplete: time"'
check "nothing removed: all 100,000 files are still there" test "$(find "$W" -type f | wc -l)" -eq 100000
check "nothing removed: the close says removed 0" test "$(cfield removed)" = 0
check "no line says removed" test "$(audit_lines file "$SID" | jq -r 'select(.result == "removed")' | wc -l)" -eq 0
lines=$(audit_lines file "$SID" | wc -l)
check "the lines there are ($lines) say reported, the cap named (time)" \
	test -z "$(audit_lines file "$SID" | jq -r 'select(.result != "reported" or (.detail | test("incomplete walk \\(time\\)") | not)) | .path' | head -n1)"
check "the record stays for gc (out of time)" test "$(n_records)" -eq 1
echo "    the helper walked $lines of ~100,100 entries in its 50 ms"

# $P_BIN/slowed: the helper under strace, each openat2 (a directory the walk enters) slowed
# by 10 ms; entered: how many of the 100 d### directories its last run opened.
printf '#!/bin/sh\nrm -f %s\nASAN_OPTIONS=detect_leaks=0 exec strace -f -qq -e trace=openat2 -e inject=openat2:delay_enter=10000 -o %s %s "$@"\n' \
	"$T_SAFE/strace.out" "$T_SAFE/strace.out" "$P_BIN/tmpfs-sweep" >"$P_BIN/slowed"
chmod 755 "$P_BIN/slowed"
entered() { grep -o 'openat2([0-9]*, "d[0-9][0-9][0-9]"' "$T_SAFE/strace.out" | sort -u | wc -l; }
# timed_out [TRIGGER]: the sessions whose session-close line says out of time (with
# TRIGGER: the lines, of that trigger, that say so)
timed_out() {
	audit_lines session-close | jq -r --arg t "${1:-}" \
		'select(($t == "" or .trigger == $t) and (.reason // "" | test("incomplete: time"))) | .session' |
		if [ -n "${1:-}" ]; then cat; else sort -u; fi | wc -l
}
pam_run slowed "$U1" open "run:$(as "$U1" touch "$W/second")" timed-close >"$T_SCRATCH/out2" 2>&1
check "a close under strace: session-close incomplete, out of time" test "$(timed_out)" -eq 2
check "the close's walk stopped at its deadline: $(entered) of 100 directories entered" \
	test -s "$T_SAFE/strace.out" -a "$(entered)" -le 20
"$P_BIN/slowed" sweep --cgroup "$P_CG" --user "$U1" --since "@$(date +%s)" --conf "$P_CONF" \
	>"$T_SCRATCH/sweep.out" 2>&1
check "sweep: its session-close incomplete, out of time" test "$(timed_out cgroup)" -eq 1
check "sweep's walk stopped at its deadline: $(entered) of 100 directories entered" \
	test -s "$T_SAFE/strace.out" -a "$(entered)" -le 20
recs=$(n_records)
: >"$P_AUDIT"
"$P_BIN/slowed" gc --conf "$P_CONF" >"$T_SCRATCH/gc.out" 2>&1
check "gc: the $recs records the closes and the sweep left swept again, out of time again" \
	test "$(timed_out)" -eq "$recs" -a "$recs" -ge 2
check "gc's walk stopped at its sessions' deadlines: $(entered) of 100 directories entered" \
	test -s "$T_SAFE/strace.out" -a "$(entered)" -le 20
check "every file is still there" test "$(find "$W" -type f | wc -l)" -eq 100001
finish
