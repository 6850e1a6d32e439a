#!/bin/bash
# tests/mutation/run.sh: does the suite catch a broken safety gate? Applies each single-line
# mutation of tests/mutation/mutations.list, one at a time, to a scratch copy of the tree,
# rebuilds it (incrementally), runs the tests that entry names (or the whole suite with
# --full) and says caught / NOT CAUGHT. Root (the integration tests need it).
#
#   tests/mutation/run.sh [--full] [--keep] [ID...]     default: every mutation of the list
#   tests/mutation/run.sh --check       only say where each pattern matches (no build, no root)
#
# A mutation's `find` text is looked for in every C source of the tree (lib/ helper/
# pam_module/), whitespace-insensitively, and must be on exactly one line: code that moves
# between files (lib/sweep.c -> lib/decide.c) keeps its mutations; a pattern that no longer
# matches, or matches more than once, is reported STALE / AMBIGUOUS: a maintenance signal
# (update the list), never counted as caught; so is one that does not build (INVALID).
# Before any mutation the named tests run on the unmutated copy and must pass (BASELINE
# FAIL otherwise).
# Exit: 0 when every mutation was applied and caught, 1 otherwise. The tree copied is the
# working tree (tracked and untracked files, not ignored ones), so uncommitted edits count.
set -u
cd "$(dirname "$0")/../.."
TOP=$PWD
LIST=${MUTATIONS:-$TOP/tests/mutation/mutations.list}
full=0 keep=0 checkonly=0 only=()
for a in "$@"; do
	case $a in
	--full) full=1 ;;
	--keep) keep=1 ;;
	--check) checkonly=1 ;;
	-h | --help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) only+=("$a") ;;
	esac
done
[ $checkonly = 1 ] || [ "$(id -u)" -eq 0 ] || { echo "run.sh: root needed (integration tests)" >&2; exit 2; }

WORK=$(mktemp -d /tmp/tsw-mutation.XXXXXX)
chmod 755 "$WORK"
[ $keep = 1 ] || trap 'rm -rf "$WORK"' EXIT
COPY=$WORK/tree
mkdir "$COPY"
(git ls-files -z -co --exclude-standard | tar --null -T - -cf -) | tar -C "$COPY" -xf -
LOG=$WORK/logs
mkdir "$LOG"
t_start=$(date +%s)

build() { # build LOGFILE: everything the tests need, in the copy
	make -C "$COPY" -j2 --no-print-directory all WERROR=1 >"$1" 2>&1 &&
		make -C "$COPY" -j2 --no-print-directory hooks WERROR=1 >>"$1" 2>&1 &&
		make -C "$COPY" -j2 --no-print-directory \
			$(cd "$COPY" && ls tests/unit/test_*.c | sed 's|tests/unit/\(.*\)\.c|build/tests/\1|') \
			WERROR=1 >>"$1" 2>&1
}

# run_tests NAMES LOGFILE: 0 when all pass. NAME: test_x (unit), x (tests/integration/x.sh),
# or "all" (tests/run: the whole suite).
run_tests() {
	local names=$1 log=$2 n rc bad=0
	: >"$log"
	for n in $names; do
		if [ "$n" = all ]; then
			(cd "$COPY" && B=build timeout 3600 tests/run) >>"$log" 2>&1 || bad=1
			continue
		fi
		case $n in
		test_*)
			(cd "$COPY" && CMOCKA_MESSAGE_OUTPUT=TAP timeout 300 "build/tests/$n") >"$log.1" 2>&1
			rc=$? ;;
		*)
			(cd "$COPY" && TOP=$COPY B=build timeout 600 bash "tests/integration/$n.sh") >"$log.1" 2>&1
			rc=$? ;;
		esac
		cat "$log.1" >>"$log"
		echo "== $n: rc=$rc" >>"$log"
		# tests/run's rule: a failure is a "not ok" (cmocka's "# SKIP" aside) or a bad exit
		if [ $rc -eq 77 ]; then
			echo "== $n: SKIPPED: $(tail -n 1 "$log.1")" >>"$log"; bad=1
		elif [ $rc -ne 0 ] || grep -E '^not ok ' "$log" | grep -qv '# SKIP'; then
			bad=1
		fi
	done
	return $bad
}

# The list: blocks of "key: value" lines separated by blank lines; keys id, find,
# replace, tests, breaks (see mutations.list). Printed as one TAB-separated line each.
parse_list() {
	python3 - "$LIST" <<'PY'
import sys
blocks, cur = [], {}
for raw in open(sys.argv[1], encoding="utf-8"):
    line = raw.rstrip("\n")
    if line.startswith("#"):
        continue
    if not line.strip():
        if cur: blocks.append(cur); cur = {}
        continue
    k, _, v = line.partition(":")
    cur[k.strip()] = v.strip()
if cur: blocks.append(cur)
for b in blocks:
    for k in ("id", "find", "replace", "tests", "breaks"):
        if k not in b:
            sys.exit("mutations.list: entry %r lacks %r" % (b.get("id"), k))
    print("\t".join(b[k] for k in ("id", "find", "replace", "tests", "breaks")))
PY
}

