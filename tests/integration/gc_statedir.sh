#!/bin/bash
# Trouble with the module's own storage never fails a login or hangs a logout.
# 1. StateDir on a FULL tmpfs at open: with the module `required` in the stack, a pam_host
#    open returns success or ignore (never an error), and a real sshd login still runs its
#    command; the module says so in syslog (pam_wrapper's log: "cannot write session
#    record"), leaves no partial record and no session cgroup behind.
# 2. The AuditLog's directory on a read-only tmpfs: a pam_host close returns before the
#    module's deadline (the helper was not killed there), the files are still removed per
#    policy, the helper run by hand says on stderr that the audit log failed and finishes
#    by itself (no hang: a harness timeout far beyond its Timeout never fires), and the
#    module's syslog line says so under sshd.
. "$(dirname "$0")/../sshd.sh"
private_root_enter "$@"
. "$(dirname "$0")/../lib.sh"
need_root
sshd_available || skip_all "sshd, ssh or pam_wrapper missing"
private_root_overlay || skip_all "no overlayfs"
private_root_install
. "$(dirname "$0")/pam_common.bash"
pam_setup
scratch_user u
chmod 755 "$T_SCRATCH"
as() { printf 'setpriv --reuid %s --regid %s --clear-groups %s' "$u" "$(id -g "$u")" "$*"; }

# --- 1. StateDir on a full tmpfs ---------------------------------------------------------
scratch_tmpfs full 256k
dd if=/dev/zero of="$full/fill" bs=4k status=none 2>/dev/null
check "the StateDir tmpfs is full" eval "! dd if=/dev/zero of='$full/probe' bs=4k count=1 status=none 2>/dev/null"
rm -f "$full/probe"
conf_full=/etc/security/tsw-full.conf
printf 'Watch %s\nStateDir %s\nAuditLog %s\nMetricsFile none\nremove %s/** class=charged,created\n' \
	"$P_SHM" "$full" "$P_AUDIT" "$P_SHM" >"$conf_full"
chmod 644 "$conf_full"
check "the full-StateDir policy checks clean" "$SWEEP" check-config "$conf_full"
# pam_permit first: a stack whose every module says PAM_IGNORE fails (libpam's default),
# so the module's own answer shows as: success or ignore -> open=success, error -> error.
printf 'session required %s\nsession required %s conf=%s cgroup=create timeout=5\n' \
	"$PAM_MODDIR/pam_permit.so" "$P_MOD" "$conf_full" >"$P_PAMD/tsw"

pam_run tmpfs-sweep "$u" open "run:$(as dd if=/dev/zero of="$P_SHM/f1" bs=4k count=1 status=none)" \
	close >"$T_SCRATCH/full.out" 2>"$T_SCRATCH/full.err"
st=$?
check "pam_host ran to the end (status $st)" test "$st" -eq 0
sed "s/^/    host: /" "$T_SCRATCH/full.out" "$T_SCRATCH/full.err"
check "open succeeded: the module said success or ignore, never an error" \
	grep -qx open=success "$T_SCRATCH/full.out"
check "close succeeded" grep -qx close=success "$T_SCRATCH/full.out"
check "the session ran its command" grep -qx run=0 "$T_SCRATCH/full.out"
check "no record (nor a partial one) in the full StateDir" \
	test -z "$(find "$full" -mindepth 1 ! -name fill ! -type d)"
# session cgroups: directories below tmpfs-sweep/
check "no session cgroup left behind" \
	test -z "$(find "$P_CG/tmpfs-sweep" -mindepth 1 -type d 2>/dev/null)"

sshd_start_stack "$(sshd_default_stack "session required $PAM_MODDIR/pam_tmpfs_sweep.so conf=$conf_full cgroup=create")"
sshd_user_key "$u"
sshd_ssh "$u" "echo logged-in" >"$T_SCRATCH/ssh1.out" 2>"$T_SCRATCH/ssh1.err"
st=$?
check "an sshd login with the module required still succeeds (ssh status $st)" \
	eval "[ $st -eq 0 ] && grep -qx logged-in '$T_SCRATCH/ssh1.out'"
check "the logout finished" sshd_wait_closed 15
check "the module said so in syslog: cannot write session record in the StateDir" \
	grep -qE "SYSLOG\(.*\).*cannot write session record in \"$full\"" "$SSHD_PAMLOG"
check "still no record in the full StateDir" test -z "$(find "$full" -mindepth 1 ! -name fill ! -type d)"
check "no session cgroup left behind by sshd's session" \
	test -z "$(find "$SSHD_MEMCG/tmpfs-sweep" -mindepth 1 -type d 2>/dev/null)"

# --- 2. The audit directory read-only ----------------------------------------------------
scratch_tmpfs ro 1m
mkdir -m 700 "$ro/audit"
mount -o remount,ro "$ro"
check "the audit tmpfs is read-only" eval "! touch '$ro/audit/x' 2>/dev/null"
rstate=$T_SCRATCH/rstate
conf_ro=/etc/security/tsw-ro.conf
printf 'Watch %s\nStateDir %s\nAuditLog %s\nMetricsFile none\nTimeout 2s\nremove %s/** class=charged,created\n' \
	"$P_SHM" "$rstate" "$ro/audit/audit.jsonl" "$P_SHM" >"$conf_ro"
