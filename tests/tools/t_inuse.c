/* SPDX-License-Identifier: GPL-2.0-or-later */
/* t_inuse [--all] [--repeat N] TARGET...: one inuse snapshot over the devices of the
 * targets (every device with --all), then for each target print
 * "TARGET REASON PID" or "TARGET none". TARGET is a path (lstat'ed, never opened) or
 * @MAJ:MIN:INO. stderr gets "snapshot_ms=... procs=... fds=... maps=... locks=... denied=...". */
#include "inuse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

int main(int argc, char **argv)
{
	dev_t devs[64];
	ino_t inos[64];
	size_t n = 0, i;
	int all = 0, repeat = 1, a, r;
	struct inuse *u = NULL;

	for (a = 1; a < argc && argv[a][0] == '-'; a++) {
		if (!strcmp(argv[a], "--all"))
			all = 1;
		else if (!strcmp(argv[a], "--repeat") && a + 1 < argc)
			repeat = atoi(argv[++a]);
	}
	for (i = 0; a + (int)i < argc && i < 64; i++) {
		const char *t = argv[a + i];
		unsigned ma, mi;
		unsigned long long ino;
		struct stat st;

		if (t[0] == '@' && sscanf(t + 1, "%u:%u:%llu", &ma, &mi, &ino) == 3) {
			devs[i] = makedev(ma, mi);
			inos[i] = (ino_t)ino;
		} else if (lstat(t, &st) == 0) {
			devs[i] = st.st_dev;
			inos[i] = st.st_ino;
		} else {
			perror(t);
			return 1;
		}
	}
	n = i;
	for (int k = 0; k < repeat; k++) {
		inuse_free(u);
		r = inuse_snapshot(devs, all ? 0 : n, &u);
		if (r < 0) {
			fprintf(stderr, "inuse_snapshot: %s\n", strerror(-r));
			return 1;
		}
		const struct inuse_stats *s = inuse_get_stats(u);
		fprintf(stderr,
			"snapshot_ms=%.3f procs=%llu fds=%llu maps=%llu locks=%llu denied=%llu "
			"gone=%llu entries=%llu\n",
			s->elapsed_ns / 1e6, (unsigned long long)s->procs,
			(unsigned long long)s->fds, (unsigned long long)s->maps,
			(unsigned long long)s->locks, (unsigned long long)s->procs_denied,
			(unsigned long long)s->procs_gone, (unsigned long long)s->entries);
	}
	for (i = 0; i < n; i++) {
		const char *reason;
		pid_t pid;

		if (inuse_lookup(u, devs[i], inos[i], &reason, &pid))
			printf("%s %s %d\n", argv[a + i], reason, (int)pid);
		else
			printf("%s none\n", argv[a + i]);
	}
	inuse_free(u);
	return 0;
}
