#!/bin/bash
# Two concurrent sessions of one user, OtherSessions defer: what the first session left is
# deferred at its logout (still there) and removed after the second logs out, by that close
# or, failing that, by the gc service (what tmpfs-sweep-gc.timer runs).
. "$(dirname "$0")/lib/vmlib.sh"

u=sweepb uid=1002
shm=/dev/shm/tsw-vm-defer tmp=/tmp/tsw-vm-defer
rm -f "$shm" "$tmp"
at_exit "rm -f '$shm' '$tmp'"
use_policy remove
check "policy says OtherSessions defer" grep -qiE '^OtherSessions[[:space:]]+defer' "$POLICY"
logind_set RemoveIPC=no
audit_mark

session_start one "$u" "dd if=/dev/zero of=$shm bs=1M count=20 status=none
	dd if=/dev/zero of=$tmp bs=1M count=20 status=none" || { not_ok "first session"; finish; }
session_start two "$u" "true" || { not_ok "second session"; finish; }
check "two sessions in two scopes" [ "${S_CG[one]}" != "${S_CG[two]}" ]

session_end one
check "audit session-close for the first session" wait_close $u 1
check "first logout: $shm deferred" aq "last_file($uid, '$shm').get('result') == 'deferred'"
check "first logout: $tmp deferred" aq "last_file($uid, '$tmp').get('result') == 'deferred'"
check "first logout: session-close counts the deferred files" \
	aq "closes($uid)[-1].get('deferred', 0) >= 2 and closes($uid)[-1].get('removed', 1) == 0"
check "first logout: $shm still there" [ -f "$shm" ]
check "first logout: $tmp still there" [ -f "$tmp" ]
check "a deferred record remains for gc" bash -c "'$SWEEP' sessions --json | grep -qi defer"

session_end two
check "audit session-close for the second session" wait_close $u 2
if ! wait_for 15 test ! -e "$shm"; then
	note "not removed by the second close; running the gc service as its timer would"
	run_unit tmpfs-sweep-gc.service || note "gc service did not run cleanly"
fi
check "after the second logout: $shm removed" wait_for 15 test ! -e "$shm"
check "after the second logout: $tmp removed" [ ! -e "$tmp" ]
check "audit: the deferred files end as result=removed" \
	aq "last_file($uid, '$shm').get('result') == 'removed' and
	    last_file($uid, '$tmp').get('result') == 'removed'"
check "audit: at the first logout ~20 MiB of $shm charged (class=charged)" \
	aq "near(files($uid, '$shm')[0].get('charged_bytes', 0), 20 * MiB, 3) and
	    'charged' in str(files($uid, '$shm')[0].get('class'))"
finish
