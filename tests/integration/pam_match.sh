#!/bin/bash
# Match blocks through real PAM sessions (cgroup=create), each criterion shown by a pair
# of sessions, one in the block's scope and one out of it, with the same kind of file:
# Group (a member and a non-member), Service (service a and b: Linux-PAM lowercases the
# name, the pattern compares without case), User with a negation (*,!U2), RHost. The
# block's remove rule removes the file of the session in scope; the other one's is only
# reported. A bad Match line is a FILE:LINE error and the run is report-only.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/pam_common.bash"
pam_setup
scratch_user U1
scratch_user U2
G=tsw-g$(printf '%04x%04x' $RANDOM $RANDOM)
for _ in 1 2 3 4 5 6 7 8 9 10; do groupadd "$G" 2>/dev/null && break; sleep 0.$RANDOM; done
at_exit "groupdel '$G'"
for _ in 1 2 3 4 5 6 7 8 9 10; do usermod -aG "$G" "$U1" 2>/dev/null && break; sleep 0.$RANDOM; done
check "scratch group $G has $U1, not $U2" \
	eval 'id -nG "$U1" | grep -qw "$G" && ! id -nG "$U2" | grep -qw "$G"'
chmod 755 "$T_SCRATCH"
for s in tsw tsw-a tsw-b; do pam_service "$s" cgroup=create timeout=20; done

as() { local u=$1; shift; printf 'setpriv --reuid %s --regid %s --init-groups %s' "$u" "$(id -g "$u")" "$*"; }
# sess LABEL USER FILE [PAM_HOST ACTIONS BEFORE open...]: USER writes FILE in a session.
sess() {
	local label=$1 u=$2 f=$3; shift 3
	pam_run tmpfs-sweep "$u" "$@" open \
		"run:$(as "$u" dd if=/dev/zero of="$P_SHM/$f" bs=64k count=4 status=none)" \
		close >"$T_SCRATCH/$label.out" 2>&1
	grep -qx 'close=success' "$T_SCRATCH/$label.out" || not_ok "$label: session did not close"
}
# jqt FILTER...: jq -e on stdin, which must not be empty.
jqt() { local in; in=$(cat); [ -n "$in" ] && jq -e "$@" >/dev/null <<<"$in"; }
# line FILE: the file line of FILE (the last one).
line() { audit_lines file | jq -c --arg p "$P_SHM/$1" 'select(.path == $p)' | tail -n1; }
# pair CRITERION IN-FILE OUT-FILE RULE-LINE: IN-FILE removed by the block's rule, OUT-FILE
# reported by default, and each still there / gone.
pair() {
	local in out
	in=$(line "$2") out=$(line "$3")
	echo "# in:  $in"
	echo "# out: $out"
	check "$1: in scope, $2 removed by the block's rule (line $4)" \
		jqt --arg r "line $4: remove" '.result == "removed" and .class == "charged" and
		       (.rule | startswith($r))' <<<"$in"
	check "$1: in scope, $2 is gone" test ! -e "$P_SHM/$2"
	check "$1: out of scope, $3 reported by the default" \
		jqt '.result == "reported" and .rule == "default" and .class == "charged"' <<<"$out"
	check "$1: out of scope, $3 is still there" test -e "$P_SHM/$3"
}

cat >"$P_CONF" <<EOF
Watch $P_SHM
StateDir $P_STATE
AuditLog $P_AUDIT
MetricsFile none
OtherSessions proceed
Match Group $G
remove $P_SHM/group-* class=charged,created
Match Service TSW-A
remove $P_SHM/svc-* class=charged,created
Match User *,!$U2
remove $P_SHM/user-* class=charged,created
Match RHost 192.0.2.*,*.example.org
remove $P_SHM/rhost-* class=charged,created
Match all
EOF
check "the policy checks clean" "$SWEEP" check-config "$P_CONF"

sess group-in "$U1" group-1
sess group-out "$U2" group-2
pair "Match Group" group-1 group-2 7

