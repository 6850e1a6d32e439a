/* SPDX-License-Identifier: GPL-2.0-or-later */
/* spawn_run: exit status, deadline kill (with the process group), a sanitised child
 * (environment, fds, umask, signals, rlimits, no_new_privs), and a host whose SIGCHLD
 * handler reaps with waitpid(-1) or which ignores SIGCHLD: nothing stolen, no hang,
 * the host's action unchanged; one descriptor passed on as fd 3, nothing else. Both the
 * clone3 path and the fork fallback. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "spawn.h"
#include "util.h"

#include <dirent.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

static char dir[256];
static bool count_stall_procs_kill; /* teardown: kill what count_stall_procs finds */
static char p_dump[512], p_stall[512], p_exit[512];

static void copy_probe(const char *src, const char *dst)
{
	char buf[65536];
	int in = open(src, O_RDONLY | O_CLOEXEC), out;
	ssize_t n;

	assert_true(in >= 0);
	out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
	assert_true(out >= 0);
	while ((n = read(in, buf, sizeof(buf))) > 0)
		assert_int_equal(write(out, buf, (size_t)n), n);
	close(in);
	close(out);
}

static int setup(void **state)
{
	char exe[4096], probe[4200];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n < 0)
		return -1;
	exe[n] = 0;
	snprintf(probe, sizeof(probe), "%s/../tools/spawn_probe", dirname(exe));
	snprintf(dir, sizeof(dir), "/tmp/tsw-spawn.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(p_dump, sizeof(p_dump), "%s/dump", dir);
	snprintf(p_stall, sizeof(p_stall), "%s/stall", dir);
	snprintf(p_exit, sizeof(p_exit), "%s/exit", dir);
	copy_probe(probe, p_dump);
	copy_probe(probe, p_stall);
	copy_probe(probe, p_exit);
	return 0;
}

static int count_stall_procs(void);

static int teardown(void **state)
{
	char cmd[600];

	/* A test that failed half way may have left its stall probes running. */
	count_stall_procs_kill = true;
	count_stall_procs();

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int run_exit(int code, unsigned flags)
{
	char num[16];
	snprintf(num, sizeof(num), "%d", code);
	char *argv[] = {p_exit, num, NULL};
	struct spawn_opts o = {.timeout_ns = 5 * NSEC_PER_SEC, .flags = flags};
	return spawn_run(argv, &o);
}

static void test_exit_status(void **state)
{
	int st = run_exit(7, 0);
	assert_true(st >= 0);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 7);
	st = run_exit(0, SPAWN_FORCE_FORK);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	st = run_exit(9, SPAWN_FORCE_FORK);
	assert_int_equal(WEXITSTATUS(st), 9);

	char missing[600];
	snprintf(missing, sizeof(missing), "%s/nonexistent", dir);
	char *argv[] = {missing, NULL};
	st = spawn_run(argv, NULL);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 127);

	char *rel[] = {(char *)"true", NULL};
	assert_int_equal(spawn_run(rel, NULL), -EINVAL);
}

/* Any process still running our stall binary (the child or its grandchild)? */
static int count_stall_procs(void)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d))) {
		char p[300], link[4096];
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(p, sizeof(p), "/proc/%s/exe", de->d_name);
		ssize_t l = readlink(p, link, sizeof(link) - 1);
		if (l <= 0)
			continue;
		link[l] = 0;
		if (streq(link, p_stall)) {
			n++;
			if (count_stall_procs_kill)
				kill(atoi(de->d_name), SIGKILL);
		}
	}
	closedir(d);
	return n;
}

static void stall_once(unsigned flags)
{
	char *argv[] = {p_stall, NULL};
	struct spawn_opts o = {.timeout_ns = 300 * NSEC_PER_MSEC, .flags = flags};
	uint64_t t0 = mono_ms();
	int r = spawn_run(argv, &o);
	uint64_t dt = mono_ms() - t0;

	/* The deadline, measured: a spawn that ignored it returns only when the probe
	 * gives up after 10 s (and not with -ETIMEDOUT). Not before the deadline; after it
	 * with 6 s of slack for a loaded machine, still well before the probe's 10 s. */
	if (r != -ETIMEDOUT || dt < 290 || dt >= 300 + 6000)
		fail_msg("flags %u: spawn_run returned %d after %llu ms; want -ETIMEDOUT after "
			 "the 300 ms deadline (< 6300 ms)", flags, r, (unsigned long long)dt);
	/* the grandchild in the same process group was killed too */
	for (int i = 0; i < 50 && count_stall_procs() > 0; i++)
		usleep(10000);
	assert_int_equal(count_stall_procs(), 0);
}

