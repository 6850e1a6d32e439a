/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_pages.c: lib/pages.c and the batching of lib/scan.c on a private tmpfs (a mount
 * namespace of this process alone, gone with it). Root only (PFNs, kpagecgroup, the
 * mount): skipped otherwise. Every page is charged to this process's memory cgroup, so
 * attribution is checked against its inode. Covered: resident files across windows;
 * fallocated pages (whole, mixed with data, islands in a 2^62-byte sparse file) found
 * exactly, with st_blocks unchanged and the data still zeros; pages past the end counted
 * as unknown and named; holes never faulted; the fault guard (a populate over a hole
 * fails rather than allocates, shown where mincore reports holes as resident); without
 * cachestat (probing, capped and named) and without userfaultfd (unknown, named); and
 * scan_mount's batches: every file once, in post-order, with a live parent fd, the same
 * figures as a file-by-file scan, truncation and STOP.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "pages.h"
#include "scan.h"
#include "util.h"

#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <linux/capability.h>
#include <linux/falloc.h>
#include <linux/filter.h>
#include <linux/fs.h>
#include <linux/seccomp.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#define KiB 1024ULL
#define MiB (1024ULL * 1024)
#define PG 4096ULL

static char T[PATH_MAX]; /* the private tmpfs */
static int tfd = -1;
static uint64_t self_ino; /* our memory cgroup's inode, as kpagecgroup names it */
static bool ready;

static uint64_t memcg_ino(void)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/cgroup", "re");
	char line[4096], path[PATH_MAX + 64];
	struct stat st;

	while (f && fgets(line, sizeof(line), f)) {
		char *ctl = strchr(line, ':'), *p = ctl ? strchr(ctl + 1, ':') : NULL;
		if (!p)
			continue;
		*p++ = '\0';
		p[strcspn(p, "\n")] = '\0';
		if (strstr(ctl + 1, "memory"))
			snprintf(path, sizeof(path), "/sys/fs/cgroup/memory%s", p);
		else if (streq(ctl + 1, ""))
			snprintf(path, sizeof(path), "/sys/fs/cgroup%s", p);
		else
			continue;
		if (stat(path, &st) == 0 &&
		    (strstr(ctl + 1, "memory") ||
		     access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0))
			return st.st_ino;
	}
	return 0;
}

static int setup(void **state)
{
	if (geteuid() != 0)
		return 0;
	snprintf(T, sizeof(T), "/tmp/test_pages.XXXXXX");
	if (!mkdtemp(T))
		return 0;
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("test_pages", T, "tmpfs", 0, "size=256m,mode=0755") < 0) {
		rmdir(T);
		return 0;
	}
	tfd = open(T, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	self_ino = memcg_ino();
	ready = tfd >= 0;
	return 0;
}

static int teardown(void **state)
{
	if (tfd >= 0)
		close(tfd);
	if (T[0]) {
		umount2(T, MNT_DETACH);
		rmdir(T);
	}
	return 0;
}

#define NEED_ROOT()                                                                                \
	do {                                                                                       \
		if (!ready)                                                                        \
			skip();                                                                    \
	} while (0)

