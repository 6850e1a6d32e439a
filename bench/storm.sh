#!/bin/bash
# bench/storm.sh: a mass logout. N sessions (default 200) of one user close at once on a
# tmpfs holding OTHERS other files (default 100,000, empty, in DIRS directories: half
# the session user's own, older than every session, half a second user's), against one
# lone close of the same kind in the same run. Goal: storm wall / lone close wall <= 3,
# no session incomplete, no session file left. Also the p50 and p99 of the sessions'
# duration_ms (from the closes' start: the wait for a shared sweep included).
#
# Each session is real and closes as sshd closes it: pam_host opens it through the module
# (cgroup=create), the user writes FILES files (4 KiB each) from inside the session's
# cgroup, and the host then waits (as the session's sshd [priv] process waits for its
# client) on a FIFO; released at once, each calls pam_close_session: the module starts the
# helper, or joins a sweep already on (closeq.h). Timed from the release to the last
# host's exit. The lone close is timed the same way, alone. Also the closes' CPU time
# (module and helper, from each host's rusage), and the spawn floor: N processes released
# the same way exec `tmpfs-sweep --version` (what N helper processes would cost this
# machine before any work, were each close to start one), and the host floor: N hosts
# opened and released the same way under a stack of pam_permit.so alone (what the
# sessions' own processes cost to wake, close and exit, without the module).
# Usage (root): B=build bench/storm.sh      env: N, OTHERS, DIRS, FILES, PAR,
# KEEP_AUDIT (a copy of the audit log)
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
# OtherSessions left at its default (defer), as an admin runs it: one user's closes that
# overlap do not defer to each other (a deferred file would count as left)
cat >>"$P_CONF" <<EOF
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

# open_waiting COUNT TAG [SERVICE]: COUNT real sessions, each host then waiting on $FIFO
# for the release, and closing (PAR opening at a time). Under SERVICE (the host floor's
# stack, without the module) the session's command writes nothing.
FIFO=$T_SCRATCH/release
ready() { cat "$T_SCRATCH"/open-"$1"*.out 2>/dev/null | grep -cx waiting=1; }
open_waiting() {
	local count=$1 tag=$2 service=${3:-tsw} i run
	rm -f "$FIFO" && mkfifo -m 600 "$FIFO"
	HOSTS=()
	for ((i = 0; i < count; i++)); do
		run="run:$AS_U /usr/bin/python3 $T_SCRATCH/write.py $M $tag$i $FILES $DIRS"
		[ "$service" = tsw ] || run=run:/bin/true
		P_SERVICE=$service P_RUN_EXEC=1 pam_run tmpfs-sweep "$U" item:tty="$tag$i" open \
			"$run" "wait:$FIFO" timed-close end >"$T_SCRATCH/open-$tag$i.out" 2>&1 &
		HOSTS+=($!)
		while [ "$(ready "$tag")" -le $((i - PAR)) ]; do sleep 0.05; done
	done
	for ((i = 0; i < 1200 && $(ready "$tag") < count; i++)); do sleep 0.1; done
	if [ "$(grep -l -x run=0 "$T_SCRATCH"/open-"$tag"*.out | wc -l)" != "$count" ] ||
		[ "$(ready "$tag")" != "$count" ]; then
		echo "bench: a session failed to open" >&2
		exit 1
	fi
}
# release TAG: all hosts at once (in this shell: they are its children); sets R_US (wall
# from the release to the last exit), R_BAD (closes that failed), R_CPU (their CPU, us).
release() {
	local t0 tag=$1
	t0=${EPOCHREALTIME/./}
	exec 3>"$FIFO"
	exec 3>&-
	wait "${HOSTS[@]}"
	R_US=$((${EPOCHREALTIME/./} - t0))
	R_T0=$t0
	R_BAD=$(grep -L -x close=success "$T_SCRATCH"/open-"$tag"*.out | wc -l)
	R_CPU=$(cat "$T_SCRATCH"/open-"$tag"*.out | sed -n 's/^close_cpu_us=//p' |
		awk '{ s += $1 } END { print s + 0 }')
}

# launch ID...: N processes released at once through bench/launch.c, each exec'ing
# `tmpfs-sweep --version` (the spawn floor): wall (us), failed, CPU (us).
LAUNCH=$B/bench/launch
[ -x "$LAUNCH" ] || skip_all "bench: $LAUNCH not built (make bench)"
launch() {
	local cmds=() i
	for ((i = 0; i < $1; i++)); do cmds+=(-- "$SWEEP" --version); done
	"$LAUNCH" /dev/null "${cmds[@]}"
}

