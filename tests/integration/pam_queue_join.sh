#!/bin/bash
# A close that finds a shared sweep on waits for it in the module, without a helper
# (closeq.h), and leads when the sweep ends without having taken it. The test holds the
# state dir's sweep lock for 1.5 s (a sweep on) while a session (real PAM stack,
# cgroup=create) closes: the close waits, then takes the lock, starts ONE helper and hands
# it the lock (its fd 3); the helper leads with it and sweeps the session: the file is
# removed, one complete session-close line, no record, no queue entry. Were the lock not
# handed over, the helper would wait for the module's own lock until its deadline
# (incomplete, file left). Then a second session closes with the sweep lock held and its
# record's lock taken (a leader on it) past the Timeout: the module does not give the
# record up under the leader (no line of its own, entry and record left to the leader),
# and returns at its timeout= deadline, without a helper. Last, a close killed while it
# waits: the next close leads, sweeps the dead close's queued record with its own (a line
# for each), and the dead close's wake FIFO goes with it (nobody has it open), not left
# until gc forgets the record.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/pam_common.bash"
pam_setup
scratch_user U || skip_all "cannot make a scratch user"
chmod 755 "$T_SCRATCH"
pam_service tsw cgroup=create timeout=4
printf 'Timeout 3s\nremove %s/** class=charged,created\n' "$P_SHM" >>"$P_CONF"
check "the policy checks clean" "$SWEEP" check-config "$P_CONF"
pam_counting_helper
as="setpriv --reuid $U --regid $(id -g "$U") --clear-groups"
mkdir -p -m 0700 "$P_STATE/locks"

# 1. the sweep ends without taking us: we lead
bg holder flock "$P_STATE/locks/sweep" sleep 1.5
wait_for 10 eval "! flock -n '$P_STATE/locks/sweep' true" || not_ok "the sweep lock is not held"
pam_run counting "$U" open "run:$as dd if=/dev/zero of=$P_SHM/a bs=4k count=4 status=none" \
	timed-close >"$T_SCRATCH/h1.out" 2>&1
ms=$(kv "$T_SCRATCH/h1.out" close_ms)
echo "# close with the sweep lock held for 1.5 s: ${ms:-?} ms"
check "the close succeeded" test "$(kv "$T_SCRATCH/h1.out" close)" = success
check "it waited for the sweep (close took ${ms:-?} ms)" test "${ms:-0}" -ge 700
check "one helper started, after the wait" test "$(wc -l <"$T_SAFE/execs")" -eq 1
check "the file is gone" test ! -e "$P_SHM/a"
check "its file line says removed" \
	test "$(audit_lines file | jq -r 'select(.path | endswith("/a")) | .result')" = removed
check "one session-close line, complete, 1 removed" \
	test "$(audit_lines session-close | jq -r '"\(.incomplete) \(.removed)"')" = "false 1"
check "no record left" test "$(n_records)" -eq 0
check "no queue entry left" test -z "$(ls "$P_STATE/queue" 2>/dev/null)"

# 2. a leader has our record at the deadline: the module leaves it to the leader
: >"$T_SAFE/execs"
: >"$P_AUDIT"
fl=$T_SCRATCH/flags
mkdir -p "$fl"
pam_run counting "$U" open "run:$as dd if=/dev/zero of=$P_SHM/b bs=4k count=1 status=none" \
	"run:touch $fl/open; for k in \$(seq 300); do [ -e $fl/go ] && break; sleep 0.02; done" \
	timed-close >"$T_SCRATCH/h2.out" 2>&1 &
