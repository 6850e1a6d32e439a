#!/bin/bash
# gc sweeps the records of a run with one walk per mount (lib/coalesce.c), each exactly as
# a sweep of it alone, one after another in the order of their ids, would have. Deferred
# records of one user, all due (the user has no session left), over files born at known
# times (btime) of that user:
#   R1 window [t0,t1], R2 [t1,t2], R3 [t2,t3]: each claims the one file born in it;
#   R4 [t0,t3] (overlapping all three, last in id order): claims all three, and leaves
#      them to R1-R3, swept before it: no second line, its session-close says so;
#   R5 [t0,t3] with a pending list naming only p (born in its window like the others,
#      plus q that is not in its list): decides p alone;
#   R6 [t3,t4]: nothing born in it: no file line.
# Each file exactly one line (removed, under its session), every record its own
# session-close line, none left; one walk of the mount (strace: reads of its root).
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/pam_common.bash"
source "$(dirname "$0")/threat_common.bash"
thr_setup
command -v strace >/dev/null || skip_all "no strace"
printf 'Watch %s\nStateDir %s\nAuditLog %s\nMetricsFile none\nTimeout 30s\n' \
	"$P_SHM" "$P_STATE" "$P_AUDIT" >"$P_CONF"
printf 'OtherSessions defer\nremove %s/** class=charged,created\n' "$P_SHM" >>"$P_CONF"

# A template record: a real session's, its process gone; no session cgroup (the files are
# written from the test's: charged there, they would be another session's).
open_only "$U1" "$T_SCRATCH/open.out"
check "the session was recorded" test -n "$SID" -a -e "$P_STATE/sessions/$SID"
sed -e '/^cgroup/d' "$P_STATE/sessions/$SID" >"$T_SCRATCH/template"
echo cgroup_mode=none >>"$T_SCRATCH/template"
rm "$P_STATE/sessions/$SID"
ns() { date +%s%N; }
born() { run_as "$U1" sh -c "echo x >$P_SHM/$1"; sleep 0.01; }
t0=$(ns); sleep 0.01
born f1; t1=$(ns); sleep 0.01
born f2; t2=$(ns); sleep 0.01
born f3; born p; born q; t3=$(ns); sleep 0.01
t4=$(ns)
dev=$(stat -c '%Hd:%Ld' "$P_SHM/p")
ino=$(stat -c %i "$P_SHM/p")
# record N START END [PENDING LINE]
record() {
	local id=9$1-1700000000000000000
	sed -e "s/^id=.*/id=$id/" -e 's/^state=.*/state=deferred/' -e "s/^start_ns=.*/start_ns=$2/" \
		-e '/^end_ns=/d' -e '/^pending=/d' "$T_SCRATCH/template" >"$P_STATE/sessions/$id"
	echo "end_ns=$3" >>"$P_STATE/sessions/$id"
	[ -z "${4:-}" ] || echo "$4" >>"$P_STATE/sessions/$id"
	chmod 600 "$P_STATE/sessions/$id"
	eval "R$1=$id"
}
record 1 "$t0" "$t1"
record 2 "$t1" "$t2"
record 3 "$t2" "$t3"
record 4 "$t0" "$t3"
record 5 "$t0" "$t3" "pending=d $dev $ino"
record 6 "$t3" "$t4"
"$SWEEP" sessions --conf "$P_CONF" >"$T_SCRATCH/sessions.out" 2>&1
check "6 deferred records, readable" test "$(grep -c deferred "$T_SCRATCH/sessions.out")" -eq 6

ASAN_OPTIONS=detect_leaks=0 strace -f -qq -y -e trace=getdents64 -o "$T_SCRATCH/strace" \
	"$SWEEP" gc --conf "$P_CONF" >"$T_SCRATCH/gc.out" 2>&1
reads=$(grep -cE "getdents64\([0-9]+<$P_SHM>, .*= [1-9]" "$T_SCRATCH/strace")
check "gc swept the 6 records" test "$(grep -c '^sweeping ' "$T_SCRATCH/gc.out")" -eq 6
check "in one walk of the mount ($reads reads of its root)" test "$reads" -eq 1
check "no record left" test "$(n_records)" -eq 0
# owner F SESSION: F has exactly one line, removed, under SESSION, and is gone.
owner() {
	local lines
	lines=$(audit_lines file | jq -r --arg p "$P_SHM/$1" 'select(.path == $p) | "\(.session) \(.result)"')
	[ "$lines" = "$2 removed" ] && [ ! -e "$P_SHM/$1" ] || { echo "    $1: '$lines'"; return 1; }
}
check "f1: one line, removed, under R1" owner f1 "$R1"
check "f2: one line, removed, under R2" owner f2 "$R2"
check "f3: one line, removed, under R3" owner f3 "$R3"
check "p: one line, removed, under R3 (before R5 in id order)" owner p "$R3"
check "q: one line, removed, under R3" owner q "$R3"
close_of() { audit_lines session-close "$1" | jq -c 'select(.trigger == "gc")'; }
check "every record its own session-close line" \
	eval 'for r in $R1 $R2 $R3 $R4 $R5 $R6; do test "$(close_of "$r" | wc -l)" -eq 1 || exit 1; done'
check "R4 removed nothing: it left 5 files to a session swept before it" \
	eval 'close_of "$R4" | jq -e "select(.removed == 0 and (.reason | contains(\"5 files left to a session swept before it\")))" >/dev/null'
check "R5 left only p (its pending list)" \
	eval 'close_of "$R5" | jq -e "select(.removed == 0 and (.reason | contains(\"1 file left to a session swept before it\")))" >/dev/null'
check "R6 had no file" eval 'close_of "$R6" | jq -e "select(.files == 0 and .removed == 0)" >/dev/null'
check "every audit line is JSON" eval 'json_valid_lines "$P_AUDIT" >/dev/null'
finish
