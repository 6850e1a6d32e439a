#!/bin/bash
# THREATS.md 14, 15, 16 through real sessions, with a policy that removes what a session
# created or was charged for:
# 14. two live sessions of one user, OtherSessions defer: closing the first removes nothing
#     (result deferred, session-close reason deferred, record kept as deferred); closing the
#     last removes its own files; gc then sweeps the deferred one.
# 15. pages charged to the session but the file owned by another uid (root, a second user
#     writing from inside the session's cgroup), or owned by the user but created before the
#     session: reported, never removed.
# 16. forged mtimes (touch -d far future / far past) on files born in the session do not
#     change their class; an old file touched to "now" stays owned, not removed.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/pam_common.bash"
source "$(dirname "$0")/threat_common.bash"
thr_setup
scratch_user U2
printf 'OtherSessions defer\nremove %s/** class=charged,created\n' "$P_SHM" >>"$P_CONF"

# 14
fl=$T_SCRATCH/flags; mkdir -p "$fl"
wait_flag() { printf 'run:i=0; while [ ! -e %s ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done' "$fl/$1"; }
pam_run tmpfs-sweep "$U1" open \
	"run:$(as "$U1" dd if=/dev/zero of="$P_SHM/from-a" bs=64k count=4 status=none)" \
	"run:touch $fl/a-open" "$(wait_flag b-closed)" \
	"run:test -e $P_SHM/from-a && test -e $P_SHM/from-b && touch $fl/both-after-b" \
	"run:$SWEEP sessions --json --conf $P_CONF >$T_SCRATCH/mid.json" \
	close >"$T_SCRATCH/a.out" 2>&1 &
pa=$!
pam_run tmpfs-sweep "$U1" "$(wait_flag a-open)" open \
	"run:$(as "$U1" dd if=/dev/zero of="$P_SHM/from-b" bs=64k count=4 status=none)" \
	timed-close "run:touch $fl/b-closed" >"$T_SCRATCH/b.out" 2>&1
wait $pa
sa=$(audit_lines session-open | jq -r 'select(.session | test("^[0-9]")) | .session' | sed -n 1p)
sb=$(audit_lines session-open | jq -r .session | sed -n 2p)
# the first to close is B (it opened second)
check "14: two sessions" test -n "$sa" -a -n "$sb" -a "$sa" != "$sb"
check "14: after B closed (A alive), both files were still there" test -e "$fl/both-after-b"
check "14: B's close has no line for A's file with a result other than deferred" \
	test -z "$(audit_lines file "$sb" | jq -r 'select(.result != "deferred" and .result != "reported") | .path')"
SID=$sb
check "14: B's file: deferred (B's line)" expect_result "$P_SHM/from-b" deferred "another session"
check "14: B's session-close: removed 0, deferred >= 1, reason deferred" \
	jq -e -s --arg s "$sb" '[.[] | select(.event == "session-close" and .session == $s and
	 .removed == 0 and .deferred >= 1 and (.reason | test("deferred")))] | length == 1' "$P_AUDIT"
check "14: B's record was kept, state deferred (seen while A was open)" \
	jq_has "$T_SCRATCH/mid.json" 'select(.session == $s and .state == "deferred")' --arg s "$sb"
SID=$sa
# A was the user's last session, and B's file was born inside A's window too: A's close
# removes both (the user's last session has ended: nothing is deferred any more).
check "14: A closed last: its own file removed" \
	eval 'test ! -e "$P_SHM/from-a" && expect_result "$P_SHM/from-a" removed'
check "14: A closed last: B's file (born in A's window) removed too" \
	eval 'test ! -e "$P_SHM/from-b" && expect_result "$P_SHM/from-b" removed'
check "14: after both closed, B's deferred record is still there for gc" test "$(n_records)" -eq 1
"$SWEEP" gc --conf "$P_CONF" >"$T_SCRATCH/gc.out" 2>&1
echo "    gc: $(head -c 300 "$T_SCRATCH/gc.out")"
check "14: gc sweeps the deferred session and leaves no record" test "$(n_records)" -eq 0
check "14: gc wrote a session-close for B" \
	test "$(audit_lines session-close "$sb" | wc -l)" -eq 2

# 15 and 16
rm -f "$P_AUDIT"
run_as "$U1" dd if=/dev/zero of="$P_SHM/pre-charged" bs=4k count=0 status=none
run_as "$U1" dd if=/dev/zero of="$P_SHM/pre-touched" bs=4k count=4 status=none
chmod 666 "$P_SHM/pre-charged"
sleep 0.05
session "$U1" "$T_SCRATCH/s2.out" \
	"run:dd if=/dev/zero of=$P_SHM/root-in-session bs=64k count=4 status=none" \
	"run:$(as "$U2" dd if=/dev/zero of="$P_SHM/u2-in-session" bs=64k count=4 status=none)" \
	"run:$(as "$U2" chmod 666 "$P_SHM/u2-in-session")" \
	"run:$(as "$U1" dd if=/dev/zero of="$P_SHM/pre-charged" bs=64k count=4 conv=notrunc status=none)" \
	"run:$(as "$U1" dd if=/dev/zero of="$P_SHM/future" bs=4k count=4 status=none)" \
	"run:$(as "$U1" touch -d 2099-01-01 "$P_SHM/future")" \
	"run:$(as "$U1" dd if=/dev/zero of="$P_SHM/past" bs=4k count=4 status=none)" \
	"run:$(as "$U1" touch -d 1990-01-01 "$P_SHM/past")" \
	"run:$(as "$U1" touch "$P_SHM/pre-touched")"
for f in root-in-session u2-in-session; do
	check "15: $f (another uid, charged to the session) survives" test -s "$P_SHM/$f"
	check "15: $f is class charged" test "$(ffield "$P_SHM/$f" class)" = charged
	check "15: $f reported: owner is not the session's user" \
		expect_result "$P_SHM/$f" reported "owner is not"
done
check "15: the user's file from before the session, charged to it, survives" \
	test -s "$P_SHM/pre-charged"
check "15: ... it is charged, reported: not created in this session" \
	eval 'test "$(ffield "$P_SHM/pre-charged" class)" = charged &&
	      expect_result "$P_SHM/pre-charged" reported "not created"'
for f in future past; do
	# Removal needs "created in this session" (btime in the window) even when charged.
	c=$(ffield "$P_SHM/$f" class)
	check "16: $f (forged mtime) is still born in the session (class $c)" \
		eval 'test "$c" = charged -o "$c" = created'
	check "16: $f removed" eval 'test ! -e "$P_SHM/$f" && expect_result "$P_SHM/$f" removed'
done
check "16: an old file touched in the session survives" test -e "$P_SHM/pre-touched"
c=$(ffield "$P_SHM/pre-touched" class)
check "16: ... and is not called created (class '${c:-none}')" test "$c" != created -a "$c" != charged
finish
