#!/bin/bash
# THREATS.md 11 (and 12) through a real session, report-only (no rule) so that the file
# stays and can be measured after the close:
# 11. a sparse file of 2^62 bytes with three data pages: the close returns before its
#     deadline, complete; the file's allocated blocks do not grow (no hole faulted in),
#     shmem of the session's parent cgroup does not grow, and exactly the three pages are
#     charged.
# 12. swapped-out pages: not tested here: this machine has no swap (swapon shows none),
#     so no page of a tmpfs file can be swapped out to check that it is not swapped in.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/pam_common.bash"
source "$(dirname "$0")/threat_common.bash"
thr_setup
# The next-login note (NotifyUser) is a file in StateDir, a tmpfs page charged to this
# cgroup: not what is measured here.
echo 'NotifyUser no' >>"$P_CONF"
F=$P_SHM/sparse
shm_before=$(memcg_shmem "$P_CG")
session "$U1" "$T_SCRATCH/s.out" \
	"run:$(as "$U1" truncate -s 4611686018427387904 "$F")" \
	"run:$(as "$U1" dd if=/dev/urandom of="$F" bs=4096 count=1 seek=0 conv=notrunc status=none)" \
	"run:$(as "$U1" dd if=/dev/urandom of="$F" bs=4096 count=1 seek=1000000 conv=notrunc status=none)" \
	"run:$(as "$U1" dd if=/dev/urandom of="$F" bs=4096 count=1 seek=1125899906842620 conv=notrunc status=none)" \
	"run:stat -c 'blocks=%b' $F"
blocks_in=$(kv "$T_SCRATCH/s.out" blocks)
check "the file is 2^62 bytes with 3 pages" \
	test "$(stat -c %s "$F")" = 4611686018427387904 -a "${blocks_in:-0}" -eq 24
check "no page-by-page walk of 2^62 bytes: the close returned before the deadline" \
	no_stall "$T_SCRATCH/s.out"
check "the file's allocated blocks did not grow (no hole faulted in)" \
	test "$(stat -c %b "$F")" = "$blocks_in"
shm_after=$(memcg_shmem "$P_CG")
check "shmem of the session's parent cgroup: $shm_before -> $shm_after (+3 pages at most)" \
	test "$shm_after" -le $((shm_before + 3 * 4096))
check "reported (report-only) with charged_bytes = 3 pages" \
	eval 'expect_result "$F" reported && test "$(ffield "$F" charged_bytes)" = 12288'
# (python, not jq: jq reads numbers as doubles and would round 2^62)
sz=$(python3 -c 'import json, sys
for l in open(sys.argv[1]):
    o = json.loads(l)
    if o.get("path") == sys.argv[2]: print(o["size"])' "$P_AUDIT" "$F")
check "size in the audit line is 2^62 ($sz)" test "$sz" = 4611686018427387904
check "session-close not incomplete" test "$(cfield incomplete)" = false
finish
