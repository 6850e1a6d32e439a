#!/bin/bash
# A close over one directory of 500 small files (10 KiB each, SZ=bytes to change),
# through a real session: every file is removed, none comes out skipped-in-use. The files
# are attributed in page batches (lib/scan.c, lib/pages.c: up to 64 files open and mapped
# side by side until the batch is cleared); the helper's own descriptors and mappings must
# never make its lease probe (F_SETLEASE F_WRLCK) say "in use". Proven to fail when a batch
# is not released before the probes (pages_batch_clear skipped for a partial batch: the
# last 52 files skipped-in-use; skipped always: all 500). A real holder still makes a file
# skipped-in-use: threat_inuse.sh.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/pam_common.bash"
source "$(dirname "$0")/threat_common.bash"
thr_setup
echo "remove $P_SHM/** class=charged,created" >>"$P_CONF"
N=500
session "$U1" "$T_SCRATCH/s.out" \
	"run:$(as "$U1" sh -c "'mkdir $P_SHM/d && i=0; while [ \$i -lt $N ]; do head -c ${SZ:-10485} /dev/zero >$P_SHM/d/f\$i; i=\$((i+1)); done'")"
check "the session wrote $N files" test "$(audit_lines file "$SID" | jq -r 'select(.path | startswith("'"$P_SHM"'/d/f")) | .path' | wc -l)" -eq $N
inuse=$(audit_lines file "$SID" | jq -r 'select(.result == "skipped-in-use") | .path' | wc -l)
check "no file is skipped-in-use (got $inuse)" test "$inuse" -eq 0
check "every file is removed, and the directory" test ! -e "$P_SHM/d"
check "every file line says removed" test "$(audit_lines file "$SID" | jq -r 'select(.result == "removed" and (.path | startswith("'"$P_SHM"'/d/f"))) | .path' | wc -l)" -eq $N
[ $T_FAILED = 0 ] || closeline | sed 's/^/    /'
finish
