#!/bin/bash
# The gc timer as installed sweeps a session whose sshd [priv] was killed (close_session
# never ran): the timer is enabled and active, and the service it runs finds the orphaned
# record and removes what the session left.
. "$(dirname "$0")/lib/vmlib.sh"

u=sweepa uid=1001
shm=/dev/shm/tsw-vm-gc
rm -f "$shm"
at_exit "rm -f '$shm'"
use_policy remove
logind_set RemoveIPC=no
audit_mark

check "tmpfs-sweep-gc.timer enabled" [ "$(systemctl is-enabled tmpfs-sweep-gc.timer 2>&1)" = enabled ]
check "tmpfs-sweep-gc.timer active" [ "$(systemctl is-active tmpfs-sweep-gc.timer 2>&1)" = active ]
check "the timer is scheduled" bash -c 'systemctl list-timers --all --no-pager tmpfs-sweep-gc.timer |
	grep -q tmpfs-sweep-gc.service'

session_start s "$u" "dd if=/dev/zero of=$shm bs=1M count=20 status=none" ||
	{ not_ok "login session"; finish; }
check "the module recorded the open session" \
	bash -c "'$SWEEP' sessions --json | grep -qF '${S_CG[s]}'"
# The session leader registered with logind is sshd's privileged [priv] process, the one
# that would run close_session.
leader=$(loginctl show-session "${S_ID[s]}" -p Leader --value)
note "session ${S_ID[s]} leader $leader: $(tr '\0' ' ' </proc/"$leader"/cmdline 2>/dev/null)"
check "session leader is sshd [priv]" grep -q '\[priv\]' /proc/"$leader"/cmdline
closes_before=$(aqv "len(closes($uid))")
kill -9 "$leader"
touch "$T_CTL/s.stop"  # let the user's side end on its own; no close_session follows
wait_for 30 _gone "${S_PID[s]}"
sleep 2
check "no close ran: no session-close in the audit" aq "len(closes($uid)) == $closes_before"
check "$shm still there before gc" [ -f "$shm" ]

# What the timer does when it elapses (waiting for its period would only cost time).
check "gc service ran successfully" run_unit tmpfs-sweep-gc.service
check "gc removed $shm" wait_for 20 test ! -e "$shm"
check "audit: gc reports $shm removed" aq "last_file($uid, '$shm').get('result') == 'removed'"
check "audit: gc closed the orphaned session" aq "len(closes($uid)) > $closes_before"
check "the orphaned record is gone" \
	bash -c "out=\$('$SWEEP' sessions --json) && ! grep -qF '${S_CG[s]}' <<<\"\$out\""
finish
