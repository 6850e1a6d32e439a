#!/bin/bash
# Issue 11 item 4: what a session leaves besides files. Through the C PAM host with
# cgroup=create: a session makes a SysV segment (4 MiB, written, detached: nattch 0) and
# starts a process that outlives the logout holding a memfd (2 MiB). Its close audits both
# (a file line each: object, path, class charged, the charged bytes) and counts them in
# session-close; the segment stays (RemoveSysV no, the default). A second session with
# RemoveSysV yes makes one segment it leaves unattached and one a surviving process keeps
# attached: the first is removed at close and its memory uncharged, the second is kept and
# the line says why; the first session's segment (not this session's) is not touched.
# The metrics file counts the objects, their charged bytes and the one removed.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/pam_common.bash"
pam_setup
scratch_user U
chmod 755 "$T_SCRATCH"
pam_service tsw cgroup=create timeout=20
# The Prometheus counters of leftovers too (metrics.h), in a root-only directory.
mkdir -m 0755 "$T_SAFE/metrics"
sed -i "s|^MetricsFile .*|MetricsFile $T_SAFE/metrics/tsw.prom|" "$P_CONF"
metric() { awk -v s="$1" '$1 == s {print $2}' "$T_SAFE/metrics/tsw.prom"; }
user_copy SYSV "$B/tools/eng_sysvshm" && user_copy MEMFD "$B/tools/eng_memfd" &&
	user_copy ANON "$B/tools/eng_anonshm" || skip_all "cannot copy the tools"
uid=$(id -u "$U")
at_exit "awk -v u=$uid 'NR > 1 && \$10 == u {print \$2}' /proc/sysvipc/shm | xargs -r -n1 ipcrm -m"
as() { printf 'setpriv --reuid %s --regid %s --clear-groups ' "$U" "$(id -g "$U")"; }
if [ "$(memcg_mnt)" = /sys/fs/cgroup/memory ]; then key=total_shmem; else key=shmem; fi
shmem_of() { awk -v k="$key" '$1 == k {print $2}' "$P_CG/memory.stat"; }
seg_exists() { awk -v id="$1" 'NR > 1 && $2 == id {f = 1} END {exit !f}' /proc/sysvipc/shm; }
MiB=$((1 << 20))

pam_run tmpfs-sweep "$U" open cgroup \
	"run:$(as)$SYSV 4 >$T_SCRATCH/shmid1" \
	"run:setsid $(as)$MEMFD tsw-leftover 2 >$T_SCRATCH/memfd.ready 2>&1 </dev/null & echo \$! >$T_SCRATCH/memfd.pid; for i in \$(seq 100); do grep -q ready $T_SCRATCH/memfd.ready && break; sleep 0.1; done" \
	close >"$T_SCRATCH/one.out" 2>&1
holder=$(cat "$T_SCRATCH/memfd.pid")
at_exit "kill -9 $holder"
shmid1=$(cat "$T_SCRATCH/shmid1")
check "session 1: open and close succeed" grep -qx 'close=success' "$T_SCRATCH/one.out"
check "the segment ($shmid1) and the memfd holder ($holder) outlived it" \
	eval 'seg_exists "$shmid1" && kill -0 "$holder"'
sid1=$(audit_lines session-open | jq -r .session | head -n1)
audit_lines file "$sid1" >"$T_SCRATCH/one.files"
audit_lines session-close "$sid1" >"$T_SCRATCH/one.close"
check_py "session 1: a line for the segment and one for the memfd, with their charged bytes" \
	"$T_SCRATCH/one.files" "$shmid1" "$holder" "$uid" <<'PY'
import json, re, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
shmid, pid, uid = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
sysv = [l for l in lines if l.get("object") == "sysv"]
assert len(sysv) == 1, lines
s = sysv[0]
assert re.fullmatch(r"SYSV key=0x[0-9a-f]{8} id=" + shmid, s["path"]), s
assert s["class"] == "charged" and s["charged_bytes"] == 4 << 20 and s["size"] == 4 << 20, s
assert s["action"] == "report" and s["result"] == "reported" and s["uid"] == uid, s
assert s["detail"].startswith("attached by 0"), s
memfd = [l for l in lines if l.get("object") == "memfd"]
assert len(memfd) == 1, lines
m = memfd[0]
assert m["path"] == "/memfd:tsw-leftover (deleted)", m
assert m["class"] == "charged" and m["charged_bytes"] == 2 << 20, m
assert m["action"] == "report" and m["result"] == "reported", m
assert m["detail"] == "held by pid %d eng_memfd" % pid, m
PY
check_py "session 1: session-close counts 2 objects, 6 MiB charged, none removed" \
	"$T_SCRATCH/one.close" <<'PY'
