/* SPDX-License-Identifier: GPL-2.0-or-later */
/* spawn.c: run the helper from inside sshd with a deadline; see spawn.h. */
#include "spawn.h"
#include "util.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
#ifndef __WALL
#define __WALL 0x40000000
#endif

/* The kernel's struct clone_args (v0 layout, 64 bytes), kept here to avoid mixing
 * <linux/sched.h> with glibc's <sched.h>. */
struct spawn_clone_args {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
};

const char *const spawn_base_env[] = {
	"PATH=/usr/sbin:/usr/bin:/sbin:/bin",
	"LANG=C",
	NULL,
};

struct limit {
	int res;
	rlim_t cur, max;
};

/* What a freshly booted root service gets: the helper must not run under limits
 * pam_limits set for the user in this very process (a tiny RLIMIT_FSIZE, CPU, AS). */
static const struct limit limits[] = {
	{RLIMIT_CORE, 0, 0},
	{RLIMIT_NOFILE, 1024, 524288},
	{RLIMIT_CPU, RLIM_INFINITY, RLIM_INFINITY},
	{RLIMIT_FSIZE, RLIM_INFINITY, RLIM_INFINITY},
	{RLIMIT_DATA, RLIM_INFINITY, RLIM_INFINITY},
	{RLIMIT_AS, RLIM_INFINITY, RLIM_INFINITY},
	{RLIMIT_STACK, 8 << 20, RLIM_INFINITY},
	{RLIMIT_NPROC, RLIM_INFINITY, RLIM_INFINITY},
	{RLIMIT_MEMLOCK, 8 << 20, 8 << 20},
	{RLIMIT_NICE, 0, 0},
	{RLIMIT_RTPRIO, 0, 0},
};

/* The kernel's struct sigaction, for rt_sigaction(2) itself. */
struct kernel_sigaction {
	void (*handler)(int);
	unsigned long flags;
	void (*restorer)(void);
	uint64_t mask;
};

static void reset_signal_actions(void)
{
	struct kernel_sigaction ksa = {.handler = SIG_DFL};

	/* The raw system call, not sigaction(3): glibc refuses the signals it reserves for
	 * itself (32, 33), yet an ignored disposition of theirs is inherited across execve
	 * like any other (make, for one, starts its recipes with them ignored). */
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			(void)syscall(SYS_rt_sigaction, sig, &ksa, NULL, sizeof(ksa.mask));
}

/* Runs in the child: async-signal-safe system calls only, then execve. Signals are
 * still all blocked here (the parent blocked them around the fork). */
static __attribute__((noreturn)) void child_exec(char *const argv[], char *const envp[],
						 bool new_session, int pass_fd)
{
	sigset_t empty;
	int fd;

	reset_signal_actions();
	if (new_session)
		(void)setsid();

	fd = open("/dev/null", O_RDWR | O_NOCTTY);
	if (fd < 0)
		_exit(127);
	for (int i = 0; i < 3; i++)
		if (fd != i && dup2(fd, i) < 0)
			_exit(127);
	/* The one descriptor passed on becomes fd 3 (dup2 clears its close-on-exec). */
	if (pass_fd > 2 && (pass_fd == 3 ? fcntl(3, F_SETFD, 0) : dup2(pass_fd, 3)) < 0)
		_exit(127);
	if (syscall(SYS_close_range, pass_fd > 2 ? 4U : 3U, ~0U, 0U) < 0) {
		struct rlimit rl;
		int max = 65536;

		if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
		    rl.rlim_cur < (rlim_t)max)
			max = (int)rl.rlim_cur;
		for (int i = pass_fd > 2 ? 4 : 3; i < max; i++)
			(void)close(i);
	}

	(void)umask(077);
	for (size_t i = 0; i < ARRAY_SIZE(limits); i++) {
		struct rlimit want = {limits[i].cur, limits[i].max}, old;

		if (setrlimit(limits[i].res, &want) == 0)
			continue;
		/* Not allowed to raise the hard limit (not root): at least the soft one. */
		if (getrlimit(limits[i].res, &old) < 0)
			continue;
		want.rlim_max = old.rlim_max;
		if (want.rlim_cur > old.rlim_max)
			want.rlim_cur = old.rlim_max;
		(void)setrlimit(limits[i].res, &want);
	}
	(void)setpriority(PRIO_PROCESS, 0, 0);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		_exit(127);
	sigemptyset(&empty);
	(void)sigprocmask(SIG_SETMASK, &empty, NULL);
	execve(argv[0], argv, envp);
	_exit(127);
}

