#!/bin/bash
# Closes that wait for a shared sweep and run out of time are handed to gc. The test
# holds the state dir's sweep lock (as a shared sweep that never ends would), so that no
# close can sweep: 3 sessions (real PAM stacks, cgroup=create) close, each waits until its
# own Timeout (2 s), writes its session-close line (incomplete, reason timeout)
# and leaves its record queued; nothing is removed and no file line is written. A close
# that finds the sweep on waits in the module (closeq.h), no helper started (the helper is
# a wrapper that counts its starts), and sleeps there: its voluntary context switches over
# a second stay at 3 or fewer (it looks again every 500 ms at most; a loop polling every
# 5 to 50 ms makes 20 or more). Then gc
# (the sessions' processes gone) finishes each: each file exactly one line, removed,
# under its own session; a complete session-close line from gc; no record, no queue
# entry left.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/pam_common.bash"
pam_setup
NS=3
scratch_user U || skip_all "cannot make a scratch user"
chmod 755 "$T_SCRATCH"
pam_service tsw cgroup=create timeout=10
cat >>"$P_CONF" <<EOF
OtherSessions proceed
Timeout 2s
remove $P_SHM/** class=charged,created
EOF
check "the policy checks clean" "$SWEEP" check-config "$P_CONF"

as="setpriv --reuid $U --regid $(id -g "$U") --clear-groups"
# A sweep that never ends: the lock held (the state dir is made here as the module would).
mkdir -p -m 0700 "$P_STATE/locks"
bg holder flock "$P_STATE/locks/sweep" sleep 120
wait_for 10 eval "! flock -n '$P_STATE/locks/sweep' true" || not_ok "the sweep lock is not held"
# One after the other: each session's creation window is its own (gc, deciding a
# session whose cgroup is gone, claims by uid and birth time only).
# The last one's close in the background: how often does it wake while it waits?
ctxt() { awk '/^voluntary_ctxt_switches/ { print $2 }' "/proc/$1/status" 2>/dev/null; }
pam_counting_helper
for ((i = 0; i < NS; i++)); do
	pam_run counting "$U" item:tty="s$i" open \
		"run:$as dd if=/dev/zero of=$P_SHM/s$i-a bs=4k count=1 status=none" \
		"run:$as dd if=/dev/zero of=$P_SHM/s$i-b bs=4k count=2 status=none" \
		close >"$T_SCRATCH/h-$i.out" 2>&1 &
	host=$!
	if [ $i = $((NS - 1)) ] &&
		wait_for 10 eval "[ \$(ls $P_STATE/queue 2>/dev/null | wc -l) -ge 1 ]"; then
		sleep 0.3
		hpid=$(pgrep -n -f -- "tools/pam_host $P_PAMD .* item:tty=s$i ")
		a=$(ctxt "$hpid") && sleep 1 && b=$(ctxt "$hpid")
		check "a waiting close sleeps (woke $((${b:-99} - ${a:-0})) times in 1 s)" \
			test -n "$a" -a -n "$b" -a $((${b:-99} - ${a:-0})) -le 3
	elif [ $i = $((NS - 1)) ]; then
		not_ok "a waiting close sleeps: it was not seen queued"
	fi
	wait "$host"
done

check "no helper started: each close waited in the module" test "$(wc -l <"$T_SAFE/execs")" -eq 0
check "every close returned" test "$(cat "$T_SCRATCH"/h-*.out | grep -cx close=success)" -eq $NS
check "no file line: nothing was swept" test -z "$(audit_lines file)"
check "every file is still there" test "$(find "$P_SHM" -name 's*-?' | wc -l)" -eq $((2 * NS))
check "each session: one session-close line, incomplete, reason timeout" \
	test "$(audit_lines session-close | jq -r 'select(.incomplete and (.reason | startswith("timeout: queued"))) | .session' | sort -u | wc -l)" -eq $NS
check "the records stay, queued" test "$(grep -lx state=queued "$P_STATE"/sessions/* | wc -l)" -eq $NS
check "no queue entry left" test -z "$(ls "$P_STATE/queue" 2>/dev/null)"

kill "$holder"
"$SWEEP" gc --conf "$P_CONF" >"$T_SCRATCH/gc.out" 2>&1
check "gc exits 0" test $? -eq 0
check "gc says why" test "$(grep -c 'queued and not swept in time' "$T_SCRATCH/gc.out")" -eq $NS
check_py "each file one line, removed, under its own session, gone; gc's session-close complete" \
	"$P_AUDIT" "$P_SHM" "$NS" <<'PY'
import json, os, sys
audit, shm, ns = sys.argv[1], sys.argv[2], int(sys.argv[3])
lines = [json.loads(l) for l in open(audit)]
tag = {l["session"]: l["tty"] for l in lines if l["event"] == "session-open"}
files = [l for l in lines if l["event"] == "file"]
want = sorted(f"{shm}/s{i}-{x}" for i in range(ns) for x in "ab")
paths = sorted(l["path"] for l in files)
assert paths == want, ("file lines", paths)
assert all(l["result"] == "removed" for l in files), [(l["path"], l["result"]) for l in files]
assert all(os.path.basename(l["path"]).startswith(tag[l["session"]] + "-") for l in files)
assert not [p for p in want if os.path.lexists(p)], "still there"
gc = [l for l in lines if l["event"] == "session-close" and l.get("trigger") == "gc"]
assert sorted(l["session"] for l in gc) == sorted(tag), ("gc session-close", len(gc))
assert all(not l["incomplete"] and l["removed"] == 2 for l in gc), gc
PY
check "no record left" test "$(n_records)" -eq 0
check "no queue entry left after gc" test -z "$(ls "$P_STATE/queue" 2>/dev/null)"
finish
