#!/bin/bash
# bench/scan.sh: walk + attribution over a large tree against find's bare walk, and over a
# tree of data against util-linux fincore.
# 1. The 1%-data tree: a scratch tmpfs holds FILES files in DIRS directories; one file in
#    100 has 64 KiB of data, written from a scratch memory cgroup so that its pages are
#    charged there. `tmpfs-sweep scan --mount M --json` (walk, statx, page attribution,
#    JSON) is timed against `find M -printf '%i %s %U %B@\n'` (walk + stat, no
#    attribution), alternating, ROUNDS rounds each; the ratio of the medians has a goal of
#    <= 0.9, for wall time (what the issue asks) and CPU time (steady when the machine is
#    busy). Then the peak RSS of one scan over the tree (goal <= 8 MiB).
# 2. The data tree: DATA_FILES files of 64 KiB in DATA_DIRS directories, all charged to the
#    scratch cgroup; the same scan against `find M -type f -exec fincore --json {} +` (a
#    walk, then mmap + mincore per file, no attribution): goal <= 1.0.
# Usage (root): B=build bench/scan.sh    env: FILES, DIRS, DATA_FILES, DATA_DIRS, ROUNDS
# shellcheck source=/dev/null
. "$(dirname "$0")/lib.sh"
bench_need

FILES=${FILES:-100000}
DIRS=${DIRS:-1000}
scratch_tmpfs M 1g || skip_all "bench: cannot mount a scratch tmpfs"
scratch_memcg CG || skip_all "bench: cannot make a scratch memory cgroup"

# The tree, from one process (not one per file). Data files are written by that process
# in the scratch cgroup, so their pages are charged to it.
in_memcg "$CG" python3 - "$M" "$FILES" "$DIRS" <<'PY' || { echo "bench: tree failed" >&2; exit 1; }
import os, sys
root, files, dirs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
per = files // dirs
data = b"x" * 65536
for d in range(dirs):
    dp = "%s/d%04d" % (root, d)
    os.mkdir(dp)
    for f in range(per):
        fd = os.open("%s/f%05d" % (dp, f), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        if (d * per + f) % 100 == 0:
            os.write(fd, data)
        os.close(fd)
PY
charged=$(memcg_shmem "$CG")
n=$(find "$M" -type f | wc -l)
result "scan tree" "$n files in $DIRS dirs, $((charged >> 20)) MiB charged to the scratch cgroup" info

SCAN=("$SWEEP" scan --mount "$M" --json)
FIND=(find "$M" -printf '%i %s %U %B@\n')

# Check that scan sees what we made before timing it.
got=$("${SCAN[@]}" | jq -s --arg cg "$(basename "$CG")" \
	'[.[] | select(.charges[]?.cgroup | strings | endswith($cg))] | length')
[ "$got" -eq $((n / 100)) ] ||
	echo "bench: warning: scan attributed $got files to the cgroup, expected $((n / 100))" >&2

measure w c "${SCAN[@]}" && measure w c "${FIND[@]}" || exit 1 # warm both
sw_all=() sc_all=() fw_all=() fc_all=()
for ((i = 0; i < ROUNDS; i++)); do
	measure w c "${SCAN[@]}" || exit 1
	sw_all+=("$w") sc_all+=("$c")
	measure w c "${FIND[@]}" || exit 1
	fw_all+=("$w") fc_all+=("$c")
done
sw=$(median "${sw_all[@]}") sc=$(median "${sc_all[@]}")
fw=$(median "${fw_all[@]}") fc=$(median "${fc_all[@]}")
result "scan median" "wall $(ms "$sw") ms, cpu $(ms "$sc") ms" info
result "find median" "wall $(ms "$fw") ms, cpu $(ms "$fc") ms" info
result "load average" "$(load)" info
result "scan/find ratio" "$(ratio "$sw" "$fw")" "<= 0.9"
result "scan/find cpu ratio" "$(ratio "$sc" "$fc")" "<= 0.9"
rss=$(peak_rss_kib "${SCAN[@]}") || exit 1
result "scan peak RSS" "$(awk -v k="$rss" 'BEGIN { printf "%.1f", k / 1024 }') MiB" "<= 8 MiB"
rss=$(peak_rss_kib "${FIND[@]}") || exit 1
result "find peak RSS" "$(awk -v k="$rss" 'BEGIN { printf "%.1f", k / 1024 }') MiB" info

# 2. The data tree.
DATA_FILES=${DATA_FILES:-20000}
DATA_DIRS=${DATA_DIRS:-200}
scratch_tmpfs D $(((DATA_FILES / 16 + 256)))m || skip_all "bench: cannot mount a scratch tmpfs"
in_memcg "$CG" python3 - "$D" "$DATA_FILES" "$DATA_DIRS" <<'PY' || { echo "bench: data tree failed" >&2; exit 1; }
import os, sys
root, files, dirs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
per = files // dirs
data = b"d" * 65536
for d in range(dirs):
    dp = "%s/d%04d" % (root, d)
    os.mkdir(dp)
    for f in range(per):
        fd = os.open("%s/f%05d" % (dp, f), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        os.write(fd, data)
        os.close(fd)
PY
n=$(find "$D" -type f | wc -l)
result "data tree" "$n files of 64 KiB in $DATA_DIRS dirs" info
SCAN=("$SWEEP" scan --mount "$D" --json)
FINCORE=(find "$D" -type f -exec fincore --json {} +)
got=$("${SCAN[@]}" | jq -s --arg cg "$(basename "$CG")" \
	'[.[] | select(.type == "file" and .resident_bytes == 65536 and
	  (.charges | length) == 1 and (.charges[0].cgroup | endswith($cg)))] | length')
[ "$got" -eq "$n" ] ||
	echo "bench: warning: scan attributed $got files wholly to the cgroup, expected $n" >&2
measure w c "${SCAN[@]}" && measure w c "${FINCORE[@]}" || exit 1 # warm both
sw_all=() sc_all=() fw_all=() fc_all=()
for ((i = 0; i < ROUNDS; i++)); do
	measure w c "${SCAN[@]}" || exit 1
	sw_all+=("$w") sc_all+=("$c")
	measure w c "${FINCORE[@]}" || exit 1
	fw_all+=("$w") fc_all+=("$c")
done
sw=$(median "${sw_all[@]}") sc=$(median "${sc_all[@]}")
fw=$(median "${fw_all[@]}") fc=$(median "${fc_all[@]}")
result "data scan median" "wall $(ms "$sw") ms, cpu $(ms "$sc") ms" info
result "fincore median" "wall $(ms "$fw") ms, cpu $(ms "$fc") ms" info
result "load average" "$(load)" info
result "data scan/fincore ratio" "$(ratio "$sw" "$fw")" "<= 1.0"
result "data scan/fincore cpu ratio" "$(ratio "$sc" "$fc")" "<= 1.0"
