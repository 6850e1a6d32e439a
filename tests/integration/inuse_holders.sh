#!/bin/bash
# In-use snapshot against processes of another (scratch) uid on a scratch tmpfs: a file
# open, one only mapped (fd closed), flocked, POSIX- and OFD-locked, write-leased (the
# lease must NOT be broken: the holder reports any SIGIO, and no stall), a memfd; an
# unused file is not found. Also 1000 processes x 100 fds: early stop and the deadline.
. "$(dirname "$0")/../lib.sh"
need_root
TOOLS=$B/tools
scratch_tmpfs MNT 32m
scratch_user UA
uid=$(id -u "$UA") gid=$(id -g "$UA")
as_a() { setpriv --reuid="$uid" --regid="$gid" --clear-groups -- "$@"; }
# the holders run as UA: copies it can reach wherever the checkout is
user_copy UHOLD "$TOOLS/t_hold" && user_copy ULEASE "$TOOLS/t_lease" || skip_all "build first"

for m in open mmap flock posix ofd lease none; do
	printf 'data %s\n' "$m" >"$MNT/$m"
	chown "$uid:$gid" "$MNT/$m"
done
for m in open mmap flock posix ofd; do
	bg P_$m as_a "$UHOLD" $m "$MNT/$m" "$MNT/$m.ready"
done
bg P_memfd as_a "$UHOLD" memfd x "$MNT/memfd.ready"
bg P_lease as_a "$ULEASE" "$MNT/lease" "$MNT/lease.ready" "$MNT/lease.report"
for m in open mmap flock posix ofd memfd lease; do
	wait_for 10 test -e "$MNT/$m.ready" || not_ok "holder $m did not start"
done
memfd=$(awk '{print $2}' "$MNT/memfd.ready")

# No stall: an open of the leased file would break the lease and wait for the holder
# (which never gives it up) for the kernel's lease-break-time; the snapshot runs under a
# timeout well below that, so a stall shows as status 124, not as a slow clock.
lbt=$(cat /proc/sys/fs/lease-break-time 2>/dev/null || echo 45)
lim=$((lbt * 2 / 3))
[ "$lim" -ge 5 ] || lim=5
out=$(timeout "$lim" "$TOOLS/t_inuse" "$MNT/open" "$MNT/mmap" "$MNT/flock" "$MNT/posix" \
	"$MNT/ofd" "$MNT/lease" "$MNT/none" "@$memfd" 2>"$T_SCRATCH/stats")
st=$?
echo "$out"; cat "$T_SCRATCH/stats"
pid_of() { awk '{print $1}' "$MNT/$1.ready"; }
check "open by another uid: open, right pid" grep -qx "$MNT/open open $(pid_of open)" <<<"$out"
check "only mapped (fd closed): mapped" grep -qx "$MNT/mmap mapped $(pid_of mmap)" <<<"$out"
check "flock held: locked" grep -qx "$MNT/flock locked $(pid_of flock)" <<<"$out"
check "POSIX lock: locked" grep -qx "$MNT/posix locked $(pid_of posix)" <<<"$out"
check "OFD lock: locked" grep -qE "^$MNT/ofd (locked|open) " <<<"$out"
check "write lease: leased" grep -qx "$MNT/lease leased $(pid_of lease)" <<<"$out"
check "unused file: not found" grep -qx "$MNT/none none" <<<"$out"
check "memfd: seen (open, mapped)" grep -qE "^@$memfd (open|mapped) $(pid_of memfd)\$" <<<"$out"
check "no stall with a lease held (status $st; 124: still waiting at $lim s of $lbt)" \
	[ "$st" -ne 124 ]

# The lease survived: no SIGIO, and F_GETLEASE still says WRLCK.
sleep 0.3
check "lease not broken while looking (no SIGIO)" [ ! -e "$MNT/lease.report" ]
kill -TERM "$(pid_of lease)"
wait_for 10 grep -q . "$MNT/lease.report"
echo "lease report: $(cat "$MNT/lease.report" 2>&1)"
check "lease intact afterwards (F_GETLEASE = WRLCK)" grep -qx "intact WRLCK" "$MNT/lease.report"

# After the holders are gone, nothing is in use.
for m in open mmap flock posix ofd; do kill -9 "$(pid_of $m)"; done
wait_for 5 sh -c "! '$TOOLS/t_inuse' '$MNT/open' '$MNT/mmap' '$MNT/flock' 2>/dev/null | grep -qv ' none\$'"
out=$("$TOOLS/t_inuse" "$MNT/open" "$MNT/mmap" "$MNT/flock" "$MNT/posix" 2>/dev/null)
check "holders gone: nothing in use" [ "$(grep -c ' none$' <<<"$out")" -eq 4 ]

# 1000 processes with 100 fds each on the tmpfs (plus everything else running): the full
# pass sees them all; a pass that wants one inode stops once it found it; a pass out of
# time stops and says it is not complete (the sweep then cannot tell, and keeps).
mkdir "$MNT/farm"
bg FARM sh -c "sleep 120 | '$TOOLS/t_fdfarm' 1000 100 '$MNT/farm' '$MNT/farm.ready'"
if wait_for 60 test -e "$MNT/farm.ready"; then
	"$TOOLS/t_inuse" "$MNT/farm/f7" >"$T_SCRATCH/farm.out" 2>"$T_SCRATCH/farm.stats"
	"$TOOLS/t_inuse" --want "$MNT/farm/f7" >"$T_SCRATCH/want.out" 2>"$T_SCRATCH/want.stats"
	"$TOOLS/t_inuse" --deadline-ms 1 "$MNT/farm/f7" >/dev/null 2>"$T_SCRATCH/late.stats"
	cat "$T_SCRATCH/farm.stats" "$T_SCRATCH/want.stats" "$T_SCRATCH/late.stats"
	stat_of() { sed -n "s/.* $2=\([0-9]*\).*/\1/p" "$T_SCRATCH/$1.stats" | head -1; }
	check "farm file seen open" grep -q " open " "$T_SCRATCH/farm.out"
	check "the full pass saw >= 100000 fds ($(stat_of farm fds))" [ "$(stat_of farm fds)" -ge 100000 ]
	check "the full pass is complete" [ "$(stat_of farm complete)" = 1 ]
	check "a pass wanting f7 finds it" grep -q " open " "$T_SCRATCH/want.out"
	check "and stops there ($(stat_of want procs) of $(stat_of farm procs) processes)" \
		[ "$(stat_of want procs)" -lt "$(stat_of farm procs)" ]
	check "a pass out of time says so, not complete" \
		eval '[ "$(stat_of late timed_out)" = 1 ] && [ "$(stat_of late complete)" = 0 ]'
else
	not_ok "fd farm did not start"
fi
pkill -9 -f "t_fdfarm 1000 100 $MNT/farm" 2>/dev/null
finish
