#!/bin/bash
# `explain --jobs N`: N walker processes share every tmpfs mount out (walkers.h); each
# sends the files it found charged to the cgroup back to the first, which adds the
# processes' objects, sorts and prints. On a scratch tmpfs, a scratch cgroup's writer
# leaves 30 directories of 10 files (16 KiB each) and 20 files at the root (8 KiB); the
# test shell, outside that cgroup, leaves as many bytes again in other files:
# - one walker and three explain the same 320 files with the same figures (path, size,
#   charge, owner, holder) and the same totals, in JSON and in the table;
# - --jobs 1 forks nothing, --jobs 3 forks 2 walkers;
# - a walker killed mid-walk: explain fails (exit 1) and says which walker, never a
#   shorter list that looks whole.
# Cost: ~4 s.
source "$(dirname "$0")/../lib.sh"
need_root
command -v strace >/dev/null || skip_all "no strace"
scratch_tmpfs M 64m || skip_all "cannot mount a scratch tmpfs"
scratch_memcg CG || skip_all "no memory cgroup to make"
REL=$(memcg_rel "$CG")

tree() { # tree PREFIX: the files, written by this process
	/usr/bin/python3 - "$M" "$1" <<'PY'
import os, sys
root, pre = sys.argv[1], sys.argv[2]
for d in range(30):
    dp = "%s/%sd%02d" % (root, pre, d)
    os.mkdir(dp)
    for f in range(10):
        with open("%s/f%d" % (dp, f), "wb") as fh:
            fh.write(b"c" * 16384)
for f in range(20):
    with open("%s/%stop%02d" % (root, pre, f), "wb") as fh:
        fh.write(b"t" * 8192)
PY
}
in_memcg "$CG" bash -c "$(declare -f tree); M='$M' tree c" || not_ok "the charged tree"
tree o || not_ok "the other tree"

"$SWEEP" explain "$REL" --json --jobs 1 >"$T_SCRATCH/one.json" 2>"$T_SCRATCH/one.err"
rc1=$?
"$SWEEP" explain "$REL" --json --jobs 3 >"$T_SCRATCH/three.json" 2>"$T_SCRATCH/three.err"
rc3=$?
# explain walks every tmpfs mount of the host: another test's file changing meanwhile makes
# it incomplete (exit 7), which says nothing of these files.
ok01() { [ "$1" -eq 0 ] || [ "$1" -eq 7 ]; }
check "one and three walkers exit 0 or 7 ($rc1, $rc3)" eval 'ok01 "$rc1" && ok01 "$rc3"'
ok01 "$rc1" && ok01 "$rc3" || cat "$T_SCRATCH/one.err" "$T_SCRATCH/three.err"
check_py "the same 320 files, figures and totals from one walker and three" \
	"$T_SCRATCH/one.json" "$T_SCRATCH/three.json" "$M" <<'PY'
import json, sys
one, three = (json.load(open(f)) for f in sys.argv[1:3])
m = sys.argv[3]
def files(x):
    return sorted((f["path"], f["kind"], f["size"], f["charged_bytes"], f["uid"], f["cgroup"])
                  for f in x["files"])
mine = [f for f in files(one) if f[0].startswith(m + "/")]
assert len(mine) == 320, len(mine)
assert all(f[0].startswith(m + "/c") for f in mine), [f for f in mine if "/o" in f[0]][:3]
assert files(one) == files(three), (len(files(one)), len(files(three)))
for k in ("explained_bytes", "shmem"):  # not the host's: unattributed, incomplete
    assert one[k] == three[k], (k, one[k], three[k])
assert one["explained_bytes"] >= 30 * 10 * 16384 + 20 * 8192
PY
"$SWEEP" explain "$REL" --jobs 1 >"$T_SCRATCH/one.txt"
"$SWEEP" explain "$REL" --jobs 3 >"$T_SCRATCH/three.txt"
total() { grep -o '^explained .* shmem ([0-9.]*%)' "$1"; }
check "the table: the same lines of these files, the same total ($(total "$T_SCRATCH/three.txt"))" \
	eval 'cmp <(grep -F "$M/" "$T_SCRATCH/one.txt" | sort) <(grep -F "$M/" "$T_SCRATCH/three.txt" | sort) &&
		[ "$(grep -cF "$M/" "$T_SCRATCH/one.txt")" -eq 320 ] &&
		[ "$(total "$T_SCRATCH/one.txt")" = "$(total "$T_SCRATCH/three.txt")" ]'

export ASAN_OPTIONS=detect_leaks=0
forks() { # forks ARGS...: the processes an explain forks
	strace -f -qq -e trace=fork,vfork,clone,clone3 -o "$T_SCRATCH/forks.strace" \
		"$SWEEP" explain "$REL" --json "$@" >/dev/null 2>&1
	grep -cE '(fork|clone3?)\(' "$T_SCRATCH/forks.strace"
}
f1=$(forks --jobs 1) f3=$(forks --jobs 3)
check "forked: --jobs 1 none ($f1), --jobs 3 two ($f3)" test "$f1" -eq 0 -a "$f3" -eq 2

unset ASAN_OPTIONS

killed_walker rck "$SWEEP" explain "$REL" --json --jobs 3
check "a killed walker: explain fails (exit $rck), says which, prints nothing ($(grep -v dispatch_event "$T_SCRATCH/killed.err"))" \
	eval '[ "$rck" -eq 1 ] && [ ! -s "$T_SCRATCH/killed.out" ] &&
		grep -q "walker [12] ended before its share was walked (signal 9)" "$T_SCRATCH/killed.err"'
finish
