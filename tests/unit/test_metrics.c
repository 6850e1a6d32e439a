/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The Prometheus text file (metrics.h): every series with HELP and TYPE, parsed back to
 * the same figures (times to the millisecond); other lines ignored; counters added across
 * updates and gauges kept unless set; 8 processes updating at once lose no increment; the
 * file is 0644 whatever the umask; a symlink in its place, a directory others may write,
 * a missing directory are refused, and nothing is written through them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "fileio.h"
#include "json.h"
#include "metrics.h"
#include "util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>

static char dir[256], path[512];

static int setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/tsw-metrics.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/tmpfs-sweep.prom", dir);
	return 0;
}

static int teardown(void **state)
{
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static char *slurp(const char *p)
{
	char *buf = NULL;
	ssize_t n = read_small_file_at(AT_FDCWD, p, 1 << 20, &buf);

	assert_true(n >= 0);
	return buf;
}

static struct metrics read_back(void)
{
	_cleanup_free_ char *buf = slurp(path);
	struct metrics m;

	metrics_parse(buf, strlen(buf), &m);
	return m;
}

static void test_format_parse(void **state)
{
	struct metrics m = {
		.sessions_closed = 12, .removed_bytes = 1ULL << 40, .incomplete = 3, .timeouts = 1,
		.pending_sessions = 4, .last_close_ns = 1764614400123000000ULL,
		.last_gc_ns = 1764614399000000000ULL, .objects = 5, .objects_charged_bytes = 7 << 20,
		.objects_removed = 2,
	}, back;
	struct sbuf b = {0};

	for (int i = 0; i < METRICS_N_RESULTS; i++)
		m.files[i] = 100 + (uint64_t)i;
	assert_int_equal(metrics_format(&b, &m), 0);
	/* each series has its HELP and TYPE, and each result its own labelled line */
	assert_non_null(strstr(b.buf, "# TYPE tmpfs_sweep_sessions_closed_total counter\n"
				      "tmpfs_sweep_sessions_closed_total 12\n"));
	assert_non_null(strstr(b.buf, "# HELP tmpfs_sweep_files_total "));
	assert_non_null(strstr(b.buf, "tmpfs_sweep_files_total{result=\"skipped-in-use\"} 104\n"));
	assert_non_null(strstr(b.buf, "# TYPE tmpfs_sweep_pending_sessions gauge\n"));
	assert_non_null(strstr(b.buf, "tmpfs_sweep_last_close_timestamp_seconds 1764614400.123\n"));
	assert_non_null(strstr(b.buf, "tmpfs_sweep_removed_bytes_total 1099511627776\n"));
	assert_non_null(strstr(b.buf, "# TYPE tmpfs_sweep_leftover_objects_total counter\n"
				      "tmpfs_sweep_leftover_objects_total 5\n"));
	assert_non_null(strstr(b.buf, "tmpfs_sweep_leftover_objects_charged_bytes_total 7340032\n"));
	assert_non_null(strstr(b.buf, "tmpfs_sweep_leftover_objects_removed_total 2\n"));
	metrics_parse(b.buf, b.len, &back);
	assert_memory_equal(&m, &back, sizeof(m));
	sbuf_done(&b);
}

static void test_parse_ignores_others(void **state)
{
	static const char text[] =
		"# HELP x y\n"
		"node_other_total 5\n"
		"tmpfs_sweep_sessions_closed_total 7\n"
		"tmpfs_sweep_sessions_closed_totalx 99\n"
		"tmpfs_sweep_files_total{result=\"removed\"} 3\n"
		"tmpfs_sweep_files_total{result=\"bogus\"} 9\n"
		"tmpfs_sweep_files_total{result=\"error\"} -1\n"
		"tmpfs_sweep_timeouts_total 1e3\n"
		"tmpfs_sweep_files_total{result=\"kept\"}\n"
		"tmpfs_sweep_files_total{res";
	struct metrics m;

	metrics_parse(text, sizeof(text) - 1, &m);
	assert_int_equal(m.sessions_closed, 7);
	assert_int_equal(m.files[0], 3);
	assert_int_equal(m.files[METRICS_N_RESULTS - 1], 0);
	assert_int_equal(m.timeouts, 0);
	assert_int_equal(m.files[2], 0);
}

static void test_update_adds_and_keeps(void **state)
{
	struct metrics_update u = {.add = {.sessions_closed = 1, .removed_bytes = 4096},
				   .have_pending = true, .pending_sessions = 2,
				   .last_close_ns = 5 * NSEC_PER_SEC};
	struct metrics m;
	struct stat st;
	mode_t old = umask(077);

	u.add.files[0] = 2;
	assert_int_equal(metrics_update(path, &u, 0), 0);
	u = (struct metrics_update){.add = {.sessions_closed = 2, .timeouts = 1, .objects = 3,
					    .objects_removed = 1},
				    .last_gc_ns = 9 * NSEC_PER_SEC};
	assert_int_equal(metrics_update(path, &u, 0), 0);
	u = (struct metrics_update){.add = {.objects = 1, .objects_charged_bytes = 4096}};
	assert_int_equal(metrics_update(path, &u, 0), 0);
	umask(old);
	m = read_back();
	assert_int_equal(m.sessions_closed, 3);
	assert_int_equal(m.files[0], 2);
	assert_int_equal(m.removed_bytes, 4096);
	assert_int_equal(m.timeouts, 1);
	assert_int_equal(m.objects, 4);
	assert_int_equal(m.objects_charged_bytes, 4096);
	assert_int_equal(m.objects_removed, 1);
	assert_int_equal(m.pending_sessions, 2); /* not set by the second: kept */
	assert_int_equal(m.last_close_ns, 5 * NSEC_PER_SEC);
	assert_int_equal(m.last_gc_ns, 9 * NSEC_PER_SEC);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
}

#define PROCS 8
#define ROUNDS 40

static void test_concurrent_updates(void **state)
{
	pid_t pids[PROCS];
	struct metrics m;

	for (int p = 0; p < PROCS; p++) {
		pids[p] = fork();
		assert_true(pids[p] >= 0);
		if (pids[p] == 0) {
			struct metrics_update u = {.add = {.sessions_closed = 1}};
			int bad = 0;

			u.add.files[1] = 3;
			for (int i = 0; i < ROUNDS; i++)
				bad += metrics_update(path, &u, 10000) < 0;
			_exit(bad ? 1 : 0);
		}
	}
	for (int p = 0; p < PROCS; p++) {
		int st;
		assert_int_equal(waitpid(pids[p], &st, 0), pids[p]);
		assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	m = read_back();
	assert_int_equal(m.sessions_closed, PROCS * ROUNDS);
	assert_int_equal(m.files[1], 3 * PROCS * ROUNDS);
}

static void test_refused(void **state)
{
	struct metrics_update u = {.add = {.sessions_closed = 1}};
	char sub[300], target[300], link[300], cmd[1000];
	_cleanup_free_ char *after = NULL;

	/* a symlink where the file goes: refused, its target not written */
	snprintf(target, sizeof(target), "%s/target", dir);
	snprintf(link, sizeof(link), "%s/link.prom", dir);
	assert_int_equal(system((snprintf(cmd, sizeof(cmd), "echo keep >'%s' && ln -s '%s' '%s'",
					  target, target, link), cmd)), 0);
	assert_int_equal(metrics_update(link, &u, 0), -ELOOP);
	after = slurp(target);
	assert_string_equal(after, "keep\n");
	/* a directory that others may write */
	snprintf(sub, sizeof(sub), "%s/open", dir);
	assert_int_equal(mkdir(sub, 0777), 0);
	assert_int_equal(chmod(sub, 0777), 0);
	snprintf(link, sizeof(link), "%s/open/x.prom", dir);
	assert_int_equal(metrics_update(link, &u, 0), -EPERM);
	assert_int_equal(access(link, F_OK), -1);
	/* no directory: -ENOENT, nothing made */
	snprintf(link, sizeof(link), "%s/absent/x.prom", dir);
	assert_int_equal(metrics_update(link, &u, 0), -ENOENT);
	snprintf(link, sizeof(link), "%s/absent", dir);
	assert_int_equal(access(link, F_OK), -1);
	assert_int_equal(metrics_update("relative.prom", &u, 0), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_parse),
		cmocka_unit_test(test_parse_ignores_others),
		cmocka_unit_test_setup_teardown(test_update_adds_and_keeps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_updates, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
