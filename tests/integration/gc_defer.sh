#!/bin/bash
# OtherSessions defer: user U has two overlapping sessions A and B (two pam_host
# processes, synchronised with flag files). A closes while B lives: A's files are kept
# and audited "deferred", A's record is kept (state deferred, listed by `sessions`), and
# a gc run while B lives leaves it alone. B closes: its own file is removed. Then gc
# removes A's files (audited "removed", trigger gc) and no record is left; a second gc
# does nothing. What U's next login would be told (NotifyUser): A's 2 files from A's close
# through the gc while B lives and B's close, nothing once gc removed them.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/pam_common.bash"
pam_setup
scratch_user U
chmod 755 "$T_SCRATCH"
pam_service tsw cgroup=create timeout=20
cat >>"$P_CONF" <<EOF
OtherSessions defer
remove $P_SHM/** class=charged,created
EOF
check "the policy checks clean" "$SWEEP" check-config "$P_CONF"

as() { printf 'setpriv --reuid %s --regid %s --clear-groups %s' "$U" "$(id -g "$U")" "$*"; }
fl=$T_SCRATCH/flags
mkdir -p "$fl"
waitf() { printf 'for i in $(seq 300); do [ -e %s ] && break; sleep 0.05; done; [ -e %s ]' "$fl/$1" "$fl/$1"; }

# A: writes its files, then waits for B to be open, then closes.
pam_run tmpfs-sweep "$U" open \
	"run:$(as dd if=/dev/zero of="$P_SHM/a1" bs=64k count=2 status=none)" \
	"run:$(as dd if=/dev/zero of="$P_SHM/a2" bs=64k count=1 status=none)" \
	"run:touch $fl/a-open" "run:$(waitf b-open)" \
	close "run:touch $fl/a-closed" >"$T_SCRATCH/a.out" 2>&1 &
pa=$!
# B: opens once A has written its files; once A closed, writes its own and, while it is
# still open, looks at A's record and runs gc; then closes.
# (B writes only after A closed: a file of U's made while A was open lies in A's creation
# window and would be A's too, by uid and birth time.)
pam_run tmpfs-sweep "$U" "run:$(waitf a-open)" open "run:touch $fl/b-open" \
	"run:$(waitf a-closed)" \
	"run:$(as dd if=/dev/zero of="$P_SHM/b1" bs=64k count=3 status=none)" \
	"run:ls $P_SHM >$fl/ls-mid" \
	"run:$SWEEP sessions --json --conf $P_CONF >$fl/sessions.json" \
	"run:wc -l <$P_AUDIT >$fl/n-before-gc" \
	"run:cp $P_STATE/notify/$(id -u "$U") $fl/notify-before-gc" \
	"run:$SWEEP gc --conf $P_CONF >$fl/gc-mid.out 2>&1; echo \$? >$fl/gc-mid.rc" \
	"run:wc -l <$P_AUDIT >$fl/n-after-gc" \
	"run:cp $P_STATE/notify/$(id -u "$U") $fl/notify-after-gc" \
	"run:ls $P_STATE/sessions >$fl/records-mid" \
	close >"$T_SCRATCH/b.out" 2>&1
wait $pa
check "A opened and closed" eval "grep -qx open=success '$T_SCRATCH/a.out' &&
	grep -qx close=success '$T_SCRATCH/a.out'"
check "B opened and closed, every step ran" eval "grep -qx open=success '$T_SCRATCH/b.out' &&
	grep -qx close=success '$T_SCRATCH/b.out' && ! grep -v '^run=0' '$T_SCRATCH/b.out' | grep -q '^run='"

# A opened first (B waited for its flag)
sa=$(audit_lines session-open | jq -r .session | head -n1)
sb=$(audit_lines session-open | jq -r .session | sed -n 2p)
check "two sessions of U recorded (A=$sa, B=$sb)" test -n "$sa" -a -n "$sb" -a "$(wc -w <<<"$sa $sb")" -eq 2

# While B lived.
check "A's files were still there after A closed" eval "grep -qx a1 $fl/ls-mid && grep -qx a2 $fl/ls-mid"
check "A's close audited its two files as deferred" test \
	"$(audit_lines file "$sa" | jq -r 'select(.result == "deferred" and .action == "remove") | .path' |
	   head -n2 | sort | tr '\n' ' ')" = "$P_SHM/a1 $P_SHM/a2 "
check_py "A's session-close: deferred 2, removed 0, trigger close" "$P_AUDIT" "$sa" <<'PY'
import json, sys
c = [json.loads(l) for l in open(sys.argv[1])]
c = [l for l in c if l["event"] == "session-close" and l["session"] == sys.argv[2]]
assert c, "no session-close for A"
c = c[0]
assert c["deferred"] == 2 and c["removed"] == 0 and c.get("trigger", "close") == "close", c
PY
check "sessions --json showed A as deferred" jq_has "$fl/sessions.json" \
	'select(.session == $s and .state == "deferred")' --arg s "$sa"
check "sessions --json showed B as open" jq_has "$fl/sessions.json" \
	'select(.session == $s and .state == "open")' --arg s "$sb"
check "gc while B lived exited 0" test "$(cat "$fl/gc-mid.rc")" = 0
check "gc while B lived swept nothing (no output)" test ! -s "$fl/gc-mid.out"
check "gc while B lived wrote no audit line" test "$(cat "$fl/n-before-gc")" = "$(cat "$fl/n-after-gc")"
check "gc while B lived left A's record" grep -qx "$sa" "$fl/records-mid"
# NotifyUser (on by default): what U's next login is told, through gc's decisions.
notify=$P_STATE/notify/$(id -u "$U")
kvf() { sed -n "s/^$2=//p" "$1" | tail -n1; }
check "after A's close: the next login would be told of A's 2 files" eval '
	[ "$(kvf "$fl/notify-before-gc" session)" = "$sa" ] &&
	[ "$(kvf "$fl/notify-before-gc" files)" = 2 ]'
check "gc while B lived (it leaves A's record alone): still A's 2 files" eval '
	[ "$(kvf "$fl/notify-after-gc" session)" = "$sa" ] &&
	[ "$(kvf "$fl/notify-after-gc" files)" = 2 ]'

# B's close.
check "B's close removed its own file" test ! -e "$P_SHM/b1"
check "B's file audited removed" jq_has "$P_AUDIT" \
	'select(.event == "file" and .session == $s and .path == $p and .result == "removed")' \
	--arg s "$sb" --arg p "$P_SHM/b1"
# BUG: a file only "owned" by B's user (A's files, made before B opened) that no rule
# matches gets a line in B's close: action "ignore", result "reported", rule "default"
# (policy_decide returns POLICY_IGNORE and add_cand's switch treats it as a report).
# Expected (DESIGN, policy file): "ignored when only owned": no line.
check "B's close audited only its own file (A's owned files: no line)" \
	test "$(audit_lines file "$sb" | jq -r .path | tr '\n' ' ')" = "$P_SHM/b1 "
check "A's files survived B's close" test -e "$P_SHM/a1" -a -e "$P_SHM/a2"
check "A's record survived B's close" test -e "$P_STATE/sessions/$sa"
check "only A's record is left" test "$(n_records)" -eq 1
check "B's close (it left nothing) kept A's summary" eval '
	[ "$(kvf "$notify" session)" = "$sa" ] && [ "$(kvf "$notify" files)" = 2 ]'

# A file the user makes after every session closed (a lingering process, cron): not A's,
# since A had closed, so A's gc must not take it as created in A's session.
sleep 0.05
setpriv --reuid "$U" --regid "$(id -g "$U")" --clear-groups \
	dd if=/dev/zero of="$P_SHM/late" bs=4k count=1 status=none

n0=$(wc -l <"$P_AUDIT")
"$SWEEP" gc --conf "$P_CONF" >"$T_SCRATCH/gc.out" 2>&1
st=$?
check "gc exits 0" test $st -eq 0
sed 's/^/    gc: /' "$T_SCRATCH/gc.out"
check "gc says it swept A" grep -q "$sa" "$T_SCRATCH/gc.out"
check "gc removed A's files" test ! -e "$P_SHM/a1" -a ! -e "$P_SHM/a2"
check "gc audited A's files removed, once each" test \
	"$(tail -n +$((n0 + 1)) "$P_AUDIT" | jq -r --arg s "$sa" --arg a1 "$P_SHM/a1" --arg a2 "$P_SHM/a2" \
	   'select(.event == "file" and .session == $s and (.path == $a1 or .path == $a2)) |
	    .path + " " + .result' | sort | tr '\n' ' ')" = "$P_SHM/a1 removed $P_SHM/a2 removed "
check "gc wrote one session-close for A, with trigger gc" \
	test "$(tail -n +$((n0 + 1)) "$P_AUDIT" | jq -c --arg s "$sa" \
	   'select(.event == "session-close" and .session == $s and .trigger == "gc")' | wc -l)" -eq 1
# BUG: a deferred record's creation window ends when gc runs, not when the session closed
# (sweep_one sets end_ns = now for gc too; the record keeps no close time). Expected: a file
# the user made after A had closed (here: after every session closed) is not A's, and A's gc
# leaves it. Actual: it is class "created" for A and removed by A's gc (removed 3, not 2).
check "gc left the file the user made after A closed" test -e "$P_SHM/late"
check "A's gc session-close says removed 2 (A's two files only)" \
	test "$(tail -n +$((n0 + 1)) "$P_AUDIT" | jq -r --arg s "$sa" \
	   'select(.event == "session-close" and .session == $s) | .removed')" = 2
check "no record left" test "$(n_records)" -eq 0
check "gc removed A's files: the next login is told nothing" test ! -e "$notify"
check "every audit line is JSON" eval 'json_valid_lines "$P_AUDIT" >/dev/null'

n0=$(wc -l <"$P_AUDIT")
"$SWEEP" gc --conf "$P_CONF" >"$T_SCRATCH/gc2.out" 2>&1
st=$?
check "a second gc exits 0, sweeps nothing, writes nothing" eval \
	"[ $st -eq 0 ] && [ ! -s '$T_SCRATCH/gc2.out' ] && [ \$(wc -l <'$P_AUDIT') -eq $n0 ]"
[ "$T_FAILED" = 0 ] || jq -c 'del(.policy_sha256, .btime, .uid, .user, .size)' "$P_AUDIT" | sed 's/^/    audit: /'
finish
