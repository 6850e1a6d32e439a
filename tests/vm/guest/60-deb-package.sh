#!/bin/bash
# The Debian package where it runs (issue 13 item 3): the image's `make install` layout is
# moved aside; apt installs the built .deb; the PAM stack is unchanged and the gc timer is
# active; `pam-auth-update --enable tmpfs-sweep` puts the module line after pam_systemd in
# common-session (the order it really produces is checked); a key login over ssh leaves a
# file in /dev/shm and one in /tmp and logs out: the shipped policy removes the first and
# reports the second; a su session is left alone (service=sshd,login); `journalctl -x`
# shows the catalog's text with the entries; `apt purge` leaves nothing of the package and
# /etc/pam.d as it was, and logins still work. Everything moved aside comes back at exit.
. "$(dirname "$0")/lib/vmlib.sh"

debs=(/usr/share/tmpfs-sweep-vm/deb/tmpfs-sweep_*.deb)
deb=${debs[0]}
if [ ! -f "$deb" ] || [ ! -s /usr/share/tmpfs-sweep-vm/installed.list ]; then
	echo "no .deb in the image (make deb-build before tests/vm/run.sh)"
	exit 77
fi
note "package: $deb"
export DEBIAN_FRONTEND=noninteractive
u=sweepa uid=1001
stash=/root/deb-test-stash
rm -rf "$stash"
mkdir -p "$stash"

