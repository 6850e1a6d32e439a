/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The close queue's parts (closeq.h): entries round trip (and refuse what does not fit),
 * the wake FIFOs (a wake reaches every read end opened before it, once, and none opened
 * after it; a close's own FIFO is woken alone, and once; a non-FIFO in its place is
 * refused), and
 * the sweep lock recognised by identity. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "closeq.h"
#include "record.h"
#include "util.h"

#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[256], statedir[300];

static int setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/tsw-closeq.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(statedir, sizeof(statedir), "%s/state", dir);
	return mkdir(statedir, 0700);
}

static int teardown(void **state)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Does fd report something within ms? */
static bool woken(int fd, int ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	return poll(&p, 1, ms) == 1 && (p.revents & (POLLHUP | POLLIN));
}

static void test_entries(void **state)
{
	_cleanup_close_ int qfd = closeq_open_dir(statedir);
	char key[CLOSEQ_ENTRY_MAX], got[CLOSEQ_ENTRY_MAX], id[RECORD_ID_MAX], *big;
	uint64_t started = 0;

	assert_true(qfd >= 0);
	assert_int_equal(record_make_id(4242, 1796000000000000000ULL, id, sizeof(id)), 0);
	closeq_key("ab12", NULL, key, sizeof(key));
	assert_string_equal(key, "ab12 /etc/security/tmpfs-sweep.conf");
	closeq_key(NULL, "/x y/p.conf", key, sizeof(key));
	assert_string_equal(key, "- /x y/p.conf");
	assert_false(closeq_queued(qfd, id));
	assert_int_equal(closeq_add(qfd, id, 123456789, key), 0);
	assert_true(closeq_queued(qfd, id));
	assert_int_equal(closeq_read(qfd, id, &started, got, sizeof(got)), 0);
	assert_int_equal(started, 123456789);
	assert_string_equal(got, key);
	/* not a record id; a key too long for an entry */
	assert_int_equal(closeq_add(qfd, "../x", 1, key), -EINVAL);
	big = malloc(CLOSEQ_ENTRY_MAX + 1);
	assert_non_null(big);
	memset(big, 'k', CLOSEQ_ENTRY_MAX);
	big[CLOSEQ_ENTRY_MAX] = '\0';
	assert_int_equal(closeq_add(qfd, id, 1, big), -E2BIG);
	free(big);
	/* a damaged entry */
	assert_int_equal(unlinkat(qfd, id, 0), 0);
	{
		_cleanup_close_ int fd = openat(qfd, id, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
		assert_true(fd >= 0);
		assert_int_equal(write(fd, "12x key\n", 8), 8);
	}
	assert_int_equal(closeq_read(qfd, id, &started, got, sizeof(got)), -EBADMSG);
	assert_int_equal(unlinkat(qfd, id, 0), 0);
	assert_false(closeq_queued(qfd, id));
}

static void test_wake(void **state)
{
	_cleanup_close_ int qfd = closeq_open_dir(statedir), a = -1, b = -1, c = -1, own = -1;
	char id[RECORD_ID_MAX], other[RECORD_ID_MAX], own_path[600];
	struct stat st;

	assert_true(qfd >= 0);
	/* a wake with nobody waiting is nothing, and is not kept for a later waiter */
	closeq_wake(qfd);
	a = closeq_watch(qfd);
	assert_true(a >= 0);
	assert_false(woken(a, 0));
	b = closeq_watch(qfd);
	assert_true(b >= 0);
	closeq_wake(qfd);
	assert_true(woken(a, 100));
	assert_true(woken(b, 100));
	/* a read end opened after the wake waits for the next one */
	c = closeq_watch(qfd);
	assert_false(woken(c, 50));
	closeq_wake(qfd);
	assert_true(woken(c, 100));

	/* a close's own FIFO: woken by its own id only */
	assert_int_equal(record_make_id(4242, 1796000000000000001ULL, id, sizeof(id)), 0);
	assert_int_equal(record_make_id(4243, 1796000000000000002ULL, other, sizeof(other)), 0);
	own = closeq_watch_own(qfd, id);
	assert_true(own >= 0);
	snprintf(own_path, sizeof(own_path), "%s/queue/.%s", statedir, id);
	assert_int_equal(lstat(own_path, &st), 0);
	assert_true(S_ISFIFO(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	closeq_wake_own(qfd, other);
	closeq_wake(qfd);
	assert_false(woken(own, 50));
	closeq_wake_own(qfd, id);
	assert_true(woken(own, 100));
	closeq_unwatch_own(qfd, id);
	assert_int_equal(lstat(own_path, &st), -1);
	assert_int_equal(closeq_watch_own(qfd, "../../etc"), -EINVAL);

	/* a regular file where the FIFO goes is refused, and a wake does not write to it */
	assert_int_equal(unlinkat(qfd, ".wake", 0), 0);
	{
		_cleanup_close_ int fd = openat(qfd, ".wake", O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
		assert_true(fd >= 0);
	}
	assert_int_equal(closeq_watch(qfd), -EPERM);
	closeq_wake(qfd);
	assert_int_equal(fstatat(qfd, ".wake", &st, 0), 0);
	assert_int_equal(st.st_size, 0);
	assert_int_equal(unlinkat(qfd, ".wake", 0), 0);
	/* a symlink is not followed */
	assert_int_equal(symlinkat("/dev/null", qfd, ".wake"), 0);
	assert_true(closeq_watch(qfd) < 0);
	assert_int_equal(unlinkat(qfd, ".wake", 0), 0);
}

/* The state letter of /proc/PID/stat ('S': asleep), or 0. */
static char proc_state(pid_t pid)
{
	char path[64], buf[512], *p;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	p = fgets(buf, sizeof(buf), f) ? strrchr(buf, ')') : NULL;
	fclose(f);
	return p && p[1] == ' ' ? p[2] : 0;
}

/* A close's own wake wakes it once: by the byte written, not by a writer's open or close.
 * A child asleep in poll counts its voluntary context switches while a writer opens its
 * FIFO, waits, wakes it, and closes: one, the sleep it was woken from. A read end alone is
 * woken by the writer's open (a second sleep), and not at all by the wake while that writer
 * keeps it open. */
static void test_wake_once(void **state)
{
	_cleanup_close_ int qfd = closeq_open_dir(statedir), own = -1, w = -1;
	char id[RECORD_ID_MAX], path[600];
	int ready[2], result[2];
	long switches = -1;
	pid_t pid;

	assert_true(qfd >= 0);
	assert_int_equal(record_make_id(4244, 1796000000000000003ULL, id, sizeof(id)), 0);
	snprintf(path, sizeof(path), "%s/queue/.%s", statedir, id);
	own = closeq_watch_own(qfd, id);
	assert_true(own >= 0);
	/* a writer that only opens and closes (a wake of the shared kind) wakes nobody */
	w = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	assert_true(w >= 0);
	w = safe_close(w);
	assert_false(woken(own, 50));

	assert_int_equal(pipe2(ready, O_CLOEXEC), 0);
	assert_int_equal(pipe2(result, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct pollfd p = {.fd = own, .events = POLLIN};
		struct rusage a, b;
		long d;

		getrusage(RUSAGE_SELF, &a);
		if (write(ready[1], "r", 1) != 1)
			_exit(2);
		if (poll(&p, 1, 5000) != 1)
			_exit(3);
		getrusage(RUSAGE_SELF, &b);
		d = b.ru_nvcsw - a.ru_nvcsw;
		_exit(write(result[1], &d, sizeof(d)) == sizeof(d) ? 0 : 4);
	}
	{
		char c;
		int status;

		assert_int_equal(read(ready[0], &c, 1), 1);
		for (int i = 0; i < 200 && proc_state(pid) != 'S'; i++)
			usleep(5000);
		usleep(20000);
		assert_int_equal(proc_state(pid), 'S');
		w = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
		assert_true(w >= 0);
		usleep(50000); /* woken by the open, it would sleep again meanwhile */
		closeq_wake_own(qfd, id);
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
		assert_int_equal(read(result[0], &switches, sizeof(switches)), sizeof(switches));
	}
	assert_int_equal(switches, 1);
	/* woken for good: the byte stays until the waiter closes its FIFO */
	assert_true(woken(own, 0));
	closeq_unwatch_own(qfd, id);

	/* a waiter that died (its FIFO open nowhere): the wake removes the FIFO; a live
	 * waiter's stays for it to remove */
	own = safe_close(own);
	own = closeq_watch_own(qfd, id);
	assert_true(own >= 0);
	closeq_wake_own(qfd, id);
	assert_int_equal(access(path, F_OK), 0);
	closeq_unwatch_own(qfd, id);
	own = safe_close(own);
	own = closeq_watch_own(qfd, id);
	assert_true(own >= 0);
	own = safe_close(own);
	closeq_wake_own(qfd, id);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(errno, ENOENT);
	close(ready[0]);
	close(ready[1]);
	close(result[0]);
	close(result[1]);
}

static void test_lock(void **state)
{
	_cleanup_close_ int a = closeq_open_lock(statedir), b = closeq_open_lock(statedir);
	_cleanup_close_ int other = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	assert_true(a >= 0 && b >= 0);
	assert_true(closeq_is_lock(statedir, a));
	assert_false(closeq_is_lock(statedir, other));
	/* one lock: held through one open file, refused through another */
	assert_int_equal(flock(a, LOCK_EX | LOCK_NB), 0);
	assert_int_equal(flock(b, LOCK_EX | LOCK_NB), -1);
	assert_int_equal(flock(a, LOCK_UN), 0);
	assert_int_equal(flock(b, LOCK_EX | LOCK_NB), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_entries),
		cmocka_unit_test(test_wake),
		cmocka_unit_test(test_wake_once),
		cmocka_unit_test(test_lock),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
