#!/usr/bin/env python3
"""audit.py AUDIT-FILE OFFSET EXPR: evaluate EXPR over the audit events (JSON lines, per
DESIGN.md's audit contract) written after byte OFFSET; print the result as JSON; exit 0 when
it is truthy, 1 otherwise. Lines that do not parse are kept in `bad` (a test asserts none).

Names available to EXPR:
  ev                all events since OFFSET, in order
  opens(uid)        session-open events of uid
  closes(uid)       session-close events of uid
  sessions(uid)     the session ids of uid's session-open events
  files(uid, path=None, session=None)
                    file events of uid's sessions (optionally of one path / session)
  last_file(uid, path)  the newest of those for path, or {}
  near(a, b, pct)   |a - b| <= pct% of b
  MiB, bad
"""
import json
import sys


def load(path, off):
    evs, bad = [], []
    try:
        with open(path, "rb") as f:
            f.seek(off)
            data = f.read()
    except FileNotFoundError:
        return evs, bad
    for line in data.split(b"\n"):
        if not line.strip():
            continue
        try:
            evs.append(json.loads(line))
        except ValueError:
            bad.append(line.decode("utf-8", "replace"))
    return evs, bad


def main():
    path, off, expr = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    ev, bad = load(path, off)

    def num(x):
        try:
            return int(x)
        except (TypeError, ValueError):
            return x

    def opens(uid):
        return [e for e in ev if e.get("event") == "session-open" and num(e.get("uid")) == uid]

    def closes(uid):
        return [e for e in ev if e.get("event") == "session-close" and num(e.get("uid")) == uid]

    def sessions(uid):
        return {str(e.get("session")) for e in opens(uid) + closes(uid)}

    def files(uid, path=None, session=None):
        ids = sessions(uid)
        return [e for e in ev if e.get("event") == "file" and str(e.get("session")) in ids
                and (path is None or e.get("path") == path)
                and (session is None or str(e.get("session")) == str(session))]

    def last_file(uid, path):
        f = files(uid, path)
        return f[-1] if f else {}

    def near(a, b, pct):
        return abs(float(a) - float(b)) <= pct / 100.0 * float(b)

    names = dict(ev=ev, bad=bad, opens=opens, closes=closes, sessions=sessions, files=files,
                 last_file=last_file, near=near, MiB=1024 * 1024)
    for b in (any, all, len, sum, min, max, abs, int, float, str, sorted, set, list, round):
        names[b.__name__] = b
    try:
        names["__builtins__"] = {}  # globals, so that generator expressions see them
        res = eval("(" + expr + "\n)", names)
    except Exception as e:  # a missing field is a failed assertion, not a crash
        print(f"# aq: {type(e).__name__}: {e}")
        sys.exit(1)
    print("# aq: " + json.dumps(res, default=str)[:4000])
    sys.exit(0 if res else 1)


if __name__ == "__main__":
    main()