chmod 644 "$conf_ro"
check "the read-only-audit policy checks clean" "$SWEEP" check-config "$conf_ro"
# The module's deadline, far beyond an honest close (well under 1 s, a few s on a loaded
# machine): a close that reaches it was a helper hung on the read-only audit log.
TIMEOUT=20
echo "session required $P_MOD conf=$conf_ro cgroup=create timeout=$TIMEOUT" >"$P_PAMD/tsw"

pam_run tmpfs-sweep "$u" open \
	"run:$(as dd if=/dev/zero of="$P_SHM/r1" bs=64k count=2 status=none)" \
	"run:$(as dd if=/dev/zero of="$P_SHM/r2" bs=4k count=1 status=none)" \
	timed-close >"$T_SCRATCH/ro.out" 2>&1
ms=$(kv "$T_SCRATCH/ro.out" close_ms)
echo "# close with the audit log on a read-only fs: ${ms:-?} ms (deadline ${TIMEOUT} s)"
check "open succeeded" grep -qx open=success "$T_SCRATCH/ro.out"
check "close succeeded" grep -qx close=success "$T_SCRATCH/ro.out"
check "close returned before its deadline (${ms:-?} ms < $((TIMEOUT * 1000)) ms)" \
	test "${ms:-999999}" -lt $((TIMEOUT * 1000))
check "the files were removed per policy" test ! -e "$P_SHM/r1" -a ! -e "$P_SHM/r2"
check "the record is gone" test -z "$(ls -A "$rstate/sessions" 2>/dev/null)"
check "nothing was written on the read-only fs" test -z "$(ls -A "$ro/audit")"

# The helper by hand, to see what it says: an orphaned session (the host exits without
# close), then `close ID` with its stderr.
pam_run tmpfs-sweep "$u" open "run:$(as dd if=/dev/zero of="$P_SHM/r3" bs=4k count=2 status=none)" \
	>"$T_SCRATCH/ro2.out" 2>&1
sid=$(ls "$rstate/sessions" 2>/dev/null | head -n1)
check "an orphaned session recorded" test -n "$sid"
t0=$(date +%s%N)
timeout 60 "$SWEEP" close "$sid" --conf "$conf_ro" >"$T_SCRATCH/helper.out" \
	2>"$T_SCRATCH/helper.err"
st=$?
t1=$(date +%s%N)
sed 's/^/    helper: /' "$T_SCRATCH/helper.err"
echo "# the helper's close: $(((t1 - t0) / 1000000)) ms, status $st"
check "the helper says the audit log failed" \
	grep -qiE "audit.*$ro/audit/audit.jsonl.*(read-only|journal only)" "$T_SCRATCH/helper.err"
check "the helper still removed the file" test ! -e "$P_SHM/r3"
check "the helper finished by itself (status $st; 124: still running after 60 s, Timeout 2 s)" \
	test "$st" -ne 124
check "and removed the record" test ! -e "$rstate/sessions/$sid"

# The same with the audit directory made immutable (chattr +i) on a writable tmpfs.
scratch_tmpfs imm 1m
mkdir -m 700 "$imm/audit"
if chattr +i "$imm/audit" 2>/dev/null; then
	at_exit "chattr -i '$imm/audit'"
	conf_imm=/etc/security/tsw-imm.conf
	sed "s|^AuditLog .*|AuditLog $imm/audit/audit.jsonl|" "$conf_ro" >"$conf_imm"
	chmod 644 "$conf_imm"
	pam_run tmpfs-sweep "$u" open \
		"run:$(as dd if=/dev/zero of="$P_SHM/i1" bs=4k count=2 status=none)" >/dev/null 2>&1
	sid=$(ls "$rstate/sessions" 2>/dev/null | head -n1)
	timeout 60 "$SWEEP" close "$sid" --conf "$conf_imm" >/dev/null 2>"$T_SCRATCH/helper-imm.err"
	st=$?
	sed 's/^/    helper: /' "$T_SCRATCH/helper-imm.err"
	check "immutable audit dir: the helper says the audit log failed" \
		grep -qiE "audit.*$imm/audit/audit.jsonl.*(not permitted|journal only)" "$T_SCRATCH/helper-imm.err"
	check "immutable audit dir: the file was removed, the record too, no hang (status $st)" \
		eval "[ ! -e '$P_SHM/i1' ] && [ -n '$sid' ] && [ ! -e '$rstate/sessions/$sid' ] &&
		      [ $st -ne 124 ]"
else
	echo "# chattr +i not supported on tmpfs here: immutable variant skipped"
fi

# The module's syslog line under sshd.
sshd_set_stack "$(sshd_default_stack "session required $PAM_MODDIR/pam_tmpfs_sweep.so conf=$conf_ro cgroup=create timeout=$TIMEOUT")"
n0=$(wc -l <"$SSHD_PAMLOG")
sshd_ssh "$u" "dd if=/dev/zero of=$P_SHM/s1 bs=4k count=4 status=none && echo ok" \
	>"$T_SCRATCH/ssh2.out" 2>"$T_SCRATCH/ssh2.err"
st=$?
check "an sshd login with the audit log read-only succeeds (status $st)" grep -qx ok "$T_SCRATCH/ssh2.out"
check "the logout finished" sshd_wait_closed 15
check "the file was removed" test ! -e "$P_SHM/s1"
check "the module said in syslog that the audit log failed" \
	eval "tail -n +$((n0 + 1)) '$SSHD_PAMLOG' | grep -qE 'SYSLOG\(.*\).*cannot write audit log \"$ro/audit/audit.jsonl\"'"
finish