P_SERVICE=TSW-A sess svc-in "$U2" svc-a
P_SERVICE=tsw-b sess svc-out "$U2" svc-b
pair "Match Service" svc-a svc-b 9
check "Match Service: PAM lowercased the service the host gave as TSW-A" jq_has "$P_AUDIT" \
	'select(.event == "session-open" and .service == "tsw-a")'

sess user-in "$U1" user-1
sess user-out "$U2" user-2
pair "Match User *,!U2" user-1 user-2 11

sess rhost-in "$U2" rhost-1 item:rhost=192.0.2.7
sess rhost-out "$U2" rhost-2 item:rhost=198.51.100.7
pair "Match RHost" rhost-1 rhost-2 13
check "every audit line is JSON" eval 'json_valid_lines "$P_AUDIT" >/dev/null'

# A bad Match line: FILE:LINE from check-config, and a run that removes nothing. A rejected
# policy runs with the defaults (Watch /dev/shm ..., AuditLog /var/log/tmpfs-sweep/audit.jsonl,
# StateDir /run/tmpfs-sweep, MetricsFile /var/lib/prometheus/...): that session runs where
# /run, /var/log, /dev/shm and /var/lib/prometheus are private tmpfs mounts, the policy copied back to its path; its audit log and what is left
# in /dev/shm are copied out at the end.
cat >"$P_CONF" <<EOF
Watch /dev/shm
StateDir $P_STATE
AuditLog $P_AUDIT
MetricsFile none
Match User $U1 Host 192.0.2.7
remove /dev/shm/user-* class=charged,created
EOF
"$SWEEP" check-config "$P_CONF" >"$T_SCRATCH/check.out" 2>&1
rc=$?
sed 's/^/#   /' "$T_SCRATCH/check.out"
check "check-config: a bad Match line fails" test "$rc" -eq 1
check "check-config: FILE:LINE of the bad Match line" \
	grep -qxF "$P_CONF:5: Match: unknown criterion 'Host' (User, Group, Service, RHost, Unit or all)" \
	"$T_SCRATCH/check.out"
cat >"$T_SCRATCH/private-host" <<EOF
#!/bin/bash
cp "$P_CONF" "$T_SCRATCH/bad.conf"
mount -t tmpfs -o mode=755 tsw-run /run && mount -t tmpfs -o mode=755 tsw-log /var/log &&
	mount -t tmpfs -o mode=1777,size=16m tsw-shm /dev/shm || exit 1
# the default MetricsFile is below it: never the host's
if [ -d /var/lib/prometheus ]; then mount -t tmpfs -o mode=755 tsw-prom /var/lib/prometheus || exit 1; fi
mkdir -p -m 755 "$(dirname "$P_CONF")" && cp "$T_SCRATCH/bad.conf" "$P_CONF"
"$P_HOST" "\$@"
rc=\$?
cp /var/log/tmpfs-sweep/audit.jsonl "$T_SCRATCH/bad-audit.jsonl"
ls -A /dev/shm >"$T_SCRATCH/bad-shm.list"
exit \$rc
EOF
chmod 755 "$T_SCRATCH/private-host"
P_HOST=$T_SCRATCH/private-host pam_run tmpfs-sweep "$U1" open \
	"run:$(as "$U1" dd if=/dev/zero of=/dev/shm/user-3 bs=64k count=4 status=none)" close \
	>"$T_SCRATCH/bad.out" 2>&1
bad=$(jq -c 'select(.path == "/dev/shm/user-3")' "$T_SCRATCH/bad-audit.jsonl")
echo "# $bad"
check "bad policy: the file that the rule names is only reported" \
	jqt '.result == "reported" and .action == "report" and .class == "charged"' <<<"$bad"
check "bad policy: it is still there" grep -qx user-3 "$T_SCRATCH/bad-shm.list"
check "bad policy: the session-close says report-only" jq_has "$T_SCRATCH/bad-audit.jsonl" \
	'select(.event == "session-close" and (.reason | test("report-only: bad policy")))'
finish
