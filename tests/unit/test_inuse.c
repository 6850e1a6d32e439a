/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests: the /proc/PID/maps and /proc/locks line parsers, and a live snapshot
 * that sees a file open, mapped, flocked or leased by a child process (no root needed),
 * misses an unused one, and does not break a lease. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "inuse.h"
#include "util.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

static void test_parse_maps(void **state)
{
	dev_t dev;
	ino_t ino;

	assert_int_equal(inuse_parse_maps_line("7f0000000000-7f0000001000 r--s 00000000 00:2a "
					       "12345                      /dev/shm/x\n",
					       &dev, &ino), 0);
	assert_int_equal(major(dev), 0);
	assert_int_equal(minor(dev), 0x2a);
	assert_int_equal(ino, 12345);
	assert_int_equal(inuse_parse_maps_line("7f00-7f01 rw-s 00000000 00:01 77 /memfd:x (deleted)",
					       &dev, &ino), 0);
	assert_int_equal(minor(dev), 1);
	assert_int_equal(ino, 77);
	/* major above 255 (hex, 3 digits) */
	assert_int_equal(inuse_parse_maps_line("1000-2000 r-xp 00001000 103:02 9 /usr/bin/x",
					       &dev, &ino), 0);
	assert_int_equal(major(dev), 0x103);
	assert_int_equal(minor(dev), 2);
	/* path containing spaces and a newline-ish name does not matter: fields come first */
	assert_int_equal(inuse_parse_maps_line("1000-2000 r--s 0 00:2a 5 /tmp/a b c", &dev, &ino),
			 0);
	assert_int_equal(ino, 5);
	assert_int_equal(inuse_parse_maps_line("7ffd-7ffe rw-p 00000000 00:00 0   [stack]", &dev,
					       &ino), -ENOENT);
	assert_int_equal(inuse_parse_maps_line("garbage", &dev, &ino), -EINVAL);
	assert_int_equal(inuse_parse_maps_line("1-2 r--p 0 zz:2a 5", &dev, &ino), -EINVAL);
	assert_int_equal(inuse_parse_maps_line("", &dev, &ino), -EINVAL);
}

static void test_parse_locks(void **state)
{
	enum inuse_reason r;
	dev_t dev;
	ino_t ino;
	pid_t pid;

	assert_int_equal(inuse_parse_locks_line("1: POSIX  ADVISORY  WRITE 19254 00:27:5 0 EOF",
						&dev, &ino, &pid, &r), 0);
	assert_int_equal(r, INUSE_LOCKED);
	assert_int_equal(pid, 19254);
	assert_int_equal(minor(dev), 0x27);
	assert_int_equal(ino, 5);
	assert_int_equal(inuse_parse_locks_line("2: FLOCK  ADVISORY  WRITE 7 fd:01:123 0 EOF\n",
						&dev, &ino, &pid, &r), 0);
	assert_int_equal(major(dev), 0xfd);
	assert_int_equal(ino, 123);
	assert_int_equal(inuse_parse_locks_line("3: LEASE  ACTIVE    WRITE 9 00:27:8 0 EOF", &dev,
						&ino, &pid, &r), 0);
	assert_int_equal(r, INUSE_LEASED);
	assert_int_equal(inuse_parse_locks_line("4: DELEG  ACTIVE    READ 9 00:27:8 0 EOF", &dev,
						&ino, &pid, &r), 0);
	assert_int_equal(r, INUSE_LEASED);
	assert_int_equal(inuse_parse_locks_line("5: OFDLCK ADVISORY  WRITE -1 00:27:6 0 EOF",
						&dev, &ino, &pid, &r), 0);
	assert_int_equal(pid, -1);
	assert_int_equal(r, INUSE_LOCKED);
	assert_int_equal(inuse_parse_locks_line("6: -> FLOCK  ADVISORY  WRITE 11 00:27:4 0 EOF",
						&dev, &ino, &pid, &r), 0);
	assert_int_equal(pid, 11);
	assert_int_equal(ino, 4);
	assert_int_equal(inuse_parse_locks_line("7: POSIX  ADVISORY  WRITE 3 <none>:0 0 EOF", &dev,
						&ino, &pid, &r), -ENOENT);
	assert_int_equal(inuse_parse_locks_line("8: POSIX", &dev, &ino, &pid, &r), -EINVAL);
	assert_int_equal(inuse_parse_locks_line("", &dev, &ino, &pid, &r), -EINVAL);
}

static char dir[64];

