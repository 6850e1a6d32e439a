# tests/vm/guest/lib/vmlib.sh: sourced by every guest test (run as root inside the VM by
# tests/vm/run.sh). ok/not-ok reporting like tests/lib.sh, a cleanup stack, policy and logind
# switches (restored on exit), ssh login sessions of the test users driven from here, and
# audit-log queries (lib/audit.py).
# shellcheck shell=bash
set -u
T_NAME=$(basename "$0" .sh)
T_FAILED=0
T_CLEANUP=()
VMLIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SWEEP=/usr/sbin/tmpfs-sweep
AUDIT=/var/log/tmpfs-sweep/audit.jsonl
POLICY=/etc/security/tmpfs-sweep.conf
POLICIES=/usr/share/tmpfs-sweep-vm/policy
CG=/sys/fs/cgroup
MiB=$((1024 * 1024))
T_CTL=/run/tsw-vm-test/$T_NAME
rm -rf "$T_CTL"
mkdir -p "$T_CTL"
chmod 755 /run/tsw-vm-test "$T_CTL"

at_exit() { T_CLEANUP+=("$*"); }
_t_cleanup() {
	local i
	for ((i = ${#T_CLEANUP[@]} - 1; i >= 0; i--)); do
		eval "${T_CLEANUP[$i]}" >/dev/null 2>&1 || true
	done
	rm -rf "$T_CTL"
}
trap _t_cleanup EXIT
trap 'exit 130' INT TERM

ok() { echo "ok - $T_NAME: $*"; }
not_ok() { echo "not ok - $T_NAME: $*"; T_FAILED=1; }
check() {
	local d=$1; shift
	if "$@"; then ok "$d"; else not_ok "$d"; fi
}
note() { echo "# $*"; }
finish() { exit "$T_FAILED"; }

# wait_for SECS CMD...: poll until CMD succeeds (0.25 s steps); 1 on timeout.
wait_for() {
	local end=$((SECONDS + $1)); shift
	until "$@"; do
		[ "$SECONDS" -lt "$end" ] || return 1
		sleep 0.25
	done
}
# within PCT A B: |A - B| <= PCT% of B
within() { python3 -c 'import sys; p,a,b=map(float,sys.argv[1:]); sys.exit(abs(a-b) > p/100*b)' "$@"; }

# ---- policy and logind, restored at exit ----

# use_policy NAME: /usr/share/tmpfs-sweep-vm/policy/NAME.conf becomes the policy.
use_policy() {
	if [ ! -e "$T_CTL/policy.saved" ]; then
		cp -p "$POLICY" "$T_CTL/policy.saved"
		at_exit "cp -p '$T_CTL/policy.saved' '$POLICY'"
	fi
	install -m 0644 "$POLICIES/$1.conf" "$POLICY"
}

# logind_set KEY=VALUE...: a logind drop-in for this test; logind restarted (now and at exit).
logind_set() {
	local f=/etc/systemd/logind.conf.d/60-tsw-test.conf kv
	{ echo '[Login]'; for kv in "$@"; do echo "$kv"; done; } >"$f"
	at_exit "rm -f '$f'; systemctl restart systemd-logind"
	systemctl restart systemd-logind
}

# ---- login sessions of test users (ssh from here to 127.0.0.1, key auth, pam_systemd) ----

user_ssh() { # USER CMD: one short login session
	local u=$1; shift
	ssh -i /root/.ssh/id_ed25519 -o BatchMode=yes -o StrictHostKeyChecking=no \
		-o UserKnownHostsFile=/dev/null -o LogLevel=ERROR "$u@127.0.0.1" "$@"
}

# session_start NAME USER SHELL-CMD: a login session that runs SHELL-CMD, reports its
# cgroup and logind session id, and stays logged in until session_end NAME.
# Sets S_CG[NAME] (cgroup path as /proc/self/cgroup shows it), S_ID[NAME] (logind id),
# S_PID[NAME] (the local ssh client).
declare -A S_CG S_ID S_PID S_USER
session_start() {
	local name=$1 u=$2 cmd=$3 out=$T_CTL/$1.out stop=$T_CTL/$1.stop
	rm -f "$stop"
	user_ssh "$u" "set -e; $cmd
		echo \"CGROUP \$(awk -F: '\$1==\"0\" {print \$3}' /proc/self/cgroup)\"
		echo \"SESSION \${XDG_SESSION_ID:-}\"
		echo READY
		while [ ! -e '$stop' ]; do sleep 0.2; done" >"$out" 2>&1 </dev/null &
	S_PID[$name]=$!
	S_USER[$name]=$u
	at_exit "touch '$stop'; kill ${S_PID[$name]}"
	if ! wait_for 300 grep -q '^READY' "$out"; then
		note "session $name did not start:"; sed 's/^/#   /' "$out"
		return 1
	fi
	S_CG[$name]=$(awk '$1=="CGROUP" {print $2}' "$out")
	S_ID[$name]=$(awk '$1=="SESSION" {print $2}' "$out")
	note "session $name: user $u, logind session ${S_ID[$name]}, cgroup ${S_CG[$name]}"
}

# session_end NAME: log out (the remote loop ends, sshd runs close_session).
session_end() {
	local name=$1
	touch "$T_CTL/$name.stop"
	wait_for 180 _gone "${S_PID[$name]}" || { note "ssh client of $name still there"; return 1; }
}
# A pid is gone when it no longer exists or is a zombie (our own unreaped child).
_gone() { [ ! -e "/proc/$1" ] || [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" = Z ]; }

# The logind session is over (scope gone or session no longer listed).
session_gone() { ! loginctl show-session "${S_ID[$1]}" -p State 2>/dev/null | grep -q active; }

# run_unit UNIT: start a oneshot unit (as its timer would); succeeds only when the unit is
# loaded, really ran now and exited 0 (its ExecStopPost= included). systemd unloads an
# inactive unit that nothing references (a plain oneshot: not the gc service, which its timer
# holds), and `systemctl show` then gives the defaults (Result=success, ExecMainStatus=0,
# timestamps 0) whatever happened: so the verdict is what PID 1 logged for the unit since
# the start, "Deactivated successfully." against "Failed with result".
run_unit() {
	local u=$1 cur log
	[ "$(systemctl show -p LoadState --value "$u")" = loaded ] || { note "$u not loaded"; return 1; }
	cur=$(journalctl -q -n 0 --show-cursor | sed -n 's/^-- cursor: //p')
	[ -n "$cur" ] || { note "no journal cursor"; return 1; }
	systemctl start "$u" || { note "systemctl start $u failed"; return 1; }
	unit_log() { journalctl -q --after-cursor="$cur" -u "$u" -o cat 2>/dev/null; }
	wait_for 30 eval 'unit_log | grep -Eq "Deactivated successfully|Failed with result"' ||
		{ note "$u: PID 1 logged no end of the run"; return 1; }
	log=$(unit_log)
	if grep -q "Failed with result" <<<"$log"; then
		note "$u: $(grep 'Failed with result' <<<"$log" | head -1)"
		return 1
	fi
}

# ---- cgroup v2 numbers ----

cg_stat() { # CGROUP-DIR KEY -> value of KEY in memory.stat (0 if the cgroup is gone)
	awk -v k="$2" '$1==k {print $2; f=1} END {if (!f) print 0}' "$1/memory.stat" 2>/dev/null ||
		echo 0
}
user_slice() { echo "$CG/user.slice/user-$(id -u "$1").slice"; }

# ---- audit log ----

# audit_mark: remember where the audit log ends now; later queries see only what follows.
audit_mark() { AUDIT_OFF=$(stat -c %s "$AUDIT" 2>/dev/null || echo 0); }
# aq EXPR: evaluate a Python expression over the audit events written since audit_mark
# (see lib/audit.py for the helpers); prints it; succeeds when it is truthy.
aq() { python3 "$VMLIB/audit.py" "$AUDIT" "${AUDIT_OFF:-0}" "$@"; }
# aqv EXPR: just the value (JSON), whatever its truth.
aqv() { aq "$@" | sed -n 's/^# aq: //p'; }
# wait_close USER [N]: the audit log has N (default 1) session-closes for USER since
# audit_mark. The module's own deadline is 30 s (timeout= in the PAM line); once one wait
# timed out in a test, the next ones are short (what follows fails anyway, faster).
WAIT_CLOSE_SECS=45
wait_close() {
	local uid n=${2:-1}
	uid=$(id -u "$1")
	wait_for "$WAIT_CLOSE_SECS" aq "len(closes($uid)) >= $n" >/dev/null && return 0
	WAIT_CLOSE_SECS=5
	return 1
}
