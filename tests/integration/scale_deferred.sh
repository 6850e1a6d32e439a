#!/bin/bash
# THREATS.md 36 / issue 15 §2: 600 deferred records of a user who stays logged in. Every
# gc run answered "another session?" for each deferred record by reading every record
# again: 600 x 600 record reads a run, for nothing. Now gc reads the records once a run:
# counted (strace, the opens of record files), not timed.
# - gc while the user's session lives: every record is left (deferred), nothing removed,
#   no audit line, and fewer than 4 record opens per record (the old code stopped at the
#   first live record it read: as few or as many as the directory's order made it);
# - gc once that session has ended: fewer than 8 record opens per record (the old code
#   read every record for each: 360,000), every record swept and gone, the one file
#   removed and audited once (600 records claim it, one line);
# - and one walk of the watched mount for all 600 records (strace: the reads of its root),
#   each record its own session-close line; also when the run before was killed half-way
#   (every record left closing, resumed): the old code walked the tree once per record.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/pam_common.bash"
source "$(dirname "$0")/threat_common.bash"
thr_setup
command -v strace >/dev/null || skip_all "no strace"
# (LeakSanitizer cannot run under ptrace: a SANITIZE=1 build's leak check is off for the
# gc runs strace counts.)
N=600
printf 'Watch %s\nStateDir %s\nAuditLog %s\nMetricsFile none\nTimeout 30s\n' \
	"$P_SHM" "$P_STATE" "$P_AUDIT" >"$P_CONF"
printf 'OtherSessions defer\nremove %s/** class=charged,created\n' "$P_SHM" >>"$P_CONF"
fl=$T_SCRATCH/flags
mkdir -p "$fl"

# One real session that ended without its close (its process gone), made deferred as a
# close during another session makes it; then N-1 more like it.
open_only "$U1" "$T_SCRATCH/open.out" "run:$(as "$U1" sh -c "'echo left >$P_SHM/left'")"
SA=$SID
rec=$P_STATE/sessions/$SA
check "the session was recorded" test -n "$SA" -a -e "$rec"
end=$(($(date +%s%N) + 1000000))
sed -i -e 's/^state=.*/state=deferred/' -e '/^end_ns=/d' "$rec"
echo "end_ns=$end" >>"$rec"
cp "$rec" "$T_SCRATCH/template"
for i in $(seq 2 $N); do
	id=9$i-$((1700000000000000000 + i))
	sed "s/^id=.*/id=$id/" "$rec" >"$P_STATE/sessions/$id"
