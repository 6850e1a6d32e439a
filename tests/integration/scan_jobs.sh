#!/bin/bash
# `scan --jobs N`: N walker processes split the tree by the names of the root's entries
# (walk_opts.share); their lines go to one stdout, written out only in whole lines under a
# lock they share. On one tree (40 directories of 50 files, every 10th with 8 KiB of data;
# 300 files at the root; a chain of 60 directories whose names are 200 control bytes, so
# that its deepest file's JSON line, every byte escaped, is longer than the 64 KiB that
# walkers write out at once):
# - 3 walkers print exactly the lines of one walker, in JSON and in the table, with the
#   same totals; into a pipe read slowly, every line is whole JSON and the long one intact;
# - --jobs 1 forks nothing, --jobs 3 forks 2 walkers, and the default (no --jobs) forks
#   one per CPU up to 4;
# - a walker killed mid-walk: the scan says so and fails (exit 1), never a silent
#   partial list that looks whole; a reader that goes away (head -1): the scan dies of
#   SIGPIPE as a lone walker does, without a word, and no walker is left;
# - where no walker can be forked (a scratch pids cgroup with pids.max 1), the scan walks
#   alone and lists everything (exit 0).
# Cost: ~4 s.
source "$(dirname "$0")/../lib.sh"
need_root
command -v strace >/dev/null || skip_all "no strace"
scratch_tmpfs M 64m || skip_all "cannot mount a scratch tmpfs"

python3 - "$M" <<'PY' || not_ok "the tree"
import os, sys
root = sys.argv[1]
for d in range(40):
    dp = "%s/d%02d" % (root, d)
    os.mkdir(dp)
    for f in range(50):
        with open("%s/f%02d" % (dp, f), "wb") as fh:
            if f % 10 == 0:
                fh.write(b"x" * 8192)
for f in range(300):
    open("%s/top%03d" % (root, f), "w").close()
fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
for i in range(60):
    name = bytes([1 + i % 30]) * 200
    os.mkdir(name, dir_fd=fd)
    nfd = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
    os.close(fd)
    fd = nfd
os.close(os.open("deepest", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd))
os.close(fd)
PY
N=$(find "$M" -mindepth 1 ! -type d -printf . | wc -c) # scan lists all but directories

"$SWEEP" scan --mount "$M" --json --jobs 1 >"$T_SCRATCH/one.json" 2>"$T_SCRATCH/one.err"
rc1=$?
"$SWEEP" scan --mount "$M" --json --jobs 3 >"$T_SCRATCH/three.json" 2>"$T_SCRATCH/three.err"
rc3=$?
check "one and three walkers exit 0 ($rc1, $rc3)" test "$rc1" -eq 0 -a "$rc3" -eq 0
check "one walker lists all $N entries" test "$(wc -l <"$T_SCRATCH/one.json")" -eq "$N"
check "three walkers print exactly one walker's lines" \
	cmp <(sort "$T_SCRATCH/one.json") <(sort "$T_SCRATCH/three.json")
long=$(awk '{ if (length($0) > m) m = length($0) } END { print m }' "$T_SCRATCH/three.json")
check "the deepest file's line is longer than 64 KiB ($long bytes)" test "$long" -gt 65536
# A pipe read slowly: walkers wait on a full pipe while others want to write.
"$SWEEP" scan --mount "$M" --json --jobs 3 2>"$T_SCRATCH/pipe.err" | python3 -c '
import json, sys, time
n = longest = 0
for line in sys.stdin.buffer:
    e = json.loads(line)
    n += 1
    longest = max(longest, len(e["path"]))
    if n % 200 == 0:
        time.sleep(0.02)
print(n, longest)' >"$T_SCRATCH/pipe.out" 2>&1
read -r pn plong <"$T_SCRATCH/pipe.out"
dlong=$(jq -r 'select(.path | endswith("/deepest")) | .path | length' "$T_SCRATCH/one.json")
check "into a slow pipe: $N whole JSON lines, the longest path whole (${plong:-?} = ${dlong:-?} characters)" \
	test "${pn:-0}" -eq "$N" -a "${plong:-0}" -eq "${dlong:--1}"
