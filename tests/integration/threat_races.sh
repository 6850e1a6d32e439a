#!/bin/bash
# THREATS.md 2, 3 and 10 through real sessions (pam_host -> module -> record), with a
# policy that removes what the session created:
# 2. a directory on the path swapped for a symlink to an outside directory (plain rename,
#    and renameat2 RENAME_EXCHANGE) between the walk and the removal: the outside files
#    survive, the entry is logged skipped-changed. Timed exactly with the TEST_HOOKS pause
#    (a private hooks build of the helper runs the close); then the same without the hook,
#    an exchange loop running during a normal PAM close: nothing outside is touched.
# 3. a file removed and recreated (by a second account, and by the user) between scan and
#    removal: the new file survives, skipped-changed. Both with RemoveAs user and root.
# 10. a file truncated and rewritten in a loop during the close: no crash, a clean result.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/pam_common.bash"
source "$(dirname "$0")/threat_common.bash"
thr_setup
scratch_user U2
XCHG=$B/tools/thr_exchange
[ -x "$XCHG" ] || skip_all "build first (thr_exchange)"
user_copy XCHG "$XCHG" || skip_all "cannot copy thr_exchange" # run as the user

# The pause hook needs a TEST_HOOKS build: a private one unless HOOKS_SWEEP names one.
HS=${HOOKS_SWEEP:-}
# make check builds one with `make hooks`
[ -n "$HS" ] || [ ! -x "$B/hooks/tmpfs-sweep" ] || HS=$B/hooks/tmpfs-sweep
if [ -z "$HS" ]; then
	HS=$T_SCRATCH/bh/tmpfs-sweep
	make -s -C "$TOP" -j2 B="$T_SCRATCH/bh" TEST_HOOKS=1 "$HS" >"$T_SCRATCH/make.log" 2>&1 ||
		{ cat "$T_SCRATCH/make.log"; HS=; }
fi
check "a TEST_HOOKS build of the helper is available" test -n "$HS" -a -x "${HS:-/nonexistent}"

policy() { # policy [SETTING LINES...]
	printf 'Watch %s\nStateDir %s\nAuditLog %s\nMetricsFile none\n' "$P_SHM" "$P_STATE" "$P_AUDIT" >"$P_CONF.new"
	for l in "$@"; do echo "$l" >>"$P_CONF.new"; done
	echo "remove $P_SHM/** class=charged,created" >>"$P_CONF.new"
	chmod 644 "$P_CONF.new"; mv "$P_CONF.new" "$P_CONF"
}

# paused_close SCRIPT: run the hooks helper's close of $SID, and SCRIPT (bash, as root)
# while it is paused between its walk and its removal.
paused_close() {
	local pf=$T_SCRATCH/pause.$RANDOM rc
	rm -f "$pf"
	TMPFS_SWEEP_TEST_PAUSE_FILE=$pf "$HS" close "$SID" --conf "$P_CONF" \
		>"$T_SCRATCH/close.out" 2>&1 &
	local pid=$!
	if wait_for 10 test -e "$pf"; then
		bash -c "$1"
		rm -f "$pf"
	else
		echo "    the helper never paused"
	fi
	wait "$pid"; rc=$?
	echo "    close rc=$rc: $(head -c 300 "$T_SCRATCH/close.out")"
}

