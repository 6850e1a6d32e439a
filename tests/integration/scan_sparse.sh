#!/bin/bash
# A 1 TiB sparse file with 3 data pages: the scan reports exactly those 3 pages and
# faults in no hole: the scanner's RSS, its cgroup's peak usage, the tmpfs's blocks
# and the writer cgroup's usage grow by less than 1 MiB.
. "$(dirname "$0")/../lib.sh"
need_root

scratch_tmpfs mnt 64m
scratch_tmpfs empty 1m
scratch_memcg writer
f=$mnt/sparse
truncate -s 1T "$f"
for off in 0 $((1 << 27)) $(((1 << 28) - 1)); do # in 4 KiB blocks: 0, 512 GiB, 1 TiB - 4 KiB
	in_memcg "$writer" dd if=/dev/urandom of="$f" bs=4096 count=1 seek=$off conv=notrunc status=none
done
check "the file is 1 TiB with 3 allocated pages" test "$(stat -c '%s %b' "$f")" = "1099511627776 24"

peak() { # peak memory of a fresh cgroup that ran "$@": v1 max_usage_in_bytes, v2 memory.peak
	# runs in $(...): a subshell's at_exit would be lost, so it removes its cgroup itself
	local cg
	scratch_memcg cg
	in_memcg "$cg" "$@" >/dev/null
	if [ -e "$cg/memory.peak" ]; then cat "$cg/memory.peak"; else cat "$cg/memory.max_usage_in_bytes"; fi
	memcg_remove "$cg"
}
used_before=$(stat -f -c '%b %f' "$mnt")
writer_before=$(memcg_usage "$writer")
base_rss=$(/usr/bin/time -f %M "$SWEEP" scan --mount "$empty" --json 2>&1 >/dev/null)
base_peak=$(peak "$SWEEP" scan --mount "$empty" --json)

timeout 60 "$SWEEP" scan --mount "$mnt" --json >"$T_SCRATCH/out.jsonl"
check "scan finishes (rc $?)" test $? -eq 0
check_py "scan reports 3 resident pages, charged to the writer" "$T_SCRATCH/out.jsonl" "$(memcg_rel "$writer")" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert len(rows) == 1 and rows[0]["size"] == 1 << 40, rows
assert rows[0]["resident_bytes"] == 3 * 4096, rows[0]
assert rows[0]["charges"] == [{"cgroup": sys.argv[2], "ino": rows[0]["charges"][0]["ino"], "bytes": 3 * 4096}], rows[0]
PY
rss=$(/usr/bin/time -f %M "$SWEEP" scan --mount "$mnt" --json 2>&1 >/dev/null)
pk=$(peak "$SWEEP" scan --mount "$mnt" --json)
check_footprint "scanner peak RSS grows < 1 MiB over an empty scan (${base_rss} -> ${rss} KiB)" \
	test $((rss - base_rss)) -lt 1024
check_footprint "scanner cgroup peak grows < 1 MiB over an empty scan (${base_peak} -> ${pk})" \
	test $((pk - base_peak)) -lt 1048576
check "the tmpfs allocated nothing: blocks before/after ($used_before)" \
	test "$(stat -f -c '%b %f' "$mnt")" = "$used_before"
check "the file still has only its 3 pages" test "$(stat -c %b "$f")" = 24
writer_after=$(memcg_usage "$writer")
check "the writer cgroup's usage grew < 1 MiB ($writer_before -> $writer_after)" \
	test $((writer_after - writer_before)) -lt 1048576
finish
