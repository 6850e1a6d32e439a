#!/bin/bash
# NotifyUser through real PAM sessions: a session that leaves files still there (reported)
# has the next login of the same user shown one PAM_TEXT_INFO message naming them (what the
# conversation function receives, as tests/tools/pam_host prints it), once; only the user's
# own files are named, names escaped; a conversation that refuses the message keeps it for
# the next login; NotifyUser no (in the whole file, or in a Match Service block) shows none.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/pam_common.bash"
pam_setup
scratch_user U1
chmod 755 "$T_SCRATCH"
for s in tsw tsw-cron; do pam_service "$s" cgroup=create timeout=20; done
uid=$(id -u "$U1")
summary=$P_STATE/notify/$uid

as() { local u=$1; shift; printf 'setpriv --reuid %s --regid %s --clear-groups %s' "$u" "$(id -g "$u")" "$*"; }
write() { printf 'run:%s' "$(as "$U1" dd if=/dev/zero of="$P_SHM/$1" bs=64k count="$2" status=none)"; }
# login LABEL [PAM_HOST ACTIONS...]: a session of U1: conv:* actions, open, the others, close.
login() {
	local label=$1 pre=() post=() a; shift
	for a in "$@"; do case $a in conv:*) pre+=("$a") ;; *) post+=("$a") ;; esac; done
	pam_run tmpfs-sweep "$U1" "${pre[@]}" open "${post[@]}" close >"$T_SCRATCH/$label.out" 2>&1
	grep -qx 'close=success' "$T_SCRATCH/$label.out" || not_ok "$label: did not close"
}
# info LABEL: what the conversation got at that login (pam_host prints \n as \\n).
info() { sed -n 's/^info=//p' "$T_SCRATCH/$1.out"; }
policy() {
	printf 'Watch %s\nStateDir %s\nAuditLog %s\nMetricsFile none\n%s' "$P_SHM" "$P_STATE" "$P_AUDIT" "$1" >"$P_CONF"
}

policy ''
# 1. Two files of the user and one of root's written from inside the session: all three
# reported; the summary names the user's two.
login leave "$(write notify-a 4)" "$(write notify-b 4)" \
	"run:dd if=/dev/zero of=$P_SHM/root-file bs=64k count=1 status=none"
check "leave: three files reported" test "$(audit_lines file | jq -r .result | sort | uniq -c | awk '{$1=$1};1')" = "3 reported"
check "leave: a summary for uid $uid, root's 0600" \
	test "$(stat -c '%U %a' "$summary" 2>/dev/null)" = "root 600"
check "leave: no message at that login (nothing was left before it)" test -z "$(info leave)"

login next
msg=$(info next)
printf '# %s\n' "$msg"
check "next login: one message" test "$(grep -c '^info=' "$T_SCRATCH/next.out")" -eq 1
check "next login: how many, how much" \
	grep -qE '^tmpfs-sweep: your session \(tsw\) that ended [0-9-]+ [0-9:]+ left 2 files on tmpfs, 512.0 KiB, still there:' <<<"$msg"
check "next login: names $P_SHM/notify-a, what happened" grep -qF "\\n  $P_SHM/notify-a: reported" <<<"$msg"
check "next login: names $P_SHM/notify-b" grep -qF "\\n  $P_SHM/notify-b: reported" <<<"$msg"
check "next login: root's file is not named" eval '! grep -q root-file <<<"$msg"'
check "next login: the summary is gone once told" test ! -e "$summary"
login again
check "the login after: no message" test -z "$(info again)"

# 2. A conversation that refuses the message: kept for the next login.
rm -f "$P_SHM"/notify-*
# A name with ESC and a newline, made by a script (no shell quoting on the way).
printf '%s\n' "dd if=/dev/zero of=\"$P_SHM/\$(printf 'esc\\033[2J\\nname')\" bs=64k count=1 status=none" \
	>"$T_SCRATCH/weird.sh"
chmod 644 "$T_SCRATCH/weird.sh"
login leave2 "run:$(as "$U1" sh "$T_SCRATCH/weird.sh")"
login refused conv:null
check "refused: nothing shown, the summary stays" eval '[ -z "$(info refused)" ] && [ -e "$summary" ]'
login shown
msg=$(info shown)
printf '# %s\n' "$msg"
check "shown at the login after: 1 file, 64.0 KiB" grep -qF 'left 1 file on tmpfs, 64.0 KiB' <<<"$msg"
# The module writes ESC as the text \x1b and the newline as \x0a (pam_host shows a '\' it
# receives as \x5c): no byte of the name reaches the terminal as a control.
check "shown: the name's ESC and newline escaped as text" \
	grep -qF "$P_SHM/esc\\x5cx1b[2J\\x5cx0aname: reported" <<<"$msg"

# 3. NotifyUser no in a Match Service block: that service's logins show nothing and leave
# the summary; NotifyUser no for every session: none shown.
login leave3 "$(write notify-c 1)"
policy $'Match Service tsw-cron\nNotifyUser no\n'
P_SERVICE=tsw-cron login cron
check "Match Service tsw-cron / NotifyUser no: nothing shown, the summary stays" \
	eval '[ -z "$(info cron)" ] && [ -e "$summary" ]'
policy $'NotifyUser no\n'
login off
check "NotifyUser no: nothing shown" test -z "$(info off)"
check "NotifyUser no: the summary stays for a login that may tell" test -e "$summary"
rm -f "$summary"
login leave4 "$(write notify-d 1)"
check "NotifyUser no: a session that leaves files writes no summary" test ! -e "$summary"
check "every audit line is JSON" eval 'json_valid_lines "$P_AUDIT" >/dev/null'
finish
