// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * bench/launch.c: a mass logout's start. Forks one small process per command line and
 * lets them wait, as the sessions' sshd [priv] processes wait for their clients; then
 * releases them all at once, and each execs its command, as the module execs the helper
 * at close_session. Timed from the release to the last exit.
 *
 * Usage: launch [--each FILE] ERRFILE -- ARGV0 ARG... [-- ARGV0 ARG...]...
 * Each command's stdin and stdout are /dev/null, its stderr ERRFILE (appended).
 * Output: "WALL_US FAILED CPU_US" (CPU: user + system of all of them, from wait4);
 * --each FILE appends each one's CPU time (us), one a line.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uint64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static uint64_t tv_us(struct timeval tv)
{
	return (uint64_t)tv.tv_sec * 1000000 + (uint64_t)tv.tv_usec;
}

int main(int argc, char **argv)
{
	FILE *each = NULL;
	int arg = 1, null, err, gate[2], failed = 0, n = 0;
	pid_t *pids;
	uint64_t t0, cpu = 0;

	if (argc > 3 && strcmp(argv[1], "--each") == 0) {
		each = fopen(argv[2], "a");
		if (!each)
			return perror(argv[2]), 2;
		arg = 3;
	}
	if (arg + 2 >= argc || strcmp(argv[arg + 1], "--") != 0) {
		fprintf(stderr, "usage: launch [--each FILE] ERRFILE -- ARGV0 ARG... [-- ...]...\n");
		return 2;
	}
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	err = open(argv[arg], O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	pids = calloc((size_t)argc, sizeof(*pids));
	if (null < 0 || err < 0 || !pids || pipe2(gate, O_CLOEXEC) < 0)
		return perror("launch"), 2;
	for (int i = arg + 1; i < argc; i++) {
		int j = i + 1;
		pid_t pid;
		char c;

		if (strcmp(argv[i], "--") != 0)
			continue;
		while (j < argc && strcmp(argv[j], "--") != 0)
			j++;
		argv[j < argc ? j : argc] = NULL; /* ends this command's argv */
		pid = fork();
		if (pid < 0)
			return perror("fork"), 2;
		if (pid == 0) {
			close(gate[1]);
			while (read(gate[0], &c, 1) < 0 && errno == EINTR)
				; /* end of file: released */
			if (dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(err, 2) < 0)
				_exit(127);
			execv(argv[i + 1], &argv[i + 1]);
			_exit(127);
		}
		pids[n++] = pid;
		if (j < argc)
			argv[j] = (char *)"--"; /* the next command starts there */
		i = j - 1;
	}
	close(gate[0]);
	usleep(200 * 1000); /* every child settled in its read */
	t0 = mono_us();
	close(gate[1]);
	for (int i = 0; i < n; i++) {
		struct rusage ru;
		int st;

		if (wait4(pids[i], &st, 0, &ru) < 0)
			return perror("wait4"), 2;
		failed += !WIFEXITED(st) || WEXITSTATUS(st) != 0;
		cpu += tv_us(ru.ru_utime) + tv_us(ru.ru_stime);
		if (each)
			fprintf(each, "%" PRIu64 "\n", tv_us(ru.ru_utime) + tv_us(ru.ru_stime));
	}
	printf("%" PRIu64 " %d %" PRIu64 "\n", mono_us() - t0, failed, cpu);
	return 0;
}
