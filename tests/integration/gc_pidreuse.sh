#!/bin/bash
# gc decides "the session's process is gone" by pid AND start time: a record whose pid now
# belongs to another live process (pid reuse, forged here by rewriting the record's pid to
# a live process with another start time) is swept; a record whose pid and start time match
# a live process is left alone, and swept once that process exits. gc run from inside a
# live session leaves that session alone.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/pam_common.bash"
pam_setup
# one user per case: a live session of the same user would defer the others (OtherSessions)
scratch_user u1
scratch_user u2
scratch_user u3
chmod 755 "$T_SCRATCH"
pam_service tsw cgroup=create timeout=20
echo "remove $P_SHM/** class=charged,created" >>"$P_CONF"
as() { local u=$1; shift; printf 'setpriv --reuid %s --regid %s --clear-groups %s' "$u" "$(id -g "$u")" "$*"; }
starttime() { awk '{ sub(/.*\) /, ""); print $20 }' "/proc/$1/stat"; }
# orphan USER NAME: an orphaned session of USER that wrote $P_SHM/NAME; prints its id
orphan() {
	local before after
	before=$(ls "$P_STATE/sessions" 2>/dev/null)
	pam_run tmpfs-sweep "$1" open "run:$(as "$1" dd if=/dev/zero of="$P_SHM/$2" bs=4k count=2 status=none)" \
		>/dev/null 2>&1
	after=$(ls "$P_STATE/sessions" 2>/dev/null)
	comm -13 <(echo "$before") <(echo "$after")
}

# 1. pid reused by another process: swept.
s1=$(orphan "$u1" reused)
bg live1 sleep 300
sed -i "s/^pid=.*/pid=$live1/" "$P_STATE/sessions/$s1"
check "the record now names a live pid ($live1) with another start time" \
	eval "grep -qx pid=$live1 '$P_STATE/sessions/$s1' && ! grep -qx pid_start=$(starttime "$live1") '$P_STATE/sessions/$s1'"
# 2. pid and start time of a live process: alive, left alone.
s2=$(orphan "$u2" alive)
bg live2 sleep 300
sed -i -e "s/^pid=.*/pid=$live2/" -e "s/^pid_start=.*/pid_start=$(starttime "$live2")/" \
	"$P_STATE/sessions/$s2"

"$SWEEP" gc --conf "$P_CONF" >"$T_SCRATCH/gc1.out" 2>&1
sed 's/^/    gc: /' "$T_SCRATCH/gc1.out"
check "gc swept the record whose pid was reused" grep -q "sweeping $s1 .*gone" "$T_SCRATCH/gc1.out"
check "its file was removed and audited once, trigger gc" eval "[ ! -e '$P_SHM/reused' ] &&
	[ \$(audit_lines file '$s1' | jq -r 'select(.result == \"removed\") | .path') = '$P_SHM/reused' ] &&
	[ \$(audit_lines session-close '$s1' | jq -r .trigger) = gc ]"
check "gc left the record whose process lives" eval "! grep -q '$s2' '$T_SCRATCH/gc1.out' &&
	[ -e '$P_STATE/sessions/$s2' ] && [ -e '$P_SHM/alive' ] && [ -z \"\$(audit_lines file '$s2')\" ]"

kill -9 "$live2"
wait "$live2" 2>/dev/null
"$SWEEP" gc --conf "$P_CONF" >"$T_SCRATCH/gc2.out" 2>&1
sed 's/^/    gc: /' "$T_SCRATCH/gc2.out"
check "once that process is gone, gc sweeps it" eval "grep -q 'sweeping $s2' '$T_SCRATCH/gc2.out' &&
	[ ! -e '$P_SHM/alive' ] && [ ! -e '$P_STATE/sessions/$s2' ]"

# 3. gc from inside a live session leaves it alone.
pam_run tmpfs-sweep "$u3" open "run:$(as "$u3" dd if=/dev/zero of="$P_SHM/inside" bs=4k count=1 status=none)" \
	"run:$SWEEP gc --conf $P_CONF >$T_SCRATCH/gc3.out 2>&1; ls $P_STATE/sessions >$T_SCRATCH/rec3" \
	"run:test -e $P_SHM/inside" close >"$T_SCRATCH/h3.out" 2>&1
check "gc inside a live session swept nothing, its record was there" \
	eval "[ ! -s '$T_SCRATCH/gc3.out' ] && [ \$(wc -l <'$T_SCRATCH/rec3') -eq 1 ]"
check "the session's file survived that gc, and its close removed it" \
	eval "[ \$(grep -c '^run=0' '$T_SCRATCH/h3.out') -eq 3 ] && [ ! -e '$P_SHM/inside' ]"
[ "$T_FAILED" = 0 ] || sed 's/^/    host: /' "$T_SCRATCH/h3.out"
check "no record left" test "$(n_records)" -eq 0
check "every audit line is JSON" eval 'json_valid_lines "$P_AUDIT" >/dev/null'
finish
