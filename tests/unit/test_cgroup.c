/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_cgroup.c: lib/cgroup.c against fixture trees. This machine's memory controller
 * is v1, so cgroup v2 is tested here: a temporary directory tree that looks like a
 * cgroup2 mount (plain directories and files stand in for cgroups), and mountinfo
 * files generated from the templates in tests/fixtures/ with the tree's path put in.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "cgroup.h"
#include "util.h"

#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <sys/stat.h>

static char T[PATH_MAX];       /* scratch root */
static char V2[PATH_MAX];      /* fake cgroup2 mount with memory */
static char V1MEM[PATH_MAX];   /* fake v1 memory hierarchy */
static char UNIFIED[PATH_MAX]; /* fake cgroup2 mount without memory */
static char MI_V2[PATH_MAX], MI_HYBRID[PATH_MAX], MI_NOMEM[PATH_MAX];
static char FIX[PATH_MAX]; /* tests/fixtures */

/* snprintf that fails the test on truncation (and keeps -Wformat-truncation quiet). */
_printf_(3, 4) static void pathf(char *out, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(out, len, fmt, ap);
	va_end(ap);
	assert_true(n >= 0 && (size_t)n < len);
}

static void fixture_dir(void)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *s;

	assert_true(n > 0);
	exe[n] = '\0';
	/* <top>/build/tests/test_cgroup -> <top> */
	for (int i = 0; i < 3; i++) {
		s = strrchr(exe, '/');
		assert_non_null(s);
		*s = '\0';
	}
	pathf(FIX, sizeof(FIX), "%s/tests/fixtures", exe);
}

static void put(const char *dir, const char *name, const char *content)
{
	char p[PATH_MAX];
	FILE *f;

	pathf(p, sizeof(p), "%s/%s", dir, name);
	f = fopen(p, "we");
	assert_non_null(f);
	fputs(content, f);
	assert_int_equal(fclose(f), 0);
}

_printf_(3, 4) static void mkdirf(char *out, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(out, len, fmt, ap);
	va_end(ap);
	assert_int_equal(mkdir(out, 0755), 0);
}

/* Template -> file with every @KEY@ replaced. */
static void render(const char *tmpl, const char *out)
{
	char p[PATH_MAX], line[4096];
	FILE *in, *o;

	pathf(p, sizeof(p), "%s/%s", FIX, tmpl);
	in = fopen(p, "re");
	assert_non_null(in);
	o = fopen(out, "we");
	assert_non_null(o);
	while (fgets(line, sizeof(line), in)) {
		const char *keys[] = {"@V2@", "@V1MEM@", "@UNIFIED@"};
		const char *vals[] = {V2, V1MEM, UNIFIED};
		for (const char *s = line, *rest; *s;) {
			bool done = false;
			for (size_t k = 0; k < ARRAY_SIZE(keys); k++)
				if ((rest = startswith(s, keys[k]))) {
					fputs(vals[k], o);
					s = rest;
					done = true;
					break;
				}
			if (!done)
				fputc(*s++, o);
		}
	}
	fclose(in);
	assert_int_equal(fclose(o), 0);
}

_printf_(1, 2) static uint64_t ino_of(const char *fmt, ...)
{
	char p[PATH_MAX];
	struct stat st;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p, sizeof(p), fmt, ap);
	va_end(ap);
	assert_int_equal(lstat(p, &st), 0);
	return st.st_ino;
}

static void cg_files(const char *dir, const char *current, const char *stat)
{
	put(dir, "memory.current", current);
	put(dir, "memory.stat", stat);
	put(dir, "cgroup.procs", "");
}

