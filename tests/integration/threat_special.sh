#!/bin/bash
# THREATS.md 5, 7, 8, 9 through a real session, with a policy that removes everything
# the session created on the watched tmpfs:
# 5. a FIFO nobody writes, a FIFO a writer waits on, a socket, a device node: classified by
#    statx only, never opened (the waiting writer is never released), close does not stall.
# 7. a mode 000 directory and root-owned 0700 directories: not entered, not changed; the
#    user's file inside a root-private directory is never reported nor removed.
# 8. a tmpfs bind-mounted below the watched mount: not crossed, its files survive.
# 9. Watch paths that are not tmpfs mount points (a directory inside the tmpfs, a symlink
#    to a tmpfs mount point, a directory on disk): not recorded, nothing there removed.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/pam_common.bash"
source "$(dirname "$0")/threat_common.bash"
thr_setup
scratch_tmpfs NESTED 16m
echo "remove $P_SHM/** class=charged,created" >>"$P_CONF"

# 7: made by root before the session: a root-private dir, and one holding a file of the
# user's that only root could reach.
mkdir -m 700 "$P_SHM/rootpriv" "$P_SHM/rootpriv2"
echo secret >"$P_SHM/rootpriv/secret"
sig_rp=$(stat -c '%a %U %i' "$P_SHM/rootpriv")
sig_rps=$(fsig "$P_SHM/rootpriv/secret")
mkdir "$P_SHM/inner"
chmod 1777 "$NESTED"

flag=$T_SCRATCH/writer-released
session "$U1" "$T_SCRATCH/s1.out" \
	"run:$(as "$U1" mkfifo "$P_SHM/fifo")" \
	"run:$(as "$U1" mkfifo "$P_SHM/fifo-w")" \
	"run:$(as "$U1" sh -c "'(echo x >$P_SHM/fifo-w; touch $flag) </dev/null >/dev/null 2>&1 &'")" \
	"run:$(as "$U1" /usr/bin/python3 -c "'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])'" "$P_SHM/sock")" \
	"run:mknod $P_SHM/dev c 1 3 && chown $U1 $P_SHM/dev" \
	"run:$(as "$U1" sh -c "'mkdir $P_SHM/d000 && echo hidden >$P_SHM/d000/f && chmod 000 $P_SHM/d000'")" \
	"run:echo mine >$P_SHM/rootpriv2/users-file && chown $U1 $P_SHM/rootpriv2/users-file" \
	"run:mount --bind $NESTED $P_SHM/inner" \
	"run:$(as "$U1" dd if=/dev/zero of="$P_SHM/inner/beyond" bs=4k count=8 status=none)" \
	"run:$(as "$U1" dd if=/dev/zero of="$P_SHM/plain" bs=4k count=8 status=none)"
check "no FIFO stall: the close returned before the deadline, not killed" \
	no_stall "$T_SCRATCH/s1.out"
check "a session-close line" test -n "$(closeline)"
check "5: the writer waiting on the FIFO was never released (never opened)" test ! -e "$flag"
for f in fifo fifo-w sock dev; do
	check "5: $f has a line, classified without opening it (class created)" \
		test "$(ffield "$P_SHM/$f" class)" = created
done
check "5: the special files of the session are removed (unlink only)" \
	eval '(for f in fifo fifo-w sock dev; do test ! -e "$P_SHM/$f" && expect_result "$P_SHM/$f" removed || exit 1; done)'
check "7: the 000 directory is still mode 000, owned by the user" \
	test "$(stat -c '%a %U' "$P_SHM/d000")" = "0 $U1"
check "7: the file inside the 000 directory survives" test "$(cat "$P_SHM/d000/f")" = hidden
check "7: nothing inside the 000 directory was reported" \
	test -z "$(audit_lines file "$SID" | jq -r --arg p "$P_SHM/d000/" 'select(.path | startswith($p))')"
check "7: the root-private directory and its file are unchanged" \
	test "$(stat -c '%a %U %i' "$P_SHM/rootpriv")" = "$sig_rp" -a "$(fsig "$P_SHM/rootpriv/secret")" = "$sig_rps"
check "7: the user's file inside a root-private directory survives" \
	test "$(cat "$P_SHM/rootpriv2/users-file")" = mine
check "7: and is not reported (the directory is not entered)" test -z "$(fline "$P_SHM/rootpriv2/users-file")"
check "8: the file in the nested mount survives" test -s "$NESTED/beyond"
check "8: nothing below the nested mount point was reported" \
	test -z "$(audit_lines file "$SID" | jq -r --arg p "$P_SHM/inner/" 'select(.path | startswith($p))')"
check "8: the mount point directory is still there" test -d "$P_SHM/inner"
check "the plain file of the session is removed (the policy removes)" \
	eval 'test ! -e "$P_SHM/plain" && expect_result "$P_SHM/plain" removed'
check "every audit line is JSON" eval 'json_valid_lines "$P_AUDIT" >/dev/null'

# 9: Watch paths that are not tmpfs mount points.
scratch_tmpfs OTHER 16m
chmod 1777 "$OTHER"
mkdir -m 1777 "$P_SHM/sub" "$T_SCRATCH/disk"
ln -s "$OTHER" "$T_SCRATCH/link-to-tmpfs"
printf 'Watch %s %s %s\nStateDir %s\nAuditLog %s\nMetricsFile none\n' "$P_SHM/sub" "$T_SCRATCH/link-to-tmpfs" \
	"$T_SCRATCH/disk" "$P_STATE" "$P_AUDIT" >"$P_CONF"
for w in "$P_SHM/sub" "$T_SCRATCH/link-to-tmpfs" "$T_SCRATCH/disk" "$OTHER"; do
	echo "remove $w/** class=charged,created" >>"$P_CONF"
done
"$SWEEP" check-config "$P_CONF" >"$T_SCRATCH/cc.out" 2>&1
check "9: the policy itself is valid (so any refusal is the mount check's)" test $? -eq 0
session "$U1" "$T_SCRATCH/s9.out" \
	"run:$(as "$U1" sh -c "'echo a >$P_SHM/sub/a; echo b >$T_SCRATCH/link-to-tmpfs/b; echo c >$T_SCRATCH/disk/c'")" \
	"run:$SWEEP sessions --json --conf $P_CONF >$T_SCRATCH/s9.json"
check "9: the session ran" grep -qx close=success "$T_SCRATCH/s9.out"
check "9: the file in a non-mount-point directory of a tmpfs survives" test -e "$P_SHM/sub/a"
check "9: the file behind a symlinked watch path survives" test -e "$OTHER/b"
check "9: the file in a directory on disk survives" test -e "$T_SCRATCH/disk/c"
check "9: no file line at all" test -z "$(audit_lines file "$SID")"
check "9: session-close: files 0, removed 0" test "$(cfield files)/$(cfield removed)" = 0/0
finish
