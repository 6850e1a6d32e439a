/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Is a session alive, does the user have another one, is a record from an earlier boot:
 * yes, no, and "cannot tell", which callers take as the safe answer (alive, another
 * session, not from an earlier boot). Records in a private state dir; the "cannot tell" of
 * /proc in a child with a private mount namespace where /proc is hidden (root only: skipped
 * otherwise).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "record.h"
#include "sweep.h"
#include "util.h"

#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>

#define UID 4321

static char dir[256], statedir[300];

static int setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/tsw-alive.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(statedir, sizeof(statedir), "%s/state", dir);
	return 0;
}

static int teardown(void **state)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* A record of uid, opened by pid (pid_start: its real start time unless given). */
static void make(struct session_record *r, pid_t pid, uint64_t start_ns, uid_t uid)
{
	char id[RECORD_ID_MAX];

	*r = (struct session_record){0};
	assert_int_equal(record_make_id(pid, start_ns, id, sizeof(id)), 0);
	r->id = strdup(id);
	r->uid = uid;
	r->user = strdup("alice");
	r->start_ns = start_ns;
	assert_int_equal(proc_boot_id(r->boot_id), 0);
	r->pid = pid;
	if (proc_pid_starttime(pid, &r->pid_start) < 0)
		r->pid_start = 1;
}

static void put(struct session_record *r)
{
	assert_int_equal(record_write(statedir, r), 0);
}

static void path_of(char *buf, size_t len, const char *id)
{
	snprintf(buf, len, "%s/sessions/%s", statedir, id);
}

/* A pid that is surely gone: a child we made and reaped. */
static pid_t dead_pid(void)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0)
		_exit(0);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	return pid;
}

static void test_alive(void **state)
{
	struct session_record r;

	make(&r, getpid(), 1, UID);
	assert_int_equal(record_is_alive(&r), 1);
	r.pid_start++; /* the pid was reused */
	assert_int_equal(record_is_alive(&r), 0);
	r.pid_start--;
	r.boot_id[0] = r.boot_id[0] == '0' ? '1' : '0'; /* another boot */
	assert_int_equal(record_is_alive(&r), 0);
	record_done(&r);
	make(&r, dead_pid(), 1, UID);
	assert_int_equal(record_is_alive(&r), 0);
	record_done(&r);
}

static void test_before_boot(void **state)
{
	struct session_record r;
	char p[512];
	struct timespec old[2] = {{.tv_sec = 1000}, {.tv_sec = 1000}};

	assert_true(record_before_boot(statedir, "1-1") < 0); /* no state dir: cannot tell */
	make(&r, getpid(), 2, UID);
	put(&r);
	assert_int_equal(record_before_boot(statedir, r.id), 0);
	path_of(p, sizeof(p), r.id);
	assert_int_equal(utimensat(AT_FDCWD, p, old, 0), 0);
	assert_int_equal(record_before_boot(statedir, r.id), 1);
	assert_true(record_before_boot(statedir, "2-2") < 0); /* no such record */
	assert_true(record_before_boot(statedir, "../x") < 0);
	assert_int_equal(record_remove(statedir, r.id), 0);
	record_done(&r);
}

