#!/bin/bash
# The sshd harness itself (tests/sshd.sh): a private sshd on 127.0.0.1 really runs the
# PAM stack we give it (not /etc/pam.d/other), under the service name of its symlink,
# with rhost 127.0.0.1; the command runs as the scratch user; close_session runs after
# the logout, and sshd_wait_closed returns only once it has.
source "$(dirname "$0")/../lib.sh"
source "$TOP/tests/sshd.sh"
need_root
sshd_available || skip_all "sshd, ssh or pam_wrapper missing"

scratch_user U || { not_ok "scratch user"; finish; }
scratch_user STRANGER || { not_ok "second scratch user"; finish; }
out=$T_SCRATCH/out
mkdir -m 1777 "$out"

# pam_exec runs the hook at open_session and at close_session; PAM_TYPE says which.
cat >"$T_SCRATCH/hook.sh" <<HOOK
#!/bin/sh
{ echo "service=\$PAM_SERVICE"; echo "rhost=\$PAM_RHOST"; echo "user=\$PAM_USER"
  echo "tty=\$PAM_TTY"; echo "uid=\$(id -u)"; } >"$out/.\$PAM_TYPE.tmp"
mv "$out/.\$PAM_TYPE.tmp" "$out/\$PAM_TYPE"
HOOK
chmod 0755 "$T_SCRATCH/hook.sh"

stack=$(sshd_default_stack "session required $PAM_MODDIR/pam_exec.so $T_SCRATCH/hook.sh")
if ! sshd_start_stack "$stack"; then not_ok "sshd starts"; finish; fi
ok "sshd listening on 127.0.0.1:$SSHD_PORT as service $SSHD_SERVICE"
check "sshd runs as the symlink named after the service" \
	test "$(readlink "/proc/$SSHD_PID/exe")" = "$(readlink -f "$SSHD_BIN")"
check "service name is the symlink's basename" \
	grep -q "$SSHD_DIR/$SSHD_SERVICE" "/proc/$SSHD_PID/cmdline"
sshd_user_key "$U"

uid=$(id -u "$U")
# The command leaves proof of who ran it, and of close_session not having run yet.
sshd_ssh "$U" "id -un >$out/who; test -e $out/close_session || echo absent >$out/close-during" \
	2>"$T_SCRATCH/ssh.err"
rc=$?
check "ssh login with the user's key succeeds (rc=$rc)" test "$rc" -eq 0
check "command ran as the user (id -un)" test "$(cat "$out/who" 2>/dev/null)" = "$U"
check "file the command wrote is owned by the user" \
	test "$(stat -c %u "$out/who" 2>/dev/null)" = "$uid"
check "open_session hook ran (our stack, not /etc/pam.d/other)" test -s "$out/open_session"
check "PAM_SERVICE is the symlink name $SSHD_SERVICE" \
	grep -qx "service=$SSHD_SERVICE" "$out/open_session"
check "PAM_RHOST is 127.0.0.1" grep -qx "rhost=127.0.0.1" "$out/open_session"
check "PAM_USER is $U" grep -qx "user=$U" "$out/open_session"
check "the session hook ran as root (in sshd's [priv] process)" \
	grep -qx "uid=0" "$out/open_session"
check "close_session had not run while the command ran" \
	grep -qx absent "$out/close-during"

check "sshd_wait_closed returns once every connection process is gone" sshd_wait_closed 10
# close_session runs in [priv] before it exits: after sshd_wait_closed its proof is there.
check "close_session hook ran after logout" test -s "$out/close_session"
check "close_session saw the same service, rhost and user" \
	cmp -s <(grep -v '^tty=' "$out/open_session") <(grep -v '^tty=' "$out/close_session")
check "listener has no children left" test -z "$(pgrep -P "$SSHD_PID")"

# The stack lets anyone through auth (pam_permit): keys must be what keeps strangers out.
sshd_user_key "$STRANGER"
rm -f "$SSHD_DIR/ak/$STRANGER"
rm -f "$out/open_session"
sshd_ssh "$STRANGER" "touch $out/stranger" 2>/dev/null
rc=$?
check "a user without an authorized key is refused (rc=$rc)" test "$rc" -eq 255
check "and no session was opened for that user" test ! -e "$out/open_session"
check "nor did its command run" test ! -e "$out/stranger"

# sshd_set_stack: the next connection reads the new stack.
sshd_set_stack "$(sshd_default_stack \
	"session required $PAM_MODDIR/pam_exec.so /bin/sh -c [echo swapped >$out/swapped]")"
sshd_ssh "$U" true 2>/dev/null
sshd_wait_closed 10
check "sshd_set_stack takes effect at the next login" grep -qx swapped "$out/swapped"

# Without its service file the login must fail, not run some other stack.
mv "$SSHD_PAMDIR/$SSHD_SERVICE" "$T_SCRATCH/stack.saved"
rm -f "$out/who"
sshd_ssh "$U" "id -un >$out/who" 2>/dev/null
rc=$?
sshd_wait_closed 10
check "no service file: login refused (rc=$rc), no fallback to /etc/pam.d/other" \
	test "$rc" -eq 255 -a ! -e "$out/who"
check "no service file: pam_wrapper says why" grep -q 'no default config other' "$SSHD_PAMLOG"

listener=$SSHD_PID
sshd_stop
check "sshd_stop ends the listener" wait_for 5 sh -c "! kill -0 $listener 2>/dev/null"
leftover=$(grep -l "" /tmp/pam.?/"$SSHD_SERVICE" 2>/dev/null)
check "no pam_wrapper copy of our service left in /tmp" test -z "$leftover"
finish
