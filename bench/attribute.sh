#!/bin/bash
# bench/attribute.sh: page attribution throughput on one fully resident file.
# A scratch tmpfs holds one SIZE_MIB (default 1024) file written from a scratch memory
# cgroup. Timed, ROUNDS rounds each, alternating, medians:
#   - `tmpfs-sweep scan --mount M --json` (a mount holding only that file: start-up,
#     walk and attribution, output one line), goal >= 5 GiB/s;
#   - build/bench/attribute (pages_scan_fd() in a loop in one process: attribution
#     alone), when built (make bench);
#   - the anchor, `cat FILE >/dev/null`: reading the same bytes once, printed as the
#     ratio attribute/cat (> 1: attributing is faster than reading the file).
# Usage (root): B=build bench/attribute.sh    env: SIZE_MIB, ROUNDS
# shellcheck source=/dev/null
. "$(dirname "$0")/lib.sh"
bench_need

SIZE_MIB=${SIZE_MIB:-1024}
scratch_tmpfs M "$((SIZE_MIB + 64))m" || skip_all "bench: cannot mount a scratch tmpfs"
scratch_memcg CG || skip_all "bench: cannot make a scratch memory cgroup"
F=$M/resident.img
in_memcg "$CG" dd if=/dev/zero of="$F" bs=1M count="$SIZE_MIB" status=none ||
	{ echo "bench: cannot write $F" >&2; exit 1; }
bytes=$((SIZE_MIB << 20))

# Before timing: the file is resident and scan attributes all of it to the cgroup.
res=$("$SWEEP" scan --mount "$M" --json | jq -r '.resident_bytes')
[ "$res" = "$bytes" ] || echo "bench: warning: scan found $res resident bytes, expected $bytes" >&2
result "attribute file" "$SIZE_MIB MiB, $(($(memcg_shmem "$CG") >> 20)) MiB charged to the scratch cgroup" info

gibs() { awk -v b="$bytes" -v u="$1" 'BEGIN { printf "%.2f", b / 1073741824 / (u / 1e6) }'; }
SCAN=("$SWEEP" scan --mount "$M" --json)
CAT=(cat "$F")

measure w c "${SCAN[@]}" && measure w c "${CAT[@]}" || exit 1 # warm both
sw_all=() sc_all=() aw_all=() ac_all=()
for ((i = 0; i < ROUNDS; i++)); do
	measure w c "${SCAN[@]}" || exit 1
	sw_all+=("$w") sc_all+=("$c")
	measure w c "${CAT[@]}" || exit 1
	aw_all+=("$w") ac_all+=("$c")
done
sw=$(median "${sw_all[@]}") sc=$(median "${sc_all[@]}")
aw=$(median "${aw_all[@]}") ac=$(median "${ac_all[@]}")
result "load average" "$(load)" info
result "attribute (scan)" "$(gibs "$sw") GiB/s" ">= 5 GiB/s"
result "attribute (scan, cpu)" "$(gibs "$sc") GiB/s" ">= 5 GiB/s"
result "cat read" "$(gibs "$aw") GiB/s, cpu $(gibs "$ac") GiB/s" info
result "attribute/cat ratio (scan)" "$(ratio "$aw" "$sw"), cpu $(ratio "$ac" "$sc")" info

if [ -x "$BENCH_BIN/attribute" ]; then
	# In one process, without start-up and walk. The first round maps the pages into
	# our page tables for the first time like every scan does; all rounds count.
	out=$("$BENCH_BIN/attribute" "$F" "$ROUNDS") || exit 1
	mapfile -t lw_all < <(awk '$1 == "round" { print int($2 / 1000) }' <<<"$out")
	mapfile -t lc_all < <(awk '$1 == "round" { print int($3 / 1000) }' <<<"$out")
	lw=$(median "${lw_all[@]}") lc=$(median "${lc_all[@]}")
	result "attribute (pages_scan_fd)" "$(gibs "$lw") GiB/s" ">= 5 GiB/s"
	result "attribute (pages_scan_fd, cpu)" "$(gibs "$lc") GiB/s" ">= 5 GiB/s"
	result "attribute/cat ratio (pages_scan_fd)" "$(ratio "$aw" "$lw"), cpu $(ratio "$ac" "$lc")" info
fi
rss=$(peak_rss_kib "${SCAN[@]}") || exit 1
result "attribute peak RSS" "$(awk -v k="$rss" 'BEGIN { printf "%.1f", k / 1024 }') MiB" "<= 8 MiB"