static void test_deadline(void **state)
{
	stall_once(0);
	stall_once(SPAWN_FORCE_FORK);
}

static char *slurp(const char *path)
{
	static char buf[1 << 16];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	assert_true(fd >= 0);
	n = read(fd, buf, sizeof(buf) - 1);
	assert_true(n > 0);
	buf[n] = 0;
	close(fd);
	return buf;
}

static void check_dump(unsigned flags, bool pass)
{
	char out[600];
	int fds[200];
	struct rlimit old_fsize, small = {1 << 20, 0};
	sigset_t blk, oldmask;

	snprintf(out, sizeof(out), "%s/dump-%u-%d.out", dir, flags, pass);
	setenv("LD_PRELOAD", "/nonexistent/poison.so", 1);
	setenv("PATH", "/tmp", 1);
	setenv("PAM_POISON", "1", 1);
	for (int i = 0; i < 200; i++) {
		fds[i] = open("/dev/zero", O_RDONLY); /* deliberately without O_CLOEXEC */
		assert_true(fds[i] >= 0);
	}
	getrlimit(RLIMIT_FSIZE, &old_fsize);
	small.rlim_max = old_fsize.rlim_max;
	setrlimit(RLIMIT_FSIZE, &small);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&blk);
	sigaddset(&blk, SIGUSR1);
	sigprocmask(SIG_BLOCK, &blk, &oldmask);
	umask(022);

	char *argv[] = {p_dump, out, NULL};
	struct spawn_opts o = {.timeout_ns = 5 * NSEC_PER_SEC, .flags = flags};
	char passed[600];
	int pfd = -1, st;

	/* The one descriptor passed on (the module's sweep lock): close-on-exec here, and
	 * high, as an fd of the host's; the child has it as fd 3, and nothing else. */
	snprintf(passed, sizeof(passed), "%s/passed", dir);
	if (pass) {
		int fd = open(passed, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

		assert_true(fd >= 0);
		pfd = fcntl(fd, F_DUPFD_CLOEXEC, 150);
		assert_true(pfd >= 150);
		close(fd);
		o.pass_fd = pfd;
	}
	st = spawn_run(argv, &o);
	if (pfd >= 0)
		close(pfd);

	sigprocmask(SIG_SETMASK, &oldmask, NULL);
	signal(SIGPIPE, SIG_DFL);
	setrlimit(RLIMIT_FSIZE, &old_fsize);
	unsetenv("LD_PRELOAD");
	setenv("PATH", "/usr/sbin:/usr/bin:/sbin:/bin", 1);
	for (int i = 0; i < 200; i++)
		close(fds[i]);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);

	char *s = slurp(out);
	int n_env = 0, n_fd = 0;
	for (char *line = strtok(s, "\n"); line; line = strtok(NULL, "\n")) {
		const char *v;

		if (startswith(line, "env=")) {
			n_env++;
			assert_true(streq(line, "env=PATH=/usr/sbin:/usr/bin:/sbin:/bin") ||
				    streq(line, "env=LANG=C"));
		} else if (startswith(line, "fd=")) {
			n_fd++;
			assert_true(streq(line, "fd=0 /dev/null") || streq(line, "fd=1 /dev/null") ||
				    streq(line, "fd=2 /dev/null") ||
				    (pass && startswith(line, "fd=3 ") && streq(line + 5, passed)));
		} else if (startswith(line, "status:Umask:")) {
			assert_non_null(strstr(line, "0077"));
		} else if (startswith(line, "status:NoNewPrivs:")) {
			assert_non_null(strstr(line, "1"));
		} else if (startswith(line, "status:SigBlk:") || startswith(line, "status:SigIgn:")) {
			assert_non_null(strstr(line, "0000000000000000"));
		} else if (startswith(line, "pgid_is_sid=")) {
			assert_string_equal(line, "pgid_is_sid=1"); /* one group kill takes all */
		} else if ((v = startswith(line, "sid="))) {
			assert_int_not_equal(atoi(v), (int)getsid(0));
		} else if (startswith(line, "rlimit_core=")) {
			assert_string_equal(line, "rlimit_core=0");
		} else if (startswith(line, "rlimit_fsize=")) {
			assert_string_equal(line, "rlimit_fsize=unlimited");
		}
	}
	assert_int_equal(n_env, 2);
	assert_int_equal(n_fd, pass ? 4 : 3);
}

