#!/bin/bash
# The test scripts' own checks: `check DESC CMD...` runs CMD... alone, so a control operator
# outside quotes on the same command line (`check D [ A ] && [ B ]`, `check D cmd | cmd`,
# `... || ...`, `;`) leaves everything after it unchecked: B ran after check returned,
# unreported. 13 checks of remove_sticky/remove_races and one of the deb guest test had the
# form and tested their first condition only. Every check (check, check_footprint, in
# tests/integration, tests/vm/guest and tests/*.sh) must carry its whole test in CMD
# (eval '...', sh -c '...', a function); this lists any that does not.
. "$(dirname "$0")/../lib.sh"
command -v python3 >/dev/null || skip_all "no python3"
out=$(python3 - "$TOP/tests" <<'PY'
import glob, os, re, shlex, sys
top = sys.argv[1]
files = sorted(glob.glob(os.path.join(top, "integration", "*.sh")) +
               glob.glob(os.path.join(top, "integration", "*.bash")) +
               glob.glob(os.path.join(top, "vm", "guest", "*.sh")) +
               glob.glob(os.path.join(top, "*.sh")))
n = 0
for p in files:
    lines = open(p, encoding="utf-8", errors="replace").read().split("\n")
    i = 0
    while i < len(lines):
        if not re.match(r'^\s*(check|check_footprint)\s+"', lines[i]):
            i += 1
            continue
        body, j = lines[i], i
        while body.endswith("\\") and j + 1 < len(lines):
            j += 1
            body = body[:-1] + " " + lines[j]
        n += 1
        # Redirections (2>&1, >&2, <&3) are not control operators.
        body = re.sub(r"([0-9]*[<>])&", r"\1", body)
        try:
            lex = shlex.shlex(body, posix=True, punctuation_chars="|&;")
            lex.whitespace_split = True
            toks = list(lex)
        except ValueError:
            toks = []  # a quoted argument that goes on past this line (eval '...): whole
        if any(t in ("&&", "||", "|", ";", "&") for t in toks):
            print("%s:%d: %s" % (os.path.relpath(p, top), i + 1, body.strip()[:160]))
        i = j + 1
print("# %d checks in %d files" % (n, len(files)), file=sys.stderr)
PY
)
[ -z "$out" ] || printf '%s\n' "$out" | sed 's/^/    /'
check "no check leaves part of its test outside it" test -z "$out"
finish