host=$!
wait_for 20 test -e "$fl/open" || not_ok "the second session did not open"
id=$(ls "$P_STATE/sessions" | head -n1)
bg holder2 flock "$P_STATE/locks/sweep" sleep 30
wait_for 10 eval "! flock -n '$P_STATE/locks/sweep' true" || not_ok "the sweep lock is not held"
touch "$fl/go"
# queued: now its record's lock is taken, as by a leader sweeping it
wait_for 10 test -e "$P_STATE/queue/$id" || not_ok "the close did not queue"
bg rlock flock "$P_STATE/locks/$id" sleep 30
wait "$host"
ms=$(kv "$T_SCRATCH/h2.out" close_ms)
echo "# close with a leader on its record: ${ms:-?} ms"
check "the close returned at its timeout= deadline (${ms:-?} ms)" \
	test "${ms:-0}" -ge 3900 -a "${ms:-99999}" -le 5000
check "no helper started" test "$(wc -l <"$T_SAFE/execs")" -eq 0
check "no session-close line of its own (the leader's to write)" test -z "$(audit_lines session-close)"
check "the record stays, queued" test "$(grep -lx state=queued "$P_STATE"/sessions/* | wc -l)" -eq 1
check "its queue entry stays (the leader's)" test -e "$P_STATE/queue/$id"
check "the file is still there" test -e "$P_SHM/b"

# 3. a close killed while it waits: the next leader settles its record and its FIFO goes
# flock(1)'s command holds the lock too: both go
unhold() { pkill -KILL -P "$1"; kill -KILL "$1"; } 2>/dev/null
unhold "$rlock"
unhold "$holder2"
wait_for 10 flock -n "$P_STATE/locks/sweep" true || not_ok "the sweep lock is still held"
gc_out=$("$SWEEP" gc --conf "$P_CONF" 2>&1) || true
wait_for 10 test -z "$(ls "$P_STATE/sessions" 2>/dev/null)" ||
	{ echo "# gc: $gc_out"; not_ok "gc did not finish the second session"; }
# c and d are one user's, under the default OtherSessions defer: both closing, neither
# defers to the other (pam_queue_defer)
: >"$T_SAFE/execs"
: >"$P_AUDIT"
bg holder3 flock "$P_STATE/locks/sweep" sleep 30
wait_for 10 eval "! flock -n '$P_STATE/locks/sweep' true" || not_ok "the sweep lock is not held"
queued() { test "$(find "$P_STATE/queue" -maxdepth 1 -type f | wc -l)" -ge "$1"; }
n=0
for t in c d; do
	P_RUN_EXEC=1 pam_run counting "$U" item:tty="$t" \
		open "run:$as dd if=/dev/zero of=$P_SHM/$t bs=4k count=1 status=none" \
		timed-close >"$T_SCRATCH/h-$t.out" 2>&1 &
	eval "host_$t=\$!"
	wait_for 20 queued $((++n)) || not_ok "close $t did not queue"
done
c_id=$(grep -l -x tty=c "$P_STATE"/sessions/* | xargs -n1 basename)
check "the waiting close c has its wake FIFO" test -p "$P_STATE/queue/.$c_id"
kill -KILL "$host_c"
wait "$host_c" 2>/dev/null
unhold "$holder3" # a plain flock: it wakes nobody, d looks again within 2 s
wait "$host_d"
check "d's close succeeded" test "$(kv "$T_SCRATCH/h-d.out" close)" = success
check "one helper started (d's, leading both)" test "$(wc -l <"$T_SAFE/execs")" -eq 1
check "both files are gone" test ! -e "$P_SHM/c" -a ! -e "$P_SHM/d"
check "c's record swept by d's leader: its session-close line, complete" \
	test "$(audit_lines session-close | jq -r --arg s "$c_id" 'select(.session == $s) | .incomplete')" = false
check "two session-close lines" test "$(audit_lines session-close | wc -l)" -eq 2
check "the dead close's wake FIFO is gone" test ! -e "$P_STATE/queue/.$c_id"
check "no record, no queue entry, no FIFO left" \
	test "$(n_records)" -eq 0 -a -z "$(ls -A "$P_STATE/queue" | grep -v -x '\.wake')"
finish
