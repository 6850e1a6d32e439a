#!/bin/bash
# A session on three watched tmpfs mounts (as /dev/shm, /tmp and /run/user/UID are on a
# real host): the user leaves a charged file in each (and one in a subdirectory of the
# last). Every one is attributed to the session, removed and audited once; session-close
# counts them all. The systemd guest's login test found /tmp's file unseen once closes were
# coalesced (every host test watched a single mount): a member skipped the entry of a later
# mount's walk whose number equalled the last one it was handed in the walk before.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/pam_common.bash"
source "$(dirname "$0")/threat_common.bash"
thr_setup
scratch_tmpfs M2 64m || skip_all "cannot mount a scratch tmpfs"
scratch_tmpfs M3 64m || skip_all "cannot mount a scratch tmpfs"
chmod 1777 "$M2" "$M3"
sed -i "s|^Watch .*|Watch $P_SHM $M2 $M3|" "$P_CONF"
for m in "$P_SHM" "$M2" "$M3"; do echo "remove $m/** class=charged,created" >>"$P_CONF"; done
check "the policy checks clean" "$SWEEP" check-config "$P_CONF"
files=("$P_SHM/a" "$M2/b" "$M3/d/c")
session "$U1" "$T_SCRATCH/s.out" \
	"run:$(as "$U1" sh -c "'head -c 1048576 /dev/zero >$P_SHM/a; head -c 1048576 /dev/zero >$M2/b; mkdir $M3/d; head -c 1048576 /dev/zero >$M3/d/c'")"
for f in "${files[@]}"; do
	check "$f: one line, class charged, ~1 MiB, removed" eval \
		'[ "$(audit_lines file "$SID" | jq -r --arg p "$f" "select(.path == \$p) | [.result, (.class | contains(\"charged\")), (.charged_bytes >= 1048576)] | @tsv")" = "$(printf "removed\ttrue\ttrue")" ]'
	check "$f is gone" test ! -e "$f"
done
check "session-close: 3+ removed, complete" \
	test "$(closeline | jq -r '[(.removed >= 3), (.incomplete // false)] | @tsv')" = "$(printf 'true\tfalse')"
[ $T_FAILED = 0 ] || jq -c --arg s "$SID" "select(.session == \$s)" "$P_AUDIT" | sed "s/^/    /"
finish
