#!/bin/bash
# The helper's one-line errors and documented exit codes: not root (3), no such cgroup (4),
# no memory controller in the hierarchy named (5), not a tmpfs mount point (6), usage (2).
. "$(dirname "$0")/../lib.sh"
need_root

run() { # run EXPECTED-RC CMD...: the exit code and exactly one line on stderr
	local want=$1 rc err; shift
	err=$("$@" 2>&1 >/dev/null); rc=$?
	check "'${*#"$SWEEP" }' exits $want (got $rc) with one line: $err" \
		test "$rc" -eq "$want" -a "$(printf '%s\n' "$err" | wc -l)" -eq 1 -a -n "$err"
}
run 3 setpriv --reuid nobody --regid nogroup --clear-groups "$SWEEP" explain /
run 3 setpriv --reuid nobody --regid nogroup --clear-groups "$SWEEP" scan
run 4 "$SWEEP" explain /no/such/cgroup-$RANDOM
run 4 "$SWEEP" explain 999999999
if [ -d /sys/fs/cgroup/unified ] && ! grep -qw memory /sys/fs/cgroup/unified/cgroup.controllers; then
	run 5 "$SWEEP" explain /sys/fs/cgroup/unified
fi
run 6 "$SWEEP" scan --mount /etc
run 6 "$SWEEP" scan --mount "$T_SCRATCH"
run 2 "$SWEEP" explain
run 2 "$SWEEP" frobnicate
run 2 "$SWEEP" scan --since yesterday-ish
check "--version names the version" bash -c "'$SWEEP' --version | grep -qx 'tmpfs-sweep [0-9.]*'"
finish
