#!/bin/bash
# Issue 16: the safety gates of a sweep, each through real sessions (pam_host -> module ->
# record -> helper close), each check written so that it fails when its gate breaks
# (tests/mutation/ breaks them one at a time and runs this):
# 1. a capped walk (MaxDepth 3, a small MaxEntries) removes nothing; the lines say
#    `reported` with the cap named, session-close incomplete with the reason;
# 2. the sweep removes with the user's credentials (RemoveAs user: a file in a 555
#    directory stays, "unlink: Permission denied"; RemoveAs root: it goes);
# 3. pages charged to a child cgroup of the session count (charged, removed); another
#    uid doing the same is reported, not removed;
# 5. a parent directory exchanged for another directory of the same tmpfs between walk and
#    unlink: skipped-changed (parent-id), nothing under the other directory touched;
# 6. `remove W/*` never reaches W/a/b;
# a user exempt by the time of the close (kept) and a close --dry-run (reported): the file stays;
# and the direct tests the issue asks for: the hard-link veto (a file with two names is
# reported "hard links" before any remover sees it; a link made after the walk is caught
# by the remover's own nlink re-check), the remover's inode re-check (a name replaced by
# another file of the same user, same birth time) and owner re-check (a file given to
# another user after the walk), RESOLVE_NO_XDEV (a mount laid over a
# directory after the walk: re-check "parent", the mount's file stays), and the audit
# log's nlink check (an AuditLog that is a hard link to another file is not written).
# The pause cases use the TEST_HOOKS build (`make hooks`; TMPFS_SWEEP_TEST_PAUSE_FILE).
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/pam_common.bash"
source "$(dirname "$0")/threat_common.bash"
thr_setup
scratch_user U2
W=$P_SHM
XCHG=$B/tools/thr_exchange
[ -x "$XCHG" ] || skip_all "build first (thr_exchange)"
HS=${HOOKS_SWEEP:-}
[ -n "$HS" ] || [ ! -x "$B/hooks/tmpfs-sweep" ] || HS=$B/hooks/tmpfs-sweep
check "a TEST_HOOKS build of the helper is available (make hooks)" test -n "$HS" -a -x "${HS:-/nonexistent}"

