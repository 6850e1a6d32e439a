#!/bin/bash
# THREATS.md 27, 28 and issue 4's "unsafe owner or mode, symlinked or oversized policy
# file -> report-only and zero removals in a real session".
# A rejected policy falls back to the DEFAULTS (StateDir /run/tmpfs-sweep, AuditLog
# /var/log/tmpfs-sweep/audit.jsonl, Watch /dev/shm ...), so each session here runs in a
# private mount namespace where /run, /var/log and /dev/shm are scratch tmpfs mounts:
# nothing of the host is read or written. Each policy file holds a rule that removes what
# the session created on /dev/shm, plus one defect. For every defect: check-config names
# FILE:LINE (or FILE for file-level problems) and fails; in a real session the file the
# user wrote survives, no line says removed, session-close has removed 0 and a reason that
# says report-only. A control round with the same rule and no defect does remove.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/pam_common.bash"
source "$(dirname "$0")/threat_common.bash"
thr_setup
POL=/run/pol/tmpfs-sweep.conf
RULE='remove /dev/shm/** class=charged,created'
echo "session required $P_MOD conf=$POL cgroup=create timeout=20" >"$P_PAMD/tswp"

# ns_round NAME SETUP: in a private namespace, SETUP (bash, as root) writes $POL; then
# check-config, and a session of $U1 that writes /dev/shm/f-NAME; results in $T_SCRATCH/NAME/.
ns_round() {
	local name=$1 setup=$2 out=$T_SCRATCH/$1
	mkdir -p "$out"
	unshare -m --propagation private bash -c '
		set -e
		top=$1 path=$2 helper=$3 cg=$4 setup=$5 out=$6 pol=$7; shift 7
		mount -t tmpfs -o mode=755 tsw-libexec "$top"
		mkdir -p "$(dirname "$path")"; cp "$helper" "$path"; chmod 755 "$path"
		mount -t tmpfs -o mode=755 tsw-run /run
		mount -t tmpfs -o mode=755 tsw-log /var/log
		! [ -d /var/lib/prometheus ] || mount -t tmpfs -o mode=755 tsw-prom /var/lib/prometheus
		mount -t tmpfs -o mode=1777,size=64m tsw-shm /dev/shm
		mkdir -m 755 /run/pol
		bash -c "$setup"
		"$path" check-config "$pol" >"$out/cc.out" 2>&1 && echo 0 >"$out/cc.rc" || echo $? >"$out/cc.rc"
		(echo $BASHPID >"$cg/cgroup.procs"; exec "$@") >"$out/host.out" 2>&1 || true
		cp /var/log/tmpfs-sweep/audit.jsonl "$out/audit.jsonl" 2>/dev/null || true
		ls -A /dev/shm >"$out/shm.list"
		ls -A /run/tmpfs-sweep/sessions >"$out/records" 2>/dev/null || true
	' _ "$P_LIBEXEC_TOP" "$P_HELPER_PATH" "$P_BIN/tmpfs-sweep" "$P_CG" "$setup" "$out" "$POL" \
		"$P_HOST" "$P_PAMD" tswp "$U1" open \
		"run:$(as "$U1" dd if=/dev/zero of="/dev/shm/f-$name" bs=64k count=2 status=none)" \
		close
}

# expect_report_only NAME CC-REGEX [any]: the round's assertions ("any": the record may
# have no mount at all, so no file line is required).
expect_report_only() {
	local name=$1 re=$2 how=${3:-} out=$T_SCRATCH/$1 a
	a=$out/audit.jsonl
	echo "    [$name] check-config: $(head -n1 "$out/cc.out" | cut -c1-150)"
	echo "    [$name] reason: $(jq -r 'select(.event == "session-close") | .reason' "$a" 2>/dev/null | cut -c1-150)"
	check "[$name] check-config fails and says '$re'" \
		eval 'test "$(cat "$out/cc.rc")" != 0 && grep -Eq -- "$re" "$out/cc.out"'
	check "[$name] the session ran" grep -qx close=success "$out/host.out"
	check "[$name] the user's file survives" grep -qx "f-$name" "$out/shm.list"
	check "[$name] no file line says removed" \
		eval '! jq -e "select(.event == \"file\" and .result == \"removed\")" "$a" >/dev/null 2>&1'
	[ "$how" = any ] ||
		check "[$name] the file is reported" jq_has "$a" \
			'select(.event == "file" and (.path | endswith($n)) and .result == "reported")' \
			--arg n "/f-$name"
	check "[$name] session-close: removed 0, reason report-only" jq_has "$a" \
		'select(.event == "session-close" and .removed == 0 and (.reason // "" | test("report-only")))'
	check "[$name] the record is gone" test ! -s "$out/records"
}

