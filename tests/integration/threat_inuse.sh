#!/bin/bash
# THREATS.md 6 and 13 through a real session, with a policy that removes everything the
# session created on the watched tmpfs. Files the session created but that some live
# process still uses are never removed (result skipped-in-use), and the close does not
# stall on them:
# 6. a flock, a POSIX lock, an OFD lock, a write lease (held by the user's own processes,
#    which outlive the session);
# 13. a file open by another uid, a file only mmapped (fd closed) by another uid, and a
#    /dev/shm/PostgreSQL.*-like segment mapped by a "service" process of the user that
#    runs outside the session (charged to the service: not claimed by the session at all).
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/pam_common.bash"
source "$(dirname "$0")/threat_common.bash"
thr_setup
scratch_user U2
HOLD=$B/tools/t_hold LEASE=$B/tools/t_lease
[ -x "$HOLD" ] && [ -x "$LEASE" ] || skip_all "build first (t_hold, t_lease)"
# the holders run as the scratch users: copies they can reach wherever the checkout is
user_copy HOLD "$HOLD" && user_copy LEASE "$LEASE" || skip_all "cannot copy the tools"
echo "remove $P_SHM/** class=charged,created" >>"$P_CONF"
R=$T_SCRATCH/rdy; mkdir -m 1777 "$R"

mk() { printf 'run:%s' "$(as "$U1" sh -c "'dd if=/dev/zero of=$P_SHM/$1 bs=4k count=4 status=none && chmod ${2:-644} $P_SHM/$1'")"; }
holdcmd() { # holdcmd USER MODE FILE: a run: action starting a holder in the background
	printf 'run:%s' "$(as "$1" sh -c "'$HOLD $2 $P_SHM/$3 $R/$3 </dev/null >/dev/null 2>$R/$3.err &'")"
}
# The "service": a process of the user in another memory cgroup (not the session's) that
# creates a segment during the session and keeps it mapped, fd closed (what postgres does
# with its DSM segments): class created (same uid, born in the session), only in use.
scratch_memcg SVC || skip_all "no memory cgroup"
PG=PostgreSQL.1804289383
session "$U1" "$T_SCRATCH/s1.out" \
	"$(mk flocked)" "$(mk posix)" "$(mk ofd)" "$(mk leased 600)" \
	"$(mk open-by-u2 644)" "$(mk mapped-by-u2 666)" \
	"$(mk free)" \
	"$(holdcmd "$U1" flock flocked)" "$(holdcmd "$U1" posix posix)" "$(holdcmd "$U1" ofd ofd)" \
	"run:$(as "$U1" sh -c "'$LEASE $P_SHM/leased $R/leased $R/lease-report </dev/null >/dev/null 2>$R/leased.err &'")" \
	"run:$(as "$U2" sh -c "'exec 3<$P_SHM/open-by-u2; echo \$\$ >$R/open-by-u2; exec sleep 600'") >/dev/null 2>&1 &" \
	"$(holdcmd "$U2" mmap mapped-by-u2)" \
	"run:sh -c 'echo \$\$ >$SVC/cgroup.procs; exec $(as "$U1" sh -c "'\''dd if=/dev/zero of=$P_SHM/$PG bs=64k count=2 status=none; exec $HOLD mmap $P_SHM/$PG $R/pg'\''")' </dev/null >/dev/null 2>$R/pg.err &" \
	"run:for f in flocked posix ofd leased open-by-u2 mapped-by-u2 pg; do i=0; while [ ! -e $R/\$f ] && [ \$i -lt 100 ]; do sleep 0.05; i=\$((i+1)); done; done"
for f in flocked posix ofd leased open-by-u2 mapped-by-u2 pg; do
	[ -e "$R/$f" ] && at_exit "kill -9 $(cut -d' ' -f1 "$R/$f")"
	check "holder $f was ready" test -e "$R/$f"
done
check "no stall on locks or leases: the close returned before the deadline, not killed" \
	no_stall "$T_SCRATCH/s1.out"
check "a session-close line" test -n "$(closeline)"
# The service's segment is born in the session's window, by the session's user, but its
# pages are charged to the service's cgroup, not the session's: not the session's file,
# so the close does not even report it (and it is in use anyway). It survives.
check "the service's segment is not claimed by the session" test -z "$(fline "$P_SHM/$PG")"
check "the service's segment is still there" test -e "$P_SHM/$PG"
for f in flocked posix ofd leased open-by-u2 mapped-by-u2; do
	check "$f: still there" test -e "$P_SHM/$f"
	check "$f: skipped-in-use" expect_result "$P_SHM/$f" skipped-in-use
done
check "the free file of the session is removed (the policy removes)" \
	eval 'test ! -e "$P_SHM/free" && expect_result "$P_SHM/free" removed'
if [ -e "$R/leased" ]; then
	kill -TERM "$(cat "$R/leased")" 2>/dev/null
	wait_for 5 test -s "$R/lease-report"
	echo "    lease holder says: $(cat "$R/lease-report" 2>/dev/null)"
	check "the write lease was never broken by the close" grep -q '^intact WRLCK' "$R/lease-report"
fi
check "every audit line is JSON" eval 'json_valid_lines "$P_AUDIT" >/dev/null'
finish
