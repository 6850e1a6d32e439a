# bench/lib.sh: shared helpers of the benchmarks. Sourced after tests/lib.sh, which
# gives the scratch resources (scratch_tmpfs, scratch_memcg, in_memcg, at_exit) and
# removes them at exit even on failure.
#
# A benchmark is a ratio against an anchor measured in the same run, alternating the
# two so that machine noise (other jobs, frequency changes) hits both alike. Each
# script prints result lines `NAME: VALUE (goal ...)` for the figures with a goal and
# `NAME: VALUE (info)` for the context (medians, anchors).
# shellcheck shell=bash
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	echo "bench/lib.sh is sourced by the benchmarks, not a benchmark" >&2
	exit 77
fi
BENCH_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck disable=SC2034 # TOP is read by tests/lib.sh, BENCH_BIN by the benchmarks
TOP=$BENCH_TOP
# shellcheck source=/dev/null
. "$BENCH_TOP/tests/lib.sh"
# shellcheck disable=SC2034
BENCH_BIN=$B/bench
ROUNDS=${ROUNDS:-7}

# result NAME VALUE GOAL: one result line; GOAL is "<= 1.0", ">= 5 GiB/s", or "info".
result() {
	if [ "$3" = info ]; then
		printf '%s: %s (info)\n' "$1" "$2"
	else
		printf '%s: %s (goal %s)\n' "$1" "$2" "$3"
	fi
}

# measure WALL_VAR CPU_VAR CMD...: run CMD (stdout to /dev/null), store its wall time and
# its CPU time (user + system of CMD and its children, from wait4) in microseconds. The
# clock starts after the measuring process is up, so start-up is not counted for anyone.
# CPU time stays meaningful on a busy machine, where wall time mostly measures the load.
measure() {
	local __w=$1 __c=$2 out cmd wall cpu rc; shift 2
	cmd=$*
	out=$(python3 -c '
import os, sys, time
t0 = time.monotonic_ns()
pid = os.fork()
if pid == 0:
    fd = os.open("/dev/null", os.O_WRONLY)
    os.dup2(fd, 1)
    try:
        os.execvp(sys.argv[1], sys.argv[1:])
    finally:
        os._exit(127)
_, status, ru = os.wait4(pid, 0)
t1 = time.monotonic_ns()
print((t1 - t0) // 1000, int((ru.ru_utime + ru.ru_stime) * 1e6), os.waitstatus_to_exitcode(status))
' "$@") || return 1
	read -r wall cpu rc <<<"$out"
	[ "$rc" = 0 ] || { echo "bench: failed (exit $rc): $cmd" >&2; return 1; }
	printf -v "$__w" '%s' "$wall"
	printf -v "$__c" '%s' "$cpu"
}

# median N...: the median of its arguments (mean of the middle two for an even count).
median() {
	printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 }
		END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# ratio A B [D]: A / B with D decimals (default 2)
ratio() { awk -v a="$1" -v b="$2" -v d="${3:-2}" 'BEGIN { printf "%.*f\n", d, a / b }'; }
# us -> ms with one decimal
ms() { awk -v u="$1" 'BEGIN { printf "%.1f\n", u / 1000 }'; }

# load: the 1-minute load average, printed with the results (wall times depend on it)
load() { cut -d' ' -f1 /proc/loadavg; }

# peak_rss_kib CMD...: the maximum RSS of CMD in KiB (GNU time's %M), CMD's stdout dropped.
peak_rss_kib() {
	local f=$T_SCRATCH/rss.$$
	/usr/bin/time -f %M -o "$f" "$@" >/dev/null || { echo "bench: failed: $*" >&2; return 1; }
	tail -n 1 "$f"
}

bench_need() {
	need_root
	command -v jq >/dev/null || skip_all "bench: jq missing (apt-get install jq)"
	[ -x "$SWEEP" ] || skip_all "bench: $SWEEP not built (make)"
	[ -x /usr/bin/time ] || skip_all "bench: /usr/bin/time missing (apt-get install time)"
	memcg_mnt >/dev/null || skip_all "bench: no memory cgroup controller"
}

# bench_tree ROOT FILES DIRS UID_EVEN UID_ODD: FILES empty files in DIRS directories
# (mode 1777) under ROOT, from one python process (root, then chown): the even
# directories' files owned by UID_EVEN, the odd ones' by UID_ODD.
bench_tree() {
	python3 - "$@" <<'PY'
import os, sys
root, files, dirs, u, o = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
per = files // dirs
for d in range(dirs):
    dp = "%s/d%04d" % (root, d)
    os.mkdir(dp)
    os.chmod(dp, 0o1777)
    owner = u if d % 2 == 0 else o
    for f in range(per):
        p = "%s/f%05d" % (dp, f)
        os.close(os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
        os.chown(p, owner, owner)
PY
}