[ "${pn:-0}" -eq "$N" ] || sed 's/^/    /' "$T_SCRATCH/pipe.out" | head -5

"$SWEEP" scan --mount "$M" --jobs 1 >"$T_SCRATCH/one.txt"
"$SWEEP" scan --mount "$M" --jobs 3 >"$T_SCRATCH/three.txt"
check "the table: the same lines from three walkers, header first and totals last ($(tail -n1 "$T_SCRATCH/three.txt"))" \
	eval 'cmp <(sort "$T_SCRATCH/one.txt") <(sort "$T_SCRATCH/three.txt") &&
		[ "$(head -n1 "$T_SCRATCH/three.txt")" = "$(head -n1 "$T_SCRATCH/one.txt")" ] &&
		[ "$(tail -n1 "$T_SCRATCH/three.txt")" = "$(tail -n1 "$T_SCRATCH/one.txt")" ] &&
		[ "$(tail -n1 "$T_SCRATCH/one.txt")" = "$N files, 1.6M resident" ]'

# Processes made, counted (LeakSanitizer cannot work under ptrace: off for these).
export ASAN_OPTIONS=detect_leaks=0
forks() { # forks ARGS...: the walkers a scan forks
	strace -f -qq -e trace=fork,vfork,clone,clone3 -o "$T_SCRATCH/forks.strace" \
		"$SWEEP" scan --mount "$M" --json "$@" >/dev/null 2>&1
	grep -cE '(fork|clone3?)\(' "$T_SCRATCH/forks.strace"
}
cpus=$(nproc)
want=$((cpus < 4 ? cpus : 4))
f1=$(forks --jobs 1) f3=$(forks --jobs 3) fd=$(forks)
check "forked: --jobs 1 none ($f1), --jobs 3 two ($f3), the default one per CPU up to 4 ($fd for $cpus CPUs)" \
	test "$f1" -eq 0 -a "$f3" -eq 2 -a "$fd" -eq $((want - 1))

unset ASAN_OPTIONS

killed_walker rck "$SWEEP" scan --mount "$M" --json --jobs 3
check "a killed walker: the scan fails (exit $rck) and says which ($(grep -v dispatch_event "$T_SCRATCH/killed.err"))" \
	eval '[ "$rck" -eq 1 ] && grep -q "walker [12] ended before its share was walked (signal 9)" "$T_SCRATCH/killed.err"'

"$SWEEP" scan --mount "$M" --json --jobs 3 2>"$T_SCRATCH/head.err" | head -n1 >/dev/null
rch=${PIPESTATUS[0]}
sleep 0.5
check "a reader gone: the scan ends as one walker would (SIGPIPE, $rch), silently, no walker left ($(pgrep -fc "tmpfs-sweep scan --mount $M" || true))" \
	eval '[ "$rch" -eq 141 ] && [ ! -s "$T_SCRATCH/head.err" ] &&
		! pgrep -f "tmpfs-sweep scan --mount $M" >/dev/null'

# No walker can be forked: the scan walks alone.
if scratch_pids P 1; then
	# (LeakSanitizer needs a thread of its own at exit: none to be had here)
	ASAN_OPTIONS=detect_leaks=0 in_memcg "$P" "$SWEEP" scan --mount "$M" --json --jobs 3 \
		>"$T_SCRATCH/alone.json" 2>"$T_SCRATCH/alone.err"
	rca=$?
	check "no walker forked (pids.max 1, $(tr '\n' ' ' <"$P/pids.events")): exit $rca, every line" \
		eval '[ "$rca" -eq 0 ] && grep -q "^max [1-9]" "$P/pids.events" &&
			cmp <(sort "$T_SCRATCH/one.json") <(sort "$T_SCRATCH/alone.json")'
else
	ok "# SKIP no pids cgroup (v1) of ours to limit"
fi
finish