static int setup(void **state)
{
	char d[PATH_MAX];

	fixture_dir();
	pathf(T, sizeof(T), "/tmp/tsw-unit-cgroup.XXXXXX");
	assert_non_null(mkdtemp(T));

	/* cgroup2 with the memory controller */
	mkdirf(V2, sizeof(V2), "%s/v2", T);
	put(V2, "cgroup.controllers", "cpuset cpu io memory pids\n");
	/* shmem_thp first: a prefix match on "shmem" would pick the wrong line. */
	cg_files(V2, "734003200\n",
		 "anon 52428800\nfile 629145600\nkernel 1048576\nshmem_thp 7\n"
		 "shmem 104857600\nfile_mapped 0\n");
	mkdirf(d, sizeof(d), "%s/user.slice", V2);
	cg_files(d, "209715200\n", "anon 1\nfile 2\nshmem_thp 0\nshmem 104857601\n");
	mkdirf(d, sizeof(d), "%s/user.slice/user-1000.slice", V2);
	cg_files(d, "157286400\n", "anon 3\nfile 4\nshmem 104857602\n");
	mkdirf(d, sizeof(d), "%s/user.slice/user-1000.slice/session-3.scope", V2);
	cg_files(d, "104857603\n", "anon 5\nfile 6\nshmem 104857603\nshmem_thp 0\n");
	mkdirf(d, sizeof(d), "%s/system.slice", V2);
	cg_files(d, "max\n", "shmem 0\n");
	mkdirf(d, sizeof(d), "%s/system.slice/sshd.service", V2);
	cg_files(d, "4096\n", "shmem 4096\n");
	/* Not cgroups: a symlink to a directory and a file. */
	pathf(d, sizeof(d), "%s/link.slice", V2);
	assert_int_equal(symlink("user.slice", d), 0);

	/* v1 memory hierarchy */
	mkdirf(V1MEM, sizeof(V1MEM), "%s/v1mem", T);
	put(V1MEM, "memory.usage_in_bytes", "900000000\n");
	put(V1MEM, "memory.stat", "cache 5\nrss 6\nshmem 11\ntotal_cache 7\ntotal_shmem 222\n");
	mkdirf(d, sizeof(d), "%s/remote.slice", V1MEM);
	put(d, "memory.usage_in_bytes", "110000000\n");
	put(d, "memory.stat", "cache 104857600\nrss 0\nshmem 0\nmapped_file 0\n"
			      "total_cache 104857600\ntotal_rss 0\ntotal_shmem 104857600\n");

	/* cgroup2 without memory (the hybrid layout of this machine) */
	mkdirf(UNIFIED, sizeof(UNIFIED), "%s/unified", T);
	put(UNIFIED, "cgroup.controllers", "cpuset cpu io pids\n");

	pathf(MI_V2, sizeof(MI_V2), "%s/mountinfo-v2", T);
	render("mountinfo-cgroup-v2.in", MI_V2);
	pathf(MI_HYBRID, sizeof(MI_HYBRID), "%s/mountinfo-hybrid", T);
	render("mountinfo-cgroup-hybrid.in", MI_HYBRID);
	pathf(MI_NOMEM, sizeof(MI_NOMEM), "%s/mountinfo-nomemory", T);
	render("mountinfo-cgroup-nomemory.in", MI_NOMEM);
	*state = NULL;
	return 0;
}

static int rm_one(const char *p, const struct stat *st, int type, struct FTW *ftw)
{
	return remove(p) < 0 ? -1 : 0;
}

