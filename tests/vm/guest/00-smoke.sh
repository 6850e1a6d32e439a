#!/bin/bash
# The guest is what production looks like: systemd as PID 1, cgroup v2 with the memory
# controller, /proc/kpagecgroup, pam_systemd putting an ssh login in session-N.scope, the
# project installed, and sshd loading pam_tmpfs_sweep.so without error.
. "$(dirname "$0")/lib/vmlib.sh"

check "systemd is PID 1" [ "$(cat /proc/1/comm)" = systemd ]
check "cgroup2 mounted at /sys/fs/cgroup" [ "$(stat -f -c %T $CG)" = cgroup2fs ]
check "memory controller on the unified hierarchy" grep -qw memory $CG/cgroup.controllers
check "memory controller enabled below user.slice" \
	grep -qw memory $CG/user.slice/cgroup.subtree_control
check "/proc/kpagecgroup readable" dd if=/proc/kpagecgroup of=/dev/null bs=8 count=1 status=none
check "/dev/shm is tmpfs" [ "$(stat -f -c %T /dev/shm)" = tmpfs ]
check "/tmp is tmpfs" [ "$(stat -f -c %T /tmp)" = tmpfs ]

check "helper installed in libexec" [ -x /usr/libexec/tmpfs-sweep/tmpfs-sweep ]
check "helper on the admin's PATH" [ -x "$SWEEP" ]
pamdir=$(dirname "$(find /lib/x86_64-linux-gnu/security /usr/lib/x86_64-linux-gnu/security \
	-name pam_systemd.so 2>/dev/null | head -n1)")
check "PAM module in the PAM module dir ($pamdir)" [ -f "$pamdir/pam_tmpfs_sweep.so" ]
check "policy installed" [ -s "$POLICY" ]
# The module line comes after pam_systemd (in common-session) in sshd's stack.
order=$(awk '/^@include common-session/ {print "systemd"} /pam_tmpfs_sweep/ {print "sweep"}' \
	/etc/pam.d/sshd | tr '\n' ' ')
check "sshd stack: pam_tmpfs_sweep after pam_systemd ($order)" [ "$order" = "systemd sweep " ]
check "pam_systemd in common-session" grep -q '^session.*pam_systemd.so' /etc/pam.d/common-session

since=$(date '+%Y-%m-%d %H:%M:%S')
sleep 1
out=$(user_ssh sweepa 'echo "UID $(id -u)"; echo "SID ${XDG_SESSION_ID:-}";
	awk -F: '\''$1=="0" {print "CG " $3}'\'' /proc/self/cgroup' 2>&1)
note "$out"
check "key login as sweepa" grep -q '^UID 1001$' <<<"$out"
check "pam_systemd: XDG_SESSION_ID set" grep -qE '^SID [0-9]+$' <<<"$out"
check "pam_systemd: login runs in user-1001.slice/session-N.scope" \
	grep -qE '^CG /user.slice/user-1001.slice/session-[0-9]+.scope$' <<<"$out"
# libpam logs "PAM unable to dlopen(...)" / "PAM adding faulty module" when it cannot load one.
sleep 1
jr=$(journalctl --since "$since" --no-pager -o cat _COMM=sshd 2>/dev/null)
check "sshd loaded pam_tmpfs_sweep.so (no dlopen/faulty-module error)" \
	bash -c '! grep -iE "pam_tmpfs_sweep.*(unable|faulty|undefined)|(unable|faulty).*pam_tmpfs_sweep" <<<"$1"' _ "$jr"
check "no module symbol errors from sshd" bash -c '! grep -i "undefined symbol" <<<"$1"' _ "$jr"

# During a session, sshd's [priv] process (the one that runs the session stack) has the
# module mapped: PAM really loaded it from the installed stack.
session_start s sweepb "true" || not_ok "second login"
leader=$(loginctl show-session "${S_ID[s]:-none}" -p Leader --value 2>/dev/null)
note "session ${S_ID[s]:-?} leader ${leader:-?}: $(tr '\0' ' ' </proc/"${leader:-0}"/cmdline 2>/dev/null)"
check "sshd [priv] of a live session has pam_tmpfs_sweep.so mapped" \
	grep -q pam_tmpfs_sweep.so /proc/"${leader:-0}"/maps
session_end s
finish
