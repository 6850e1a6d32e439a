#!/bin/bash
# Module options that cannot be used are said once each in syslog, quoted, ending
# ", ignoring" (pam_faillock's way), and dropped: what was given before them still holds.
# timeout=2 then timeout=0: a stalling helper is killed at 2 s, not at the 5 s default.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/pam_common.bash"
source "$(dirname "$0")/../sshd.sh" # SSHD_PRELOAD: pam_wrapper, whose log shows pam_syslog
pam_setup
[ -n "$SSHD_PRELOAD" ] || skip_all "pam_wrapper (libpam-wrapper) not installed"
# pam_host with pam_wrapper preloaded: the module's pam_syslog lines go to stderr as SYSLOG(...)
P_HOST=$(pam_syslog_host) || skip_all "cannot write the pam_wrapper host"
scratch_user U1
pam_service tsw timeout=2 timeout=0 timeout=x conf=relative.conf cgroup_parent=rel bogus
out=$T_SCRATCH/out

# each of open and close reads the options: each message twice
pam_run stall "$U1" open close >"$out" 2>&1
grep -F SYSLOG "$out" | sed 's/^/    /'
for m in 'bad option "timeout=0" (1 to 3600 seconds), ignoring' \
	'bad option "timeout=x" (1 to 3600 seconds), ignoring' \
	'bad option "conf=relative.conf" (not an absolute path), ignoring' \
	'bad option "cgroup_parent=rel" (not a path from the hierarchy root), ignoring' \
	'unknown option "bogus", ignoring'; do
	check "syslog: $m" eval 'test "$(grep -F SYSLOG "$out" | grep -cF "$m")" -eq 2'
done
check "every option message ends with \", ignoring\"" \
	eval '! grep -F SYSLOG "$out" | grep -F "option \"" | grep -qv ", ignoring$"'
check "open and close still succeed" eval "grep -qx open=success $out && grep -qx close=success $out"
check "timeout=2 still holds: the helper was killed at the 2 s deadline" \
	grep -qE 'SYSLOG.*killed at the 2 s deadline' "$out"
check "conf= still the earlier one: the record (kept for gc) is in its StateDir" \
	test "$(n_records)" -eq 1
finish
