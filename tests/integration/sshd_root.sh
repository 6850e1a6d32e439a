#!/bin/bash
# The founding case through a real sshd (PermitRootLogin prohibit-password, a key login,
# the module installed as an admin would, cgroup=create): root writes 100 MiB to a watched
# tmpfs and logs out. The login is audited (session-open for root, with sshd's service and
# rhost), test.img has a file line with its charged bytes and is kept as root is exempt
# (ExemptUsers root, the default), session-close follows, the file stays. With
# `ExemptUsers none` in a `Match User root` block, the next such login's file is removed.
. "$(dirname "$0")/../sshd.sh"
private_root_enter "$@"
. "$(dirname "$0")/../lib.sh"
need_root
sshd_available || skip_all "sshd, ssh or pam_wrapper missing"
private_root_overlay || skip_all "no overlayfs"
private_root_install

scratch_tmpfs shm 256m
audit=/var/log/tmpfs-sweep/audit.jsonl
MiB=$((1024 * 1024))
jqt() { local in; in=$(cat); [ -n "$in" ] && jq -e "$@" >/dev/null <<<"$in"; }
SSHD_PERMIT_ROOT_LOGIN=prohibit-password
sshd_start_stack "$(sshd_default_stack "session optional $(pkg-config --variable=libdir pam)/security/pam_tmpfs_sweep.so cgroup=create")"
sshd_user_key root
check "sshd runs with PermitRootLogin prohibit-password" \
	grep -qx 'PermitRootLogin prohibit-password' "$SSHD_CONFIG"

# login LABEL: root's key login writes test.img; the session's file line after logout.
login() {
	[ ! -e "$audit" ] || : >"$audit"
	sshd_ssh root "dd if=/dev/zero of=$shm/test.img bs=10240 count=10240 status=none && id -u" \
		>"$T_SCRATCH/$1.out" 2>"$T_SCRATCH/$1.err"
	check "$1: root logged in with its key and ran the command" grep -qx 0 "$T_SCRATCH/$1.out"
	check "$1: close_session has run" sshd_wait_closed 15
	L=$(jq -c --arg p "$shm/test.img" 'select(.event == "file" and .path == $p)' "$audit")
	echo "# $L"
}

cat >/etc/security/tmpfs-sweep.conf <<EOF
Watch $shm
remove $shm/*.img class=charged,created
EOF
login exempt
check_py "exempt: session-open (root, sshd, 127.0.0.1), test.img ~100 MiB charged and kept, session-close" \
	"$audit" "$SSHD_SERVICE" "$shm/test.img" <<'PY'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
svc, path = sys.argv[2], sys.argv[3]
op = [e for e in ev if e["event"] == "session-open"]
assert len(op) == 1 and op[0]["user"] == "root" and op[0]["uid"] == 0, op
assert op[0]["service"] == svc and op[0]["rhost"] == "127.0.0.1", op
assert "/tmpfs-sweep/" in op[0]["cgroup"], op
f = [e for e in ev if e["event"] == "file" and e["path"] == path]
assert len(f) == 1 and f[0]["session"] == op[0]["session"], f
f = f[0]
assert abs(f["charged_bytes"] - (100 << 20)) <= (100 << 20) // 100, f
assert f["class"] == "charged" and f["result"] == "kept", f
assert f["detail"] == "exempt user: named in ExemptUsers", f
cl = [e for e in ev if e["event"] == "session-close"]
assert len(cl) == 1 and cl[0]["session"] == op[0]["session"] and cl[0]["user"] == "root", cl
assert cl[0]["kept"] == 1 and cl[0]["removed"] == 0, cl
PY
check "exempt: test.img is still there" test -e "$shm/test.img"
rm -f "$shm/test.img"

cat >/etc/security/tmpfs-sweep.conf <<EOF
Watch $shm
Match User root
ExemptUsers none
remove $shm/*.img class=charged,created
EOF
check "the Match User root policy checks clean" tmpfs-sweep check-config
login lifted
check "lifted: test.img removed by the Match User root rule" \
	jqt '.result == "removed" and .class == "charged" and .charged_bytes > 100 * 1024 * 1024 * 0.99
	     and (.rule | startswith("line 4: remove"))' <<<"$L"
check "lifted: test.img is gone" test ! -e "$shm/test.img"
check "lifted: the tmpfs holds no data any more" \
	test "$(df --output=used -B1 "$shm" | tail -n1)" -lt "$MiB"
check "no record left" test -z "$(ls /run/tmpfs-sweep/sessions 2>/dev/null)"
finish
