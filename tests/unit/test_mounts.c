/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_mounts.c: lib/mounts.c: the tmpfs list from fixture mountinfo files (filter,
 * stacked mounts, escaped names) and from this system; mounts_open_root's refusals
 * (relative, symlinked, not tmpfs, not a mount point) and its one success, /dev/shm;
 * the module's quick way to a watched root (mounts_open_root_id, no mount table) against
 * libmount's table, on this system and on stacked, hidden and shadowed scratch mounts;
 * its type check by statmount against the mount table's, and that it reads no table.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "mounts.h"
#include "util.h"

#include <fcntl.h>
#include <ftw.h>
#include <libmount.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>

static char FIX[PATH_MAX];
static char T[PATH_MAX];  /* scratch dir on the normal disk */
static char SHM[PATH_MAX]; /* scratch dir inside /dev/shm */

_printf_(3, 4) static void pathf(char *out, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(out, len, fmt, ap);
	va_end(ap);
	assert_true(n >= 0 && (size_t)n < len);
}

static int setup(void **state)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	assert_true(n > 0);
	exe[n] = '\0';
	for (int i = 0; i < 3; i++) /* <top>/build/tests/test_mounts -> <top> */
		*strrchr(exe, '/') = '\0';
	pathf(FIX, sizeof(FIX), "%s/tests/fixtures", exe);
	pathf(T, sizeof(T), "/tmp/tsw-unit-mounts.XXXXXX");
	assert_non_null(mkdtemp(T));
	pathf(SHM, sizeof(SHM), "/dev/shm/tsw-unit-mounts.XXXXXX");
	if (!mkdtemp(SHM))
		SHM[0] = '\0';
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
	if (SHM[0])
		rmdir(SHM);
	return 0;
}

static void test_load_fixture(void **state)
{
	struct mount_list l = {0};
	const struct tmpfs_mount *m;
	char p[PATH_MAX];

	pathf(p, sizeof(p), "%s/mountinfo-tmpfs", FIX);
	assert_int_equal(mounts_load_tmpfs(p, &l), 0);
	/* tmpfs only: not devtmpfs, ramfs, fuse, ext4, proc. /dev/shm counted once. */
	assert_int_equal(l.n, 5);

	/* stacked: the later mount (id 30, 0:27) hides the earlier one (id 25, 0:23) */
	m = mounts_find_path(&l, "/dev/shm");
	assert_non_null(m);
	assert_int_equal(m->mnt_id, 30);
	assert_int_equal(major(m->dev), 0);
	assert_int_equal(minor(m->dev), 27);
	assert_non_null(m->options);
	assert_non_null(strstr(m->options, "size=2048k"));
	assert_null(strstr(m->options, "size=1024k"));
	assert_null(mounts_find_dev(&l, makedev(0, 23)));
	assert_ptr_equal(mounts_find_dev(&l, makedev(0, 27)), m);

	m = mounts_find_path(&l, "/run");
	assert_non_null(m);
	assert_int_equal(m->mnt_id, 28);
	assert_int_equal(m->dev, makedev(0, 40));
	assert_non_null(strstr(m->options, "mode=755"));

	m = mounts_find_dev(&l, makedev(0, 45));
	assert_non_null(m);
	assert_string_equal(m->path, "/run/user/1000");
	assert_int_equal(m->mnt_id, 31);
	assert_non_null(strstr(m->options, "uid=1000"));

	/* \040 in mountinfo is a space in the name */
	m = mounts_find_path(&l, "/mnt/my disk");
	assert_non_null(m);
	assert_int_equal(m->mnt_id, 32);
	assert_int_equal(m->dev, makedev(0, 46));
	assert_null(mounts_find_path(&l, "/mnt/my\\040disk"));

	m = mounts_find_path(&l, "/tmp");
	assert_non_null(m);
	assert_int_equal(m->mnt_id, 35);

	/* not tmpfs */
	assert_null(mounts_find_path(&l, "/dev"));
	assert_null(mounts_find_path(&l, "/"));
	assert_null(mounts_find_path(&l, "/mnt/fuse"));
	assert_null(mounts_find_path(&l, "/boot"));
	assert_null(mounts_find_path(&l, "/srv/ramfs"));
	assert_null(mounts_find_path(&l, "/proc"));
	assert_null(mounts_find_dev(&l, makedev(0, 6)));
	assert_null(mounts_find_dev(&l, makedev(254, 0)));
	assert_null(mounts_find_dev(&l, makedev(0, 49)));
	/* exact match, not a prefix */
	assert_null(mounts_find_path(&l, "/run/user"));
	assert_null(mounts_find_path(&l, "/dev/shm/x"));

	mount_list_done(&l);
	assert_int_equal(l.n, 0);
	assert_null(l.v);
}

