/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The small-file readers: read_oneshot_file_at (a stack buffer first, the heap when the
 * content does not fit it) and read_regular_fd (sized by fstat, no read for the
 * EOF) give back exactly the bytes of files around their buffer sizes, refuse what is
 * larger than max, a directory, a FIFO (without blocking) and a symlink; and a kernel
 * file (/proc/self/stat) reads whole in one go. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "fileio.h"
#include "util.h"

#include <fcntl.h>
#include <sys/stat.h>

static char dir[256];

static int setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/tsw-fileio.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void put(const char *name, size_t n)
{
	char path[512];
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *b = malloc(n + 1);

	assert_non_null(b);
	for (size_t i = 0; i < n; i++)
		b[i] = (char)('a' + i % 26);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write_all(fd, b, n), 0);
}

/* read_regular_fd on dirfd/path opened as the policy loader does. */
static ssize_t regular(int dirfd, const char *path, size_t max, char **buf)
{
	_cleanup_close_ int fd =
		openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
	struct stat st;

	if (fd < 0)
		return negative_errno();
	if (fstat(fd, &st) < 0)
		return negative_errno();
	return read_regular_fd(fd, &st, max, buf);
}

static void check_same(const char *buf, ssize_t got, size_t n)
{
	assert_int_equal(got, (ssize_t)n);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(buf[i], (char)('a' + i % 26));
	assert_int_equal(buf[n], '\0');
}

static void test_sizes(void **state)
{
	static const size_t sizes[] = {0, 1, 1022, 1023, 1024, 1025, 4095, 4096, 5000, 20000};
	_cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	assert_true(dfd >= 0);
	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
		char *buf = NULL;
		ssize_t n;

		put("f", sizes[i]);
		n = read_oneshot_file_at(dfd, "f", 65536, &buf);
		check_same(buf, n, sizes[i]);
		free(buf);
		buf = NULL;
		n = regular(dfd, "f", 65536, &buf);
		check_same(buf, n, sizes[i]);
		free(buf);
		buf = NULL;
		n = read_small_file_at(dfd, "f", 65536, &buf);
		check_same(buf, n, sizes[i]);
		free(buf);
		/* max is the buffer: max - 1 bytes of content at most for the oneshot
		 * reader, max bytes for the regular-file one */
		buf = NULL;
		if (sizes[i] >= 2) {
			assert_int_equal(read_oneshot_file_at(dfd, "f", sizes[i], &buf), -EFBIG);
			assert_int_equal(regular(dfd, "f", sizes[i] - 1, &buf),
					 -EFBIG);
			n = read_oneshot_file_at(dfd, "f", sizes[i] + 1, &buf);
			check_same(buf, n, sizes[i]);
			free(buf);
			buf = NULL;
		}
	}
}

static void test_refusals(void **state)
{
	char path[512], *buf = NULL;
	_cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	assert_true(dfd >= 0);
	put("target", 10);
	snprintf(path, sizeof(path), "%s/link", dir);
	assert_int_equal(symlink("target", path), 0);
	assert_int_equal(read_oneshot_file_at(dfd, "link", 4096, &buf), -ELOOP);
	assert_int_equal(regular(dfd, "link", 4096, &buf), -ELOOP);
	snprintf(path, sizeof(path), "%s/fifo", dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(regular(dfd, "fifo", 4096, &buf), -EINVAL);
	assert_int_equal(read_oneshot_file_at(dfd, "fifo", 4096, &buf), 0); /* no writer: EOF */
	free(buf);
	buf = NULL;
	assert_int_equal(regular(AT_FDCWD, dir, 4096, &buf), -EINVAL);
	assert_int_equal(read_oneshot_file_at(AT_FDCWD, dir, 4096, &buf), -EISDIR);
	assert_int_equal(read_oneshot_file_at(dfd, "missing", 4096, &buf), -ENOENT);
}

static void test_proc(void **state)
{
	_cleanup_free_ char *buf = NULL;
	ssize_t n = read_oneshot_file_at(AT_FDCWD, "/proc/self/stat", 4096, &buf);

	assert_true(n > 20);
	assert_int_equal((ssize_t)strlen(buf), n);
	assert_int_equal(buf[n - 1], '\n');
	assert_int_equal(strtol(buf, NULL, 10), getpid());
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_proc),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
