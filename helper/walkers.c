/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "walkers.h"
#include "fileio.h"
#include "helper.h"
#include "pages.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

unsigned walkers_default(void)
{
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set) < 0)
		return 1;
	return (unsigned)MAX(1, MIN(CPU_COUNT(&set), WALKERS_DEFAULT));
}

int walkers_parse(const char *arg, unsigned *ret)
{
	uint64_t v;

	if (parse_u64(arg, &v) < 0 || v < 1 || v > WALKERS_MAX)
		return -EINVAL;
	*ret = (unsigned)v;
	return 0;
}

int walkers_start(struct walkers *w, unsigned jobs, bool back)
{
	pid_t first = getpid();
	unsigned forked = 0;
	int go[2];
	char n;

	*w = (struct walkers){.started = true, .shares = 1};
	for (unsigned k = 0; k < WALKERS_MAX; k++)
		w->back[k] = -1;
	if (pipe2(go, O_CLOEXEC) < 0)
		return negative_errno();
	for (unsigned k = 1; k < jobs && k < WALKERS_MAX; k++) {
		int p[2] = {-1, -1};
		pid_t pid;

		if (back && pipe2(p, O_CLOEXEC) < 0)
			break;
		pid = fork();
		if (pid < 0) {
			safe_close(p[0]);
			safe_close(p[1]);
			break;
		}
		if (pid == 0) {
			close(go[1]);
			safe_close(p[0]);
			for (unsigned i = 1; i <= forked; i++) /* the others' pipes are not ours */
				safe_close(w->back[i]);
			/* n: the number of shares, told once all are forked; none (EOF) or fewer
			 * than k + 1 when the first gave up: not one of them */
			if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != first ||
			    read(go[0], &n, 1) != 1 || (unsigned char)n <= k)
				_exit(1);
			close(go[0]);
			*w = (struct walkers){.started = true, .share = k, .shares = (unsigned char)n};
			for (unsigned i = 0; i < WALKERS_MAX; i++)
				w->back[i] = -1;
			w->back[0] = p[1];
			return 0;
		}
		safe_close(p[1]);
		w->pid[++forked] = pid;
		w->back[forked] = p[0];
	}
	close(go[0]);
	n = (char)(forked + 1);
	for (unsigned k = 0; k < forked; k++)
		if (write(go[1], &n, 1) != 1)
			break; /* cannot be: the pipe holds them all */
	close(go[1]);
	w->shares = forked + 1;
	return 0;
}

int walkers_own_pages(struct pages_ctx **pc)
{
	pages_ctx_free(TAKE_PTR(*pc));
	return pages_ctx_new(pc);
}

int walkers_own_dir(int *fd)
{
	int nfd = openat(*fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (nfd < 0)
		return negative_errno();
	close(*fd);
	*fd = nfd;
	return 0;
}

void walkers_wait(struct walkers *w, unsigned k, int *status)
{
	*status = 0;
	while (waitpid(w->pid[k], status, 0) < 0 && errno == EINTR)
		;
}

void walkers_say_lost(const char *cmd, unsigned k, int status)
{
	warnx_("%s: walker %u ended before its share was walked (%s %d)", cmd, k,
	       WIFSIGNALED(status) ? "signal" : "exit status",
	       WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
}

void walkers_done(struct walkers *w)
{
	if (!w->started)
		return;
	for (unsigned k = 0; k < WALKERS_MAX; k++)
		w->back[k] = safe_close(w->back[k]);
}
