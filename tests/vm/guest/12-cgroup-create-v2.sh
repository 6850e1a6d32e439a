#!/bin/bash
# cgroup=create on a live cgroup v2 host, without logind: a second sshd (its own PAM service,
# sshd-tsw-v2, whose stack has no pam_systemd) runs as a systemd service, so its [priv]
# process sits in that service's cgroup and the module makes one memory cgroup per session
# below cgroup_parent=/tsw.sessions (a parent the admin delegated, +memory in its
# subtree_control). The user's shell runs in that cgroup; 30 MiB it leaves in /dev/shm are
# charged there and attributed to the session (class=charged); the remove policy removes the
# file; at close the [priv] moves back and the session cgroup is removed.
. "$(dirname "$0")/lib/vmlib.sh"

u=sweepb uid=1002
shm=/dev/shm/tsw-vm-v2create
port=2222
svc=sshd-tsw-v2
parent=$CG/tsw.sessions
rm -f "$shm"
at_exit "rm -f '$shm'"
use_policy remove
audit_mark

# The delegated parent: memory for its children.
mkdir -p "$parent"
echo +memory >"$parent/cgroup.subtree_control"
at_exit "rmdir '$parent'/* '$parent' 2>/dev/null"
check "parent $parent gives its children the memory controller" \
	grep -qw memory "$parent/cgroup.subtree_control"

# The PAM service of the second sshd: no pam_systemd (not even through common-session),
# the module with cgroup=create.
cat >"/etc/pam.d/$svc" <<EOF
auth     required pam_unix.so
account  required pam_unix.so
password required pam_deny.so
session  required pam_unix.so
session  optional pam_tmpfs_sweep.so timeout=30 cgroup=create cgroup_parent=/tsw.sessions
EOF
at_exit "rm -f '/etc/pam.d/$svc'"
# OpenSSH takes its PAM service name from the name it was started as.
ln -sf /usr/sbin/sshd "$T_CTL/$svc"
cat >"$T_CTL/sshd_config" <<EOF
Port $port
ListenAddress 127.0.0.1
HostKey /etc/ssh/ssh_host_ed25519_key
UsePAM yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PidFile $T_CTL/sshd.pid
EOF
systemd-run --quiet --unit=tsw-sshd-v2 --collect "$T_CTL/$svc" -D -f "$T_CTL/sshd_config"
at_exit "systemctl stop tsw-sshd-v2"
check "second sshd listening on 127.0.0.1:$port" \
	wait_for 60 bash -c "ss -ltn | grep -q '127.0.0.1:$port '"
note "sshd-tsw-v2 cgroup: $(systemctl show -p ControlGroup --value tsw-sshd-v2)"

ssh -p "$port" -i /root/.ssh/id_ed25519 -o BatchMode=yes -o StrictHostKeyChecking=no \
	-o UserKnownHostsFile=/dev/null -o LogLevel=ERROR "$u@127.0.0.1" \
	"set -e; dd if=/dev/zero of=$shm bs=1M count=30 status=none
	 echo \"CGROUP \$(awk -F: '\$1==\"0\" {print \$3}' /proc/self/cgroup)\"
	 echo \"SHMEM \$(awk '\$1==\"shmem\" {print \$2}' $CG\$(awk -F: '\$1==\"0\" {print \$3}' /proc/self/cgroup)/memory.stat)\"" \
	>"$T_CTL/login.out" 2>&1 </dev/null
sed 's/^/# login: /' "$T_CTL/login.out"
cg=$(awk '$1=="CGROUP" {print $2}' "$T_CTL/login.out")
shmem=$(awk '$1=="SHMEM" {print $2}' "$T_CTL/login.out")
check "the user's shell ran in a session cgroup below /tsw.sessions ($cg)" \
	grep -qE '^/tsw\.sessions/[0-9]+-[0-9]+$' <<<"$cg"
check "30 MiB charged to that cgroup while logged in (shmem $shmem)" \
	[ "${shmem:-0}" -ge $((30 * MiB)) ]

check "audit session-close for $u after logout" wait_close $u
check "audit session-open: cgroup is the created one" \
	aq "any(e.get('cgroup') == '$cg' for e in opens($uid))"
check "audit: $shm class=charged, ~30 MiB charged, removed" \
	aq "'charged' in str(last_file($uid, '$shm').get('class')) and
	    near(last_file($uid, '$shm').get('charged_bytes', 0), 30 * MiB, 2) and
	    last_file($uid, '$shm').get('result') == 'removed'"
check "$shm is gone" [ ! -e "$shm" ]
check "the session cgroup is removed after close" wait_for 30 test ! -d "$CG$cg"
check "no session record is left" \
	bash -c "! grep -lsF '$cg' /run/tmpfs-sweep/sessions/* >/dev/null"
check "no process is left below /tsw.sessions" \
	bash -c "! cat '$parent'/*/cgroup.procs 2>/dev/null | grep -q ."
finish
