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
# `tmpfs-sweep close ID`, all N started at once by one launcher, which times them from the
# first start to the last exit. The lone close is timed the same way, alone.
# Usage (root): B=build bench/storm.sh      env: N, OTHERS, DIRS, FILES, PAR, PROFILE,
# STDERR_LOG (a file the closes' stderr goes to), KEEP_AUDIT (a copy of the audit log)
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

# launch ID...: start one close per id at once; prints the wall time (us) from the
# first start to the last exit, and fails if any close failed.
cat >"$T_SCRATCH/launch.py" <<'PY'
import os, sys, time
sweep, conf, ids = sys.argv[1], sys.argv[2], sys.argv[3:]
null = os.open("/dev/null", os.O_RDWR)
err = os.open(os.environ["STDERR_LOG"], os.O_WRONLY | os.O_APPEND | os.O_CREAT) if os.environ.get("STDERR_LOG") else null
acts = [(os.POSIX_SPAWN_DUP2, null, 0), (os.POSIX_SPAWN_DUP2, null, 1), (os.POSIX_SPAWN_DUP2, err, 2)]
t0 = time.monotonic_ns()
# posix_spawn (vfork): starting N closes costs the launcher next to nothing
pids = [os.posix_spawn(sweep, [sweep, "close", i, "--conf", conf], os.environ, file_actions=acts)
        for i in ids]
bad = 0
for pid in pids:
    _, st = os.waitpid(pid, 0)
    bad += os.waitstatus_to_exitcode(st) != 0
print((time.monotonic_ns() - t0) // 1000, bad)
PY

open_sessions 1 lone
# shellcheck disable=SC2046 # one id
read -r lone_us lone_bad < <(python3 "$T_SCRATCH/launch.py" "$SWEEP" "$P_CONF" $(ls "$P_STATE/sessions"))
open_sessions "$N" st
mapfile -t IDS < <(ls "$P_STATE/sessions") # the lone one is closed: the storm's
[ "${#IDS[@]}" = "$N" ] || { echo "bench: ${#IDS[@]} sessions opened, $N wanted" >&2; exit 1; }
# PROFILE="perf record -g -o /tmp/storm.perf" (or "strace -c -f -o FILE"): the storm
# runs under that command.
# shellcheck disable=SC2086 # PROFILE is a command line
read -r storm_us storm_bad < <(${PROFILE:-} python3 "$T_SCRATCH/launch.py" "$SWEEP" "$P_CONF" "${IDS[@]}")

read -r p50 p99 incomplete removed < <(jq -rs --arg ids "${IDS[*]}" '
	($ids | split(" ")) as $ids |
	[.[] | select(.event == "session-close" and (.session as $s | $ids | index($s)))] as $c |
	($c | map(.duration_ms) | sort) as $d |
	"\($d[(($d | length) * 0.5 | floor)]) \($d[(($d | length) * 0.99 | floor)]) \($c | map(select(.incomplete)) | length) \($c | map(.removed) | add)"' "$P_AUDIT")
left=$(find "$M" -name 's-*' | wc -l)
[ -n "${KEEP_AUDIT:-}" ] && cp "$P_AUDIT" "$KEEP_AUDIT"
result "lone close (wall ms)" "$(ms "$lone_us")" info
result "storm of $N closes (wall ms)" "$(ms "$storm_us")" info
result "storm duration_ms p50" "$p50" info
result "storm duration_ms p99" "$p99" info
result "load average" "$(load)" info
result "storm incomplete sessions" "$incomplete" "<= 0"
result "storm session files left" "$left" "<= 0"
result "storm removed files" "$removed of $((N * FILES))" info
result "storm failed closes" "$((storm_bad + lone_bad))" "<= 0"
result "storm/lone close ratio" "$(ratio "$storm_us" "$lone_us")" "<= 3"
[ "$incomplete" = 0 ] && [ "$left" = 0 ] && [ "$((storm_bad + lone_bad))" = 0 ]
