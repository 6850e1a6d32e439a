#!/bin/bash
# Audit log: 10 processes writing at once, 100 file events each with hostile names
# (newline, quote, backslash, ESC, U+2028/9, invalid UTF-8, 255-byte names, leading '-',
# a forged JSON object): exactly one valid JSON object per line, every name round-trips
# to its bytes, no forged event, a user name that fails the name rule written as null,
# file 0600 in a created 0700 directory.
. "$(dirname "$0")/../lib.sh"
need_root
T=$B/tools/t_audit
LOG=$T_SCRATCH/auditdir/audit.jsonl
N=10 COUNT=100

pids=()
for i in $(seq 1 $N); do
	$T write "$LOG" "s$i" $COUNT >"$T_SCRATCH/w$i.out" 2>&1 &
	pids+=($!)
done
rc=0
for p in "${pids[@]}"; do wait "$p" || rc=1; done
check "all $N writers succeeded" [ $rc -eq 0 ]
for i in $(seq 1 $N); do $T names "s$i" $COUNT; done >"$T_SCRATCH/expected.hex"

check "exactly $((N * (COUNT + 2))) lines" [ "$(wc -l <"$LOG")" -eq $((N * (COUNT + 2))) ]
check "every line is one valid JSON object" [ "$(json_valid_lines "$LOG")" -eq $((N * (COUNT + 2))) ]

out=$(python3 - "$LOG" "$T_SCRATCH/expected.hex" "$N" "$COUNT" <<'PY'
import json, sys, collections
log, exp, n, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
expected = collections.Counter(bytes.fromhex(l.strip()) for l in open(exp))
events = collections.Counter()
paths = collections.Counter()
sessions = set()
for raw in open(log, "rb"):
    assert raw.endswith(b"\n") and raw.count(b"\n") == 1
    obj = json.loads(raw.decode("utf-8", errors="strict"))
    assert isinstance(obj, dict)
    events[obj["event"]] += 1
    sessions.add(obj["session"])
    if obj["event"] == "file":
        paths[obj["path"].encode("utf-8", "surrogateescape")] += 1
        assert obj["result"] == "removed" and obj["uid"] == 1234
    if obj["event"] == "session-open":
        # 'u\n"ser' fails the user-name rule (users.h): written as null, never as it is
        assert obj["user"] is None
print("events", events["session-open"], events["file"], events["session-close"])
print("sessions", sorted(sessions) == sorted("s%d" % i for i in range(1, n + 1)))
print("roundtrip", paths == expected and len(paths) == n * count)
print("long", sum(1 for p in paths if len(p.rsplit(b"/", 1)[1]) == 255) > 0)
PY
)
echo "$out"
check "event counts (no forged session-close)" grep -qx "events $N $((N * COUNT)) $N" <<<"$out"
check "only the writers' sessions appear" grep -qx "sessions True" <<<"$out"
check "every name round-trips to its exact bytes" grep -qx "roundtrip True" <<<"$out"
check "255-byte names present" grep -qx "long True" <<<"$out"
check "audit file mode 0600" [ "$(stat -c %a "$LOG")" = 600 ]
check "audit dir created 0700" [ "$(stat -c %a "$(dirname "$LOG")")" = 700 ]
check "audit file root-owned" [ "$(stat -c %u "$LOG")" = 0 ]
finish
