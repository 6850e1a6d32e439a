#!/bin/bash
# Audit sink refusals: a symlinked audit file or directory is refused and its target is
# untouched; an unwritable directory (read-only mount) gives -errno quickly, no hang;
# another process holding a flock on the log delays nothing (no lock is taken).
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
start=$(date +%s%N)
out=$($T write "$RO/log/audit.jsonl" s 50)
ms=$((($(date +%s%N) - start) / 1000000))
check "read-only audit dir: -EROFS returned" grep -q '^rc=EROFS' <<<"$out"
check "read-only audit dir: returned quickly (${ms} ms < 2000)" [ "$ms" -lt 2000 ]
mkdir -m 700 "$T_SCRATCH/d3" && : >"$T_SCRATCH/d3/audit.jsonl" && chmod 600 "$T_SCRATCH/d3/audit.jsonl"
mount --bind -o ro "$T_SCRATCH/d3" "$T_SCRATCH/d3" && at_exit "umount -l '$T_SCRATCH/d3'"
out=$($T write "$T_SCRATCH/d3/audit.jsonl" s 5)
check "read-only existing audit file: -EROFS" grep -q '^rc=EROFS' <<<"$out"

# A lock held forever by another process: no lock is taken, so nothing waits for it.
mkdir -m 700 "$T_SCRATCH/d4"
LOG=$T_SCRATCH/d4/audit.jsonl
: >"$LOG"; chmod 600 "$LOG"
start=$(date +%s%N)
$T write "$LOG" s 3 >/dev/null
base=$((($(date +%s%N) - start) / 1000000))
: >"$LOG"
bg HOLDER flock -x "$LOG" sleep 60
wait_for 5 sh -c "grep -q FLOCK /proc/locks"
start=$(date +%s%N)
out=$($T write "$LOG" s 3)
ms=$((($(date +%s%N) - start) / 1000000))
check "write under a held flock succeeds" grep -q '^rc=0' <<<"$out"
check "all 5 lines written despite the lock" [ "$(wc -l <"$LOG")" -eq 5 ]
check "no wait for the lock: 5 events in ${ms} ms, ${base} ms without it (< +100)" \
	[ "$ms" -lt $((base + 100)) ]

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
