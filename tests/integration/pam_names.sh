#!/bin/bash
# User names as directory services make them, through a real PAM stack: an sssd-style
# user@domain and a winbind-style DOMAIN\user (passwd entries in a private /etc/passwd,
# bind-mounted where the module and the helper run). Each is recorded (sessions --json
# shows the name), named by the policy (ExemptUsers, Match User, %u) and audited (user
# fields, file lines): the @ user's file is removed by its Match block, %u's file kept by
# rule, the \ user's file kept as an exempt user.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/pam_common.bash"
pam_setup
pam_service tsw cgroup=create timeout=20
n=$(printf '%04x%04x' $RANDOM $RANDOM)
A="tsw$n@corp.example" B="CORP\\tsw$n"
ua=$((20000 + RANDOM % 20000)) ub=$((40000 + RANDOM % 20000))
cp /etc/passwd "$T_SCRATCH/passwd"
printf '%s:x:%s:%s::/nonexistent:/bin/sh\n' "$A" "$ua" "$ua" "$B" "$ub" "$ub" >>"$T_SCRATCH/passwd"
chmod 644 "$T_SCRATCH/passwd"
cat >"$T_SCRATCH/names-host" <<EOF
#!/bin/bash
mount --bind "$T_SCRATCH/passwd" /etc/passwd || exit 1
exec "$P_HOST" "\$@"
EOF
chmod 755 "$T_SCRATCH/names-host" "$T_SCRATCH"
jqt() { local in; in=$(cat); [ -n "$in" ] && jq -e "$@" >/dev/null <<<"$in"; }

cat >"$P_CONF" <<EOF
Watch $P_SHM
StateDir $P_STATE
AuditLog $P_AUDIT
MetricsFile none
ExemptUsers root $B
Match User *@corp.example
keep $P_SHM/%u-*
remove $P_SHM/*.img class=charged,created
Match User CORP\\*
remove $P_SHM/*.img class=charged,created
EOF
check "the policy with both names checks clean" "$SWEEP" check-config "$P_CONF"
"$SWEEP" dump-config "$P_CONF" >"$T_SCRATCH/dump"
check "dump-config keeps both names" eval 'grep -qxF "ExemptUsers root $B" "$T_SCRATCH/dump" &&
	grep -qxF "Match User CORP\\*" "$T_SCRATCH/dump"'

# session USER UID FILE...: USER (by uid) writes each FILE, the records listed while open.
session() {
	local u=$1 id=$2 label=$3 f acts=(); shift 3
	for f in "$@"; do
		acts+=("run:setpriv --reuid $id --regid $id --clear-groups dd if=/dev/zero of=$P_SHM/$f bs=64k count=2 status=none")
	done
	P_HOST=$T_SCRATCH/names-host pam_run tmpfs-sweep "$u" open "${acts[@]}" \
		"run:$SWEEP sessions --json --conf $P_CONF >$T_SCRATCH/$label.sessions" close \
		>"$T_SCRATCH/$label.out" 2>&1
	check "$label: open and close succeed" \
		eval 'grep -qx open=success "$T_SCRATCH/$label.out" && grep -qx close=success "$T_SCRATCH/$label.out"'
}
line() { audit_lines file | jq -c --arg p "$P_SHM/$1" 'select(.path == $p)' | tail -n1; }

session "$A" "$ua" at "a.img" "$A-notes"
check "$A: the record holds the name (sessions --json)" \
	jq_has "$T_SCRATCH/at.sessions" 'select(.user == $u)' --arg u "$A"
check "$A: session-open and session-close name the user" eval \
	'[ "$(jq -r --arg u "$A" "select(.user == \$u) | .event" "$P_AUDIT" | sort | tr "\n" " ")" = "session-close session-open " ]'
echo "# $(line a.img)"
check "$A: a.img removed by the Match User *@corp.example rule" \
	jqt '.result == "removed" and (.rule | startswith("line 8: remove"))' <<<"$(line a.img)"
check "$A: a.img is gone" test ! -e "$P_SHM/a.img"
echo "# $(line "$A-notes")"
check "$A: %u stands for $A: its notes are kept by rule" \
	jqt '.result == "kept" and (.rule | startswith("line 7: keep"))' <<<"$(line "$A-notes")"

session "$B" "$ub" bs "b.img"
check "$B: the record holds the name (sessions --json)" \
	jq_has "$T_SCRATCH/bs.sessions" 'select(.user == $u)' --arg u "$B"
check "$B: session-open names the user (JSON \\\\)" \
	grep -qF "\"user\":\"CORP\\\\tsw$n\"" "$P_AUDIT"
echo "# $(line b.img)"
check "$B: b.img kept, an exempt user named in ExemptUsers" \
	jqt '.result == "kept" and .detail == "exempt user: named in ExemptUsers" and
	     (.rule | startswith("line 10: remove"))' <<<"$(line b.img)"
check "$B: b.img is still there" test -e "$P_SHM/b.img"
check "every audit line is JSON" eval 'json_valid_lines "$P_AUDIT" >/dev/null'
check "no record left" test "$(n_records)" -eq 0
finish
