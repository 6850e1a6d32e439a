#!/bin/bash
# The helper runs once per logout, the module inside sshd: neither links libsystemd or
# libmount (with what they pull in, ~3 ms of CPU in the dynamic loader per helper start
# here, most of a mass logout's time). They are loaded when first needed (lib/dl.c):
# scan without --mount finds a scratch tmpfs through libmount; a close loads neither.
source "$(dirname "$0")/../lib.sh"
command -v readelf >/dev/null || skip_all "readelf not installed (binutils)"
# (a SANITIZE=1 build adds the sanitizers' runtimes: not counted)
needed() { readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | grep -Ev '^lib(asan|ubsan|m|gcc_s|stdc\+\+)\.' | sort | paste -sd' '; }

h=$(needed "$SWEEP")
check "the helper needs libc only (NEEDED: $h)" test "$h" = "libc.so.6"
m=$(needed "$B/pam_tmpfs_sweep.so")
check "the module needs libpam and libc only (NEEDED: $m)" test "$m" = "libc.so.6 libpam.so.0"

scratch_tmpfs M 4m || skip_all "cannot mount a scratch tmpfs"
echo x >"$M/seen"
# What a run loads: LD_DEBUG=files names every object the loader opens.
LD_DEBUG=files "$SWEEP" scan --json >"$T_SCRATCH/out" 2>"$T_SCRATCH/ld"
check "scan without --mount lists the scratch tmpfs' file (through libmount)" \
	grep -q "\"path\":\"$M/seen\"" "$T_SCRATCH/out"
check "scan without --mount loads libmount when it needs it" grep -q 'file=libmount.so.1' "$T_SCRATCH/ld"
LD_DEBUG=files "$SWEEP" scan --mount "$M" --json >/dev/null 2>"$T_SCRATCH/ld2"
check "scan --mount loads neither libsystemd nor libmount" \
	test -s "$T_SCRATCH/ld2" -a -z "$(grep -E 'file=lib(systemd|mount)\.so' "$T_SCRATCH/ld2")"
finish
