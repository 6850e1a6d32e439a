#!/bin/bash
# The walk stats the names of each getdents64 buffer in io_uring batches (lib/statx_ring.c)
# and falls back to one statx per name where io_uring is unavailable (kernel.io_uring_disabled,
# seccomp, an old kernel). TMPFS_SWEEP_TEST_NO_URING (hooks build) makes the ring's setup
# fail as the sysctl would. On one tree (2,000 files in 20 directories, some with data, a
# private directory, a root-private one, a symlink, a FIFO, a tmpfs mounted inside):
# - the batched scan really batches (strace: io_uring_enter, and far fewer statx than names);
# - the fallback really stats one by one (no ring set up, a statx per name);
# - both print exactly the same entries with the same figures, and neither goes below the
#   inner mount or into the private directories.
# Cost: ~2 s.
source "$(dirname "$0")/../lib.sh"
need_root
HS=$B/hooks/tmpfs-sweep
[ -x "$HS" ] || skip_all "build the hooks helper first (make hooks)"
command -v strace >/dev/null || skip_all "no strace"
scratch_tmpfs M 64m || skip_all "cannot mount a scratch tmpfs"

python3 - "$M" <<'PY' || not_ok "the tree"
import os, sys
root = sys.argv[1]
for d in range(20):
    dp = "%s/d%02d" % (root, d)
    os.mkdir(dp)
    for f in range(100):
        with open("%s/f%03d" % (dp, f), "wb") as fh:
            if f % 10 == 0:
                fh.write(b"x" * 8192)
os.mkdir(root + "/private", 0o000)
os.mkdir(root + "/rootonly", 0o700)
open(root + "/rootonly/hidden", "w").close()
os.mkdir(root + "/mnt")
os.symlink("/etc/shadow", root + "/d01/link")
os.mkfifo(root + "/d02/fifo")
PY
chmod 000 "$M/private"
mount -t tmpfs -o size=1m "tsw-$T_NAME-in" "$M/mnt" && at_exit "umount -l '$M/mnt'" ||
	not_ok "the inner mount"
touch "$M/mnt/beyond"
N=$(find "$M" -mount | wc -l)

"$HS" scan --mount "$M" --json >"$T_SCRATCH/batch.json" 2>"$T_SCRATCH/batch.err"
rc_b=$?
TMPFS_SWEEP_TEST_NO_URING=1 "$HS" scan --mount "$M" --json >"$T_SCRATCH/plain.json" \
	2>"$T_SCRATCH/plain.err"
rc_p=$?
# The system calls, counted (LeakSanitizer cannot work under ptrace: off for these two)
export ASAN_OPTIONS=detect_leaks=0
strace -f -qq -c -e trace=statx,io_uring_setup,io_uring_enter -o "$T_SCRATCH/batch.strace" \
	"$HS" scan --mount "$M" --json >/dev/null 2>&1
TMPFS_SWEEP_TEST_NO_URING=1 strace -f -qq -c -e trace=statx,io_uring_setup,io_uring_enter \
	-o "$T_SCRATCH/plain.strace" "$HS" scan --mount "$M" --json >/dev/null 2>&1
unset ASAN_OPTIONS
calls() { awk -v s="$2" '$NF == s { print $4 }' "$1" | head -n1; }
b_statx=$(calls "$T_SCRATCH/batch.strace" statx) b_enter=$(calls "$T_SCRATCH/batch.strace" io_uring_enter)
p_statx=$(calls "$T_SCRATCH/plain.strace" statx) p_enter=$(calls "$T_SCRATCH/plain.strace" io_uring_enter)
check "the batched scan batches: ${b_enter:-0} io_uring_enter, ${b_statx:-0} statx for $N names" \
	test "${b_enter:-0}" -gt 0 -a "${b_statx:-0}" -lt $((N / 2))
check "the fallback stats one by one: ${p_enter:-0} io_uring_enter, ${p_statx:-0} statx" \
	test "${p_enter:-0}" -eq 0 -a "${p_statx:-0}" -ge "$N"
check "both exit 0 ($rc_b, $rc_p)" test "$rc_b" -eq 0 -a "$rc_p" -eq 0
[ "$rc_b" -eq 0 ] && [ "$rc_p" -eq 0 ] || tail -n 20 "$T_SCRATCH/batch.err" "$T_SCRATCH/plain.err"
check "both print the same $(wc -l <"$T_SCRATCH/plain.json") entries" \
	cmp <(sort "$T_SCRATCH/batch.json") <(sort "$T_SCRATCH/plain.json")
check "every file of the tree, with its data" \
	test "$(jq -s '[.[] | select(.type == "file" and (.path | test("/d[0-9]+/f[0-9]+$")))] | length' \
		"$T_SCRATCH/batch.json")" -eq 2000 -a \
	"$(jq -s '[.[] | select(.size == 8192 and .resident_bytes == 8192)] | length' \
		"$T_SCRATCH/batch.json")" -eq 200
check "nothing below the inner mount or inside the private directories" \
	eval "! grep -qE '/mnt/|/private/|/rootonly/' '$T_SCRATCH/batch.json'"
finish
