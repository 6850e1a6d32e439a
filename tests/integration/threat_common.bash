# threat_common.bash: sourced by tests/integration/threat_*.sh after lib.sh and
# pam_common.bash. A real session through pam_host (module -> record -> helper close),
# one scratch user by default, and shorthands to read one file's audit line.
# shellcheck shell=bash

# thr_setup: the PAM world, user $U1, a session service with a per-session cgroup and
# the module's deadline for the helper of $THR_TIMEOUT seconds.
THR_TIMEOUT=20
thr_setup() {
	pam_setup
	scratch_user U1
	U1_ID=$(id -u "$U1")
	chmod 755 "$T_SCRATCH"
	pam_service tsw cgroup=create timeout=$THR_TIMEOUT
}

# no_stall OUT [SESSION]: the close did not stall: pam_host's close (OUT's close_ms)
# returned before the module's deadline, and the session-close line is the helper's own
# (a helper killed at the deadline leaves only the module's, reason "timeout"). The
# bound is the deadline itself, far beyond an honest close even on a loaded machine.
no_stall() {
	local ms reason
	ms=$(kv "$1" close_ms)
	reason=$(cfield reason "${2:-$SID}")
	if [ "${ms:-999999}" -ge $((THR_TIMEOUT * 1000)) ] || [ "$reason" = timeout ]; then
		echo "    close took ${ms:-?} ms (deadline $THR_TIMEOUT s), reason '$reason'"
		return 1
	fi
}

# as USER CMD...: a shell word list running CMD as USER (for pam_host run:).
as() {
	local u=$1; shift
	printf 'setpriv --reuid %s --regid %s --clear-groups %s' "$u" "$(id -g "$u")" "$*"
}
# run_as USER CMD...: run CMD as USER now (outside any session).
run_as() {
	local u=$1; shift
	setpriv --reuid "$u" --regid "$(id -g "$u")" --clear-groups "$@"
}

# session USER OUT ACTION...: open, the actions, timed close; the new session's id in $SID.
session() {
	local user=$1 out=$2 before; shift 2
	before=$(audit_lines session-open | jq -r .session | sort)
	pam_run tmpfs-sweep "$user" open "$@" timed-close >"$out" 2>&1
	SID=$(comm -13 <(printf '%s\n' "$before") \
		<(audit_lines session-open | jq -r .session | sort) | tail -n1)
}
# open_only USER OUT ACTION...: open and the actions, no close (the record stays).
open_only() {
	local user=$1 out=$2 before; shift 2
	before=$(audit_lines session-open | jq -r .session | sort)
	pam_run tmpfs-sweep "$user" open "$@" >"$out" 2>&1
	SID=$(comm -13 <(printf '%s\n' "$before") \
		<(audit_lines session-open | jq -r .session | sort) | tail -n1)
}

# fline PATH [SESSION]: the file line of PATH (of SESSION, default $SID), compact JSON.
fline() {
	audit_lines file "${2:-$SID}" | jq -c --arg p "$1" 'select(.path == $p)'
}
# ffield PATH FIELD [SESSION]: one field of that line ("" when there is no line).
ffield() {
	fline "$1" "${3:-$SID}" | jq -r --arg f "$2" '.[$f] // empty' | head -n1
}
# closeline [SESSION]: the session-close line.
closeline() { audit_lines session-close "${1:-$SID}"; }
# cfield FIELD [SESSION]
cfield() { closeline "${2:-$SID}" | jq -r --arg f "$1" '.[$f] | tostring' | head -n1; }

# expect_result PATH RESULT [DETAIL-REGEX]: the audit line of PATH says RESULT (and detail).
expect_result() {
	local p=$1 want=$2 det=${3:-} got gd
	got=$(ffield "$p" result)
	gd=$(ffield "$p" detail)
	if [ "$got" != "$want" ]; then
		echo "    $p: result '$got', want '$want' (detail '$gd')"
		return 1
	fi
	if [ -n "$det" ] && ! grep -Eq -- "$det" <<<"$gd"; then
		echo "    $p: detail '$gd' does not match /$det/"
		return 1
	fi
}

# fsig PATH: what must not change about a file (type, mode, owner, size, inode, content hash).
fsig() {
	if [ -f "$1" ] && [ ! -L "$1" ]; then
		echo "$(stat -c '%F %a %u:%g %s %i %h' "$1") $(sha256sum <"$1" | cut -c1-16)"
	else
		stat -c '%F %a %u:%g %s %i %h' "$1" 2>&1
	fi
}

# hooks_world TIMEOUT: $HS, the hooks build of the helper (tools/hooks: kill points and
# pauses), and a policy removing the session's created or charged files in $P_SHM, with
# Timeout TIMEOUT.
hooks_world() {
	HS=$B/hooks/tmpfs-sweep
	[ -x "$HS" ] || skip_all "build the hooks helper first (make hooks)"
	printf 'Watch %s\nStateDir %s\nAuditLog %s\nMetricsFile none\nTimeout %s\n' \
		"$P_SHM" "$P_STATE" "$P_AUDIT" "$1" >"$P_CONF"
	printf 'remove %s/** class=charged,created\n' "$P_SHM" >>"$P_CONF"
}
