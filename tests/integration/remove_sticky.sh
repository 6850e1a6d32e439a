#!/bin/bash
# Safe removal in a sticky, /tmp-like scratch tmpfs (mode 1777): user A's file goes with
# A's credentials; a file removed and recreated by user B after the snapshot survives
# (skipped-changed); hard links, chowned files stay; a symlink is unlinked, its target is
# untouched; empty dirs go, non-empty ones stay; a root file with A's credentials is
# refused by the kernel (EPERM) and stays; FIFOs and sockets go without being opened;
# 1,000 files in one batch all go, their answers taken in by the parent in batches (how
# fast: bench/remove.sh).
. "$(dirname "$0")/../lib.sh"
need_root
TR=$B/tools/t_remove
scratch_tmpfs M 64m
scratch_user UA
scratch_user UB
as() { local u=$1; shift; setpriv --reuid="$(id -u "$u")" --regid="$(id -g "$u")" --clear-groups -- "$@"; }
res() { grep -E "^$1 " "$T_SCRATCH/out" | cut -d' ' -f2-; }
mkdir -m 755 "$T_SCRATCH/outside" && echo precious >"$T_SCRATCH/outside/target"

as "$UA" sh -c "cd '$M' && echo a >mine && echo s >swap && echo h >h1 && ln h1 h2 &&
	echo c >chowned && ln -s '$T_SCRATCH/outside/target' sl && mkdir ed ned && echo n >ned/x &&
	mkfifo fifo && /usr/bin/python3 -c 'import socket; socket.socket(socket.AF_UNIX).bind(\"sock\")'"
echo r >"$M/rootf"
check "setup: A's files exist" eval '[ -f "$M/mine" ] && [ -p "$M/fifo" ] && [ -S "$M/sock" ]'

# Snapshot now; swap while t_remove waits.
"$TR" --user "$UA" --wait "$T_SCRATCH/go" "$M" mine swap h1 chowned sl ed ned rootf fifo sock \
	>"$T_SCRATCH/out" 2>"$T_SCRATCH/err" &
trpid=$!
wait_for 10 test -e "$T_SCRATCH/go.ready" || not_ok "t_remove did not take its snapshot"
as "$UA" rm "$M/swap"
as "$UB" sh -c "echo 'B owns this' >'$M/swap'"
chown "$UB" "$M/chowned"
touch "$T_SCRATCH/go"
wait $trpid
cat "$T_SCRATCH/out" "$T_SCRATCH/err"

check "A's file removed with A's creds" eval '
	[ "$(res mine)" = "removed none 0" ] && [ ! -e "$M/mine" ]'
check "recreated by B: skipped-changed" [ "$(res swap | cut -d' ' -f1)" = skipped-changed ]
check "recreated by B: B's file survives" [ "$(cat "$M/swap")" = "B owns this" ]
check "hard link: skipped-changed (nlink)" [ "$(res h1)" = "skipped-changed nlink 0" ]
check "hard link: both names stay" eval '[ -f "$M/h1" ] && [ -f "$M/h2" ]'
check "chowned after snapshot: skipped-changed (uid)" [ "$(res chowned)" = "skipped-changed uid 0" ]
check "chowned file stays" [ -f "$M/chowned" ]
check "symlink: the link itself removed" eval '
	[ "$(res sl)" = "removed none 0" ] && [ ! -L "$M/sl" ]'
check "symlink target untouched" [ "$(cat "$T_SCRATCH/outside/target")" = precious ]
check "empty dir removed" eval '[ "$(res ed)" = "removed none 0" ] && [ ! -e "$M/ed" ]'
check "non-empty dir: error ENOTEMPTY" [ "$(res ned)" = "error unlink ENOTEMPTY" ]
check "non-empty dir and content stay" [ -f "$M/ned/x" ]
check "root file with A's creds: error EPERM (sticky)" [ "$(res rootf)" = "error unlink EPERM" ]
check "root file stays" [ -f "$M/rootf" ]
check "FIFO removed (never opened)" eval '
	[ "$(res fifo)" = "removed none 0" ] && [ ! -e "$M/fifo" ]'
