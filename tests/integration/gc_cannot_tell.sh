#!/bin/bash
# OtherSessions defer when the sweep cannot tell whether the user has another session: a
# record in the state dir that cannot be read, whose process is alive, may be anyone's.
# The close defers the session's files (audited "deferred", detail and session-close
# reason "cannot tell ..."), keeps its record; gc leaves it while it still cannot tell, and
# says so; once the unreadable record is gone, gc sweeps the session.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/pam_common.bash"
pam_setup
scratch_user U
pam_service tsw timeout=20
cat >>"$P_CONF" <<EOF
OtherSessions defer
remove $P_SHM/** class=charged,created
EOF
as() { printf 'setpriv --reuid %s --regid %s --clear-groups %s' "$U" "$(id -g "$U")" "$*"; }
# Unreadable (cut short), of this boot, named after a live process: this shell.
bad=$$-$(date +%s%N)
pam_run tmpfs-sweep "$U" open \
	"run:$(as dd if=/dev/zero of="$P_SHM/f1" bs=4k count=1 status=none)" \
	"run:printf 'version=1\\nid=' >$P_STATE/sessions/$bad; chmod 600 $P_STATE/sessions/$bad" \
	close >"$T_SCRATCH/pam.out" 2>&1
check "the session opened and closed" eval "grep -qx open=success '$T_SCRATCH/pam.out' &&
	grep -qx close=success '$T_SCRATCH/pam.out' && ! grep -v '^run=0' '$T_SCRATCH/pam.out' | grep -q '^run='"
sid=$(audit_lines session-open | jq -r .session | head -n1)
check "the file is still there" test -e "$P_SHM/f1"
check "the file is audited deferred: cannot tell" jq_has "$P_AUDIT" \
	'select(.event == "file" and .session == $s and .path == $p and .result == "deferred" and
		.detail == "cannot tell whether another session of the user is alive")' \
	--arg s "$sid" --arg p "$P_SHM/f1"
check "the session-close line says so" jq_has "$P_AUDIT" \
	'select(.event == "session-close" and .session == $s and .deferred == 1 and
		(.reason | contains("deferred: cannot tell whether another session")))' --arg s "$sid"
check "the record is kept, deferred" grep -qx 'state=deferred' "$P_STATE/sessions/$sid"

"$SWEEP" gc --conf "$P_CONF" >"$T_SCRATCH/gc1.out" 2>"$T_SCRATCH/gc1.err"
check "gc leaves it while it cannot tell" eval "test -e '$P_SHM/f1' && test -e '$P_STATE/sessions/$sid' &&
	! grep -q '$sid' '$T_SCRATCH/gc1.out'"
check "gc says why" grep -q "session $sid: cannot tell whether $U has another session" \
	"$T_SCRATCH/gc1.err"

rm -f "$P_STATE/sessions/$bad"
"$SWEEP" gc --conf "$P_CONF" >"$T_SCRATCH/gc2.out" 2>&1
sed 's/^/    gc: /' "$T_SCRATCH/gc2.out"
check "once it can tell, gc sweeps the session" eval "! test -e '$P_SHM/f1' &&
	! test -e '$P_STATE/sessions/$sid'"
check "the file is audited removed by gc" jq_has "$P_AUDIT" \
	'select(.event == "file" and .session == $s and .path == $p and .result == "removed")' \
	--arg s "$sid" --arg p "$P_SHM/f1"
[ "$T_FAILED" = 0 ] || { cat "$T_SCRATCH/pam.out" "$T_SCRATCH/gc1.err"; jq -c . "$P_AUDIT"; } | sed 's/^/    /'
finish
