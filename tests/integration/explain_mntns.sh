#!/bin/bash
# Issue 11 item 6: explain sees the tmpfs mounts of other mount namespaces. A process of the
# cgroup lives in its own mount namespace (unshare -m, as pam_namespace or a container
# makes) and writes 8 MiB into a tmpfs mounted only there: explain on the cgroup names that
# file (the path as that namespace sees it, the namespace and the process it was seen
# through, 8 MiB charged or, when swapped out meanwhile, unattributed); it said 0% before. A second tmpfs of that
# namespace, mounted below a file system that explain does not walk through (sysfs), is not
# entered, and explain names the namespace and why.
. "$(dirname "$0")/../lib.sh"
need_root
command -v unshare >/dev/null || skip_all "unshare missing"

scratch_memcg cg
mkdir -p "$T_SCRATCH/ns/priv" "$T_SCRATCH/ns/sys"
fifo=$T_SCRATCH/ready
mkfifo "$fifo"
# sh execs unshare, which execs sh: $! is the namespace's process.
sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$cg" unshare -m --propagation private sh -c '
	d=$0
	mount -t tmpfs -o size=64m tsw-mntns "$d/priv" &&
	dd if=/dev/zero of="$d/priv/only-here" bs=1M count=8 status=none &&
	mount -t sysfs tsw-sysfs "$d/sys" &&
	mount -t tmpfs -o size=16m tsw-mntns-sys "$d/sys/fs/cgroup" &&
	dd if=/dev/zero of="$d/sys/fs/cgroup/below-sysfs" bs=1M count=1 status=none &&
	echo ready && exec sleep 300' "$T_SCRATCH/ns" >"$fifo" &
pid=$!
at_exit "kill -9 $pid"
read -r line <"$fifo"
check "a process of the cgroup has a tmpfs of its own mount namespace" test "$line" = ready
check "which this namespace does not see" test ! -e "$T_SCRATCH/ns/priv/only-here"
ns=$(stat -L -c %i "/proc/$pid/ns/mnt")

"$SWEEP" explain "$cg" --json >"$T_SCRATCH/out.json"
check_py "the file of the other namespace is found (8 MiB charged or swapped, its namespace, the process)" \
	"$T_SCRATCH/out.json" "$T_SCRATCH/ns/priv/only-here" "$ns" "$pid" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); path, ns, pid = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
f = [f for f in d["files"] if f["path"] == path]
assert len(f) == 1, d["files"]
f = f[0]
# Pages the kernel swapped out meanwhile (a loaded host) are unattributed, not charged.
assert f["kind"] == "file", f
assert f["charged_bytes"] + d["unattributed_bytes"] >= 8 << 20, (f, d)
assert f["charged_bytes"] >= 0.9 * (8 << 20), f
assert f["mount_ns"] == ns and f["seen_through_pid"] == pid, f
PY
check_py "the tmpfs below sysfs is not entered, and the namespace is named with why" \
	"$T_SCRATCH/out.json" "$ns" "$pid" "$T_SCRATCH/ns/sys" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); ns, pid, sysdir = int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
assert not [f for f in d["files"] if "below-sysfs" in f["path"]], d["files"]
u = [u for u in d["unseen_mount_namespaces"] if u["mount_ns"] == ns]
assert len(u) == 1 and u[0]["pid"] == pid, d["unseen_mount_namespaces"]
assert sysdir + "/fs/cgroup" in u[0]["why"] and "crosses a sysfs mount" in u[0]["why"], u
PY
"$SWEEP" explain "$cg" >"$T_SCRATCH/human.txt"
check "human output: the file, with its namespace" \
	grep -q "only-here  \[mount namespace $ns, seen through pid $pid\]" "$T_SCRATCH/human.txt"
check "human output: the namespace not looked at whole" \
	grep -q "mount namespace $ns (pid $pid) not looked at whole: tmpfs .*crosses a sysfs mount" \
	"$T_SCRATCH/human.txt"
finish
