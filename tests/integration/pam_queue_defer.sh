#!/bin/bash
# Closes of one user that overlap are swept in one batch (helper/queue.h), and under the
# default `OtherSessions defer` they do not count each other as the user's open sessions:
# a session whose close has begun (queued, closing) is logging out, as logind's
# "closing" session is. The test holds the state dir's sweep lock (a sweep on) while two
# sessions of one user close (real PAM stacks, cgroup=create): both queue, and when the
# lock goes one of them leads with one helper. 1. Nobody else of the user logged in: both
# files are removed at the close, two complete session-close lines, nothing deferred, no
# record left (before, each deferred the other's files to gc). 2. A third session of the
# user still open: the two closes defer their files (kept, audited deferred, records
# deferred); once the third closes, gc finishes, nothing left. 3. Twelve closes of one
# user in one batch: the leader reads the state dir's records once for the batch (as gc
# does), not every record for every member (quadratic in a storm of one user's closes:
# 200 closes took 2.0 s instead of 1.1 s in bench/storm); counted with strace.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/pam_common.bash"
pam_setup
scratch_user U || skip_all "cannot make a scratch user"
chmod 755 "$T_SCRATCH"
pam_service tsw cgroup=create timeout=10
printf 'Timeout 8s\nremove %s/** class=charged,created\n' "$P_SHM" >>"$P_CONF"
check "the policy checks clean (OtherSessions left at its default)" eval \
	"'$SWEEP' check-config '$P_CONF' && ! grep -q OtherSessions '$P_CONF' &&
	 '$SWEEP' dump-config '$P_CONF' | grep -qx 'OtherSessions defer'"
pam_counting_helper
as="setpriv --reuid $U --regid $(id -g "$U") --clear-groups"
mkdir -p -m 0700 "$P_STATE/locks"
fl=$T_SCRATCH/flags
mkdir -p "$fl"
# flock(1)'s command holds the lock too: both go
unhold() { pkill -KILL -P "$1"; kill -KILL "$1"; } 2>/dev/null
queued() { test "$(find "$P_STATE/queue" -maxdepth 1 -type f 2>/dev/null | wc -l)" -ge "$1"; }
deferred() { grep -lx state=deferred "$P_STATE"/sessions/* 2>/dev/null | wc -l; }

# storm NAME...: with the sweep lock held, one session of U per NAME opens, writes
# $P_SHM/NAME and closes; once all are queued the lock goes (a plain flock: it wakes
# nobody, the waiting closes look again within 2 s) and the closes end.
storm() {
	local n=0 t hosts=()
	bg holder flock "$P_STATE/locks/sweep" sleep 60
	wait_for 10 eval "! flock -n '$P_STATE/locks/sweep' true" || not_ok "the sweep lock is not held"
	for t in "$@"; do
		P_RUN_EXEC=1 pam_run "${HELPER:-counting}" "$U" item:tty="$t" \
			open "run:$as dd if=/dev/zero of=$P_SHM/$t bs=4k count=2 status=none" \
			timed-close >"$T_SCRATCH/h-$t.out" 2>&1 &
		hosts+=($!)
		wait_for 20 queued $((++n)) || not_ok "close $t did not queue"
	done
	unhold "$holder"
	wait "${hosts[@]}" 2>/dev/null # (and the holder's "Killed")
	for t in "$@"; do
		check "$t's close succeeded ($(kv "$T_SCRATCH/h-$t.out" close_ms) ms)" \
			test "$(kv "$T_SCRATCH/h-$t.out" close)" = success
	done
}

# 1. nobody else of U logged in: neither close waits for the other
storm c d
check "one helper started (one close leading both)" test "$(wc -l <"$T_SAFE/execs")" -eq 1
check "both files are gone at the close" test ! -e "$P_SHM/c" -a ! -e "$P_SHM/d"
check "each file audited once, removed" test \
	"$(audit_lines file | jq -r '"\(.path) \(.result)"' | sort | tr '\n' ' ')" = \
	"$P_SHM/c removed $P_SHM/d removed "
check "two session-close lines, complete, none deferring" test \
	"$(audit_lines session-close | jq -r '"\(.incomplete) \(.deferred)"' | sort | uniq -c |
	   awk '{$1=$1; print}')" = "2 false 0"
check "no record, no queue entry left" \
	test "$(n_records)" -eq 0 -a -z "$(ls -A "$P_STATE/queue" | grep -v -x '\.wake')"

# 2. a third session of U still open: the two closes defer to it
: >"$T_SAFE/execs"
: >"$P_AUDIT"
pam_run tmpfs-sweep "$U" open "run:touch $fl/e-open" \
	"run:for k in \$(seq 600); do [ -e $fl/e-go ] && break; sleep 0.05; done" \
	close >"$T_SCRATCH/h-e.out" 2>&1 &
host_e=$!
wait_for 20 test -e "$fl/e-open" || not_ok "the third session did not open"
storm f g
check "both files are kept while U's third session is open" test -e "$P_SHM/f" -a -e "$P_SHM/g"
check "each audited deferred" test \
	"$(audit_lines file | jq -r '"\(.path) \(.result)"' | sort | tr '\n' ' ')" = \
	"$P_SHM/f deferred $P_SHM/g deferred "
check "both records kept, deferred" test "$(deferred)" -eq 2
touch "$fl/e-go"
wait "$host_e"
check "the third session closed" test "$(kv "$T_SCRATCH/h-e.out" close)" = success
"$SWEEP" gc --conf "$P_CONF" >"$T_SCRATCH/gc.out" 2>&1 || true
check "after the last close and gc: both files gone" test ! -e "$P_SHM/f" -a ! -e "$P_SHM/g"
check "no record left" test "$(n_records)" -eq 0
check "a removed line for each file" test \
	"$(audit_lines file | jq -r 'select(.result == "removed") | .path' | sort | tr '\n' ' ')" = \
	"$P_SHM/f $P_SHM/g "

# 3. the records read once for a batch: the leader's opens of the records' directory
: >"$T_SAFE/execs"
: >"$P_AUDIT"
printf '#!/bin/sh\necho $$ >>%s/execs\nASAN_OPTIONS=detect_leaks=0 exec strace -f -qq -e trace=openat -o %s %s "$@"\n' \
	"$T_SAFE" "$T_SAFE/strace.out" "$P_BIN/tmpfs-sweep" >"$P_BIN/straced"
chmod 755 "$P_BIN/straced"
names=$(seq -f 'm%g' 12)
HELPER=straced storm $names
check "one helper started (one close leading all 12)" test "$(wc -l <"$T_SAFE/execs")" -eq 1
check "every file is gone" test -z "$(cd "$P_SHM" && ls $names 2>/dev/null)"
check "12 session-close lines, complete, none deferring" test \
	"$(audit_lines session-close | jq -r '"\(.incomplete) \(.deferred)"' | sort | uniq -c |
	   awk '{$1=$1; print}')" = "12 false 0"
opens=$(grep -c 'openat([^"]*"sessions",' "$T_SAFE/strace.out")
echo "# the leader opened the records' directory $opens times for 12 sessions"
# ~4 a member (its read, its writes, the snapshot's read); read per member, 11 more each
check "the records read once for the batch ($opens opens of their directory: at most 8 a session)" \
	test "$opens" -ge 12 -a "$opens" -le 96
finish
