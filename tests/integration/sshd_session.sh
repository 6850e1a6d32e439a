#!/bin/bash
# The module in a real sshd's PAM stack (cgroup=create), installed as an admin would
# (make install, in a private overlay root): a scratch user logs in with a key, writes
# 64 MiB into a watched tmpfs and logs out. The audit lines carry sshd's service name,
# rhost 127.0.0.1 and the user, 64 MiB are charged to that session, and the policy
# removed the file.
. "$(dirname "$0")/../sshd.sh"
private_root_enter "$@"
. "$(dirname "$0")/../lib.sh"
need_root
sshd_available || skip_all "sshd, ssh or pam_wrapper missing"
private_root_overlay || skip_all "no overlayfs"
private_root_install

scratch_tmpfs shm 256m
scratch_user u
audit=/var/log/tmpfs-sweep/audit.jsonl
cat >/etc/security/tmpfs-sweep.conf <<EOF2
Watch $shm
remove $shm/** class=charged,created
EOF2
check "the policy checks clean" tmpfs-sweep check-config
sshd_start_stack "$(sshd_default_stack "session optional $(pkg-config --variable=libdir pam)/security/pam_tmpfs_sweep.so cgroup=create")"
sshd_user_key "$u"

sshd_ssh "$u" "dd if=/dev/zero of=$shm/big bs=1M count=64 status=none && cat /proc/self/cgroup" \
	>"$T_SCRATCH/ssh.out" 2>"$T_SCRATCH/ssh.err"
check "the login ran the command" grep -q memory "$T_SCRATCH/ssh.out"
check "the session ran in a per-session cgroup made by the module" \
	grep -qE ':memory:.*/tmpfs-sweep/[0-9]+-[0-9]+$' "$T_SCRATCH/ssh.out"
check "close_session has run" sshd_wait_closed 15
check "the policy removed the 64 MiB file" test ! -e "$shm/big"

# this test's lines only: those of its user's session
sid=$(jq -r --arg u "$u" 'select(.event == "session-open" and .user == $u) | .session' "$audit")
check "one session recorded" test "$(wc -w <<<"$sid")" -eq 1
check_py "audit: service, rhost, user, 64 MiB charged and removed" "$audit" "$SSHD_SERVICE" "$u" "$shm/big" "$sid" <<'PY'
import json, sys
svc, user, path, sid = sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
lines = [l for l in map(json.loads, open(sys.argv[1])) if l.get("session") == sid]
op = [l for l in lines if l["event"] == "session-open"][0]
assert op["service"] == svc and op["rhost"] == "127.0.0.1" and op["user"] == user, op
assert "/tmpfs-sweep/" in op["cgroup"], op
f = [l for l in lines if l["event"] == "file" and l["path"] == path]
assert len(f) == 1, lines
f = f[0]
assert f["class"] == "charged" and f["charged_bytes"] == 64 << 20, f
assert f["action"] == "remove" and f["result"] == "removed", f
cl = [l for l in lines if l["event"] == "session-close"][0]
assert cl["user"] == user and cl["removed"] == 1 and cl["removed_bytes"] == 64 << 20, cl
assert cl["charged_bytes"] == 64 << 20 and cl["session"] == op["session"], cl
PY
check "no record left" test ! -e "/run/tmpfs-sweep/sessions/$sid"

# Options the module does not know, or values it cannot use, are logged (pam_syslog, here
# through pam_wrapper's log) and do not stop the login; debug says what was recorded.
n0=$(wc -l <"$SSHD_PAMLOG")
sshd_set_stack "$(sshd_default_stack "session optional $(pkg-config --variable=libdir pam)/security/pam_tmpfs_sweep.so bogus=1 timeout=0 debug")"
sshd_ssh "$u" "echo logged-in" >"$T_SCRATCH/ssh2.out" 2>&1
check "a stack with a bad option still logs the user in" grep -qx logged-in "$T_SCRATCH/ssh2.out"
check "close_session has run" sshd_wait_closed 15
tail -n +$((n0 + 1)) "$SSHD_PAMLOG" | grep -F SYSLOG >"$T_SCRATCH/syslog2" || true
sed 's/^/    /' "$T_SCRATCH/syslog2"
check "pam_syslog: unknown option \"bogus=1\", ignoring" \
	grep -qF 'unknown option "bogus=1", ignoring' "$T_SCRATCH/syslog2"
check "pam_syslog: bad timeout=0, ignoring" \
	grep -qF 'bad option "timeout=0" (1 to 3600 seconds), ignoring' "$T_SCRATCH/syslog2"
check "pam_syslog (debug): the session was recorded for $u" \
	grep -qE "session [0-9]+-[0-9]+ recorded for \"$u\"" "$T_SCRATCH/syslog2"
check "pam_syslog (debug): and closed" grep -qE "session [0-9]+-[0-9]+ closed" "$T_SCRATCH/syslog2"
finish