# policy SETTING|RULE...: the scratch policy with these lines (rules last, as given);
# with no rule given, `remove W/** class=charged,created`.
policy() {
	local l rules=0
	printf 'Watch %s\nStateDir %s\nAuditLog %s\nMetricsFile none\n' "$P_SHM" "$P_STATE" "$P_AUDIT" \
		>"$P_CONF.new"
	for l in "$@"; do
		echo "$l" >>"$P_CONF.new"
		case $l in remove* | report* | keep* | defer*) rules=1 ;; esac
	done
	[ $rules = 1 ] || echo "remove $W/** class=charged,created" >>"$P_CONF.new"
	chmod 644 "$P_CONF.new"; mv "$P_CONF.new" "$P_CONF"
}
clean() { chmod -R u+w "$W" 2>/dev/null; rm -rf "${W:?}"/*; }
# u1 CMD: a pam_host run: action running sh -c CMD as the session user
u1() { printf 'run:%s' "$(as "$U1" sh -c "'$1'")"; }
show() { # on failure, what the audit said about this session
	audit_lines file "$SID" | sed 's/^/    /'; closeline | sed 's/^/    /'
}

# --- 1. capped walks remove nothing --------------------------------------------------------
policy "MaxDepth 3"
clean
session "$U1" "$T_SCRATCH/depth.out" "$(u1 "mkdir -p $W/a/b/c/d && echo deep >$W/a/b/c/d/deep && echo top >$W/top")"
check "MaxDepth 3: top is still there" test -e "$W/top"
check "MaxDepth 3: its line says reported, the cap named (depth)" \
	expect_result "$W/top" reported 'incomplete walk \(depth\)'
check "MaxDepth 3: no line says removed" \
	test -z "$(audit_lines file "$SID" | jq -r 'select(.result == "removed") | .path')"
check "MaxDepth 3: session-close incomplete" test "$(cfield incomplete)" = true
check "MaxDepth 3: session-close reason says depth" eval 'cfield reason | grep -q "incomplete: depth"'
[ $T_FAILED = 0 ] || show

policy "MaxEntries 4"
clean
session "$U1" "$T_SCRATCH/entries.out" "$(u1 "for i in 1 2 3 4 5 6 7 8 9; do echo \$i >$W/e\$i; done; echo top >$W/top")"
check "MaxEntries 4: all ten files are still there" test "$(ls "$W" | wc -l)" -eq 10
check "MaxEntries 4: some lines, none removed, each reported with the cap named (entries)" \
	test "$(audit_lines file "$SID" | jq -r 'select(.result == "reported" and (.detail | test("incomplete walk \\(entries\\)")))' | jq -s length)" -ge 1 -a \
	-z "$(audit_lines file "$SID" | jq -r 'select(.result != "reported" or (.detail | test("entries") | not)) | .path')"
check "MaxEntries 4: session-close incomplete, reason entries" \
	eval '[ "$(cfield incomplete)" = true ] && cfield reason | grep -q "incomplete: entries"'

# --- 2. RemoveAs ---------------------------------------------------------------------------
ro_round() { # ro_round HOW: the user leaves W/ro/f, then chmod 555 W/ro
	clean
	session "$U1" "$T_SCRATCH/ro-$1.out" "$(u1 "mkdir $W/ro && echo f >$W/ro/f && chmod 555 $W/ro")"
}
policy
ro_round user
check "RemoveAs user (default): f in the 555 directory stays" test -e "$W/ro/f"
check "RemoveAs user: its line says error, unlink: Permission denied" \
	expect_result "$W/ro/f" error 'unlink: Permission denied'
policy "RemoveAs root"
ro_round root
check "RemoveAs root: f in the 555 directory is gone" test ! -e "$W/ro/f"
check "RemoveAs root: its line says removed" expect_result "$W/ro/f" removed

# --- 3. pages charged to a child cgroup of the session -------------------------------------
policy
clean
MNT=$(memcg_mnt)
if [ "$MNT" = /sys/fs/cgroup/memory ]; then
	rel='$(awk -F: "\$2 ~ /(^|,)memory(,|\$)/ {print \$3}" /proc/self/cgroup)'
else
	rel='$(awk -F: "\$1 == 0 {print \$3}" /proc/self/cgroup)'
fi
# run as root inside the session's cgroup: make a child, enter it, write 4 MiB as USER
kid() { # kid NAME USER FILE
	printf 'run:cg=%s%s/%s; mkdir "$cg" && echo $$ >"$cg/cgroup.procs" && %s' "$MNT" "$rel" "$1" \
		"$(as "$2" dd if=/dev/zero of="$3" bs=1M count=4 status=none)"
}
session "$U1" "$T_SCRATCH/kid.out" "$(kid kid1 "$U1" "$W/big")" "$(kid kid2 "$U2" "$W/big2")"
check "the writers ran in child cgroups of the session (run=0 twice)" test "$(grep -c '^run=0$' "$T_SCRATCH/kid.out")" -eq 2
check "child cgroup, the user's file: class charged" test "$(ffield "$W/big" class)" = charged
check "child cgroup, the user's file: charged_bytes >= 99% of 4 MiB ($(ffield "$W/big" charged_bytes))" \
	test "$(ffield "$W/big" charged_bytes)" -ge 4152360
check "child cgroup, the user's file: removed" eval 'expect_result "$W/big" removed && test ! -e "$W/big"'
check "child cgroup, another uid's file: class charged" test "$(ffield "$W/big2" class)" = charged
check "child cgroup, another uid's file: reported, not removed" \
	eval 'expect_result "$W/big2" reported "owner is not" && test -e "$W/big2"'
[ $T_FAILED = 0 ] || { sed 's/^/    /' "$T_SCRATCH/kid.out"; show; }

# --- 6. a lone * stays in its component ----------------------------------------------------
policy "remove $W/*"
clean
session "$U1" "$T_SCRATCH/star.out" "$(u1 "mkdir $W/a && echo b >$W/a/b && echo top >$W/top")"
check "remove W/*: W/top is removed" eval 'test ! -e "$W/top" && expect_result "$W/top" removed'
check "remove W/*: W/a/b stays" test -e "$W/a/b"
check "remove W/*: W/a/b is not removed by the rule (line: $(ffield "$W/a/b" result), rule $(ffield "$W/a/b" rule))" \
	eval 'expect_result "$W/a/b" reported && test "$(ffield "$W/a/b" rule)" = default'

# --- 5 and the remover's re-checks: changes between the walk and the unlink ----------------
# The pause counts against the helper's Timeout: a loaded machine must not turn the
# removals into "not-run".
policy "Timeout 120s"
clean
# the other directory: a second account's, with a file of the same name, made outside the session
mkdir -m 755 "$W/o" && echo "of-u2" >"$W/o/f" && chown -R "$U2" "$W/o"
sig_o=$(fsig "$W/o/f")
open_only "$U1" "$T_SCRATCH/pause-open.out" \
	"$(u1 "mkdir $W/d $W/x && echo d >$W/d/f && echo x >$W/x/f")" \
	"$(u1 "echo h >$W/h && ln $W/h $W/h2 && echo l >$W/l")" \
	"$(u1 "echo i >$W/i; echo i2 >$W/i2; echo cw >$W/cw")" \
	"$(u1 "dd if=/dev/zero of=$W/ctl bs=4k count=2 status=none")"
check "the paused session was recorded" test -n "$SID"
btimes=$(stat -c %.9W "$W/i" "$W/i2" | sort -u | wc -l)
if [ -n "$HS" ]; then
	pf=$T_SCRATCH/pause
	TMPFS_SWEEP_TEST_PAUSE_FILE=$pf "$HS" close "$SID" --conf "$P_CONF" >"$T_SCRATCH/close.out" 2>&1 &
	cpid=$!
	if wait_for 10 test -e "$pf"; then
		"$XCHG" "$W/d" "$W/o" 1 >/dev/null                  # 5: d <-> the other directory
		run_as "$U1" ln "$W/l" "$W/l2"                       # nlink 1 -> 2 after the walk
		run_as "$U1" mv -f "$W/i2" "$W/i"                    # i replaced, same owner
		chown "$U2" "$W/cw"                                  # the same inode, another owner
		mount -t tmpfs -o size=1m,mode=755 tsw-xdev "$W/x" && # a mount over x (a user's FUSE)
			at_exit "umount -l '$W/x'" && echo mounted >"$W/x/f" && chown "$U1" "$W/x/f"
		rm -f "$pf"
	else
		echo "    the helper never paused"
	fi
	wait $cpid
	echo "    close rc=$?: $(head -c 300 "$T_SCRATCH/close.out")"
fi
check "control: the untouched file was removed" eval 'test ! -e "$W/ctl" && expect_result "$W/ctl" removed'
check "5: d/f (parent exchanged with another dir): skipped-changed, re-check parent-id" \
	expect_result "$W/d/f" skipped-changed '^re-check failed: parent-id$'
check "5: the other directory's file (now at d/f) is untouched" test "$(fsig "$W/d/f")" = "$sig_o"
check "5: the session's own d/f (now at o/f) is still there" test "$(cat "$W/o/f" 2>&1)" = d
check "hard links: h and h2 reported 'hard links' (the veto, before any remover)" \
	eval 'expect_result "$W/h" reported "^hard links$" && expect_result "$W/h2" reported "^hard links$"'
check "hard links: h and h2 both stay" test -e "$W/h" -a -e "$W/h2"
check "a link made after the walk: l skipped-changed, re-check nlink" \
	expect_result "$W/l" skipped-changed '^re-check failed: nlink$'
check "a link made after the walk: l and l2 both stay" test -e "$W/l" -a -e "$W/l2"
echo "    i and i2: $btimes distinct birth time(s) (1: the inode is all that tells them apart)"
check "inode re-check: i (replaced by i2, same owner): skipped-changed, re-check ino" \
	expect_result "$W/i" skipped-changed '^re-check failed: ino$'
check "inode re-check: the replacing file stays" test "$(cat "$W/i" 2>&1)" = i2
check "owner re-check: cw (given to another user after the walk): skipped-changed, re-check uid" \
	eval 'expect_result "$W/cw" skipped-changed "^re-check failed: uid$" && test "$(stat -c %U "$W/cw")" = "$U2"'
check "RESOLVE_NO_XDEV: x/f (a mount laid over x): skipped-changed, re-check parent (EXDEV)" \
	expect_result "$W/x/f" skipped-changed '^re-check failed: parent$'
check "RESOLVE_NO_XDEV: the mount's own f stays" test "$(cat "$W/x/f" 2>&1)" = mounted
check "no audit path outside the mount" \
	test -z "$(audit_lines file "$SID" | jq -r --arg m "$W/" 'select(.path | startswith($m) | not)')"
[ $T_FAILED = 0 ] || show
umount -l "$W/x" 2>/dev/null

# --- exempt at close: kept; a dry run: reported ---------------------------------------------
policy
clean
open_only "$U1" "$T_SCRATCH/ex-open.out" "$(u1 "echo ex >$W/ex")"
policy "ExemptUsers $U1"
"$SWEEP" close "$SID" --conf "$P_CONF" >/dev/null 2>&1
check "a user exempt by the time of the close: the file stays, kept 'exempt user: ...'" \
	eval 'test -e "$W/ex" && expect_result "$W/ex" kept "^exempt user: named in ExemptUsers$"'
policy
clean
open_only "$U1" "$T_SCRATCH/dry-open.out" "$(u1 "echo dr >$W/dr")"
"$SWEEP" close "$SID" --dry-run --conf "$P_CONF" >/dev/null 2>&1
check "close --dry-run: the file stays, reported 'dry run'" \
	eval 'test -e "$W/dr" && expect_result "$W/dr" reported "^dry run$"'
"$SWEEP" close "$SID" --conf "$P_CONF" >/dev/null 2>&1
check "control: the real close after it removes the file" \
	eval 'test ! -e "$W/dr" && test "$(audit_lines file "$SID" | jq -r "select(.path == \"$W/dr\") | .result" | tail -n1)" = removed'

# --- the audit log's nlink check, end to end -----------------------------------------------
clean
adir=$T_SCRATCH/alog
mkdir -m 700 "$adir"
echo precious >"$adir/precious"; chmod 600 "$adir/precious"
ln "$adir/precious" "$adir/audit.jsonl"
sig_p=$(fsig "$adir/precious")
sed "s|^AuditLog .*|AuditLog $adir/audit.jsonl|" "$P_CONF" >"$P_CONF.new" && mv "$P_CONF.new" "$P_CONF"
before=$(ls "$P_STATE/sessions" 2>/dev/null)
pam_run tmpfs-sweep "$U1" open "$(u1 "echo a >$W/al")" >"$T_SCRATCH/al-open.out" 2>&1
sid=$(comm -13 <(printf '%s\n' "$before") <(ls "$P_STATE/sessions" 2>/dev/null) | tail -n1)
check "audit log a hard link: a session recorded" test -n "$sid"
"$SWEEP" close "$sid" --conf "$P_CONF" >"$T_SCRATCH/al.out" 2>"$T_SCRATCH/al.err"
sed 's/^/    helper: /' "$T_SCRATCH/al.err"
check "audit log a hard link: the helper says it is not used" \
	grep -q "audit log $adir/audit.jsonl: Operation not permitted" "$T_SCRATCH/al.err"
check "audit log a hard link: the other name's file is unchanged (nothing appended)" \
	test "$(fsig "$adir/precious")" = "$sig_p"
check "audit log a hard link: the sweep itself still ran (the file removed)" test ! -e "$W/al"
check "every audit line is JSON" eval 'json_valid_lines "$P_AUDIT" >/dev/null'
finish
