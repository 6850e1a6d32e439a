#!/bin/bash
# A mass logout under a small open-file limit: the close that sweeps for the others holds
# each session's record lock and its mounts' roots until that session is settled, so it
# takes only as many sessions as half the limit allows (raised to the hard limit first);
# the rest stay queued and the next close to lead takes them in another walk. 60 sessions
# (real PAM stacks, cgroup=create: each file charged to its own session; records left
# open as a killed sshd would leave them) are closed at
# once by `tmpfs-sweep close` run under `prlimit --nofile=128:128` (room for ~10 sessions
# a walk), all queued before one of them leads (the sweep lock held until then): every
# session completes, each file is removed and audited once, under its own
# session. Taking all 60 at once, the leader ran out of descriptors (EMFILE): most
# sessions' cgroups and mount roots could not be opened, nothing was removed, and each
# file was reported by every session whose window held it (~2,000 file lines for 60).
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/pam_common.bash"
pam_setup
command -v prlimit >/dev/null || skip_all "prlimit not installed (util-linux)"
NS=60
scratch_user U || skip_all "cannot make a scratch user"
chmod 755 "$T_SCRATCH"
pam_service tsw cgroup=create
cat >>"$P_CONF" <<EOF
OtherSessions proceed
Timeout 60s
remove $P_SHM/** class=charged
EOF
check "the policy checks clean" "$SWEEP" check-config "$P_CONF"

as="setpriv --reuid $U --regid $(id -g "$U") --clear-groups"
pids=()
for ((i = 0; i < NS; i++)); do
	pam_run tmpfs-sweep "$U" item:tty="s$i" open \
		"run:$as dd if=/dev/zero of=$P_SHM/s$i-a bs=4k count=1 status=none" \
		>"$T_SCRATCH/h-$i.out" 2>&1 &
	pids+=($!)
	[ ${#pids[@]} -ge 10 ] && { wait "${pids[@]}"; pids=(); }
done
wait "${pids[@]}"
mapfile -t IDS < <(ls "$P_STATE/sessions")
check "$NS sessions open, their records left" test "${#IDS[@]}" -eq $NS

# All of them queued before one can lead: the sweep lock held (as a sweep in progress
# would hold it) until every close has queued its record.
mkdir -p -m 0700 "$P_STATE/locks"
# (one process holds it: killed, the lock goes; no child keeps it or the test's output)
bg holder bash -c 'exec 9>>"$1" && flock 9 && exec sleep 120' _ "$P_STATE/locks/sweep"
wait_for 10 eval "! flock -n '$P_STATE/locks/sweep' true" || not_ok "the sweep lock is not held"
pids=()
for id in "${IDS[@]}"; do
	prlimit --nofile=128:128 "$SWEEP" close "$id" --conf "$P_CONF" \
		>"$T_SCRATCH/c-$id.out" 2>&1 &
	pids+=($!)
done
wait_for 60 eval "[ \$(ls '$P_STATE/queue' 2>/dev/null | wc -l) -ge $NS ]" ||
	not_ok "not every close queued its record"
kill "$holder"
bad=0
for p in "${pids[@]}"; do wait "$p" || bad=$((bad + 1)); done
check "every close exits 0 ($bad did not)" test "$bad" -eq 0
check "no close ran out of descriptors" eval '! grep -l "Too many open files" "$T_SCRATCH"/c-*.out'
check_py "one complete session-close line each; each file one line, removed, under its own session, gone" \
	"$P_AUDIT" "$P_SHM" "$NS" <<'PY'
import json, os, sys
audit, shm, ns = sys.argv[1], sys.argv[2], int(sys.argv[3])
lines = [json.loads(l) for l in open(audit)]
tag = {l["session"]: l["tty"] for l in lines if l["event"] == "session-open"}
closes = [l for l in lines if l["event"] == "session-close"]
assert sorted(l["session"] for l in closes) == sorted(tag), ("session-close lines", len(closes))
bad = [(l["session"], l.get("reason")) for l in closes if l["incomplete"]]
assert not bad, ("incomplete", len(bad), bad[:3])
files = [l for l in lines if l["event"] == "file"]
got, want = sorted(l["path"] for l in files), sorted(f"{shm}/s{i}-a" for i in range(ns))
assert got == want, (len(got), sorted(set(want) - set(got))[:3], got[:3])
assert all(l["result"] == "removed" for l in files), [l["result"] for l in files][:5]
wrong = [(l["path"], tag.get(l["session"])) for l in files if os.path.basename(l["path"]) != str(tag.get(l["session"])) + "-a"]
assert not wrong, wrong[:3]
assert not [f for f in os.listdir(shm) if f.startswith("s")], "files left"
PY
check "no record left" test "$(n_records)" -eq 0
finish
