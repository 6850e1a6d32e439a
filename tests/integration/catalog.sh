#!/bin/bash
# The journald catalog (conf/tmpfs-sweep.catalog): one entry per MESSAGE_ID that
# lib/audit.h defines and no other; journalctl compiles it without a complaint into a
# scratch root (--root: the host's catalog database is not touched) and lists each entry
# with its subject; every @FIELD@ it shows is a field the audit code sends.
source "$(dirname "$0")/../lib.sh"
command -v journalctl >/dev/null || skip_all "journalctl not installed"
cat=$TOP/conf/tmpfs-sweep.catalog

code_ids=$(sed -n 's/^#define AUDIT_MID_[A-Z_]* "\([0-9a-f]\{32\}\)"$/\1/p' "$TOP/lib/audit.h" | sort)
cat_ids=$(sed -n 's/^-- \([0-9a-f]*\)$/\1/p' "$cat" | sort)
check "lib/audit.h defines MESSAGE_IDs ($(wc -w <<<"$code_ids"))" test "$(wc -w <<<"$code_ids")" -ge 3
check "the catalog has one entry per MESSAGE_ID of the code, and no other" \
	test "$code_ids" = "$(sort -u <<<"$cat_ids")" -a "$(wc -l <<<"$cat_ids")" = "$(wc -l <<<"$code_ids")"

root=$T_SCRATCH/root
install -d "$root/usr/lib/systemd/catalog" "$root/var/lib/systemd/catalog"
install -m 0644 "$cat" "$root/usr/lib/systemd/catalog/tmpfs-sweep.catalog"
out=$(journalctl --root="$root" --update-catalog 2>&1)
rc=$?
check "journalctl --update-catalog compiles it without a word (rc $rc${out:+: $out})" \
	test "$rc" -eq 0 -a -z "$out" -a -s "$root/var/lib/systemd/catalog/database"
listed=$(journalctl --root="$root" --list-catalog 2>&1)
for id in $code_ids; do
	check "catalog entry $id is listed with a subject" \
		grep -qE "^$id tmpfs-sweep: [A-Z].{20,}" <<<"$listed"
done
check "each entry says what happened and what to do (Defined-By, Documentation, a body)" \
	python3 - "$cat" <<'EOF'
import re, sys
entries = re.split(r"^-- ([0-9a-f]{32})\n", open(sys.argv[1]).read(), flags=re.M)[1:]
ok = len(entries) >= 6
for mid, text in zip(entries[0::2], entries[1::2]):
    head, _, body = text.partition("\n\n")
    ok &= "Defined-By: tmpfs-sweep" in head and "Documentation: man:" in head
    ok &= len(body.split()) >= 40
sys.exit(0 if ok else 1)
EOF

# The fields the code sends: TMPFS_SWEEP_ + the JSON key, upper case ('-' -> '_').
fields=$(grep -oE 'ev_(str|strn|u64|bool|time|opt)\(e, "[a-z_-]+"' "$TOP/lib/audit.c" |
	sed -E 's/.*"([a-z_-]+)"/\1/' | tr 'a-z-' 'A-Z_' | sed 's/^/TMPFS_SWEEP_/' | sort -u)
used=$(grep -oE '@[A-Z_]+@' "$cat" | tr -d @ | sort -u)
unknown=$(comm -23 <(echo "$used") <(echo "$fields") | tr '\n' ' ')
check "every @FIELD@ of the catalog is a field the audit code sends${unknown:+ (not: $unknown)}" \
	test -n "$used" -a -z "$unknown"
finish
