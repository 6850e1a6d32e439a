#!/bin/bash
# bench/pam.sh: the module's cost per login, against anchors in the same run.
# 2,000 open+close cycles (CYCLES=N) through pam_start_confdir, with the real helper on a
# watched tmpfs holding 1,000 files (none of them the session's, so the session leaves
# nothing); anchors: the same stack with pam_permit.so, and with pam_exec.so /bin/true.
# BENCH_WRAP="perf record -g --" (or strace ...) runs the timing program under a profiler.
# Needs root (private mount namespace, scratch tmpfs, scratch user); uses tests/lib.sh
# for scratch resources and cleanup.
set -u
cd "$(dirname "$0")/.."
export TOP=$PWD B=${B:-build}
source tests/lib.sh
source tests/integration/pam_common.bash
need_root
pam_setup
scratch_user U
n=${CYCLES:-2000}
for i in $(seq 1000); do printf x >"$P_SHM/f$i"; done
pam_service tsw
echo "session required pam_permit.so" >"$P_PAMD/permit"
echo "session required pam_exec.so quiet /bin/true" >"$P_PAMD/exec"
rm -f "$T_SCRATCH/probe.mode"
unshare -m --propagation private bash -c '
	set -e
	top=$1 path=$2 helper=$3; shift 3
	mount -t tmpfs -o mode=755 tsw-libexec "$top"
	mkdir -p "$(dirname "$path")"; cp "$helper" "$path"; chmod 755 "$path"
	exec "$@"' _ "$P_LIBEXEC_TOP" "$P_HELPER_PATH" "$P_BIN/tmpfs-sweep" \
	${BENCH_WRAP:-} "$B/bench/pam" "$P_PAMD" "$U" "$n" tsw permit exec
rc=$?
echo "records left: $(n_records); audit lines: $(wc -l <"$P_AUDIT")"
exit $rc
