#!/bin/bash
# One user's millions of fds cost the others' logouts nothing (THREATS.md 36, issue 15 §2
# first bullet). A second account holds ~2 M descriptors (RLIMIT_NOFILE raised as root where
# this machine lets root do so; more processes where it does not). The session's user then
# logs out with three files: F free, H held open by a background job of the user, R held
# only by an io_uring. F is removed; H is kept and its holder named (the user's processes
# are looked at first); R is kept, its holder not named in time (no fd shows it, and the
# naming pass has a quarter of the time left); the close keeps its Timeout: the audit's
# duration_ms (with slack for a loaded machine), not the harness's clock. On main the close
# stats every one of the 2 M fds (about half a minute here) and runs far past Timeout.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/pam_common.bash"
source "$(dirname "$0")/threat_common.bash"
thr_setup
scratch_user U2
MANY=$B/tools/t_fdmany HOLD=$B/tools/t_hold
[ -x "$MANY" ] && [ -x "$HOLD" ] || skip_all "build first (t_fdmany, t_hold)"
cat >>"$P_CONF" <<EOF
Timeout 5s
remove $P_SHM/** class=charged,created
EOF
want=2000000
if prlimit --nofile=1048576:1048576 true 2>/dev/null; then
	per=1000000 lim=(prlimit --nofile=1048576:1048576)
else # no CAP_SYS_RESOURCE here: the hard limit as it is, more processes
	per=$(($(ulimit -Hn) - 64)) lim=()
fi
procs=$(((want + per - 1) / per))
R=$T_SCRATCH/rdy; mkdir -m 1777 "$R"
"${lim[@]}" setpriv --reuid "$U2" --regid "$(id -g "$U2")" --clear-groups \
	"$MANY" "$procs" "$per" "$R/many" </dev/null &
MANYPID=$!
at_exit "kill -9 $MANYPID"
wait_for 120 test -s "$R/many"
total=$(cat "$R/many" 2>/dev/null)
check "U2 holds ~2 M fds ($procs processes: ${total:-0})" test "${total:-0}" -ge $((want * 95 / 100))

mk() { printf 'run:%s' "$(as "$U1" dd if=/dev/zero of="$P_SHM/$1" bs=4k count=2 status=none)"; }
acts=("$(mk F)" "$(mk H)" "$(mk R)"
	"run:$(as "$U1" sh -c "'exec 3<$P_SHM/H; echo \$\$ >$R/H; exec sleep 600'") >/dev/null 2>&1 &"
	"run:$(as "$U1" sh -c "'$HOLD uring $P_SHM/R $R/R </dev/null >/dev/null 2>&1 &'")"
	"run:i=0; while [ ! -s $R/H -o ! -s $R/R ] && [ \$i -lt 200 ]; do sleep 0.05; i=\$((i+1)); done")
session "$U1" "$T_SCRATCH/s1.out" "${acts[@]}"
kill -9 "$MANYPID" 2>/dev/null # no longer than needed: others' closes share this machine
for f in H R; do [ -s "$R/$f" ] && at_exit "kill -9 $(cut -d' ' -f1 "$R/$f")"; done
audit_lines file "$SID" | jq -r '"    " + .path + ": " + .result + " (" + (.detail // "") + ")"'
closeline | jq -c '{duration_ms, incomplete, reason}' | sed 's/^/    /'

check "F (free) removed" eval 'test ! -e "$P_SHM/F" && expect_result "$P_SHM/F" removed'
check "H kept, its holder (the user's job) named" \
	expect_result "$P_SHM/H" skipped-in-use "open by pid $(cat "$R/H" 2>/dev/null) "
if [ -s "$R/R" ]; then
	check "R kept (an io_uring holds it), pending" expect_result "$P_SHM/R" skipped-in-use 'gc decides again'
fi
# The audit's own clock, bounded by the Timeout plus as much again for a loaded machine:
# a close that keeps its Timeout ends near it at the latest; main's ran about 30 s.
ms=$(cfield duration_ms)
check "the close took ${ms:-?} ms: its Timeout of 5000 kept (+ 5000 of slack)" \
	test "${ms:-99999}" -lt 10000
check "the close is complete" test "$(cfield incomplete)" = false
check "the record is kept for gc" grep -qx state=deferred "$P_STATE/sessions/$SID"
finish