check "socket removed" eval '[ "$(res sock)" = "removed none 0" ] && [ ! -e "$M/sock" ]'

# The same root file as root: removed (RemoveAs root).
"$TR" --as-root "$M" rootf >"$T_SCRATCH/out" 2>/dev/null
check "root file with --as-root: removed" eval '
	[ "$(res rootf)" = "removed none 0" ] && [ ! -e "$M/rootf" ]'

# B's file asked to be removed with A's creds (identity matches: only the kernel stops it).
"$TR" --user "$UA" "$M" swap >"$T_SCRATCH/out" 2>/dev/null
check "B's file with A's creds: EPERM, survives" eval '
	[ "$(res swap)" = "error unlink EPERM" ] && [ -f "$M/swap" ]'

# 1,000 files of A in one batch.
as "$UA" sh -c "mkdir '$M/many' && cd '$M/many' && i=0; while [ \$i -lt 1000 ]; do : >f\$i; i=\$((i+1)); done"
(cd "$M" && ls -d many/f*) | "$TR" --user "$UA" --stdin "$M" >"$T_SCRATCH/out" 2>"$T_SCRATCH/err"
cat "$T_SCRATCH/err"
check "1000 files: all removed" [ "$(grep -c ' removed none 0$' "$T_SCRATCH/out")" -eq 1000 ]
check "1000 files: directory empty" [ -z "$(ls -A "$M/many")" ]

# The same again, the remover's answers watched: the parent takes them in when the child
# ends or every 10 ms while it works, not one wake-up per file (984 reads of the pipe for
# 1,000 files before: as costly as the removals). Bounded by the time it took, so that a
# slow run (strace, a loaded machine) is still judged fairly.
as "$UA" sh -c "cd '$M/many' && i=0; while [ \$i -lt 1000 ]; do : >f\$i; i=\$((i+1)); done"
t0=$(date +%s%N)
(cd "$M" && ls -d many/f*) | ASAN_OPTIONS=detect_leaks=0 \
	strace -f -y -e trace=read -o "$T_SCRATCH/reads" \
	"$TR" --user "$UA" --stdin "$M" >"$T_SCRATCH/out" 2>"$T_SCRATCH/err"
ms=$((($(date +%s%N) - t0) / 1000000))
parent=$(head -1 "$T_SCRATCH/reads" | cut -d' ' -f1)
reads=$(grep "^$parent " "$T_SCRATCH/reads" | grep -c 'pipe:')
echo "# the parent read the pipe $reads times in $ms ms"
check "1000 files again: all removed" [ "$(grep -c ' removed none 0$' "$T_SCRATCH/out")" -eq 1000 ]
check "1000 files again: the answers taken in batches ($reads reads in $ms ms)" eval '\
	[ "$reads" -ge 1 ] && [ "$reads" -le $((ms / 10 * 3 / 2 + 5)) ] && [ "$reads" -lt 500 ]'
# More answers than a pipe holds (6,000 x 16 bytes against 64 KiB): the parent must take
# them in while the child works, or the child blocks on a full pipe and the batch never ends
# (no deadline here: the test's own timeout would be the only end).
as "$UA" sh -c "cd '$M/many' && i=0; while [ \$i -lt 6000 ]; do : >f\$i; i=\$((i+1)); done"
(cd "$M" && ls -d many/f*) |
	timeout 60 "$TR" --user "$UA" --stdin "$M" >"$T_SCRATCH/out" 2>"$T_SCRATCH/err"
rc=$?
check "6000 files in one batch: the batch ended (rc $rc)" test "$rc" -eq 0
check "6000 files in one batch: all removed" \
	[ "$(grep -c ' removed none 0$' "$T_SCRATCH/out")" -eq 6000 ]
check "6000 files in one batch: directory empty" [ -z "$(ls -A "$M/many")" ]
finish
