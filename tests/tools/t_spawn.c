/* SPDX-License-Identifier: GPL-2.0-or-later */
/* t_spawn [--fork] TIMEOUT_MS PROG [ARG...]: spawn_run(PROG ARGS) with that deadline (the
 * clone3 path, or the fork fallback) and print "rc=R ms=M": how long spawn_run took. */
#include "spawn.h"
#include "util.h"

#include <time.h>

int main(int argc, char **argv)
{
	struct spawn_opts o = {0};
	struct timespec a, b;
	int i = 1, r;

	if (argc > 1 && streq(argv[1], "--fork")) {
		o.flags = SPAWN_FORCE_FORK;
		i++;
	}
	if (argc < i + 2)
		return fprintf(stderr, "usage: t_spawn [--fork] TIMEOUT_MS PROG [ARG...]\n"), 2;
	o.timeout_ns = strtoull(argv[i++], NULL, 10) * NSEC_PER_MSEC;
	clock_gettime(CLOCK_MONOTONIC, &a);
	r = spawn_run(argv + i, &o);
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("rc=%d ms=%lld\n", r,
	       (long long)((b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000));
	return 0;
}
