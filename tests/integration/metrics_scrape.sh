#!/bin/bash
# Prometheus metrics (issue 13 item 6) through the real node_exporter: its textfile
# collector reads the policy's MetricsFile from a scratch directory, and a scrape over HTTP
# says node_textfile_scrape_error 0 and moves by exactly what the sessions did: two PAM
# sessions of two users that leave files (removed, kept, reported), then a close that the
# module kills at its deadline (a timeout, incomplete, its record pending), then gc that
# finishes it. promtool check metrics passes on the file.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/pam_common.bash"
pam_setup
NE=$(command -v prometheus-node-exporter || command -v node_exporter) ||
	skip_all "prometheus-node-exporter not installed (tools/deps.sh installs it)"
command -v promtool >/dev/null || skip_all "promtool not installed (Debian package prometheus)"
scratch_user U1
scratch_user U2
chmod 755 "$T_SCRATCH"

# The textfile directory: root's, not writable by others, as the metrics code demands.
TXT=$T_SAFE/textfile
install -d -m 0755 "$TXT"
PROM=$TXT/tmpfs-sweep.prom
printf 'Watch %s\nStateDir %s\nAuditLog %s\nMetricsFile %s\nOtherSessions proceed\n' \
	"$P_SHM" "$P_STATE" "$P_AUDIT" "$PROM" >"$P_CONF"
printf 'keep %s/keep-*\nreport %s/rep-*\nremove %s/** class=charged,created\n' \
	"$P_SHM" "$P_SHM" "$P_SHM" >>"$P_CONF"
check "the policy is valid" "$SWEEP" check-config "$P_CONF"
pam_service tsw cgroup=create timeout=20

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
bg NE_PID "$NE" --web.listen-address="127.0.0.1:$port" --collector.disable-defaults \
	--collector.textfile --collector.textfile.directory="$TXT" >"$T_SCRATCH/ne.log" 2>&1
scrape() { curl -fsS --max-time 10 "http://127.0.0.1:$port/metrics"; }
answers() { scrape >/dev/null 2>&1; }
check "node_exporter answers on 127.0.0.1:$port" wait_for 20 answers

# value SCRAPE-FILE SERIES: the sample of SERIES (name with labels, as exposed; node_exporter
# writes large ones as floats, 4.25984e+06), as an integer; 0 if absent.
value() { awk -v s="$2" '$1 == s { v = $2 } END { printf "%.0f\n", v + 0 }' "$1"; }
series=(tmpfs_sweep_sessions_closed_total tmpfs_sweep_removed_bytes_total
	tmpfs_sweep_incomplete_total tmpfs_sweep_timeouts_total tmpfs_sweep_pending_sessions
	tmpfs_sweep_leftover_objects_total tmpfs_sweep_leftover_objects_charged_bytes_total
	tmpfs_sweep_leftover_objects_removed_total)
for r in removed reported kept deferred skipped-in-use skipped-changed error; do
	series+=("tmpfs_sweep_files_total{result=\"$r\"}")
