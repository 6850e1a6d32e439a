#!/bin/bash
# Issue 16, 7 (THREATS.md 12): attribution never swaps a page back in and charges nothing new.
# A swap file on disk is switched on for the length of the test; a scratch memory cgroup
# owns an 8 MiB tmpfs file; half of its pages (every other 64 KiB, so that every 2 MiB scan
# window holds both resident and swapped pages) are pushed out with MADV_PAGEOUT. Then
# `scan` attributes the file, and: no page that was out is resident again, the cgroup's
# usage has not grown, the swap file holds as much as before, and the scan charged the
# cgroup only with the resident half. Skipped, saying why, only where swap cannot be
# switched on (no swap file support on the disk, or not allowed here).
source "$(dirname "$0")/../lib.sh"
need_root
scratch_tmpfs M 64m || skip_all "cannot mount a scratch tmpfs"
scratch_memcg CG || skip_all "no memory cgroup"

# The swap file: on a disk file system (never a tmpfs or an overlay), private to this test:
# the first of /var/tmp, the checkout, /tmp where swapon takes it.
swap_on() { # swap_on DIR: 0 with $SWAPF on; else $err says why
	local d
	d=$(mktemp -d "$1/tsw-gate_swap.XXXXXX") || { err="$1: cannot make a directory"; return 1; }
	at_exit "rm -rf '$d'"
	SWAPF=$d/swap
	# written, not fallocated: a swap file must have no unwritten extents
	dd if=/dev/zero of="$SWAPF" bs=1M count=64 status=none && chmod 600 "$SWAPF" &&
		mkswap "$SWAPF" >/dev/null 2>&1 || { err="$1 ($(stat -f -c %T "$1")): mkswap failed"; return 1; }
	# (reverse order at exit: the tmpfs file goes first, so swapoff has nothing to read back)
	at_exit "swapoff '$SWAPF'"
	err=$(swapon "$SWAPF" 2>&1) || { err="$1 ($(stat -f -c %T "$1")): $err"; rm -f "$SWAPF"; return 1; }
}
why=
for d in /var/tmp "$TOP" /tmp; do
	swap_on "$d" && break
	why="$why${why:+; }$err"; SWAPF=
done
[ -n "$SWAPF" ] || skip_all "swap cannot be enabled here: $why"
at_exit "rm -f '$M/f'"
check "our swap file is on" grep -q "^$SWAPF " /proc/swaps
[ -e "$CG/memory.swappiness" ] && echo 100 >"$CG/memory.swappiness" 2>/dev/null

# 8 MiB charged to the scratch cgroup (written from inside it).
in_memcg "$CG" dd if=/dev/zero of="$M/f" bs=1M count=8 status=none
usage() { memcg_usage "$CG"; }
# The cgroup's own swap (KiB): other cgroups may use our swap file too while it is on.
swap_used() {
	if [ -e "$CG/memory.swap.current" ]; then echo $(($(cat "$CG/memory.swap.current") / 1024))
	else awk '$1 == "swap" {print $2 / 1024}' "$CG/memory.stat"; fi
}