static void test_other_sessions(void **state)
{
	struct session_record me, other;
	char p[512], s[64];
	int fd;

	make(&me, getpid(), 10, UID);
	/* No state dir at all: nothing was ever recorded. */
	assert_int_equal(user_has_other_sessions(statedir, &me), 0);
	put(&me);
	assert_int_equal(user_has_other_sessions(statedir, &me), 0);

	/* Another uid's live session; the same uid's session whose process is gone; a
	 * deferred one: none counts. */
	make(&other, getpid(), 11, UID + 1);
	put(&other);
	record_done(&other);
	make(&other, dead_pid(), 12, UID);
	put(&other);
	record_done(&other);
	make(&other, getpid(), 13, UID);
	other.state = RECORD_DEFERRED;
	put(&other);
	assert_int_equal(user_has_other_sessions(statedir, &me), 0);
	/* Nor one whose close has begun (queued for a shared sweep, or closing): logging
	 * out, as we are. Asked one at a time and from a snapshot (gc, a batch). */
	for (int st = 0; st < 2; st++) {
		struct live_users l;

		other.state = st ? RECORD_CLOSING : RECORD_QUEUED;
		put(&other);
		assert_int_equal(user_has_other_sessions(statedir, &me), 0);
		assert_int_equal(live_users_snapshot(statedir, &l), 0);
		assert_int_equal(live_users_other(&l, &me), 0);
		live_users_done(&l);
	}
	/* ... until that one is open again: another live session. */
	other.state = RECORD_OPEN;
	put(&other);
	assert_int_equal(user_has_other_sessions(statedir, &me), 1);
	{
		struct live_users l;

		assert_int_equal(live_users_snapshot(statedir, &l), 0);
		assert_int_equal(live_users_other(&l, &me), 1);
		live_users_done(&l);
	}
	assert_int_equal(record_remove(statedir, other.id), 0);
	record_done(&other);

	/* An unreadable record whose process lives: anyone's, cannot tell. */
	snprintf(s, sizeof(s), "%d-14", (int)getpid());
	path_of(p, sizeof(p), s);
	fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "version=1\nid=", 13), 13);
	close(fd);
	assert_true(user_has_other_sessions(statedir, &me) < 0);
	/* ... written before this boot: no one's. */
	{
		struct timespec old[2] = {{.tv_sec = 1000}, {.tv_sec = 1000}};
		assert_int_equal(utimensat(AT_FDCWD, p, old, 0), 0);
	}
	assert_int_equal(user_has_other_sessions(statedir, &me), 0);
	assert_int_equal(unlink(p), 0);
	/* ... of a process that is gone: no one's. */
	snprintf(s, sizeof(s), "%d-15", (int)dead_pid());
	path_of(p, sizeof(p), s);
	fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(user_has_other_sessions(statedir, &me), 0);
	assert_int_equal(unlink(p), 0);

	/* A state dir that cannot be trusted (group-writable): cannot tell. */
	snprintf(p, sizeof(p), "%s/sessions", statedir);
	assert_int_equal(chmod(p, 0770), 0);
	assert_true(user_has_other_sessions(statedir, &me) < 0);
	assert_int_equal(chmod(p, 0700), 0);
	assert_int_equal(user_has_other_sessions(statedir, &me), 0);
	assert_int_equal(record_remove(statedir, me.id), 0);
	record_done(&me);
}

/* /proc hidden (a private mount namespace with an empty tmpfs over it): the process is
 * there (kill says so) but its start time cannot be read, so neither "alive" nor "another
 * session" can be answered. */
static void test_proc_hidden(void **state)
{
	struct session_record me, other;
	pid_t pid;
	int st;

	if (geteuid() != 0)
		skip();
	make(&me, getpid(), 20, UID);
	make(&other, getpid(), 21, UID);
	put(&me);
	put(&other);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (unshare(CLONE_NEWNS) < 0 ||
		    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
		    mount("tsw-noproc", "/proc", "tmpfs", 0, NULL) < 0)
			_exit(77);
		if (record_is_alive(&other) >= 0)
			_exit(1);
		if (user_has_other_sessions(statedir, &me) >= 0)
			_exit(2);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	if (WEXITSTATUS(st) == 77)
		skip();
	assert_int_equal(WEXITSTATUS(st), 0);
	/* With /proc back: alive, and another session. */
	assert_int_equal(record_is_alive(&other), 1);
	assert_int_equal(user_has_other_sessions(statedir, &me), 1);
	record_remove(statedir, me.id);
	record_remove(statedir, other.id);
	record_done(&me);
	record_done(&other);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_alive, setup, teardown),
		cmocka_unit_test_setup_teardown(test_before_boot, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_sessions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_proc_hidden, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
