#!/bin/bash
# bench/sshd.sh: sequential key logins over loopback to a private sshd, with and without
# pam_tmpfs_sweep in the session stack, alternated in rounds so that drift hits both.
# A login counts from `ssh ... true` until sshd's [priv] process has run close_session
# and exited (the module's close, and the helper it runs, are inside the measure).
# Prints `NAME: value (goal ...)` lines for bench/run. Runs as root, in a private mount
# namespace where `make install` put the built helper where the module looks for it.
# LOGINS (default 50) logins per configuration, in ROUNDS rounds (default LOGINS: the
# two alternate at every login, which on a busy machine beats any other way of sharing
# out the noise); BENCH_SSHD_MODULE_ARGS replaces the module's arguments.
[ "$(id -u)" -eq 0 ] || { echo "bench/sshd: needs root"; exit 77; }
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../tests/sshd.sh"
private_root_enter "$@"
source "$here/../tests/lib.sh"
source "$TOP/tests/sshd.sh"
sshd_available || skip_all "bench/sshd: sshd, ssh or pam_wrapper missing"
LOGINS=${LOGINS:-50} ROUNDS=${ROUNDS:-${LOGINS:-50}}
per=$(( (LOGINS + ROUNDS - 1) / ROUNDS ))
mod=$B/pam_tmpfs_sweep.so
[ -e "$mod" ] || skip_all "bench/sshd: $mod not built"
private_root_overlay || { echo "bench/sshd: no private root"; exit 1; }
private_root_install || { echo "bench/sshd: make install failed"; exit 1; }

# The module's own world: a watched scratch tmpfs, its own state and audit. The policy
# lives where the helper accepts it (no directory on its path writable by others): in
# the private root's /etc, as do the state dir and the audit log in /run and /var.
watched=''
scratch_tmpfs watched 64m
policy=/etc/security/tmpfs-sweep-bench.conf
audit=/var/log/tmpfs-sweep-bench/audit.jsonl
install -d -m 0700 /run/tmpfs-sweep-bench /var/log/tmpfs-sweep-bench
cat >"$policy" <<POL
Watch    $watched
StateDir /run/tmpfs-sweep-bench
AuditLog $audit
Journal  no
POL
chmod 0644 "$policy"
if ! "$SWEEP" check-config "$policy" >"$T_SCRATCH/check-config.log" 2>&1; then
	echo "sshd_note: bench policy refused: $(head -c 200 "$T_SCRATCH/check-config.log")"
fi
# The module's default options (cgroup=inherit: under logind the session scope is the
# session's cgroup). BENCH_SSHD_MODULE_ARGS="conf=... cgroup=create" measures the per-session
# cgroup mode, which on the v1 memory controller pays two cgroup.procs writes per login
# (each may wait for an RCU grace period, ~10-15 ms here).
margs=${BENCH_SSHD_MODULE_ARGS-conf=$policy}

without=$(sshd_default_stack)
with=$(sshd_default_stack "session optional $mod $margs")
scratch_user U || { echo "bench/sshd: no scratch user"; exit 1; }
sshd_start_stack "$without" || { echo "bench/sshd: sshd did not start"; exit 1; }
sshd_user_key "$U"

declare -A total_ns count
times_without=() times_with=()
# login CONFIG: one timed login, appended to the config's list.
login() {
	local t0 t1
	t0=$(date +%s%N)
	sshd_ssh "$U" true 2>/dev/null || { echo "bench/sshd: login failed ($1)"; exit 1; }
	sshd_wait_closed 30 || { echo "bench/sshd: session did not close ($1)"; exit 1; }
	t1=$(date +%s%N)
	total_ns[$1]=$(( ${total_ns[$1]:-0} + t1 - t0 )); count[$1]=$(( ${count[$1]:-0} + 1 ))
	eval "times_$1+=($(( t1 - t0 )))"
}
# Warm both up (page cache, first dlopen), untimed.
for cfg in without with; do
	sshd_set_stack "${!cfg}"
	sshd_ssh "$U" true 2>/dev/null && sshd_wait_closed 30
done
total_ns=() count=()
for ((r = 0; r < ROUNDS; r++)); do
	# alternate which goes first, so neither always follows the other
	if ((r % 2)); then order="with without"; else order="without with"; fi
	for cfg in $order; do
		sshd_set_stack "${!cfg}"
		for ((i = 0; i < per; i++)); do login "$cfg"; done
	done
done

if grep -q "unable to dlopen" "$SSHD_PAMLOG"; then
	echo "bench/sshd: the module did not load:"; grep "unable to dlopen" "$SSHD_PAMLOG" | head -3
	exit 1
fi
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
awk -v tw="${total_ns[without]}" -v nw="${count[without]}" \
	-v tm="${total_ns[with]}" -v nm="${count[with]}" \
	-v mw="$(median "${times_without[@]}")" -v mm="$(median "${times_with[@]}")" 'BEGIN {
	rw = nw / (tw / 1e9); rm = nm / (tm / 1e9)
	printf "sshd_logins_per_s_without_module: %.2f (%d logins)\n", rw, nw
	printf "sshd_logins_per_s_with_module: %.2f (%d logins)\n", rm, nm
	printf "sshd_login_median_ms_without_module: %.1f\n", mw / 1e6
	printf "sshd_login_median_ms_with_module: %.1f\n", mm / 1e6
	printf "sshd_login_median_ratio: %.3f (without / with)\n", mw / mm
	printf "sshd_login_throughput_ratio: %.3f (goal >= 0.97)\n", rm / rw
}'
records=$(grep -c '"session-close"' "$audit" 2>/dev/null)
echo "sshd_audited_session_closes: ${records:-0} (of $((count[with] + 1)) logins with the module)"
exit 0
