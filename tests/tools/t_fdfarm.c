/* SPDX-License-Identifier: GPL-2.0-or-later */
/* t_fdfarm N FDS DIR READY: fork N children that each open FDS files in DIR (DIR/f0..
 * cycling over 100 files, created if needed) and sleep; write READY when all are up.
 * Exits (its children with it) when killed or when stdin closes. For the in-use benchmark. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int n, fds, i, p[2];
	char path[4096], c;

	if (argc != 5)
		return fprintf(stderr, "usage: t_fdfarm N FDS DIR READY\n"), 2;
	n = atoi(argv[1]);
	fds = atoi(argv[2]);
	for (i = 0; i < 100; i++) {
		snprintf(path, sizeof(path), "%s/f%d", argv[3], i);
		close(open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0644));
	}
	if (pipe(p) < 0)
		return perror("pipe"), 1;
	for (i = 0; i < n; i++) {
		pid_t pid = fork();

		if (pid < 0)
			return perror("fork"), 1;
		if (pid == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			close(p[1]);
			for (int k = 0; k < fds; k++) {
				snprintf(path, sizeof(path), "%s/f%d", argv[3], k % 100);
				open(path, O_RDONLY);
			}
			(void)!read(p[0], &c, 1); /* blocks until the parent goes */
			_exit(0);
		}
	}
	close(p[0]);
	usleep(200000 + n * 200);
	{
		FILE *f = fopen(argv[4], "we");
		if (f)
			fclose(f);
	}
	/* Children die with us (PDEATHSIG). */
	(void)!read(0, &c, 1);
	return 0;
}