static int setup(void **state)
{
	strcpy(dir, "/tmp/tsw-test-inuse.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

/* Holders still running: a failed assertion leaves a test early, teardown ends them. */
static pid_t kids[8];
static size_t n_kids;

static int teardown(void **state)
{
	char cmd[128];

	for (size_t i = 0; i < n_kids; i++) {
		kill(kids[i], SIGKILL);
		waitpid(kids[i], NULL, 0);
	}
	n_kids = 0;

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static volatile sig_atomic_t child_got_io;
static void on_io(int sig)
{
	child_got_io = 1;
}

/* A child that puts `path` in use per mode, then reports on the pipe and waits for
 * SIGTERM; exits 3 if it ever got SIGIO (lease broken). */
static pid_t holder(const char *path, const char *mode)
{
	int p[2];
	pid_t pid;
	char c;

	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = open(path, O_RDONLY | O_CLOEXEC);

		prctl(PR_SET_PDEATHSIG, SIGKILL); /* and if the test itself is killed */

		signal(SIGIO, on_io);
		if (fd < 0)
			_exit(1);
		if (streq(mode, "mmap")) {
			if (mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0) == MAP_FAILED)
				_exit(1);
			close(fd);
		} else if (streq(mode, "flock")) {
			if (flock(fd, LOCK_SH) < 0)
				_exit(1);
		} else if (streq(mode, "lease")) {
			if (fcntl(fd, F_SETLEASE, F_RDLCK) < 0)
				_exit(1);
		}
		(void)!write(p[1], "r", 1);
		pause();
		_exit(child_got_io ? 3 : 0);
	}
	if (n_kids < ARRAY_SIZE(kids))
		kids[n_kids++] = pid;
	close(p[1]);
	assert_int_equal(read(p[0], &c, 1), 1);
	close(p[0]);
	return pid;
}

static void stop(pid_t pid, int want_status)
{
	int st;

	for (size_t i = 0; i < n_kids; i++)
		if (kids[i] == pid)
			kids[i] = kids[--n_kids];
	kill(pid, SIGTERM);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	/* SIGTERM kills it: a broken lease would have made pause() return with exit 3 */
	assert_true(WIFSIGNALED(st) || WEXITSTATUS(st) == want_status);
	assert_false(WIFEXITED(st) && WEXITSTATUS(st) == 3);
}

static void test_snapshot_live(void **state)
{
	static const char *const modes[] = { "open", "mmap", "flock", "lease" };
	static const char *const want[] = { "open", "mapped", "locked", "leased" };
	char paths[5][128];
	struct stat st[5];
	pid_t pids[4];
	struct inuse *u;
	dev_t dev;
	int i;

	for (i = 0; i < 5; i++) {
		snprintf(paths[i], sizeof(paths[i]), "%s/f%d", dir, i);
		int fd = open(paths[i], O_CREAT | O_RDWR | O_CLOEXEC, 0600);
		assert_true(fd >= 0);
		assert_int_equal(ftruncate(fd, 4096), 0);
		close(fd);
		assert_int_equal(stat(paths[i], &st[i]), 0);
	}
	for (i = 0; i < 4; i++)
		pids[i] = holder(paths[i], modes[i]);
	dev = st[0].st_dev;
	assert_int_equal(inuse_snapshot(&dev, 1, &u), 0);
	for (i = 0; i < 4; i++) {
		const char *reason = NULL;
		pid_t pid = 0;

		assert_true(inuse_lookup(u, dev, st[i].st_ino, &reason, &pid));
		assert_string_equal(reason, want[i]);
		assert_int_equal(pid, pids[i]);
	}
	assert_false(inuse_lookup(u, dev, st[4].st_ino, NULL, NULL));
	assert_true(inuse_get_stats(u)->procs > 0);
	inuse_free(u);
	for (i = 0; i < 4; i++)
		stop(pids[i], 0);
}

static void test_snapshot_other_dev_filtered(void **state)
{
	char path[128];
	struct stat st;
	struct inuse *u;
	dev_t other = makedev(0, 0xfffff);
	pid_t pid;

	snprintf(path, sizeof(path), "%s/g", dir);
	close(open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0600));
	assert_int_equal(stat(path, &st), 0);
	pid = holder(path, "open");
	assert_int_equal(inuse_snapshot(&other, 1, &u), 0);
	assert_false(inuse_lookup(u, st.st_dev, st.st_ino, NULL, NULL));
	assert_int_equal(inuse_get_stats(u)->entries, 0);
	inuse_free(u);
	/* n == 0: every device */
	assert_int_equal(inuse_snapshot(NULL, 0, &u), 0);
	assert_true(inuse_lookup(u, st.st_dev, st.st_ino, NULL, NULL));
	inuse_free(u);
	stop(pid, 0);
}

static void test_own_process_skipped(void **state)
{
	char path[128];
	struct stat st;
	struct inuse *u;
	int fd;

	snprintf(path, sizeof(path), "%s/self", dir);
	fd = open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(inuse_snapshot(&st.st_dev, 1, &u), 0);
	assert_false(inuse_lookup(u, st.st_dev, st.st_ino, NULL, NULL));
	inuse_free(u);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_maps),
		cmocka_unit_test(test_parse_locks),
		cmocka_unit_test_setup_teardown(test_snapshot_live, setup, teardown),
		cmocka_unit_test_setup_teardown(test_snapshot_other_dev_filtered, setup, teardown),
		cmocka_unit_test_setup_teardown(test_own_process_skipped, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
