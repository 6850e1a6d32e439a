#!/bin/bash
# Issue 11 item 5: empty session cgroups do not pile up. A session opened with
# cgroup=create (through the C PAM host) starts a background process that outlives the
# logout: close cannot remove the session cgroup it made, and notes it in the state dir.
# Once the process has exited, gc removes that cgroup (and its note); an empty cgroup next
# to it that the module did not make stays, and so does one re-made at the noted path
# after the session's (another inode: not the one the module made).
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/pam_common.bash"
pam_setup
scratch_user U
chmod 755 "$T_SCRATCH"
pam_service tsw cgroup=create timeout=20
mnt=$(memcg_mnt)

# session SLEEPERFILE: open, start a sleep that outlives the session, close; prints the
# session cgroup (as /proc/PID/cgroup shows it).
session() {
	local out=$T_SCRATCH/$1.out
	pam_run tmpfs-sweep "$U" open cgroup \
		"run:setsid sleep 300 </dev/null >/dev/null 2>&1 & echo \$! >$T_SCRATCH/$1" \
		close >"$out" 2>&1
	grep -qx 'close=success' "$out" || { cat "$out" >&2; return 1; }
	sed -n 's/^cgroup=//p' "$out" | head -n1
}

cg=$(session sleeper1)
sleeper=$(cat "$T_SCRATCH/sleeper1" 2>/dev/null)
at_exit "kill -9 $sleeper"
sid=${cg##*/}
check "the session had a cgroup of its own ($cg)" grep -q "/tmpfs-sweep/$sid\$" <<<"$cg"
check "the sleeper outlived the session in it" grep -qx "$sleeper" "$mnt$cg/cgroup.procs"
check "the record is gone" test ! -e "$P_STATE/sessions/$sid"
check "close left the cgroup (in use) and noted it for gc" test -d "$mnt$cg" -a -s "$P_STATE/cgroups/$sid"
# An empty cgroup the module did not make, named like a session's, next to it.
decoy=$(dirname "$cg")/$(( ${sid%%-*} + 1 ))-123456789
mkdir "$mnt$decoy"
at_exit "rmdir '$mnt$decoy'"

"$SWEEP" gc --conf "$P_CONF" >"$T_SCRATCH/gc1.out" 2>&1
check "gc while the sleeper runs: the cgroup stays, and its note" \
	test -d "$mnt$cg" -a -s "$P_STATE/cgroups/$sid"
kill -9 "$sleeper"
wait_for 10 eval '! grep -q . "$mnt$cg/cgroup.procs"'
"$SWEEP" gc --conf "$P_CONF" --dry-run >"$T_SCRATCH/gc2.out" 2>&1
check "gc --dry-run says it would remove it, and removes nothing" \
	eval 'grep -q "would remove empty session cgroup $cg of $sid" "$T_SCRATCH/gc2.out" && test -d "$mnt$cg"'
"$SWEEP" gc --conf "$P_CONF" >"$T_SCRATCH/gc3.out" 2>&1
sed 's/^/    gc: /' "$T_SCRATCH/gc3.out"
check "gc removed the empty session cgroup it made" test ! -e "$mnt$cg"
check "gc said so" grep -q "removed empty session cgroup $cg of $sid" "$T_SCRATCH/gc3.out"
check "and dropped the note" test ! -e "$P_STATE/cgroups/$sid"
check "the cgroup the module did not make stays" test -d "$mnt$decoy"

# The noted path re-made by someone else after the session's cgroup went: not the one made.
cg2=$(session sleeper2)
sleeper2=$(cat "$T_SCRATCH/sleeper2" 2>/dev/null)
at_exit "kill -9 $sleeper2"
sid2=${cg2##*/}
check "a second session left its cgroup too" test -d "$mnt$cg2" -a -s "$P_STATE/cgroups/$sid2"
kill -9 "$sleeper2"
wait_for 10 eval 'rmdir "$mnt$cg2" 2>/dev/null' && mkdir "$mnt$cg2"
at_exit "rmdir '$mnt$cg2'"
"$SWEEP" gc --conf "$P_CONF" >"$T_SCRATCH/gc4.out" 2>&1
check "a cgroup re-made at the noted path (another inode) stays" test -d "$mnt$cg2"
check "and the note is dropped" test ! -e "$P_STATE/cgroups/$sid2"
finish
