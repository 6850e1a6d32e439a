#!/bin/bash
# A Watch path that is not a tmpfs mount point is skipped, and the audit log says so, as
# tmpfs-sweep.conf(5) has it: the session-open line's "reason" names it (and only it); a
# session whose Watch paths are all tmpfs mount points has no reason.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/pam_common.bash"
pam_setup
scratch_user U
pam_service tsw timeout=20
mkdir -p "$T_SCRATCH/on-disk"
conf_watch() { sed -i "s|^Watch .*|Watch $*|" "$P_CONF"; }

conf_watch "$P_SHM" "$T_SCRATCH/on-disk"
pam_run tmpfs-sweep "$U" open close >"$T_SCRATCH/a.out" 2>&1
check "the session opened and closed" eval "grep -qx open=success '$T_SCRATCH/a.out' &&
	grep -qx close=success '$T_SCRATCH/a.out'"
reason=$(audit_lines session-open | head -n1 | jq -r '.reason // empty')
check "session-open says the path on disk was skipped ($reason)" \
	grep -q "^watched $T_SCRATCH/on-disk is not a tmpfs mount point (.*): skipped\$" <<<"$reason"
check "... and nothing about the tmpfs mount" eval "! grep -qF '$P_SHM' <<<'$reason'"
check "one session-open line" test "$(audit_lines session-open | wc -l)" -eq 1

conf_watch "$P_SHM"
pam_run tmpfs-sweep "$U" open close >"$T_SCRATCH/b.out" 2>&1
check "a session watching tmpfs mounts only has no reason" \
	test "$(audit_lines session-open | sed -n 2p | jq -r 'has("reason")')" = false
finish