done
chmod 600 "$P_STATE"/sessions/*
check "$N deferred records" test "$(grep -lx state=deferred "$P_STATE"/sessions/* | wc -l)" -eq $N
# what gc would write: lines other than session-open (the live session's own)
not_open() { jq -c 'select(.event != "session-open")' "$1" | wc -l; }
n0=$(not_open "$P_AUDIT")

# gc while the user has a live session.
pam_run tmpfs-sweep "$U1" open \
	"run:env ASAN_OPTIONS=detect_leaks=0 strace -f -qq -e trace=openat -o $fl/strace $SWEEP gc --conf $P_CONF >$fl/gc.out 2>&1; echo \$? >$fl/gc.rc" \
	"run:ls $P_SHM >$fl/ls" "run:cp $P_AUDIT $fl/audit-mid" close >"$T_SCRATCH/live.out" 2>&1
opens=$(grep -cE 'openat\([^"]*"[1-9][0-9]*-[0-9]+"' "$fl/strace")
echo "    gc while logged in: $opens record opens for $N records"
check "gc exits 0" test "$(cat "$fl/gc.rc")" = 0
check "gc left every record (the user is logged in)" \
	test "$(grep -lx state=deferred "$P_STATE"/sessions/* | wc -l)" -eq $N
check "the file stayed" grep -qx left "$fl/ls"
check "gc wrote no audit line" test "$(not_open "$fl/audit-mid")" -eq "$n0"
check "records were read once a run, not once per record ($opens opens < $((4 * N)))" \
	test "$opens" -gt 0 -a "$opens" -lt $((4 * N))

# The user has left: gc sweeps them all, in one walk; killed (the hooks helper) once the
# first intents are journaled, it leaves every record of that walk closing (marked so
# before it) ...
HS=$B/hooks/tmpfs-sweep
if [ -x "$HS" ]; then
	(TMPFS_SWEEP_TEST_KILL_AT_INTENTS=1 ASAN_OPTIONS=detect_leaks=0 "$HS" gc --conf "$P_CONF"
	 exit $?) >"$T_SCRATCH/gc-killed.out" 2>&1
	check "gc killed once the intents were journaled" test $? -eq 137
	check "... with every record closing" \
		test "$(grep -lx state=closing "$P_STATE"/sessions/* | wc -l)" -eq $N
	check "... and the file still there" test -e "$P_SHM/left"
fi
# ... and the next run resumes them all, in one walk again (one after another, each its
# own walk, a run would take as long as the one killed, and be killed again).
# -y names each getdents64's directory: the reads of the watched mount's root are walks.
ASAN_OPTIONS=detect_leaks=0 strace -f -qq -y -e trace=openat,getdents64 -o "$T_SCRATCH/strace2" \
	"$SWEEP" gc --conf "$P_CONF" >"$T_SCRATCH/gc2.out" 2>&1
opens=$(grep -cE 'openat\([^"]*"[1-9][0-9]*-[0-9]+"' "$T_SCRATCH/strace2")
reads=$(grep -cE "getdents64\([0-9]+<$P_SHM>, .*= [1-9]" "$T_SCRATCH/strace2")
echo "    gc once logged out: $opens record opens, $reads reads of the mount's root for $N records"
check "records were read once a run, not once per record ($opens opens < $((8 * N)))" \
	test "$opens" -gt 0 -a "$opens" -lt $((8 * N))
check "the $N records shared one walk of the mount ($reads reads of its root, not $N)" \
	test "$reads" -ge 1 -a "$reads" -le 2
check "each record has its own session-close line" \
	test "$(audit_lines session-close | jq -r 'select(.trigger == "gc") | .session' | sort -u | wc -l)" -eq $N
check "gc swept every record" test "$(grep -c '^sweeping ' "$T_SCRATCH/gc2.out")" -eq $N
check "no record is left" test "$(n_records)" -eq 0
check "the file was removed" test ! -e "$P_SHM/left"
check "and audited removed once" test "$(audit_lines file | jq -r 'select(.path == "'"$P_SHM/left"'" and .result == "removed") | .session' | wc -l)" -eq 1
check "with no other line (the other records leave it to the first)" \
	test "$(audit_lines file | jq -r 'select(.path == "'"$P_SHM/left"'") | .session' | wc -l)" -eq 1

# A low open-file limit (each record of a walk holds its lock and its mount's root until
# it is finished): the run makes as many walks as the limit needs, and sweeps every record.
# (the copies' ids: 8N-17000...; a real session's id is PID-START and its pid may begin with 8)
M=200
for i in $(seq 1 $M); do
	id=8$i-$((1700000000000000000 + i))
	sed "s/^id=.*/id=$id/" "$T_SCRATCH/template" >"$P_STATE/sessions/$id"
done
chmod 600 "$P_STATE"/sessions/*
n0=$(audit_lines session-close | wc -l)
ASAN_OPTIONS=detect_leaks=0 prlimit --nofile=128:128 strace -f -qq -y -e trace=getdents64 \
	-o "$T_SCRATCH/strace3" "$SWEEP" gc --conf "$P_CONF" >"$T_SCRATCH/gc3.out" 2>&1
reads=$(grep -cE "getdents64\([0-9]+<$P_SHM>, .*= [1-9]" "$T_SCRATCH/strace3")
echo "    gc of $M records with 128 descriptors: $reads reads of the mount's root"
check "with 128 descriptors, gc swept all $M records" test "$(n_records)" -eq 0
check "each with its own session-close line, none incomplete" \
	test "$(audit_lines session-close | jq -r 'select(.session | test("^8[0-9]+-17000")) |
		select(.incomplete | not) | .session' | sort -u | wc -l)" -eq $M \
	-a "$(audit_lines session-close | wc -l)" -eq $((n0 + M))
audit_lines session-close | jq -r 'select(.session | test("^8[0-9]+-17000")) | select(.incomplete) |
	"    incomplete: \(.session) \(.reason)"' | sort | uniq -c -f2 | head -5
check "in several walks ($reads), not one per record" test "$reads" -gt 1 -a "$reads" -lt $((M / 4))
check "every audit line is JSON" eval 'json_valid_lines "$P_AUDIT" >/dev/null'
finish
