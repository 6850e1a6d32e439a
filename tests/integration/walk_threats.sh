#!/bin/bash
# THREATS.md 1, 5, 7, 8, 17, 19 against the walker, through `tmpfs-sweep scan`.
. "$(dirname "$0")/../lib.sh"
need_root

scratch_tmpfs mnt 64m
scratch_tmpfs nested 16m

# 1. A symlink to a root file outside: the target is never opened. The target is a
# FIFO, so opening it would hang the scan; its data twin is a charged file elsewhere.
mkfifo -m 600 "$T_SCRATCH/root-fifo"
ln -s "$T_SCRATCH/root-fifo" "$mnt/link-to-fifo"
# A root-only file with an old atime: any read through the link would bump it (relatime).
echo secret >"$T_SCRATCH/shadow"; chmod 600 "$T_SCRATCH/shadow"
touch -a -d '3 days ago' "$T_SCRATCH/shadow"
ln -s "$T_SCRATCH/shadow" "$mnt/link-to-shadow"
shadow_atime=$(stat -c %X "$T_SCRATCH/shadow")
# 5. A FIFO nobody writes, a socket, a device node: classified, never opened.
mkfifo "$mnt/fifo"
python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$mnt/sock"
mknod "$mnt/null" c 1 3
# 7. A 0000 directory and a root-private directory, each with a data file inside.
mkdir -m 0000 "$mnt/locked"; dd if=/dev/zero of="$mnt/locked/secret" bs=4096 count=4 status=none
mkdir -m 0700 "$mnt/rootonly"; dd if=/dev/zero of="$mnt/rootonly/secret" bs=4096 count=4 status=none
# 8. Another tmpfs mounted inside the watched one, holding data: not crossed.
mkdir "$mnt/inner"
mount --bind "$nested" "$mnt/inner"
at_exit "umount -l '$mnt/inner'"
dd if=/dev/zero of="$mnt/inner/beyond" bs=4096 count=4 status=none
# 19. Hostile names.
python3 - "$mnt" <<'PY'
import os, sys
d = sys.argv[1].encode()
for name in [b"new\nline", b'quo"te', b"back\\slash", b"esc\x1b[31mred", b"bad\xff\xfeutf8",
             b"u2028\xe2\x80\xa8sep", b"-leading-dash", b"x" * 255]:
    with open(os.path.join(d, name), "wb") as f:
        f.write(b"data" * 1024)
PY
echo plain >"$mnt/plain"

timeout 20 "$SWEEP" scan --mount "$mnt" --json >"$T_SCRATCH/out.jsonl" 2>"$T_SCRATCH/err"
rc=$?
check "scan finishes without blocking on FIFOs (rc $rc)" test $rc -eq 0
check "every line is valid JSON ($(wc -l <"$T_SCRATCH/out.jsonl") lines)" json_valid_lines "$T_SCRATCH/out.jsonl"
check_py "classification, no crossing, names round-trip" "$T_SCRATCH/out.jsonl" "$mnt" <<'PY'
import json, sys
m = sys.argv[2]
rows = {}
for line in open(sys.argv[1], encoding="utf-8"):
    r = json.loads(line)
    raw = r["path"].encode("utf-8", "surrogateescape")   # \udcXX back to the original bytes
    rows[raw[len(m) + 1:]] = r
t = {k: v["type"] for k, v in rows.items()}
assert t[b"link-to-fifo"] == "symlink" and t[b"link-to-shadow"] == "symlink", t
assert t[b"fifo"] == "fifo" and t[b"sock"] == "socket" and t[b"null"] == "chardev", t
assert "resident_bytes" not in rows[b"fifo"] and "resident_bytes" not in rows[b"link-to-shadow"]
for hidden in (b"locked/secret", b"rootonly/secret", b"inner/beyond"):
    assert hidden not in rows, hidden
for name in [b"new\nline", b'quo"te', b"back\\slash", b"esc\x1b[31mred", b"bad\xff\xfeutf8",
             b"u2028\xe2\x80\xa8sep", b"-leading-dash", b"x" * 255]:
    assert name in rows, name
    assert rows[name]["resident_bytes"] == 4096, rows[name]
assert rows[b"plain"]["size"] == 6
PY
check "no raw control character or U+2028 reaches the output" \
	python3 -c 'import sys; b=open(sys.argv[1],"rb").read(); sys.exit(any(c < 0x20 and c != 10 for c in b) or b"\xe2\x80\xa8" in b)' "$T_SCRATCH/out.jsonl"
check "the root file was not read through the link" test "$(stat -c %X "$T_SCRATCH/shadow")" = "$shadow_atime"
check "the 0000 directory was not changed" test "$(stat -c %a "$mnt/locked")" = 0
"$SWEEP" scan --mount "$mnt" >"$T_SCRATCH/human.txt"
check "the human form escapes names (no raw ESC)" \
	python3 -c 'import sys; sys.exit(b"\x1b" in open(sys.argv[1],"rb").read())' "$T_SCRATCH/human.txt"
check "the human form shows the newline as \\x0a" grep -qF 'new\x0aline' "$T_SCRATCH/human.txt"

# 9. Roots that are not tmpfs mount points are refused with a one-line error.
"$SWEEP" scan --mount "$mnt/locked" >/dev/null 2>"$T_SCRATCH/err"; rc=$?
check "a directory inside the mount is refused (rc $rc = 6)" test $rc -eq 6
ln -s "$mnt" "$T_SCRATCH/link-to-mount"
"$SWEEP" scan --mount "$T_SCRATCH/link-to-mount" >/dev/null 2>"$T_SCRATCH/err"; rc=$?
check "a symlink to a mount point is refused (rc $rc = 6)" test $rc -eq 6
"$SWEEP" scan --mount / >/dev/null 2>"$T_SCRATCH/err"; rc=$?
check "/ is refused (rc $rc = 6)" test $rc -eq 6
check "one line: not a tmpfs mount point" \
	test "$(cat "$T_SCRATCH/err")" = "tmpfs-sweep: scan: /: not a tmpfs mount point"
finish
