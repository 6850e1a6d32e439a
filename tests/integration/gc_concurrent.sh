#!/bin/bash
# 100 sessions of 10 users closing at once (OtherSessions proceed): each session (a
# pam_host, tagged by its tty) writes 2 small files as its user, then all wait at a
# barrier and close together, in waves of $PAR. The audit log holds exactly 100
# session-open and 100 session-close lines, every line valid JSON on its own (none
# interleaved), 200 file lines: each file exactly one line, removed, gone; no record left.
# How long concurrent closes take is a benchmark (bench/concurrent.sh), not a check here:
# the run time printed below is information only.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/pam_common.bash"
pam_setup
NS=100 NU=10 PAR=${PAR:-20}
USERS=()
for ((u = 0; u < NU; u++)); do scratch_user x; USERS+=("$x"); done
chmod 755 "$T_SCRATCH"
pam_service tsw cgroup=create timeout=30
cat >>"$P_CONF" <<EOF
OtherSessions proceed
remove $P_SHM/** class=charged,created
EOF
check "the policy checks clean" "$SWEEP" check-config "$P_CONF"
fl=$T_SCRATCH/flags
mkdir -p "$fl"

t0=$(date +%s.%N)
for ((w = 0; w < NS / PAR; w++)); do
	pids=()
	for ((j = 0; j < PAR; j++)); do
		i=$((w * PAR + j))
		u=${USERS[$((i % NU))]}
		as="setpriv --reuid $u --regid $(id -g "$u") --clear-groups"
		pam_run tmpfs-sweep "$u" item:tty="s$i" open \
			"run:$as dd if=/dev/zero of=$P_SHM/s$i-a bs=4k count=1 status=none" \
			"run:$as dd if=/dev/zero of=$P_SHM/s$i-b bs=4k count=2 status=none" \
			"run:touch $fl/ready-$i; for k in \$(seq 600); do [ -e $fl/go-$w ] && break; sleep 0.02; done" \
			close >"$T_SCRATCH/h-$i.out" 2>&1 &
		pids+=($!)
	done
	# the barrier: every session of the wave is open and has written its files
	wait_for 60 eval "[ \$(ls $fl | grep -c '^ready-') -ge $(((w + 1) * PAR)) ]" ||
		not_ok "wave $w: not all sessions ready"
	touch "$fl/go-$w"
	wait "${pids[@]}"
done
t1=$(date +%s.%N)
echo "# $NS sessions, waves of $PAR: $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s"

check "every open succeeded" test "$(cat "$T_SCRATCH"/h-*.out | grep -cx open=success)" -eq $NS
check "every close succeeded" test "$(cat "$T_SCRATCH"/h-*.out | grep -cx close=success)" -eq $NS
check "every session wrote its files" test "$(cat "$T_SCRATCH"/h-*.out | grep -cx run=0)" -eq $((3 * NS))
check "every audit line is one JSON object (none interleaved)" \
	test "$(json_valid_lines "$P_AUDIT" 2>/dev/null)" = "$(wc -l <"$P_AUDIT")"
# audit.py PART: one part of the audit log's checks (so that each passes or fails alone).
cat >"$T_SCRATCH/audit.py" <<'PY'
import json, os, sys
from collections import Counter
part, audit, shm, ns = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
raw = open(audit, "rb").read()
lines = [json.loads(l) for l in raw.decode().splitlines()]
opens = [l for l in lines if l["event"] == "session-open"]
closes = [l for l in lines if l["event"] == "session-close"]
files = [l for l in lines if l["event"] == "file"]
want = sorted(f"{shm}/s{i}-{x}" for i in range(ns) for x in "ab")
paths = sorted(l["path"] for l in files)
# Which session audited which file: by the tty tag (s<i>) of its session-open line.
tag = {l["session"]: l["tty"] for l in opens}
def own(l): return os.path.basename(l["path"]).startswith(tag.get(l["session"], "?") + "-")
if part == "sessions":
    assert raw.endswith(b"\n"), "the log does not end with a newline"
    assert len(opens) == ns, ("session-open", len(opens))
    assert len(closes) == ns, ("session-close", len(closes))
    assert len(lines) == len(opens) + len(closes) + len(files), "other events"
    ids = {l["session"] for l in opens}
    assert len(ids) == ns and {l["session"] for l in closes} == ids, "session ids differ"
elif part == "gone":
    assert set(paths) == set(want), ("paths never audited", sorted(set(want) - set(paths))[:5])
    removed = {l["path"] for l in files if l["result"] == "removed"}
    assert removed == set(want), ("no removed line", sorted(set(want) - removed)[:5])
    gone = [p for p in want if os.path.lexists(p)]
    assert not gone, ("still there", gone[:5])
elif part == "once":
    print("file lines (own session?, class, result):",
          dict(Counter((own(l), l["class"], l["result"]) for l in files)))
    dup = sorted({p for p in paths if paths.count(p) > 1})
    assert not dup, ("files audited more than once", len(dup), dup[:3])
    assert paths == want, ("paths", len(paths))
    assert all(l["result"] == "removed" for l in files), "not all removed"
    assert sum(l["removed"] for l in closes) == 2 * ns, "session-close removed counts"
    assert all(l["errors"] == 0 and not l["incomplete"] for l in closes), "errors/incomplete"
elif part == "own":
    other = [l for l in files if not own(l)]
    assert not other, ("lines under another session of the same user", len(other), other[:2])
PY
check_py "exactly 100 session-open and 100 session-close lines, same ids" \
	sessions "$P_AUDIT" "$P_SHM" "$NS" <"$T_SCRATCH/audit.py"
check_py "every file accounted for: a removed line for each, all 200 gone" \
	gone "$P_AUDIT" "$P_SHM" "$NS" <"$T_SCRATCH/audit.py"
# BUG: sessions of one user that overlap claim each other's files. A file written by
# session Y while session X was open has X's uid and a birth time in X's window, so X's
# close takes it as class "created" although its pages are charged to Y's own session
# cgroup (cgroup=create). Under OtherSessions proceed, X removes it ("removed" under X) and
# Y, closing at the same time, audits it again ("skipped-changed"); files of Y from before
# X opened get a third line under X ("owned", action "ignore", result "reported": see
# gc_defer.sh). Expected: 200 file lines, each file once, "removed", under the session
# that wrote it (its pages say which). Actual (typical run): ~340 file lines, ~130 files
# with 2-3 lines.
check_py "exactly 200 file lines: each file once, removed; removed counts add up to 200" \
	once "$P_AUDIT" "$P_SHM" "$NS" <"$T_SCRATCH/audit.py"
check_py "each file audited under the session that wrote it" \
	own "$P_AUDIT" "$P_SHM" "$NS" <"$T_SCRATCH/audit.py"
check "no record left" test "$(n_records)" -eq 0
finish
