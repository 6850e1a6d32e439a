/* SPDX-License-Identifier: GPL-2.0-or-later */
/* t_lease FILE READY REPORT: take a write lease on FILE (F_SETLEASE F_WRLCK), write our
 * pid to READY, then wait. If the lease is ever broken (SIGIO), write "broken" to REPORT
 * at once. On SIGTERM write "intact LEASE-TYPE" (F_GETLEASE) to REPORT and exit 0. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t got_io, got_term;
static void on_io(int sig) { got_io = 1; }
static void on_term(int sig) { got_term = 1; }

static void report(const char *path, const char *what)
{
	FILE *f = fopen(path, "we");

	if (f) {
		fputs(what, f);
		fclose(f);
	}
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_io };
	char buf[64];
	FILE *f;
	int fd, l;

	if (argc != 4)
		return fprintf(stderr, "usage: t_lease FILE READY REPORT\n"), 2;
	sigaction(SIGIO, &sa, NULL);
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	fd = open(argv[1], O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return perror(argv[1]), 1;
	if (fcntl(fd, F_SETLEASE, F_WRLCK) < 0)
		return perror("F_SETLEASE"), 1;
	f = fopen(argv[2], "we");
	if (!f)
		return perror(argv[2]), 1;
	fprintf(f, "%d\n", (int)getpid());
	fclose(f);
	while (!got_io && !got_term)
		pause();
	if (got_io) {
		report(argv[3], "broken\n");
		return 1;
	}
	l = fcntl(fd, F_GETLEASE);
	snprintf(buf, sizeof(buf), "intact %s\n",
		 l == F_WRLCK ? "WRLCK" : l == F_RDLCK ? "RDLCK" : "UNLCK");
	report(argv[3], buf);
	return 0;
}