static char **build_env(char *const *extra)
{
	size_t n = ARRAY_SIZE(spawn_base_env) - 1, m = 0;
	char **env;

	while (extra && extra[m])
		m++;
	env = calloc(n + m + 1, sizeof(*env));
	if (!env)
		return NULL;
	for (size_t i = 0; i < n; i++)
		env[i] = (char *)spawn_base_env[i];
	for (size_t i = 0; i < m; i++)
		env[n + i] = extra[i];
	return env;
}

/* Milliseconds left until deadline (rounded up), -1 for none, 0 when passed. */
static int ms_left(uint64_t deadline)
{
	uint64_t now;

	if (!deadline)
		return -1;
	now = now_ns(CLOCK_MONOTONIC);
	if (now >= deadline)
		return 0;
	return (int)MIN((deadline - now + NSEC_PER_MSEC - 1) / NSEC_PER_MSEC, (uint64_t)INT32_MAX);
}

/* The intermediate process of the clone3 path: it never execs, so it stays a
 * "clone child" of the host (exit_signal 0); execve would turn the exit signal back
 * into SIGCHLD. It leads a new session, so its process group holds the helper and
 * everything the helper forks, for one kill at the deadline. It hands the helper's
 * wait status to the parent through the pipe. */
static __attribute__((noreturn)) void intermediate(char *const argv[], char *const envp[],
						   int status_fd, int pass_fd)
{
	int st = 127 << 8;
	long gc;

	reset_signal_actions();
	(void)setsid();
	gc = syscall(SYS_clone, (unsigned long)SIGCHLD, 0UL, NULL, NULL, 0UL);
	if (gc == 0) {
		close(status_fd);
		child_exec(argv, envp, false, pass_fd);
	}
	if (gc > 0)
		while (waitpid((pid_t)gc, &st, 0) < 0 && errno == EINTR)
			;
	if (write(status_fd, &st, sizeof(st)) < 0)
		_exit(1);
	_exit(0);
}

static int run_clone3(char *const argv[], char *const envp[], uint64_t deadline, int pass_fd)
{
	struct spawn_clone_args ca = {0};
	_cleanup_close_ int status_rd = -1, status_wr = -1, pidfd = -1;
	int pipefd[2], st = 0, r = 0;
	sigset_t all, old;
	siginfo_t si;
	long pid;

	if (pipe2(pipefd, O_CLOEXEC | O_NONBLOCK) < 0)
		return negative_errno();
	status_rd = pipefd[0];
	status_wr = pipefd[1];
	ca.flags = CLONE_PIDFD;
	ca.pidfd = (uint64_t)(uintptr_t)&pidfd;
	ca.exit_signal = 0; /* no SIGCHLD; waitpid(-1) without __WALL never sees it */

	/* No host handler may run in the child before it has reset the dispositions. */
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	pid = syscall(SYS_clone3, &ca, sizeof(ca));
	if (pid == 0) {
		close(status_rd);
		intermediate(argv, envp, status_wr, pass_fd);
	}
	r = pid < 0 ? negative_errno() : 0;
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (r < 0)
		return r;
	status_wr = safe_close(status_wr);

	for (;;) {
		struct pollfd p = {.fd = pidfd, .events = POLLIN};
		int ms = ms_left(deadline), n;

		n = poll(&p, 1, ms);
		if (n > 0)
			break;
		if (n < 0 && errno != EINTR) {
			r = negative_errno();
			break;
		}
		if (n == 0 && ms_left(deadline) == 0) {
			r = -ETIMEDOUT;
			break;
		}
	}
	if (r < 0) {
		/* Not reaped yet, so neither the pid nor the group can have been reused. */
		(void)kill(-(pid_t)pid, SIGKILL);
		(void)syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
		/* A killed process ends at once, unless it sleeps in the kernel for good (a
		 * FUSE request no one answers): then it is left, unreaped, not waited for. */
		struct pollfd p = {.fd = pidfd, .events = POLLIN};
		while (poll(&p, 1, SPAWN_GRACE_MS) < 0 && errno == EINTR)
			;
	}
	si = (siginfo_t){0};
	while (waitid((idtype_t)P_PIDFD, (id_t)pidfd, &si, WEXITED | __WALL | (r < 0 ? WNOHANG : 0)) <
	       0) {
		if (errno != EINTR) {
			if (r >= 0)
				r = negative_errno();
			break;
		}
	}
	if (r < 0)
		return r;
	if (si.si_code != CLD_EXITED || si.si_status != 0)
		return -ECHILD; /* the intermediate itself was killed */
	if (read(status_rd, &st, sizeof(st)) != (ssize_t)sizeof(st))
		return -EIO;
	return st;
}