# ---- the image's own install, moved aside (and back at exit) ----
restore() {
	dpkg-query -W -f '${Status}' tmpfs-sweep 2>/dev/null | grep -q 'ok installed\|config-files' &&
		apt-get purge -y -q tmpfs-sweep >/dev/null 2>&1
	(cd "$stash/root" && find . ! -type d) | while read -r f; do
		mkdir -p "$(dirname "/${f#./}")"
		mv -f "$stash/root/${f#./}" "/${f#./}"
	done
	for d in /var/log/tmpfs-sweep /run/tmpfs-sweep; do
		[ -d "$stash/dirs$d" ] && { rm -rf "$d"; mv "$stash/dirs$d" "$d"; }
	done
	cp -p "$stash/sshd" /etc/pam.d/sshd
	systemctl daemon-reload
	systemctl enable --now tmpfs-sweep-gc.timer
}
systemctl disable --now tmpfs-sweep-gc.timer >/dev/null 2>&1
cp -p /etc/pam.d/sshd "$stash/sshd"
at_exit restore
while read -r f; do
	[ -e "$f" ] || [ -L "$f" ] || continue
	mkdir -p "$stash/root$(dirname "$f")"
	mv "$f" "$stash/root$f"
done </usr/share/tmpfs-sweep-vm/installed.list
for d in /var/log/tmpfs-sweep /run/tmpfs-sweep; do
	[ -d "$d" ] && { mkdir -p "$stash/dirs$(dirname "$d")"; mv "$d" "$stash/dirs$d"; }
done
sed -i '/pam_tmpfs_sweep/d' /etc/pam.d/sshd
systemctl daemon-reload
check "the image's install is out of the way (no helper, no module line, no unit)" \
	bash -c '! [ -e /usr/sbin/tmpfs-sweep ] && ! grep -rq pam_tmpfs_sweep /etc/pam.d &&
		[ "$(systemctl is-enabled tmpfs-sweep-gc.timer 2>&1)" != enabled ]'
cp -a /etc/pam.d "$stash/pam.d.before"
ours() {
	{ find /run /var/log -maxdepth 1 -name '*tmpfs-sweep*'
	  find /etc /var/lib/systemd /var/lib/dpkg/info /usr/lib /usr/libexec /usr/sbin /usr/share \
		\( -name '*tmpfs-sweep*' -o -name 'pam_tmpfs_sweep*' \) ! -path '/usr/share/tmpfs-sweep-vm*' -print
	} 2>/dev/null | sort
}
ours >"$T_CTL/ours.before"

# ---- install ----
t0=$SECONDS
apt-get install -y -q "$deb" >"$T_CTL/apt-install.log" 2>&1
rc=$?
note "apt-get install: rc $rc, $((SECONDS - t0)) s; $(tail -n 3 "$T_CTL/apt-install.log" | tr '\n' ' ')"
check "apt installs the .deb" [ "$rc" -eq 0 ]
ver=$(dpkg-query -W -f '${Version}' tmpfs-sweep 2>/dev/null)
check "installed; tmpfs-sweep --version is the package version ($ver)" \
	[ "$("$SWEEP" --version 2>&1)" = "tmpfs-sweep $ver" ]
check "the PAM stack is unchanged by the install (the profile is off)" diff -r "$stash/pam.d.before" /etc/pam.d
check "gc timer enabled and active" \
	bash -c '[ "$(systemctl is-enabled tmpfs-sweep-gc.timer)" = enabled ] &&
		[ "$(systemctl is-active tmpfs-sweep-gc.timer)" = active ]'
check "/run/tmpfs-sweep (tmpfiles) and /var/log/tmpfs-sweep (postinst) are root's, 0700" \
	bash -c '[ "$(stat -c "%a %U" /run/tmpfs-sweep /var/log/tmpfs-sweep | sort -u)" = "700 root" ]'

# ---- enable: where pam-auth-update really puts the line ----
pam-auth-update --enable tmpfs-sweep >"$T_CTL/pau.log" 2>&1
note "common-session, session lines: $(grep -E '^session' /etc/pam.d/common-session | awk '{print $3}' | tr '\n' ' ')"
ln_sd=$(grep -nE '^session.*pam_systemd\.so' /etc/pam.d/common-session | cut -d: -f1)
ln_us=$(grep -nE '^session.*pam_tmpfs_sweep\.so service=sshd,login' /etc/pam.d/common-session | cut -d: -f1)
check "pam-auth-update --enable: the line is in common-session after pam_systemd (lines $ln_sd < $ln_us)" \
	eval '[ -n "$ln_us" ] && [ -n "$ln_sd" ] && [ "${ln_us:-0}" -gt "${ln_sd:-99}" ]'
check "and not in common-session-noninteractive" \
	bash -c '! grep -q pam_tmpfs_sweep /etc/pam.d/common-session-noninteractive'

# ---- a login that leaves files; a su session ----
shm=/dev/shm/tsw-deb-$RANDOM tmp=/tmp/tsw-deb-$RANDOM su_shm=/dev/shm/tsw-deb-su-$RANDOM
at_exit "rm -f '$shm' '$tmp' '$su_shm'"
logind_set RemoveIPC=no
audit_mark
user_ssh "$u" "dd if=/dev/zero of=$shm bs=1M count=4 status=none; dd if=/dev/zero of=$tmp bs=1M count=1 status=none" ||
	not_ok "ssh login of $u"
check "audit: session-close of the ssh login" wait_close "$u"
check "audit: the session was recorded as service sshd" aq "opens($uid)[-1].get('service') == 'sshd'"
removed() { [ ! -e "$shm" ] && aq "last_file($uid, '$shm').get('result') == 'removed'"; }
reported() { [ -e "$tmp" ] && aq "last_file($uid, '$tmp').get('result') == 'reported'"; }
check "the shipped policy: $shm removed at logout" removed
check "the shipped policy: $tmp reported and kept" reported
note "close took $(aqv "closes($uid)[-1].get('duration_ms')") ms"
sid=$(aqv "closes($uid)[-1].get('session')" | tr -d '"')
n_before=$(aq "len(ev)" | sed -n 's/^# aq: //p')
su "$u" -c "dd if=/dev/zero of=$su_shm bs=1M count=1 status=none" </dev/null >/dev/null 2>&1
sleep 1
su_left_alone() { [ -e "$su_shm" ] && aq "len(ev) == $n_before"; }
check "a su session (common-session too) is not recorded and its file stays" su_left_alone
check "gc timer still active after the sessions" [ "$(systemctl is-active tmpfs-sweep-gc.timer)" = active ]

# ---- journalctl -x: the catalog's text with the entries ----
journalctl --sync 2>/dev/null
x=$(journalctl -x -b --no-pager TMPFS_SWEEP_SESSION="$sid" 2>&1)
note "journalctl -x (first lines): $(head -n 12 <<<"$x" | tr '\n' '|')"
check "journalctl -x: the catalog text of the session-close (subject with the session id)" \
	grep -q "Login session $sid of $u swept by tmpfs-sweep" <<<"$x"
check "journalctl -x: the catalog text of the removed file (its path filled in)" \
	grep -qF "$shm was on a watched tmpfs" <<<"$x"
check "journalctl -x: Defined-By and what to do" \
	bash -c 'grep -q "Defined-By: tmpfs-sweep" <<<"$1" && grep -q "check-config" <<<"$1"' _ "$x"

# ---- purge ----
dpkg-query -L tmpfs-sweep >"$T_CTL/files" 2>/dev/null
apt-get purge -y -q tmpfs-sweep >"$T_CTL/apt-purge.log" 2>&1
check "apt purge" [ $? -eq 0 ]
check "no warning from dpkg on purge" bash -c "! grep -i warning '$T_CTL/apt-purge.log'"
left=
while read -r f; do
	[ -d "$f" ] && continue
	{ [ -e "$f" ] || [ -L "$f" ]; } && left+=" $f"
done <"$T_CTL/files"
left+=$(ours | comm -13 "$T_CTL/ours.before" - | tr '\n' ' ')
check "purge leaves nothing of the package${left:+ (left:$left)}" [ -z "${left// /}" ]
check "policy, audit log, state gone" \
	bash -c '! [ -e /etc/security/tmpfs-sweep.conf ] && ! [ -e /var/log/tmpfs-sweep ] && ! [ -e /run/tmpfs-sweep ]'
check "the timer is gone from systemd" \
	bash -c '[ "$(systemctl show -p LoadState --value tmpfs-sweep-gc.timer)" = not-found ]'
check "/etc/pam.d (common-session included) is byte for byte as before" diff -r "$stash/pam.d.before" /etc/pam.d
check "journald's catalog no longer has the entries" \
	bash -c '! journalctl --list-catalog 2>/dev/null | grep -q "tmpfs-sweep"'
check "a login still works after the purge" user_ssh "$u" true
finish
