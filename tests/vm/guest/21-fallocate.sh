#!/bin/bash
# Fallocated pages on Debian 12's own kernel (6.1: userfaultfd minor faults on shmem, no
# cachestat(2)): pages fallocate(2) allocated and nobody wrote are attributed exactly.
# - A login session fallocates 64 MiB in /dev/shm (report policy): its close audits the file
#   with charged_bytes within 1% of 64 MiB.
# - A cgroup of its own fallocates 64 MiB and writes 64 MiB: explain explains >= 99% of its
#   shmem, scan charges the fallocated file within 1%, its shmem is unchanged by them.
# - A 1 TiB sparse file with one fallocated page 512 GiB in: without cachestat it is out of
#   the probe's reach, so scan counts it as unknown and names it "unlocated" (with
#   cachestat, 6.5 and later, it is found); nothing is allocated either way.
. "$(dirname "$0")/lib/vmlib.sh"

u=sweepa uid=1001
f=/dev/shm/tsw-vm-falloc
rm -f "$f"
at_exit "rm -f '$f'"
use_policy report
logind_set RemoveIPC=no
audit_mark
note "kernel $(uname -r)"

session_start s "$u" "fallocate -l 64M $f" || { not_ok "login session"; finish; }
session_end s
check "audit session-close for $u after logout" wait_close $u
note "file line: $(aqv "last_file($uid, '$f')")"
check "the close attributed the fallocated file: charged_bytes within 1% of 64 MiB" \
	aq "abs(last_file($uid, '$f').get('charged_bytes', 0) - (64 << 20)) <= (64 << 20) // 100"

cg=$CG/tsw-vm-falloc
d=/dev/shm/tsw-vm-falloc.d
rmdir "$cg" 2>/dev/null
mkdir "$cg" && at_exit "rmdir '$cg'"
mkdir -p "$d" && at_exit "rm -rf '$d'"
sh -c 'echo $$ >"$1/cgroup.procs" && fallocate -l 64M "$2/F" &&
	dd if=/dev/zero of="$2/G" bs=1M count=64 status=none' _ "$cg" "$d"
# jsq EXPR: a Python expression over the JSON on stdin (j: a document, or rows: a list of
# lines), true or not (the guest has no jq).
jsq() {
	python3 -c '
import json, sys
text = sys.stdin.read()
try:
    j = json.loads(text)
except ValueError:
    j = None
rows = [json.loads(l) for l in text.splitlines() if l.strip()]
row = lambda p: next((r for r in rows if r.get("path") == p), {})
sys.exit(0 if eval(sys.argv[1]) else 1)' "$1"
}
shm0=$(cg_stat "$cg" shmem)
js=$("$SWEEP" explain "$cg" --json)
sc=$("$SWEEP" scan --mount /dev/shm --cgroup "${cg#"$CG"}" --json)
shm1=$(cg_stat "$cg" shmem)
note "shmem $shm0 -> $shm1; explain: $(head -c 300 <<<"$js")"
check "explain explains >= 99% of the cgroup's shmem" \
	jsq 'j["shmem"] > 0 and j["explained_bytes"] >= 0.99 * j["shmem"]' <<<"$js"
check "scan: F charged within 1% of 64 MiB" \
	jsq "abs(row('$d/F').get('charged_bytes', 0) - (64 << 20)) <= (64 << 20) // 100" <<<"$sc"
check "the cgroup's shmem unchanged by explain and scan" [ "$shm1" = "$shm0" ]

s=$d/sparse
truncate -s 1T "$s"
fallocate -n -o $((512 << 30)) -l 4096 "$s"
b0=$(stat -c %b "$s")
sc=$("$SWEEP" scan --mount /dev/shm --json)
note "sparse: $(grep -F "\"$s\"" <<<"$sc")"
if jsq "row('$s').get('fallocated_bytes') == 4096" <<<"$sc"; then
	check "the island was found (cachestat)" jsq "row('$s')['resident_bytes'] == 4096" <<<"$sc"
else
	check "the island is unknown, named unlocated (no cachestat)" \
		jsq "(r := row('$s'))['resident_bytes'] == 0 and r['unknown_bytes'] == 4096 and r['unknown'] == 'unlocated'" \
		<<<"$sc"
fi
check "the sparse file's blocks did not grow" [ "$(stat -c %b "$s")" = "$b0" ]
finish
