#!/bin/bash
# A file kept because it is in use stays pending, and gc decides it again (issue 11 item 3).
# The session starts a nohup'ed job holding F open, and a second one holding H, then logs
# out: F and H are skipped-in-use, G (free) is removed, the record is kept (deferred,
# listing F and H). gc while the jobs run: nothing changes, not a line written. The jobs
# exit and the user hard-links H meanwhile: gc removes F (every gate checked again: H now
# has two links and is only reported), each with exactly one final line, G is not audited
# again, and the record is gone; one more gc does nothing. What the user's next login is
# told (NotifyUser) follows: F and H after the close and after the quiet gc, then H and
# the user's new name for it (each reported: hard links).
# With OtherSessions proceed, a file kept only because it was in use does not wait for the
# user's other sessions: gc removes it once free while another session of the user lives.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/pam_common.bash"
source "$(dirname "$0")/threat_common.bash"
thr_setup
echo "remove $P_SHM/** class=charged,created" >>"$P_CONF"
R=$T_SCRATCH/rdy; mkdir -m 1777 "$R"
# hold FILE: a nohup'ed job of the user's holding FILE open; its pid in $R/NAME.pid
printf '%s\n' 'exec 3<"$1"; echo $$ >"$2"; exec sleep 600' >"$R/hold.sh"
hold() { printf 'run:%s' "$(as "$U1" sh -c "'nohup sh $R/hold.sh $P_SHM/$1 $R/$1.pid </dev/null >/dev/null 2>&1 &'")"; }
for f in F G H; do
	acts+=("run:$(as "$U1" dd if=/dev/zero of="$P_SHM/$f" bs=4k count=2 status=none)")
done
acts+=("$(hold F)" "$(hold H)")
acts+=("run:i=0; while [ ! -s $R/F.pid -o ! -s $R/H.pid ] && [ \$i -lt 200 ]; do sleep 0.05; i=\$((i+1)); done")
session "$U1" "$T_SCRATCH/s1.out" "${acts[@]}"
for f in F H; do
	[ -s "$R/$f.pid" ] && at_exit "kill -9 $(cat "$R/$f.pid")"
	check "the nohup job holding $f runs" test -s "$R/$f.pid"
done

check "close: F skipped-in-use, open by the job" \
	expect_result "$P_SHM/F" skipped-in-use "open by pid $(cat "$R/F.pid")"
check "close: G removed" eval 'test ! -e "$P_SHM/G" && expect_result "$P_SHM/G" removed'
check "the record is kept, deferred, listing F and H" eval \
	'grep -qx state=deferred "$P_STATE/sessions/$SID" &&
	 test "$(grep -c "^pending=u " "$P_STATE/sessions/$SID")" -eq 2'

# What the user's next login is told (NotifyUser, on by default): the files still there.
notify=$P_STATE/notify/$(id -u "$U1")
told() { printf '%s %s %s' "$(kv "$notify" session)" "$(kv "$notify" files)" \
	"$(sed -n 's/^path=//p' "$notify" | sort | tr '\n' ' ')"; }
check "close: the next login would be told of F and H ($(told))" \
	test "$(told)" = "$SID 2 $P_SHM/F $P_SHM/H "

n0=$(wc -l <"$P_AUDIT")
"$SWEEP" gc --conf "$P_CONF" >"$T_SCRATCH/gc1.out" 2>&1
check "gc while the jobs run exits 0" test $? -eq 0
check "gc while the jobs run (F and H decided again, no line): still told of both ($(told))" \
	test "$(told)" = "$SID 2 $P_SHM/F $P_SHM/H "
check "gc while the jobs run: F and H still there" test -e "$P_SHM/F" -a -e "$P_SHM/H"
check "gc while the jobs run: not a line written" test "$(wc -l <"$P_AUDIT")" -eq "$n0"
check "gc while the jobs run: the record stays" grep -qx state=deferred "$P_STATE/sessions/$SID"

