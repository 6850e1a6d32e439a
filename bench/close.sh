#!/bin/bash
# bench/close.sh: what logout costs: `tmpfs-sweep close ID` on a real session that left
# 1,000 files (10 MiB) on a tmpfs holding 100,000 other files, against the bare work of
# finding and removing them: `find M -printf ...` over the same tree plus `rm` of the same
# 1,000 files. Goal: close <= 1.2x the anchor (wall time; CPU time reported alongside).
#
# The tree: OTHERS files (default 100,000, empty) in DIRS directories (root's, mode 1777
# like /dev/shm), made before any session: half of the directories hold files of the
# session's user (class "owned": created before the session, so no rule removes them),
# half files of a second scratch user. Each close round is a fresh real session: pam_host
# opens it through the module (cgroup=create, so the session has its own memory cgroup),
# the session's user writes the 1,000 files (one per directory, 10 MiB in all) from inside
# the session's cgroup, and the host exits WITHOUT close, leaving the record; then the
# helper is run directly, as the module would run it, and timed. Each anchor round writes
# the same 1,000 files as the same user and times find + rm. Rounds alternate, ROUNDS of
# each (default 7), medians. After every round: the 1,000 files are gone, the others are
# all there unchanged (same inode, owner and name list), and for a close round the audit
# log has 1,000 "removed" file lines for that session and a session-close that says so.
# ALT=/path/to/another/tmpfs-sweep adds a third kind of round, a close by that helper, for
# an A/B of two builds in the same run (info lines only).
# Usage (root): B=build bench/close.sh      env: ROUNDS, OTHERS, DIRS, SESSION_FILES, PROFILE, ALT,
# CLOSE_TIMEOUT (the policy's Timeout, default 60s: 1,000,000 others under load need more)
# shellcheck source=/dev/null
. "$(dirname "$0")/lib.sh"
bench_need
. "$BENCH_TOP/tests/integration/pam_common.bash"
pam_setup
scratch_user U || skip_all "bench: cannot make a scratch user"
scratch_user O || skip_all "bench: cannot make a scratch user"
M=$P_SHM
OTHERS=${OTHERS:-100000}
DIRS=${DIRS:-1000}
NS=${SESSION_FILES:-1000}
TOTAL=$((10 << 20)) # the session's bytes, spread over its NS files
[ "$ROUNDS" -ge 1 ] || ROUNDS=1

