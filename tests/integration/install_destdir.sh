#!/bin/bash
# `make install DESTDIR=...` stages every file at its place with its mode, and nothing
# else; PREFIX moves the programs and the unit follows; a second install keeps an edited
# policy; `make uninstall` removes all but the policy; the staged units, tmpfiles line
# and logrotate snippet are valid for the tools that read them.
source "$(dirname "$0")/../lib.sh"
need_root
if [ ! -x "$B/tmpfs-sweep" ] || [ ! -e "$B/pam_tmpfs_sweep.so" ]; then skip_all "build first ($B)"; fi

stage=$T_SCRATCH/stage
# The system directories as the Makefile takes them: pkg-config's, and under /usr when it
# answers /lib (merged /usr); the unit directory as systemd.pc says.
pamdir=$(pkg-config --variable=libdir pam 2>/dev/null || echo /usr/lib/x86_64-linux-gnu)/security
pamdir=${pamdir/#\/lib\//\/usr\/lib\/}
unitdir=$(pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null || echo /usr/lib/systemd/system)
catalogdir=$(pkg-config --variable=catalogdir systemd 2>/dev/null || echo /usr/lib/systemd/catalog)
# make's B: the build this run tests (B is absolute in lib.sh).
mk() { make -C "$TOP" --no-print-directory B="$B" "$@" >>"$T_SCRATCH/make.log" 2>&1; }

# PATH MODE [TYPE]: staged file exists, regular (or TYPE), root-owned, with MODE.
expect=()
want() {
	local p=$1 mode=$2 f=$stage$1
	expect+=("$p")
	if [ ! -e "$f" ] && [ ! -L "$f" ]; then not_ok "$p staged"; return; fi
	if [ "$(stat -c '%a %U %G %F' "$f")" = "$mode root root regular file" ]; then
		ok "$p staged, $mode root:root"
	else
		not_ok "$p staged as $(stat -c '%a %U %G %F' "$f"), want $mode root root regular"
	fi
}

check "make install DESTDIR=stage succeeds" mk install DESTDIR="$stage"

# The essential files, always.
want /usr/libexec/tmpfs-sweep/tmpfs-sweep 755
check "helper is the built one" cmp -s "$stage/usr/libexec/tmpfs-sweep/tmpfs-sweep" "$B/tmpfs-sweep"
expect+=(/usr/sbin/tmpfs-sweep)
check "/usr/sbin/tmpfs-sweep is a relative symlink to the helper (no DESTDIR in it)" \
	test "$(readlink "$stage/usr/sbin/tmpfs-sweep")" = ../libexec/tmpfs-sweep/tmpfs-sweep
want "$pamdir/pam_tmpfs_sweep.so" 644
check "PAM module is the built one, in pkg-config's PAM dir" \
	cmp -s "$stage$pamdir/pam_tmpfs_sweep.so" "$B/pam_tmpfs_sweep.so"
stray=$(cd "$stage" && find lib -type f 2>/dev/null | grep -v "^${unitdir#/}/" | tr '\n' ' ')
check "merged /usr: nothing under /lib but the unit directory systemd.pc names${stray:+ ($stray)}" \
	test -z "$stray" -a -f "$stage/usr/${pamdir#/usr/}/pam_tmpfs_sweep.so"
want "$unitdir/tmpfs-sweep-gc.service" 644
want "$unitdir/tmpfs-sweep-gc.timer" 644
want "$catalogdir/tmpfs-sweep.catalog" 644
want /usr/share/bash-completion/completions/tmpfs-sweep 644
want /usr/lib/tmpfiles.d/tmpfs-sweep.conf 644
want /etc/logrotate.d/tmpfs-sweep 644
want /usr/share/doc/tmpfs-sweep/pam.d-sshd-snippet 644
want /usr/share/doc/tmpfs-sweep/tmpfs-sweep-unit.conf 644
check "the unit drop-in example runs /usr/sbin/tmpfs-sweep sweep --self" \
	grep -qx 'ExecStopPost=-/usr/sbin/tmpfs-sweep sweep --self' \
	"$stage/usr/share/doc/tmpfs-sweep/tmpfs-sweep-unit.conf"
check "PAM snippet is not put into /etc/pam.d" test ! -e "$stage/etc/pam.d"
check "the unit runs /usr/sbin/tmpfs-sweep gc" \
	grep -qx 'ExecStart=/usr/sbin/tmpfs-sweep gc' "$stage$unitdir/tmpfs-sweep-gc.service"
want /etc/security/tmpfs-sweep.conf 644
check "policy file is the shipped one" \
	cmp -s "$stage/etc/security/tmpfs-sweep.conf" "$TOP/conf/tmpfs-sweep.conf"
# The man pages whose sources are in the tree, and the three the design names.
version=$("$B/tmpfs-sweep" --version | awk '{print $2}')
for m in "$TOP"/man/*.5 "$TOP"/man/*.8; do
	[ -e "$m" ] || continue
	want "/usr/share/man/man${m##*.}/$(basename "$m")" 644
	check "$(basename "$m") installed with the version $version in its header" \
		grep -q "^\.TH .*\"tmpfs-sweep $version\"" "$stage/usr/share/man/man${m##*.}/$(basename "$m")"
done
for m in pam_tmpfs_sweep.8 tmpfs-sweep.8 tmpfs-sweep.conf.5; do
	[ -e "$TOP/man/$m" ] || ok "# SKIP man/$m is not in this tree yet"
done

# Nothing staged that is not expected.
extra=$(cd "$stage" && find . ! -type d | sed 's|^\.||' | sort |
	comm -23 - <(printf '%s\n' "${expect[@]}" | sort))
check "nothing else staged${extra:+: $extra}" test -z "$extra"

# The tools that read them accept them.
if command -v systemd-analyze >/dev/null; then
	# verify wants the ExecStart binary: point it at the staged helper.
	mkdir "$T_SCRATCH/units"
	sed "s|^ExecStart=/usr/sbin/tmpfs-sweep|ExecStart=$stage/usr/libexec/tmpfs-sweep/tmpfs-sweep|" \
		"$stage$unitdir/tmpfs-sweep-gc.service" >"$T_SCRATCH/units/tmpfs-sweep-gc.service"
	cp "$stage$unitdir/tmpfs-sweep-gc.timer" "$T_SCRATCH/units/"
	check "systemd-analyze verify accepts the units" sh -c "cd '$T_SCRATCH/units' &&
		systemd-analyze verify --man=no ./tmpfs-sweep-gc.service ./tmpfs-sweep-gc.timer \
		>'$T_SCRATCH/verify.log' 2>&1 && ! test -s '$T_SCRATCH/verify.log'"
	exposure=$(systemd-analyze security --offline=true "$T_SCRATCH/units/tmpfs-sweep-gc.service" \
		2>/dev/null | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
	check "gc service exposure level is low (${exposure:-?} <= 4.0)" \
		awk -v e="${exposure:-99}" 'BEGIN { exit !(e <= 4.0) }'
else
	ok "# SKIP systemd-analyze not installed"
fi
if command -v systemd-tmpfiles >/dev/null; then
	root=$T_SCRATCH/troot
	mkdir -p "$root/run" "$root/var/log"
	systemd-tmpfiles --root="$root" --create "$stage/usr/lib/tmpfiles.d/tmpfs-sweep.conf" \
		>/dev/null 2>&1
	for d in /run/tmpfs-sweep /run/tmpfs-sweep/sessions /var/log/tmpfs-sweep; do
		check "tmpfiles creates $d 0700 root:root" \
			test "$(stat -c '%a %U %G %F' "$root$d" 2>/dev/null)" = "700 root root directory"
	done
else
	ok "# SKIP systemd-tmpfiles not installed"
fi
if command -v logrotate >/dev/null; then
	check "logrotate accepts the snippet" sh -c "logrotate -d -s '$T_SCRATCH/lr.state' \
		'$stage/etc/logrotate.d/tmpfs-sweep' 2>&1 | grep -q 'audit.jsonl' &&
		! logrotate -d -s '$T_SCRATCH/lr.state' '$stage/etc/logrotate.d/tmpfs-sweep' 2>&1 |
		grep -qi error"
else
	lr_ok=1
	grep -q '^/var/log/tmpfs-sweep/audit.jsonl {' "$stage/etc/logrotate.d/tmpfs-sweep" || lr_ok=0
	for k in weekly 'rotate 12' compress 'create 0600 root root' missingok notifempty; do
		grep -qx "[[:space:]]*$k" "$stage/etc/logrotate.d/tmpfs-sweep" || lr_ok=0
	done
	check "logrotate snippet has its directives (logrotate not installed)" test "$lr_ok" = 1
fi
check "PAM snippet has the module line" \
	grep -qE '^session[[:space:]]+optional[[:space:]]+pam_tmpfs_sweep\.so[[:space:]]*$' \
	"$stage/usr/share/doc/tmpfs-sweep/pam.d-sshd-snippet"

# An admin's edit of the policy survives a second install.
echo '# edited by the admin' >>"$stage/etc/security/tmpfs-sweep.conf"
mk install DESTDIR="$stage"
check "second install keeps the edited policy" \
	grep -qx '# edited by the admin' "$stage/etc/security/tmpfs-sweep.conf"

# PREFIX moves the programs, and the unit follows.
stage2=$T_SCRATCH/stage-local
check "make install PREFIX=/usr/local succeeds" mk install DESTDIR="$stage2" PREFIX=/usr/local
check "PREFIX: helper in /usr/local/libexec" test -x "$stage2/usr/local/libexec/tmpfs-sweep/tmpfs-sweep"
check "PREFIX: /usr/local/sbin/tmpfs-sweep -> the helper" \
	test "$(readlink -f "$stage2/usr/local/sbin/tmpfs-sweep")" = "$stage2/usr/local/libexec/tmpfs-sweep/tmpfs-sweep"
check "PREFIX: the unit runs /usr/local/sbin/tmpfs-sweep gc" \
	grep -qx 'ExecStart=/usr/local/sbin/tmpfs-sweep gc' "$stage2$unitdir/tmpfs-sweep-gc.service"
check "PREFIX: PAM snippet in /usr/local/share/doc" \
	test -f "$stage2/usr/local/share/doc/tmpfs-sweep/pam.d-sshd-snippet"
check "PREFIX: the unit drop-in example runs /usr/local/sbin/tmpfs-sweep" \
	grep -qx 'ExecStopPost=-/usr/local/sbin/tmpfs-sweep sweep --self' \
	"$stage2/usr/local/share/doc/tmpfs-sweep/tmpfs-sweep-unit.conf"

# uninstall leaves only the admin's policy.
check "make uninstall succeeds" mk uninstall DESTDIR="$stage"
left=$(cd "$stage" && find . ! -type d | sed 's|^\.||')
left=$(printf '%s\n' "$left" | grep -vx /etc/security/tmpfs-sweep.conf | tr '\n' ' ')
check "uninstall leaves only the policy file${left:+ (left: $left)}" test -z "${left// /}"
finish
