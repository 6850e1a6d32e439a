#!/bin/bash
# `tmpfs-sweep explain /sys/fs/cgroup/user.slice` after a logged-out session left a file
# (RemoveIPC=no, report-only policy): it names the file and explains >= 99% of the slice's
# shmem. The session scope is gone by then, so the file's pages are charged to an offline
# cgroup and /proc/kpagecgroup reports them under the nearest live ancestor.
. "$(dirname "$0")/lib/vmlib.sh"

u=sweepa uid=1001
f=/dev/shm/tsw-vm-explain
rm -f "$f"
at_exit "rm -f '$f'"
use_policy report
logind_set RemoveIPC=no
audit_mark

session_start s "$u" "dd if=/dev/zero of=$f bs=1M count=100 status=none" ||
	{ not_ok "login session"; finish; }
scope=${S_CG[s]}
session_end s
check "audit session-close for $u after logout" wait_close $u
check "report policy: the file is reported, not removed" \
	aq "last_file($uid, '$f').get('result') == 'reported'"
check "$f still there" [ -f "$f" ]
check "the session scope is gone after logout" wait_for 60 test ! -d "$CG$scope"

txt=$("$SWEEP" explain /sys/fs/cgroup/user.slice 2>&1)
rc=$?
note "explain (rc=$rc): $(head -n 15 <<<"$txt")"
check "explain exits 0" [ "$rc" -eq 0 ]
check "explain names $f" grep -qF "$f" <<<"$txt"

shm=$(cg_stat $CG/user.slice shmem)
js=$("$SWEEP" explain /sys/fs/cgroup/user.slice --json 2>/dev/null)
shm2=$(cg_stat $CG/user.slice shmem)
note "user.slice shmem: $shm (then $shm2)"
# The explained bytes: the per-file charged bytes in explain's JSON, whatever the nesting.
explained=$(python3 -c '
import json, sys
try:
    doc = json.loads(sys.stdin.read())
except ValueError:
    print(0, 0)
    sys.exit()
def walk(x):
    if isinstance(x, dict):
        if "path" in x:
            for k in ("charged_bytes", "charged", "bytes"):
                if isinstance(x.get(k), int):
                    yield x["path"], x[k]
                    return
        for v in x.values():
            yield from walk(v)
    elif isinstance(x, list):
        for v in x:
            yield from walk(v)
files = dict(walk(doc))
print(sum(files.values()), files.get(sys.argv[1], 0))
' "$f" <<<"$js" 2>&1)
note "explained (all files, this file): $explained"
read -r total mine <<<"$explained"
check "explain --json: $f charged ~100 MiB" within 2 "${mine:-0}" $((100 * MiB))
check "explain --json explains >= 99% of user.slice shmem" \
	python3 -c 'import sys; t, a, b = map(int, sys.argv[1:]); sys.exit(t < 0.99 * min(a, b))' \
	"${total:-0}" "$shm" "$shm2"
finish
