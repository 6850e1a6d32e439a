#!/bin/bash
# Shmem that no path reaches: a memfd held by a sleeping process and a SysV segment
# left behind by a process that exited, both charged to the cgroup, both in explain.
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
"$SWEEP" explain "$cg" >"$T_SCRATCH/human.txt"
check "human output says who holds the memfd" grep -q "held by pid $pid eng_memfd" "$T_SCRATCH/human.txt"
finish