# apply FIND REPLACE: in the copy; prints FILE:LINE, or STALE / AMBIGUOUS (exit 1).
apply() {
	python3 - "$COPY" "$1" "$2" "${3:-}" <<'PY'
import glob, os, re, sys
top, find, repl, checkonly = sys.argv[1:]
norm = lambda s: re.sub(r"\s+", " ", s.strip())
f = norm(find)
hits = []
for path in sorted(glob.glob(top + "/lib/*.c") + glob.glob(top + "/helper/*.c") +
                   glob.glob(top + "/pam_module/*.c")):
    for i, line in enumerate(open(path, encoding="utf-8", errors="surrogateescape")):
        if f in norm(line):
            hits.append((path, i))
if len(hits) != 1:
    print("STALE (no line matches)" if not hits else "AMBIGUOUS (%d lines: %s)" % (
        len(hits), ", ".join("%s:%d" % (os.path.relpath(p, top), i + 1) for p, i in hits)))
    sys.exit(1)
path, i = hits[0]
if checkonly:
    print("%s:%d" % (os.path.relpath(path, top), i + 1))
    sys.exit(0)
lines = open(path, encoding="utf-8", errors="surrogateescape").readlines()
indent = re.match(r"\s*", lines[i]).group(0)
lines[i] = indent + norm(lines[i]).replace(f, repl, 1) + "\n"
open(path, "w", encoding="utf-8", errors="surrogateescape").writelines(lines)
print("%s:%d" % (os.path.relpath(path, top), i + 1))
PY
}

mapfile -t entries < <(parse_list) || exit 2
[ ${#entries[@]} -gt 0 ] || { echo "run.sh: no mutations in $LIST" >&2; exit 2; }
if [ ${#only[@]} -gt 0 ]; then
	sel=()
	for e in "${entries[@]}"; do
		for o in "${only[@]}"; do [ "${e%%$'\t'*}" = "$o" ] && sel+=("$e"); done
	done
	entries=("${sel[@]}")
fi

if [ $checkonly = 1 ]; then
	bad=0
	for e in "${entries[@]}"; do
		IFS=$'\t' read -r id find repl tests breaks <<<"$e"
		where=$(apply "$find" "$repl" check) || bad=$((bad + 1))
		printf '%-28s %s\n' "$id" "$where"
	done
	echo "${#entries[@]} mutations, $bad stale or ambiguous"
	[ $bad -eq 0 ]; exit
fi
echo "mutation run: ${#entries[@]} mutations, copy in $COPY, logs in $LOG"
(cd "$COPY" && tar -cf "$WORK/src.tar" lib helper pam_module)
if ! build "$LOG/build-base.log"; then
	echo "the unmutated copy does not build: $LOG/build-base.log"; tail -n 20 "$LOG/build-base.log"; exit 2
fi
# Baseline: every test named must pass unmutated.
all_tests=$(for e in "${entries[@]}"; do IFS=$'\t' read -r _ _ _ t _ <<<"$e"; echo $t; done |
	tr ' ' '\n' | sort -u | tr '\n' ' ')
[ $full = 1 ] && all_tests=all
t0=$(date +%s)
if ! run_tests "$all_tests" "$LOG/baseline.log"; then
	echo "BASELINE FAIL: the unmutated tree fails [$all_tests]: $LOG/baseline.log"
	grep -E '^not ok |^== .*(rc=[1-9]|SKIPPED)' "$LOG/baseline.log" | head -n 20
	exit 1
fi
echo "baseline: [$all_tests] pass ($(($(date +%s) - t0)) s)"

n=0 caught=0 missed=0 stale=0 invalid=0
for e in "${entries[@]}"; do
	IFS=$'\t' read -r id find repl tests breaks <<<"$e"
	[ $full = 1 ] && tests=all
	n=$((n + 1))
	t0=$(date +%s)
	if ! where=$(apply "$find" "$repl"); then
		printf '%-28s %s\n' "$id" "$where: $breaks"
		stale=$((stale + 1))
		continue
	fi
	if ! build "$LOG/build-$id.log"; then
		# not a test of the suite: the entry needs a replacement that compiles
		res="INVALID (does not build: $LOG/build-$id.log)"
		invalid=$((invalid + 1))
	elif run_tests "$tests" "$LOG/$id.log"; then
		res="NOT CAUGHT by [$tests]"
		missed=$((missed + 1))
	else
		res="caught by $(grep -E '^not ok ' "$LOG/$id.log" | grep -v '# SKIP' | wc -l) check(s) of [$tests]"
		caught=$((caught + 1))
	fi
	printf '%-28s %-44s %s (%d s)\n' "$id" "$where" "$res" $(($(date +%s) - t0))
	printf '%28s %s\n' '' "$breaks"
	# back to the unmutated file (a newer mtime: the next build recompiles it)
	(cd "$COPY" && tar -xf "$WORK/src.tar" "${where%%:*}" && touch "${where%%:*}")
done
t=$(($(date +%s) - t_start))
echo "$n mutations: $caught caught, $missed not caught, $stale stale or ambiguous, $invalid invalid ($t s)"
[ $caught -eq $n ]
