#!/bin/bash
# Shmem that no path reaches: a memfd held by a sleeping process and a SysV segment
# left behind by a process that exited, both charged to the cgroup, both in explain; an
# anonymous shared mapping and a SysV segment a process keeps attached, each named as what
# it is.
. "$(dirname "$0")/../lib.sh"
need_root

scratch_memcg cg
fifo=$T_SCRATCH/ready
mkfifo "$fifo"
# sh execs the tool: $! is its pid
sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$cg" "$B/tools/eng_memfd" tsw-explain-memfd 20 >"$fifo" &
pid=$!
at_exit "kill -9 $pid"
read -r line <"$fifo"
check "memfd holder ready" test "$line" = ready
shmid=$(in_memcg "$cg" "$B/tools/eng_sysvshm" 10)
at_exit "ipcrm -m $shmid"
check "SysV segment created" test -n "$shmid"

# Issue 11 item 7: anonymous shared memory (PostgreSQL's main segment) is named as such,
# not as a deleted file; a SysV segment reads the same attached (by a process) or not.
shmid2=$(in_memcg "$cg" "$B/tools/eng_sysvshm" 3)
at_exit "ipcrm -m $shmid2"
mkfifo "$T_SCRATCH/ready2"
sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$cg" "$B/tools/eng_anonshm" 6 "$shmid2" \
	>"$T_SCRATCH/ready2" &
apid=$!
at_exit "kill -9 $apid"
read -r line <"$T_SCRATCH/ready2"
check "anonymous shared memory holder ready" test "$line" = ready

"$SWEEP" explain "$cg" --json >"$T_SCRATCH/out.json"
check_py "memfd (20 MiB, pid) and SysV segment (10 MiB) named; >= 99% explained" \
	"$T_SCRATCH/out.json" "$pid" "$shmid" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); pid = int(sys.argv[2]); shmid = sys.argv[3]
memfd = [f for f in d["files"] if f["kind"] == "memfd" and "tsw-explain-memfd" in f["path"]]
assert len(memfd) == 1, d["files"]
assert memfd[0]["charged_bytes"] == 20 << 20 and memfd[0]["pid"] == pid, memfd
sysv = [f for f in d["files"] if f["kind"] == "sysv" and f["path"].endswith("id=" + shmid)]
assert len(sysv) == 1, d["files"]
assert sysv[0]["charged_bytes"] == 10 << 20, sysv
assert d["explained_bytes"] >= 0.99 * d["shmem"], (d["explained_bytes"], d["shmem"])
PY
check_py "anonymous shared memory named as such (6 MiB, its holder), no deleted file" \
	"$T_SCRATCH/out.json" "$apid" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); pid = int(sys.argv[2])
anon = [f for f in d["files"] if f["kind"] == "anon-shared"]
assert len(anon) == 1, d["files"]
assert anon[0]["charged_bytes"] == 6 << 20 and anon[0]["pid"] == pid, anon
assert anon[0]["path"].startswith("anonymous shared memory ino="), anon
assert not [f for f in d["files"] if "/dev/zero" in f["path"] or f["kind"] == "deleted"], d["files"]
PY
check_py "SysV segments named one way, attached or not: SYSV key=0x... id=N" \
	"$T_SCRATCH/out.json" "$shmid" "$shmid2" "$apid" <<'PY'
import json, re, sys
d = json.load(open(sys.argv[1])); ids = sys.argv[2:4]; pid = int(sys.argv[4])
sysv = [f for f in d["files"] if f["kind"] == "sysv"]
assert sorted(re.fullmatch(r"SYSV key=0x[0-9a-f]{8} id=(\d+)", f["path"]).group(1)
              for f in sysv) == sorted(ids), sysv
att = [f for f in sysv if f["path"].endswith("id=" + ids[1])][0]
assert att.get("pid") == pid and att["charged_bytes"] == 3 << 20, att
PY
"$SWEEP" explain "$cg" >"$T_SCRATCH/human.txt"
check "human output says who holds the memfd" grep -q "held by pid $pid eng_memfd" "$T_SCRATCH/human.txt"
finish