victim=$T_SCRATCH/victim
race_round() { # race_round REMOVEAS
	local how=$1
	policy "RemoveAs $how" "Timeout 120s" # the pause counts against the deadline
	rm -rf "$victim" "${P_SHM:?}"/*
	# Outside the mount: a directory anyone may write, holding files of the user with the
	# names the session's files have: only a followed symlink could reach them.
	mkdir -m 777 "$victim"
	for f in f g; do run_as "$U1" sh -c "echo outside-$f >$victim/$f"; done
	open_only "$U1" "$T_SCRATCH/open-$how.out" \
		"run:$(as "$U1" sh -c "'mkdir -m 777 $P_SHM/d1 $P_SHM/d2 $P_SHM/r && chmod 777 $P_SHM/r'")" \
		"run:$(as "$U1" sh -c "'for d in d1 d2; do echo in-\$d >$P_SHM/\$d/f; done'")" \
		"run:$(as "$U1" ln -s "$victim" "$P_SHM/e2")" \
		"run:$(as "$U1" sh -c "'echo orig-f >$P_SHM/r/f; echo orig-g >$P_SHM/r/g'")" \
		"run:$(as "$U1" dd if=/dev/zero of="$P_SHM/ctl" bs=4k count=4 status=none)"
	check "[$how] the session was recorded" test -n "$SID" -a "$(n_records)" -ge 1
	[ -n "$HS" ] || return
	paused_close "
		set -e
		# 2: d1 renamed away and replaced by a symlink to the victim dir
		$(as "$U1" mv "$P_SHM/d1" "$P_SHM/d1.away")
		$(as "$U1" ln -s "$victim" "$P_SHM/d1")
		# 2: d2 and the symlink e2 exchanged in one step
		$(as "$U1" "$XCHG" "$P_SHM/d2" "$P_SHM/e2" 1) >/dev/null
		# 3: r/f removed by the user, recreated by the second account
		$(as "$U1" rm "$P_SHM/r/f")
		$(as "$U2" sh -c "'echo by-u2 >$P_SHM/r/f'")
		# 3: r/g removed and recreated by the user itself (a new inode)
		$(as "$U1" rm "$P_SHM/r/g")
		$(as "$U1" sh -c "'echo new-g >$P_SHM/r/g'")"
	check "[$how] the victim files outside the mount survive, unchanged" \
		test "$(cat "$victim/f" "$victim/g" 2>&1)" = "outside-f
outside-g"
	check "[$how] the swapped-away directory's file is still there" \
		test "$(cat "$P_SHM/d1.away/f" 2>&1)" = in-d1
	check "[$how] the exchanged directory's file is still there (now under e2)" \
		test "$(cat "$P_SHM/e2/f" 2>&1)" = in-d2
	check "[$how] d1/f (parent swapped for a symlink): skipped-changed" \
		expect_result "$P_SHM/d1/f" skipped-changed
	check "[$how] d2/f (parent exchanged with a symlink): skipped-changed" \
		expect_result "$P_SHM/d2/f" skipped-changed
	check "[$how] the second account's new r/f survives, owned by it" \
		test "$(cat "$P_SHM/r/f" 2>&1) $(stat -c %U "$P_SHM/r/f" 2>&1)" = "by-u2 $U2"
	check "[$how] r/f: skipped-changed" expect_result "$P_SHM/r/f" skipped-changed
	check "[$how] the user's recreated r/g survives" test "$(cat "$P_SHM/r/g" 2>&1)" = new-g
	check "[$how] r/g: skipped-changed" expect_result "$P_SHM/r/g" skipped-changed
	check "[$how] the untouched control file was removed (the policy removes)" \
		eval 'test ! -e "$P_SHM/ctl" && expect_result "$P_SHM/ctl" removed'
	check "[$how] no audit path outside the mount" \
		test -z "$(audit_lines file "$SID" | jq -r --arg m "$P_SHM/" 'select(.path | startswith($m) | not)')"
	check "[$how] a session-close line" test -n "$(closeline)"
}
race_round user
race_round root

# 2 without the hook: an exchange loop between a directory of the session and a symlink to
# the victim directory runs during a normal PAM close.
policy
rm -rf "$victim" "${P_SHM:?}"/*
mkdir -m 777 "$victim"
for i in $(seq 1 200); do echo "v$i" >"$victim/f$i"; done
chown -R "$U1" "$victim"
sums_before=$(cd "$victim" && sha256sum f* | sha256sum)
session "$U1" "$T_SCRATCH/loop.out" \
	"run:$(as "$U1" sh -c "'mkdir $P_SHM/x; for i in \$(seq 1 200); do echo x\$i >$P_SHM/x/f\$i; done'")" \
	"run:$(as "$U1" ln -s "$victim" "$P_SHM/y")" \
	"run:$(as "$U1" "$XCHG" "$P_SHM/x" "$P_SHM/y") >$T_SCRATCH/xchg.n & echo \$! >$T_SCRATCH/xchg.pid; sleep 0.2"
kill -TERM "$(cat "$T_SCRATCH/xchg.pid")" 2>/dev/null; sleep 0.2
echo "    exchanges during the close: $(cat "$T_SCRATCH/xchg.n" 2>/dev/null)"
check "exchange loop: the close finished (close=success)" grep -qx close=success "$T_SCRATCH/loop.out"
check "exchange loop: the exchanges really ran" test "$(cat "$T_SCRATCH/xchg.n" 2>/dev/null || echo 0)" -gt 100
check "exchange loop: the 200 victim files outside are all there, unchanged" \
	test "$(cd "$victim" && sha256sum f* 2>/dev/null | sha256sum)" = "$sums_before"
check "exchange loop: a session-close line" test -n "$(closeline)"
check "exchange loop: no audit path outside the mount" \
	test -z "$(audit_lines file "$SID" | jq -r --arg m "$P_SHM/" 'select(.path | startswith($m) | not)')"
# BUG: lib/remove.c (the child's re-check, then unlinkat) / lib/sweep.c remove_pending():
# when the entry is exchanged between the child's statx re-check and its unlinkat, the kernel
# refuses (a directory became a symlink: ENOTDIR) and the audit says result "error", detail
# "unlink: Not a directory", instead of "skipped-changed" (THREATS.md 2). Nothing wrong is
# removed; only the word is wrong. Seen about 1 run in 3 here.
# A directory of the session whose files were (rightly) skipped is not empty, so it stays:
# "kept", "directory not empty" is the one other honest answer (seen under ASan's pace).
check "exchange loop: every result is removed or skipped-changed (or a non-empty directory kept)" \
	test -z "$(audit_lines file "$SID" | jq -r 'select(.result != "removed" and .result != "skipped-changed" and .result != "reported" and (.result != "kept" or .detail != "directory not empty")) | .path')"
echo "    results: $(audit_lines file "$SID" | jq -r .result | sort | uniq -c | tr -s ' \n' ' ')"
audit_lines file "$SID" | jq -c 'select(.result != "removed" and .result != "skipped-changed")' | sed 's/^/    /'

# 10: a file truncated and rewritten in a loop by the user during the close.
rm -rf "${P_SHM:?}"/*
cat >"$T_SCRATCH/churn.py" <<'PY'
import os, sys, time
p = sys.argv[1]
fd = os.open(p, os.O_RDWR | os.O_CREAT, 0o600)
block = b"x" * (1 << 20)
for i in range(32):
    os.pwrite(fd, block, i << 20)
if os.fork():
    os._exit(0)
end = time.time() + 8
while time.time() < end:
    os.ftruncate(fd, 0)
    for i in range(32):
        os.pwrite(fd, block, i << 20)
PY
session "$U1" "$T_SCRATCH/trunc.out" \
	"run:$(as "$U1" /usr/bin/python3 "$T_SCRATCH/churn.py" "$P_SHM/churn")" "run:sleep 0.3"
check "truncation: the close finished" grep -qx close=success "$T_SCRATCH/trunc.out"
check "truncation: a session-close line (the helper did not crash)" test -n "$(closeline)"
r=$(ffield "$P_SHM/churn" result)
check "truncation: a clean result for the churned file ($r)" \
	eval 'case "$r" in removed|skipped-changed|skipped-in-use) true ;; *) false ;; esac'
[ -n "$r" ] || { sed 's/^/    /' "$T_SCRATCH/trunc.out"; audit_lines file "$SID" | sed 's/^/    /'; closeline | sed 's/^/    /'; }
check "every audit line is JSON" eval 'json_valid_lines "$P_AUDIT" >/dev/null'
finish
