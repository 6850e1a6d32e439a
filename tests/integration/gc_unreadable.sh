#!/bin/bash
# Records are written without fsync (they describe tmpfs files, which a crash that loses
# the page cache takes along), so a crash can leave one cut short. gc drops an unreadable
# record written before this boot (it names nothing that still exists), says so, and
# leaves an unreadable record of this boot alone (someone should look at it); --dry-run
# only says what it would drop.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/pam_common.bash"
pam_setup
install -d -m 700 "$P_STATE" "$P_STATE/sessions"
boot=$(( $(date +%s) - $(cut -d. -f1 /proc/uptime) ))
old=4242-$(( (boot - 3600) * 1000000000 ))
new=4243-$(date +%s%N)
: >"$P_STATE/sessions/$old"
printf 'version=1\nid=%s\nuser=' "$old" >>"$P_STATE/sessions/$old" # cut short
touch -d "@$(( boot - 3600 ))" "$P_STATE/sessions/$old"
: >"$P_STATE/sessions/$new"
chmod 600 "$P_STATE/sessions"/*

"$SWEEP" gc --dry-run --conf "$P_CONF" >"$T_SCRATCH/dry.out" 2>&1
sed 's/^/    gc --dry-run: /' "$T_SCRATCH/dry.out"
check "dry run says it would drop the record of an earlier boot" \
	grep -qx "would drop $old: unreadable record from an earlier boot" "$T_SCRATCH/dry.out"
check "dry run drops nothing" test -e "$P_STATE/sessions/$old"

"$SWEEP" gc --conf "$P_CONF" >"$T_SCRATCH/gc.out" 2>&1
sed 's/^/    gc: /' "$T_SCRATCH/gc.out"
check "gc says it drops the unreadable record of an earlier boot" \
	grep -qx "dropping $old: unreadable record from an earlier boot" "$T_SCRATCH/gc.out"
check "that record is gone" test ! -e "$P_STATE/sessions/$old"
check "the unreadable record of this boot is left alone, and not mentioned" \
	eval "[ -e '$P_STATE/sessions/$new' ] && ! grep -q '$new' '$T_SCRATCH/gc.out'"
check "no lock file is left for the dropped record" test ! -e "$P_STATE/locks/$old"
finish