static void test_load_stacked_order(void **state)
{
	struct mount_list l = {0};
	const struct tmpfs_mount *m;
	char p[PATH_MAX];
	FILE *f;

	/* Three mounts on one point, interleaved with others: the last one wins, and
	 * the list keeps one entry per point. */
	pathf(p, sizeof(p), "%s/mountinfo-stack", T);
	f = fopen(p, "we");
	assert_non_null(f);
	fputs("27 1 254:0 / / rw - ext4 /dev/vda rw\n"
	      "40 27 0:60 / /stack rw - tmpfs a rw,size=1k\n"
	      "41 27 0:61 / /other rw - tmpfs b rw\n"
	      "42 40 0:62 / /stack rw - tmpfs c rw,size=2k\n"
	      "43 42 0:63 / /stack rw - tmpfs d rw,size=3k\n"
	      "44 27 0:64 / /nottmpfs rw - ext4 /dev/x rw\n",
	      f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(mounts_load_tmpfs(p, &l), 0);
	assert_int_equal(l.n, 2);
	m = mounts_find_path(&l, "/stack");
	assert_non_null(m);
	assert_int_equal(m->mnt_id, 43);
	assert_int_equal(m->dev, makedev(0, 63));
	assert_non_null(strstr(m->options, "size=3k"));
	assert_null(mounts_find_dev(&l, makedev(0, 60)));
	assert_null(mounts_find_dev(&l, makedev(0, 62)));
	m = mounts_find_path(&l, "/other");
	assert_non_null(m);
	assert_int_equal(m->mnt_id, 41);
	mount_list_done(&l);
	unlink(p);

	/* no tmpfs at all: an empty list, not an error */
	f = fopen(p, "we");
	assert_non_null(f);
	fputs("27 1 254:0 / / rw - ext4 /dev/vda rw\n", f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(mounts_load_tmpfs(p, &l), 0);
	assert_int_equal(l.n, 0);
	assert_null(mounts_find_path(&l, "/"));
	mount_list_done(&l);
	unlink(p);

	/* mountinfo's other escapes: \011 tab, \012 newline, \134 backslash */
	f = fopen(p, "we");
	assert_non_null(f);
	fputs("27 1 254:0 / / rw - ext4 /dev/vda rw\n"
	      "50 27 0:70 / /mnt/t\\011ab\\012nl\\134bs rw - tmpfs tmpfs rw\n",
	      f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(mounts_load_tmpfs(p, &l), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.v[0].path, "/mnt/t\tab\nnl\\bs");
	assert_int_equal(l.v[0].mnt_id, 50);
	mount_list_done(&l);
	unlink(p);

	assert_true(mounts_load_tmpfs(p, &l) < 0); /* no such file */
}

/* A tmpfs hidden by a later non-tmpfs mount on the same point is not listed. */
static void test_load_overmounted_by_other_fs(void **state)
{
	struct mount_list l = {0};
	char p[PATH_MAX];

	pathf(p, sizeof(p), "%s/mountinfo-tmpfs-overmounted", FIX);
	assert_int_equal(mounts_load_tmpfs(p, &l), 0);
	assert_non_null(mounts_find_path(&l, "/visible"));
	assert_null(mounts_find_path(&l, "/hidden"));
	assert_null(mounts_find_dev(&l, makedev(0, 60)));
	assert_int_equal(l.n, 1);
	mount_list_done(&l);
}

static void test_load_system(void **state)
{
	struct mount_list l = {0};
	const struct tmpfs_mount *m;
	struct stat st;

	if (stat("/dev/shm", &st) < 0 || mounts_is_tmpfs_mountpoint("/dev/shm") != 1) {
		print_message("# /dev/shm is not a tmpfs mount point here: not checked\n");
		return;
	}
	assert_int_equal(mounts_load_tmpfs(NULL, &l), 0);
	assert_true(l.n >= 1);
	/* What stat sees at /dev/shm is the topmost mount there (this machine stacks two). */
	m = mounts_find_path(&l, "/dev/shm");
	assert_non_null(m);
	assert_int_equal(m->dev, st.st_dev);
	assert_ptr_equal(mounts_find_dev(&l, st.st_dev), m);
	{
		struct statx stx;
		assert_int_equal(statx(AT_FDCWD, "/dev/shm", 0, STATX_MNT_ID, &stx), 0);
		assert_int_equal((uint64_t)m->mnt_id, stx.stx_mnt_id);
	}
	for (size_t i = 0; i < l.n; i++)
		assert_true(l.v[i].path[0] == '/');
	mount_list_done(&l);
}

static void test_open_root_refusals(void **state)
{
	char p[PATH_MAX];
	int fd = -1, k;

	/* relative or empty */
	assert_int_equal(mounts_open_root("dev/shm", &fd), -EINVAL);
	assert_int_equal(mounts_open_root("", &fd), -EINVAL);
	assert_int_equal(mounts_open_root(NULL, &fd), -EINVAL);
	assert_int_equal(mounts_open_root("./dev/shm", &fd), -EINVAL);

	/* not tmpfs */
	k = mounts_open_root("/", &fd);
	assert_true(k == -EMEDIUMTYPE || k == -EPERM);
	assert_int_equal(mounts_open_root("/etc", &fd), -EMEDIUMTYPE);
	assert_int_equal(mounts_open_root(T, &fd), -EMEDIUMTYPE);
	assert_int_equal(mounts_open_root("/proc", &fd), -EMEDIUMTYPE);

	/* not there, not a directory */
	assert_int_equal(mounts_open_root("/nonexistent-tsw-unit", &fd), -ENOENT);
	pathf(p, sizeof(p), "%s/file", T);
	close(open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
	assert_int_equal(mounts_open_root(p, &fd), -ENOTDIR);

	/* a symlink to a tmpfs mount point, as the last component or in the middle */
	pathf(p, sizeof(p), "%s/shm-link", T);
	assert_int_equal(symlink("/dev/shm", p), 0);
	k = mounts_open_root(p, &fd);
	assert_true(k == -ELOOP || k == -ENOTDIR); /* strict -ELOOP: test_open_root_symlink_eloop */
	pathf(p, sizeof(p), "%s/root-link", T);
	assert_int_equal(symlink("/", p), 0);
	pathf(p, sizeof(p), "%s/root-link/dev/shm", T);
	assert_int_equal(mounts_open_root(p, &fd), -ELOOP);
	/* /proc/self is a symlink, /proc/self/root a magic link */
	assert_int_equal(mounts_open_root("/proc/self/root/dev/shm", &fd), -ELOOP);
	assert_int_equal(mounts_open_root("/proc/1/root/dev/shm", &fd), -ELOOP);

	/* inside a tmpfs but not its mount point */
	if (SHM[0])
		assert_int_equal(mounts_open_root(SHM, &fd), -EREMOTE);
	assert_int_equal(fd, -1);
}

/* A symlink as the last component is refused with -ELOOP, as mounts.h promises. */
static void test_open_root_symlink_eloop(void **state)
{
	char p[PATH_MAX];
	int fd = -1;

	pathf(p, sizeof(p), "%s/shm-link3", T);
	assert_int_equal(symlink("/dev/shm", p), 0);
	assert_int_equal(mounts_open_root(p, &fd), -ELOOP);
	unlink(p);
}

static void test_open_root_dev_shm(void **state)
{
	struct stat st, want;
	struct statfs sfs;
	int fd = -1;

	if (stat("/dev/shm", &want) < 0) {
		print_message("# no /dev/shm here: not checked\n");
		return;
	}
	assert_int_equal(mounts_open_root("/dev/shm", &fd), 0);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_dev, want.st_dev);
	assert_int_equal(st.st_ino, want.st_ino);
	assert_int_equal(fstatfs(fd, &sfs), 0);
	assert_int_equal(sfs.f_type, TMPFS_MAGIC);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);

	fd = -1;
	assert_int_equal(mounts_open_root("/dev/shm/", &fd), 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_ino, want.st_ino);
	close(fd);
}

static void test_is_tmpfs_mountpoint(void **state)
{
	char p[PATH_MAX];

	if (access("/dev/shm", F_OK) == 0)
		assert_int_equal(mounts_is_tmpfs_mountpoint("/dev/shm"), 1);
	assert_int_equal(mounts_is_tmpfs_mountpoint("/etc"), 0);
	assert_int_equal(mounts_is_tmpfs_mountpoint("/"), 0);
	assert_int_equal(mounts_is_tmpfs_mountpoint("/nonexistent-tsw-unit"), 0);
	assert_int_equal(mounts_is_tmpfs_mountpoint("/etc/passwd"), 0);
	if (SHM[0])
		assert_int_equal(mounts_is_tmpfs_mountpoint(SHM), 0);
	pathf(p, sizeof(p), "%s/shm-link2", T);
	assert_int_equal(symlink("/dev/shm", p), 0);
	assert_int_equal(mounts_is_tmpfs_mountpoint(p), 0);
	unlink(p);
	assert_true(mounts_is_tmpfs_mountpoint("dev/shm") != 1);
}

/* The two ways to tell a tmpfs mount from any other (devtmpfs above all, the same
 * TMPFS_MAGIC) agree on the mount that target reaches: statmount, where the kernel has it
 * (Linux 6.8), and the mount table. 1 if they disagree (said on stderr). */
static size_t n_statmount; /* answers statmount gave */
static int types_disagree(const char *target)
{
	struct statx stx;
	int fd = open(target, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC), a, b;

	if (fd < 0)
		return 0; /* a file bind mount, a symlink, not ours to enter */
	if (statx(fd, "", AT_EMPTY_PATH, STATX_MNT_ID, &stx) < 0) {
		close(fd);
		return 0;
	}
	a = mounts_fd_is_tmpfs(fd, stx.stx_mnt_id);
	b = mounts_id_is_tmpfs(stx.stx_mnt_id);
	close(fd);
	if (a >= 0)
		n_statmount++;
	if (a < 0 && a != -ENOSYS) {
		fprintf(stderr, "%s: statmount: %s\n", target, strerror(-a));
		return 1;
	}
	if (a >= 0 && a != b) {
		fprintf(stderr, "%s: statmount says %s, the mount table %d\n", target,
			a ? "tmpfs" : "not tmpfs", b);
		return 1;
	}
	return 0;
}

/*
 * The quick way (mounts_open_root_id: open, fstatfs, statx) and the general way (the
 * libmount table, mounts_load_tmpfs) must agree for every mount point of mountinfo: what
 * the quick way accepts is in the table as the topmost tmpfs there, with the same mount
 * id and device; what it refuses that the table lists is refused for a reason the table
 * cannot see (the path is "/", crosses a symlink, is not ours to traverse, or no longer
 * reaches that mount: a mount over a parent directory shadows it). Returns the number of
 * disagreements (said on stderr); *n_agree counts the mount points accepted by both.
 */
static int compare_with_libmount(size_t *n_agree)
{
	struct libmnt_table *tb = mnt_new_table();
	struct libmnt_iter *it = mnt_new_iter(MNT_ITER_FORWARD);
	struct mount_list l = {0};
	struct libmnt_fs *fs;
	int bad = 0;

	*n_agree = 0;
	if (!tb || !it || mnt_table_parse_file(tb, "/proc/self/mountinfo") < 0 ||
	    mounts_load_tmpfs(NULL, &l) < 0) {
		fprintf(stderr, "cannot read the mount table\n");
		bad = 1;
		goto out;
	}
	while (mnt_table_next_fs(tb, it, &fs) == 0) {
		const char *target = mnt_fs_get_target(fs);
		const struct tmpfs_mount *m = target ? mounts_find_path(&l, target) : NULL;
		uint64_t id = 0;
		dev_t dev = 0;
		struct stat st;
		int fd = -1, r;

		if (!target)
			continue;
		bad += types_disagree(target);
		r = mounts_open_root_id(target, &fd, &id, &dev);
		if (fd >= 0)
			close(fd);
		if (r == 0) {
			if (!m || (uint64_t)m->mnt_id != id || m->dev != dev) {
				fprintf(stderr, "%s: quick: tmpfs mount %" PRIu64 " (%u:%u); libmount: %s\n",
					target, id, major(dev), minor(dev),
					m ? "another mount" : "not the topmost tmpfs there");
				bad++;
			} else {
				(*n_agree)++;
			}
		} else if (m && !(r == -EPERM && streq(target, "/")) && r != -ELOOP && r != -EACCES &&
			   stat(target, &st) == 0 && st.st_dev == m->dev) {
			fprintf(stderr, "%s: quick: %s; libmount: tmpfs mount %d, and the path reaches it\n",
				target, strerror(-r), m->mnt_id);
			bad++;
		}
	}
out:
	mount_list_done(&l);
	mnt_free_iter(it);
	mnt_unref_table(tb);
	return bad;
}

static void test_open_root_id_matches_libmount(void **state)
{
	struct utsname u;
	unsigned maj = 0, min = 0;
	size_t agree;

	n_statmount = 0;
	assert_int_equal(compare_with_libmount(&agree), 0);
	if (mounts_is_tmpfs_mountpoint("/dev/shm") == 1)
		assert_true(agree >= 1);
	/* From Linux 6.8 statmount answered for every mount point, /dev (devtmpfs) too. */
	if (uname(&u) == 0 && sscanf(u.release, "%u.%u", &maj, &min) == 2 &&
	    (maj > 6 || (maj == 6 && min >= 8)))
		assert_true(n_statmount >= 3);
}

/* The bytes this process has read(2) so far (/proc/self/io rchar). */
static uint64_t rchar(void)
{
	char buf[512];
	int fd = open("/proc/self/io", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
	const char *p;

	if (fd >= 0)
		close(fd);
	assert_true(n > 0);
	buf[n] = '\0';
	p = strstr(buf, "rchar: ");
	assert_non_null(p);
	return strtoull(p + 7, NULL, 10);
}

/* Where the kernel has statmount (Linux 6.8), opening a watched root reads no mount
 * table: the module does it for each watched mount at every login. */
static void test_open_root_id_reads_no_table(void **state)
{
	uint64_t before, after, id;
	struct statx stx;
	dev_t dev;
	int fd = -1, r;

	if (mounts_is_tmpfs_mountpoint("/dev/shm") != 1) {
		skip();
		return;
	}
	fd = open("/dev/shm", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(statx(fd, "", AT_EMPTY_PATH, STATX_MNT_ID, &stx), 0);
	r = mounts_fd_is_tmpfs(fd, stx.stx_mnt_id);
	close(fd);
	if (r == -ENOSYS) {
		skip(); /* before 6.8: the table it is */
		return;
	}
	assert_int_equal(r, 1);
	/* rchar counts a read when it returns: the first rchar()'s own read is in "after". */
	before = rchar();
	after = rchar();
	uint64_t own = after - before;
	before = rchar();
	assert_int_equal(mounts_open_root_id("/dev/shm", &fd, &id, &dev), 0);
	close(fd);
	after = rchar();
	assert_int_equal(after - before, own);
	assert_int_equal(id, stx.stx_mnt_id);
}

static bool mkdirs(const char *base, const char *const *names, size_t n)
{
	char p[PATH_MAX];

	for (size_t i = 0; i < n; i++) {
		snprintf(p, sizeof(p), "%s/%s", base, names[i]);
		if (mkdir(p, 0755) < 0 && errno != EEXIST)
			return false;
	}
	return true;
}

static bool mount_at(const char *base, const char *src, const char *target, const char *type,
		     unsigned long flags)
{
	char t[PATH_MAX], s[PATH_MAX];

	snprintf(t, sizeof(t), "%s/%s", base, target);
	if (src && src[0] != '/')
		snprintf(s, sizeof(s), "%s/%s", base, src);
	else
		snprintf(s, sizeof(s), "%s", src ? src : "none");
	if (mount(s, t, type, flags, type ? "size=1m" : NULL) < 0) {
		fprintf(stderr, "mount %s on %s: %m\n", s, t);
		return false;
	}
	return true;
}

/* In a private mount namespace of a child (a user namespace too when not root): a tmpfs
 * mounted twice on one point, one hidden under a bind mount of a disk directory, one
 * inside another, one shadowed by a tmpfs over its parent directory, and a bind mount of
 * a tmpfs subdirectory. Exit 0: the two ways agree (and on at least the four visible
 * ones); 1: they disagree; 2: too few agreed; 77: no namespace here. */
static int namespace_child(const char *base)
{
	static const char *const dirs[] = {"stack", "hidden", "plain", "outer", "par", "par/x",
					   "sub"};
	size_t agree;
	int bad;

	if (unshare(CLONE_NEWNS) < 0) {
		uid_t uid = getuid();
		gid_t gid = getgid();
		char map[64];
		int fd;

		if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0)
			return 77;
		snprintf(map, sizeof(map), "0 %u 1", (unsigned)uid);
		if ((fd = open("/proc/self/setgroups", O_WRONLY | O_CLOEXEC)) >= 0)
			(void)!write(fd, "deny", 4), close(fd);
		if ((fd = open("/proc/self/uid_map", O_WRONLY | O_CLOEXEC)) < 0 ||
		    write(fd, map, strlen(map)) < 0)
			return 77;
		close(fd);
		snprintf(map, sizeof(map), "0 %u 1", (unsigned)gid);
		if ((fd = open("/proc/self/gid_map", O_WRONLY | O_CLOEXEC)) < 0 ||
		    write(fd, map, strlen(map)) < 0)
			return 77;
		close(fd);
	}
	if (mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return 77;
	if (!mkdirs(base, dirs, ARRAY_SIZE(dirs)))
		return 1;
	if (!mount_at(base, NULL, "stack", "tmpfs", 0) || !mount_at(base, NULL, "stack", "tmpfs", 0) ||
	    !mount_at(base, NULL, "hidden", "tmpfs", 0) ||
	    !mount_at(base, "plain", "hidden", NULL, MS_BIND) ||
	    !mount_at(base, NULL, "outer", "tmpfs", 0))
		return 1;
	{
		static const char *const inner[] = {"outer/inner", "outer/dir"};
		if (!mkdirs(base, inner, ARRAY_SIZE(inner)))
			return 1;
	}
	if (!mount_at(base, NULL, "outer/inner", "tmpfs", 0) ||
	    !mount_at(base, "outer/dir", "sub", NULL, MS_BIND) ||
	    !mount_at(base, NULL, "par/x", "tmpfs", 0) || !mount_at(base, NULL, "par", "tmpfs", 0))
		return 1;
	bad = compare_with_libmount(&agree);
	if (bad)
		return 1;
	/* stack (its top), outer, outer/inner, sub, par: and /dev/shm if it is one */
	return agree >= 5 ? 0 : 2;
}

static void test_open_root_id_matches_libmount_scratch(void **state)
{
	char base[PATH_MAX];
	pid_t pid;
	int st;

	pathf(base, sizeof(base), "%s/ns", T);
	assert_int_equal(mkdir(base, 0755), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(namespace_child(base));
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	if (WEXITSTATUS(st) == 77) {
		print_message("# no mount namespace for this user here: not checked\n");
		return;
	}
	assert_int_equal(WEXITSTATUS(st), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load_fixture),
		cmocka_unit_test(test_load_stacked_order),
		cmocka_unit_test(test_load_overmounted_by_other_fs),
		cmocka_unit_test(test_load_system),
		cmocka_unit_test(test_open_root_refusals),
		cmocka_unit_test(test_open_root_symlink_eloop),
		cmocka_unit_test(test_open_root_dev_shm),
		cmocka_unit_test(test_is_tmpfs_mountpoint),
		cmocka_unit_test(test_open_root_id_matches_libmount),
		cmocka_unit_test(test_open_root_id_reads_no_table),
		cmocka_unit_test(test_open_root_id_matches_libmount_scratch),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
