#!/bin/bash
# THREATS.md 1 and 4 through a real session (pam_host -> module -> helper close) with a
# policy that removes everything the session created on the watched tmpfs:
# 1. symlinks the user leaves pointing at root's files (inside and outside the mount, and
#    at a root directory): every target keeps its content, mode, owner, inode and atime;
#    only the links themselves go.
# 4. hard links (nlink 2) made in the session: reported with detail "hard links", never
#    removed; nothing in the mount is chowned or chmodded.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/pam_common.bash"
source "$(dirname "$0")/threat_common.bash"
thr_setup
echo "remove $P_SHM/** class=charged,created" >>"$P_CONF"

# Root's files: outside the mount, inside it, and a root-private directory outside.
out_dir=$T_SCRATCH/rootdir; mkdir -m 700 "$out_dir"
echo "root secret" >"$out_dir/secret"; chmod 600 "$out_dir/secret"
echo "outside" >"$T_SCRATCH/root-outside"; chmod 640 "$T_SCRATCH/root-outside"
echo "inside" >"$P_SHM/root-inside"; chmod 600 "$P_SHM/root-inside"
for f in "$T_SCRATCH/root-outside" "$P_SHM/root-inside" "$out_dir/secret"; do
	touch -a -d '3 days ago' "$f"
done
sig_out=$(fsig "$T_SCRATCH/root-outside"); sig_in=$(fsig "$P_SHM/root-inside")
sig_sec=$(fsig "$out_dir/secret"); sig_dir=$(stat -c '%a %u %i' "$out_dir")
at_out=$(stat -c %X "$T_SCRATCH/root-outside"); at_in=$(stat -c %X "$P_SHM/root-inside")

session "$U1" "$T_SCRATCH/s1.out" \
	"run:$(as "$U1" ln -s "$T_SCRATCH/root-outside" "$P_SHM/l-out")" \
	"run:$(as "$U1" ln -s "$P_SHM/root-inside" "$P_SHM/l-in")" \
	"run:$(as "$U1" ln -s "$out_dir" "$P_SHM/l-dir")" \
	"run:$(as "$U1" mkdir "$P_SHM/d")" \
	"run:$(as "$U1" ln -s ../root-inside "$P_SHM/d/l-rel")" \
	"run:$(as "$U1" ln -s / "$P_SHM/d/l-root")" \
	"run:$(as "$U1" dd if=/dev/zero of="$P_SHM/hl-a" bs=64k count=2 status=none)" \
	"run:$(as "$U1" ln "$P_SHM/hl-a" "$P_SHM/hl-b")" \
	"run:$(as "$U1" dd if=/dev/zero of="$P_SHM/plain" bs=64k count=1 status=none)"

check "the session ran (open and close succeed)" grep -qx close=success "$T_SCRATCH/s1.out"
check "a session-close line" test -n "$(closeline)"
# 1: the targets
check "root file outside: content, mode, owner, inode unchanged" \
	test "$(fsig "$T_SCRATCH/root-outside")" = "$sig_out"
check "root file inside the mount: content, mode, owner, inode unchanged" \
	test "$(fsig "$P_SHM/root-inside")" = "$sig_in"
check "root-private dir and its file untouched" \
	test "$(fsig "$out_dir/secret")" = "$sig_sec" -a "$(stat -c '%a %u %i' "$out_dir")" = "$sig_dir"
check "no target was read through a link (atime outside)" \
	test "$(stat -c %X "$T_SCRATCH/root-outside")" = "$at_out"
check "no target was read through a link (atime inside)" \
	test "$(stat -c %X "$P_SHM/root-inside")" = "$at_in"
check "/ is still there (sanity) and the root file inside is not reported" \
	test -z "$(fline "$P_SHM/root-inside")"
# 1: the links themselves: removed (they are the session's), said so
for l in l-out l-in l-dir d/l-rel d/l-root; do
	check "link $l removed, and only the link" eval \
		'test ! -L "$P_SHM/$l" && expect_result "$P_SHM/$l" removed'
done
check "the plain file of the session is removed (the policy works)" \
	eval 'test ! -e "$P_SHM/plain" && expect_result "$P_SHM/plain" removed'
# 4: hard links
for h in hl-a hl-b; do
	check "hard link $h still there, reported: hard links" eval \
		'test -f "$P_SHM/$h" && expect_result "$P_SHM/$h" reported "hard links"'
done
check "hard links: same inode, nlink 2, owner and mode unchanged" \
	test "$(stat -c '%i %h %U %a' "$P_SHM/hl-a")" = "$(stat -c '%i 2 %U %a' "$P_SHM/hl-b")" -a \
	"$(stat -c '%U %a' "$P_SHM/hl-a")" = "$U1 644"
check "the session counted its removals" test "$(cfield removed)" -ge 6
check "every audit line is JSON" eval 'json_valid_lines "$P_AUDIT" >/dev/null'
check "no record left" test "$(n_records)" -eq 0

# 4 again: a hard link the user made to its own file created BEFORE the session (owned),
# and a root file hard-linked by root: with class=owned allowed, still never removed.
run_as "$U1" dd if=/dev/zero of="$P_SHM/old-a" bs=4k count=1 status=none
sleep 0.05
cp /dev/null "$P_CONF.new"; chmod 644 "$P_CONF.new"
printf 'Watch %s\nStateDir %s\nAuditLog %s\nMetricsFile none\nremove %s/** class=charged,created,owned\n' \
	"$P_SHM" "$P_STATE" "$P_AUDIT" "$P_SHM" >"$P_CONF.new"; mv "$P_CONF.new" "$P_CONF"
sig_a=$(stat -c '%i %U %a' "$P_SHM/old-a")
session "$U1" "$T_SCRATCH/s2.out" "run:$(as "$U1" ln "$P_SHM/old-a" "$P_SHM/old-b")"
check "owned + hard link: both names still there, same inode, owner, mode" \
	test "$(stat -c '%i %U %a' "$P_SHM/old-a")" = "$sig_a" -a \
	"$(stat -c '%i %U %a' "$P_SHM/old-b")" = "$sig_a"
check "owned + hard link: reported, detail hard links" expect_result "$P_SHM/old-b" reported "hard links"
check "root's files still root's" test "$(stat -c %U "$P_SHM/root-inside")" = root
finish
