#!/bin/bash
# A write lease taken while a long walk is under way (a large /tmp, explain over every
# mount) is not broken by it: the walk's view of the leases (/proc/locks) is read again as
# the walk goes on (lib/scan.c), so a file leased after the walk began is not opened.
# Before, the view was read once, at the first file with data, and a lease taken after
# that was broken when the walk reached its file (seen in CI: another test's explain broke
# threat_inuse's lease). The tree: 100 directories of one 4 KiB file each, the walk
# slowed under strace (each directory's openat2 20 ms: ~2 s); once it has entered 10
# directories, a user's process takes a write lease on a file in the last one (d00: a
# tmpfs lists the newest first).
# Cost: ~3 s.
source "$(dirname "$0")/../lib.sh"
need_root
command -v strace >/dev/null || skip_all "no strace"
[ -x "$B/tools/t_lease" ] || skip_all "build first (t_lease)"
scratch_tmpfs M 64m || skip_all "cannot mount a scratch tmpfs"
scratch_user U || skip_all "cannot add a scratch user"
user_copy LEASE "$B/tools/t_lease" || skip_all "cannot copy t_lease"
R=$T_SCRATCH/rdy
mkdir -m 1777 "$R"

for ((d = 0; d < 100; d++)); do
	mkdir "$M/d$(printf %02d $d)" && head -c 4096 /dev/zero >"$M/d$(printf %02d $d)/f"
done
head -c 4096 /dev/zero >"$M/d00/leased"
chown "$U" "$M/d00/leased"

ASAN_OPTIONS=detect_leaks=0 strace -f -qq -e trace=openat2,openat \
	-e inject=openat2:delay_enter=20000 -o "$T_SCRATCH/strace.out" \
	"$SWEEP" scan --mount "$M" --json >"$T_SCRATCH/scan.json" 2>"$T_SCRATCH/scan.err" &
scan=$!
at_exit "kill -9 $scan"
entered() { grep -o 'openat2([0-9]*, "d[0-9][0-9]"' "$T_SCRATCH/strace.out" 2>/dev/null | sort -u | wc -l; }
wait_for 20 eval '[ "$(entered)" -ge 10 ]'
setpriv --reuid "$U" --regid "$(id -g "$U")" --clear-groups \
	"$LEASE" "$M/d00/leased" "$R/leased" "$R/report" </dev/null >/dev/null 2>"$R/err" &
holder=$!
at_exit "kill -9 $holder"
wait_for 10 test -s "$R/leased"
at_lease=$(entered)
check "the lease was taken while the walk went on (after $at_lease of 100 directories)" \
	test -s "$R/leased" -a "$at_lease" -lt 90
wait "$scan"
rc=$?
kill -TERM "$holder" 2>/dev/null
wait_for 5 test -s "$R/report"
check "the scan exits 0 ($rc)" test "$rc" -eq 0
check "the lease was never broken by the walk ($(cat "$R/report" 2>/dev/null))" \
	grep -qx 'intact WRLCK' "$R/report"
check "the leased file is listed with an error, its pages not read; the 100 others read" \
	test "$(jq -s --arg p "$M/d00/leased" '[.[] | select(.path == $p and .error != null and has("resident_bytes") == false)] | length' \
		"$T_SCRATCH/scan.json")" -eq 1 -a \
	"$(jq -s '[.[] | select(.type == "file" and .resident_bytes == 4096)] | length' \
		"$T_SCRATCH/scan.json")" -eq 100
# Each walker (scan --jobs: one per CPU) reads its own view: counted per process.
reads=$(awk '/openat\([0-9]*, "locks"/ { n[$1]++ } END { m = 0; for (p in n) if (n[p] > m) m = n[p]; print m }' \
	"$T_SCRATCH/strace.out")
check "the lease view was read again during the walk (at most $reads reads by one walker)" \
	test "$reads" -ge 2
finish
