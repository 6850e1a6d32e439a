#!/bin/bash
# make demo: the problem and the fix on a real ssh session, in under a minute, with no
# setup by hand and nothing left behind. Runs in a private mount namespace with overlays
# over /usr /etc /var /run (tests/sshd.sh), so `make install`, the scratch user and the
# policy exist only for the demo; a private sshd on 127.0.0.1 has the module in its PAM
# stack. Needs root.
TOP=$(cd "$(dirname "$0")/.." && pwd)
if [ "$(id -u)" -ne 0 ]; then
	echo "make demo needs root (it mounts a scratch tmpfs and runs a private sshd)" >&2
	exit 1
fi
. "$TOP/tests/sshd.sh"
private_root_enter "$@"
. "$TOP/tests/lib.sh"

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '\033[2m# %s\033[0m\n' "$*"; "$@"; }
die() { echo "demo: FAILED: $*" >&2; exit 1; }

sshd_available || die "sshd, ssh or libpam-wrapper missing (make deps)"
private_root_overlay || die "cannot lay the private overlays"
private_root_install || die "make install failed"
scratch_tmpfs shm 512m || die "cannot mount a scratch tmpfs"
scratch_user user || die "cannot add a scratch user"
audit=/var/log/tmpfs-sweep/audit.jsonl
cat >/etc/security/tmpfs-sweep.conf <<EOF
# the demo's policy: watch the scratch tmpfs, remove what a session made there
Watch $shm
keep   $shm/keep-*
remove $shm/** class=charged,created
report /**
EOF
module=$(pkg-config --variable=libdir pam)/security/pam_tmpfs_sweep.so
sshd_start_stack "$(sshd_default_stack "session optional $module cgroup=create")" ||
	die "sshd did not start"
sshd_user_key "$user"
chmod 755 "$T_SCRATCH"
flags=$(mktemp -d "$T_SCRATCH/flags.XXXXXX") && chmod 777 "$flags"

say "A private sshd on 127.0.0.1:$SSHD_PORT; the session part of its PAM stack:"
grep '^session' "$SSHD_PAMDIR/$SSHD_SERVICE"
say "The policy, checked:"
run tmpfs-sweep check-config && cat /etc/security/tmpfs-sweep.conf

say "$user logs in over ssh, writes 100 MiB to $shm, and the writer exits"
sshd_ssh "$user" "dd if=/dev/zero of=$shm/build-cache.img bs=1M count=100 status=none;
	touch $flags/written; while [ ! -e $flags/go ]; do sleep 0.1; done" &
ssh_pid=$!
wait_for 30 test -e "$flags/written" || die "the session did not write its file"
cg=$(tmpfs-sweep sessions --json | jq -r 'select(.state == "open") | .cgroup' | head -n1)
[ -n "$cg" ] || die "no open session recorded"
mnt=$(memcg_mnt)
if [ -e "$mnt$cg/memory.current" ]; then key=shmem; else key=total_shmem; fi
say "While $user is logged in, the session's memory cgroup holds the file's pages:"
run grep -E "^$key " "$mnt$cg/memory.stat"
say "tmpfs-sweep explain says which file that is:"
run tmpfs-sweep explain "$cg"

say "$user logs out"
touch "$flags/go"
wait "$ssh_pid"
sshd_wait_closed 20 || die "close_session did not finish"
say "The audit log ($audit):"
jq -c . "$audit"
say "The file is gone, and its memory with it:"
run ls -l "$shm"
run tmpfs-sweep explain "$(dirname "$cg")" --top 5
[ ! -e "$shm/build-cache.img" ] || die "the file is still there"
jq -c 'select(.event == "file" and .result == "removed" and .charged_bytes == 104857600)' \
	"$audit" | grep -q . || die "the audit log does not show the removal"
say "Done. The sshd, user, mounts, cgroups and the install are removed on exit."
