#!/bin/bash
# bench/storm.sh: a mass logout. N sessions (default 200) of one user close at once on a
# tmpfs holding OTHERS other files (default 100,000, empty, in DIRS directories: half
# the session user's own, older than every session, half a second user's), against one
# lone close of the same kind in the same run. Goal: storm wall / lone close wall <= 3,
# no session incomplete, no session file left. Also the p50 and p99 of the sessions'
# duration_ms (from the closes' start: the wait for a shared sweep included).
#
# Each session is real: pam_host opens it through the module (cgroup=create), the user
# writes FILES files (4 KiB each) from inside the session's cgroup, and the host exits
# without close, leaving the record. The closes are then run as the module runs them,
# `tmpfs-sweep close ID`: N processes are forked first and wait, as the sessions' sshd
# [priv] processes wait; released at once, each execs its close. Timed from the release
# to the last exit. The lone close is timed the same way, alone. Also the closes' CPU
# time (all of them, from their rusage), and the spawn floor: N processes released the
# same way exec `tmpfs-sweep --version` (what N helper processes cost this machine before
# any work; a close must exec the helper, the module being in sshd's process).
# Usage (root): B=build bench/storm.sh      env: N, OTHERS, DIRS, FILES, PAR, PROFILE,
# STDERR_LOG (a file the closes' stderr goes to), KEEP_AUDIT (a copy of the audit log),
# CPU_EACH (a file each close's CPU time in us is appended to)
# shellcheck source=/dev/null
. "$(dirname "$0")/lib.sh"
bench_need
. "$BENCH_TOP/tests/integration/pam_common.bash"
pam_setup
scratch_user U || skip_all "bench: cannot make a scratch user"
scratch_user O || skip_all "bench: cannot make a scratch user"
M=$P_SHM
N=${N:-200}
OTHERS=${OTHERS:-100000}
DIRS=${DIRS:-1000}
FILES=${FILES:-5}
PAR=${PAR:-10} # sessions opened at once while preparing

pam_service tsw cgroup=create timeout=600
cat >>"$P_CONF" <<EOF
OtherSessions proceed
Timeout 300s
remove $M/** class=charged,created
EOF
"$SWEEP" check-config "$P_CONF" >/dev/null || { echo "bench: the policy does not check" >&2; exit 1; }

bench_tree "$M" "$OTHERS" "$DIRS" "$(id -u "$U")" "$(id -u "$O")" ||
	{ echo "bench: tree failed" >&2; exit 1; }
result "storm tree" "$(find "$M" -type f | wc -l) other files in $DIRS dirs; $N sessions of one user, $FILES files each" info

chmod 755 "$T_SCRATCH"
cat >"$T_SCRATCH/write.py" <<'PY'
import os, sys
root, tag, n, dirs = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
for i in range(n):
    p = "%s/d%04d/s-%s-%d" % (root, (hash(tag) + i) % dirs, tag, i)
    fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    os.write(fd, b"s" * 4096)
    os.close(fd)
PY
chmod 644 "$T_SCRATCH/write.py"
AS_U="setpriv --reuid $U --regid $(id -g "$U") --clear-groups"

# open_sessions COUNT TAG: COUNT real sessions, left without close (PAR at a time).
open_sessions() {
	local count=$1 tag=$2 i pids=()
	for ((i = 0; i < count; i++)); do
		pam_run tmpfs-sweep "$U" item:tty="$tag$i" open \
			"run:$AS_U /usr/bin/python3 $T_SCRATCH/write.py $M $tag$i $FILES $DIRS" \
			>"$T_SCRATCH/open-$tag$i.out" 2>&1 &
		pids+=($!)
		if [ ${#pids[@]} -ge "$PAR" ]; then wait "${pids[@]}"; pids=(); fi
	done
	wait "${pids[@]}"
	! grep -L -x run=0 "$T_SCRATCH"/open-"$tag"*.out | grep -q . ||
		{ echo "bench: a session failed to open" >&2; exit 1; }
}

# launch ID...: start one close per id at once through bench/launch.c (an id "-":
# `tmpfs-sweep --version` instead); prints the wall time (us) from the release to the last
# exit, the closes that failed, and their CPU time (us, all of them).
LAUNCH=$B/bench/launch
[ -x "$LAUNCH" ] || skip_all "bench: $LAUNCH not built (make bench)"
launch() {
	local cmds=() i
	for i in "$@"; do
		if [ "$i" = - ]; then cmds+=(-- "$SWEEP" --version)
		else cmds+=(-- "$SWEEP" close "$i" --conf "$P_CONF"); fi
	done
	# shellcheck disable=SC2086 # WRAP is a command line (PROFILE)
	${WRAP:-} "$LAUNCH" ${CPU_EACH:+--each "$CPU_EACH"} "${STDERR_LOG:-/dev/null}" "${cmds[@]}"
}

open_sessions 1 lone
# shellcheck disable=SC2046 # one id
read -r lone_us lone_bad lone_cpu < <(launch $(ls "$P_STATE/sessions"))
open_sessions "$N" st
mapfile -t IDS < <(ls "$P_STATE/sessions") # the lone one is closed: the storm's
[ "${#IDS[@]}" = "$N" ] || { echo "bench: ${#IDS[@]} sessions opened, $N wanted" >&2; exit 1; }
# PROFILE="perf record -g -o /tmp/storm.perf" (or "strace -c -f -o FILE"): the storm
# runs under that command.
# shellcheck disable=SC2086 # PROFILE is a command line
read -r storm_us storm_bad storm_cpu < <(WRAP=${PROFILE:-} launch "${IDS[@]}")

read -r p50 p99 incomplete removed < <(jq -rs --arg ids "${IDS[*]}" '
	($ids | split(" ")) as $ids |
	[.[] | select(.event == "session-close" and (.session as $s | $ids | index($s)))] as $c |
	($c | map(.duration_ms) | sort) as $d |
	"\($d[(($d | length) * 0.5 | floor)]) \($d[(($d | length) * 0.99 | floor)]) \($c | map(select(.incomplete)) | length) \($c | map(.removed) | add)"' "$P_AUDIT")
left=$(find "$M" -name 's-*' | wc -l)
[ -n "${KEEP_AUDIT:-}" ] && cp "$P_AUDIT" "$KEEP_AUDIT"
# shellcheck disable=SC2046 # N dashes
read -r floor_us _ floor_cpu < <(launch $(printf -- '- %.0s' $(seq "$N")))
result "spawn floor: $N x tmpfs-sweep --version (wall ms)" "$(ms "$floor_us")" info
result "spawn floor CPU (ms)" "$(ms "$floor_cpu")" info
result "lone close (wall ms)" "$(ms "$lone_us")" info
result "storm of $N closes (wall ms)" "$(ms "$storm_us")" info
result "lone close CPU (ms)" "$(ms "$lone_cpu")" info
result "storm CPU, all closes (ms)" "$(ms "$storm_cpu")" info
result "storm duration_ms p50" "$p50" info
result "storm duration_ms p99" "$p99" info
result "load average" "$(load)" info
result "storm incomplete sessions" "$incomplete" "<= 0"
result "storm session files left" "$left" "<= 0"
result "storm removed files" "$removed of $((N * FILES))" info
result "storm failed closes" "$((storm_bad + lone_bad))" "<= 0"
result "storm/lone close ratio" "$(ratio "$storm_us" "$lone_us")" "<= 3"
[ "$incomplete" = 0 ] && [ "$left" = 0 ] && [ "$((storm_bad + lone_bad))" = 0 ]
