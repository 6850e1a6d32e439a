#!/bin/bash
# The Debian package (issue 13 items 1-3) on this machine: `make deb` builds it and lintian
# finds no error and no warning; its version is the helper's; the policy is a conffile.
# Then, in a private mount namespace with scratch overlays on /usr /etc /var /run (dpkg's
# database, /etc/pam.d and everything the package touches vanish at exit, whatever
# happens: the machine's PAM stack is never changed): apt installs it, the PAM stack is
# unchanged (the profile is off), the timer is enabled, the state and audit directories
# exist; `pam-auth-update --enable tmpfs-sweep` puts the module line after pam_systemd in
# common-session; a session of service sshd through that common-session leaves a file in
# /dev/shm, which the shipped policy removes, while a su session is left alone; an edited
# policy survives a reinstall; remove takes the line out and keeps the policy; purge leaves
# nothing of the package (files, policy, audit log, state, metrics, timer link, pam-auth-update
# state) and common-session byte for byte as before.
[ "$(id -u)" -eq 0 ] || { echo "needs root"; exit 77; }
source "$(dirname "$0")/../sshd.sh"
private_root_enter "$@"
source "$(dirname "$0")/../lib.sh"
command -v dpkg-buildpackage >/dev/null && command -v dh >/dev/null && command -v lintian >/dev/null ||
	skip_all "dpkg-dev, debhelper or lintian missing (tools/deps.sh installs them)"
[ -x "$B/tools/pam_host" ] || skip_all "build first ($B/tools/pam_host)"

# ---- build and lint (in the tree's build/deb, as `make deb` does for everyone) ----
make -C "$TOP" --no-print-directory deb >"$T_SCRATCH/deb.log" 2>&1
rc=$?
check "make deb builds the package and lintian reports no error and no warning (rc $rc)" \
	test "$rc" -eq 0
[ "$rc" -eq 0 ] || { tail -n 30 "$T_SCRATCH/deb.log" | sed 's/^/    /'; finish; }
deb=$(ls "$TOP"/build/deb/tmpfs-sweep_*_"$(dpkg --print-architecture)".deb)
lint=$(lintian --fail-on none "$deb" 2>&1 | grep -E '^[EW]: ')
check "lintian on the .deb: no E: or W: line${lint:+: $lint}" test -z "$lint"
ver=$(dpkg-deb -f "$deb" Version)
mkdir "$T_SCRATCH/x" && dpkg-deb -x "$deb" "$T_SCRATCH/x"
check "the packaged helper's --version is the package version ($ver)" \
	test "$("$T_SCRATCH/x/usr/libexec/tmpfs-sweep/tmpfs-sweep" --version)" = "tmpfs-sweep $ver"
check "the policy and the logrotate snippet are conffiles" \
	sh -c "dpkg-deb -I '$deb' conffiles | sort | tr '\n' ' ' | grep -qx '/etc/logrotate.d/tmpfs-sweep /etc/security/tmpfs-sweep.conf '"
check "the pam-auth-update profile is session-only, interactive-only, off by default, after pam_systemd" \
	python3 - "$T_SCRATCH/x/usr/share/pam-configs/tmpfs-sweep" /usr/share/pam-configs/systemd <<'EOF'
import sys
def parse(p):
    d, k = {}, None
    for line in open(p):
        if line[:1] in " \t":
            d[k] = (d.get(k, "") + " " + line.strip()).strip()
        elif ":" in line:
            k, _, v = line.partition(":")
            d[k] = v.strip()
    return d
ours, sd = parse(sys.argv[1]), parse(sys.argv[2])
types = {k.split("-")[0] for k in ours if k.endswith("-Type") or k in ("Auth", "Account", "Password", "Session")}
ok = types == {"Session"} and ours["Default"] == "no" and ours["Session-Interactive-Only"] == "yes"
ok &= int(ours["Priority"]) < int(sd["Priority"]) and "pam_tmpfs_sweep.so" in ours["Session"]
ok &= "service=sshd,login" in ours["Session"]
sys.exit(0 if ok else 1)
EOF

