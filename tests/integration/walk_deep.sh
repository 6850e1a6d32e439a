#!/bin/bash
# THREATS.md 17: 10,000 nested directories, paths far past PATH_MAX. The walk does not
# recurse, holds a bounded number of fds (it runs with only 300 allowed) and says
# `incomplete` (exit 7, reason depth) instead of failing or exhausting fds.
. "$(dirname "$0")/../lib.sh"
need_root

scratch_tmpfs mnt 256m
python3 - "$mnt" <<'PY'
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECTORY)
for i in range(10000):
    os.mkdir("d", dir_fd=fd)
    nfd = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
    if i == 100:
        with open(os.open("shallow", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=nfd), "wb") as f:
            f.write(b"x" * 8192)
    os.close(fd)
    fd = nfd
with open(os.open("deepest", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd), "wb") as f:
    f.write(b"x" * 4096)
PY
(ulimit -n 300; exec timeout 60 "$SWEEP" scan --mount "$mnt" --json) >"$T_SCRATCH/out.jsonl" 2>"$T_SCRATCH/err"
rc=$?
check "scan ends incomplete (exit 7, got $rc) with 300 fds allowed" test $rc -eq 7
check "stderr says why: depth" grep -q "incomplete (depth)" "$T_SCRATCH/err"
check "a file at depth 101 is reported" grep -q '/shallow",' "$T_SCRATCH/out.jsonl"
check "the file at depth 10,001 is not" bash -c "! grep -q deepest '$T_SCRATCH/out.jsonl'"
check "output is valid JSON" json_valid_lines "$T_SCRATCH/out.jsonl"
finish
