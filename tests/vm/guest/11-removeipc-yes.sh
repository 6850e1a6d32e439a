#!/bin/bash
# logind's default RemoveIPC=yes alongside the module, report-only policy: the module runs at
# close_session, before logind's cleanup at the user's last logout, so it still sees and
# attributes the /dev/shm file (class=charged, reported); logind then deletes /dev/shm files
# by owner (and only those), while the /tmp file stays: the two do not fight.
. "$(dirname "$0")/lib/vmlib.sh"

u=sweepa uid=1001
shm=/dev/shm/tsw-vm-ipc tmp=/tmp/tsw-vm-ipc
rm -f "$shm" "$tmp"
at_exit "rm -f '$shm' '$tmp'"
use_policy report
logind_set RemoveIPC=yes UserStopDelaySec=0
audit_mark

session_start s "$u" "dd if=/dev/zero of=$shm bs=1M count=20 status=none
	dd if=/dev/zero of=$tmp bs=1M count=20 status=none" || { not_ok "login session"; finish; }
session_end s
check "audit session-close for $u after logout" wait_close $u
check "module saw $shm before logind removed it: class=charged, reported" \
	aq "last_file($uid, '$shm').get('result') == 'reported' and
	    'charged' in str(last_file($uid, '$shm').get('class')) and
	    near(last_file($uid, '$shm').get('charged_bytes', 0), 20 * MiB, 3)"
check "module: $tmp reported" aq "last_file($uid, '$tmp').get('result') == 'reported'"
check "RemoveIPC=yes: logind removed $shm once the user was gone" wait_for 60 test ! -e "$shm"
check "RemoveIPC does not touch /tmp: $tmp still there" [ -f "$tmp" ]
check "audit: no errors in the session-close" aq "closes($uid)[-1].get('errors', 1) == 0"
finish
