#!/bin/bash
# THREATS.md 35: an interrupted sweep never audits as removed a file that still exists,
# and never loses a line. Real sessions (pam_host: open, files written as the user, exit
# without close), closed by the hooks helper killed at chosen points, then one gc:
# 1. killed once the intents are journaled, before any removal; the user then moves a
#    journaled file into a mode-000 directory of its own (the walk does not enter it):
#    gc audits it as not removed (it exists), never "removed";
# 2. 2,500 files under ~4 KB paths (a 20 MB journal in the old hex format), killed after
#    the removals, before line 1000: gc gives every removed file exactly one line;
# 3. the remover child killed right after its second unlinkat, before saying so: that
#    file is audited "removed" (its handle finds no inode), not "error not-run";
# 4. the helper killed right after the remover's second answer, before journaling it:
#    gc audits that file "removed" once.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/pam_common.bash"
source "$(dirname "$0")/threat_common.bash"
thr_setup
hooks_world 60s

# killed_close ENV...: the hooks helper's close of $SID with ENV set; must die by SIGKILL.
killed_close() {
	(env "$@" "$HS" close "$SID" --conf "$P_CONF"; exit $?) >"$T_SCRATCH/close.out" 2>&1
	local st=$?
	check "[$*] the close was killed (status $st)" test "$st" -eq 137
}
gc() { "$SWEEP" gc --conf "$P_CONF" >"$T_SCRATCH/gc.out" 2>&1; }
# nlines PATH: how many file lines of $SID name PATH.
nlines() { audit_lines file "$SID" | jq -r --arg p "$1" 'select(.path == $p) | .result' | wc -l; }

# 1. Moved into a private directory between the intent and the resume.
open_only "$U1" "$T_SCRATCH/o1.out" \
	"run:$(as "$U1" sh -c "'echo m >$P_SHM/moved; echo s >$P_SHM/stays'")"
killed_close TMPFS_SWEEP_TEST_KILL_AT_INTENTS=1
check "1: nothing was removed before the kill" test -e "$P_SHM/moved" -a -e "$P_SHM/stays"
run_as "$U1" sh -c "mkdir $P_SHM/private && mv $P_SHM/moved $P_SHM/private/ && chmod 000 $P_SHM/private"
gc
check "1: gc resumed the session" grep -q "$SID" "$T_SCRATCH/gc.out"
check "1: the moved file still exists" test -e "$P_SHM/private/moved"
check "1: it has exactly one line" test "$(nlines "$P_SHM/moved")" -eq 1
check "1: that line does not say removed: skipped-changed, it still exists" \
	expect_result "$P_SHM/moved" skipped-changed "still exists"
check "1: the file left in place was removed by the resumed sweep, one line" \
	eval 'test ! -e "$P_SHM/stays" && expect_result "$P_SHM/stays" removed &&
	      test "$(nlines "$P_SHM/stays")" -eq 1'
chmod 700 "$P_SHM/private"; rm -rf "${P_SHM:?}"/*

# 2. 2,500 files under ~4 KB paths: the journal is read as a stream, whatever its size.
deep=$(/usr/bin/python3 -c 'import sys; print("/".join(["d%02d" % i + "x" * 247 for i in range(15)]))')
open_only "$U1" "$T_SCRATCH/o2.out" "run:$(as "$U1" /usr/bin/python3 -c "'
import os, sys
os.chdir(sys.argv[1])
for c in sys.argv[2].split(\"/\"):
    os.mkdir(c); os.chdir(c)
for i in range(2500):
    open(\"f%04d\" % i, \"w\").close()
' $P_SHM $deep")"
check "2: 2,500 files written at depth 15 (path $(( ${#P_SHM} + ${#deep} + 7 )) bytes)" \
	test "$(ls "$P_SHM/$deep" | wc -l)" -eq 2500
killed_close TMPFS_SWEEP_TEST_KILL_AFTER=1000
check "2: the killed close removed the files" test ! -e "$P_SHM/d00$(printf 'x%.0s' {1..247})"
check "2: ... and wrote 1,000 lines" test "$(audit_lines file "$SID" | wc -l)" -eq 1000
gc
check_py "2: every file and directory has exactly one line, removed" \
	"$P_AUDIT" "$SID" "$P_SHM/$deep" <<'PY'
import json, sys, collections
audit, sid, deep = sys.argv[1], sys.argv[2], sys.argv[3]
lines = [json.loads(l) for l in open(audit)]
files = [l for l in lines if l["event"] == "file" and l["session"] == sid]
n = collections.Counter(l["path"] for l in files)
want = ["%s/f%04d" % (deep, i) for i in range(2500)]
parts = deep.split("/")
want += ["/".join(parts[:k]) for k in range(len(parts) - 14, len(parts) + 1)]
assert sorted(n) == sorted(want), (len(n), len(want))
assert set(n.values()) == {1}, [p for p, k in n.items() if k != 1][:3]
assert all(l["result"] == "removed" for l in files), collections.Counter(l["result"] for l in files)
closes = [l for l in lines if l["event"] == "session-close" and l["session"] == sid]
assert len(closes) == 1 and closes[0]["trigger"] == "gc", closes
PY
check "2: no record or journal left" \
	eval 'test "$(n_records)" -eq 0 && test -z "$(ls -A "$P_STATE/journal")"'

# 3. The remover child dies right after its second unlinkat.
open_only "$U1" "$T_SCRATCH/o3.out" \
	"run:$(as "$U1" sh -c "'for f in r1 r2 r3 r4; do echo \$f >$P_SHM/\$f; done'")"
TMPFS_SWEEP_TEST_REMOVER_KILL_AFTER_UNLINK=2 "$HS" close "$SID" --conf "$P_CONF" \
	>"$T_SCRATCH/close3.out" 2>&1
check "3: the close finished" test $? -eq 0
gone=$(for f in r1 r2 r3 r4; do [ -e "$P_SHM/$f" ] || echo "$f"; done | tr '\n' ' ')
check "3: two files are gone ($gone)" test "$(wc -w <<<"$gone")" -eq 2
for f in r1 r2 r3 r4; do
	if [ -e "$P_SHM/$f" ]; then
		check "3: $f, still there, is an error (not-run)" expect_result "$P_SHM/$f" error "not-run"
	else
		check "3: $f, gone, is audited removed" expect_result "$P_SHM/$f" removed
	fi
done
check "3: the one removed without an answer says how it is known" \
	test "$(audit_lines file "$SID" | jq -r 'select(.detail // "" | test("the file is gone")) | .path' | wc -l)" -eq 1
rm -rf "${P_SHM:?}"/*; rm -f "$P_STATE/sessions/$SID"

# 4. The helper dies right after the second answer, before journaling it.
open_only "$U1" "$T_SCRATCH/o4.out" \
	"run:$(as "$U1" sh -c "'for f in k1 k2 k3 k4; do echo \$f >$P_SHM/\$f; done'")"
killed_close TMPFS_SWEEP_TEST_KILL_AT_RESULT=2
gc
for f in k1 k2 k3 k4; do
	check "4: $f is gone, with exactly one line: removed" \
		eval 'test ! -e "$P_SHM/$f" && test "$(nlines "$P_SHM/$f")" -eq 1 &&
		      expect_result "$P_SHM/$f" removed'
done
check "4: a session-close line, from gc" test "$(cfield trigger)" = gc
check "no record or journal left" \
	eval 'test "$(n_records)" -eq 0 && test -z "$(ls -A "$P_STATE/journal")"'
check "every audit line is JSON" eval 'json_valid_lines "$P_AUDIT" >/dev/null'
finish
