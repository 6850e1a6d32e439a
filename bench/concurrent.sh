#!/bin/bash
# bench/concurrent.sh: many logouts at once (what used to be gc_concurrent.sh's "run time
# under 60 s", as a ratio). SESSIONS sessions (default 40) of USERS scratch users (default
# 10), in waves of PAR (default 20): each session is a pam_host through the module
# (cgroup=create, OtherSessions proceed, a rule removing what the session created), writes
# 2 small files as its user, then the wave waits at a barrier and closes together. Timed:
# from the barrier's release to the last pam_host of the wave gone, summed over the
# waves (the opens and writes are not timed).
# Subject: the real helper sweeps at close. Anchor: the same sessions with a helper that
# exits at once (tests/tools/spawn_probe as "true"), each session removing its own 2
# files as its user after the barrier: the module's close path and the removal, without
# the walk, attribution and audit. Rounds alternate, ROUNDS of each (default 3), medians.
# Checked after every round: no session file left; after a subject round, the audit log
# has a session-close for each session, not incomplete, and a "removed" line per file.
# Usage (root): B=build bench/concurrent.sh      env: ROUNDS, SESSIONS, USERS, PAR
# shellcheck source=/dev/null
. "$(dirname "$0")/lib.sh"
bench_need
. "$BENCH_TOP/tests/integration/pam_common.bash"
pam_setup
ROUNDS=${ROUNDS:-3}
NS=${SESSIONS:-40} NU=${USERS:-10} PAR=${PAR:-20}
[ "$ROUNDS" -ge 1 ] || ROUNDS=1
[ $((NS % PAR)) -eq 0 ] || { echo "bench: SESSIONS must be a multiple of PAR" >&2; exit 1; }
US=()
for ((u = 0; u < NU; u++)); do
	scratch_user x || skip_all "bench: cannot make a scratch user"
	US+=("$x")
done
chmod 755 "$T_SCRATCH"
pam_service tsw cgroup=create timeout=60
cat >>"$P_CONF" <<EOF
OtherSessions proceed
remove $P_SHM/** class=charged,created
EOF
"$SWEEP" check-config "$P_CONF" >/dev/null || { echo "bench: the policy does not check" >&2; exit 1; }
fl=$T_SCRATCH/flags
mkdir -p "$fl"

# one_round KIND VAR: SESSIONS sessions in waves; the summed close time (us) in VAR.
one_round() {
	local kind=$1 __v=$2 w j i u as pids t0 t1 sum=0 helper=tmpfs-sweep self_rm
	[ "$kind" = anchor ] && helper=true
	rm -rf "$fl" && mkdir -p "$fl"
	for ((w = 0; w < NS / PAR; w++)); do
		pids=()
		for ((j = 0; j < PAR; j++)); do
			i=$((w * PAR + j))
			u=${US[$((i % NU))]}
			as="setpriv --reuid $u --regid $(id -g "$u") --clear-groups"
			self_rm=true
			[ "$kind" = anchor ] && self_rm="$as rm -f $P_SHM/s$i-a $P_SHM/s$i-b"
			pam_run "$helper" "$u" item:tty="s$i" open \
				"run:$as dd if=/dev/zero of=$P_SHM/s$i-a bs=4k count=1 status=none" \
				"run:$as dd if=/dev/zero of=$P_SHM/s$i-b bs=4k count=2 status=none" \
				"run:touch $fl/ready-$i; while [ ! -e $fl/go-$w ]; do sleep 0.01; done" \
				"run:$self_rm" close >"$T_SCRATCH/h-$i.out" 2>&1 &
			pids+=($!)
		done
		wait_for 300 eval "[ \$(ls $fl | grep -c '^ready-') -ge $(((w + 1) * PAR)) ]" ||
			{ echo "bench: wave $w: not all sessions ready" >&2; exit 1; }
		t0=${EPOCHREALTIME/./}
		touch "$fl/go-$w"
		wait "${pids[@]}"
		t1=${EPOCHREALTIME/./}
		sum=$((sum + t1 - t0))
	done
	[ "$(cat "$T_SCRATCH"/h-*.out | grep -cx close=success)" -eq "$NS" ] ||
		{ echo "bench: $kind: not every close succeeded" >&2; exit 1; }
	[ -z "$(ls -A "$P_SHM")" ] || { echo "bench: $kind: files left" >&2; exit 1; }
	rm -f "$T_SCRATCH"/h-*.out "$P_STATE"/sessions/*
	printf -v "$__v" '%s' "$sum"
}

# The subject's effects, from the audit log of its round (then emptied).
check_audit() {
	python3 - "$P_AUDIT" "$NS" <<'PY' || { echo "bench: the audit log disagrees" >&2; exit 1; }
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
ns = int(sys.argv[2])
closes = [l for l in lines if l["event"] == "session-close"]
removed = {l["path"] for l in lines if l["event"] == "file" and l["result"] == "removed"}
assert len(closes) == ns and not any(l["incomplete"] for l in closes), "session-close lines"
assert len(removed) == 2 * ns, ("removed files", len(removed))
PY
	: >"$P_AUDIT"
}

sw=() aw=()
for ((r = 0; r < ROUNDS; r++)); do
	one_round subject t || exit 1
	check_audit
	sw+=("$t")
	one_round anchor t || exit 1
	aw+=("$t")
done
msw=$(median "${sw[@]}") maw=$(median "${aw[@]}")
result "load" "$(load)" info
result "sessions, waves" "$NS in waves of $PAR, $NU users, $ROUNDS rounds" info
per_wave() { awk -v t="$1" -v w=$((NS / PAR)) 'BEGIN { printf "%.0f\n", t / w }'; }
result "concurrent close, sweep (median, ms per wave)" "$(ms "$(per_wave "$msw")")" info
result "concurrent close, anchor (median, ms per wave)" "$(ms "$(per_wave "$maw")")" info
result "concurrent close/anchor ratio" "$(ratio "$msw" "$maw")" "<= 3.0"
