# pam_common.bash: sourced by tests/integration/pam_*.sh (after tests/lib.sh).
# A private PAM world: a scratch watched tmpfs, policy, state dir, audit log and PAM
# confdir; pam_host runs in a private mount namespace where a scratch tmpfs over the
# module's LIBEXECDIR holds the helper to test (the real one or a spawn_probe copy),
# and inside a scratch memory cgroup. Nothing of the host system is touched.
# shellcheck shell=bash

P_MOD=$B/pam_tmpfs_sweep.so
P_HOST=$B/tools/pam_host
P_PROBE=$B/tools/spawn_probe

pam_setup() {
	need_root
	[ -x "$P_HOST" ] && [ -e "$P_MOD" ] || skip_all "build first (pam_host, module)"
	P_HELPER_PATH=$(grep -ao '/[[:print:]]*/tmpfs-sweep/tmpfs-sweep' "$P_MOD" | head -n1)
	[ -n "$P_HELPER_PATH" ] || skip_all "cannot find the helper path in the module"
	P_LIBEXEC_TOP=$(dirname "$(dirname "$P_HELPER_PATH")")
	[ -d "$P_LIBEXEC_TOP" ] || skip_all "$P_LIBEXEC_TOP missing"
	scratch_tmpfs P_SHM 256m || skip_all "cannot mount a scratch tmpfs"
	scratch_memcg P_CG || skip_all "no memory cgroup"
	# the state dir on a tmpfs, as /run is: record writes fsync
	scratch_tmpfs P_RUN 16m || skip_all "cannot mount a scratch tmpfs"
	chmod 755 "$P_RUN"
	P_STATE=$P_RUN/tmpfs-sweep
	P_AUDIT=$T_SCRATCH/audit/audit.jsonl
	# policy_load refuses a policy under /tmp (world-writable): $T_SAFE is root-only
	P_CONF=$T_SAFE/tmpfs-sweep.conf
	# spawn_probe, standing in as the helper, reads probe.mode and writes probe.out
	# next to the policy it is given with --conf
	P_PROBEDIR=$T_SAFE
	P_PAMD=$T_SCRATCH/pam.d
	P_BIN=$T_SCRATCH/bin
	mkdir -p "$P_PAMD" "$P_BIN"
	printf 'Watch %s\nStateDir %s\nAuditLog %s\nMetricsFile none\n' "$P_SHM" "$P_STATE" "$P_AUDIT" \
		>"$P_CONF"
	chmod 644 "$P_CONF"
	# helpers to test: the real one and probe copies (behaviour chosen by file name)
	cp "$SWEEP" "$P_BIN/tmpfs-sweep"
	for n in dump stall true; do cp "$P_PROBE" "$P_BIN/$n"; done
	chmod 755 "$P_BIN"/*
}

# pam_counting_helper: $P_BIN/counting, the real helper behind a wrapper that appends a line
# to $T_SAFE/execs at each start (how many helpers a storm of closes started); execs emptied.
pam_counting_helper() {
	printf '#!/bin/sh\necho $$ >>%s/execs\nexec %s "$@"\n' "$T_SAFE" "$P_BIN/tmpfs-sweep" \
		>"$P_BIN/counting"
	chmod 755 "$P_BIN/counting"
	: >"$T_SAFE/execs"
}

# pam_service NAME [MODULE OPTIONS...]: a PAM service file using the built module.
pam_service() {
	local name=$1; shift
	echo "session required $P_MOD conf=$P_CONF $*" >"$P_PAMD/$name"
}

# pam_syslog_host: the path of a pam_host wrapper that preloads pam_wrapper ($SSHD_PRELOAD,
# from tests/sshd.sh), so that the module's pam_syslog lines reach stderr as SYSLOG(...).
pam_syslog_host() {
	[ -n "${SSHD_PRELOAD:-}" ] || return 1
	cat >"$T_SCRATCH/pwhost" <<EOF
#!/bin/sh
export LD_PRELOAD="$SSHD_PRELOAD" PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="\$1" PAM_WRAPPER_DEBUGLEVEL=1
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0:verify_asan_link_order=0}"
exec "$P_HOST" "\$@"
EOF
	chmod 755 "$T_SCRATCH/pwhost" && echo "$T_SCRATCH/pwhost"
}

# pam_run HELPER USER ACTION...: pam_host with service "tsw" (see tests/tools/pam_host.c),
# HELPER (a file in $P_BIN) standing in at the module's helper path. With P_RUN_EXEC=1
# (in a background job: `P_RUN_EXEC=1 pam_run ... &`) the job's shell becomes the host
# instead of waiting for it, as a session's sshd process is the one that closes it.
pam_run() {
	local helper=$1 user=$2; shift 2
	# a probe runs under the helper's name: it reads what to be from probe.mode
	if [ "$helper" = tmpfs-sweep ]; then rm -f "$P_PROBEDIR/probe.mode"
	else echo "$helper" >"$P_PROBEDIR/probe.mode"; fi
	${P_RUN_EXEC:+exec} unshare -m --propagation private bash -c '
		set -e
		top=$1 path=$2 helper=$3 cg=$4; shift 4
		mount -t tmpfs -o mode=755 tsw-libexec "$top"
		mkdir -p "$(dirname "$path")"
		cp "$helper" "$path"; chmod 755 "$path"
		echo $$ >"$cg/cgroup.procs"
		exec "$@"' _ "$P_LIBEXEC_TOP" "$P_HELPER_PATH" "$P_BIN/$helper" "$P_CG" \
		"$P_HOST" "$P_PAMD" "${P_SERVICE:-tsw}" "$user" "$@"
}

# audit_lines EVENT [SESSION]: the audit lines of one event type (jq -c).
audit_lines() {
	[ -e "$P_AUDIT" ] || return 0
	if [ $# -gt 1 ]; then
		jq -c --arg e "$1" --arg s "$2" 'select(.event == $e and .session == $s)' "$P_AUDIT"
	else
		jq -c --arg e "$1" 'select(.event == $e)' "$P_AUDIT"
	fi
}
n_records() { find "$P_STATE/sessions" -maxdepth 1 -type f 2>/dev/null | wc -l; }
# kv FILE KEY: the value of KEY=... in pam_host output
kv() { sed -n "s/^$2=//p" "$1" | tail -n1; }
# jq_has FILE FILTER [JQ ARGS...]: some line of the JSON-lines FILE passes FILTER.
jq_has() {
	local f=$1 filter=$2; shift 2
	jq -e -s "$@" "[.[] | $filter] | length > 0" "$f" >/dev/null
}
