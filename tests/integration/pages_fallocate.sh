#!/bin/bash
# Issue 11 item 2: pages fallocate(2) allocated and nobody wrote are charged and must be
# attributed (mincore calls them not resident, SEEK_DATA a hole).
# 1. `fallocate -l 64M F` next to a 64 MiB dd G, from a scratch cgroup: scan and explain
#    give F charged_bytes within 1% of 64 MiB, explain >= 99% of the cgroup's shmem; the
#    scan changes no cgroup's shmem or usage, no block of the tmpfs, and the scanner's
#    own cgroup peaks no higher than for an empty mount (+1 MiB).
# 2. A session fallocates 64 MiB under `remove ... class=charged`: the file is removed as
#    class charged with charged_bytes within 1% of 64 MiB in the audit, and the shmem of
#    the session's parent cgroup drops back.
. "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/pam_common.bash"
source "$(dirname "$0")/threat_common.bash"
thr_setup

MiB64=$((64 << 20))
scratch_tmpfs M 256m
scratch_tmpfs empty 1m
scratch_memcg CG
in_memcg "$CG" fallocate -l 64M "$M/F"
in_memcg "$CG" dd if=/dev/zero of="$M/G" bs=1M count=64 status=none
shm0=$(memcg_shmem "$CG") use0=$(memcg_usage "$CG") blk0=$(stat -f -c '%b %f' "$M")
check "128 MiB charged to the scratch cgroup ($shm0)" within 1 "$shm0" $((2 * MiB64))

peak() { # peak memory of a fresh cgroup that ran "$@" (it removes its cgroup itself)
	local cg
	scratch_memcg cg
	in_memcg "$cg" "$@" >/dev/null
	if [ -e "$cg/memory.peak" ]; then cat "$cg/memory.peak"; else cat "$cg/memory.max_usage_in_bytes"; fi
	memcg_remove "$cg"
}
base_peak=$(peak "$SWEEP" scan --mount "$empty" --json)
pk=$(peak "$SWEEP" scan --mount "$M" --json)
check_footprint "scanner cgroup peak grows < 1 MiB over an empty scan ($base_peak -> $pk)" \
	test $((pk - base_peak)) -lt 1048576
"$SWEEP" scan --mount "$M" --cgroup "$(memcg_rel "$CG")" --json >"$T_SCRATCH/scan.jsonl"
check_py "scan: F and G each charged within 1% of 64 MiB" "$T_SCRATCH/scan.jsonl" "$M" <<'PY'
import json, sys
rows = {r["path"]: r for r in map(json.loads, open(sys.argv[1]))}
for n in "FG":
    r = rows[sys.argv[2] + "/" + n]
    assert abs(r["charged_bytes"] - (64 << 20)) <= (64 << 20) // 100, r
    assert r["unknown_bytes"] == 0 and "unknown" not in r, r
PY
"$SWEEP" explain "$CG" --json >"$T_SCRATCH/explain.json"
check_py "explain: >= 99% of the cgroup's shmem, F within 1% of 64 MiB" "$T_SCRATCH/explain.json" "$M/F" <<'PY'
import json, sys
x = json.load(open(sys.argv[1]))
assert x["explained_bytes"] >= 0.99 * x["shmem"], (x["explained_bytes"], x["shmem"])
f = [h for h in x["files"] if h["path"] == sys.argv[2]]
assert f and abs(f[0]["charged_bytes"] - (64 << 20)) <= (64 << 20) // 100, f
PY
shm1=$(memcg_shmem "$CG") use1=$(memcg_usage "$CG")
check "shmem of the cgroup unchanged by the scans ($shm0 -> $shm1)" test "$shm1" = "$shm0"
check "usage of the cgroup did not grow in the scans ($use0 -> $use1)" test "$use1" -le "$use0"
check "no block of the tmpfs allocated or freed ($blk0)" test "$(stat -f -c '%b %f' "$M")" = "$blk0"
check "F still has its 64 MiB of blocks, and reads as zeros" \
	eval 'test "$(stat -c %b "$M/F")" = $((MiB64 / 512)) && cmp -s -n $MiB64 "$M/F" /dev/zero'

# Pages past the end (fallocate --keep-size) cannot be mapped: unknown, and named so.
scratch_memcg CG2
touch "$M/K"
in_memcg "$CG2" fallocate -n -l 4M "$M/K"
"$SWEEP" scan --mount "$M" --json >"$T_SCRATCH/scan2.jsonl"
"$SWEEP" explain "$CG2" --json >"$T_SCRATCH/explain2.json"
check_py "past the end: scan and explain count them as unknown, beyond-eof" \
	"$T_SCRATCH/scan2.jsonl" "$T_SCRATCH/explain2.json" "$M/K" <<'PY'
import json, sys
rows = {r["path"]: r for r in map(json.loads, open(sys.argv[1]))}
k = rows[sys.argv[3]]
assert k["resident_bytes"] == 0 and k["unknown_bytes"] == 4 << 20, k
assert k["unknown"] == "beyond-eof", k
x = json.load(open(sys.argv[2]))
assert x["unattributed_bytes"] >= 4 << 20 and "beyond-eof" in x["unattributed"], x
PY

# 2. Through a session and its close.
echo "remove $P_SHM/** class=charged" >>"$P_CONF"
cat >"$T_SCRATCH/shm.sh" <<EOF
#!/bin/sh
if [ -e "$P_CG/memory.current" ]; then k=shmem; else k=total_shmem; fi
echo "shm_mid=\$(awk -v k=\$k '\$1 == k {print \$2}' "$P_CG/memory.stat")"
EOF
chmod 755 "$T_SCRATCH/shm.sh"
F=$P_SHM/falloc.bin
shm_before=$(memcg_shmem "$P_CG")
session "$U1" "$T_SCRATCH/s.out" \
	"run:$(as "$U1" fallocate -l 64M "$F")" \
	"run:$T_SCRATCH/shm.sh"
shm_mid=$(kv "$T_SCRATCH/s.out" shm_mid)
shm_after=$(memcg_shmem "$P_CG")
check "the session's 64 MiB were charged ($shm_before -> ${shm_mid:-?})" \
	test "${shm_mid:-0}" -ge $((shm_before + MiB64 * 99 / 100))
check "removed by the class=charged rule" expect_result "$F" removed
check "gone" test ! -e "$F"
check "audit: class charged, charged_bytes within 1% of 64 MiB ($(ffield "$F" charged_bytes))" \
	eval 'test "$(ffield "$F" class)" = charged && within 1 "$(ffield "$F" charged_bytes)" $MiB64'
check "shmem of the session's parent cgroup dropped back (${shm_mid:-?} -> $shm_after)" \
	test "$shm_after" -le $((shm_before + (1 << 20)))
finish
