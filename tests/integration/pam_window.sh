#!/bin/bash
# A lone close on small mounts starts its sweep at once; one on a larger tree first looks,
# 3 ms later, for more closes to share its walk (helper/queue.c, WINDOW_SMALL_TREE). The
# helper runs under strace (-e clock_nanosleep): on the watched tmpfs holding a few
# entries, the leader never sleeps the 3 ms (it did before: a lone close's login paid it,
# bench/sshd.sh); with 2,500 other files there, it sleeps it once, and the close still
# removes the session's file. How long either takes is bench/pam.sh's and
# bench/storm.sh's to say.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/pam_common.bash"
pam_setup
command -v strace >/dev/null || skip_all "no strace"
scratch_user U || skip_all "cannot make a scratch user"
chmod 755 "$T_SCRATCH"
pam_service tsw cgroup=create
printf 'remove %s/** class=created\n' "$P_SHM" >>"$P_CONF"
check "the policy checks clean" "$SWEEP" check-config "$P_CONF"
# The real helper under strace: its sleeps, in one file per run (LeakSanitizer cannot
# work under ptrace: off for a SANITIZE=1 build).
printf '#!/bin/sh\nASAN_OPTIONS=detect_leaks=0 exec strace -f -qq -e trace=clock_nanosleep %s\n' \
	"-o \"$T_SAFE/sleeps.\$\$\" $P_BIN/tmpfs-sweep \"\$@\"" >"$P_BIN/traced"
chmod 755 "$P_BIN/traced"
as="setpriv --reuid $U --regid $(id -g "$U") --clear-groups"
inodes() { df --output=iused "$P_SHM" | tail -n1 | tr -d ' '; }
# One session that leaves one file, closed alone; prints the leader's 3 ms sleeps.
lone_close() {
	rm -f "$T_SAFE"/sleeps.*
	pam_run traced "$U" open "run:$as sh -c 'echo x >$P_SHM/$1'" close >"$T_SCRATCH/$1.out" 2>&1
	cat "$T_SAFE"/sleeps.* 2>/dev/null | grep -c 'tv_sec=0, tv_nsec=3000000'
}

n=$(lone_close small)
echo "# small tree ($(inodes) inodes in use): $n sleeps of 3 ms"
check "small tree: the lone close does not wait for company" test "$n" -eq 0
check "small tree: its file removed" test ! -e "$P_SHM/small"
check "small tree: the helper ran (traced)" eval 'ls "$T_SAFE"/sleeps.* >/dev/null 2>&1'

mkdir "$P_SHM/others"
(cd "$P_SHM/others" && seq 2500 | xargs touch)
n=$(lone_close large)
echo "# larger tree ($(inodes) inodes in use): $n sleeps of 3 ms"
check "2,500 other files: the lone close looks once, 3 ms later" test "$n" -eq 1
check "2,500 other files: its file removed" test ! -e "$P_SHM/large"
check "2,500 other files: the others stay" test "$(ls "$P_SHM/others" | wc -l)" -eq 2500
check "two complete session-close lines" \
	test "$(audit_lines session-close | jq -s '[.[] | select(.incomplete | not)] | length')" -eq 2
finish
