#!/bin/bash
# Crash safety: a close killed with SIGKILL at several points of its sweep (the hooks
# helper, TMPFS_SWEEP_TEST_KILL_AFTER=k: just before file line k; 0: right after the
# removals, before any line) is finished by the next gc. For each k a fresh session
# (pam_host open, files written as its own user, the host exits without close) is
# closed by the killed helper; then one gc of the normal helper: every file is removed
# or kept per policy, each path has exactly one file line across both runs (the removed
# ones say "removed"), each session exactly one session-close, no record and no journal
# left; a second gc changes nothing.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/pam_common.bash"
pam_setup
HOOKS=$B/hooks/tmpfs-sweep
[ -x "$HOOKS" ] || skip_all "build the hooks helper first (make hooks)"
pam_service tsw cgroup=create timeout=20
cat >>"$P_CONF" <<EOF
keep   $P_SHM/keep-*
report $P_SHM/rep-*
remove $P_SHM/** class=charged,created
EOF
check "the policy checks clean" "$SWEEP" check-config "$P_CONF"

# mk.sh PREFIX: the session's files, written as the user: 4 files, a directory with one,
# one kept by rule, one reported by rule.
cat >"$T_SCRATCH/mk.sh" <<'EOF'
set -e
p=$1 shm=$2
for i in 1 2 3 4; do dd if=/dev/zero of="$shm/$p-f$i" bs=16k count=$i status=none; done
mkdir "$shm/$p-d"
dd if=/dev/zero of="$shm/$p-d/f5" bs=4k count=3 status=none
dd if=/dev/zero of="$shm/keep-$p" bs=8k count=1 status=none
dd if=/dev/zero of="$shm/rep-$p" bs=8k count=2 status=none
EOF
chmod 755 "$T_SCRATCH/mk.sh"
# 8 lines per session: f1..f4, d/f5, d (after its child), keep-, rep-.
NLINES=8

KS="0 1 3 7 20"
declare -A SID
for k in $KS; do
	scratch_user u
	out=$T_SCRATCH/open-$k.out
	# open, write, exit without close: the record is orphaned (its pid is gone)
	pam_run tmpfs-sweep "$u" open \
		"run:setpriv --reuid $u --regid $(id -g "$u") --clear-groups sh $T_SCRATCH/mk.sh k$k $P_SHM" \
		>"$out" 2>&1
	check "k=$k: open succeeded and the files were written" \
		eval "grep -qx open=success '$out' && grep -qx run=0 '$out'"
	SID[$k]=$(audit_lines session-open | jq -r --arg u "$u" 'select(.user == $u) | .session')
	check "k=$k: one record for the session" test -e "$P_STATE/sessions/${SID[$k]}"
	# (in a subshell: bash's "Killed" notice goes to the log, not to the test output)
	(TMPFS_SWEEP_TEST_KILL_AFTER=$k "$HOOKS" close "${SID[$k]}" --conf "$P_CONF"; exit $?) \
		>"$T_SCRATCH/close-$k.out" 2>&1
	st=$?
	if [ "$k" -lt "$NLINES" ]; then
		check "k=$k: the close was killed by SIGKILL (status $st)" test "$st" -eq 137
		check "k=$k: the killed close left its record (state closing)" \
			grep -qi closing "$P_STATE/sessions/${SID[$k]}"
		check "k=$k: the killed close wrote exactly $k file lines and no session-close" \
			eval "test \$(audit_lines file '${SID[$k]}' | wc -l) -eq $k &&
			      test -z \"\$(audit_lines session-close '${SID[$k]}')\""
	else
		check "k=$k: the close ran to the end (status $st)" test "$st" -eq 0
		check "k=$k: its record is gone" test ! -e "$P_STATE/sessions/${SID[$k]}"
	fi
done
check "the killed sweeps left a journal" test -n "$(ls -A "$P_STATE/journal" 2>/dev/null)"

"$SWEEP" gc --conf "$P_CONF" >"$T_SCRATCH/gc1.out" 2>&1
check "gc exits 0" test $? -eq 0
sed 's/^/    gc: /' "$T_SCRATCH/gc1.out"
for k in $KS; do
	check "k=$k: gc swept the session (or close had finished it)" eval \
		"[ $k -ge $NLINES ] || grep -q '${SID[$k]}' '$T_SCRATCH/gc1.out'"
done

check_py "each file audited exactly once, per policy, across the killed close and gc" \
	"$P_AUDIT" "$P_SHM" "$NLINES" "$(for k in $KS; do printf '%s=%s ' "$k" "${SID[$k]}"; done)" <<'PY'
import json, os, sys
audit, shm, nlines = sys.argv[1], sys.argv[2], int(sys.argv[3])
sids = dict(kv.split("=") for kv in sys.argv[4].split())
lines = [json.loads(l) for l in open(audit)]
for k, sid in sids.items():
    files = [l for l in lines if l["event"] == "file" and l["session"] == sid]
    paths = sorted(l["path"] for l in files)
    want = sorted([f"{shm}/k{k}-f{i}" for i in (1, 2, 3, 4)] +
                  [f"{shm}/k{k}-d/f5", f"{shm}/k{k}-d", f"{shm}/keep-k{k}", f"{shm}/rep-k{k}"])
    assert paths == want, (k, "paths audited", paths)
    by = {l["path"]: l for l in files}
    for p in want:
        l = by[p]
        base = os.path.basename(p)
        if base.startswith("keep-"):
            assert l["result"] == "kept" and os.path.exists(p), (k, l)
        elif base.startswith("rep-"):
            assert l["result"] == "reported" and os.path.exists(p), (k, l)
        else:
            assert l["action"] == "remove" and l["result"] == "removed", (k, l)
            assert not os.path.lexists(p), (k, p, "still there")
    closes = [l for l in lines if l["event"] == "session-close" and l["session"] == sid]
    assert len(closes) == 1, (k, closes)
    c = closes[0]
    want_trigger = "close" if int(k) >= nlines else "gc"
    assert c.get("trigger", "close") == want_trigger, (k, c)
    assert c["removed"] + c["kept"] + c["deferred"] + c["errors"] <= c["files"], c
PY
check "every audit line is JSON" eval 'json_valid_lines "$P_AUDIT" >/dev/null'
check "no record left" test "$(n_records)" -eq 0
check "no journal left" test -z "$(ls -A "$P_STATE/journal" 2>/dev/null)"

n0=$(wc -l <"$P_AUDIT")
"$SWEEP" gc --conf "$P_CONF" >"$T_SCRATCH/gc2.out" 2>&1
st=$?
check "a second gc exits 0" test "$st" -eq 0
check "a second gc writes no audit line" test "$(wc -l <"$P_AUDIT")" -eq "$n0"
check "a second gc sweeps nothing" test ! -s "$T_SCRATCH/gc2.out"
finish
