#!/bin/bash
# Issue 16, 8: the StateDir must be root's. Whoever owns the directory the records live in
# can plant a record naming any uid, cgroup and mount, and have root sweep by it. With
# the StateDir (and its sessions/ and locks/) owned by another user, and again with only
# sessions/ owned by another user:
# - open refuses to record (no record appears) and says so (the module's syslog line,
#   seen through pam_wrapper), and the session's file is not swept at close;
# - close and gc refuse to read a record there (a good record, made while the directory
#   was root's): non-zero exit, a message naming the problem, the file stays, no audit line.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/pam_common.bash"
source "$(dirname "$0")/threat_common.bash"
source "$(dirname "$0")/../sshd.sh" # SSHD_PRELOAD: pam_wrapper, whose log shows pam_syslog
thr_setup
scratch_user U2
W=$P_SHM
[ -n "$SSHD_PRELOAD" ] || skip_all "pam_wrapper (libpam-wrapper) not installed"
# pam_host with pam_wrapper preloaded: the module's pam_syslog lines go to stderr as SYSLOG(...)
PW_HOST=$(pam_syslog_host) || skip_all "cannot write the pam_wrapper host"

policy() { # policy STATEDIR
	printf 'Watch %s\nStateDir %s\nAuditLog %s\nMetricsFile none\n%s\n' \
		"$P_SHM" "$1" "$P_AUDIT" "remove $W/** class=charged,created" >"$P_CONF"
}
u1() { printf 'run:%s' "$(as "$U1" sh -c "'$1'")"; }
# foreign DIR WHICH: DIR (and sessions/, locks/) made or changed so that WHICH is U2's:
# "all" (the StateDir and both), or "sessions" (only that one)
foreign() {
	mkdir -p -m 755 "$1" && mkdir -p -m 700 "$1/sessions" "$1/locks"
	chown root:root "$1" "$1/sessions" "$1/locks"
	case $2 in
	all) chown "$U2" "$1" "$1/sessions" "$1/locks" ;;
	sessions) chown "$U2" "$1/sessions" ;;
	esac
}

round() { # round WHICH
	local which=$1 sd=$P_RUN/sd-$1 sid rc
	rm -rf "${W:?}"/*
	# --- open refuses to record, and says so
	foreign "$sd" "$which"
	policy "$sd"
	P_HOST=$PW_HOST pam_run tmpfs-sweep "$U1" open "$(u1 "echo o >$W/o")" close \
		>"$T_SCRATCH/open-$which.out" 2>"$T_SCRATCH/open-$which.err"
	check "[$which] open: returns success or ignore, never an error" grep -Eqx "open=(success|ignore)" "$T_SCRATCH/open-$which.out"
	check "[$which] open: no record in the foreign StateDir" test -z "$(ls -A "$sd/sessions")"
	check "[$which] open: the module says it cannot record there (EPERM)" \
		grep -q "SYSLOG.*cannot write session record in \"$sd\": Operation not permitted" "$T_SCRATCH/open-$which.err"
	check "[$which] open: the file of the unrecorded session is not swept" test -e "$W/o"
	[ $T_FAILED = 0 ] || sed 's/^/    host: /' "$T_SCRATCH/open-$which.out" "$T_SCRATCH/open-$which.err" | head -20

	# --- close and gc refuse to read: a good record, then the directory changes hands
	rm -rf "$sd"
	foreign "$sd" none
	policy "$sd"
	pam_run tmpfs-sweep "$U1" open "$(u1 "echo g >$W/g")" >"$T_SCRATCH/rec-$which.out" 2>&1
	sid=$(ls "$sd/sessions")
	check "[$which] a record made while the StateDir was root's" test -n "$sid" -a -f "$sd/sessions/$sid"
	foreign "$sd" "$which"
	"$SWEEP" close "$sid" --conf "$P_CONF" >"$T_SCRATCH/close-$which.out" 2>"$T_SCRATCH/close-$which.err"
	rc=$?
	sed 's/^/    close: /' "$T_SCRATCH/close-$which.err"
	check "[$which] close: refuses (exit $rc, not 0 or 7)" test $rc -ne 0 -a $rc -ne 7
	check "[$which] close: says why (Operation not permitted)" \
		grep -q "Operation not permitted" "$T_SCRATCH/close-$which.err"
	"$SWEEP" gc --conf "$P_CONF" >"$T_SCRATCH/gc-$which.out" 2>"$T_SCRATCH/gc-$which.err"
	rc=$?
	sed 's/^/    gc: /' "$T_SCRATCH/gc-$which.err"
	check "[$which] gc: refuses (exit $rc, not 0 or 7)" test $rc -ne 0 -a $rc -ne 7
	check "[$which] gc: says why ($sd: Operation not permitted)" \
		grep -q "$sd: Operation not permitted" "$T_SCRATCH/gc-$which.err"
	check "[$which] the recorded session's file is still there" test -e "$W/g"
	check "[$which] no file line and no session-close for that session" \
		test -z "$(audit_lines file "$sid")$(audit_lines session-close "$sid")"
	check "[$which] the record is still there" test -f "$sd/sessions/$sid"
}
round all
round sessions
finish
