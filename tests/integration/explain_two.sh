#!/bin/bash
# Two cgroups write two files into one tmpfs: each explain names only its own file.
. "$(dirname "$0")/../lib.sh"
need_root

scratch_tmpfs mnt 200m
scratch_memcg a
scratch_memcg b
in_memcg "$a" dd if=/dev/zero of="$mnt/a.bin" bs=1M count=30 status=none
in_memcg "$b" dd if=/dev/zero of="$mnt/b.bin" bs=1M count=20 status=none
# A third file written partly from each: both cgroups see their share of it.
in_memcg "$a" dd if=/dev/zero of="$mnt/shared.bin" bs=1M count=4 status=none
in_memcg "$b" dd if=/dev/zero of="$mnt/shared.bin" bs=1M count=6 seek=4 conv=notrunc status=none

"$SWEEP" explain "$a" --json >"$T_SCRATCH/a.json"
"$SWEEP" explain "$b" --json >"$T_SCRATCH/b.json"
check_py "a: a.bin 30 MiB and 4 MiB of shared.bin, never b.bin" "$T_SCRATCH/a.json" "$mnt" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); m = sys.argv[2]
got = {f["path"]: f["charged_bytes"] for f in d["files"] if f["path"].startswith(m + "/")}
assert got == {m + "/a.bin": 30 << 20, m + "/shared.bin": 4 << 20}, got
PY
check_py "b: b.bin 20 MiB and 6 MiB of shared.bin, never a.bin" "$T_SCRATCH/b.json" "$mnt" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); m = sys.argv[2]
got = {f["path"]: f["charged_bytes"] for f in d["files"] if f["path"].startswith(m + "/")}
assert got == {m + "/b.bin": 20 << 20, m + "/shared.bin": 6 << 20}, got
PY

# scan --cgroup filters the same way, and scan without it shows both charges of shared.bin.
"$SWEEP" scan --mount "$mnt" --cgroup "$a" --json >"$T_SCRATCH/scan-a.jsonl"
check "scan --cgroup a lists a.bin and shared.bin only" \
	test "$(python3 -c 'import json,sys; print(" ".join(sorted(json.loads(l)["path"].rsplit("/",1)[1] for l in open(sys.argv[1]))))' "$T_SCRATCH/scan-a.jsonl")" = "a.bin shared.bin"
"$SWEEP" scan --mount "$mnt" --json >"$T_SCRATCH/scan.jsonl"
check_py "scan: shared.bin has two charges, to a and b" "$T_SCRATCH/scan.jsonl" "$(memcg_rel "$a")" "$(memcg_rel "$b")" <<'PY'
import json, sys
rows = {json.loads(l)["path"].rsplit("/", 1)[1]: json.loads(l) for l in open(sys.argv[1])}
ch = {c["cgroup"]: c["bytes"] for c in rows["shared.bin"]["charges"]}
assert ch == {sys.argv[2]: 4 << 20, sys.argv[3]: 6 << 20}, ch
assert rows["shared.bin"]["resident_bytes"] == 10 << 20
PY
finish
