#!/bin/bash
# THREATS.md 20-25 against the module in a C PAM host: bad PAM_USER values, PAM_USER
# changed before close, close without open, pam_end/close in a forked child, lost pam
# data, hosts that reap with waitpid(-1) in a SIGCHLD handler or ignore SIGCHLD, a
# stalling helper killed at the deadline, a poisoned environment and 200 inherited fds,
# a helper that is group-writable, not root's or a symlink; and the export list.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/pam_common.bash"
pam_setup
scratch_user U1
scratch_user U2
pam_service tsw timeout=2
out=$T_SCRATCH/out
probe_runs() { grep -c '^argv=close$' "$P_PROBEDIR/probe.out" 2>/dev/null || echo 0; }
reset() { rm -f "$P_AUDIT" "$P_PROBEDIR/probe.out" "$P_STATE"/sessions/*; }

# 20: PAM_USER missing, empty, unknown, not a name: nothing recorded, no failure.
for u in - "" "nosuchuser$RANDOM" "../$U1" "-rf"; do
	reset
	pam_run dump "$u" open close >"$out" 2>&1
	check "user '$u': open and close do not fail" \
		grep -qE '^open=(success|ignore)$' "$out"
	check "user '$u': nothing recorded, helper not run, no audit" \
		test "$(n_records)" -eq 0 -a "$(probe_runs)" -eq 0 -a ! -s "$P_AUDIT"
done
# root and a system user are exempt (never removed), not unseen: recorded and audited.
for u in root daemon; do
	reset
	pam_run tmpfs-sweep "$u" open close >"$out" 2>&1
	check "user '$u': open and close succeed" \
		eval "grep -qx open=success $out && grep -qx close=success $out"
	check "user '$u': session-open and session-close name the user, no record left" \
		eval "jq_has $P_AUDIT 'select(.event == \"session-open\" and .user == \$u)' --arg u $u &&
		      jq_has $P_AUDIT 'select(.event == \"session-close\" and .user == \$u)' --arg u $u &&
		      test \$(n_records) -eq 0"
done
# The same bad users in a realistic stack (optional, then another module): success.
echo "session optional $P_MOD conf=$P_CONF" >"$P_PAMD/real"
echo "session required pam_permit.so" >>"$P_PAMD/real"
for u in - "" "nosuchuser$RANDOM"; do
	reset
	P_SERVICE=real pam_run dump "$u" open close >"$out" 2>&1
	check "realistic stack, user '$u': open and close succeed, nothing recorded" \
		eval "grep -qx open=success $out && grep -qx close=success $out && test \$(n_records) -eq 0"
done
reset
pam_run dump "$U1" user:- open close >"$out" 2>&1
check "PAM_USER unset after start: ignored" grep -qx 'open=ignore' "$out"

# 20: PAM_USER changed between open and close: close uses what open recorded.
reset
pam_run tmpfs-sweep "$U1" open "user:$U2" close >"$out" 2>&1
check "changed PAM_USER: close still succeeds" grep -qx 'close=success' "$out"
check "changed PAM_USER: session-close is for the user recorded at open" jq_has "$P_AUDIT" \
	'select(.event == "session-close" and .user == $u)' --arg u "$U1"
check "changed PAM_USER: no line for the other user" \
	test -z "$(jq -r --arg u "$U2" 'select(.user == $u)' "$P_AUDIT")"

# 21: close without open; pam_end and close in a forked child.
reset
pam_run dump "$U1" close >"$out" 2>&1
check "close without open: ignored, helper not run" \
	test "$(kv "$out" close)" = ignore -a "$(probe_runs)" -eq 0
reset
pam_run dump "$U1" open fork-close close >"$out" 2>&1
check "forked child's close: ignored" grep -qx 'child_close=ignore' "$out"
check "the parent's close still runs the helper exactly once" \
	test "$(kv "$out" close)" = success -a "$(probe_runs)" -eq 1
reset
pam_run dump "$U1" open restart close >"$out" 2>&1
check "pam data lost (pam_end + new handle): close finds the record by pid" \
	test "$(kv "$out" close)" = success -a "$(probe_runs)" -eq 1
check "and runs the helper on the right session" \
	grep -q "^argv=$(jq -r 'select(.event=="session-open") | .session' "$P_AUDIT")\$" \
	"$P_PROBEDIR/probe.out"

# 22: SIGCHLD reaper and SIG_IGN hosts. "In time": the module saw its helper exit and did
# not wait for its deadline (20 s here, so that a loaded machine cannot reach it): a close
# that returns before it and audits no timeout.
pam_service tsw timeout=20
for mode in reaper ign; do
	reset
	pam_run tmpfs-sweep "$U1" "sigchld:$mode" open timed-close sigcheck >"$out" 2>&1
	check "SIGCHLD $mode: close succeeds before the deadline ($(kv "$out" close_ms) ms < 20 s)" \
		test "$(kv "$out" close)" = success -a "$(kv "$out" close_ms)" -lt 20000
	check "SIGCHLD $mode: no timeout audited" \
		test -z "$(jq -r 'select(.event == "session-close" and .reason == "timeout")' "$P_AUDIT")"
	check "SIGCHLD $mode: the host's action is unchanged" grep -qx 'sigchld_same=1' "$out"
	check "SIGCHLD $mode: the host's handler reaped nothing of ours" grep -qx 'reaped=0' "$out"
	check "SIGCHLD $mode: the helper did its work" jq_has "$P_AUDIT" \
		'select(.event == "session-close" and .incomplete == false)'
done

# 23: a stalling helper is killed at the deadline (timeout=2), audited as a timeout. The
# close waits for the deadline (never less), and returns well before the probe would give
# up by itself (10 s): deadline + 6 s of slack for a loaded machine.
pam_service tsw timeout=2
reset
pam_run stall "$U1" open timed-close >"$out" 2>&1
ms=$(kv "$out" close_ms)
check "stall: close returns at the 2 s deadline, not before, not at the probe's 10 s ($ms ms)" \
	test "${ms:-0}" -ge 1900 -a "${ms:-99999}" -lt 8000
check "stall: close still succeeds" test "$(kv "$out" close)" = success
check "stall: audited incomplete, result timeout" jq_has "$P_AUDIT" \
	'select(.event == "session-close" and .incomplete == true and .reason == "timeout")'
check "stall: record kept for gc" test "$(n_records)" -eq 1
sleep 0.2
sid=$(jq -r 'select(.event == "session-open") | .session' "$P_AUDIT")
check "stall: no stalled process left (helper and its child)" \
	test -n "$sid" -a -z "$(pgrep -f "tmpfs-sweep close $sid")"

# 25: poisoned environment, PAM env vars and 200 inherited fds never reach the helper.
reset
pam_run dump "$U1" setenv:LD_PRELOAD=/nonexistent/evil.so setenv:PATH=/tmp setenv:IFS=x \
	putenv:PAM_EVIL=1 putenv:LD_LIBRARY_PATH=/tmp fds:200 open close >"$out" 2>&1
p=$P_PROBEDIR/probe.out
check "poison: the helper ran" test "$(probe_runs)" -eq 1
# (a lone close: the helper leads the shared sweep, with the sweep lock as fd 3 and
# TMPFS_SWEEP_LEAD_FD=3 saying so; nothing else of the host's)
check "poison: environment is exactly PATH, LANG and TMPFS_SWEEP_LEAD_FD" \
	test "$(grep '^env=' "$p" | sort | tr '\n' ' ')" = \
	"env=LANG=C env=PATH=/usr/sbin:/usr/bin:/sbin:/bin env=TMPFS_SWEEP_LEAD_FD=3 "
check "poison: 200 fds open in the host" test "$(kv "$out" fds)" -ge 200
check "poison: only fds 0-2, all /dev/null, and 3, the sweep lock" \
	test "$(grep '^fd=' "$p" | tr '\n' ' ')" = "fd=0 /dev/null fd=1 /dev/null fd=2 /dev/null fd=3 $P_STATE/locks/sweep "
check "poison: umask 077, no_new_privs, no blocked or ignored signal" \
	eval "grep -q 'Umask:.*0077' $p && grep -q 'NoNewPrivs:.*1' $p &&
	      grep -q 'SigBlk:.*0000000000000000' $p && grep -q 'SigIgn:.*0000000000000000' $p"
check "poison: core dumps off, argv is close ID --conf FILE" \
	eval "grep -qx rlimit_core=0 $p && grep -qx 'argv=--conf' $p && grep -qx 'argv=$P_CONF' $p"

# 24: a helper that is group-writable, not root's, or a symlink is not run.
for bad in groupw notroot symlink; do
	reset
	cp "$P_PROBE" "$P_BIN/dump-$bad"; chmod 755 "$P_BIN/dump-$bad"
	pam_run_bad() {
		unshare -m --propagation private bash -c '
			set -e
			top=$1 path=$2 helper=$3 bad=$4 u=$5; shift 5
			mount -t tmpfs -o mode=755 tsw-libexec "$top"
			mkdir -p "$(dirname "$path")"
			case $bad in
			groupw) cp "$helper" "$path"; chmod 775 "$path" ;;
			notroot) cp "$helper" "$path"; chmod 755 "$path"; chown "$u" "$path" ;;
			symlink) cp "$helper" "$path.real"; chmod 755 "$path.real"; ln -s "$path.real" "$path" ;;
			esac
			exec "$@"' _ "$P_LIBEXEC_TOP" "$P_HELPER_PATH" "$P_BIN/dump-$bad" "$bad" "$U1" \
			"$P_HOST" "$P_PAMD" tsw "$U1" open close
	}
	pam_run_bad >"$out" 2>&1
	check "helper $bad: not run" test "$(probe_runs)" -eq 0
	check "helper $bad: close does not fail, audited as helper-unusable" \
		eval "grep -qx close=success $out && jq_has $P_AUDIT 'select(.event == \"session-close\" and .reason == \"helper-unusable\")'"
done

# The module exports exactly the two session hooks.
check "nm -D: only pam_sm_open_session and pam_sm_close_session" \
	test "$(nm -D --defined-only "$P_MOD" | awk '$2 ~ /[TtWDdBb]/ {print $3}' | sort | tr '\n' ' ')" \
	= "pam_sm_close_session pam_sm_open_session "
finish