static int teardown(void **state)
{
	if (T[0])
		nftw(T, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

static void open_v2(struct cg_root *r)
{
	assert_int_equal(cg_root_open(MI_V2, r), 0);
	assert_int_equal(r->mode, CG_V2);
}

static void open_v1(struct cg_root *r)
{
	assert_int_equal(cg_root_open(MI_HYBRID, r), 0);
	assert_int_equal(r->mode, CG_V1);
}

static void test_root_open_v2(void **state)
{
	struct cg_root r;
	struct stat st;
	char mi[PATH_MAX];
	FILE *f;

	open_v2(&r);
	assert_string_equal(r.mnt, V2);
	assert_true(r.fd >= 0);
	assert_int_equal(fstat(r.fd, &st), 0);
	assert_int_equal(st.st_ino, ino_of("%s", V2));
	assert_true(fcntl(r.fd, F_GETFD) & FD_CLOEXEC);
	cg_root_close(&r);
	assert_null(r.mnt);
	assert_int_equal(r.fd, -1);
	assert_int_equal(r.mode, CG_NONE);

	/* A v1 memory hierarchy next to a cgroup2 mount that has memory: v2 wins. */
	pathf(mi, sizeof(mi), "%s/mountinfo-both", T);
	render("mountinfo-cgroup-hybrid.in", mi);
	f = fopen(mi, "ae");
	assert_non_null(f);
	fprintf(f, "40 31 0:50 / %s rw,relatime - cgroup2 cgroup2 rw\n", V2);
	fclose(f);
	assert_int_equal(cg_root_open(mi, &r), 0);
	assert_int_equal(r.mode, CG_V2);
	assert_string_equal(r.mnt, V2);
	cg_root_close(&r);
}

static void test_root_open_hybrid_is_v1(void **state)
{
	struct cg_root r;
	struct stat st;

	open_v1(&r);
	assert_string_equal(r.mnt, V1MEM);
	assert_int_equal(fstat(r.fd, &st), 0);
	assert_int_equal(st.st_ino, ino_of("%s", V1MEM));
	cg_root_close(&r);
}

static void test_root_open_no_memory(void **state)
{
	struct cg_root r = {.fd = -1};
	char mi[PATH_MAX];

	/* cgroup2 without memory in cgroup.controllers, v1 hierarchies without it, a
	 * named hierarchy "name=memory", a tmpfs with a "memory" option: none counts. */
	assert_int_equal(cg_root_open(MI_NOMEM, &r), -ENOMEDIUM);

	/* cgroup2 whose cgroup.controllers cannot be read is not taken on trust. */
	pathf(mi, sizeof(mi), "%s/mountinfo-v2-missing", T);
	{
		FILE *f = fopen(mi, "we");
		assert_non_null(f);
		fprintf(f, "30 23 0:26 / %s/does-not-exist rw - cgroup2 cgroup2 rw\n", T);
		fclose(f);
	}
	assert_int_equal(cg_root_open(mi, &r), -ENOMEDIUM);

	pathf(mi, sizeof(mi), "%s/no-such-mountinfo", T);
	assert_true(cg_root_open(mi, &r) < 0);
}

static void test_root_open_system(void **state)
{
	struct cg_root r;

	/* This machine: v1 memory controller at /sys/fs/cgroup/memory; unified without it. */
	if (access("/sys/fs/cgroup/memory/memory.usage_in_bytes", R_OK) != 0 ||
	    access("/sys/fs/cgroup/unified/cgroup.controllers", R_OK) != 0) {
		/* not cmocka's skip(): tests/run counts "not ok # SKIP" as a failure */
		print_message("# not this machine's v1 layout: not checked\n");
		return;
	}
	assert_int_equal(cg_root_open(NULL, &r), 0);
	assert_int_equal(r.mode, CG_V1);
	assert_string_equal(r.mnt, "/sys/fs/cgroup/memory");
	cg_root_close(&r);
}

/* The quick way to the caller's own cgroup says what the general way does: same
 * hierarchy, same path, same inode (on whatever this machine has). */
static void test_self_quick(void **state)
{
	struct cg_root r;
	struct cgroup cg = {.fd = -1};
	_cleanup_free_ char *rel = NULL, *qrel = NULL;
	enum cg_mode mode = CG_NONE;
	uint64_t ino = 0;
	int k = cg_self_quick(&mode, &qrel, &ino);

	if (cg_root_open(NULL, &r) < 0) {
		assert_true(k == -ENOMEDIUM || k == -ENOENT);
		return;
	}
	assert_int_equal(k, 0);
	assert_int_equal(cg_path_of_pid(&r, 0, NULL, &rel), 0);
	assert_int_equal(cg_open_rel(&r, rel, &cg), 0);
	assert_int_equal(mode, r.mode);
	assert_string_equal(qrel, rel);
	assert_true(ino == cg.ino && ino != 0);
	cgroup_done(&cg);
	cg_root_close(&r);
}

static void fixture_file(char *out, size_t len, const char *name)
{
	pathf(out, len, "%s/%s", FIX, name);
}

static void test_path_of_pid_v2(void **state)
{
	struct cg_root r;
	char p[PATH_MAX];
	_cleanup_free_ char *rel = NULL;

	open_v2(&r);
	fixture_file(p, sizeof(p), "proc-cgroup-v2");
	assert_int_equal(cg_path_of_pid(&r, 0, p, &rel), 0);
	assert_string_equal(rel, "/user.slice/user-1000.slice/session-3.scope");
	free(TAKE_PTR(rel));

	/* v2 takes the "0::" line only: none in a v1-only file; in a hybrid file, the
	 * unified path, not the v1 memory one. */
	fixture_file(p, sizeof(p), "proc-cgroup-v1-colon");
	assert_int_equal(cg_path_of_pid(&r, 0, p, &rel), -ENOENT);
	assert_null(rel);
	fixture_file(p, sizeof(p), "proc-cgroup-v1");
	assert_int_equal(cg_path_of_pid(&r, 0, p, &rel), 0);
	assert_string_equal(rel, "/user.slice/user-1000.slice/session-3.scope");
	free(TAKE_PTR(rel));

	fixture_file(p, sizeof(p), "proc-cgroup-v2-colon");
	assert_int_equal(cg_path_of_pid(&r, 0, p, &rel), 0);
	assert_string_equal(rel, "/system.slice/odd:name.service");
	free(TAKE_PTR(rel));

	fixture_file(p, sizeof(p), "no-such-file");
	assert_int_equal(cg_path_of_pid(&r, 0, p, &rel), -ENOENT);
	cg_root_close(&r);
}

static void test_path_of_pid_v1(void **state)
{
	struct cg_root r;
	char p[PATH_MAX];
	_cleanup_free_ char *rel = NULL;

	open_v1(&r);
	/* "memoryx" and "name=memory" are not the memory controller; "cpu,cpuacct" is
	 * skipped; the "0::" unified line is not v1. */
	fixture_file(p, sizeof(p), "proc-cgroup-v1");
	assert_int_equal(cg_path_of_pid(&r, 0, p, &rel), 0);
	assert_string_equal(rel, "/remote.slice");
	free(TAKE_PTR(rel));

	/* memory co-mounted with others; a path holding ':' is kept whole. */
	fixture_file(p, sizeof(p), "proc-cgroup-v1-colon");
	assert_int_equal(cg_path_of_pid(&r, 0, p, &rel), 0);
	assert_string_equal(rel, "/odd:name/with:colons:");
	free(TAKE_PTR(rel));

	fixture_file(p, sizeof(p), "proc-cgroup-v1-nomemory");
	assert_int_equal(cg_path_of_pid(&r, 0, p, &rel), -ENOENT);
	assert_null(rel);

	/* The real thing: this process's memory cgroup as /proc/self/cgroup says. */
	if (access("/sys/fs/cgroup/memory/memory.usage_in_bytes", R_OK) == 0) {
		struct cg_root sys;
		char line[4096], want[4096] = "";
		FILE *f = fopen("/proc/self/cgroup", "re");
		assert_non_null(f);
		while (fgets(line, sizeof(line), f)) {
			char *c = strstr(line, ":memory:");
			if (c) {
				line[strcspn(line, "\n")] = '\0';
				pathf(want, sizeof(want), "%s", c + strlen(":memory:"));
			}
		}
		fclose(f);
		assert_int_equal(cg_root_open(NULL, &sys), 0);
		assert_int_equal(cg_path_of_pid(&sys, 0, NULL, &rel), 0);
		assert_string_equal(rel, want);
		free(TAKE_PTR(rel));
		assert_int_equal(cg_path_of_pid(&sys, getpid(), NULL, &rel), 0);
		assert_string_equal(rel, want);
		free(TAKE_PTR(rel));
		cg_root_close(&sys);
	}
	cg_root_close(&r);
}

static void test_path_of_pid_relative_rejected(void **state)
{
	struct cg_root r;
	char p[PATH_MAX];
	_cleanup_free_ char *rel = NULL;

	open_v1(&r);
	pathf(p, sizeof(p), "%s/proc-cgroup-bad", T);
	put(T, "proc-cgroup-bad", "4:memory:remote.slice\n");
	assert_int_equal(cg_path_of_pid(&r, 0, p, &rel), -EINVAL);
	assert_null(rel);
	cg_root_close(&r);
}

static void expect_resolves(const struct cg_root *r, const char *spec, const char *rel,
			    uint64_t ino)
{
	struct cgroup cg = {.fd = -1};
	struct stat st;

	assert_int_equal(cg_resolve(r, spec, &cg), 0);
	if (rel)
		assert_string_equal(cg.rel, rel);
	assert_int_equal(cg.ino, ino);
	assert_true(cg.fd >= 0);
	assert_int_equal(fstat(cg.fd, &st), 0);
	assert_int_equal(st.st_ino, ino);
	assert_true(S_ISDIR(st.st_mode));
	cgroup_done(&cg);
	assert_null(cg.rel);
	assert_int_equal(cg.fd, -1);
}

static void test_resolve(void **state)
{
	struct cg_root r;
	struct cgroup cg = {.fd = -1};
	char spec[PATH_MAX];
	uint64_t i_root = ino_of("%s", V2), i_user = ino_of("%s/user.slice", V2);
	uint64_t i_sess = ino_of("%s/user.slice/user-1000.slice/session-3.scope", V2);

	open_v2(&r);
	/* an absolute path under the mount */
	pathf(spec, sizeof(spec), "%s/user.slice", V2);
	expect_resolves(&r, spec, "/user.slice", i_user);
	pathf(spec, sizeof(spec), "%s/user.slice/", V2);
	expect_resolves(&r, spec, "/user.slice", i_user);
	expect_resolves(&r, V2, "/", i_root);
	pathf(spec, sizeof(spec), "%s/", V2);
	expect_resolves(&r, spec, "/", i_root);
	pathf(spec, sizeof(spec), "%s/user.slice/user-1000.slice/session-3.scope", V2);
	expect_resolves(&r, spec, "/user.slice/user-1000.slice/session-3.scope", i_sess);
	/* a cgroup path as /proc/PID/cgroup shows it, and relative */
	expect_resolves(&r, "/user.slice", "/user.slice", i_user);
	expect_resolves(&r, "user.slice", "/user.slice", i_user);
	expect_resolves(&r, "/", "/", i_root);
	expect_resolves(&r, "//user.slice//user-1000.slice/session-3.scope", NULL, i_sess);

	/* never ".." or "." */
	assert_int_equal(cg_resolve(&r, "..", &cg), -EINVAL);
	assert_int_equal(cg_resolve(&r, "/a/../b", &cg), -EINVAL);
	assert_int_equal(cg_resolve(&r, "/user.slice/..", &cg), -EINVAL);
	assert_int_equal(cg_resolve(&r, "./user.slice", &cg), -EINVAL);
	pathf(spec, sizeof(spec), "%s/user.slice/../system.slice", V2);
	assert_int_equal(cg_resolve(&r, spec, &cg), -EINVAL);
	assert_int_equal(cg_resolve(&r, "", &cg), -EINVAL);
	/* "..x" is a name, not a parent */
	assert_int_equal(cg_resolve(&r, "/..x", &cg), -ENOENT);

	/* missing cgroups */
	assert_int_equal(cg_resolve(&r, "/nonexistent.slice", &cg), -ENOENT);
	assert_int_equal(cg_resolve(&r, "user.slice/nope", &cg), -ENOENT);
	pathf(spec, sizeof(spec), "%sx/user.slice", V2); /* a sibling sharing the prefix */
	assert_int_equal(cg_resolve(&r, spec, &cg), -ENOENT);
	/* a file is not a cgroup */
	assert_int_equal(cg_resolve(&r, "/memory.current", &cg), -ENOTDIR);
	/* a symlink inside the hierarchy is not followed */
	{
		/* O_NOFOLLOW|O_DIRECTORY on a final symlink says ENOTDIR; in the middle,
		 * RESOLVE_NO_SYMLINKS says ELOOP. Either way: refused. */
		int k = cg_resolve(&r, "/link.slice", &cg);
		assert_true(k == -ELOOP || k == -ENOTDIR);
		assert_int_equal(cg_resolve(&r, "/link.slice/user-1000.slice", &cg), -ELOOP);
	}

	/* under /sys/fs/cgroup but not in this hierarchy */
	assert_int_equal(cg_resolve(&r, "/sys/fs/cgroup/cpu/x", &cg), -ENOMEDIUM);
	assert_int_equal(cg_resolve(&r, "/sys/fs/cgroup", &cg), -ENOMEDIUM);
	assert_int_equal(cg_resolve(&r, "/sys/fs/cgroup/unified/user.slice", &cg), -ENOMEDIUM);

	/* pids: 0 and out of range are no process */
	assert_int_equal(cg_resolve(&r, "0", &cg), -ESRCH);
	assert_int_equal(cg_resolve(&r, "99999999999", &cg), -ESRCH);
	assert_int_equal(cg.fd, -1);
	cg_root_close(&r);
}

static void test_resolve_v1(void **state)
{
	struct cg_root r;
	char spec[PATH_MAX];
	uint64_t i = ino_of("%s/remote.slice", V1MEM);

	open_v1(&r);
	pathf(spec, sizeof(spec), "%s/remote.slice", V1MEM);
	expect_resolves(&r, spec, "/remote.slice", i);
	expect_resolves(&r, "/remote.slice", "/remote.slice", i);
	expect_resolves(&r, "remote.slice", "/remote.slice", i);
	cg_root_close(&r);
}

static void test_read_usage_v2(void **state)
{
	struct cg_root r;
	struct cgroup cg = {.fd = -1};
	uint64_t usage = 0, shmem = 0;

	open_v2(&r);
	assert_int_equal(cg_resolve(&r, "/", &cg), 0);
	assert_int_equal(cg_read_usage(&r, &cg, &usage, &shmem), 0);
	assert_int_equal(usage, 734003200);
	assert_int_equal(shmem, 104857600);
	cgroup_done(&cg);

	assert_int_equal(cg_resolve(&r, "/user.slice/user-1000.slice/session-3.scope", &cg), 0);
	assert_int_equal(cg_read_usage(&r, &cg, &usage, &shmem), 0);
	assert_int_equal(usage, 104857603);
	assert_int_equal(shmem, 104857603);
	/* either output may be left out */
	usage = shmem = 1;
	assert_int_equal(cg_read_usage(&r, &cg, NULL, &shmem), 0);
	assert_int_equal(shmem, 104857603);
	assert_int_equal(cg_read_usage(&r, &cg, &usage, NULL), 0);
	assert_int_equal(usage, 104857603);
	cgroup_done(&cg);

	/* "max" is not a usage value but must not be misread as a number either */
	assert_int_equal(cg_resolve(&r, "/system.slice", &cg), 0);
	assert_int_equal(cg_read_usage(&r, &cg, NULL, &shmem), 0);
	assert_int_equal(shmem, 0);
	cgroup_done(&cg);

	/* no memory.stat: an error, not a zero */
	assert_int_equal(cg_resolve(&r, "/system.slice/sshd.service", &cg), 0);
	assert_int_equal(unlinkat(cg.fd, "memory.stat", 0), 0);
	assert_int_equal(cg_read_usage(&r, &cg, &usage, &shmem), -ENOENT);
	/* a stat file without the key: an error too */
	put(V2, "system.slice/sshd.service/memory.stat", "anon 1\nshmem_thp 2\n");
	assert_int_equal(cg_read_usage(&r, &cg, NULL, &shmem), -ENOENT);
	cgroup_done(&cg);
	cg_root_close(&r);
}

static void test_read_usage_v1(void **state)
{
	struct cg_root r;
	struct cgroup cg = {.fd = -1};
	uint64_t usage = 0, shmem = 0;

	open_v1(&r);
	assert_int_equal(cg_resolve(&r, "/remote.slice", &cg), 0);
	assert_int_equal(cg_read_usage(&r, &cg, &usage, &shmem), 0);
	assert_int_equal(usage, 110000000);
	assert_int_equal(shmem, 104857600); /* total_shmem, not the local "shmem 0" */
	cgroup_done(&cg);
	assert_int_equal(cg_resolve(&r, "/", &cg), 0);
	assert_int_equal(cg_read_usage(&r, &cg, &usage, &shmem), 0);
	assert_int_equal(usage, 900000000);
	assert_int_equal(shmem, 222);
	cgroup_done(&cg);
	cg_root_close(&r);
}

static void test_list_descendants(void **state)
{
	static const char *const all[] = {
		"/", "/user.slice", "/user.slice/user-1000.slice",
		"/user.slice/user-1000.slice/session-3.scope", "/system.slice",
		"/system.slice/sshd.service",
	};
	struct cg_root r;
	struct cgroup cg = {.fd = -1};
	struct cg_list l = {0};
	const struct cg_node *n;

	open_v2(&r);
	assert_int_equal(cg_resolve(&r, "/", &cg), 0);
	assert_int_equal(cg_list_descendants(&r, &cg, &l), 0);
	/* directories only: no files, no symlink to a directory */
	assert_int_equal(l.n, ARRAY_SIZE(all));
	for (size_t i = 1; i < l.n; i++)
		assert_true(l.v[i - 1].ino < l.v[i].ino);
	for (size_t i = 0; i < ARRAY_SIZE(all); i++) {
		uint64_t ino = ino_of("%s%s", V2, all[i]);
		n = cg_list_find(&l, ino);
		assert_non_null(n);
		assert_string_equal(n->rel, all[i]);
		assert_int_equal(n->ino, ino);
	}
	assert_null(cg_list_find(&l, ino_of("%s/memory.stat", V2)));
	assert_null(cg_list_find(&l, 0));
	assert_null(cg_list_find(&l, UINT64_MAX));
	cg_list_done(&l);
	assert_int_equal(l.n, 0);
	assert_null(l.v);
	cgroup_done(&cg);

	/* from a subtree: itself and below only */
	assert_int_equal(cg_resolve(&r, "user.slice", &cg), 0);
	assert_int_equal(cg_list_descendants(&r, &cg, &l), 0);
	assert_int_equal(l.n, 3);
	n = cg_list_find(&l, ino_of("%s/user.slice/user-1000.slice/session-3.scope", V2));
	assert_non_null(n);
	assert_string_equal(n->rel, "/user.slice/user-1000.slice/session-3.scope");
	assert_non_null(cg_list_find(&l, cg.ino));
	assert_null(cg_list_find(&l, ino_of("%s/system.slice", V2)));
	assert_null(cg_list_find(&l, ino_of("%s", V2)));
	cg_list_done(&l);
	cgroup_done(&cg);

	/* a leaf: just itself */
	assert_int_equal(cg_resolve(&r, "/system.slice/sshd.service", &cg), 0);
	assert_int_equal(cg_list_descendants(&r, &cg, &l), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.v[0].rel, "/system.slice/sshd.service");
	assert_int_equal(l.v[0].ino, cg.ino);
	cg_list_done(&l);
	cgroup_done(&cg);
	cg_root_close(&r);
}

static void test_list_many(void **state)
{
	struct cg_root r;
	struct cgroup cg = {.fd = -1};
	struct cg_list l = {0};
	char d[PATH_MAX];

	/* more than one growth step of the list: 40 children with 2 grandchildren each */
	open_v2(&r);
	mkdirf(d, sizeof(d), "%s/system.slice/many", V2);
	for (int i = 0; i < 40; i++) {
		mkdirf(d, sizeof(d), "%s/system.slice/many/c%02d", V2, i);
		mkdirf(d, sizeof(d), "%s/system.slice/many/c%02d/g0", V2, i);
		mkdirf(d, sizeof(d), "%s/system.slice/many/c%02d/g1", V2, i);
	}
	assert_int_equal(cg_resolve(&r, "/system.slice/many", &cg), 0);
	assert_int_equal(cg_list_descendants(&r, &cg, &l), 0);
	assert_int_equal(l.n, 1 + 40 * 3);
	for (int i = 0; i < 40; i++) {
		char rel[64];
		const struct cg_node *n =
			cg_list_find(&l, ino_of("%s/system.slice/many/c%02d/g1", V2, i));
		pathf(rel, sizeof(rel), "/system.slice/many/c%02d/g1", i);
		assert_non_null(n);
		assert_string_equal(n->rel, rel);
	}
	cg_list_done(&l);
	cgroup_done(&cg);
	cg_root_close(&r);
}

static void test_create_remove(void **state)
{
	struct cg_root r;
	struct cgroup cg = {.fd = -1}, again = {.fd = -1};
	char p[PATH_MAX];
	struct stat st;

	open_v2(&r);
	assert_int_equal(cg_create(&r, "/user.slice", "tsw-1", &cg), 0);
	pathf(p, sizeof(p), "%s/user.slice/tsw-1", V2);
	assert_int_equal(stat(p, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0755); /* main() sets umask 022 */
	assert_string_equal(cg.rel, "/user.slice/tsw-1");
	assert_int_equal(cg.ino, st.st_ino);
	/* already there: not an error, the same cgroup */
	assert_int_equal(cg_create(&r, "user.slice", "tsw-1", &again), 0);
	assert_string_equal(again.rel, "/user.slice/tsw-1");
	assert_int_equal(again.ino, cg.ino);
	cgroup_done(&again);

	/* at the top */
	assert_int_equal(cg_create(&r, "/", "tsw-top", &again), 0);
	assert_string_equal(again.rel, "/tsw-top");
	assert_int_equal(again.ino, ino_of("%s/tsw-top", V2));
	cgroup_done(&again);

	/* names that are not one component */
	assert_int_equal(cg_create(&r, "/", "", &again), -EINVAL);
	assert_int_equal(cg_create(&r, "/", "a/b", &again), -EINVAL);
	assert_int_equal(cg_create(&r, "/", ".", &again), -EINVAL);
	assert_int_equal(cg_create(&r, "/", "..", &again), -EINVAL);
	assert_int_equal(cg_create(&r, "/no-such-parent", "x", &again), -ENOENT);
	{
		int k = cg_create(&r, "/link.slice", "x", &again);
		assert_true(k == -ELOOP || k == -ENOTDIR);
	}
	pathf(p, sizeof(p), "%s/user.slice/x", V2);
	assert_int_equal(access(p, F_OK), -1);

	/* cg_attach writes the pid into cgroup.procs */
	put(V2, "user.slice/tsw-1/cgroup.procs", "");
	assert_int_equal(cg_attach(&cg, 4242), 0);
	{
		char buf[32] = "";
		FILE *f;
		pathf(p, sizeof(p), "%s/user.slice/tsw-1/cgroup.procs", V2);
		f = fopen(p, "re");
		assert_non_null(f);
		assert_non_null(fgets(buf, sizeof(buf), f));
		fclose(f);
		assert_string_equal(buf, "4242\n");
	}
	assert_int_equal(unlinkat(cg.fd, "cgroup.procs", 0), 0);

	/* remove: only what was named, only when empty (on a real cgroup "busy" is
	 * -EBUSY; on this fixture a child dir makes rmdir fail with -ENOTEMPTY). */
	assert_int_equal(cg_create(&r, "/user.slice/tsw-1", "child", &again), 0);
	cgroup_done(&again);
	assert_int_equal(cg_remove_if_empty(&r, "/user.slice/tsw-1"), -ENOTEMPTY);
	assert_int_equal(cg_remove_if_empty(&r, "/user.slice/tsw-1/child"), 0);
	pathf(p, sizeof(p), "%s/user.slice/tsw-1/child", V2);
	assert_int_equal(access(p, F_OK), -1);
	assert_int_equal(cg_remove_if_empty(&r, "user.slice/tsw-1"), 0);
	pathf(p, sizeof(p), "%s/user.slice/tsw-1", V2);
	assert_int_equal(access(p, F_OK), -1);
	assert_int_equal(cg_remove_if_empty(&r, "/user.slice/tsw-1"), -ENOENT);
	assert_int_equal(cg_remove_if_empty(&r, "/tsw-top"), 0);

	/* never the root, never a path with ".." */
	assert_int_equal(cg_remove_if_empty(&r, "/"), -EINVAL);
	assert_int_equal(cg_remove_if_empty(&r, ""), -EINVAL);
	assert_int_equal(cg_remove_if_empty(&r, "/system.slice/../user.slice"), -EINVAL);
	assert_int_equal(cg_remove_if_empty(&r, "/.."), -EINVAL);
	assert_int_equal(access(V2, F_OK), 0);
	cgroup_done(&cg);
	cg_root_close(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_root_open_v2),
		cmocka_unit_test(test_root_open_hybrid_is_v1),
		cmocka_unit_test(test_root_open_no_memory),
		cmocka_unit_test(test_root_open_system),
		cmocka_unit_test(test_self_quick),
		cmocka_unit_test(test_path_of_pid_v2),
		cmocka_unit_test(test_path_of_pid_v1),
		cmocka_unit_test(test_path_of_pid_relative_rejected),
		cmocka_unit_test(test_resolve),
		cmocka_unit_test(test_resolve_v1),
		cmocka_unit_test(test_read_usage_v2),
		cmocka_unit_test(test_read_usage_v1),
		cmocka_unit_test(test_list_descendants),
		cmocka_unit_test(test_list_many),
		cmocka_unit_test(test_create_remove),
	};

	umask(022);
	return cmocka_run_group_tests(tests, setup, teardown);
}
