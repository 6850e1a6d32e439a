#!/bin/bash
# The RPM (issue 13 item 4): `make rpm` runs `rpmbuild -bb tmpfs-sweep.spec` on a tarball of
# the tree (here on Debian's rpm, so --nodeps: no RPM database holds the BuildRequires).
# The package has the version of debian/changelog and of its helper's --version; the policy
# and logrotate snippet are %config(noreplace); the gc timer has the systemd scriptlets
# (preset at install, disable --now at erase, daemon-reload at upgrade) and tmpfiles makes the
# state directory; the files are where Fedora puts them (units and PAM module under /usr);
# the build used the distribution's flags (%set_build_flags) and the helper is hardened.
source "$(dirname "$0")/../lib.sh"
if ! command -v rpmbuild >/dev/null; then
	# tools/deps.sh installs Debian's rpm; only a machine where it cannot be installed skips.
	skip_all "SKIP: rpmbuild is not installed and could not be (apt-get install rpm): no RPM test"
fi

make -C "$TOP" --no-print-directory rpm RPMFLAGS=--nodeps >"$T_SCRATCH/rpm.log" 2>&1
rc=$?
check "rpmbuild -bb tmpfs-sweep.spec succeeds (make rpm, rc $rc)" test "$rc" -eq 0
[ "$rc" -eq 0 ] || { tail -n 30 "$T_SCRATCH/rpm.log" | sed 's/^/    /'; finish; }
rpm=$(ls "$TOP"/build/rpm/RPMS/*/tmpfs-sweep-[0-9]*.rpm | head -n1)
deb=$(sed -n '1s/^[^ ]* (\([^)]*\)).*/\1/p' "$TOP/debian/changelog")
check "RPM version is debian/changelog's ($deb)" test "$(rpm -qp --qf '%{VERSION}' "$rpm" 2>/dev/null)" = "$deb"

x=$T_SCRATCH/x
mkdir "$x" && (cd "$x" && rpm2cpio "$rpm" | cpio -idm --quiet) >"$T_SCRATCH/cpio.log" 2>&1 ||
	not_ok "rpm2cpio | cpio: $(tail -n1 "$T_SCRATCH/cpio.log")"
check "the packaged helper's --version says it" \
	test "$("$x/usr/libexec/tmpfs-sweep/tmpfs-sweep" --version)" = "tmpfs-sweep $deb"
flags=$(rpm -qp --qf '[%{FILEFLAGS:fflags} %{FILENAMES}\n]' "$rpm" 2>/dev/null)
check "the policy is %config(noreplace)" grep -qx 'cn /etc/security/tmpfs-sweep.conf' <<<"$flags"
check "the logrotate snippet is %config(noreplace)" grep -qx 'cn /etc/logrotate.d/tmpfs-sweep' <<<"$flags"
files=$(rpm -qpl "$rpm" 2>/dev/null)
for f in /usr/lib/systemd/system/tmpfs-sweep-gc.service /usr/lib/systemd/system/tmpfs-sweep-gc.timer \
	/usr/lib/tmpfiles.d/tmpfs-sweep.conf /usr/lib/systemd/catalog/tmpfs-sweep.catalog \
	/usr/libexec/tmpfs-sweep/tmpfs-sweep /usr/sbin/tmpfs-sweep \
	/usr/share/bash-completion/completions/tmpfs-sweep /usr/share/man/man8/pam_tmpfs_sweep.8; do
	check "packaged: $f" grep -qx "$f" <<<"$files"
done
check "the PAM module is in %{_libdir}/security" grep -qE '^/usr/lib(64)?/security/pam_tmpfs_sweep\.so$' <<<"$files"
check "nothing under /lib (merged /usr)" bash -c '! grep -q "^/lib/" <<<"$1"' _ "$files"
check "/usr/sbin/tmpfs-sweep is a relative symlink" \
	test "$(readlink "$x/usr/sbin/tmpfs-sweep")" = ../libexec/tmpfs-sweep/tmpfs-sweep
scripts=$(rpm -qp --scripts "$rpm" 2>/dev/null)
post=$(sed -n '/^postinstall/,/^preuninstall/p' <<<"$scripts")
preun=$(sed -n '/^preuninstall/,/^postuninstall/p' <<<"$scripts")
postun=$(sed -n '/^postuninstall/,$p' <<<"$scripts")
check "%post: systemctl preset tmpfs-sweep-gc.timer on first install" \
	grep -qE 'systemctl .*preset .*tmpfs-sweep-gc\.timer' <<<"$post"
check "%post: systemd-tmpfiles --create tmpfs-sweep.conf" \
	grep -qE 'systemd-tmpfiles .*--create .*tmpfs-sweep\.conf' <<<"$post"
check "%preun: the timer disabled and stopped on erase" \
	grep -qE 'systemctl .*disable --now .*tmpfs-sweep-gc\.timer' <<<"$preun"
check "%postun: daemon-reload on upgrade" grep -q 'systemctl daemon-reload' <<<"$postun"
check "no macro was left unexpanded in the scriptlets" bash -c '! grep -q % <<<"$1"' _ "$scripts"
check "the build used the distribution's CFLAGS (%set_build_flags: $(rpm --eval '%{build_cflags}'))" \
	grep -qF -- "$(rpm --eval '%{build_cflags}')" "$TOP/build/rpm/build.log"
check "the helper is PIE with full RELRO" sh -c "readelf -hd '$x/usr/libexec/tmpfs-sweep/tmpfs-sweep' |
	grep -q 'DYN (Position-Independent' && readelf -d '$x/usr/libexec/tmpfs-sweep/tmpfs-sweep' | grep -q 'BIND_NOW'"
finish
