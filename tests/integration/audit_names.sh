#!/bin/bash
# Issue 4's audit check (THREATS.md 19 through the PAM module): 100 real sessions, each
# leaving files whose names carry a newline followed by a forged JSON line, quotes and
# backslashes that try to close the string, ESC sequences, U+2028/U+2029, invalid UTF-8,
# a leading '-', 255 bytes. The audit log must hold exactly one valid JSON object per
# line (100 session-open, 100 session-close, one file line per file), no forged object,
# and every path must map back (\udcXX = the raw byte) to exactly the name written.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/pam_common.bash"
source "$(dirname "$0")/threat_common.bash"
thr_setup
echo "remove $P_SHM/** class=charged,created" >>"$P_CONF"
N=100

cat >"$T_SCRATCH/mk.py" <<'PY'
import os, sys
d, i = sys.argv[1].encode(), sys.argv[2].encode()
names = [
    b'nl\n{"event":"session-close","session":"forged","removed":999}\n-' + i,
    b'q"uote\\",\\"result\\":\\"removed\\"}' + i,
    b"esc\x1b[2J\x1b]0;title\x07-" + i,
    b"u2028\xe2\x80\xa8u2029\xe2\x80\xa9-" + i,
    b"bad\xff\xfe\xc0\xaf\xed\xa0\x80utf8-" + i,
    b"-leading-dash-" + i,
    b"tab\tcr\rdel\x7f-" + i,
    i + b"-" + b"x" * (250 - len(i)),
]
for n in names:
    with open(os.path.join(d, n), "wb") as f:
        f.write(b"y" * 4096)
PY
chmod 644 "$T_SCRATCH/mk.py"
acts=()
for i in $(seq 1 $N); do
	acts+=(open "run:$(as "$U1" /usr/bin/python3 "$T_SCRATCH/mk.py" "$P_SHM" "$i")" close restart)
done
pam_run tmpfs-sweep "$U1" "${acts[@]}" >"$T_SCRATCH/host.out" 2>&1
check "$N sessions opened and closed" \
	test "$(grep -c '^close=success' "$T_SCRATCH/host.out")" -eq $N -a \
	"$(grep -c '^run=0' "$T_SCRATCH/host.out")" -eq $N
n=$(json_valid_lines "$P_AUDIT")
check "every line of the audit log is one valid JSON object ($n lines)" test -n "$n"
check "no raw control byte, U+2028 or U+2029 in the log" python3 -c '
import sys
b = open(sys.argv[1], "rb").read()
sys.exit(any(c < 0x20 and c != 10 for c in b) or b"\xe2\x80\xa8" in b or b"\xe2\x80\xa9" in b)' "$P_AUDIT"
check_py "exactly one line per event, none forged, every name round-trips" "$P_AUDIT" "$P_SHM" "$N" <<'PY'
import json, sys, collections
path, mnt, n = sys.argv[1], sys.argv[2].encode(), int(sys.argv[3])
lines = open(path, "rb").read().split(b"\n")
assert lines[-1] == b"", "the log ends with a newline"
objs = [json.loads(l.decode("utf-8")) for l in lines[:-1]]
assert all(isinstance(o, dict) for o in objs)
ev = collections.Counter(o["event"] for o in objs)
assert ev == {"session-open": n, "session-close": n, "file": 8 * n}, ev
opened = [o["session"] for o in objs if o["event"] == "session-open"]
closed = [o["session"] for o in objs if o["event"] == "session-close"]
assert len(set(opened)) == n and sorted(opened) == sorted(closed), "sessions"
assert "forged" not in opened and not any(o.get("session") == "forged" for o in objs)
assert all(o["removed"] == 8 for o in objs if o["event"] == "session-close"), "removed 8 each"
want = set()
for i in range(1, n + 1):
    b = str(i).encode()
    want |= {b'nl\n{"event":"session-close","session":"forged","removed":999}\n-' + b,
             b'q"uote\\",\\"result\\":\\"removed\\"}' + b,
             b"esc\x1b[2J\x1b]0;title\x07-" + b,
             b"u2028\xe2\x80\xa8u2029\xe2\x80\xa9-" + b,
             b"bad\xff\xfe\xc0\xaf\xed\xa0\x80utf8-" + b,
             b"-leading-dash-" + b, b"tab\tcr\rdel\x7f-" + b,
             b + b"-" + b"x" * (250 - len(b))}
got = collections.Counter()
for o in objs:
    if o["event"] != "file":
        continue
    raw = o["path"].encode("utf-8", "surrogateescape")
    assert raw.startswith(mnt + b"/"), raw
    got[raw[len(mnt) + 1:]] += 1
    assert o["result"] == "removed", o
assert set(got) == want, (len(set(got) ^ want), sorted(set(got) ^ want)[:4])
assert all(v == 1 for v in got.values()), "a name was logged twice"
PY
check "the files are gone from the mount" test -z "$(ls -A "$P_SHM")"
check "no record left" test "$(n_records)" -eq 0
finish
