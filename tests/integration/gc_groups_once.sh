#!/bin/bash
# A shared sweep of many sessions of one user looks the user's groups up once, not once per
# session (the remover's credentials; through nss-systemd a getgrouplist walks the userdb
# directories, ~80 system calls). 10 sessions of one user (real PAM stacks through the
# module, cgroup=create) are left without a close (their host gone); one gc sweeps them in
# one batch under strace: every session's file is removed by the remover as that user, one
# line each, and /etc/group is read at most twice (10 times when each session looks up the
# groups again).
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/pam_common.bash"
pam_setup
command -v strace >/dev/null || skip_all "strace missing"
NS=10
scratch_user U || skip_all "cannot make a scratch user"
chmod 755 "$T_SCRATCH"
pam_service tsw cgroup=create
printf 'remove %s/** class=charged,created\n' "$P_SHM" >>"$P_CONF"
check "the policy checks clean" "$SWEEP" check-config "$P_CONF"
as="setpriv --reuid $U --regid $(id -g "$U") --init-groups"
for ((i = 0; i < NS; i++)); do
	pam_run tmpfs-sweep "$U" item:tty="s$i" open \
		"run:$as dd if=/dev/zero of=$P_SHM/s$i bs=4k count=1 status=none" \
		>"$T_SCRATCH/h-$i.out" 2>&1
done
check "every session opened and wrote its file" \
	test "$(cat "$T_SCRATCH"/h-*.out | grep -cx run=0)" -eq "$NS" -a "$(n_records)" -eq "$NS"
ASAN_OPTIONS=detect_leaks=0 strace -f -e trace=openat -o "$T_SCRATCH/gc.trace" "$SWEEP" gc --conf "$P_CONF" >"$T_SCRATCH/gc.out" 2>&1
check "gc exits 0" test $? -eq 0
check "gc swept them all" test "$(grep -c '^sweeping ' "$T_SCRATCH/gc.out")" -eq "$NS"
check "every file is gone" test -z "$(ls "$P_SHM")"
check "one line each, removed" \
	test "$(audit_lines file | jq -r 'select(.result == "removed") | .path' | sort -u | wc -l)" -eq "$NS"
check "no record left" test "$(n_records)" -eq 0
n=$(grep -c '"/etc/group"' "$T_SCRATCH/gc.trace")
echo "# /etc/group opened $n times for $NS sessions of one user"
check "the user's groups looked up once for the batch" test "$n" -ge 1 -a "$n" -le 2
finish