# resident PATH: the file's page residency as a string of 0/1 (mincore; maps, faults nothing)
resident() {
	python3 - "$1" <<'PY'
import ctypes, mmap, os, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
libc.mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p]
libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
fd = os.open(sys.argv[1], os.O_RDONLY)
size = os.fstat(fd).st_size
p = libc.mmap(None, size, mmap.PROT_READ, mmap.MAP_SHARED, fd, 0)
pages = (size + 4095) // 4096
vec = ctypes.create_string_buffer(pages)
assert libc.mincore(p, size, vec) == 0, os.strerror(ctypes.get_errno())
print("".join("1" if b & 1 else "0" for b in vec.raw))
PY
}
# Push out every other 64 KiB of the file (MADV_PAGEOUT = 21: mapped shmem pages go to swap).
# Pages still in a per-CPU LRU batch cannot be taken yet: tried again, up to 10 times.
pageout() {
	python3 - "$M/f" <<'PY'
import ctypes, mmap, os, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
fd = os.open(sys.argv[1], os.O_RDONLY)
size = os.fstat(fd).st_size
p = libc.mmap(None, size, mmap.PROT_READ, mmap.MAP_SHARED, fd, 0)
buf = (ctypes.c_char * size).from_address(p)
for off in range(0, size, 4096):  # map them in (resident already): pageout works on mapped pages
    buf[off]
for off in range(0, size, 128 << 10):
    assert libc.madvise(p + off, 64 << 10, 21) == 0, os.strerror(ctypes.get_errno())
PY
}
for _ in 1 2 3 4 5 6 7 8 9 10; do
	pageout
	[ "$(resident "$M/f" | tr -cd 0 | wc -c)" -ge 1000 ] && break
	sleep 0.2
done
v0=$(resident "$M/f"); u0=$(usage); s0=$(swap_used)
out0=$(tr -cd 0 <<<"$v0" | wc -c); in0=$(tr -cd 1 <<<"$v0" | wc -c)
echo "    before the scan: $in0 pages resident, $out0 swapped; cgroup usage $u0; swap used ${s0} KiB"
[ "$out0" -ge 512 ] || skip_all "MADV_PAGEOUT left the tmpfs pages in memory ($out0 of 2048 out): kernel too old to page out shmem on request"
# Every 2 MiB window (512 pages) holds both, so a scan that mapped in a whole window
# around a resident run would touch swapped pages.
mixed=$(python3 -c 'import sys
v = sys.argv[1]
print(sum(1 for w in range(0, len(v), 512) if "0" in v[w:w+512] and "1" in v[w:w+512]))' "$v0")
check "pages are out in swap ($out0 of 2048) and every window is mixed ($mixed of 4)" \
	test "$out0" -ge 512 -a "$in0" -ge 512 -a "$mixed" -eq 4 -a "$s0" -ge 2048
# No more limits: a page swapped in now would be charged, not traded for another.
"$SWEEP" scan --mount "$M" --json >"$T_SCRATCH/scan.json" 2>"$T_SCRATCH/scan.err"
rc=$?
v1=$(resident "$M/f"); u1=$(usage); s1=$(swap_used)
echo "    after:  $(tr -cd 1 <<<"$v1" | wc -c) pages resident; cgroup usage $u1; swap used ${s1} KiB (scan rc=$rc)"
check "the scan ran (rc 0)" test "$rc" -eq 0
check "no page that was swapped out is resident again" \
	python3 -c 'import sys
a, b = sys.argv[1], sys.argv[2]
sys.exit(any(x == "0" and y == "1" for x, y in zip(a, b)))' "$v0" "$v1"
check "the cgroup's usage did not grow ($u0 -> $u1)" test "$u1" -le "$u0"
check "the swap file holds as much as before ($s0 -> $s1 KiB)" test "$s1" -ge "$s0"
cgname=$(memcg_rel "$CG")
got=$(jq -r --arg p "$M/f" --arg cg "$cgname" \
	'select(.path == $p) | [.charges[]? | select(.cgroup == $cg) | .bytes] | add // 0' "$T_SCRATCH/scan.json")
# (resident only: between what was resident after and before; reclaim may take a few more
# out meanwhile, now that there is swap)
in1=$(tr -cd 1 <<<"$v1" | wc -c)
check "the scan charged the cgroup with the resident pages only ($in1 x 4096 <= $got <= $in0 x 4096)" \
	test "${got:-0}" -ge $((in1 * 4096)) -a "${got:-0}" -le $((in0 * 4096)) -a "${got:-0}" -gt 0
[ $T_FAILED = 0 ] || { sed 's/^/    scan: /' "$T_SCRATCH/scan.json" "$T_SCRATCH/scan.err" | head -20; }
finish
