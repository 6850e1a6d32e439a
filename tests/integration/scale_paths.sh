#!/bin/bash
# THREATS.md 36: one user's names cost others nothing. A session leaves 8,000 empty files
# under 128 directories of 250-byte names (paths of ~32 KB):
# - the close (the root helper, measured by wait4's ru_maxrss) peaks under 32 MiB (it
#   kept two full paths per file: ~500 MiB), and removes everything;
# - its audit lines show such paths cut to AUDIT_PATH_MAX with the marker, one line each;
# - with a smaller memory budget (the hooks build's TMPFS_SWEEP_TEST_MAX_MEMORY) the walk
#   stops at the budget: incomplete "memory", nothing removed, and said so;
# - 10,001 files in a session: 10,000 file lines, the session-close line counts the rest
#   as "unlisted".
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/pam_common.bash"
source "$(dirname "$0")/threat_common.bash"
thr_setup
hooks_world 120s

# deep_session N DEPTH: a session of U1 leaving N empty files at the bottom of DEPTH
# directories with 250-byte names; $DEEP: the bottom directory.
deep_session() {
	local n=$1 depth=$2
	DEEP=$P_SHM/$(/usr/bin/python3 -c 'import sys; print("/".join(["%03d" % i + "y" * 247 for i in range(int(sys.argv[1]))]))' "$depth")
	open_only "$U1" "$T_SCRATCH/open.out" "run:$(as "$U1" /usr/bin/python3 -c "'
import os, sys
os.chdir(sys.argv[1])
for c in range(int(sys.argv[2])):
    d = \"%03d\" % c + \"y\" * 247
    os.mkdir(d); os.chdir(d)
for i in range(int(sys.argv[3])):
    open(\"f%05d\" % i, \"w\").close()
' $P_SHM $depth $n")"
}
# maxrss CMD...: run CMD, print its exit status and peak RSS in KiB (wait4).
maxrss() {
	/usr/bin/python3 -c '
import os, sys
pid = os.fork()
if pid == 0:
    fd = os.open("/dev/null", os.O_WRONLY); os.dup2(fd, 1); os.dup2(fd, 2)
    os.execv(sys.argv[1], sys.argv[1:])
_, st, ru = os.wait4(pid, 0)
print(os.waitstatus_to_exitcode(st), ru.ru_maxrss)' "$@"
}

# 1. 8,000 files under ~32 KB paths.
deep_session 8000 128
# (find: ls cannot name a path this long)
nfiles() { find "$P_SHM" -type f | wc -l; }
check "8,000 files written under a $(( ${#DEEP} + 7 ))-byte path" test "$(nfiles)" -eq 8000
read -r rc kib < <(maxrss "$SWEEP" close "$SID" --conf "$P_CONF")
echo "    close: status $rc, peak RSS $kib KiB"
check "the close finished (status $rc)" test "$rc" -eq 0
check_footprint "the helper's peak RSS stays under 32 MiB ($kib KiB)" test "$kib" -lt $((32 * 1024))
check "everything was removed" test -z "$(ls -A "$P_SHM")"
check_py "one line per file, paths cut to 4 KiB with the marker, all removed" \
	"$P_AUDIT" "$SID" <<'PY'
import json, re, sys
audit, sid = sys.argv[1], sys.argv[2]
files = [l for l in map(json.loads, open(audit)) if l["event"] == "file" and l["session"] == sid]
assert len(files) == 8000 + 128, len(files)
assert all(l["result"] == "removed" for l in files)
assert max(len(l["path"].encode()) for l in files) < 4096 + 100
cut = [l["path"] for l in files if "bytes cut, path sha256" in l["path"]]
assert len(cut) > 8000, len(cut)
assert len(set(l["path"] for l in files)) == len(files), "two lines show the same path"
assert re.search(r"\[\.\.\.\d+ bytes cut, path sha256 [0-9a-f]{16}\.\.\.\]", cut[0]), cut[0][:2000]
PY

# 2. The same with a 1 MiB budget: a cap like MaxEntries.
deep_session 8000 128
TMPFS_SWEEP_TEST_MAX_MEMORY=$((1 << 20)) "$HS" close "$SID" --conf "$P_CONF" >/dev/null 2>&1
rc=$?
check "capped by memory: exit 7 (incomplete)" test "$rc" -eq 7
check "capped by memory: nothing removed" test "$(nfiles)" -eq 8000
check "capped by memory: the session-close line says incomplete: memory" \
	eval '[ "$(cfield incomplete)" = true ] && cfield reason | grep -q "incomplete: memory"'
check "capped by memory: no line says removed" \
	test -z "$(audit_lines file "$SID" | jq -r 'select(.result == "removed") | .path')"
find "$P_SHM" -mindepth 1 -delete

# 3. 10,001 files: 10,000 lines, one unlisted.
deep_session 10001 1
"$SWEEP" close "$SID" --conf "$P_CONF" >/dev/null 2>&1
check "10,001 files: all removed" test -z "$(ls -A "$P_SHM")"
check "10,001 files: 10,000 file lines" test "$(audit_lines file "$SID" | wc -l)" -eq 10000
check "10,001 files: the session-close line counts them all and the rest as unlisted" \
	eval '[ "$(cfield files)" = 10002 ] && [ "$(cfield removed)" = 10002 ] &&
	      [ "$(cfield unlisted)" = 2 ] && cfield reason | grep -q "not written"'
check "every audit line is JSON" eval 'json_valid_lines "$P_AUDIT" >/dev/null'
finish
