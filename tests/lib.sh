# tests/lib.sh: sourced by every integration test. Scratch tmpfs mounts, memory
# cgroups (always below the cgroup this test already runs in), users and processes,
# all removed on exit even when the test fails; and ok/not-ok reporting.
# shellcheck shell=bash
set -u
TOP=${TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
B=${B:-build}
case $B in /*) ;; *) B=$TOP/$B ;; esac
SWEEP=$B/tmpfs-sweep
T_NAME=$(basename "$0" .sh)
T_FAILED=0
T_CLEANUP=()
T_SCRATCH=$(mktemp -d "/tmp/tsw-$T_NAME.XXXXXX")
chmod 755 "$T_SCRATCH"

# Register a cleanup command (run in reverse order at exit).
at_exit() { T_CLEANUP+=("$*"); }
_t_cleanup() {
	local i
	for ((i = ${#T_CLEANUP[@]} - 1; i >= 0; i--)); do
		eval "${T_CLEANUP[$i]}" >/dev/null 2>&1 || true
	done
	rm -rf "$T_SCRATCH"
}
trap _t_cleanup EXIT
trap 'exit 130' INT TERM

ok() { echo "ok - $T_NAME: $*"; }
not_ok() { echo "not ok - $T_NAME: $*"; T_FAILED=1; }
# check DESCRIPTION COMMAND...: ok if the command succeeds
check() {
	local d=$1; shift
	if "$@"; then ok "$d"; else not_ok "$d"; fi
}
skip_all() { echo "$*"; exit 77; }
# asan_built FILE: FILE is linked with ASan (make check SANITIZE=1): gcc links the runtime
# as libasan.so, clang statically; either way the binary's dynamic symbols name it.
asan_built() { nm -D "$1" 2>/dev/null | grep -q ' __asan_init$'; }
# check_footprint DESCRIPTION COMMAND...: a check of the helper's memory footprint; with an
# ASan build the footprint is ASan's (shadow memory, quarantine): skipped, saying so.
check_footprint() {
	if asan_built "$SWEEP"; then ok "# SKIP $1: an ASan build"; else check "$@"; fi
}
finish() { exit "$T_FAILED"; }
need_root() { [ "$(id -u)" -eq 0 ] || skip_all "needs root"; }

# scratch_tmpfs VAR [SIZE]: a fresh tmpfs mounted under the scratch dir.
# (Locals are __-prefixed: printf -v must not hit a local of the caller's chosen name.)
scratch_tmpfs() {
	local __v=$1 __size=${2:-256m} __d
	__d=$(mktemp -d "$T_SCRATCH/tmpfs.XXXXXX")
	mount -t tmpfs -o "size=$__size,mode=1777" "tsw-$T_NAME" "$__d" || return 1
	at_exit "umount -l '$__d'"
	printf -v "$__v" '%s' "$__d"
}

# The memory cgroup (v1 memory controller or v2) this process is in.
memcg_mnt() {
	if grep -q ' /sys/fs/cgroup/memory cgroup .*memory' /proc/self/mounts; then
		echo /sys/fs/cgroup/memory
	elif grep -qw memory /sys/fs/cgroup/cgroup.controllers 2>/dev/null; then
		echo /sys/fs/cgroup
	else
		return 1
	fi
}
memcg_self() {
	local mnt rel
	mnt=$(memcg_mnt) || return 1
	if [ "$mnt" = /sys/fs/cgroup/memory ]; then
		rel=$(awk -F: '$2 ~ /(^|,)memory(,|$)/ {print $3}' /proc/self/cgroup)
	else
		rel=$(awk -F: '$1 == "0" {print $3}' /proc/self/cgroup)
	fi
	echo "${mnt}${rel%/}"
}

# scratch_memcg VAR [PARENT]: a new memory cgroup below PARENT (default: ours).
scratch_memcg() {
	local __v=$1 __parent=${2:-} __d
	[ -n "$__parent" ] || __parent=$(memcg_self) || return 1
	__d=$__parent/tsw-$T_NAME-$$-$RANDOM$RANDOM
	mkdir "$__d" || return 1
	at_exit "memcg_remove '$__d'"
	printf -v "$__v" '%s' "$__d"
}
memcg_remove() {
	local d=$1 sub p
	[ -d "$d" ] || return 0
	for sub in $(find "$d" -mindepth 1 -depth -type d 2>/dev/null); do memcg_remove "$sub"; done
	for p in $(cat "$d/cgroup.procs" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
	for _ in 1 2 3 4 5 6 7 8 9 10; do rmdir "$d" 2>/dev/null && return 0; sleep 0.1; done
}
memcg_shmem() { # v1: total_shmem, v2: shmem
	local d=$1
	if [ -e "$d/memory.current" ]; then
		awk '$1 == "shmem" {print $2}' "$d/memory.stat"
	else
		awk '$1 == "total_shmem" {print $2}' "$d/memory.stat"
	fi
}
memcg_usage() {
	local d=$1
	if [ -e "$d/memory.current" ]; then cat "$d/memory.current"; else cat "$d/memory.usage_in_bytes"; fi
}
# memcg_rel DIR: the cgroup path as /proc/PID/cgroup shows it.
memcg_rel() { local m; m=$(memcg_mnt); echo "${1#"$m"}"; }

# scratch_pids VAR MAX: a scratch pids cgroup (v1) below this process's own, with pids.max
# MAX; fails where there is none to be had. Run in it with in_memcg (any cgroup.procs).
scratch_pids() {
	local __v=$1 __max=$2 __own __d
	__own=$(awk -F: '$2 == "pids" { print $3 }' /proc/self/cgroup)
	[ -n "$__own" ] && [ -w "/sys/fs/cgroup/pids${__own%/}/cgroup.procs" ] || return 1
	__d=/sys/fs/cgroup/pids${__own%/}/tsw-$T_NAME-$$-$RANDOM$RANDOM
	mkdir "$__d" || return 1
	at_exit "memcg_remove '$__d'"
	echo "$__max" >"$__d/pids.max" || return 1
	printf -v "$__v" '%s' "$__d"
}

# killed_walker VAR CMD...: CMD's exit status in VAR. CMD is a `scan` or `explain` with
# --jobs 3 (two walkers besides the first), each directory's open slowed 50 ms under strace
# (the least share then walks for over half a second); one of its walkers is killed (-9)
# while they walk. CMD's output in $T_SCRATCH/killed.out and killed.err.
killed_walker() {
	local __v=$1 __tracer; shift
	ASAN_OPTIONS=detect_leaks=0 strace -f -qq -e trace=openat2 \
		-e inject=openat2:delay_enter=50000 -o /dev/null "$@" \
		>"$T_SCRATCH/killed.out" 2>"$T_SCRATCH/killed.err" &
	__tracer=$!
	at_exit "kill -9 $__tracer"
	_walkers() { local s; s=$(pgrep -P "$__tracer" -x tmpfs-sweep) && pgrep -P "$s" -x tmpfs-sweep; }
	wait_for 10 eval '[ "$(_walkers | wc -l)" -eq 2 ]'
	kill -9 "$(_walkers | head -n1)"
	wait "$__tracer"
	printf -v "$__v" '%s' "$?"
}

# in_memcg CG CMD...: run CMD in cgroup CG (a child process is moved, never us).
in_memcg() {
	local cg=$1; shift
	sh -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$cg" "$@"
}

# scratch_user VAR: a new local user without a home directory.
scratch_user() {
	local __v=$1 __u
	__u=tsw$(printf '%04x%04x' $RANDOM $RANDOM)
	# useradd takes a lock on /etc/passwd: parallel tests retry. A random uid (not the
	# next free one): a test in a private root (its own /etc) would otherwise get the
	# same uid as a user of another test, whose `pkill -u` would then hit it.
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		useradd -M -N -s /bin/sh -u $((20000 + (RANDOM * 32768 + RANDOM) % 39000)) \
			"$__u" >/dev/null 2>&1 && break
		sleep 0.$RANDOM
	done
	id "$__u" >/dev/null 2>&1 || return 1
	at_exit "pkill -9 -u '$__u'; userdel -f '$__u'"
	printf -v "$__v" '%s' "$__u"
}

# user_copy VAR FILE: a copy of FILE (a tool of the build) in the scratch dir, which any
# user can reach: a test that runs a tool as a scratch user must not depend on the
# checkout's path being traversable (a clone under /root is 0700).
user_copy() {
	local __v=$1 __f=$2 __d=$T_SCRATCH/ubin
	mkdir -p "$__d" && chmod 755 "$__d" && cp "$__f" "$__d/" &&
		chmod 755 "$__d/${__f##*/}" || return 1
	printf -v "$__v" '%s' "$__d/${__f##*/}"
}

