#!/bin/bash
# A file truncated and regrown in a loop by another process while it is scanned: the
# scanner never dies of SIGBUS, every run exits cleanly with valid JSON, and exactly the
# runs that saw the file change (its line says "changed":true) exit 7, as tmpfs-sweep(8)
# says: the answer is not whole.
. "$(dirname "$0")/../lib.sh"
need_root

scratch_tmpfs mnt 128m
f=$mnt/victim
dd if=/dev/zero of="$f" bs=1M count=32 status=none
churn() {
	while :; do
		truncate -s 0 "$f"
		dd if=/dev/zero of="$f" bs=1M count=32 status=none
		truncate -s 4096 "$f"
		fallocate -p -o 0 -l 4096 "$f" 2>/dev/null
		truncate -s 16M "$f"
	done
}
bg churner churn
bad=0 changed=0
for i in $(seq 1 60); do
	"$SWEEP" scan --mount "$mnt" --json >"$T_SCRATCH/out.jsonl" 2>"$T_SCRATCH/err"
	rc=$?
	want=0
	grep -q '"changed":true' "$T_SCRATCH/out.jsonl" && want=7 && changed=$((changed + 1))
	if [ $rc -ne $want ]; then
		echo "run $i: rc $rc, want $want: $(cat "$T_SCRATCH/err")"; bad=$((bad + 1)); continue
	fi
	n=$(json_valid_lines "$T_SCRATCH/out.jsonl") || { bad=$((bad + 1)); continue; }
	[ "$n" -le 1 ] || bad=$((bad + 1))
done
kill -9 "$churner" 2>/dev/null; wait "$churner" 2>/dev/null
pkill -f "of=$f" ; sleep 0.3 # a dd the loop had started may still be running
check "60 scans under truncation: valid JSON, exit 7 when a change was seen, else 0 ($bad bad, $changed saw a change)" \
	test "$bad" -eq 0
# The file system is intact and what is left is scanned normally.
truncate -s 0 "$f"; dd if=/dev/zero of="$f" bs=1M count=8 status=none
"$SWEEP" scan --mount "$mnt" --json >"$T_SCRATCH/final.jsonl"
check "a quiet file scans exactly afterwards" grep -q '"resident_bytes":8388608' "$T_SCRATCH/final.jsonl"
[ "$T_FAILED" = 0 ] || sed 's/^/    scan: /' "$T_SCRATCH/final.jsonl"
finish
