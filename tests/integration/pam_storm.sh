#!/bin/bash
# A mass logout: 50 sessions of one user (real PAM stacks through the module,
# cgroup=create) close at once on a tmpfs holding 20,000 other files (half the user's own,
# older than every session; half another user's), with a Timeout of 2 s. Each close
# walking the tree on its own, the closes fight for the CPU and run out of time (measured
# before closes shared their walk: most sessions `incomplete`, `time`, files left). With
# one walk per mount for every close that overlaps (queue.h), every session completes:
# one session-close line each, none incomplete, each file line once, under the session
# that wrote it, removed, gone; no record left. And a storm starts one helper, not one per
# close: a close that finds a sweep on joins it from the module (closeq.h) and waits there;
# the helper here is a wrapper that counts its starts (50 with a helper per close).
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/pam_common.bash"
pam_setup
NS=${NS:-50} OTHERS=${OTHERS:-20000}
scratch_user U || skip_all "cannot make a scratch user"
scratch_user O || skip_all "cannot make a scratch user"
chmod 755 "$T_SCRATCH"
pam_service tsw cgroup=create timeout=4
cat >>"$P_CONF" <<EOF
OtherSessions proceed
Timeout 2s
remove $P_SHM/** class=charged,created
EOF
check "the policy checks clean" "$SWEEP" check-config "$P_CONF"

python3 - "$P_SHM" "$OTHERS" "$(id -u "$U")" "$(id -u "$O")" <<'PY' || not_ok "the tree"
import os, sys
root, files, u, o = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
dirs = 100
for d in range(dirs):
    dp = "%s/d%03d" % (root, d)
    os.mkdir(dp)
    os.chmod(dp, 0o1777)
    owner = u if d % 2 == 0 else o
    for f in range(files // dirs):
        p = "%s/f%05d" % (dp, f)
        os.close(os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
        os.chown(p, owner, owner)
PY
sleep 0.1 # every session starts after the tree's files were born

# the helper as the module runs it: a wrapper that counts its starts, then the real one
pam_counting_helper

fl=$T_SCRATCH/flags
mkdir -p "$fl"
as="setpriv --reuid $U --regid $(id -g "$U") --clear-groups"
pids=()
for ((i = 0; i < NS; i++)); do
	pam_run counting "$U" item:tty="s$i" open \
		"run:$as dd if=/dev/zero of=$P_SHM/d$(printf %03d $((i % 100)))/s$i-a bs=4k count=1 status=none" \
		"run:$as dd if=/dev/zero of=$P_SHM/s$i-b bs=4k count=2 status=none" \
		"run:touch $fl/ready-$i; for k in \$(seq 1500); do [ -e $fl/go ] && break; sleep 0.02; done" \
		close >"$T_SCRATCH/h-$i.out" 2>&1 &
	pids+=($!)
done
# the barrier: every session is open and has written its files; then all close at once
wait_for 120 eval "[ \$(ls $fl | grep -c '^ready-') -ge $NS ]" || not_ok "not all sessions ready"
t0=$(date +%s.%N)
touch "$fl/go"
wait "${pids[@]}"
t1=$(date +%s.%N)
echo "# $NS closes at once on $OTHERS other files: $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }') s"

check "every open and close succeeded" test "$(cat "$T_SCRATCH"/h-*.out | grep -cx -e open=success -e close=success)" -eq $((2 * NS))
check "every session wrote its files" test "$(cat "$T_SCRATCH"/h-*.out | grep -cx run=0)" -eq $((3 * NS))
check "every audit line is one JSON object" \
	test "$(json_valid_lines "$P_AUDIT" 2>/dev/null)" = "$(wc -l <"$P_AUDIT")"
cat >"$T_SCRATCH/audit.py" <<'PY'
import json, os, sys
part, audit, shm, ns = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
lines = [json.loads(l) for l in open(audit, "rb").read().decode().splitlines()]
opens = [l for l in lines if l["event"] == "session-open"]
closes = [l for l in lines if l["event"] == "session-close"]
files = [l for l in lines if l["event"] == "file"]
tag = {l["session"]: l["tty"] for l in opens}
want = sorted([f"{shm}/d{i % 100:03d}/s{i}-a" for i in range(ns)] + [f"{shm}/s{i}-b" for i in range(ns)])
paths = sorted(l["path"] for l in files)
if part == "closes":
    ids = sorted(tag)
    assert len(ids) == ns, ("sessions opened", len(ids))
    got = sorted(l["session"] for l in closes)
    assert got == ids, ("session-close lines", len(got), "for", len(ids), "sessions")
    bad = [(l["session"], l.get("reason")) for l in closes if l["incomplete"] or l["errors"]]
    assert not bad, ("incomplete or errors", len(bad), bad[:3])
    assert all(l["removed"] == 2 for l in closes), [l["removed"] for l in closes]
    d = sorted(l["duration_ms"] for l in closes)
    print("duration_ms p50 %d max %d" % (d[len(d) // 2], d[-1]))
elif part == "once":
    dup = sorted({p for p in paths if paths.count(p) > 1})
    assert not dup, ("files audited more than once", len(dup), dup[:3])
    assert paths == want, ("file lines", len(paths), "want", len(want), sorted(set(paths) ^ set(want))[:4])
    bad = [(l["path"], l["result"], l.get("detail")) for l in files if l["result"] != "removed"]
    assert not bad, ("not removed", len(bad), bad[:4])
    other = [l["path"] for l in files
             if not os.path.basename(l["path"]).startswith(tag[l["session"]] + "-")]
    assert not other, ("under another session", other[:3])
    gone = [p for p in want if os.path.lexists(p)]
    assert not gone, ("still there", gone[:5])
PY
check_py "one session-close line per session, none incomplete, 2 removed each" \
	closes "$P_AUDIT" "$P_SHM" "$NS" <"$T_SCRATCH/audit.py"
check_py "each file one line, removed, under its own session, gone" \
	once "$P_AUDIT" "$P_SHM" "$NS" <"$T_SCRATCH/audit.py"
check "the other files are all there" test "$(find "$P_SHM" -name 'f*' -type f | wc -l)" -eq "$OTHERS"
check "no record left" test "$(n_records)" -eq 0
check "no queue entry left" test -z "$(ls "$P_STATE/queue" 2>/dev/null)"
execs=$(wc -l <"$T_SAFE/execs")
echo "# helpers started for $NS closes: $execs"
check "a storm starts at most one helper per 10 closes" test "$execs" -ge 1 -a "$execs" -le $((NS / 10))
finish
