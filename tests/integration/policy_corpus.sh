#!/bin/bash
# check-config and dump-config on the policy corpus, through the helper's command line:
# each bad file is rejected with exactly FILE:LINE: and the expected message (exit 1) and
# dumps as report-only without rules; each good file (and the shipped conf) says OK and
# dumps -> check -> dumps identically. The files are copied into a root-owned 0755 dir
# so that only their contents can be wrong.
. "$(dirname "$0")/../lib.sh"
need_root

d=$(mktemp -d /run/tsw-policy-corpus.XXXXXX) || exit 1
at_exit "rm -rf '$d'"
chmod 755 "$d"

n=0
for f in "$TOP"/tests/policy/bad/*.conf; do
	name=$(basename "$f" .conf)
	exp=$(head -n1 "${f%.conf}.expect")
	line=${exp%%:*} msg=${exp#*: }
	cp "$f" "$d/$name.conf" && chmod 644 "$d/$name.conf"
	out=$(timeout 10 "$SWEEP" check-config "$d/$name.conf" 2>"$d/err"); rc=$?
	if [ "$rc" -eq 1 ] && [ -z "$out" ] &&
		grep -F -- "$d/$name.conf:$line: " "$d/err" | grep -qF -- "$msg"; then
		ok "bad $name: $line: $msg"
	else
		not_ok "bad $name: rc=$rc, want '$d/$name.conf:$line: ...$msg', got: $(head -c 300 "$d/err")"
	fi
	"$SWEEP" dump-config "$d/$name.conf" >"$d/dump" 2>/dev/null
	if ! grep -q '^# REPORT-ONLY' "$d/dump" || grep -qE '^(keep|report|remove|defer) ' "$d/dump"; then
		not_ok "bad $name: dump-config is not report-only without rules"
	fi
	n=$((n + 1))
done
check "at least 40 bad policies ($n)" test "$n" -ge 40

for f in "$TOP"/tests/policy/good/*.conf "$TOP"/conf/tmpfs-sweep.conf; do
	name=good-$(basename "$f" .conf)
	cp "$f" "$d/$name.conf" && chmod 644 "$d/$name.conf"
	out=$("$SWEEP" check-config "$d/$name.conf" 2>"$d/err"); rc=$?
	if [ "$rc" -eq 0 ] && [ "$out" = "$d/$name.conf: OK" ] && [ ! -s "$d/err" ]; then
		ok "$name: check-config OK"
	else
		not_ok "$name: rc=$rc out='$out' err=$(head -c 300 "$d/err")"
	fi
	"$SWEEP" dump-config "$d/$name.conf" >"$d/$name.dump1.conf" 2>"$d/err"
	chmod 644 "$d/$name.dump1.conf"
	"$SWEEP" check-config "$d/$name.dump1.conf" >/dev/null 2>&1 &&
		"$SWEEP" dump-config "$d/$name.dump1.conf" >"$d/$name.dump2.conf" 2>&1
	check "$name: dump -> check -> dump identical" cmp -s "$d/$name.dump1.conf" "$d/$name.dump2.conf"
	rules_in=$(grep -ciE '^(keep|report|remove|defer)[[:space:]]' "$f")
	rules_out=$(grep -cE '^(keep|report|remove|defer) ' "$d/$name.dump1.conf")
	check "$name: dump keeps all $rules_in rules" test "$rules_in" -eq "$rules_out"
done

# Usage errors.
"$SWEEP" check-config a b >/dev/null 2>&1
check "check-config with two files is a usage error" test $? -eq 2
"$SWEEP" check-config --bogus >/dev/null 2>&1
check "check-config --bogus is a usage error" test $? -eq 2
finish
