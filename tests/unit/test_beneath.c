/* openat_beneath / open_no_symlinks with openat2, and with openat2 answering ENOSYS (a
 * seccomp filter, as systemd 252's @system-service does): the same answers either way. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "beneath.h"
#include "util.h"

#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

static char T[] = "/tmp/tsw-beneath.XXXXXX";

static void deny_openat2(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_openat2, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {.len = ARRAY_SIZE(f), .filter = f};

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0)
		_exit(99);
}

/* The checks, in a child so that the seccomp filter stays there. Exit 0 when all hold. */
static int checks(bool without_openat2)
{
	pid_t pid = fork();
	int st;

	if (pid == 0) {
		char p[256];
		int d, fd;

		if (without_openat2) {
			deny_openat2();
			if (syscall(SYS_openat2, AT_FDCWD, "/", NULL, 0) != -1 || errno != ENOSYS)
				_exit(98);
		}
		d = open(T, O_RDONLY | O_DIRECTORY);
		if ((fd = openat_beneath(d, "a/b/f", O_RDONLY)) < 0) _exit(1);
		close(fd);
		if ((fd = openat_beneath(d, "./a//b/", O_RDONLY | O_DIRECTORY)) < 0) _exit(2);
		close(fd);
		if (openat_beneath(d, "link/f", O_RDONLY) != -ELOOP) _exit(3);
		if (openat_beneath(d, "a/flink", O_RDONLY) != -ELOOP) _exit(4);
		if (openat_beneath(d, "dlink", O_RDONLY | O_DIRECTORY) != -ELOOP) _exit(5);
		if (openat_beneath(d, "a/../a/b/f", O_RDONLY) != -EXDEV) _exit(6);
		if (openat_beneath(d, "nosuch", O_RDONLY) != -ENOENT) _exit(7);
		close(d);
		/* crossing a mount: from / into /dev (devtmpfs) and /proc */
		d = open("/", O_RDONLY | O_DIRECTORY);
		if (openat_beneath(d, "proc/self", O_RDONLY | O_DIRECTORY) != -EXDEV) _exit(8);
		close(d);
		snprintf(p, sizeof(p), "%s/dlink", T);
		if (open_no_symlinks(p, O_RDONLY | O_DIRECTORY) != -ELOOP) _exit(9);
		snprintf(p, sizeof(p), "%s/a/b", T);
		if ((fd = open_no_symlinks(p, O_RDONLY | O_DIRECTORY)) < 0) _exit(10);
		close(fd);
		if ((fd = open_no_symlinks("/proc/self", O_RDONLY | O_DIRECTORY)) >= 0) _exit(11);
		if ((fd = open_no_symlinks("/proc", O_RDONLY | O_DIRECTORY)) < 0) _exit(12);
		close(fd);
		/* openat_beneath_pin: the entry itself, a symlink as a symlink, never a mount's
		 * inside (the remover's look at an entry). */
		d = open(T, O_RDONLY | O_DIRECTORY);
		struct statx stx;
		if ((fd = openat_beneath_pin(d, "link")) < 0) _exit(13);
		if (statx(fd, "", AT_EMPTY_PATH, STATX_TYPE, &stx) < 0 || !S_ISLNK(stx.stx_mode))
			_exit(14);
		close(fd);
		if ((fd = openat_beneath_pin(d, "a/b/f")) < 0) _exit(15);
		if (statx(fd, "", AT_EMPTY_PATH, STATX_TYPE, &stx) < 0 || !S_ISREG(stx.stx_mode))
			_exit(16);
		close(fd);
		if (openat_beneath_pin(d, "link/f") != -ELOOP) _exit(17);
		close(d);
		d = open("/", O_RDONLY | O_DIRECTORY);
		if (openat_beneath_pin(d, "proc") != -EXDEV) _exit(18);
		close(d);
		_exit(0);
	}
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static void test_with_openat2(void **state)
{
	assert_int_equal(checks(false), 0);
}

static void test_without_openat2(void **state)
{
	assert_int_equal(checks(true), 0);
}

static int setup(void **state)
{
	char p[256];
	int fd;

	if (!mkdtemp(T))
		return -1;
	snprintf(p, sizeof(p), "%s/a", T);
	if (mkdir(p, 0755) < 0)
		return -1;
	snprintf(p, sizeof(p), "%s/a/b", T);
	if (mkdir(p, 0755) < 0)
		return -1;
	snprintf(p, sizeof(p), "%s/a/b/f", T);
	fd = open(p, O_WRONLY | O_CREAT, 0644);
	if (fd < 0)
		return -1;
	close(fd);
	snprintf(p, sizeof(p), "%s/link", T);
	if (symlink("a/b", p) < 0)
		return -1;
	snprintf(p, sizeof(p), "%s/dlink", T);
	if (symlink("a", p) < 0)
		return -1;
	snprintf(p, sizeof(p), "%s/a/flink", T);
	if (symlink("b/f", p) < 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", T);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_with_openat2),
		cmocka_unit_test(test_without_openat2),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
