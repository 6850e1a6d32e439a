#!/bin/bash
# THREATS 26: 10,000 open/close cycles in one host process (pam_start, open, close,
# pam_end each time, the real helper on an empty watched tmpfs) leave no fd, memory, zombie, record or cgroup
# behind. Under `make check SANITIZE=1` the host and module run with ASan/LSan, which
# fail the run on any leak or memory error (1,000 cycles then: each is ~10x slower). CYCLES=N
# overrides the count.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/pam_common.bash"
pam_setup
scratch_user U1
n=${CYCLES:-10000}
# An ASan build runs each cycle's helper ~10x slower: LSan needs far fewer to see a leak.
asan_built "$P_HOST" && n=${CYCLES:-1000}
pam_service tsw timeout=5
out=$T_SCRATCH/out
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:quarantine_size_mb=16:exitcode=99}
pam_run tmpfs-sweep "$U1" "cycles:$n" >"$out" 2>"$T_SCRATCH/err"
rc=$?
check "host exited cleanly (rc=$rc; sanitizer reports fail it)" test "$rc" -eq 0
sed 's/^/# /' "$T_SCRATCH/err" | head -n 20
check "all $n opens and closes succeeded ($(kv "$out" opens_ok), $(kv "$out" closes_ok))" \
	test "$(kv "$out" opens_ok)" = "$n" -a "$(kv "$out" closes_ok)" = "$n"
check "no fd growth ($(kv "$out" fds_before) -> $(kv "$out" fds_after))" \
	test "$(kv "$out" fds_after)" -le "$(kv "$out" fds_before)"
r100=$(kv "$out" rss_kb_100) rend=$(kv "$out" rss_kb_end)
if asan_built "$P_HOST"; then
	# ASan keeps what each dlopen/dlclose of the instrumented module maps (its RSS grows
	# with the cycles whatever the module does): LSan's exit check above is the test.
	ok "ASan build: leaks checked by LSan at exit (RSS $r100 kB -> $rend kB not compared)"
else
	check "no memory growth after warm-up (RSS $r100 kB -> $rend kB)" \
		test "$rend" -le "$((r100 + 4096))"
fi
check "no zombies" test "$(kv "$out" zombies)" -eq 0
check "no session record left" test "$(n_records)" -eq 0
check "every session opened and closed in the audit log ($(audit_lines session-open | wc -l))" \
	test "$(audit_lines session-open | wc -l)" -eq "$n" -a "$(audit_lines session-close | wc -l)" -eq "$n"
finish
