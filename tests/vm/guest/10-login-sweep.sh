#!/bin/bash
# A key login writes 50 MiB to /dev/shm and 50 MiB to /tmp (watched tmpfs) and logs out.
# The module recorded the session-N.scope cgroup (v2 path and id); the audit attributes the
# 100 MiB to that session as class=charged; the remove policy removes both files; the
# user-UID.slice's shmem falls back. RemoveIPC=no so that only the module can have removed
# /dev/shm's file; UserStopDelaySec long so that user-UID.slice is still there to measure.
. "$(dirname "$0")/lib/vmlib.sh"

u=sweepa uid=1001
shm=/dev/shm/tsw-vm-login tmp=/tmp/tsw-vm-login
rm -f "$shm" "$tmp"
at_exit "rm -f '$shm' '$tmp'"
use_policy remove
logind_set RemoveIPC=no UserStopDelaySec=300
audit_mark

session_start s "$u" "dd if=/dev/zero of=$shm bs=1M count=50 status=none
	dd if=/dev/zero of=$tmp bs=1M count=50 status=none" || { not_ok "login session"; finish; }
scope=${S_CG[s]}
check "session runs in session-N.scope" grep -qE "^/user.slice/user-$uid.slice/session-[0-9]+.scope$" <<<"$scope"
cgid=$(stat -c %i "$CG$scope")
slice=$(user_slice $u)
shm_during=$(cg_stat "$slice" shmem)
note "scope $scope id $cgid; $slice shmem during the session: $shm_during"
check "100 MiB charged to the session's slice while logged in" \
	[ "$shm_during" -ge $((100 * MiB)) ]

# The module's record of the open session: v2 path and cgroup id.
sess=$("$SWEEP" sessions --json 2>&1)
note "sessions --json: $(head -c 600 <<<"$sess")"
check "sessions --json names the session-N.scope path" grep -qF "$scope" <<<"$sess"
# The id: in sessions --json, or else in the record file (under StateDir) naming the scope.
rec=$(grep -lF "$scope" /run/tmpfs-sweep/sessions/* 2>/dev/null | head -n1)
note "record: ${rec:-none}: $(grep -i cgroup "${rec:-/dev/null}" 2>/dev/null | tr '\n' ' ')"
check "the module recorded the scope's cgroup id $cgid (sessions --json or record)" \
	bash -c 'grep -qE "(^|[^0-9])$1([^0-9]|$)" <<<"$2" ||
		grep -qE "(^|[^0-9])$1([^0-9]|$)" "${3:-/dev/null}"' _ "$cgid" "$sess" "$rec"
check "audit session-open: cgroup is the session scope" \
	aq "any('$scope' in str(e.get('cgroup')) for e in opens($uid))"

session_end s
check "audit session-close for $u after logout" wait_close $u
check "audit: every line parses as JSON" aq "not bad"
check "audit: $shm class=charged, ~50 MiB charged" \
	aq "'charged' in str(last_file($uid, '$shm').get('class')) and
	    near(last_file($uid, '$shm').get('charged_bytes', 0), 50 * MiB, 2)"
check "audit: $tmp class=charged, ~50 MiB charged" \
	aq "'charged' in str(last_file($uid, '$tmp').get('class')) and
	    near(last_file($uid, '$tmp').get('charged_bytes', 0), 50 * MiB, 2)"
check "audit: session-close attributes ~100 MiB charged" \
	aq "near(closes($uid)[-1].get('charged_bytes', 0), 100 * MiB, 3)"
check "audit: both files result=removed" \
	aq "last_file($uid, '$shm').get('result') == 'removed' and
	    last_file($uid, '$tmp').get('result') == 'removed'"
check "audit: session-close counts 2+ removed, 0 errors" \
	aq "closes($uid)[-1].get('removed', 0) >= 2 and closes($uid)[-1].get('errors', 1) == 0"
check "$shm removed" [ ! -e "$shm" ]
check "$tmp removed" [ ! -e "$tmp" ]
# Removal frees the pages: the slice's shmem drops by the 100 MiB (the scope itself is gone
# or going; its charges fold into the slice, which RemoveIPC=no/UserStopDelaySec keep alive).
wait_for 20 bash -c "[ \$(awk '\$1==\"shmem\" {print \$2}' $slice/memory.stat) -le $((shm_during - 95 * MiB)) ]"
shm_after=$(cg_stat "$slice" shmem)
note "$slice shmem after logout: $shm_after"
check "user-$uid.slice still there after logout (UserStopDelaySec)" [ -d "$slice" ]
check "user-$uid.slice shmem fell back by ~100 MiB" [ "$shm_after" -le $((shm_during - 95 * MiB)) ]
finish