# The control: a good policy removes.
ns_round good "printf '%s\n' '$RULE' >$POL; chmod 644 $POL"
check "[good] check-config passes" test "$(cat "$T_SCRATCH/good/cc.rc")" = 0
check "[good] the session's file is removed" eval '! grep -qx f-good "$T_SCRATCH/good/shm.list"'
check "[good] the audit says removed" jq_has "$T_SCRATCH/good/audit.jsonl" \
	'select(.event == "file" and (.path | endswith("/f-good")) and .result == "removed")'

# 27: syntax
w() { printf "printf '%s' >$POL; chmod 644 $POL" "$1"; } # w FORMAT: setup writing FORMAT
ns_round unknown "$(w "$RULE\nFrobnicate yes\n")"
expect_report_only unknown "$POL:2: "
ns_round duplicate "$(w "Timeout 5s\nTimeout 6s\n$RULE\n")"
expect_report_only duplicate "$POL:2: duplicate"
ns_round badnumber "$(w "Timeout 5x\n$RULE\n")"
expect_report_only badnumber "$POL:1: "
ns_round overflow "$(w "MaxEntries 99999999999999999999999\n$RULE\n")"
expect_report_only overflow "$POL:1: .*too large"
ns_round nul "$(w "$RULE\nTime\\0out 5s\n")"
expect_report_only nul "$POL:2: .*NUL"
ns_round crlf "$(w "$RULE\r\n")"
expect_report_only crlf "$POL:1: "
ns_round longline "printf '%s\n' '$RULE' >$POL; head -c 1048576 /dev/zero | tr '\\0' x >>$POL; chmod 644 $POL"
expect_report_only longline "$POL: .*larger"
# A long line inside a file that is small enough (the 1 MB line above is refused by size).
ns_round line8k "printf '%s\n' '$RULE' >$POL; printf '#%08000d\n' 0 >>$POL; chmod 644 $POL"
expect_report_only line8k "$POL:2: "
# An empty file is a VALID policy (tmpfs-sweep.conf(5), policy.h): defaults, no rules, so
# only reports. Zero removals, but no "report-only" reason to assert.
ns_round empty ": >$POL; chmod 644 $POL"
check "[empty] check-config accepts it" test "$(cat "$T_SCRATCH/empty/cc.rc")" = 0
check "[empty] the user's file survives" grep -qx f-empty "$T_SCRATCH/empty/shm.list"
check "[empty] reported, removed 0" jq_has "$T_SCRATCH/empty/audit.jsonl" \
	'select(.event == "session-close" and .removed == 0 and .files >= 1)'

# 28: patterns
ns_round rootpat "$(w "remove /dev/shm\n$RULE\n")"
expect_report_only rootpat "$POL:1: .*watched root"
ns_round starstar "$(w "remove /**\n")"
expect_report_only starstar "$POL:1: .*watched root"
ns_round parentdir "$(w "remove /dev/*\n$RULE\n")"
expect_report_only parentdir "$POL:1: .*watched root"
ns_round relative "$(w "$RULE\nremove dev/shm/*\n")"
expect_report_only relative "$POL:2: .*absolute"
ns_round dotdot "$(w "$RULE\nremove /dev/shm/../shm/*\n")"
expect_report_only dotdot "$POL:2: "
ns_round stars "printf '%s\n' '$RULE' >$POL; python3 -c \"print('remove /dev/shm/' + '*a' * 1500)\" >>$POL; chmod 644 $POL"
expect_report_only stars "$POL:2: "
# 9 (the policy side): Watch / is refused at parse time; the module's own reading may then
# record no mount at all, so a file line is not required.
ns_round watchroot "$(w "Watch /\n$RULE\n")"
expect_report_only watchroot "$POL:1: " any

# The file itself: unsafe owner or mode, a symlink, too big, an unsafe directory.
good="printf '%s\n' '$RULE' >$POL"
ns_round groupw "$good; chmod 664 $POL"
expect_report_only groupw "$POL: .*writable"
ns_round otherw "$good; chmod 646 $POL"
expect_report_only otherw "$POL: .*writable"
ns_round userowned "$good; chmod 644 $POL; chown $U1 $POL"
expect_report_only userowned "$POL: .*owned by uid $U1_ID"
ns_round symlink "printf '%s\n' '$RULE' >/run/pol/real.conf; chmod 644 /run/pol/real.conf; ln -s real.conf $POL"
expect_report_only symlink "$POL: .*symbolic link"
ns_round oversized "$good; head -c 70000 /dev/zero | tr '\\0' '#' | fold -w 60 >>$POL; chmod 644 $POL"
expect_report_only oversized "$POL: .*larger"
ns_round dirw "$good; chmod 644 $POL; chmod 777 /run/pol"
expect_report_only dirw "/run/pol.*writable"
check "every audit line of every round is JSON" \
	eval '(for f in "$T_SCRATCH"/*/audit.jsonl; do json_valid_lines "$f" >/dev/null || exit 1; done)'
finish
