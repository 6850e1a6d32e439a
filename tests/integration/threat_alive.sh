#!/bin/bash
# THREATS.md 29, 31, 32 through a real session, with a policy that removes everything the
# session created: uses that the leader's /proc/PID/fd does not show keep a file, and what
# is kept stays pending (the record is kept, deferred, listing it) instead of being
# forgotten. Each holder is a process of the session's user started in the session that
# outlives it (a background job):
#   a file open and mapped by a thread whose leader called pthread_exit;
#   a file open in a thread that did unshare(CLONE_FILES);
#   an io_uring fixed file whose fd was closed;
#   an fd in flight in an SCM_RIGHTS message nobody received;
#   a UNIX socket bound by a live server, in a directory of its own (as tmux's);
#   a directory that is a background job's working directory.
# All were removed before the in-use redesign (result "removed").
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/pam_common.bash"
source "$(dirname "$0")/threat_common.bash"
thr_setup
HOLD=$B/tools/t_hold
[ -x "$HOLD" ] || skip_all "build first (t_hold)"
echo "remove $P_SHM/** class=charged,created" >>"$P_CONF"
R=$T_SCRATCH/rdy; mkdir -m 1777 "$R"

mk() { printf 'run:%s' "$(as "$U1" sh -c "'dd if=/dev/zero of=$P_SHM/$1 bs=4k count=4 status=none'")"; }
# hold MODE TARGET NAME: a holder of the user's in the background, ready file $R/NAME
hold() {
	printf 'run:%s' "$(as "$U1" sh -c "'$HOLD $1 $P_SHM/$2 $R/$3 </dev/null >/dev/null 2>$R/$3.err &'")"
}
modes="thread-exit unshare scm bind cwd"
uring=no
if python3 -c 'import ctypes, sys; l = ctypes.CDLL(None); p = ctypes.create_string_buffer(120)
sys.exit(0 if l.syscall(425, 2, p) >= 0 else 1)' 2>/dev/null; then
	modes="$modes uring"; uring=yes
fi
acts=("$(mk thread-exit)" "$(mk unshare)" "$(mk uring)" "$(mk scm)" "$(mk free)"
	"run:$(as "$U1" mkdir -m 700 "$P_SHM/srv" "$P_SHM/job")")
for m in $modes; do
	case $m in
	bind) acts+=("$(hold bind srv/sock bind)") ;;
	cwd) acts+=("$(hold cwd job cwd)") ;;
	*) acts+=("$(hold "$m" "$m" "$m")") ;;
	esac
done
acts+=("run:for f in $modes; do i=0; while [ ! -e $R/\$f ] && [ \$i -lt 200 ]; do sleep 0.05; i=\$((i+1)); done; done")
session "$U1" "$T_SCRATCH/s1.out" "${acts[@]}"
for m in $modes; do
	[ -e "$R/$m" ] && at_exit "kill -9 $(cut -d' ' -f1 "$R/$m")"
	check "holder $m was ready" test -e "$R/$m"
done
check "a session-close line" test -n "$(closeline)"
audit_lines file "$SID" | jq -r '"    " + .path + ": " + .result + " (" + (.detail // "") + ")"'
[ "$uring" = yes ] || echo "    io_uring unavailable here: that case not tried"

for m in thread-exit unshare scm $([ "$uring" = yes ] && echo uring); do
	check "$m: still there" test -e "$P_SHM/$m"
	check "$m: skipped-in-use (open by no fd /proc shows, or by the thread)" \
		expect_result "$P_SHM/$m" skipped-in-use '(open|mapped)'
done
check "bound socket: still there" test -S "$P_SHM/srv/sock"
check "bound socket: skipped-in-use, bound" expect_result "$P_SHM/srv/sock" skipped-in-use \
	'bound to a live UNIX socket held by pid'
check "the socket's directory: still there, deferred with it" \
	eval 'test -d "$P_SHM/srv" && expect_result "$P_SHM/srv" deferred "not empty"'
check "the job's working directory: still there, skipped-in-use (cwd)" \
	eval 'test -d "$P_SHM/job" && expect_result "$P_SHM/job" skipped-in-use "working directory of pid"'
check "the free file is removed" eval 'test ! -e "$P_SHM/free" && expect_result "$P_SHM/free" removed'
check "the holders still run" eval '(for m in $modes; do kill -0 $(cut -d" " -f1 $R/$m) || exit 1; done)'

# Pending, not forgotten: the record stays, deferred, listing exactly what is undecided.
rec=$P_STATE/sessions/$SID
check "the record is kept, deferred" grep -qx 'state=deferred' "$rec"
n_pending=$(grep -c '^pending=' "$rec")
want=$(($(wc -w <<<"$modes") + 1)) # every holder's object, and srv (the socket's directory)
check "it lists the $want undecided files ($n_pending)" test "$n_pending" -eq "$want"

# gc while they run decides nothing new and says nothing; once they are gone it removes
# every one of them (the socket file outlives its killed server), each with one more line.
n0=$(wc -l <"$P_AUDIT")
"$SWEEP" gc --conf "$P_CONF" >/dev/null 2>&1
check "gc while the holders run: nothing removed, not a line" \
	eval 'test -S "$P_SHM/srv/sock" -a -d "$P_SHM/job" && test "$(wc -l <"$P_AUDIT")" -eq "$n0"'
for m in $modes; do kill -9 "$(cut -d' ' -f1 "$R/$m")"; done
# (an io_uring lets go of its files from a workqueue, a little after its task died: gc
# finds it still in use until then, and says nothing)
wait_for 10 sh -c "'$SWEEP' gc --conf '$P_CONF' >/dev/null 2>&1; test ! -e '$rec'"
check "gc once the holders are gone: every one removed, the record too" eval \
	'for f in thread-exit unshare scm srv job $([ "$uring" = yes ] && echo uring); do
		[ ! -e "$P_SHM/$f" ] || { echo "    $f remains"; exit 1; }; done &&
	 test ! -e "$rec"'
check_py "each has exactly one line after the first: removed" "$P_AUDIT" "$SID" "$n0" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])][int(sys.argv[3]):]
files = [l for l in lines if l["event"] == "file" and l["session"] == sys.argv[2]]
paths = [l["path"] for l in files]
assert len(paths) == len(set(paths)), paths
assert all(l["result"] == "removed" for l in files), files
assert not any(p.endswith("/free") for p in paths), paths
PY
check "every audit line is JSON" eval 'json_valid_lines "$P_AUDIT" >/dev/null'
finish
