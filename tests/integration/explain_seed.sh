#!/bin/bash
# The seed scenario of DESIGN.md: a process in a child cgroup writes 100 MiB to a tmpfs
# and exits; `explain` on the parent names the file, the bytes and the child holding them.
. "$(dirname "$0")/../lib.sh"
need_root

scratch_tmpfs mnt 300m
scratch_memcg parent
mkdir "$parent/child"
in_memcg "$parent/child" dd if=/dev/zero of="$mnt/test.img" bs=10240 count=10240 status=none
want=$((100 * 1024 * 1024))
# memory.stat is flushed lazily (per-cpu counters): give it a moment to catch up.
shmem_near() { shmem=$(memcg_shmem "$parent"); within 1 "$shmem" "$1"; }
wait_for 10 shmem_near "$want"
check "the cgroup holds the file's shmem after dd exited ($shmem)" within 1 "$shmem" "$want"

rel=$(memcg_rel "$parent")
for spec in "$parent" "$rel" "${rel#/}"; do
	"$SWEEP" explain "$spec" --json >"$T_SCRATCH/out.json"
	check "explain $spec exits 0" test $? -eq 0
	check_py "explain $spec: file, 100 MiB within 1%, held by child, >= 99% explained" \
		"$T_SCRATCH/out.json" "$mnt/test.img" "$want" "$rel/child" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
path, want, child = sys.argv[2], int(sys.argv[3]), sys.argv[4]
files = [f for f in d["files"] if f["path"] == path]
assert len(files) == 1, ("file not named", d["files"])
f = files[0]
assert abs(f["charged_bytes"] - want) <= want / 100, ("charged", f["charged_bytes"])
assert f["cgroup"] == child, ("holder", f["cgroup"], child)
assert f["size"] == want and f["uid"] == 0 and f["kind"] == "file"
assert d["explained_bytes"] >= 0.99 * d["shmem"], ("explained", d["explained_bytes"], d["shmem"])
PY
done

# The human form says the same in words.
"$SWEEP" explain "$parent" >"$T_SCRATCH/human.txt"
check "human output names the file" grep -q "$mnt/test.img" "$T_SCRATCH/human.txt"
check "human output ends with the explained line" grep -qE '^explained 100\.0M of 100\.0M shmem' "$T_SCRATCH/human.txt"

rm "$mnt/test.img"
"$SWEEP" explain "$parent" --json >"$T_SCRATCH/after.json"
check "after rm the file is gone from the answer" \
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(any(f["path"].endswith("test.img") for f in d["files"]))' "$T_SCRATCH/after.json"
shmem_low() { shmem=$(memcg_shmem "$parent"); test "$shmem" -lt 1048576; }
wait_for 10 shmem_low
check "and the cgroup's shmem dropped ($shmem)" test "$shmem" -lt 1048576
finish