# ---- install, enable, use, remove, purge: all inside scratch overlays ----
private_root_overlay || { not_ok "overlays on /usr /etc /var /run"; finish; }
# The watched /dev/shm of the sessions below: a scratch tmpfs in this namespace only.
mount -t tmpfs -o mode=1777,size=64m tsw-shm /dev/shm || { not_ok "scratch /dev/shm"; finish; }
export DEBIAN_FRONTEND=noninteractive
cp -a /etc/pam.d "$T_SCRATCH/pam.d.before"
state_before=$(cat /var/lib/pam/seen 2>/dev/null)
# What of the package's names exists before (none on a clean machine): purge must get back here.
# (/run and /var/log at the top only: parallel tests keep their own files below /run.)
ours() {
	{ find /run /var/log -maxdepth 1 -name '*tmpfs-sweep*'
	  find /etc /var/lib/systemd /var/lib/dpkg/info /var/lib/prometheus /usr/lib /usr/libexec \
		/usr/sbin /usr/share \( -name '*tmpfs-sweep*' -o -name 'pam_tmpfs_sweep*' \) -print
	} 2>/dev/null | sort
}
ours >"$T_SCRATCH/ours.before"
mid=$(sed -n 's/^#define AUDIT_MID_SESSION_CLOSE "\(.*\)"$/\1/p' "$TOP/lib/audit.h")

check "apt installs the .deb" sh -c "apt-get install -y -q '$deb' >'$T_SCRATCH/apt-install.log' 2>&1"
check "installed as $ver" test "$(dpkg-query -W -f '${Status} ${Version}' tmpfs-sweep)" = "install ok installed $ver"
check "the PAM stack is as before (the profile is off until enabled)" \
	diff -r "$T_SCRATCH/pam.d.before" /etc/pam.d
unit=$(pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null || echo /lib/systemd/system)
check "the gc timer is enabled (debhelper's deb-systemd-helper)" \
	test "$(readlink /etc/systemd/system/timers.target.wants/tmpfs-sweep-gc.timer)" = "$unit/tmpfs-sweep-gc.timer"
check "/run/tmpfs-sweep made by tmpfiles, 0700 root" test "$(stat -c '%a %U' /run/tmpfs-sweep 2>&1)" = "700 root"
check "/var/log/tmpfs-sweep made by postinst, 0700 root" test "$(stat -c '%a %U' /var/log/tmpfs-sweep 2>&1)" = "700 root"
check "the installed policy passes check-config" /usr/sbin/tmpfs-sweep check-config
check "the journald catalog was compiled in (systemd's trigger): entry $mid listed" \
	sh -c "journalctl --list-catalog 2>/dev/null | grep -q '^$mid '"

pam-auth-update --enable tmpfs-sweep >"$T_SCRATCH/pau.log" 2>&1
check "pam-auth-update --enable tmpfs-sweep: the line is in common-session" \
	grep -qE '^session[[:space:]]+optional[[:space:]]+pam_tmpfs_sweep\.so service=sshd,login$' /etc/pam.d/common-session
ln_sd=$(grep -n 'pam_systemd\.so' /etc/pam.d/common-session | cut -d: -f1)
ln_us=$(grep -n 'pam_tmpfs_sweep\.so' /etc/pam.d/common-session | cut -d: -f1)
check "the module line comes after pam_systemd's (lines $ln_sd, $ln_us), as the last one" \
	test -n "$ln_sd" -a -n "$ln_us" -a "${ln_us:-0}" -gt "${ln_sd:-99}" \
	-a "$(grep -cE '^session' <(tail -n +"$((ln_us + 1))" /etc/pam.d/common-session))" -eq 0
check "not in common-session-noninteractive (Session-Interactive-Only)" \
	sh -c "! grep -q pam_tmpfs_sweep /etc/pam.d/common-session-noninteractive"