static void test_sanitised(void **state)
{
	check_dump(0, false);
	check_dump(SPAWN_FORCE_FORK, false);
	check_dump(0, true);
	check_dump(SPAWN_FORCE_FORK, true);
}

static volatile sig_atomic_t reaped_by_handler;
static volatile sig_atomic_t reaped_pid;

static void reaper(int sig)
{
	int saved = errno, st;
	pid_t p;

	while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
		reaped_by_handler++;
		reaped_pid = p;
	}
	errno = saved;
}

static void same_action(const struct sigaction *a, const struct sigaction *b)
{
	assert_ptr_equal((void *)a->sa_handler, (void *)b->sa_handler);
	assert_int_equal(a->sa_flags, b->sa_flags);
}

static void host_with_reaper(unsigned flags)
{
	struct sigaction sa = {.sa_handler = reaper, .sa_flags = SA_RESTART}, before, after, old;
	pid_t own;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGCHLD, &sa, &old);
	sigaction(SIGCHLD, NULL, &before);
	reaped_by_handler = 0;
	/* A child of the host's own, exiting while we wait: the host must still get it. */
	own = fork();
	if (own == 0) {
		usleep(50000);
		_exit(0);
	}
	for (int i = 0; i < 5; i++) {
		int st = run_exit(3 + i, flags);
		if (st < 0)
			fprintf(stderr, "flags %u: %s\n", flags, strerror(-st));
		assert_true(st >= 0);
		assert_true(WIFEXITED(st));
		assert_int_equal(WEXITSTATUS(st), 3 + i);
	}
	usleep(100000);
	for (int i = 0; i < 100 && !reaped_by_handler; i++)
		usleep(10000);
	sigaction(SIGCHLD, NULL, &after);
	same_action(&before, &after);
	if (!(flags & SPAWN_FORCE_FORK)) {
		/* the handler saw exactly the host's own child, none of ours */
		assert_int_equal(reaped_by_handler, 1);
		assert_int_equal(reaped_pid, own);
	} else {
		/* fallback: SIGCHLD was at SIG_DFL while we waited; the host's child is at
		 * worst still a zombie, never one of ours */
		if (!reaped_by_handler)
			assert_int_equal(waitpid(own, NULL, 0), own);
	}
	sigaction(SIGCHLD, &old, NULL);
}

static void test_host_reaper(void **state)
{
	host_with_reaper(0);
	host_with_reaper(SPAWN_FORCE_FORK);
}

static void host_ignoring(unsigned flags)
{
	struct sigaction ign = {.sa_handler = SIG_IGN}, before, after, old;

	sigemptyset(&ign.sa_mask);
	sigaction(SIGCHLD, &ign, &old);
	sigaction(SIGCHLD, NULL, &before);
	for (int i = 0; i < 5; i++) {
		int st = run_exit(5, flags);
		assert_true(WIFEXITED(st));
		assert_int_equal(WEXITSTATUS(st), 5);
	}
	stall_once(flags);
	sigaction(SIGCHLD, NULL, &after);
	same_action(&before, &after);
	assert_ptr_equal((void *)after.sa_handler, (void *)SIG_IGN);
	sigaction(SIGCHLD, &old, NULL);
}

static void test_host_sig_ign(void **state)
{
	host_ignoring(0);
	host_ignoring(SPAWN_FORCE_FORK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exit_status),
		cmocka_unit_test(test_deadline),
		cmocka_unit_test(test_sanitised),
		cmocka_unit_test(test_host_reaper),
		cmocka_unit_test(test_host_sig_ign),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