import json, sys
c = [json.loads(l) for l in open(sys.argv[1])]
assert len(c) == 1, c
c = c[0]
assert c["objects"] == 2 and c["objects_charged_bytes"] == 6 << 20, c
assert c["objects_removed"] == 0 and c["errors"] == 0, c
PY

# Session 2, RemoveSysV yes. A segment's ctime has seconds only, and one made in the
# second a session starts counts as the session's (lib/leftover.c): session 2 starts in a
# later second than session 1's segment, or that segment would be its own too.
ctime1=$(awk -v id="$shmid1" 'NR > 1 && $2 == id {print $14}' /proc/sysvipc/shm)
for ((i = 0; i < 40 && $(date +%s) <= ${ctime1:-0}; i++)); do sleep 0.05; done
echo "RemoveSysV yes" >>"$P_CONF"
pam_run tmpfs-sweep "$U" open cgroup \
	"run:$(as)$SYSV 4 >$T_SCRATCH/shmid2" \
	"run:$(as)$SYSV 1 >$T_SCRATCH/shmid3" \
	"run:setsid $(as)$ANON 1 \$(cat $T_SCRATCH/shmid3) >$T_SCRATCH/anon.ready 2>&1 </dev/null & echo \$! >$T_SCRATCH/anon.pid; for i in \$(seq 100); do grep -q ready $T_SCRATCH/anon.ready && break; sleep 0.1; done" \
	"run:sleep 2.1; awk -v k=$key '\$1 == k {print \$2}' $P_CG/memory.stat >$T_SCRATCH/shmem.before" \
	close >"$T_SCRATCH/two.out" 2>&1
anon=$(cat "$T_SCRATCH/anon.pid")
at_exit "kill -9 $anon"
shmid2=$(cat "$T_SCRATCH/shmid2") shmid3=$(cat "$T_SCRATCH/shmid3")
# memory.stat's figures may lag the charges by up to the kernel's 2 s flush: "before" is
# read 2 s after the last charge, "after" until it shows the drop (5 s at most).
before=$(cat "$T_SCRATCH/shmem.before") after=$(shmem_of)
for ((i = 0; i < 25 && before - after < 4 * MiB; i++)); do sleep 0.2; after=$(shmem_of); done
check "session 2: open and close succeed" grep -qx 'close=success' "$T_SCRATCH/two.out"
check "the unattached segment of the session ($shmid2) is gone" eval '! seg_exists "$shmid2"'
check "its 4 MiB are uncharged ($before -> $after)" test "$((before - after))" -ge $((4 * MiB))
check "the segment a surviving process keeps attached ($shmid3) stays" seg_exists "$shmid3"
check "the first session's segment ($shmid1) stays" seg_exists "$shmid1"
sid2=$(audit_lines session-open | jq -r .session | tail -n1)
audit_lines file "$sid2" >"$T_SCRATCH/two.files"
audit_lines session-close "$sid2" >"$T_SCRATCH/two.close"
check_py "session 2: removed by RemoveSysV yes, the attached one kept and why, no other" \
	"$T_SCRATCH/two.files" "$shmid2" "$shmid3" "$shmid1" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
gone, kept, other = sys.argv[2:5]
by = {l["path"].rsplit("id=", 1)[1]: l for l in lines if l.get("object") == "sysv"}
assert sorted(by) == sorted([gone, kept]), lines
g, k = by[gone], by[kept]
assert g["action"] == "remove" and g["result"] == "removed" and g["rule"] == "RemoveSysV yes", g
assert g["charged_bytes"] == 4 << 20, g
assert k["action"] == "remove" and k["result"] == "kept", k
assert k["detail"].startswith("attached by a process"), k
anon = [l for l in lines if l.get("object") == "anon-shared"]
assert len(anon) == 1 and anon[0]["charged_bytes"] == 1 << 20, lines
PY
check_py "session 2: session-close counts the objects and the one removed" \
	"$T_SCRATCH/two.close" <<'PY'
import json, sys
c = [json.loads(l) for l in open(sys.argv[1])][0]
assert c["objects"] == 3 and c["objects_removed"] == 1, c
assert c["objects_charged_bytes"] == 6 << 20, c
PY
check "metrics: 5 leftover objects, 12 MiB of them charged, 1 removed" eval '
	[ "$(metric tmpfs_sweep_leftover_objects_total)" = 5 ] &&
	[ "$(metric tmpfs_sweep_leftover_objects_charged_bytes_total)" = $((12 * MiB)) ] &&
	[ "$(metric tmpfs_sweep_leftover_objects_removed_total)" = 1 ] &&
	[ "$(metric tmpfs_sweep_sessions_closed_total)" = 2 ]'
finish
