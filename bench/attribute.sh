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
scan() { "$SWEEP" scan --mount "$M" --json >/dev/null; }
anchor() { cat "$F" >/dev/null; }

scan; anchor
ts=() ta=()
for ((i = 0; i < ROUNDS; i++)); do
	time_us t scan || exit 1
	ts+=("$t")
	time_us t anchor || exit 1
	ta+=("$t")
done
us_scan=$(median "${ts[@]}")
us_cat=$(median "${ta[@]}")
result "attribute (scan)" "$(gibs "$us_scan") GiB/s" ">= 5 GiB/s"
result "cat read" "$(gibs "$us_cat") GiB/s" info
result "attribute/cat ratio (scan)" "$(ratio "$us_cat" "$us_scan")" info

if [ -x "$BENCH_BIN/attribute" ]; then
	# In-process: the first round maps the pages into our page tables for the first
	# time; later rounds are the steady state. Report the median of all rounds.
	out=$("$BENCH_BIN/attribute" "$F" "$ROUNDS") || exit 1
	ns=$(awk '$1 == "round" { print $2 }' <<<"$out")
	# shellcheck disable=SC2086
	us_lib=$(($(median $ns) / 1000))
	result "attribute (pages_scan_fd)" "$(gibs "$us_lib") GiB/s" ">= 5 GiB/s"
	result "attribute/cat ratio (pages_scan_fd)" "$(ratio "$us_cat" "$us_lib")" info
fi
rss=$(peak_rss_kib "$SWEEP" scan --mount "$M" --json) || exit 1
result "attribute peak RSS" "$(awk -v k="$rss" 'BEGIN { printf "%.1f", k / 1024 }') MiB" "<= 8 MiB"
