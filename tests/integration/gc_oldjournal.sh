#!/bin/bash
# A sweep killed once its intents were journaled, then the helper upgraded: the journal
# left is of an older format version (or damaged), which no later run can read. gc used to
# keep such a record closing, and its journal, for ever: every run wrote its lines again
# and removed nothing. Now gc finishes it: what its walk finds is decided again (every
# gate, the in-use check, the remover's own check), what the journal alone could say is
# not taken from it, and the session-close line says why; the record and the journal go.
# 1. a v1 journal: the session's file is removed (decided again), one line; a file of the
#    session that a process of the user holds open stays (in use), one line; the record is
#    kept deferred for it (not closing), the journal is gone; a second gc writes nothing
#    new while it is held;
# 2. a damaged journal (a line cut short): the same, with reason "damaged".
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/pam_common.bash"
source "$(dirname "$0")/threat_common.bash"
thr_setup
hooks_world 60s
J=$P_STATE/journal
gc() { "$SWEEP" gc --conf "$P_CONF" >"$T_SCRATCH/gc.out" 2>&1; }
nlines() { audit_lines file "$SID" | jq -r --arg p "$1" 'select(.path == $p) | .result' | wc -l; }
closes() { audit_lines session-close "$SID" | jq -c 'select(.trigger == "gc")'; }
state() { sed -n 's/^state=//p' "$P_STATE/sessions/$SID" 2>/dev/null; }

for part in 1 2; do
	open_only "$U1" "$T_SCRATCH/o$part.out" \
		"run:$(as "$U1" sh -c "'echo a >$P_SHM/a$part; echo b >$P_SHM/busy$part'")"
	(env TMPFS_SWEEP_TEST_KILL_AT_INTENTS=1 "$HS" close "$SID" --conf "$P_CONF"; exit $?) \
		>"$T_SCRATCH/close.out" 2>&1
	check "$part: the close was killed once its intents were journaled" \
		test $? -eq 137 -a -s "$J/$SID" -a "$(state)" = closing
	if [ $part = 1 ]; then
		# written by the helper before the upgrade
		sed -i '1s/.*/tmpfs-sweep-journal 1/' "$J/$SID"
		why="another version"
	else
		printf 'r 0 1' >>"$J/$SID" # cut short
		why="damaged"
	fi
	bg holder setpriv --reuid "$U1" --regid "$(id -g "$U1")" --clear-groups \
		sh -c "exec 3<$P_SHM/busy$part; exec sleep 600"
	wait_for 10 test -e "/proc/$holder/fd/3" || not_ok "$part: the holder did not start"
	gc
	check "$part: gc swept the session" grep -q "sweeping $SID" "$T_SCRATCH/gc.out"
	check "$part: its file was decided again and removed, one line" \
		eval 'test ! -e "$P_SHM/a$part" && expect_result "$P_SHM/a$part" removed &&
		      test "$(nlines "$P_SHM/a$part")" -eq 1'
	check "$part: the file in use stayed, one line" \
		eval 'test -e "$P_SHM/busy$part" && expect_result "$P_SHM/busy$part" skipped-in-use &&
		      test "$(nlines "$P_SHM/busy$part")" -eq 1'
	check "$part: the session-close line says why ($why), incomplete" \
		eval 'closes | jq -e --arg w "journal cannot be read ($why)" \
			"select(.incomplete and (.reason | contains(\$w)))" >/dev/null'
	check "$part: the journal is gone" test ! -e "$J/$SID"
	check "$part: the record is kept deferred for the file in use, not closing" \
		test "$(state)" = deferred
	n=$(wc -l <"$P_AUDIT")
	gc
	check "$part: a second gc while it is held writes nothing" test "$(wc -l <"$P_AUDIT")" -eq "$n"
	kill -9 "$holder"
	wait "$holder" 2>/dev/null
done
check "every audit line is JSON" eval 'json_valid_lines "$P_AUDIT" >/dev/null'
finish
