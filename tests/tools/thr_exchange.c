/* SPDX-License-Identifier: GPL-2.0-or-later */
/* thr_exchange A B [N]: exchange the names A and B with renameat2(RENAME_EXCHANGE), N times
 * (default: until killed, going on after failures), then print how many exchanges were made. THREATS.md 2: a
 * directory on the walked path swapped for a symlink while the helper works. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static volatile sig_atomic_t stop;
static void on_term(int sig) { stop = 1; }

int main(int argc, char **argv)
{
	struct sigaction sa = {.sa_handler = on_term};
	long n, done = 0;

	if (argc < 3 || argc > 4)
		return fprintf(stderr, "usage: thr_exchange A B [N]\n"), 2;
	n = argc == 4 ? atol(argv[3]) : -1;
	sigaction(SIGTERM, &sa, NULL);
	while (!stop && (n < 0 || done < n)) {
		/* The helper may remove one of the two: keep trying until stopped. */
		if (renameat2(AT_FDCWD, argv[1], AT_FDCWD, argv[2], RENAME_EXCHANGE) == 0)
			done++;
		else if (n >= 0)
			return perror("renameat2"), 1;
	}
	printf("%ld\n", done);
	return 0;
}
