#!/bin/bash
# The module end to end through a C PAM host: open records the session (service,
# rhost, user, a per-session memory cgroup the host is moved into), a child in the
# session writes files as the user into a watched tmpfs, close runs the real helper:
# session-open, one file line per file (class charged, charged bytes within 1% of what
# was written), session-close; the record and the session cgroup are gone. Two
# overlapping sessions of two users each get only their own files.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/pam_common.bash"
pam_setup
scratch_user U1
scratch_user U2
chmod 755 "$T_SCRATCH"
pam_service tsw cgroup=create timeout=20

as() { local u=$1; shift; printf 'setpriv --reuid %s --regid %s --clear-groups %s' "$u" "$(id -g "$u")" "$*"; }

# A file of root's in the watched tmpfs, from before: never the session's.
dd if=/dev/zero of="$P_SHM/root-old" bs=64k count=4 status=none

out=$T_SCRATCH/one.out
pam_run tmpfs-sweep "$U1" item:rhost=192.0.2.7 item:tty=ssh open cgroup \
	"run:$(as "$U1" dd if=/dev/zero of="$P_SHM/a1" bs=1M count=1 status=none)" \
	"run:$(as "$U1" dd if=/dev/zero of="$P_SHM/a2" bs=1M count=4 status=none)" \
	"run:$(as "$U1" dd if=/dev/zero of="$P_SHM/a3" bs=64k count=1 status=none)" \
	"run:$SWEEP sessions --json --conf $P_CONF > $T_SCRATCH/sessions.json" \
	close cgroup >"$out" 2>&1
check "open and close succeed" grep -qx 'open=success' "$out"
check "close succeeds" grep -qx 'close=success' "$out"
cg_in=$(sed -n 's/^cgroup=//p' "$out" | head -n1)
cg_after=$(sed -n 's/^cgroup=//p' "$out" | tail -n1)
check "the host was moved into a per-session cgroup below tmpfs-sweep/" \
	grep -q "^$(memcg_rel "$P_CG")/tmpfs-sweep/[0-9]*-[0-9]*\$" <<<"$cg_in"
check "and moved back at close" test "$cg_after" = "$(memcg_rel "$P_CG")"
check "the session cgroup was removed" test ! -e "$(memcg_mnt)$cg_in"

sid=$(audit_lines session-open | jq -r .session)
check "one session-open line" test "$(audit_lines session-open | wc -l)" -eq 1
check "sessions --json listed it while open" jq_has "$T_SCRATCH/sessions.json" \
	'select(.session == $s and .state == "open")' --arg s "$sid"
check "session-open carries service, rhost, tty, user, uid, cgroup" jq_has "$P_AUDIT" \
	'select(.event == "session-open") | select(.service == "tsw" and .rhost == "192.0.2.7"
	 and .tty == "ssh" and .user == $u and .uid == $id and .cgroup == $cg)' \
	--arg u "$U1" --argjson id "$(id -u "$U1")" --arg cg "$cg_in"
check "three file lines, all class charged" \
	test "$(audit_lines file "$sid" | jq -r 'select(.class == "charged") | .path' | sort | tr '\n' ' ')" \
	= "$P_SHM/a1 $P_SHM/a2 $P_SHM/a3 "
for f in a1 a2 a3; do
	size=$(stat -c %s "$P_SHM/$f")
	ch=$(audit_lines file "$sid" | jq -r --arg p "$P_SHM/$f" 'select(.path == $p) | .charged_bytes')
	check "$f: charged bytes $ch within 1% of $size written" within 1 "${ch:-0}" "$size"
done
check "root's older file is not reported" \
	test -z "$(audit_lines file "$sid" | jq -r 'select(.path | endswith("root-old"))')"
check "session-close: files=3, charged = bytes" jq_has "$P_AUDIT" \
	'select(.event == "session-close" and .session == $s and .files == 3
	 and .charged_bytes == .bytes and .incomplete == false and .errors == 0)' --arg s "$sid"
check "every audit line is JSON" eval 'json_valid_lines "$P_AUDIT" >/dev/null'
check "the record is gone" test "$(n_records)" -eq 0
check "report-only: the files are still there" test -e "$P_SHM/a2"

# Two overlapping sessions of two users.
rm -f "$P_AUDIT" "$P_SHM"/a*
fl=$T_SCRATCH/flags; mkdir -p "$fl"
pam_run tmpfs-sweep "$U1" open \
	"run:$(as "$U1" sh -c "'dd if=/dev/zero of=$P_SHM/u1-a bs=1M count=2 status=none'")" \
	"run:touch $fl/a-open; for i in \$(seq 200); do [ -e $fl/b-wrote ] && break; sleep 0.05; done" \
	"run:$(as "$U1" sh -c "'dd if=/dev/zero of=$P_SHM/u1-b bs=1M count=1 status=none'")" \
	close >"$T_SCRATCH/a.out" 2>&1 &
pa=$!
pam_run tmpfs-sweep "$U2" \
	"run:for i in \$(seq 200); do [ -e $fl/a-open ] && break; sleep 0.05; done" open \
	"run:$(as "$U2" sh -c "'dd if=/dev/zero of=$P_SHM/u2-a bs=1M count=3 status=none'")" \
	"run:touch $fl/b-wrote" close >"$T_SCRATCH/b.out" 2>&1
wait $pa
s1=$(audit_lines session-open | jq -r --arg u "$U1" 'select(.user == $u) | .session')
s2=$(audit_lines session-open | jq -r --arg u "$U2" 'select(.user == $u) | .session')
check "two sessions recorded" test -n "$s1" -a -n "$s2" -a "$s1" != "$s2"
check "user 1 got exactly its own files" \
	test "$(audit_lines file "$s1" | jq -r .path | sort | tr '\n' ' ')" = "$P_SHM/u1-a $P_SHM/u1-b "
check "user 2 got exactly its own file" \
	test "$(audit_lines file "$s2" | jq -r .path | tr '\n' ' ')" = "$P_SHM/u2-a "
check "all charged" test -z "$(audit_lines file | jq -r 'select(.class != "charged")')"
check "both closed" test "$(audit_lines session-close | wc -l)" -eq 2
check "no record left" test "$(n_records)" -eq 0
finish