# bg VAR CMD...: start CMD in the background, killed at exit.
bg() {
	local __v=$1; shift
	"$@" &
	local __pid=$!
	at_exit "kill -9 $__pid; wait $__pid"
	printf -v "$__v" '%s' "$__pid"
}

# within PCT A B: |A-B| <= PCT% of B
within() { awk -v p="$1" -v a="$2" -v b="$3" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= b * p / 100) }'; }
# wait_for SECONDS CMD...: poll until CMD succeeds
wait_for() {
	local s=$1 i; shift
	for ((i = 0; i < s * 10; i++)); do "$@" && return 0; sleep 0.1; done
	return 1
}
json_valid_lines() { python3 -c '
import json, sys
n = 0
for line in open(sys.argv[1], "rb"):
    json.loads(line.decode("utf-8")); n += 1
print(n)' "$1"; }
# check_py DESC ARGS... <<'PY' ... PY: ok if the python script (stdin) passes its asserts.
check_py() {
	local d=$1 out; shift
	if out=$(python3 - "$@" 2>&1); then ok "$d"; else not_ok "$d"; printf '%s\n' "$out" | sed 's/^/    /'; fi
}
# $T_SAFE: a private root-owned 0755 directory whose every ancestor is root-owned and not
# group/other-writable (unlike /tmp), for policy files that must pass the safety checks.
mkdir -p -m 0755 /run/tsw-tests 2>/dev/null
T_SAFE=$(mktemp -d "/run/tsw-tests/$T_NAME.XXXXXX" 2>/dev/null) && chmod 755 "$T_SAFE" &&
	at_exit "rm -rf '$T_SAFE'"