done
# delta A B SERIES=N...: each series moved by exactly N from scrape A to scrape B.
delta() {
	local a=$1 b=$2 kv s want got bad=
	shift 2
	for kv in "$@"; do
		s=${kv%=*} want=${kv##*=}
		got=$(awk -v a="$(value "$a" "$s")" -v b="$(value "$b" "$s")" 'BEGIN { printf "%.0f", b - a }')
		[ "$got" = "$want" ] || bad+=" $s moved $got, not $want;"
	done
	[ -z "$bad" ] || { echo "   $bad"; return 1; }
}

scrape >"$T_SCRATCH/s0" || not_ok "first scrape"
check "before any session: textfile collector without error, no tmpfs_sweep series" \
	sh -c "grep -qx 'node_textfile_scrape_error 0' '$T_SCRATCH/s0' &&
		! grep -q '^tmpfs_sweep_' '$T_SCRATCH/s0'"

as() { local u=$1; shift; printf 'setpriv --reuid %s --regid %s --clear-groups %s' "$u" "$(id -g "$u")" "$*"; }
t0=$(date +%s)
# Session 1: two files removed (1 MiB + 64 KiB), one kept.
pam_run tmpfs-sweep "$U1" open \
	"run:$(as "$U1" dd if=/dev/zero of="$P_SHM/a1" bs=1M count=1 status=none)" \
	"run:$(as "$U1" dd if=/dev/zero of="$P_SHM/a2" bs=64k count=1 status=none)" \
	"run:$(as "$U1" dd if=/dev/zero of="$P_SHM/keep-1" bs=4k count=1 status=none)" \
	close >"$T_SCRATCH/one.out" 2>&1
# Session 2: one removed (3 MiB), one reported.
pam_run tmpfs-sweep "$U2" open \
	"run:$(as "$U2" dd if=/dev/zero of="$P_SHM/b1" bs=1M count=3 status=none)" \
	"run:$(as "$U2" dd if=/dev/zero of="$P_SHM/rep-1" bs=4k count=2 status=none)" \
	close >"$T_SCRATCH/two.out" 2>&1
t1=$(date +%s)
check "both sessions closed" test "$(audit_lines session-close | wc -l)" -eq 2
check "the files went as the policy says" sh -c "! ls '$P_SHM/a1' '$P_SHM/a2' '$P_SHM/b1' 2>/dev/null &&
	test -e '$P_SHM/keep-1' -a -e '$P_SHM/rep-1'"
scrape >"$T_SCRATCH/s1" || not_ok "second scrape"
check "textfile collector read the file without error" grep -qx 'node_textfile_scrape_error 0' "$T_SCRATCH/s1"
check "counters moved by exactly what the two sessions did" delta "$T_SCRATCH/s0" "$T_SCRATCH/s1" \
	tmpfs_sweep_sessions_closed_total=2 'tmpfs_sweep_files_total{result="removed"}=3' \
	'tmpfs_sweep_files_total{result="kept"}=1' 'tmpfs_sweep_files_total{result="reported"}=1' \
	'tmpfs_sweep_files_total{result="deferred"}=0' 'tmpfs_sweep_files_total{result="error"}=0' \
	"tmpfs_sweep_removed_bytes_total=$((4 * 1048576 + 65536))" tmpfs_sweep_incomplete_total=0 \
	tmpfs_sweep_timeouts_total=0 tmpfs_sweep_pending_sessions=0 \
	tmpfs_sweep_leftover_objects_total=0 tmpfs_sweep_leftover_objects_removed_total=0
missing=$(for s in "${series[@]}"; do awk -v s="$s" '$1 == s { f = 1 } END { exit !f }' \
	"$T_SCRATCH/s1" || printf '%s ' "$s"; done)
check "node_exporter exports every series${missing:+ (missing: $missing)}" test -z "$missing"
last=$(awk '$1 == "tmpfs_sweep_last_close_timestamp_seconds" { printf "%.3f", $2 }' "$T_SCRATCH/s1")
check "last close timestamp ($last) is within the sessions ($t0..$t1)" \
	awk -v v="$last" -v a="$t0" -v b="$t1" 'BEGIN { exit !(v >= a && v <= b + 1) }'
check "every series has its HELP and TYPE" python3 - "$PROM" <<'EOF'
import sys
help_, type_, names = set(), set(), set()
for line in open(sys.argv[1]):
    p = line.split()
    if line.startswith("# HELP "): help_.add(p[2])
    elif line.startswith("# TYPE "): type_.add(p[2])
    elif p: names.add(p[0].split("{")[0])
sys.exit(0 if names and names <= help_ and names <= type_ else 1)
EOF
out=$(promtool check metrics <"$PROM" 2>&1)
check "promtool check metrics passes${out:+: $out}" sh -c "promtool check metrics <'$PROM' >/dev/null 2>&1 && [ -z '$out' ]"
check "the file is 0644 root, the lock and no temp file beside it" \
	sh -c "[ \"\$(stat -c '%a %U' '$PROM')\" = '644 root' ] && [ -e '$PROM.lock' ] && [ ! -e '$PROM.tmp' ]"

# The module kills a stalled helper at its 1 s deadline: a timeout, incomplete, the record
# stays (pending, its process gone); gc then finishes it (one more session closed).
pam_service tsw cgroup=create timeout=1
pam_run stall "$U1" open close >"$T_SCRATCH/stall.out" 2>&1
scrape >"$T_SCRATCH/s2" || not_ok "third scrape"
pam_service tsw cgroup=create timeout=20
check "the module counted the killed close: timeout and incomplete +1, nothing closed" \
	delta "$T_SCRATCH/s1" "$T_SCRATCH/s2" tmpfs_sweep_timeouts_total=1 \
	tmpfs_sweep_incomplete_total=1 tmpfs_sweep_sessions_closed_total=0
rm -f "$P_PROBEDIR/probe.mode"
"$SWEEP" gc --conf "$P_CONF" >"$T_SCRATCH/gc.out" 2>&1
scrape >"$T_SCRATCH/s3" || not_ok "fourth scrape"
check "gc finished it: one more session closed, nothing pending" \
	delta "$T_SCRATCH/s2" "$T_SCRATCH/s3" tmpfs_sweep_sessions_closed_total=1 \
	tmpfs_sweep_timeouts_total=0
check "nothing pending after gc" test "$(value "$T_SCRATCH/s3" tmpfs_sweep_pending_sessions)" = 0
check "gc set its timestamp" awk -v v="$(value "$T_SCRATCH/s3" tmpfs_sweep_last_gc_timestamp_seconds)" \
	-v a="$t0" 'BEGIN { exit !(v >= a) }'

# MetricsFile none: nothing written.
sed -i "s|^MetricsFile .*|MetricsFile none|" "$P_CONF"
before=$(md5sum <"$PROM")
pam_run tmpfs-sweep "$U2" open "run:$(as "$U2" dd if=/dev/zero of="$P_SHM/c1" bs=4k count=1 status=none)" \
	close >"$T_SCRATCH/none.out" 2>&1
check "MetricsFile none: the session closed and the file did not change" \
	sh -c "test ! -e '$P_SHM/c1' && [ \"\$(md5sum <'$PROM')\" = '$before' ]"
finish