/* Without clone3: fork with SIGCHLD at SIG_DFL for the duration so that neither a
 * host handler nor SIG_IGN auto-reaping takes our child; the host's action is
 * restored afterwards. */
static int run_fork(char *const argv[], char *const envp[], uint64_t deadline, int pass_fd)
{
	struct sigaction dfl = {.sa_handler = SIG_DFL}, saved;
	sigset_t all, old;
	int status = 0, r = 0;
	pid_t pid;

	sigemptyset(&dfl.sa_mask);
	if (sigaction(SIGCHLD, &dfl, &saved) < 0)
		return negative_errno();
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	pid = fork();
	if (pid == 0)
		child_exec(argv, envp, true, pass_fd);
	r = pid < 0 ? negative_errno() : 0;
	sigprocmask(SIG_SETMASK, &old, NULL);

	while (r == 0) {
		pid_t w = waitpid(pid, &status, WNOHANG);

		if (w == pid)
			break;
		if (w < 0 && errno != EINTR) {
			r = negative_errno();
			break;
		}
		if (ms_left(deadline) == 0) {
			uint64_t until = now_ns(CLOCK_MONOTONIC) + SPAWN_GRACE_MS * NSEC_PER_MSEC;
			struct timespec ts = {0, 2 * 1000 * 1000};

			(void)kill(-pid, SIGKILL);
			(void)kill(pid, SIGKILL);
			/* Reaped if it ends within the grace; one asleep in the kernel for good
			 * is left (the host's SIGCHLD handling, restored below, reaps it). */
			while (waitpid(pid, &status, WNOHANG) == 0 && now_ns(CLOCK_MONOTONIC) < until)
				nanosleep(&ts, NULL);
			r = -ETIMEDOUT;
			break;
		}
		struct timespec ts = {0, 2 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	sigaction(SIGCHLD, &saved, NULL);
	/* A host child that exited meanwhile raised no SIGCHLD (it was at SIG_DFL):
	 * give the host's handler its chance now. */
	if (saved.sa_handler != SIG_DFL && saved.sa_handler != SIG_IGN) {
		siginfo_t si = {0};

		if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid > 0)
			(void)raise(SIGCHLD);
	}
	return r < 0 ? r : status;
}

int spawn_run(char *const argv[], const struct spawn_opts *o)
{
	_cleanup_free_ char **envp = NULL;
	uint64_t deadline = 0;
	int pass_fd = o && o->pass_fd > 2 ? o->pass_fd : -1, r;

	if (!argv || !argv[0] || argv[0][0] != '/')
		return -EINVAL;
	envp = build_env(o ? o->extra_env : NULL);
	if (!envp)
		return -ENOMEM;
	if (o && o->timeout_ns)
		deadline = now_ns(CLOCK_MONOTONIC) + o->timeout_ns;
	if (!(o && (o->flags & SPAWN_FORCE_FORK))) {
		r = run_clone3(argv, envp, deadline, pass_fd);
		if (r != -ENOSYS && r != -EPERM)
			return r;
	}
	return run_fork(argv, envp, deadline, pass_fd);
}
