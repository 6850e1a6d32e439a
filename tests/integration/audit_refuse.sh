#!/bin/bash
# Audit sink refusals: a symlinked audit file or directory is refused and its target is
# untouched; an unwritable directory (read-only mount) gives -errno, no hang;
# another process holding a flock on the log delays nothing (no lock is taken).
# "No hang" and "no wait" are checked against a holder or a limit far beyond any honest
# run (the write runs under `timeout`, which reports 124 when it had to kill it), never
# against a clock: a loaded machine makes honest runs slow, not wrong.
. "$(dirname "$0")/../lib.sh"
need_root
T=$B/tools/t_audit

# Symlinked file.
mkdir -m 700 "$T_SCRATCH/d1"
echo precious >"$T_SCRATCH/target"
ln -s "$T_SCRATCH/target" "$T_SCRATCH/d1/audit.jsonl"
out=$($T write "$T_SCRATCH/d1/audit.jsonl" s 3)
check "symlinked audit file refused (ELOOP)" grep -q '^rc=ELOOP' <<<"$out"
check "symlink target untouched" [ "$(cat "$T_SCRATCH/target")" = precious ]

# Symlinked directory.
mkdir -m 700 "$T_SCRATCH/real"
ln -s "$T_SCRATCH/real" "$T_SCRATCH/d2"
out=$($T write "$T_SCRATCH/d2/audit.jsonl" s 3)
check "symlinked audit directory refused (ELOOP)" grep -q '^rc=ELOOP' <<<"$out"
check "nothing created through the directory symlink" [ -z "$(ls -A "$T_SCRATCH/real")" ]

# Unwritable directory: a read-only tmpfs.
scratch_tmpfs RO 1m
mount -o remount,ro "$RO"
out=$(timeout 60 $T write "$RO/log/audit.jsonl" s 50)
st=$?
check "read-only audit dir: -EROFS returned" grep -q '^rc=EROFS' <<<"$out"
check "read-only audit dir: returned by itself, no hang (status $st, 124 = killed at 60 s)" \
	[ "$st" -ne 124 ]
mkdir -m 700 "$T_SCRATCH/d3" && : >"$T_SCRATCH/d3/audit.jsonl" && chmod 600 "$T_SCRATCH/d3/audit.jsonl"
mount --bind -o ro "$T_SCRATCH/d3" "$T_SCRATCH/d3" && at_exit "umount -l '$T_SCRATCH/d3'"
out=$($T write "$T_SCRATCH/d3/audit.jsonl" s 5)
check "read-only existing audit file: -EROFS" grep -q '^rc=EROFS' <<<"$out"

# A lock held forever by another process: no lock is taken, so nothing waits for it.
mkdir -m 700 "$T_SCRATCH/d4"
LOG=$T_SCRATCH/d4/audit.jsonl
: >"$LOG"; chmod 600 "$LOG"
# The holder keeps its lock until the test ends: a writer that waited for it would be
# killed by `timeout` (status 124) long before the holder lets go.
# (The lock is on the open file of fd 9, which the holder, the bg process itself, keeps.)
bg HOLDER sh -c 'exec 9>>"$1" && flock -x 9 && exec sleep 3600' _ "$LOG"
ino=$(stat -c %i "$LOG")
wait_for 10 grep -qE "FLOCK +ADVISORY +WRITE +[0-9]+ [0-9a-f]+:[0-9a-f]+:$ino " /proc/locks ||
	not_ok "the holder did not take its lock"
out=$(timeout 60 $T write "$LOG" s 3)
st=$?
check "write under a held flock succeeds" grep -q '^rc=0' <<<"$out"
check "all 5 lines written despite the lock" [ "$(wc -l <"$LOG")" -eq 5 ]
check "no wait for the lock: the write returned while the lock is held (status $st)" \
	eval '[ "$st" -ne 124 ] && kill -0 "$HOLDER"'

# A FIFO at the audit path: refused without blocking.
mkdir -m 700 "$T_SCRATCH/d5" && mkfifo "$T_SCRATCH/d5/audit.jsonl"
out=$(timeout 5 $T write "$T_SCRATCH/d5/audit.jsonl" s 1)
check "FIFO audit path refused without blocking" grep -q '^rc=ENXIO' <<<"$out"

# A world-writable audit directory is refused (someone else could swap the file).
mkdir -m 1777 "$T_SCRATCH/d6"
out=$($T write "$T_SCRATCH/d6/audit.jsonl" s 1)
check "world-writable audit dir refused (EPERM)" grep -q '^rc=EPERM' <<<"$out"
check "no file created there" [ ! -e "$T_SCRATCH/d6/audit.jsonl" ]
finish
