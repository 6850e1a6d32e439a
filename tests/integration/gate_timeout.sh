#!/bin/bash
# Issue 16, 4: the walk keeps the helper's Timeout. A session leaves ~100,000 entries (100
# directories of 1,000 empty files, made by one python process as the user) and the policy
# says `Timeout 50ms` and removes what the session created: the close says incomplete,
# the reason says time, nothing is removed, and the record stays for gc. (If the walk
# ignored the deadline, it would finish, the remover would find its time gone and the close
# would not say incomplete for the walk; THREATS.md 18.)
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/pam_common.bash"
source "$(dirname "$0")/threat_common.bash"
thr_setup
W=$P_SHM
printf 'Watch %s\nStateDir %s\nAuditLog %s\nMetricsFile none\nTimeout 50ms\n%s\n' \
	"$P_SHM" "$P_STATE" "$P_AUDIT" "remove $W/** class=charged,created" >"$P_CONF"
check "the policy (Timeout 50ms) checks clean" "$SWEEP" check-config "$P_CONF"

mk="import os
for d in range(100):
    p = '$W/d%03d' % d
    os.mkdir(p)
    for f in range(1000):
        os.close(os.open('%s/f%04d' % (p, f), os.O_WRONLY | os.O_CREAT, 0o644))"
session "$U1" "$T_SCRATCH/out" "run:$(as "$U1" /usr/bin/python3 -c "\"$mk\"")"
n=$(find "$W" -type f | wc -l)
check "the session made 100,000 files" test "$n" -eq 100000
check "the close returned (close=success)" grep -qx close=success "$T_SCRATCH/out"
check "session-close: incomplete" test "$(cfield incomplete)" = true
check "session-close: the reason says time ($(cfield reason))" eval 'cfield reason | grep -q "incomplete: time"'
check "nothing removed: all 100,000 files are still there" test "$(find "$W" -type f | wc -l)" -eq 100000
check "nothing removed: the close says removed 0" test "$(cfield removed)" = 0
check "no line says removed" test "$(audit_lines file "$SID" | jq -r 'select(.result == "removed")' | wc -l)" -eq 0
lines=$(audit_lines file "$SID" | wc -l)
check "the lines there are ($lines) say reported, the cap named (time)" \
	test -z "$(audit_lines file "$SID" | jq -r 'select(.result != "reported" or (.detail | test("incomplete walk \\(time\\)") | not)) | .path' | head -n1)"
check "the record stays for gc (out of time)" test "$(n_records)" -eq 1
echo "    the helper walked $lines of ~100,100 entries in its 50 ms"
finish
