/* SPDX-License-Identifier: GPL-2.0-or-later */
/* t_fdmany PROCS N READY: PROCS processes that each hold N file descriptors (one open of
 * /dev/null dup()ed: one fd table slot each, no new open file), or as many as their
 * RLIMIT_NOFILE lets them; writes "TOTAL\n" to READY once all are up, then sleeps until
 * killed (its children with it). The caller raises RLIMIT_NOFILE (prlimit) where it may.
 * For "one user's millions of fds stall everyone's logout" (THREATS.md 36). */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	long procs, n, total = 0;
	int p[2];
	FILE *f;

	if (argc != 4)
		return fprintf(stderr, "usage: t_fdmany PROCS N READY\n"), 2;
	procs = atol(argv[1]);
	n = atol(argv[2]);
	if (pipe(p) < 0)
		return perror("pipe"), 1;
	for (long i = 0; i < procs; i++) {
		pid_t pid = fork();

		if (pid < 0)
			return perror("fork"), 1;
		if (pid == 0) {
			long got = 1;
			int fd;

			prctl(PR_SET_PDEATHSIG, SIGKILL);
			close(p[0]);
			fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
			if (fd < 0)
				_exit(1);
			while (got < n && fcntl(fd, F_DUPFD_CLOEXEC, 0) >= 0)
				got++;
			if (write(p[1], &got, sizeof(got)) != sizeof(got))
				_exit(1);
			for (;;)
				pause();
		}
	}
	close(p[1]);
	for (long i = 0; i < procs; i++) {
		long got;

		if (read(p[0], &got, sizeof(got)) != sizeof(got))
			return fprintf(stderr, "a holder died\n"), 1;
		total += got;
	}
	f = fopen(argv[3], "we");
	if (!f)
		return perror(argv[3]), 1;
	fprintf(f, "%ld\n", total);
	fclose(f);
	for (;;)
		pause();
}