static int mkfile(const char *name)
{
	int fd = openat(tfd, name, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	assert_true(fd >= 0);
	return fd;
}

static void fill(int fd, uint64_t off, uint64_t len, char c)
{
	char buf[64 * 1024];

	memset(buf, c, sizeof(buf));
	while (len) {
		size_t n = (size_t)MIN(len, sizeof(buf));
		assert_int_equal(pwrite(fd, buf, n, (off_t)off), (ssize_t)n);
		off += n;
		len -= n;
	}
}

static uint64_t blocks_of(int fd)
{
	struct stat st;

	assert_int_equal(fstat(fd, &st), 0);
	return (uint64_t)st.st_blocks;
}

static uint64_t size_of(int fd)
{
	struct stat st;

	assert_int_equal(fstat(fd, &st), 0);
	return (uint64_t)st.st_size;
}

static struct pages_ctx *ctx(void)
{
	struct pages_ctx *pc = NULL;

	assert_int_equal(pages_ctx_new(&pc), 0);
	return pc;
}

/* All of res charged to our cgroup. */
static void assert_ours(const struct page_scan *res, uint64_t bytes)
{
	assert_int_equal(res->resident_bytes, bytes);
	if (bytes == 0) {
		assert_int_equal(res->n_charges, 0);
		return;
	}
	assert_int_equal(res->n_charges, 1);
	assert_int_equal(res->charges[0].bytes, bytes);
	if (self_ino)
		assert_int_equal(res->charges[0].ino, self_ino);
}

static void test_resident(void **state)
{
	NEED_ROOT();
	struct pages_ctx *pc = ctx();
	struct page_scan res = {0};
	int fd = mkfile("resident");

	fill(fd, 0, 3 * MiB + 5, 'r'); /* across two windows, a partial last page */
	assert_int_equal(pages_scan_fd(pc, fd, size_of(fd), &res), 0);
	assert_ours(&res, 3 * MiB + PG);
	assert_int_equal(res.unknown_bytes, 0);
	assert_int_equal(res.unknown, 0);
	assert_int_equal(res.fallocated_bytes, 0);
	assert_false(res.changed);
	close(fd);
	page_scan_done(&res);
	pages_ctx_free(pc);
}

static bool all_zero(int fd, uint64_t off, uint64_t len)
{
	char buf[64 * 1024];

	while (len) {
		size_t n = (size_t)MIN(len, sizeof(buf));
		if (pread(fd, buf, n, (off_t)off) != (ssize_t)n)
			return false;
		for (size_t i = 0; i < n; i++)
			if (buf[i])
				return false;
		off += n;
		len -= n;
	}
	return true;
}

static void test_fallocated_whole(void **state)
{
	NEED_ROOT();
	struct pages_ctx *pc = ctx();
	struct page_scan res = {0};
	int fd = mkfile("falloc");
	uint64_t blocks;

	assert_int_equal(fallocate(fd, 0, 0, 8 * MiB), 0);
	blocks = blocks_of(fd);
	assert_int_equal(blocks * 512, 8 * MiB);
	/* What the issue saw: mincore and SEEK_DATA do not see these pages. */
	assert_int_equal(lseek(fd, 0, SEEK_DATA), -1);
	assert_int_equal(pages_scan_fd(pc, fd, size_of(fd), &res), 0);
	assert_ours(&res, 8 * MiB);
	assert_int_equal(res.fallocated_bytes, 8 * MiB);
	assert_int_equal(res.unknown_bytes, 0);
	assert_false(res.changed);
	/* Nothing allocated, nothing changed for readers. */
	assert_int_equal(blocks_of(fd), blocks);
	assert_true(all_zero(fd, 0, 8 * MiB));
	/* Now uptodate: a second scan sees them as plain resident pages. */
	assert_int_equal(pages_scan_fd(pc, fd, size_of(fd), &res), 0);
	assert_ours(&res, 8 * MiB);
	assert_int_equal(res.fallocated_bytes, 0);
	close(fd);
	page_scan_done(&res);
	pages_ctx_free(pc);
}

/* PostgreSQL's segments: fallocated whole, then partly written. */
static void test_fallocated_mixed(void **state)
{
	NEED_ROOT();
	struct pages_ctx *pc = ctx();
	struct page_scan res = {0};
	int fd = mkfile("mixed");
	uint64_t written = 0;

	assert_int_equal(fallocate(fd, 0, 0, 4 * MiB), 0);
	for (uint64_t off = 0; off < 4 * MiB; off += 96 * KiB) {
		fill(fd, off, 3 * PG, 'm');
		written += 3 * PG;
	}
	fill(fd, 4 * MiB - PG, PG, 'e');
	written += PG;
	assert_int_equal(pages_scan_fd(pc, fd, size_of(fd), &res), 0);
	assert_ours(&res, 4 * MiB);
	assert_int_equal(res.fallocated_bytes, 4 * MiB - written);
	assert_int_equal(res.unknown_bytes, 0);
	assert_int_equal(blocks_of(fd) * 512, 4 * MiB);
	close(fd);
	page_scan_done(&res);
	pages_ctx_free(pc);
}

/* THREATS 11 with fallocated pages: a 2^62-byte file with three data pages and three
 * fallocated islands far apart. Found by bisection (2^50 pages could never be probed),
 * holes never faulted. */
static void test_sparse_islands(void **state)
{
	NEED_ROOT();
	struct pages_ctx *pc = ctx();
	struct page_scan res = {0};
	int fd = mkfile("islands");
	const uint64_t size = 1ULL << 62;
	uint64_t blocks;

	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	fill(fd, 0, PG, 'a');
	fill(fd, 1ULL << 40, PG, 'b');
	fill(fd, size - PG, PG, 'c');
	assert_int_equal(fallocate(fd, FALLOC_FL_KEEP_SIZE, (off_t)(1ULL << 30), (off_t)(2 * PG)),
			 0);
	assert_int_equal(fallocate(fd, FALLOC_FL_KEEP_SIZE, (off_t)(1ULL << 61), (off_t)PG), 0);
	assert_int_equal(fallocate(fd, FALLOC_FL_KEEP_SIZE, (off_t)(size - 3 * PG), (off_t)PG), 0);
	blocks = blocks_of(fd);
	assert_int_equal(blocks * 512, 7 * PG);
	assert_int_equal(pages_scan_fd(pc, fd, size, &res), 0);
	assert_ours(&res, 7 * PG);
	assert_int_equal(res.fallocated_bytes, 4 * PG);
	assert_int_equal(res.unknown_bytes, 0);
	assert_int_equal(blocks_of(fd), blocks);
	close(fd);
	page_scan_done(&res);
	pages_ctx_free(pc);
}

static void test_holes_never_faulted(void **state)
{
	NEED_ROOT();
	struct pages_ctx *pc = ctx();
	struct page_scan res = {0};
	int fd = mkfile("holes");

	assert_int_equal(ftruncate(fd, (off_t)(1ULL << 30)), 0);
	for (uint64_t off = 0; off < (1ULL << 30); off += 64 * MiB)
		fill(fd, off + 5 * PG, PG, 'h');
	assert_int_equal(pages_scan_fd(pc, fd, size_of(fd), &res), 0);
	assert_ours(&res, 16 * PG);
	assert_int_equal(res.unknown_bytes, 0);
	assert_int_equal(blocks_of(fd) * 512, 16 * PG);
	close(fd);
	page_scan_done(&res);
	pages_ctx_free(pc);
}

/* fallocate --keep-size past the end: charged, but no mapping can reach it. */
static void test_beyond_eof(void **state)
{
	NEED_ROOT();
	struct pages_ctx *pc = ctx();
	struct page_scan res = {0};
	int fd = mkfile("beyond");
	char why[64];

	fill(fd, 0, 10000, 'x');
	assert_int_equal(fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, (off_t)MiB), 0);
	assert_int_equal(pages_scan_fd(pc, fd, size_of(fd), &res), 0);
	assert_ours(&res, 3 * PG); /* written (the third in part): uptodate */
	assert_int_equal(res.fallocated_bytes, 0);
	assert_int_equal(res.unknown_bytes, MiB - 3 * PG);
	assert_int_equal(res.unknown, PAGES_UNKNOWN_BEYOND_EOF);
	assert_string_equal(pages_unknown_str(res.unknown, why, sizeof(why)), "beyond-eof");
	close(fd);
	page_scan_done(&res);
	pages_ctx_free(pc);
}