pam_service tsw cgroup=create timeout=60
cat >>"$P_CONF" <<EOF
OtherSessions proceed
Timeout ${CLOSE_TIMEOUT:-60s}
remove $M/** class=charged,created
EOF
"$SWEEP" check-config "$P_CONF" >/dev/null || { echo "bench: the policy does not check" >&2; exit 1; }

bench_tree "$M" "$OTHERS" "$DIRS" "$(id -u "$U")" "$(id -u "$O")" ||
	{ echo "bench: tree failed" >&2; exit 1; }

# The session's files: NS files, one per directory (round robin), TOTAL bytes in all;
# their paths (NUL-separated) for the anchor's rm.
cat >"$T_SCRATCH/write.py" <<'PY'
import os, sys
root, n, total, dirs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
base, extra = divmod(total, n)
for i in range(n):
    p = "%s/d%04d/s-%05d" % (root, i % dirs, i)
    fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    os.write(fd, b"s" * (base + (i < extra)))
    os.close(fd)
PY
chmod 644 "$T_SCRATCH/write.py"
python3 -c '
import sys
root, n, dirs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
sys.stdout.write("".join("%s/d%04d/s-%05d\0" % (root, i % dirs, i) for i in range(n)))' \
	"$M" "$NS" "$DIRS" >"$T_SCRATCH/session.list"
AS_U="setpriv --reuid $U --regid $(id -g "$U") --clear-groups"
PY_SYS=/usr/bin/python3 # not a shim in root's home: the user runs it
WRITE="$AS_U $PY_SYS $T_SCRATCH/write.py $M $NS $TOTAL $DIRS"

# The others' fingerprint: every name, inode and owner but the session's files.
others_sum() {
	find "$M" -mindepth 1 ! -name 's-*' -printf '%p %i %U %s\n' | sort | md5sum | cut -d' ' -f1
}
n_session_files() { find "$M" -name 's-*' | wc -l; }
SUM0=$(others_sum)
n_others=$(find "$M" -type f | wc -l)
result "close tree" "$n_others other files in $DIRS dirs; a session leaves $NS files, $((TOTAL >> 20)) MiB" info

# open_session: a real session of U that writes the files and is left without close;
# sets SID (the record's id).
open_session() {
	local out=$T_SCRATCH/open.out before
	before=$(ls "$P_STATE/sessions" 2>/dev/null)
	pam_run tmpfs-sweep "$U" open "run:$WRITE" >"$out" 2>&1
	if ! grep -qx open=success "$out" || ! grep -qx run=0 "$out"; then
		echo "bench: session open failed:" >&2; cat "$out" >&2; return 1
	fi
	SID=$(comm -13 <(echo "$before") <(ls "$P_STATE/sessions"))
	[ "$(echo "$SID" | wc -w)" = 1 ] || { echo "bench: no single new record: $SID" >&2; return 1; }
	[ "$(n_session_files)" = "$NS" ] || { echo "bench: the session wrote $(n_session_files) files" >&2; return 1; }
}

# check_after KIND: the session's files gone, the others untouched (and the audit log).
bad=0
check_after() {
	local kind=$1 n sum
	n=$(n_session_files)
	[ "$n" = 0 ] || { echo "bench: $kind round: $n session files left" >&2; bad=1; }
	sum=$(others_sum)
	[ "$sum" = "$SUM0" ] || { echo "bench: $kind round: the other files changed" >&2; bad=1; }
	[ "$kind" = close ] || return 0
	n=$(jq -c --arg s "$SID" 'select(.event == "file" and .session == $s and .result == "removed")' \
		"$P_AUDIT" | wc -l)
	[ "$n" = "$NS" ] || { echo "bench: close round: $n removed lines for $SID, expected $NS" >&2; bad=1; }
	# attributed by the kernel's page accounting: every page of it charged to the session
	n=$(jq -c --arg s "$SID" 'select(.event == "file" and .session == $s and
		.class == "charged" and .charged_bytes >= .size)' "$P_AUDIT" | wc -l)
	[ "$n" = "$NS" ] || { echo "bench: close round: $n files charged to $SID, expected $NS" >&2; bad=1; }
	n=$(jq -c --arg s "$SID" 'select(.event == "file" and .session == $s)' "$P_AUDIT" | wc -l)
	[ "$n" = "$NS" ] || { echo "bench: close round: $n file lines for $SID, expected $NS" >&2; bad=1; }
	n=$(jq -r --arg s "$SID" 'select(.event == "session-close" and .session == $s) |
		"\(.removed) \(.incomplete) \(.errors)"' "$P_AUDIT")
	[ "$n" = "$NS false 0" ] || { echo "bench: close round: session-close says '$n'" >&2; bad=1; }
	[ ! -e "$P_STATE/sessions/$SID" ] || { echo "bench: close round: record left" >&2; bad=1; }
}

FIND=(find "$M" -printf '%i %s %U %B@\n')
RM=(xargs -0 -a "$T_SCRATCH/session.list" rm -f --)
close_round() { # [HELPER]: the helper to time (default $SWEEP)
	open_session || exit 1
	measure w c "${1:-$SWEEP}" close "$SID" --conf "$P_CONF" || exit 1
	check_after close
}
anchor_round() {
	$WRITE || { echo "bench: writing the files failed" >&2; exit 1; }
	[ "$(n_session_files)" = "$NS" ] || { echo "bench: anchor: files not written" >&2; exit 1; }
	local fw fc mw mc
	measure fw fc "${FIND[@]}" && measure mw mc "${RM[@]}" || exit 1
	w=$((fw + mw)) c=$((fc + mc)) find_w=$fw rm_w=$mw
	check_after anchor
}

close_round && anchor_round # warm both
cw_all=() cc_all=() aw_all=() ac_all=() fw_all=() rw_all=() xw_all=() xc_all=()
for ((i = 0; i < ROUNDS; i++)); do
	close_round
	cw_all+=("$w") cc_all+=("$c")
	anchor_round
	aw_all+=("$w") ac_all+=("$c") fw_all+=("$find_w") rw_all+=("$rm_w")
	if [ -n "${ALT:-}" ]; then
		close_round "$ALT"
		xw_all+=("$w") xc_all+=("$c")
	fi
done
cw=$(median "${cw_all[@]}") cc=$(median "${cc_all[@]}")
aw=$(median "${aw_all[@]}") ac=$(median "${ac_all[@]}")
result "close rounds (wall ms)" "$(for v in "${cw_all[@]}"; do printf '%s ' "$(ms "$v")"; done)" info
result "anchor rounds (wall ms)" "$(for v in "${aw_all[@]}"; do printf '%s ' "$(ms "$v")"; done)" info
result "close median" "wall $(ms "$cw") ms, cpu $(ms "$cc") ms" info
result "anchor median (find and rm)" "wall $(ms "$aw") ms, cpu $(ms "$ac") ms" info
result "anchor parts (wall)" "find $(ms "$(median "${fw_all[@]}")") ms, rm $(ms "$(median "${rw_all[@]}")") ms" info
if [ -n "${ALT:-}" ]; then
	xw=$(median "${xw_all[@]}") xc=$(median "${xc_all[@]}")
	result "ALT close median" "wall $(ms "$xw") ms, cpu $(ms "$xc") ms ($ALT)" info
	result "close/ALT ratio" "wall $(ratio "$cw" "$xw"), cpu $(ratio "$cc" "$xc")" info
fi
result "load average" "$(load)" info
result "close correctness" "$([ $bad = 0 ] && echo "every round: $NS removed and audited, others untouched" ||
	echo FAILED)" info
result "close/anchor ratio" "$(ratio "$cw" "$aw")" "<= 1.2"
result "close/anchor cpu ratio" "$(ratio "$cc" "$ac")" "<= 1.2"
# PROFILE="perf record -g -e cpu-clock -o /tmp/close.perf" (or "strace -c -f -o FILE"):
# one more close, under that command, after the timed rounds.
if [ -n "${PROFILE:-}" ]; then
	open_session || exit 1
	# shellcheck disable=SC2086 # PROFILE is a command line
	$PROFILE "$SWEEP" close "$SID" --conf "$P_CONF" >/dev/null
	check_after close
fi
exit "$bad"
