#!/bin/bash
# tmpfs-sweep sweep: what a finished service or job left, swept by its cgroup under the
# same policy, gates and audit as a login. A scratch "unit" cgroup (its last component
# ends in .service) where a user's dd wrote 100 MiB: --dry-run reports it; the sweep
# (--user, --since) removes it by the Match Unit block, audits it with "trigger":"unit" and
# the unit, and the cgroup's shmem drops; another unit out of that block only reports; the
# same user's file born in the window but charged elsewhere is not the unit's; without a
# user nothing is removed; --self sweeps the cgroup it runs in ("trigger":"cgroup"). The
# MetricsFile counts the sweep's files and bytes, not as a closed session.
source "$(dirname "$0")/../lib.sh"
need_root
scratch_tmpfs SHM 512m || skip_all "cannot mount a scratch tmpfs"
scratch_memcg CG || skip_all "no memory cgroup"
scratch_user U
chmod 755 "$T_SCRATCH"
MiB=$((1024 * 1024))
n=$$$RANDOM
UNIT=tsw-job-$n.service OTHER=tsw-other-$n.service JOB=job_$n
for c in "$UNIT" "$OTHER" "$JOB"; do mkdir "$CG/$c" || skip_all "cannot make cgroups"; done
AUDIT=$T_SCRATCH/audit.jsonl CONF=$T_SAFE/tmpfs-sweep.conf
install -d -m 0755 "$T_SAFE/textfile"
PROM=$T_SAFE/textfile/tmpfs-sweep.prom
cat >"$CONF" <<EOF
Watch $SHM
StateDir $T_SCRATCH/state
AuditLog $AUDIT
MetricsFile $PROM
Match Unit tsw-job-*.service
remove $SHM/*.img class=charged,created
Match all
remove $SHM/self-* class=charged,created
EOF
jqt() { local in; in=$(cat); [ -n "$in" ] && jq -e "$@" >/dev/null <<<"$in"; }
jq_has() { local f=$1 filter=$2; shift 2; jq -e -s "$@" "[.[] | $filter] | length > 0" "$f" >/dev/null; }
line() { jq -c --arg p "$SHM/$1" 'select(.event == "file" and .path == $p)' "$AUDIT" | tail -n1; }
as_u() { setpriv --reuid "$U" --regid "$(id -g "$U")" --clear-groups "$@"; }
sweep() { "$SWEEP" sweep --conf "$CONF" "$@" 2>>"$T_SCRATCH/sweep.err"; }

t0=$(date +%s)
sleep 1 # the window starts on a whole second
in_memcg "$CG/$UNIT" setpriv --reuid "$U" --regid "$(id -g "$U")" --clear-groups \
	dd if=/dev/zero of="$SHM/job.img" bs=10240 count=10240 status=none
as_u dd if=/dev/zero of="$SHM/mine.img" bs=64k count=4 status=none # from our cgroup
shm_before=$(memcg_shmem "$CG/$UNIT")
check "the unit's cgroup holds the 100 MiB ($shm_before)" within 1 "$shm_before" $((100 * MiB))

sweep --cgroup "$CG/$UNIT" --user "$U" --since "@$t0" --dry-run
check "--dry-run: job.img reported, dry run" \
	jqt '.result == "reported" and .detail == "dry run"' <<<"$(line job.img)"
check "--dry-run: job.img still there" test -e "$SHM/job.img"
check "--dry-run: no metrics written" test ! -e "$PROM"

: >"$AUDIT"
sweep --cgroup "$CG/$UNIT" --user "$U" --since "@$t0"
check "sweep exits 0" test $? -eq 0
echo "# $(line job.img)"
sid=$(jq -r 'select(.event == "session-open") | .session' "$AUDIT")
check "session-open: trigger unit, the unit, the user, the cgroup" jq_has "$AUDIT" \
	'select(.event == "session-open" and .trigger == "unit" and .unit == $unit and
	 .user == $u and .cgroup == $cg)' --arg unit "$UNIT" --arg u "$U" --arg cg "$(memcg_rel "$CG/$UNIT")"
ch=$(line job.img | jq -r .charged_bytes)
check "job.img: charged $ch within 1% of 100 MiB" within 1 "${ch:-0}" $((100 * MiB))
check "job.img: removed by the Match Unit block's rule (line 6)" \
	jqt '.class == "charged" and .result == "removed" and (.rule | startswith("line 6: remove"))' \
	<<<"$(line job.img)"
check "job.img is gone" test ! -e "$SHM/job.img"
check "the unit's cgroup no longer holds it" test "$(memcg_shmem "$CG/$UNIT")" -lt "$MiB"
check "mine.img (the user's, born in the window, charged elsewhere) is not the unit's" \
	eval '[ -z "$(line mine.img)" ] && [ -e "$SHM/mine.img" ]'
check "session-close: trigger unit, removed 1" jq_has "$AUDIT" \
	'select(.event == "session-close" and .session == $s and .trigger == "unit" and
	 .removed == 1 and .removed_bytes == 104857600)' --arg s "$sid"
check "the record was written (closing) and is gone" \
	eval '[ -d "$T_SCRATCH/state/sessions" ] && [ -z "$(ls "$T_SCRATCH/state/sessions")" ]'
metric() { awk -v s="$1" '$1 == s { v = $2 } END { printf "%.0f\n", v + 0 }' "$PROM"; }
check "metrics: the sweep's removed file and bytes counted" eval \
	'[ "$(metric "tmpfs_sweep_files_total{result=\"removed\"}")" = 1 ] &&
	 [ "$(metric tmpfs_sweep_removed_bytes_total)" = $((100 * MiB)) ]'
check "metrics: a sweep is no closed session, no last close" eval \
	'[ "$(metric tmpfs_sweep_sessions_closed_total)" = 0 ] &&
	 [ "$(metric tmpfs_sweep_last_close_timestamp_seconds)" = 0 ]'

# Another unit, out of the Match Unit block: reported by default.
in_memcg "$CG/$OTHER" setpriv --reuid "$U" --regid "$(id -g "$U")" --clear-groups \
	dd if=/dev/zero of="$SHM/other.img" bs=64k count=4 status=none
sweep --cgroup "$(memcg_rel "$CG/$OTHER")" --user "$U" --since "@$t0"
check "another unit: other.img reported by default, still there" eval \
	'jqt ".result == \"reported\" and .rule == \"default\"" <<<"$(line other.img)" && [ -e "$SHM/other.img" ]'

# No user: charged is not enough, nothing removed.
in_memcg "$CG/$UNIT" setpriv --reuid "$U" --regid "$(id -g "$U")" --clear-groups \
	dd if=/dev/zero of="$SHM/nouser.img" bs=64k count=4 status=none
: >"$T_SCRATCH/sweep.err"
sweep --cgroup "$CG/$UNIT" --since "@$t0"
check "no user: said on stderr" grep -q 'no user known' "$T_SCRATCH/sweep.err"
check "no user: nouser.img reported (not the session's user), still there" eval \
	'jqt ".result == \"reported\" and .class == \"charged\"" <<<"$(line nouser.img)" && [ -e "$SHM/nouser.img" ]'

# --self: the cgroup the command runs in, here a job's (not a unit): trigger cgroup.
in_memcg "$CG/$JOB" setpriv --reuid "$U" --regid "$(id -g "$U")" --clear-groups \
	dd if=/dev/zero of="$SHM/self-1" bs=64k count=4 status=none
in_memcg "$CG/$JOB" "$SWEEP" sweep --self --user "$U" --since "@$t0" --conf "$CONF"
check "--self: self-1 removed by the Match all rule" \
	jqt '.result == "removed" and (.rule | startswith("line 8: remove"))' <<<"$(line self-1)"
check "--self: trigger cgroup, the job's cgroup" jq_has "$AUDIT" \
	'select(.event == "session-close" and .trigger == "cgroup" and .removed == 1)'
check "--self: session-open names the job's cgroup" jq_has "$AUDIT" \
	'select(.event == "session-open" and .trigger == "cgroup" and .cgroup == $cg and .unit == null)' \
	--arg cg "$(memcg_rel "$CG/$JOB")"
check "every audit line is JSON" eval 'json_valid_lines "$AUDIT" >/dev/null'
check "usage: one of --cgroup and --self" eval '"$SWEEP" sweep 2>/dev/null; [ $? -eq 2 ]'
finish
