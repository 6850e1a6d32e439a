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
# and returns at its timeout= deadline, without a helper.
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
finish
