#!/bin/bash
# A policy file that is not safe to trust is not used: wrong owner, group/other-writable,
# a symlink, in a group-writable or user-owned directory, too large, not a regular file,
# missing. check-config names the problem and exits 1; dump-config (policy_load) shows the
# run would be report-only with no rule at all. A safe copy of the same file is accepted,
# so each failure is caused by the one thing changed.
. "$(dirname "$0")/../lib.sh"
need_root

d=$(mktemp -d /run/tsw-policy-safety.XXXXXX) || exit 1
at_exit "rm -rf '$d'"
chmod 755 "$d"
scratch_user suser || { not_ok "scratch user"; finish; }
u=$suser; uid=$(id -u "$u")

good="Watch /dev/shm
remove /dev/shm/** class=charged,created"
mk() { # mk PATH: a policy that is valid, root-owned, 0644
	printf '%s\n' "$good" >"$1" && chown root:root "$1" && chmod 644 "$1"
}

# expect_unsafe DESC FILE MESSAGE: check-config fails with "FILE: ...MESSAGE", and
# the policy is report-only without rules.
expect_unsafe() {
	local desc=$1 f=$2 msg=$3 out err rc
	out=$(timeout 10 "$SWEEP" check-config "$f" 2>"$d/err"); rc=$?
	err=$(cat "$d/err")
	if [ "$rc" -eq 1 ] && [ -z "$out" ] && grep -F -- "$f: " "$d/err" | grep -qF -- "$msg"; then
		ok "$desc: check-config says '$msg'"
	else
		not_ok "$desc: rc=$rc out='$out' err='$err'"
	fi
	timeout 10 "$SWEEP" dump-config "$f" >"$d/dump" 2>/dev/null
	if grep -q '^# REPORT-ONLY' "$d/dump" && ! grep -qE '^(keep|report|remove|defer) ' "$d/dump"
	then
		ok "$desc: report-only, no rules"
	else
		not_ok "$desc: dump-config is not report-only: $(head -c 300 "$d/dump")"
	fi
}

# Positive control: the same content, safely stored, is used.
mk "$d/ok.conf"
out=$("$SWEEP" check-config "$d/ok.conf" 2>&1)
check "safe file accepted" test "$out" = "$d/ok.conf: OK"
"$SWEEP" dump-config "$d/ok.conf" >"$d/dump" 2>&1
check "safe file dumps its rule, not report-only" \
	bash -c "grep -q '^remove /dev/shm/\*\* ' '$d/dump' && ! grep -q REPORT-ONLY '$d/dump'"

mk "$d/owner.conf"; chown "$u" "$d/owner.conf"
expect_unsafe "owned by a user" "$d/owner.conf" "file is owned by uid $uid, not by root"

mk "$d/gw.conf"; chmod g+w "$d/gw.conf"
expect_unsafe "mode g+w" "$d/gw.conf" "file is writable by group or others (mode 0664)"

mk "$d/ow.conf"; chmod o+w "$d/ow.conf"
expect_unsafe "mode o+w" "$d/ow.conf" "file is writable by group or others (mode 0646)"

mk "$d/target.conf"; ln -s "$d/target.conf" "$d/link.conf"
expect_unsafe "symlink to a safe file" "$d/link.conf" "is a symbolic link"

mkdir -m 775 "$d/gwdir"; mk "$d/gwdir/p.conf"
expect_unsafe "in a group-writable directory" "$d/gwdir/p.conf" \
	"directory $d/gwdir is writable by group or others (mode 0775)"

mkdir -m 755 "$d/udir"; chown "$u" "$d/udir"; mk "$d/udir/p.conf"
expect_unsafe "in a user-owned directory" "$d/udir/p.conf" \
	"directory $d/udir is owned by uid $uid, not by root"

mkdir -m 1777 "$d/sticky"; mk "$d/sticky/p.conf"
expect_unsafe "in a sticky world-writable directory" "$d/sticky/p.conf" \
	"directory $d/sticky is writable by group or others (mode 1777)"

mk "$d/big.conf"
python3 -c 'import sys; sys.stdout.write(("#" + "x" * 99 + "\n") * 700)' >>"$d/big.conf"
expect_unsafe "larger than 64 KiB" "$d/big.conf" "is larger than 65536 bytes"

mkfifo -m 644 "$d/fifo.conf"
expect_unsafe "a FIFO (no hang)" "$d/fifo.conf" "is not a regular file"

expect_unsafe "missing file" "$d/missing.conf" "cannot open"

# Directories are checked by lstat along the path as written; a symlinked one sends the
# check to where it really points: unsafe there is unsafe, safe there is accepted.
mkdir -m 775 "$d/gwdir2"; mk "$d/gwdir2/p.conf"; ln -s "$d/gwdir2" "$d/to-gwdir2"
expect_unsafe "through a symlinked directory, into a group-writable one" "$d/to-gwdir2/p.conf" \
	"directory $d/gwdir2 is writable by group or others (mode 0775)"
mkdir -m 755 "$d/safedir"; mk "$d/safedir/p.conf"; ln -s "$d/safedir" "$d/to-safedir"
out=$("$SWEEP" check-config "$d/to-safedir/p.conf" 2>&1)
check "through a symlinked directory, into a safe one: accepted" \
	test "$out" = "$d/to-safedir/p.conf: OK"
mk "$d/notdir"
expect_unsafe "a file where a directory should be" "$d/notdir/p.conf" \
	"directory $d/notdir: Not a directory"

# A syntax error and an unsafe mode at once: both reported.
mk "$d/both.conf"; echo "Frobnicate 1" >>"$d/both.conf"; chmod 666 "$d/both.conf"
"$SWEEP" check-config "$d/both.conf" 2>"$d/err" >/dev/null
check "unsafe mode and syntax error both reported" \
	bash -c "grep -qF '$d/both.conf: file is writable' '$d/err' &&
		grep -qF \"$d/both.conf:3: unknown keyword 'Frobnicate'\" '$d/err'"
finish
