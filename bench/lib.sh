# bench/lib.sh: shared helpers of the benchmarks. Sourced after tests/lib.sh, which
# gives the scratch resources (scratch_tmpfs, scratch_memcg, in_memcg, at_exit) and
# removes them at exit even on failure.
#
# A benchmark is a ratio against an anchor measured in the same run, alternating the
# two so that machine noise (other jobs, frequency changes) hits both alike. Each
# script prints result lines `NAME: VALUE (goal ...)` for the figures with a goal and
# `NAME: VALUE (info)` for the context (medians, anchors).
# shellcheck shell=bash
BENCH_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TOP=$BENCH_TOP
# shellcheck source=../tests/lib.sh
. "$BENCH_TOP/tests/lib.sh"
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

# time_us VAR CMD...: run CMD, store its wall time in microseconds in VAR. No fork for
# the clock (EPOCHREALTIME), so the anchor and the subject pay the same overhead.
time_us() {
	local __v=$1 t0 t1; shift
	t0=${EPOCHREALTIME/./}
	"$@" || { echo "bench: failed: $*" >&2; return 1; }
	t1=${EPOCHREALTIME/./}
	printf -v "$__v" '%s' $((t1 - t0))
}

# median N...: the median of its arguments (mean of the middle two for an even count).
median() {
	printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 }
		END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# fmt A / B with D decimals: ratio A B [D]
ratio() { awk -v a="$1" -v b="$2" -v d="${3:-2}" 'BEGIN { printf "%.*f\n", d, a / b }'; }
# us -> ms with one decimal
ms() { awk -v u="$1" 'BEGIN { printf "%.1f\n", u / 1000 }'; }

# peak_rss_kib CMD...: the maximum RSS of CMD in KiB (GNU time's %M), CMD's stdout dropped.
peak_rss_kib() {
	local f=$T_SCRATCH/rss.$$
	/usr/bin/time -f %M -o "$f" "$@" >/dev/null || { echo "bench: failed: $*" >&2; return 1; }
	tail -n 1 "$f"
}

bench_need() {
	need_root
	[ -x "$SWEEP" ] || skip_all "bench: $SWEEP not built (make)"
	[ -x /usr/bin/time ] || skip_all "bench: /usr/bin/time missing (apt-get install time)"
	memcg_mnt >/dev/null || skip_all "bench: no memory cgroup controller"
}
