#!/bin/bash
# The module option service=NAME[,NAME...] (until policy Match blocks exist): in a PAM
# service it lists (without regard to case: Linux-PAM lowercases the service name), a
# session is recorded, audited and closed by the helper; in any other service (su, sudo,
# cron including common-session) open and close return PAM_IGNORE and nothing happens:
# no record, no helper run, no audit line. A malformed list makes the module do nothing.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/pam_common.bash"
pam_setup
scratch_user U1
out=$T_SCRATCH/out
probe_runs() { grep -c '^argv=close$' "$P_PROBEDIR/probe.out" 2>/dev/null || echo 0; }
reset() { rm -f "$P_AUDIT" "$P_PROBEDIR/probe.out" "$P_STATE"/sessions/*; }
# round SERVICE OPTION: one session in service SERVICE whose stack has the module with
# OPTION; the helper is the dump probe (it records that close ran it).
round() {
	reset
	echo "session required $P_MOD conf=$P_CONF $2" >"$P_PAMD/${1,,}"
	P_SERVICE=$1 pam_run dump "$U1" open run:true close >"$out" 2>&1
}
acted() {
	grep -qx open=success "$out" && grep -qx close=success "$out" &&
		test "$(probe_runs)" -eq 1 && jq_has "$P_AUDIT" 'select(.event == "session-open")'
}
idle() {
	grep -qx open=ignore "$out" && grep -qx close=ignore "$out" &&
		test "$(probe_runs)" -eq 0 -a "$(n_records)" -eq 0 -a ! -s "$P_AUDIT"
}

for svc in sshd login; do
	round "$svc" service=sshd,login
	check "service=sshd,login, service $svc: recorded, audited, closed by the helper" acted
done
round sshd service=SSHD,Login
check "the list is compared without case (service=SSHD,Login, service sshd)" acted
round SSHD service=sshd
check "so is the service (pam_start lowercases SSHD; service=sshd)" acted
for svc in su sudo cron sshd-other ssh; do
	round "$svc" service=sshd,login
	check "service=sshd,login, service $svc: PAM_IGNORE, no record, helper not run, no audit" idle
done
round su ''
check "without service=, every service (su) is swept" acted
for bad in 'service=' 'service=sshd,,login' 'service=,sshd' 'service=sshd,' 'service=ss/hd'; do
	round sshd "$bad"
	check "malformed '$bad': the module does nothing, not even for sshd" idle
done
finish
