#!/bin/bash
# bench/gc_deferred.sh: what gc costs when many deferred records of one user fall due at
# once (issue 15 §2, THREATS 36: 600 logins while one session stayed open, then that
# session ends). Subject: `tmpfs-sweep gc` over RECORDS (default 600) due deferred records;
# anchor: `tmpfs-sweep gc` over 1 such record; both on the same tree of OTHERS files
# (default 100,000, empty, in DIRS directories: half the records' user's, older than its
# sessions, half a second user's). Each sweep walked the tree on its own before gc shared
# one walk per mount among the records of a run (lib/coalesce.c): then the ratio was about
# RECORDS; now it is what the records add to one walk. Goal: ratio <= 3 (wall and CPU).
#
# The records: one real session of the user (through the module) that writes nothing and
# is left without close; its record made deferred (end_ns = just after), and copied
# RECORDS times under other ids before each subject round (once before each anchor round),
# as scale_deferred does. After each round: no record left, one gc session-close line per
# record, the tree untouched (count and fingerprint). Rounds alternate, ROUNDS of each
# (default 7), medians.
# Usage (root): B=build bench/gc_deferred.sh      env: ROUNDS, OTHERS, DIRS, RECORDS, PROFILE
# shellcheck source=/dev/null
. "$(dirname "$0")/lib.sh"
bench_need
. "$BENCH_TOP/tests/integration/pam_common.bash"
. "$BENCH_TOP/tests/integration/threat_common.bash"
thr_setup
scratch_user O || skip_all "bench: cannot make a scratch user"
M=$P_SHM
OTHERS=${OTHERS:-100000}
DIRS=${DIRS:-1000}
N=${RECORDS:-600}
[ "$ROUNDS" -ge 1 ] || ROUNDS=1
printf 'Watch %s\nStateDir %s\nAuditLog %s\nMetricsFile none\nTimeout 120s\n' \
	"$M" "$P_STATE" "$P_AUDIT" >"$P_CONF"
printf 'OtherSessions defer\nremove %s/** class=charged,created\n' "$M" >>"$P_CONF"
"$SWEEP" check-config "$P_CONF" >/dev/null || { echo "bench: the policy does not check" >&2; exit 1; }

bench_tree "$M" "$OTHERS" "$DIRS" "$U1_ID" "$(id -u "$O")" ||
	{ echo "bench: tree failed" >&2; exit 1; }
sleep 0.1 # the session starts after the tree's files were born
tree_sum() { find "$M" -printf '%p %i %U\n' | sort | md5sum | cut -d' ' -f1; }
SUM0=$(tree_sum)
result "gc_deferred tree" "$(find "$M" -type f | wc -l) files in $DIRS dirs; $N records vs 1" info

open_only "$U1" "$T_SCRATCH/open.out"
rec=$P_STATE/sessions/$SID
[ -n "$SID" ] && [ -e "$rec" ] || { echo "bench: no record" >&2; cat "$T_SCRATCH/open.out" >&2; exit 1; }
end=$(($(date +%s%N) + 1000000))
sed -e 's/^state=.*/state=deferred/' -e '/^end_ns=/d' "$rec" >"$T_SCRATCH/template"
echo "end_ns=$end" >>"$T_SCRATCH/template"
rm -f "$rec"

# records K: K copies of the template, due (the user has no session left).
records() {
	local i id
	for ((i = 1; i <= $1; i++)); do
		id=9$i-$((1700000000000000000 + i))
		sed "s/^id=.*/id=$id/" "$T_SCRATCH/template" >"$P_STATE/sessions/$id"
	done
	chmod 600 "$P_STATE"/sessions/*
}
bad=0
check_after() { # K: what the round swept
	local n
	n=$(n_records)
	[ "$n" = 0 ] || { echo "bench: $n records left after gc of $1" >&2; bad=1; }
	n=$(jq -c 'select(.event == "session-close" and .trigger == "gc")' "$P_AUDIT" | wc -l)
	[ "$n" = "$1" ] || { echo "bench: $n gc session-close lines for $1 records" >&2; bad=1; }
	[ "$(tree_sum)" = "$SUM0" ] || { echo "bench: the tree changed" >&2; bad=1; }
	: >"$P_AUDIT"
}
round() { # K
	records "$1"
	: >"$P_AUDIT"
	measure w c "$SWEEP" gc --conf "$P_CONF" || exit 1
	check_after "$1"
}

round "$N" && round 1 # warm both
sw=() sc=() aw=() ac=()
for ((i = 0; i < ROUNDS; i++)); do
	round "$N"
	sw+=("$w") sc+=("$c")
	round 1
	aw+=("$w") ac+=("$c")
done
mw=$(median "${sw[@]}") mc=$(median "${sc[@]}")
nw=$(median "${aw[@]}") nc=$(median "${ac[@]}")
result "gc of $N records (wall ms)" "$(for v in "${sw[@]}"; do printf '%s ' "$(ms "$v")"; done)" info
result "gc of 1 record (wall ms)" "$(for v in "${aw[@]}"; do printf '%s ' "$(ms "$v")"; done)" info
result "gc of $N records median" "wall $(ms "$mw") ms, cpu $(ms "$mc") ms" info
result "gc of 1 record median" "wall $(ms "$nw") ms, cpu $(ms "$nc") ms" info
result "load average" "$(load)" info
result "gc_deferred correctness" "$([ $bad = 0 ] && echo "every round: every record swept, one line each, tree untouched" ||
	echo FAILED)" info
result "gc_deferred ratio" "$(ratio "$mw" "$nw")" "<= 3"
result "gc_deferred cpu ratio" "$(ratio "$mc" "$nc")" "<= 3"
# PROFILE="perf record -g -e cpu-clock -o /tmp/gc.perf" (or "strace -c -f -o FILE"): one
# more gc of RECORDS records, under that command, after the timed rounds.
if [ -n "${PROFILE:-}" ]; then
	records "$N"
	# shellcheck disable=SC2086 # PROFILE is a command line
	$PROFILE "$SWEEP" gc --conf "$P_CONF" >/dev/null
	check_after "$N"
fi
exit "$bad"
