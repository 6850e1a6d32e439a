#!/bin/bash
# A helper killed at its close's deadline cannot wake the closes waiting in the module for
# the sweep lock it held: its module does (release_lead), so that they go on at once, not
# at their next look (2 s). Session A (real PAM stack, cgroup=create, timeout=1) closes
# with nobody sweeping: its module takes the sweep lock and hands it to its helper, a
# stand-in that hangs holding it. Session B (Timeout 2s) closes meanwhile and waits in the
# module. At 1 s A's module kills the helper, lets the lock go and wakes B, which leads:
# ONE real helper sweeps B's file, B's line complete, B's close well inside its Timeout
# (A's record, still queued, it takes too: A's close line says timeout, as before).
# Without the wake B sleeps to its deadline (its look is as long), and its close gives the
# session up: the file stays, B's line says incomplete.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/pam_common.bash"
pam_setup
scratch_user U || skip_all "cannot make a scratch user"
chmod 755 "$T_SCRATCH"
pam_service tsw cgroup=create
pam_service tswa cgroup=create timeout=1
printf 'Timeout 2s\nremove %s/** class=charged,created\n' "$P_SHM" >>"$P_CONF"
check "the policy checks clean" "$SWEEP" check-config "$P_CONF"
printf '#!/bin/sh\necho $$ >>%s/hung\nexec sleep 30\n' "$T_SAFE" >"$P_BIN/hang"
chmod 755 "$P_BIN/hang"
pam_counting_helper
as="setpriv --reuid $U --regid $(id -g "$U") --clear-groups"

P_SERVICE=tswa pam_run hang "$U" item:tty=a open \
	"run:$as dd if=/dev/zero of=$P_SHM/a bs=4k count=1 status=none" \
	timed-close >"$T_SCRATCH/a.out" 2>&1 &
ha=$!
wait_for 10 eval "[ -s '$T_SAFE/hung' ]" || not_ok "A's helper did not start"
at_exit "xargs -r kill -9 <'$T_SAFE/hung'"
check "A's helper holds the sweep lock" eval "! flock -n '$P_STATE/locks/sweep' true"
pam_run counting "$U" item:tty=b open \
	"run:$as dd if=/dev/zero of=$P_SHM/b bs=4k count=1 status=none" \
	timed-close >"$T_SCRATCH/b.out" 2>&1
wait "$ha"
ms=$(kv "$T_SCRATCH/b.out" close_ms)
echo "# B's close: ${ms:-?} ms (A's: $(kv "$T_SCRATCH/a.out" close_ms) ms, its helper killed at 1 s)"
check "both closes returned" \
	test "$(kv "$T_SCRATCH/a.out" close)" = success -a "$(kv "$T_SCRATCH/b.out" close)" = success
check "A's helper was killed at A's deadline" \
	test "$(audit_lines session-close | jq -r 'select(.incomplete) | .reason' | grep -c '^timeout')" -eq 1
check "B waited, then led: one real helper started" test "$(wc -l <"$T_SAFE/execs")" -eq 1
check "B's file is gone" test ! -e "$P_SHM/b"
check "B's file line says removed" \
	test "$(audit_lines file | jq -r 'select(.path | endswith("/b")) | .result')" = removed
sid_b=$(audit_lines file | jq -r 'select(.path | endswith("/b")) | .session')
check "B's session-close line is complete, 1 removed" \
	test "$(audit_lines session-close "$sid_b" | jq -r '"\(.incomplete) \(.removed)"')" = "false 1"
check "B's close ended inside its 2 s Timeout (${ms:-?} ms)" test "${ms:-99999}" -lt 2000
finish
