#!/bin/bash
# THREATS.md 33 and 19 against `explain` (issue 15 §3), as an unprivileged user could:
# 1. A process of the user holds memfds charged to a cgroup and swaps their fd numbers, in
#    a loop, with an O_PATH fd of a root-only FIFO that a root writer is blocked on (O_PATH
#    needs no permission on the FIFO). explain lists a memfd through /proc/PID/fd/N and
#    opens it to scan its pages: it must never open the FIFO. fanotify says who opens it
#    (an explain of another checkout on this machine may: the swapper is anyone's to see);
#    on main our own explain does within the first runs.
# 2. Process names (PR_SET_NAME, or a program's file name) and cgroup names are the user's
#    to choose: explain shows them escaped as file names are, never an ESC to the terminal.
source "$(dirname "$0")/../lib.sh"
need_root
[ -x "$B/tools/t_swapfd" ] && [ -x "$B/tools/eng_memfd" ] || skip_all "build first"
scratch_user U
uid=$(id -u "$U") gid=$(id -g "$U")
as_u() { setpriv --reuid="$uid" --regid="$gid" --clear-groups -- "$@"; }
scratch_memcg CG || skip_all "no memory cgroup"

# 1. The swap. The FIFO is root's, 0600, on a tmpfs (which explain walks too).
scratch_tmpfs M 8m || skip_all "cannot mount a scratch tmpfs"
chmod 755 "$M"
FIFO=$M/fifo
mkfifo -m 600 "$FIFO"
"$B/tools/t_openwatch" "$FIFO" "$T_SCRATCH/opens" "$T_SCRATCH/watching" &
WATCH=$!
at_exit "kill -9 $WATCH"
wait_for 10 test -e "$T_SCRATCH/watching" || skip_all "no fanotify here"
sh -c "echo released >'$FIFO'" &
WRITER=$!
at_exit "kill -9 $WRITER"
mkdir -m 777 "$T_SCRATCH/r"
GO=$T_SCRATCH/r/go
in_memcg "$CG" setpriv --reuid="$uid" --regid="$gid" --clear-groups -- \
	"$B/tools/t_swapfd" 8 "$FIFO" "$T_SCRATCH/r/swap" "$GO" >/dev/null 2>"$T_SCRATCH/swap.err" &
SWAP=$!
at_exit "kill -9 $SWAP"
check "the swapper runs" wait_for 10 test -s "$T_SCRATCH/r/swap"
# 8 memfds swapped: each explain run opens the FIFO about 9 times in 10 when it opens a
# magic link by path. Swapping only while our explain runs.
runs=5 mine=""
touch "$GO"
for i in $(seq $runs); do
	"$SWEEP" explain "$CG" --json >"$T_SCRATCH/ex.json" 2>/dev/null &
	mine="$mine $!"
	wait $!
done
rm -f "$GO"
sleep 0.2
ours=$(for p in $mine; do grep -c "^$p " "$T_SCRATCH/opens"; done | awk '{s += $1} END {print s + 0}')
check "none of $runs explain runs opened the root-only FIFO ($ours opens by ours)" test "$ours" -eq 0
others=$(($(wc -l <"$T_SCRATCH/opens") - ours))
[ "$others" -eq 0 ] || echo "    (opened $others times by other processes of this machine)"
if [ "$others" -eq 0 ]; then
	check "the root writer is still blocked" kill -0 "$WRITER"
fi
check_py "explain's JSON stays whole" "$T_SCRATCH/ex.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert isinstance(d["files"], list), d
PY

# 2. Names. A holder whose process name is an ESC sequence (its program file's name), in a
# child cgroup whose name is one too.
ESC=$(printf '\033')
CHILD="$CG/c${ESC}[31mred"
mkdir "$CHILD" && at_exit "rmdir '$CHILD'"
cp "$B/tools/eng_memfd" "$T_SCRATCH/e${ESC}[2Jx"
chmod 755 "$T_SCRATCH/e${ESC}[2Jx"
mkfifo "$T_SCRATCH/mready"
sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$CHILD" \
	setpriv --reuid="$uid" --regid="$gid" --clear-groups -- \
	"$T_SCRATCH/e${ESC}[2Jx" "m${ESC}[5mfd" 2 >"$T_SCRATCH/mready" &
MEM=$!
at_exit "kill -9 $MEM"
read -r line <"$T_SCRATCH/mready"
check "the named holder is ready" test "$line" = ready
check "its process name holds an ESC" grep -q "$ESC" "/proc/$MEM/comm"
{ kill -9 "$SWAP"; wait "$SWAP"; } 2>/dev/null
"$SWEEP" explain "$CG" >"$T_SCRATCH/parent.txt" 2>&1
"$SWEEP" explain "$CHILD" >"$T_SCRATCH/child.txt" 2>&1
sed 's/^/    /' "$T_SCRATCH/parent.txt" | cat -v
check "explain of the parent: no raw ESC" eval '! grep -q "$ESC" "$T_SCRATCH/parent.txt"'
check "explain of the child: no raw ESC" eval '! grep -q "$ESC" "$T_SCRATCH/child.txt"'
check "the holder's name is shown escaped" grep -qF 'e\x1b[2Jx' "$T_SCRATCH/parent.txt"
check "the child cgroup's name is shown escaped" grep -qF 'c\x1b[31mred' "$T_SCRATCH/parent.txt"
check "the child's header names it escaped" grep -qF 'c\x1b[31mred' "$T_SCRATCH/child.txt"
"$SWEEP" explain "$CG" --json >"$T_SCRATCH/parent.json" 2>&1
check_py "JSON: valid, names as they are" "$T_SCRATCH/parent.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
m = [f for f in d["files"] if f["kind"] == "memfd" and "\x1b[5m" in f["path"]]
assert m and m[0]["comm"] == "e\x1b[2Jx" and "\x1b[31m" in m[0]["cgroup"], d["files"]
PY
finish