/* Run fn in a child (for seccomp filters and dropped capabilities); it returns 0 or the
 * line of the failed CHECK. */
#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c)) {                                                                        \
			fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #c);      \
			return __LINE__ & 0x7f ? __LINE__ & 0x7f : 1;                              \
		}                                                                                  \
	} while (0)

static void in_child(int (*fn)(void))
{
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0)
		_exit(fn());
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* The system call nr fails with ENOSYS from now on, as on a kernel without it. */
static int deny_syscall(long nr)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)nr, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {.len = ARRAY_SIZE(f), .filter = f};

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0)
		return -1;
	return 0;
}

/* Linux 6.1 (Debian 12) has no cachestat: the holes are probed page by page; islands
 * near each other are found, one far beyond SEARCH_STEPS pages is not, and is named. */
static int no_cachestat_child(void)
{
	struct pages_ctx *pc = NULL;
	struct page_scan res = {0};
	int fd = openat(tfd, "nocs", O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	char buf[PG];

	CHECK(fd >= 0 && deny_syscall(451) == 0); /* __NR_cachestat */
	CHECK(fallocate(fd, 0, 0, (off_t)(2 * MiB)) == 0);
	memset(buf, 'd', sizeof(buf));
	CHECK(pwrite(fd, buf, PG, (off_t)MiB) == (ssize_t)PG);
	CHECK(ftruncate(fd, (off_t)(4 * MiB)) == 0);
	CHECK(fallocate(fd, 0, (off_t)(3 * MiB), (off_t)(8 * PG)) == 0);
	CHECK(pages_ctx_new(&pc) == 0);
	CHECK(pages_scan_fd(pc, fd, 4 * MiB, &res) == 0);
	CHECK(res.resident_bytes == 2 * MiB + 8 * PG);
	CHECK(res.fallocated_bytes == 2 * MiB + 8 * PG - PG);
	CHECK(res.unknown_bytes == 0);
	/* One page 4 GiB into a hole: 2^20 probes, over the cap. */
	CHECK(ftruncate(fd, (off_t)(8ULL << 30)) == 0);
	CHECK(fallocate(fd, 0, (off_t)(6ULL << 30), (off_t)PG) == 0);
	CHECK(pages_scan_fd(pc, fd, 8ULL << 30, &res) == 0);
	CHECK(res.resident_bytes == 2 * MiB + 8 * PG);
	CHECK(res.unknown_bytes == PG);
	CHECK(res.unknown == PAGES_UNKNOWN_UNLOCATED);
	page_scan_done(&res);
	pages_ctx_free(pc);
	close(fd);
	return 0;
}

static void test_no_cachestat(void **state)
{
	NEED_ROOT();
	in_child(no_cachestat_child);
}

/* Without userfaultfd (a sandbox, an old kernel): resident pages as ever, fallocated ones
 * counted as unknown and named, never guessed. */
static int no_uffd_child(void)
{
	struct pages_ctx *pc = NULL;
	struct page_scan res = {0};
	int fd = openat(tfd, "nouffd", O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	char buf[PG], why[64];

	CHECK(fd >= 0 && deny_syscall(SYS_userfaultfd) == 0);
	CHECK(fallocate(fd, 0, 0, (off_t)MiB) == 0);
	memset(buf, 'u', sizeof(buf));
	CHECK(pwrite(fd, buf, PG, 0) == (ssize_t)PG);
	CHECK(pages_ctx_new(&pc) == 0);
	CHECK(pages_scan_fd(pc, fd, MiB, &res) == 0);
	CHECK(res.resident_bytes == PG && res.fallocated_bytes == 0);
	CHECK(res.unknown_bytes == MiB - PG);
	CHECK(streq(pages_unknown_str(res.unknown, why, sizeof(why)), "unlocated"));
	page_scan_done(&res);
	pages_ctx_free(pc);
	close(fd);
	return 0;
}

static void test_no_userfaultfd(void **state)
{
	NEED_ROOT();
	in_child(no_uffd_child);
}

/*
 * The fault guard. A populate over a hole allocates a page (and charges it to the
 * scanner); scans populate only what mincore reports resident, but a hole can be punched
 * between the two. To show the guard deterministically: mincore reports every page of a
 * mapping as resident when the caller may not write the file and does not own it (an
 * immutable file of another user, CAP_FOWNER dropped), so the scan populates holes; under
 * the guard that fails (the file "changed") and allocates nothing.
 */
static int guard_child(void)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct d[2];
	struct pages_ctx *pc = NULL;
	struct page_scan res = {0};
	int fd = openat(tfd, "guarded", O_RDONLY | O_CLOEXEC);
	unsigned char vec[4];
	struct stat st;
	void *p;

	CHECK(fd >= 0 && fstat(fd, &st) == 0 && st.st_blocks * 512 == PG);
	CHECK(syscall(SYS_capget, &h, d) == 0);
	d[0].effective &= ~(1u << CAP_FOWNER);
	CHECK(syscall(SYS_capset, &h, d) == 0);
	/* The premise: mincore now calls the holes resident. */
	p = mmap(NULL, 4 * PG, PROT_READ, MAP_PRIVATE, fd, 0);
	CHECK(p != MAP_FAILED && mincore(p, 4 * PG, vec) == 0);
	munmap(p, 4 * PG);
	if (!(vec[1] & 1))
		return 0; /* a kernel that says "not resident" instead: nothing to show */
	CHECK(pages_ctx_new(&pc) == 0);
	/* Blocks as if dense: the whole file is one range, every page "resident". */
	CHECK(pages_scan_file(pc, fd, MiB, MiB / 512, &res) == 0);
	CHECK(fstat(fd, &st) == 0 && st.st_blocks * 512 == PG); /* no hole faulted in */
	CHECK(res.changed);
	CHECK(res.resident_bytes == PG);
	/* The same through a batch. */
	CHECK(pages_batch_add(pc, fd, MiB / 4, MiB / 4 / 512) == 0);
	pages_batch_run(pc);
	{
		int err;
		const struct page_scan *r = pages_batch_result(pc, 0, &err);
		CHECK(r && err == 0 && r->changed && r->resident_bytes == PG);
	}
	fd = -1; /* the batch's now */
	pages_batch_clear(pc);
	CHECK(fstat(openat(tfd, "guarded", O_RDONLY | O_CLOEXEC), &st) == 0 &&
	      st.st_blocks * 512 == PG);
	page_scan_done(&res);
	pages_ctx_free(pc);
	return 0;
}

static void test_fault_guard(void **state)
{
	NEED_ROOT();
	int fd = mkfile("guarded"), flags = 0;

	assert_int_equal(ftruncate(fd, (off_t)MiB), 0);
	fill(fd, 0, PG, 'g');
	assert_int_equal(fchown(fd, 12345, 12345), 0);
	if (ioctl(fd, FS_IOC_GETFLAGS, &flags) < 0) {
		close(fd);
		skip(); /* tmpfs without inode flags (Linux < 6.0) */
	}
	flags |= FS_IMMUTABLE_FL;
	assert_int_equal(ioctl(fd, FS_IOC_SETFLAGS, &flags), 0);
	in_child(guard_child);
	flags &= ~FS_IMMUTABLE_FL;
	assert_int_equal(ioctl(fd, FS_IOC_SETFLAGS, &flags), 0);
	assert_int_equal(blocks_of(fd) * 512, PG);
	close(fd);
}

/* --- scan_mount's batches --- */

struct expect {
	const char *name;
	uint64_t resident, unknown; /* UINT64_MAX: not scanned (no blocks) */
	unsigned unknown_why;
	int seen;
};

struct tree {
	struct expect *x;
	size_t n;
	char left[16][PATH_MAX]; /* directories already left (post-order) */
	size_t n_left;
	int files, stop_after;
	bool bad_order, bad_dirfd;
};

static struct expect *find_expect(struct tree *t, const char *path)
{
	const char *rel = path + strlen(T) + 1;

	for (size_t i = 0; i < t->n; i++)
		if (streq(t->x[i].name, rel))
			return &t->x[i];
	return NULL;
}

static int on_tree(const struct scan_entry *e, void *userdata)
{
	struct tree *t = userdata;
	struct expect *x;
	struct stat st;

	if (e->w->leaving) {
		if (t->n_left < ARRAY_SIZE(t->left))
			snprintf(t->left[t->n_left++], PATH_MAX, "%s/", e->w->path);
		return WALK_CONTINUE;
	}
	if (S_ISDIR(e->w->stx->stx_mode))
		return WALK_CONTINUE;
	for (size_t i = 0; i < t->n_left; i++)
		if (strncmp(e->w->path, t->left[i], strlen(t->left[i])) == 0)
			t->bad_order = true; /* a file after its directory's leaving call */
	if (fstatat(e->w->dirfd, e->w->name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
	    st.st_ino != e->w->stx->stx_ino)
		t->bad_dirfd = true;
	x = find_expect(t, e->w->path);
	assert_non_null(x);
	x->seen++;
	assert_int_equal(e->error, 0);
	if (x->resident == UINT64_MAX) {
		assert_null(e->pages);
	} else {
		assert_non_null(e->pages);
		assert_ours(e->pages, x->resident);
		assert_int_equal(e->pages->unknown_bytes, x->unknown);
		assert_int_equal(e->pages->unknown, x->unknown_why);
	}
	return ++t->files == t->stop_after ? WALK_STOP : WALK_CONTINUE;
}

static void make_tree(struct expect *x, size_t *n)
{
	static char names[200][64];
	const char *dirs[] = {"t", "t/a", "t/a/deep", "t/b"};
	size_t k = 0;

	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++)
		assert_int_equal(mkdirat(tfd, dirs[i], 0755), 0);
	for (size_t i = 0; i < 180; i++) {
		const char *dir = dirs[i % ARRAY_SIZE(dirs)];
		int fd;
		snprintf(names[k], sizeof(names[k]), "%s/f%03zu", dir, i);
		fd = mkfile(names[k]);
		x[k] = (struct expect){.name = names[k]};
		switch (i % 9) {
		case 0: /* empty: not scanned */
			x[k].resident = UINT64_MAX;
			break;
		case 1:
			fill(fd, 0, 1, 'a');
			x[k].resident = PG;
			break;
		case 2:
			fill(fd, 0, 64 * KiB, 'b');
			x[k].resident = 64 * KiB;
			break;
		case 3:
			fill(fd, 0, 200 * KiB + 17, 'c');
			x[k].resident = 200 * KiB + PG;
			break;
		case 4: /* larger than a batch takes: on its own */
			fill(fd, 0, 300 * KiB, 'd');
			x[k].resident = 300 * KiB;
			break;
		case 5: /* small and fallocated: batched, then phase two */
			assert_int_equal(fallocate(fd, 0, 0, (off_t)(40 * KiB)), 0);
			fill(fd, 8 * KiB, 5000, 'e');
			x[k].resident = 40 * KiB;
			break;
		case 6: /* sparse: not batched */
			assert_int_equal(ftruncate(fd, 100000), 0);
			fill(fd, 50000, 10, 'f');
			x[k].resident = PG;
			break;
		case 7: /* size 0, blocks past the end */
			assert_int_equal(fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, (off_t)(16 * KiB)),
					 0);
			x[k].resident = 0;
			x[k].unknown = 16 * KiB;
			x[k].unknown_why = PAGES_UNKNOWN_BEYOND_EOF;
			break;
		default:
			fill(fd, 0, 4 * KiB, 'g');
			x[k].resident = 4 * KiB;
		}
		close(fd);
		k++;
	}
	*n = k;
}

