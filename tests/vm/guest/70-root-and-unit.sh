#!/bin/bash
# Issue 12 under systemd and logind. (1) The founding case: root logs in over ssh (a key,
# PermitRootLogin prohibit-password), dd writes 100 MiB to /dev/shm/test.img, logs out.
# The login is audited (session-open for uid 0 naming its session-N.scope), test.img has a
# file line charged ~100 MiB to that scope and is kept (root is exempt by default), the
# file stays; with `Match User root` / `ExemptUsers none` the next such login's file is
# removed and user-0.slice's shmem falls back. (2) A real oneshot unit that writes
# /run/test.img and ends, with the shipped drop-in (ExecStopPost=... sweep --self): the
# audit names the file with its charged bytes (trigger unit, the unit's name); under a
# policy with no rule for it the file is reported and system.slice still holds it; under a
# `Match Unit` block that removes it, it is gone and system.slice no longer holds it.
. "$(dirname "$0")/lib/vmlib.sh"

img=/dev/shm/test.img run_img=/run/test.img
unit=tsw-vm-job.service
rm -f "$img" "$run_img"
at_exit "rm -f '$img' '$run_img'"
use_policy report # saves the policy in force; restored at exit
logind_set RemoveIPC=no UserStopDelaySec=300
policy() { cat >"$POLICY"; chmod 0644 "$POLICY"; "$SWEEP" check-config >/dev/null; }

# ---- 1. root over ssh ----
policy <<EOF
Watch /dev/shm /tmp
Timeout 25s
remove /dev/shm/*.img class=charged,created
EOF
check "the exempt-root policy checks clean" [ $? -eq 0 ]

# root_login LABEL: a key login of root that writes test.img, held open while measured.
root_login() {
	audit_mark
	session_start "$1" root "dd if=/dev/zero of=$img bs=10240 count=10240 status=none" ||
		{ not_ok "$1: root's login session"; return 1; }
	scope=${S_CG[$1]}
	check "$1: root's session runs in its session-N.scope" \
		grep -qE "^/user.slice/user-0.slice/session-[0-9]+.scope$" <<<"$scope"
	shm_during=$(cg_stat "$CG/user.slice/user-0.slice" shmem)
	note "$1: scope $scope; user-0.slice shmem while logged in: $shm_during"
	session_end "$1"
	check "$1: audit session-close for root" wait_close root
	check "$1: session-open for root (uid 0) names the scope" \
		aq "any(e.get('user') == 'root' and e.get('cgroup') == '$scope' for e in opens(0))"
	check "$1: test.img charged ~100 MiB (class charged)" \
		aq "'charged' in last_file(0, '$img').get('class', '') and
		    near(last_file(0, '$img').get('charged_bytes', 0), 100 * MiB, 1)"
}

root_login exempt
check "exempt: test.img kept, the reason said (exempt user)" \
	aq "last_file(0, '$img').get('result') == 'kept' and
	    'exempt user' in last_file(0, '$img').get('detail', '')"
check "exempt: test.img is still there" [ -e "$img" ]
rm -f "$img"

# OtherSessions proceed: root's own ssh session that runs this test is alive meanwhile.
policy <<EOF
Watch /dev/shm /tmp
Timeout 25s
Match User root
ExemptUsers none
OtherSessions proceed
remove /dev/shm/*.img class=charged,created
EOF
check "the Match User root policy checks clean" [ $? -eq 0 ]
root_login lifted
check "lifted: test.img removed by the Match block's rule" \
	aq "last_file(0, '$img').get('result') == 'removed' and
	    last_file(0, '$img').get('rule', '').startswith('line 6: remove')"
check "lifted: test.img is gone" [ ! -e "$img" ]
slice=$CG/user.slice/user-0.slice
wait_for 20 bash -c "[ \$(awk '\$1==\"shmem\" {print \$2}' $slice/memory.stat) -le $((shm_during - 95 * MiB)) ]"
shm_after=$(cg_stat "$slice" shmem)
note "user-0.slice shmem after logout: $shm_after (during: $shm_during)"
check "lifted: user-0.slice's shmem fell back by ~100 MiB" [ "$shm_after" -le $((shm_during - 95 * MiB)) ]

# ---- 2. a real unit with the drop-in ----
dropin=/usr/share/doc/tmpfs-sweep/tmpfs-sweep-unit.conf
check "the drop-in example is installed ($dropin)" [ -f "$dropin" ]
cat >"/etc/systemd/system/$unit" <<EOF
[Unit]
Description=tmpfs-sweep VM test job
[Service]
Type=oneshot
ExecStart=/bin/sh -c 'dd if=/dev/zero of=$run_img bs=10240 count=10240'
EOF
mkdir -p "/etc/systemd/system/$unit.d"
cp "$dropin" "/etc/systemd/system/$unit.d/tmpfs-sweep.conf"
at_exit "rm -rf '/etc/systemd/system/$unit' '/etc/systemd/system/$unit.d'; systemctl daemon-reload"
systemctl daemon-reload
check "the unit has the drop-in's ExecStopPost" \
	bash -c "systemctl show -p ExecStopPost --value $unit | grep -q 'tmpfs-sweep sweep --self'"

# job LABEL: run the unit once; system.slice's shmem before and after.
job() {
	sys_before=$(cg_stat "$CG/system.slice" shmem)
	audit_mark
	check "$1: the unit ran and succeeded (the drop-in's sweep never fails it)" run_unit "$unit"
	note "$1: $(systemctl show -p Result -p ExecMainStatus "$unit" | tr '\n' ' ')"
	note "$1: $(aqv "[e.get('reason') for e in closes(0)]")"
	sys_after=$(cg_stat "$CG/system.slice" shmem)
	note "$1: system.slice shmem $sys_before -> $sys_after"
	check "$1: session-open trigger unit names $unit and its cgroup" \
		aq "any(e.get('trigger') == 'unit' and e.get('unit') == '$unit' and
		        str(e.get('cgroup')).endswith('/system.slice/$unit') for e in opens(0))"
	check "$1: $run_img charged ~100 MiB to the unit (class charged)" \
		aq "'charged' in last_file(0, '$run_img').get('class', '') and
		    near(last_file(0, '$run_img').get('charged_bytes', 0), 100 * MiB, 1)"
	check "$1: session-close trigger unit" \
		aq "any(e.get('trigger') == 'unit' for e in closes(0))"
}

policy <<EOF
Watch /dev/shm /run
Timeout 25s
EOF
job reported
check "reported: $run_img reported by default" \
	aq "last_file(0, '$run_img').get('result') == 'reported'"
check "reported: $run_img is still there" [ -e "$run_img" ]
check "reported: system.slice still holds the 100 MiB" \
	[ "$sys_after" -ge $((sys_before + 95 * MiB)) ]
rm -f "$run_img"

policy <<EOF
Watch /dev/shm /run
Timeout 25s
Match Unit tsw-vm-*.service
ExemptUsers none
remove /run/test.img class=charged,created
EOF
job removed
check "removed: $run_img removed by the Match Unit block's rule" \
	aq "last_file(0, '$run_img').get('result') == 'removed' and
	    last_file(0, '$run_img').get('rule', '').startswith('line 5: remove')"
check "removed: $run_img is gone" [ ! -e "$run_img" ]
check "removed: system.slice no longer holds it" [ "$sys_after" -lt $((sys_before + 5 * MiB)) ]
check "audit: every line parses as JSON" aq "not bad"
finish
