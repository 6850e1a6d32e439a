#!/bin/bash
# A session whose close_session never ran: a real sshd (make install in a private overlay
# root, the module in its stack with cgroup=create); a user logs in, writes 4 MiB into a
# watched tmpfs and sleeps; the session's sshd [priv] process (the one that opened the
# PAM session) is killed with SIGKILL, and the user's processes too. The record and the
# file are still there and nothing was audited as closed. `tmpfs-sweep gc` sweeps it: the
# file is removed per policy (charged to the session cgroup, which is then removed), the
# audit log has its file line and a session-close with "trigger":"gc"; the record is
# gone. A second gc does nothing (exit 0, no output, no audit line).
. "$(dirname "$0")/../sshd.sh"
private_root_enter "$@"
. "$(dirname "$0")/../lib.sh"
need_root
sshd_available || skip_all "sshd, ssh or pam_wrapper missing"
private_root_overlay || skip_all "no overlayfs"
private_root_install

scratch_tmpfs shm 128m
scratch_user u
audit=/var/log/tmpfs-sweep/audit.jsonl
state=/run/tmpfs-sweep
cat >/etc/security/tmpfs-sweep.conf <<EOF
Watch $shm
remove $shm/** class=charged,created
EOF
check "the policy checks clean" tmpfs-sweep check-config
sshd_start_stack "$(sshd_default_stack "session optional $PAM_MODDIR/pam_tmpfs_sweep.so cgroup=create")"
sshd_user_key "$u"

sshd_ssh "$u" "dd if=/dev/zero of=$shm/orphan bs=1M count=4 status=none && touch $shm/written && exec sleep 300" \
	>"$T_SCRATCH/ssh.out" 2>"$T_SCRATCH/ssh.err" &
sshpid=$!
at_exit "kill -9 $sshpid"
check "the user logged in and wrote the file" wait_for 20 test -e "$shm/written"
rm -f "$shm/written"
sshd_ssh_exit() { ! kill -0 "$sshpid" 2>/dev/null; }

check "one session record" test "$(ls "$state/sessions" 2>/dev/null | wc -l)" -eq 1
sid=$(ls "$state/sessions" 2>/dev/null | head -n1)
tmpfs-sweep sessions --json >"$T_SCRATCH/sessions.json"
rpid=$(jq -r --arg s "$sid" 'select(.session == $s) | .pid' "$T_SCRATCH/sessions.json")
cg=$(jq -r --arg s "$sid" 'select(.session == $s) | .cgroup' "$T_SCRATCH/sessions.json")
priv=$(pgrep -P "$SSHD_PID")
check "the session's [priv] process ($priv) is the listener's only child and opened the record" \
	test -n "$priv" -a "$priv" = "$rpid"
check "it is sshd's [priv] monitor" grep -q 'priv' "/proc/$priv/cmdline"
tree=$(_sshd_tree "$priv")
if ! kill -9 "$priv" 2>/dev/null; then
	# Seen once under a loaded make check: the session had already ended by itself, so
	# close_session ran normally and there is nothing orphaned to test.
	echo "the session ended before it could be killed: $(tail -n 3 "$T_SCRATCH/ssh.err")"
	[ "$T_FAILED" -eq 0 ] && skip_all "the session ended on its own before the kill"
	finish
fi
# shellcheck disable=SC2086
[ -z "$tree" ] || kill -9 $tree 2>/dev/null
check "the [priv] process is gone" wait_for 10 eval '! kill -0 '"$priv"' 2>/dev/null'
check "the user's processes are gone" wait_for 10 eval '! pgrep -u '"$u"' >/dev/null'
check "the ssh client saw the connection drop" wait_for 10 sshd_ssh_exit
check "the listener has no child left" sshd_wait_closed 10

check "close_session never ran: the record is still there" test -e "$state/sessions/$sid"
check "the file is still there" test -e "$shm/orphan"
check "no session-close was audited" \
	test -z "$(jq -c --arg s "$sid" 'select(.event == "session-close" and .session == $s)' "$audit" 2>/dev/null)"
check "the session cgroup is still there" test -n "$cg" -a -d "$(memcg_mnt)$cg"

tmpfs-sweep gc >"$T_SCRATCH/gc.out" 2>"$T_SCRATCH/gc.err"
st=$?
check "gc exits 0 (status $st)" test "$st" -eq 0
sed 's/^/    gc: /' "$T_SCRATCH/gc.out" "$T_SCRATCH/gc.err"
check "gc says why it swept the session" grep -q "sweeping $sid .*process is gone" "$T_SCRATCH/gc.out"
check "gc removed the file" test ! -e "$shm/orphan"
check_py "audit: one file line (charged 4 MiB, removed) and one session-close, trigger gc" \
	"$audit" "$sid" "$shm/orphan" "$u" <<'PY'
import json, sys
sid, path, user = sys.argv[2], sys.argv[3], sys.argv[4]
# only this session's lines: the log may hold other sessions' (a host where it is in use)
lines = [l for l in map(json.loads, open(sys.argv[1])) if l.get("session") == sid]
f = [l for l in lines if l["event"] == "file"]
assert len(f) == 1, f
f = f[0]
assert f["session"] == sid and f["path"] == path, f
assert f["action"] == "remove" and f["result"] == "removed", f
assert f["class"] == "charged" and f["charged_bytes"] == 4 << 20, f
c = [l for l in lines if l["event"] == "session-close"]
assert len(c) == 1, c
c = c[0]
assert c["session"] == sid and c["user"] == user and c["trigger"] == "gc", c
assert c["files"] == 1 and c["removed"] == 1 and c["removed_bytes"] == 4 << 20, c
assert c["errors"] == 0 and c["incomplete"] is False, c
PY
check "the record is gone" test -z "$(ls "$state/sessions" 2>/dev/null)"
check "the session cgroup was removed" test ! -d "$(memcg_mnt)$cg"
check "every audit line is JSON" eval 'json_valid_lines "$audit" >/dev/null'

n0=$(wc -l <"$audit")
tmpfs-sweep gc >"$T_SCRATCH/gc2.out" 2>&1
st=$?
check "a second gc exits 0" test "$st" -eq 0
check "a second gc sweeps nothing" test ! -s "$T_SCRATCH/gc2.out"
check "a second gc writes no audit line" test "$(wc -l <"$audit")" -eq "$n0"
finish