kill -9 "$(cat "$R/F.pid")" "$(cat "$R/H.pid")"
wait_for 5 sh -c "! kill -0 $(cat "$R/F.pid") 2>/dev/null && ! kill -0 $(cat "$R/H.pid") 2>/dev/null"
run_as "$U1" ln "$P_SHM/H" "$P_SHM/H.link"
"$SWEEP" gc --conf "$P_CONF" >"$T_SCRATCH/gc2.out" 2>&1
check "gc after the jobs exited exits 0" test $? -eq 0
sed 's/^/    gc: /' "$T_SCRATCH/gc2.out"
check "gc removed F" test ! -e "$P_SHM/F"
check "gc kept H (two links now: a gate no pending state lifts)" test -e "$P_SHM/H"
new() { tail -n +$((n0 + 1)) "$P_AUDIT"; }
check_py "gc: one final line for F (removed) and H (reported, hard links), none for G" \
	"$P_AUDIT" "$SID" "$P_SHM" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
sid, shm = sys.argv[2], sys.argv[3]
files = [l for l in lines if l["event"] == "file" and l["session"] == sid]
by = {}
for l in files:
    by.setdefault(l["path"], []).append(l["result"])
assert by[shm + "/F"] == ["skipped-in-use", "removed"], by
assert by[shm + "/H"] == ["skipped-in-use", "reported"], by
assert by[shm + "/G"] == ["removed"], by
h = [l for l in files if l["path"] == shm + "/H"][-1]
assert "hard links" in h.get("detail", ""), h
closes = [l for l in lines if l["event"] == "session-close" and l["session"] == sid]
assert len(closes) == 2 and closes[1]["trigger"] == "gc" and closes[1]["removed"] == 1, closes
PY
check "the record is gone" test ! -e "$P_STATE/sessions/$SID"
hlink=$(audit_lines file "$SID" |
	jq -c --arg p "$P_SHM/H.link" 'select(.path == $p) | [.result, .detail]')
check "H.link (the user's new name for H) has its line: reported, hard links" \
	test "$hlink" = '["reported","hard links"]'
check "gc removed F: the next login is told of H and its new name ($(told))" \
	test "$(told)" = "$SID 2 $P_SHM/H $P_SHM/H.link "
n1=$(wc -l <"$P_AUDIT")
"$SWEEP" gc --conf "$P_CONF" >/dev/null 2>&1
check "one more gc writes nothing" test "$(wc -l <"$P_AUDIT")" -eq "$n1"

# OtherSessions proceed: K held at the close of A; the holder exits while B is open.
sed -i '1a OtherSessions proceed' "$P_CONF" # settings come before rules
session "$U1" "$T_SCRATCH/a.out" \
	"run:$(as "$U1" dd if=/dev/zero of="$P_SHM/K" bs=4k count=2 status=none)" \
	"$(hold K)" \
	"run:i=0; while [ ! -s $R/K.pid ] && [ \$i -lt 200 ]; do sleep 0.05; i=\$((i+1)); done"
SA=$SID
[ -s "$R/K.pid" ] && at_exit "kill -9 $(cat "$R/K.pid")"
check "A's close: K skipped-in-use" expect_result "$P_SHM/K" skipped-in-use "open by pid"
fl=$T_SCRATCH/fl; mkdir -p "$fl"
pam_run tmpfs-sweep "$U1" open "run:touch $fl/b-open" \
	"run:i=0; while [ ! -e $fl/b-done ] && [ \$i -lt 600 ]; do sleep 0.05; i=\$((i+1)); done" \
	close >"$T_SCRATCH/b.out" 2>&1 &
PB=$!
wait_for 10 test -e "$fl/b-open"
kill -9 "$(cat "$R/K.pid")"
wait_for 5 sh -c "! kill -0 $(cat "$R/K.pid") 2>/dev/null"
"$SWEEP" gc --conf "$P_CONF" >"$T_SCRATCH/gc4.out" 2>&1
check "while B is open, gc removed K (proceed: in use was all that kept it)" \
	eval 'test ! -e "$P_SHM/K" && test "$(ffield "$P_SHM/K" result "$SA" | tail -n1)" != ""'
check "K's lines: skipped-in-use, then removed" test \
	"$(audit_lines file "$SA" | jq -r --arg p "$P_SHM/K" 'select(.path == $p) | .result' | tr '\n' ' ')" = \
	"skipped-in-use removed "
check "A's record is gone" test ! -e "$P_STATE/sessions/$SA"
touch "$fl/b-done"
wait $PB
finish