open_waiting 1 lone
release lone
lone_us=$R_US lone_bad=$R_BAD lone_cpu=$R_CPU
open_waiting "$N" st
mapfile -t IDS < <(ls "$P_STATE/sessions") # the lone one is closed: the storm's
[ "${#IDS[@]}" = "$N" ] || { echo "bench: ${#IDS[@]} sessions opened, $N wanted" >&2; exit 1; }
release st
storm_us=$R_US storm_bad=$R_BAD storm_cpu=$R_CPU
# when the closes began and ended, from the release (ms): first, median, last
read -r begin_first begin_p50 begin_last end_first end_p50 end_last < <(
	for f in "$T_SCRATCH"/open-st*.out; do
		echo "$(sed -n 's/^close_at_us=//p' "$f") $(sed -n 's/^close_ms=//p' "$f")"
	done | python3 -c '
import sys
t0 = int(sys.argv[1])
v = [l.split() for l in sys.stdin if len(l.split()) == 2]
e = sorted((float(a) - t0) / 1000 for a, _ in v)
b = sorted((float(a) - t0) / 1000 - float(m) for a, m in v)
print(*("%.0f" % x[i] for x in (b, e) for i in (0, len(x) // 2, -1)))' "$R_T0")
read -r close_p50 close_p99 < <(cat "$T_SCRATCH"/open-st*.out | sed -n 's/^close_ms=//p' | sort -n |
	awk '{ v[NR] = $1 } END { print v[int(NR * 0.5) + 1], v[int(NR * 0.99) + 1] }')

read -r p50 p99 incomplete removed < <(jq -rs --arg ids "${IDS[*]}" '
	($ids | split(" ")) as $ids |
	[.[] | select(.event == "session-close" and (.session as $s | $ids | index($s)))] as $c |
	($c | map(.duration_ms) | sort) as $d |
	"\($d[(($d | length) * 0.5 | floor)]) \($d[(($d | length) * 0.99 | floor)]) \($c | map(select(.incomplete)) | length) \($c | map(.removed) | add)"' "$P_AUDIT")
left=$(find "$M" -name 's-*' | wc -l)
[ -n "${KEEP_AUDIT:-}" ] && cp "$P_AUDIT" "$KEEP_AUDIT"
# The host floor: the same N hosts opened and released the same way, under a stack of
# pam_permit.so alone: what N sessions' processes waking, closing and exiting cost this
# machine without the module (a paravirtualised guest's context switches and exits).
echo "session required pam_permit.so" >"$P_PAMD/floor"
open_waiting "$N" fl floor
release fl
host_floor_us=$R_US host_floor_bad=$R_BAD
read -r floor_us _ floor_cpu < <(launch "$N")
result "spawn floor: $N x tmpfs-sweep --version (wall ms)" "$(ms "$floor_us")" info
result "spawn floor CPU (ms)" "$(ms "$floor_cpu")" info
result "host floor: $N hosts closing through pam_permit.so alone (wall ms)" "$(ms "$host_floor_us")" info
result "lone close (wall ms)" "$(ms "$lone_us")" info
result "storm of $N closes (wall ms)" "$(ms "$storm_us")" info
result "lone close CPU (ms)" "$(ms "$lone_cpu")" info
result "storm CPU, all closes (ms)" "$(ms "$storm_cpu")" info
result "storm duration_ms p50" "$p50" info
result "storm duration_ms p99" "$p99" info
result "storm close wall as the host saw it (ms) p50" "$close_p50" info
result "storm close wall as the host saw it (ms) p99" "$close_p99" info
result "storm closes began (ms after the release): first, median, last" "$begin_first $begin_p50 $begin_last" info
result "storm closes ended (ms after the release): first, median, last" "$end_first $end_p50 $end_last" info
result "load average" "$(load)" info
result "storm incomplete sessions" "$incomplete" "<= 0"
result "storm session files left" "$left" "<= 0"
result "storm removed files" "$removed of $((N * FILES))" info
result "storm failed closes" "$((storm_bad + lone_bad))" "<= 0"
result "storm/lone close ratio" "$(ratio "$storm_us" "$lone_us")" "<= 3"
result "(storm - host floor)/lone close" "$(ratio "$((storm_us - host_floor_us))" "$lone_us")" info
[ "$incomplete" = 0 ] && [ "$left" = 0 ] && [ "$((storm_bad + lone_bad + host_floor_bad))" = 0 ]