# A session in service sshd and one in su, both through the real common-session.
scratch_user U || { not_ok "scratch user"; finish; }
confdir=$T_SCRATCH/pamconf
mkdir -p "$confdir"
cp /etc/pam.d/common-session "$confdir/"
for s in sshd su; do printf 'session required pam_permit.so\n@include common-session\n' >"$confdir/$s"; done
run_session() { # SERVICE FILE: open, the user writes FILE (1 MiB), close
	"$B/tools/pam_host" "$confdir" "$1" "$U" open \
		"run:setpriv --reuid $U --regid $(id -g "$U") --clear-groups dd if=/dev/zero of=$2 bs=1M count=1 status=none" \
		close >"$T_SCRATCH/host-$1.out" 2>&1
}
run_session sshd /dev/shm/left-by-sshd
run_session su /dev/shm/left-by-su
audit=/var/log/tmpfs-sweep/audit.jsonl
check "sshd session: the installed module recorded it and the installed helper removed its file" \
	sh -c "grep -qx open=success '$T_SCRATCH/host-sshd.out' && test ! -e /dev/shm/left-by-sshd &&
		jq -e -s '[.[] | select(.event == \"file\" and .result == \"removed\" and
			(.path | endswith(\"left-by-sshd\")))] | length == 1' '$audit' >/dev/null"
check "su session: nothing recorded, its file left alone (service=sshd,login)" \
	sh -c "test -e /dev/shm/left-by-su &&
		jq -e -s '[.[] | select(.service == \"su\" or ((.path // \"\") | endswith(\"left-by-su\")))] | length == 0' '$audit' >/dev/null"
metrics=/var/lib/prometheus/node-exporter/tmpfs-sweep.prom
if [ -d "${metrics%/*}" ]; then
	check "the close counted itself in $metrics" grep -qx 'tmpfs_sweep_sessions_closed_total 1' "$metrics"
fi

echo '# edited by the admin' >>/etc/security/tmpfs-sweep.conf
apt-get install -y -q --reinstall "$deb" >"$T_SCRATCH/apt-reinstall.log" 2>&1
check "a reinstall keeps the edited policy (a conffile)" grep -qx '# edited by the admin' /etc/security/tmpfs-sweep.conf

dpkg-query -L tmpfs-sweep >"$T_SCRATCH/files" 2>/dev/null
check "apt remove" sh -c "apt-get remove -y -q tmpfs-sweep >'$T_SCRATCH/apt-remove.log' 2>&1"
check "remove takes the module line out of common-session" \
	cmp -s "$T_SCRATCH/pam.d.before/common-session" /etc/pam.d/common-session
check "remove keeps the policy and the audit log" test -f /etc/security/tmpfs-sweep.conf -a -f "$audit"
check "no dpkg warning on remove (directory ownership)" sh -c "! grep -i warning '$T_SCRATCH/apt-remove.log'"
check "apt purge" sh -c "apt-get purge -y -q tmpfs-sweep >'$T_SCRATCH/apt-purge.log' 2>&1"
check "purged: dpkg knows it no more" sh -c "! dpkg-query -W -f '\${Status}' tmpfs-sweep 2>/dev/null | grep -q installed"
left=
while read -r f; do
	[ -d "$f" ] && continue # shared directories stay
	[ -e "$f" ] || [ -L "$f" ] && left+=" $f"
done <"$T_SCRATCH/files"
for f in /etc/security/tmpfs-sweep.conf /etc/logrotate.d/tmpfs-sweep /var/log/tmpfs-sweep \
	/run/tmpfs-sweep "$metrics" "$metrics.lock" /etc/systemd/system/timers.target.wants/tmpfs-sweep-gc.timer; do
	[ -e "$f" ] || [ -L "$f" ] && left+=" $f"
done
left+=$(ours | comm -13 "$T_SCRATCH/ours.before" - | tr '\n' ' ')
check "purge leaves nothing of the package${left:+ (left:$left)}" test -z "${left// /}"
check "the catalog entries are gone from journald's database" \
	sh -c "! journalctl --list-catalog 2>/dev/null | grep -q '^$mid '"
check "common-session and all of /etc/pam.d are byte for byte as before" \
	diff -r "$T_SCRATCH/pam.d.before" /etc/pam.d
check "pam-auth-update's state no longer knows the profile" \
	test "$(cat /var/lib/pam/seen 2>/dev/null)" = "$state_before"
finish
