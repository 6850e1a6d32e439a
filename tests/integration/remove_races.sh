#!/bin/bash
# Removal races: a directory on the path swapped for a symlink between snapshot and
# removal (to a dir outside the mount that the user could write: nothing there is
# touched), with user and with root credentials; two entries exchanged with
# renameat2(RENAME_EXCHANGE); a tmpfs mounted on a snapshotted directory; a file deeper
# than PATH_MAX is still removable (chunked resolution).
. "$(dirname "$0")/../lib.sh"
need_root
TR=$B/tools/t_remove
scratch_tmpfs M 64m
scratch_user UA
as() { local u=$1; shift; setpriv --reuid="$(id -u "$u")" --regid="$(id -g "$u")" --clear-groups -- "$@"; }
res() { grep -E "^$1 " "$T_SCRATCH/out" | cut -d' ' -f2-; }
# Outside the mount, owned by A: A's credentials alone would allow removing it.
mkdir -m 755 "$T_SCRATCH/outside" && echo precious >"$T_SCRATCH/outside/victim"
chown -R "$UA" "$T_SCRATCH/outside"

for mode in user root; do
	rm -f "$T_SCRATCH/go" "$T_SCRATCH/go.ready"
	as "$UA" sh -c "cd '$M' && rm -rf d d.old && mkdir d && echo v >d/victim && echo a >x1 && echo b >x2"
	if [ $mode = user ]; then creds=(--user "$UA"); else creds=(--as-root); fi
	"$TR" "${creds[@]}" --wait "$T_SCRATCH/go" "$M" d/victim x1 x2 >"$T_SCRATCH/out" 2>&1 &
	trpid=$!
	wait_for 10 test -e "$T_SCRATCH/go.ready" || not_ok "$mode: no snapshot"
	as "$UA" sh -c "cd '$M' && mv d d.old && ln -s '$T_SCRATCH/outside' d"
	as "$UA" /usr/bin/python3 -c '
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
os.chdir(sys.argv[1])
if libc.renameat2(-100, b"x1", -100, b"x2", 2) != 0:
    sys.exit("renameat2: %s" % os.strerror(ctypes.get_errno()))' "$M" || not_ok "$mode: exchange failed"
	touch "$T_SCRATCH/go"
	wait $trpid
	cat "$T_SCRATCH/out"
	check "$mode creds: dir swapped for symlink: skipped-changed (parent)" \
		[ "$(res d/victim)" = "skipped-changed parent ELOOP" ]
	check "$mode creds: nothing outside the mount touched" \
		[ "$(cat "$T_SCRATCH/outside/victim")" = precious ]
	check "$mode creds: the moved original stays too" [ -f "$M/d.old/victim" ]
	check "$mode creds: exchanged entries: skipped-changed (ino)" eval '\
		[ "$(res x1)" = "skipped-changed ino 0" ] && [ "$(res x2)" = "skipped-changed ino 0" ]'
	check "$mode creds: exchanged entries both survive" eval '\
		[ "$(cat "$M/x1")" = b ] && [ "$(cat "$M/x2")" = a ]'
	rm -f "$M/d"
done

# A mount appears on a snapshotted directory.
as "$UA" mkdir "$M/mp"
rm -f "$T_SCRATCH/go" "$T_SCRATCH/go.ready"
"$TR" --as-root --wait "$T_SCRATCH/go" "$M" mp >"$T_SCRATCH/out" 2>&1 &
trpid=$!
wait_for 10 test -e "$T_SCRATCH/go.ready"
mount -t tmpfs -o size=1m tsw-remove-races-inner "$M/mp" && at_exit "umount -l '$M/mp'"
touch "$M/mp/inner"
touch "$T_SCRATCH/go"
wait $trpid
cat "$T_SCRATCH/out"
check "mount point: skipped-changed" grep -q '^mp skipped-changed ' "$T_SCRATCH/out"
check "mount point: still mounted, content intact" eval 'mountpoint -q "$M/mp" && [ -e "$M/mp/inner" ]'

# Deeper than PATH_MAX (300 x 32-byte components = ~9.9 KB).
as "$UA" /usr/bin/python3 -c '
import os, sys
os.chdir(sys.argv[1])
for i in range(300):
    n = "%031d" % i
    os.mkdir(n); os.chdir(n)
open("deepfile", "w").write("x")' "$M"
rel=$(python3 -c 'print("/".join("%031d" % i for i in range(300)) + "/deepfile")')
echo "$rel" | "$TR" --user "$UA" --stdin "$M" >"$T_SCRATCH/out" 2>&1
check "path of ${#rel} bytes: removed" grep -q ' removed none 0$' "$T_SCRATCH/out"
check "deep file really gone" python3 -c '
import os, sys
os.chdir(sys.argv[1])
for i in range(300): os.chdir("%031d" % i)
sys.exit(os.path.exists("deepfile"))' "$M"
finish