static void test_scan_batches(void **state)
{
	NEED_ROOT();
	struct expect x[200];
	struct tree t = {.x = x};
	struct walk_opts wo = {.flags = WALK_POST_ORDER};
	struct pages_ctx *pc = ctx();
	struct walk_stats st;
	char rp[PATH_MAX + 8];
	int root;

	make_tree(x, &t.n);
	root = openat(tfd, "t", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(root >= 0);
	snprintf(rp, sizeof(rp), "%s/t", T);
	assert_int_equal(scan_mount(pc, root, rp, &wo, NULL, NULL, on_tree, &t, &st), 0);
	for (size_t i = 0; i < t.n; i++) {
		if (x[i].seen != 1)
			fail_msg("%s seen %d times", x[i].name, x[i].seen);
	}
	assert_false(t.bad_order);
	assert_false(t.bad_dirfd);
	assert_int_equal(t.n_left, 3); /* t/a/deep, t/a, t/b: the root has no leaving call */
	/* Again, without post-order for the caller: the same figures (now all uptodate). */
	for (size_t i = 0; i < t.n; i++)
		x[i].seen = 0;
	t.n_left = 0;
	t.files = 0;
	wo.flags = 0;
	assert_int_equal(scan_mount(pc, root, rp, &wo, NULL, NULL, on_tree, &t, &st), 0);
	for (size_t i = 0; i < t.n; i++)
		assert_int_equal(x[i].seen, 1);
	assert_int_equal(t.n_left, 0);
	/* A walk cut short by its entry cap with files still queued in directories it had
	 * not left: each is handed over once, with a parent fd that is still its parent. */
	for (unsigned po = 0; po < 2; po++) {
		for (size_t i = 0; i < t.n; i++)
			x[i].seen = 0;
		t.files = 0;
		t.n_left = 0;
		wo = (struct walk_opts){.max_entries = 100, .flags = po ? WALK_POST_ORDER : 0};
		assert_int_equal(scan_mount(pc, root, rp, &wo, NULL, NULL, on_tree, &t, &st), 0);
		assert_true(st.incomplete);
		assert_true(t.files > 50 && t.files <= 100);
		assert_false(t.bad_dirfd);
		assert_false(t.bad_order);
		for (size_t i = 0; i < t.n; i++)
			assert_true(x[i].seen <= 1);
	}
	wo.flags = 0;
	wo.max_entries = 0;
	/* STOP from a file in a batch: no callback after it. */
	t.files = 0;
	t.stop_after = 7;
	assert_int_equal(scan_mount(pc, root, rp, &wo, NULL, NULL, on_tree, &t, &st), 0);
	assert_int_equal(t.files, 7);
	close(root);
	pages_ctx_free(pc);
}

/* A batch does not hold its files open for long: in a sparse tree (two small files, the
 * first and the last made, among empty ones) the walk goes on for many entries after a
 * small file is queued; each callback for an empty file looks whether a queued small
 * file is still open in this process and, if so, waits 2 ms. Such a file must be handed
 * over (its batch run, its fd closed) once its batch is 10 ms old, not at the end of the
 * walk (it was held 120 ms and more before: a close probing it meanwhile kept it). */
struct held {
	uint64_t ino[2];
	unsigned seen_held, most; /* the most waits seen for one file in a row */
	unsigned run[2];
};

static bool open_here(uint64_t ino)
{
	struct stat st;

	for (int fd = 3; fd < 1024; fd++)
		if (fstat(fd, &st) == 0 && st.st_ino == ino && S_ISREG(st.st_mode))
			return true;
	return false;
}

static int on_sparse(const struct scan_entry *e, void *userdata)
{
	struct held *h = userdata;

	if (e->w->leaving || !S_ISREG(e->w->stx->stx_mode) || e->w->stx->stx_blocks)
		return WALK_CONTINUE;
	for (size_t i = 0; i < 2; i++) {
		if (!open_here(h->ino[i])) {
			h->run[i] = 0;
			continue;
		}
		h->seen_held++;
		h->most = MAX(h->most, ++h->run[i]);
		usleep(2000);
	}
	return WALK_CONTINUE;
}

static void test_batch_hold(void **state)
{
	NEED_ROOT();
	struct pages_ctx *pc = ctx();
	struct walk_opts wo = {.flags = WALK_POST_ORDER};
	struct held h = {0};
	struct walk_stats st;
	char rp[PATH_MAX + 8], name[64];
	struct stat sb;
	int root, fd;

	assert_int_equal(mkdirat(tfd, "sparse", 0755), 0);
	for (int i = 0; i <= 61; i++) {
		snprintf(name, sizeof(name), "sparse/f%02d", i);
		fd = mkfile(name);
		if (i == 0 || i == 61) {
			fill(fd, 0, 4 * KiB, 's');
			assert_int_equal(fstat(fd, &sb), 0);
			h.ino[i == 61] = sb.st_ino;
		}
		close(fd);
	}
	root = openat(tfd, "sparse", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(root >= 0);
	snprintf(rp, sizeof(rp), "%s/sparse", T);
	assert_int_equal(scan_mount(pc, root, rp, &wo, NULL, NULL, on_sparse, &h, &st), 0);
	/* the walk held one of them open for a while (else this test shows nothing) */
	assert_true(h.seen_held >= 1);
	/* 10 ms at 2 ms a wait (and more), but never most of the 60 empty files */
	if (h.most > 20)
		fail_msg("a small file was held open over %u callbacks (%u waits of 2 ms)", h.most,
			 h.most);
	close(root);
	pages_ctx_free(pc);
}

/* A file truncated between its mapping into the batch and the batch's scan. */
static void test_batch_truncated(void **state)
{
	NEED_ROOT();
	struct pages_ctx *pc = ctx();
	int a = mkfile("batch_a"), b = mkfile("batch_b"), ra, rb, err;
	const struct page_scan *r;

	fill(a, 0, 64 * KiB, 'a');
	fill(b, 0, 64 * KiB, 'b');
	ra = openat(tfd, "batch_a", O_RDONLY | O_CLOEXEC);
	rb = openat(tfd, "batch_b", O_RDONLY | O_CLOEXEC);
	assert_int_equal(pages_batch_add(pc, ra, 64 * KiB, blocks_of(a)), 0);
	assert_int_equal(pages_batch_add(pc, rb, 64 * KiB, blocks_of(b)), 1);
	assert_int_equal(pages_batch_len(pc), 2);
	assert_int_equal(ftruncate(a, 0), 0);
	pages_batch_run(pc);
	r = pages_batch_result(pc, 0, &err);
	assert_non_null(r);
	assert_true(r->changed);
	assert_int_equal(r->resident_bytes, 0);
	assert_int_equal(r->unknown_bytes, 0);
	r = pages_batch_result(pc, 1, &err);
	assert_non_null(r);
	assert_false(r->changed);
	assert_ours(r, 64 * KiB);
	pages_batch_clear(pc);
	assert_int_equal(pages_batch_len(pc), 0);
	/* Not for a batch: too large, sparse, empty. */
	assert_false(pages_batchable(pc, MiB, MiB / 512));
	assert_false(pages_batchable(pc, 100000, 8));
	assert_false(pages_batchable(pc, 0, 8));
	assert_int_equal(pages_batch_add(pc, a, MiB, MiB / 512), -E2BIG);
	close(a);
	close(b);
	pages_ctx_free(pc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_resident),
		cmocka_unit_test(test_fallocated_whole),
		cmocka_unit_test(test_fallocated_mixed),
		cmocka_unit_test(test_sparse_islands),
		cmocka_unit_test(test_holes_never_faulted),
		cmocka_unit_test(test_beyond_eof),
		cmocka_unit_test(test_no_cachestat),
		cmocka_unit_test(test_no_userfaultfd),
		cmocka_unit_test(test_fault_guard),
		cmocka_unit_test(test_scan_batches),
		cmocka_unit_test(test_batch_truncated),
		cmocka_unit_test(test_batch_hold),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
