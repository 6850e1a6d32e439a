#!/bin/bash
# The founding case, root through a real PAM stack (cgroup=create): root writes 100 MiB to
# a watched tmpfs and logs out. Every session is audited, root's too: session-open (user
# root), a file line for test.img with its charged bytes and result kept (exempt user,
# named in ExemptUsers, the default), session-close; the file is still there and the
# memory still charged. With `ExemptUsers none` in a `Match User root` block and a remove
# rule there, the same session's file is removed and the session cgroup's shmem drops.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/pam_common.bash"
pam_setup
pam_service tsw cgroup=create timeout=20
MiB=$((1024 * 1024))
# jqt FILTER...: jq -e on stdin, which must not be empty.
jqt() { local in; in=$(cat); [ -n "$in" ] && jq -e "$@" >/dev/null <<<"$in"; }

# session LABEL: root writes test.img, the session cgroup's shmem is read before the logout.
session() {
	local out=$T_SCRATCH/$1.out
	pam_run tmpfs-sweep root open cgroup \
		"run:dd if=/dev/zero of=$P_SHM/test.img bs=10240 count=10240 status=none" \
		"run:cg=\$(awk -F: '\$2 ~ /memory/ {print \$3}' /proc/self/cgroup);
		     awk '\$1 == \"total_shmem\" {print \"shmem_in=\" \$2}' $(memcg_mnt)\$cg/memory.stat" \
		close >"$out" 2>&1
	check "$1: open and close succeed" grep -qx 'close=success' "$out"
	S_CG=$(sed -n 's/^cgroup=//p' "$out")
	S_SHMEM=$(kv "$out" shmem_in)
	S_ID=$(audit_lines session-open | jq -r 'select(.user == "root") | .session' | tail -n1)
}

# 1. The shipped exemption: root is audited, never removed.
cat >"$P_CONF" <<EOF
Watch $P_SHM
StateDir $P_STATE
AuditLog $P_AUDIT
MetricsFile none
remove $P_SHM/*.img class=charged,created
EOF
session exempt
check "exempt: the session cgroup held the 100 MiB ($S_SHMEM)" within 1 "${S_SHMEM:-0}" $((100 * MiB))
check "exempt: session-open for user root, uid 0, its own cgroup" jq_has "$P_AUDIT" \
	'select(.event == "session-open" and .session == $s and .user == "root" and .uid == 0
	 and .cgroup == $cg)' --arg s "$S_ID" --arg cg "$S_CG"
line=$(audit_lines file "$S_ID" | jq -c --arg p "$P_SHM/test.img" 'select(.path == $p)')
echo "# $line"
ch=$(jq -r .charged_bytes <<<"$line")
check "exempt: a file line for test.img, charged $ch within 1% of 100 MiB" \
	within 1 "${ch:-0}" $((100 * MiB))
check "exempt: result kept, and why: exempt user named in ExemptUsers" \
	jqt '.class == "charged" and .result == "kept" and .action == "keep" and
	       .detail == "exempt user: named in ExemptUsers" and .rule != "default"' <<<"$line"
check "exempt: session-close, kept 1, removed 0" jq_has "$P_AUDIT" \
	'select(.event == "session-close" and .session == $s and .user == "root" and .kept == 1
	 and .removed == 0 and .files == 1)' --arg s "$S_ID"
check "exempt: the file is still there" test -e "$P_SHM/test.img"
check "exempt: its 100 MiB are still charged (to the session cgroup's parent now)" \
	within 2 "$(memcg_shmem "$P_CG")" $((100 * MiB))
check "exempt: no record left" test "$(n_records)" -eq 0
rm -f "$P_SHM/test.img"

# 2. ExemptUsers none for root's sessions: the rule in the block removes it.
cat >"$P_CONF" <<EOF
Watch $P_SHM
StateDir $P_STATE
AuditLog $P_AUDIT
MetricsFile none
report $P_SHM/keep-*
Match User root
ExemptUsers none
remove $P_SHM/*.img class=charged,created
EOF
check "the Match policy checks clean" "$SWEEP" check-config "$P_CONF"
session lifted
check "lifted: the session cgroup held the 100 MiB ($S_SHMEM)" within 1 "${S_SHMEM:-0}" $((100 * MiB))
line=$(audit_lines file "$S_ID" | jq -c --arg p "$P_SHM/test.img" 'select(.path == $p)')
echo "# $line"
check "lifted: test.img removed by the rule of the Match block (line 8)" \
	jqt '.result == "removed" and .action == "remove" and .class == "charged" and
	       (.rule | startswith("line 8: remove"))' <<<"$line"
check "lifted: the file is gone" test ! -e "$P_SHM/test.img"
check "lifted: the session cgroup's shmem dropped (its parent holds < 1 MiB)" \
	test "$(memcg_shmem "$P_CG")" -lt "$MiB"
check "every audit line is JSON" eval 'json_valid_lines "$P_AUDIT" >/dev/null'
finish
