#!/bin/bash
# Real programs that outlive a logout (issue 11 item 1, THREATS.md 29): in a real PAM
# session through the module, under tmpfs-sweep.conf(5)'s bastion policy (remove what the
# session created), the user starts tmux 3.3a, GNU screen 4.9 and `ssh-agent -a`, each with
# its socket in a directory on the watched tmpfs, and logs out leaving them running. The
# sockets and their directories stay, and `tmux ls`, `screen -ls` and `ssh-add -l` still
# reach their servers. Then the servers end (tmux and screen cleanly, ssh-agent killed, its
# socket file left behind) and gc removes what is left, once each (a socket that its server
# unlinked is counted as gone). On main the sockets and
# directories are removed at logout and the three commands fail.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/pam_common.bash"
source "$(dirname "$0")/threat_common.bash"
for p in tmux screen ssh-agent ssh-add; do
	command -v "$p" >/dev/null || skip_all "$p is not installed (tools/deps.sh)"
done
thr_setup
cat >>"$P_CONF" <<EOF
OtherSessions proceed
remove $P_SHM/** class=charged,created
EOF
check "the bastion policy checks clean" "$SWEEP" check-config "$P_CONF"

E="env -i PATH=/usr/bin:/bin HOME=/ SHELL=/bin/sh"
TM="$E TMUX_TMPDIR=$P_SHM tmux"
SC="$E SCREENDIR=$P_SHM/screens screen"
AGENT=$P_SHM/ssh/agent.sock
u() { run_as "$U1" "$@"; }
session "$U1" "$T_SCRATCH/s1.out" \
	"run:$(as "$U1" $TM new-session -d -s work sleep 3600)" \
	"run:$(as "$U1" $SC -dmS work sleep 3600)" \
	"run:$(as "$U1" mkdir "$P_SHM/ssh")" \
	"run:$(as "$U1" $E ssh-agent -a "$AGENT") >/dev/null" \
	"run:sleep 0.3"
check "the session opened and closed" eval "grep -qx open=success '$T_SCRATCH/s1.out' &&
	grep -qx close=success '$T_SCRATCH/s1.out'"
TSOCK=$P_SHM/tmux-$U1_ID/default
SSOCK=$(ls -d "$P_SHM"/screens/*.work 2>/dev/null | head -n1)
audit_lines file "$SID" | jq -r '"    " + .path + ": " + .result + " (" + (.detail // "") + ")"'

check "tmux's socket and directory stay" test -S "$TSOCK"
check "screen's socket and directory stay" test -S "$SSOCK"
check "ssh-agent's socket and directory stay" test -S "$AGENT"
check "tmux ls still works" eval "u $TM ls | grep -q '^work:'"
check "screen -ls still works" eval "u $SC -ls | grep -q '\.work'"
u $E SSH_AUTH_SOCK="$AGENT" ssh-add -l >/dev/null 2>&1
check "ssh-add -l still reaches the agent (exit 1: no identities, not 2: no agent)" test $? -eq 1
for s in "$TSOCK" "$SSOCK" "$AGENT"; do
	check "$(basename "$(dirname "$s")")/$(basename "$s"): skipped-in-use, the server named" \
		expect_result "$s" skipped-in-use 'bound to a live UNIX socket held by pid [0-9]+ \((tmux|screen|ssh-agent)'
done
for d in "$P_SHM/tmux-$U1_ID" "$P_SHM/screens" "$P_SHM/ssh"; do
	check "$(basename "$d"): deferred with its socket" expect_result "$d" deferred 'not empty'
done
check "the record is kept for gc" grep -qx state=deferred "$P_STATE/sessions/$SID"

# The servers end: tmux and screen cleanly (they unlink their sockets), ssh-agent killed.
u $TM kill-server
u $SC -S "$(basename "$SSOCK")" -X quit
pkill -9 -u "$U1" -x ssh-agent
wait_for 10 sh -c "! pgrep -u '$U1' -x 'tmux: server' && ! pgrep -u '$U1' -x screen &&
	! pgrep -u '$U1' -x ssh-agent" >/dev/null
check "the killed agent left its socket file" test -S "$AGENT"
n0=$(wc -l <"$P_AUDIT")
"$SWEEP" gc --conf "$P_CONF" >"$T_SCRATCH/gc.out" 2>&1
check "gc exits 0" test $? -eq 0
check "gc removed what was left: the directories and the agent's socket" eval \
	'test ! -e "$P_SHM/tmux-$U1_ID" -a ! -e "$P_SHM/screens" -a ! -e "$P_SHM/ssh"'
check "the record is gone" test ! -e "$P_STATE/sessions/$SID"
check_py "gc: one removed line each; a socket its server unlinked is counted as not found" \
	"$P_AUDIT" "$SID" "$n0" "$P_SHM" "$U1_ID" "$SSOCK" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])][int(sys.argv[3]):]
sid, shm, uid, ssock = sys.argv[2], sys.argv[4], sys.argv[5], sys.argv[6]
files = [l for l in lines if l["event"] == "file" and l["session"] == sid]
paths = [l["path"] for l in files]
assert all(l["result"] == "removed" for l in files), files
assert len(paths) == len(set(paths)), paths
must = {shm + "/tmux-" + uid, shm + "/screens", shm + "/ssh", shm + "/ssh/agent.sock"}
assert must <= set(paths), (paths, must)
# tmux 3.3a leaves its socket file at kill-server, screen unlinks its own
maybe = {shm + "/tmux-" + uid + "/default", ssock}
assert set(paths) <= must | maybe, paths
gone = len(maybe - set(paths))
c = [l for l in lines if l["event"] == "session-close" and l["session"] == sid]
assert len(c) == 1, c
if gone:
    want = "%d pending file%s not found again" % (gone, "" if gone == 1 else "s")
    assert want in c[0].get("reason", ""), (want, c)
PY
finish
