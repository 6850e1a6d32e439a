#!/bin/bash
# The walk stats the names of each getdents64 buffer in io_uring batches (lib/statx_ring.c)
# where its first batches measured that the ring costs less than one statx per name (it
# does under PTI or paravirtualisation, not where system calls are cheap: lib/walk.c), and
# falls back to one statx per name where io_uring is unavailable (kernel.io_uring_disabled,
# seccomp, an old kernel). TMPFS_SWEEP_TEST_NO_URING (hooks build) makes the ring's setup
# fail as the sysctl would. On one tree (2,000 files in 20 directories, some with data, a
# private directory, a root-private one, a symlink, a FIFO, a tmpfs mounted inside):
# - where each statx costs 1 ms more (strace's inject), the walk batches (io_uring_enter,
#   and far fewer statx than names); where each io_uring_enter costs 20 ms more, it stats
#   one by one after its measured batches (a statx for nearly every name, a few enters);
# - the fallback really stats one by one (no ring set up, a statx per name);
# - the measured, the batched and the fallback scan print exactly the same entries with the
#   same figures, and none goes below the inner mount or into the private directories;
# - where the ring can make no io-wq worker (a scratch pids cgroup at pids.max 1: io_uring
#   cancels the statx calls it cannot hand out), the batched scan still lists every entry.
# Cost: ~3 s.
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

"$HS" scan --mount "$M" --json >"$T_SCRATCH/measured.json" 2>"$T_SCRATCH/measured.err"
rc_m=$?
TMPFS_SWEEP_TEST_RING=1 "$HS" scan --mount "$M" --json >"$T_SCRATCH/batch.json" \
	2>"$T_SCRATCH/batch.err"
rc_b=$?
TMPFS_SWEEP_TEST_NO_URING=1 "$HS" scan --mount "$M" --json >"$T_SCRATCH/plain.json" \
	2>"$T_SCRATCH/plain.err"
rc_p=$?
# Where io_uring can make no worker (a pids cgroup at its pids.max), it cancels the
# ring's statx calls (-ECANCELED): those names are statted one at a time, not left out.
if scratch_pids P 1; then
	# (LeakSanitizer needs a thread of its own at exit: none to be had here)
	ASAN_OPTIONS=detect_leaks=0 TMPFS_SWEEP_TEST_RING=1 \
		in_memcg "$P" "$HS" scan --mount "$M" --json --jobs 1 \
		>"$T_SCRATCH/nopids.json" 2>"$T_SCRATCH/nopids.err"
	rc_n=$?
	check "no worker to be had (pids.max 1, $(tr '\n' ' ' <"$P/pids.events")): exit $rc_n, the same entries as one statx at a time" \
		eval '[ "$rc_n" -eq 0 ] && grep -q "^max [1-9]" "$P/pids.events" &&
			cmp <(sort "$T_SCRATCH/nopids.json") <(sort "$T_SCRATCH/plain.json")'
else
	ok "# SKIP no pids cgroup (v1) of ours to limit"
fi
# The system calls, counted (LeakSanitizer cannot work under ptrace: off for these)
export ASAN_OPTIONS=detect_leaks=0
traced() { # traced NAME INJECT [VAR=VALUE]: the statx and io_uring calls of one walker counted
	local name=$1 inject=$2
	shift 2
	env "$@" strace -f -qq -c -e trace=statx,io_uring_setup,io_uring_enter ${inject:+-e "$inject"} \
		-o "$T_SCRATCH/$name.strace" "$HS" scan --mount "$M" --json --jobs 1 >/dev/null 2>&1
}
traced slowstatx inject=statx:delay_enter=1000
traced slowring inject=io_uring_enter:delay_enter=20000
traced plain "" TMPFS_SWEEP_TEST_NO_URING=1
unset ASAN_OPTIONS
calls() { awk -v s="$2" '$NF == s { print $4 }' "$T_SCRATCH/$1.strace" | head -n1; }
s_statx=$(calls slowstatx statx) s_enter=$(calls slowstatx io_uring_enter)
r_statx=$(calls slowring statx) r_enter=$(calls slowring io_uring_enter)
p_statx=$(calls plain statx) p_enter=$(calls plain io_uring_enter)
check "statx dear: the walk batches: ${s_enter:-0} io_uring_enter, ${s_statx:-0} statx for $N names" \
	test "${s_enter:-0}" -gt 0 -a "${s_statx:-0}" -lt $((N / 2))
check "the ring dear: the walk stats one by one: ${r_enter:-0} io_uring_enter, ${r_statx:-0} statx for $N names" \
	test "${r_enter:-0}" -gt 0 -a "${r_enter:-0}" -le 24 -a "${r_statx:-0}" -ge $((N - 4 * 64))
check "the fallback stats one by one: ${p_enter:-0} io_uring_enter, ${p_statx:-0} statx" \
	test "${p_enter:-0}" -eq 0 -a "${p_statx:-0}" -ge "$N"
check "the three exit 0 ($rc_m, $rc_b, $rc_p)" test "$rc_m" -eq 0 -a "$rc_b" -eq 0 -a "$rc_p" -eq 0
[ "$rc_m" -eq 0 ] && [ "$rc_b" -eq 0 ] && [ "$rc_p" -eq 0 ] ||
	tail -n 20 "$T_SCRATCH/measured.err" "$T_SCRATCH/batch.err" "$T_SCRATCH/plain.err"
check "the three print the same $(wc -l <"$T_SCRATCH/plain.json") entries" \
	eval 'cmp <(sort "$T_SCRATCH/batch.json") <(sort "$T_SCRATCH/plain.json") &&
		cmp <(sort "$T_SCRATCH/measured.json") <(sort "$T_SCRATCH/plain.json")'
check "every file of the tree, with its data" \
	test "$(jq -s '[.[] | select(.type == "file" and (.path | test("/d[0-9]+/f[0-9]+$")))] | length' \
		"$T_SCRATCH/batch.json")" -eq 2000 -a \
	"$(jq -s '[.[] | select(.size == 8192 and .resident_bytes == 8192)] | length' \
		"$T_SCRATCH/batch.json")" -eq 200
check "nothing below the inner mount or inside the private directories" \
	eval "! grep -qE '/mnt/|/private/|/rootonly/' '$T_SCRATCH/batch.json'"
finish
