#!/bin/bash
# `make demo` works on this machine, as CI runs it: it shows the 100 MiB explained
# while the user is logged in, the audit line of its removal, and the file gone.
. "$(dirname "$0")/../lib.sh"
need_root
timeout 120 "$TOP/tools/demo.sh" >"$T_SCRATCH/demo.out" 2>&1
rc=$?
check "the demo succeeds (rc $rc)" test $rc -eq 0
check "explain names the file during the session" \
	grep -qE '100\.0M +100\.0M .*/build-cache\.img$' "$T_SCRATCH/demo.out"
check "explain accounts for all of the session's shmem" \
	grep -qE '^explained 100\.0M of 100\.0M shmem' "$T_SCRATCH/demo.out"
check "the audit shows the removal" grep -q '"result":"removed"' "$T_SCRATCH/demo.out"
check "the demo ends saying it is done" grep -q '== Done' "$T_SCRATCH/demo.out"
[ "$T_FAILED" -eq 0 ] || sed 's/^/    /' "$T_SCRATCH/demo.out"
finish
