#!/bin/bash
# The installed units are clean (verify, status, tmpfiles), and a login's audit records reach
# journald as structured entries that `journalctl MESSAGE_ID=...` finds. The MESSAGE_IDs
# are not hard-coded here: they are read from the entries that carry the session's fields.
. "$(dirname "$0")/lib/vmlib.sh"

units=$(cd /lib/systemd/system && ls tmpfs-sweep* 2>/dev/null | tr '\n' ' ')
note "installed units: $units"
check "a gc service and timer are installed" \
	test -f /lib/systemd/system/tmpfs-sweep-gc.service -a -f /lib/systemd/system/tmpfs-sweep-gc.timer
for unit in $units; do
	# The guest has no man(1): verify's Documentation= probe fails for every page; the
	# pages themselves are checked below instead.
	v=$(systemd-analyze verify "/lib/systemd/system/$unit" 2>&1 | grep -v "Command 'man ")
	for doc in $(systemctl show -p Documentation --value "$unit"); do
		case $doc in man:*) ;; *) continue ;; esac
		page=${doc#man:} sec=${page##*\(} sec=${sec%\)} page=${page%\(*}
		check "$unit: Documentation $doc installed" test -f "/usr/share/man/man$sec/$page.$sec"
	done
	[ -z "$v" ] || note "verify $unit: $v"
	check "systemd-analyze verify $unit: no complaint" [ -z "$v" ]
	check "$unit not failed" [ "$(systemctl is-failed "$unit")" != failed ]
done
st=$(systemctl status --no-pager tmpfs-sweep-gc.timer 2>&1)
check "timer status: active (waiting)" grep -q 'Active: active (waiting)' <<<"$st"
check "gc service runs and succeeds" run_unit tmpfs-sweep-gc.service
st=$(systemctl status --no-pager tmpfs-sweep-gc.service 2>&1)
rc=$?
note "$(head -n 4 <<<"$st")"
check "gc service status clean after a run (rc $rc, not failed)" \
	bash -c '[ "$1" -eq 0 -o "$1" -eq 3 ] && ! grep -q "failed" <<<"$2"' _ "$rc" "$st"
check "state dir /run/tmpfs-sweep made at boot, root-owned, not world-writable" \
	bash -c '[ -d /run/tmpfs-sweep ] && [ "$(stat -c %u /run/tmpfs-sweep)" = 0 ] &&
		[ $(( 0$(stat -c %a /run/tmpfs-sweep) & 02 )) -eq 0 ]'
check "no failed units in the guest" bash -c '[ -z "$(systemctl list-units --failed --plain --no-legend)" ]'

# One login that leaves a file, then its records in the journal.
u=sweepb uid=1002
f=/dev/shm/tsw-vm-journal
rm -f "$f"
at_exit "rm -f '$f'"
use_policy remove
logind_set RemoveIPC=no
audit_mark
since=$(date '+%Y-%m-%d %H:%M:%S')
sleep 1
user_ssh "$u" "dd if=/dev/zero of=$f bs=1M count=4 status=none" ||
	not_ok "login session"
check "audit session-close for $u" wait_close $u
sid=$(aqv "closes($uid)[-1].get('session')" | tr -d '"')
note "audit session id: $sid"
journalctl --sync 2>/dev/null
journalctl -b -o json --since "$since" --no-pager >"$T_CTL/journal.json" 2>/dev/null
# Entries that carry a MESSAGE_ID and name this session (any field equal to its id) and come
# from the project (a field name or the identifier/executable mentions the sweep).
ids=$(python3 - "$T_CTL/journal.json" "$sid" "$f" <<'EOF'
import json, sys
path, sid, fname = sys.argv[1:]
ids = {}
for line in open(path, errors="replace"):
    try:
        e = json.loads(line)
    except ValueError:
        continue
    if "MESSAGE_ID" not in e:
        continue
    ours = any("SWEEP" in k for k in e) or any(
        "sweep" in str(e.get(k, "")).lower() for k in ("SYSLOG_IDENTIFIER", "_EXE", "_COMM", "CODE_FILE"))
    if not ours or not sid:
        continue
    vals = {str(v) for v in e.values()}
    if sid in vals:
        d = ids.setdefault(e["MESSAGE_ID"], {"n": 0, "path": False})
        d["n"] += 1
        d["path"] |= fname in vals
for k, d in ids.items():
    print(k, d["n"], int(d["path"]))
EOF
)
note "MESSAGE_IDs for session $sid (id count names-file): $(tr '\n' ';' <<<"$ids")"
nids=$(grep -c . <<<"$ids")
check "journal: structured records of this session under >= 2 MESSAGE_IDs (open, file, close)" \
	[ "$nids" -ge 2 ]
check "journal: a record with a MESSAGE_ID names the file $f" awk '$3 == 1 {f=1} END {exit !f}' <<<"$ids"
while read -r id _ _; do
	[ -n "$id" ] || continue
	n=$(journalctl -b --no-pager -o cat MESSAGE_ID="$id" | grep -c .)
	check "journalctl MESSAGE_ID=$id finds the records ($n)" [ "$n" -ge 1 ]
done <<<"$ids"
finish
