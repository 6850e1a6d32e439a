/* SPDX-License-Identifier: GPL-2.0-or-later */
/* t_inuse [--all] [--repeat N] [--deadline-ms N] [--want] [--probe|--tasks|--socks]
 *         TARGET...
 * Default: one /proc pass over the devices of the targets (every device with --all; only
 * the targets themselves with --want), then for each target "TARGET REASON PID" or
 * "TARGET none". stderr gets "snapshot_ms=... procs=... fds=... maps=... locks=...
 * denied=... tasks=... timed_out=0|1 complete=0|1".
 * --probe: the lease probe of each target (a regular file; its directory is the root):
 * "TARGET busy REASON", "TARGET free" or "TARGET error ERRNO-NAME".
 * --tasks: "TARGET cwd|root TID" or "TARGET none" from the task table.
 * --socks: "TARGET bound SOCKINO" or "TARGET none" from the socket table.
 * TARGET is a path (lstat'ed, never opened) or @MAJ:MIN:INO. */
#include "inuse.h"

#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int probe(const char *path)
{
	char *d = strdup(path), *b = strdup(path);
	const char *dir = dirname(d), *name = basename(b);
	struct inuse_id pid, id;
	enum inuse_reason why = INUSE_NONE;
	struct inuse *locks = NULL;
	struct stat st, pst;
	int root, r;

	root = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root < 0 || fstat(root, &pst) < 0 || lstat(path, &st) < 0)
		return perror(path), 1;
	pid = (struct inuse_id){pst.st_dev, pst.st_ino};
	id = (struct inuse_id){st.st_dev, st.st_ino};
	r = inuse_snapshot_locks(&st.st_dev, 1, &locks);
	if (r == 0)
		r = inuse_probe_file(root, ".", name, &pid, &id, locks, &why);
	if (r == 1)
		printf("%s busy %s\n", path, inuse_reason_str(why));
	else if (r == 0)
		printf("%s free\n", path);
	else
		printf("%s error %s\n", path, strerrorname_np(-r));
	inuse_free(locks);
	close(root);
	free(d);
	free(b);
	return 0;
}

int main(int argc, char **argv)
{
	struct inuse_id ids[64];
	dev_t devs[64];
	size_t n = 0, i;
	int all = 0, want = 0, repeat = 1, a, r;
	const char *mode = "";
	uint64_t deadline_ms = 0;
	struct inuse *u = NULL;

	for (a = 1; a < argc && argv[a][0] == '-'; a++) {
		if (!strcmp(argv[a], "--all"))
			all = 1;
		else if (!strcmp(argv[a], "--want"))
			want = 1;
		else if (!strcmp(argv[a], "--repeat") && a + 1 < argc)
			repeat = atoi(argv[++a]);
		else if (!strcmp(argv[a], "--deadline-ms") && a + 1 < argc)
			deadline_ms = strtoull(argv[++a], NULL, 10);
		else if (!strcmp(argv[a], "--probe") || !strcmp(argv[a], "--tasks") ||
			 !strcmp(argv[a], "--socks"))
			mode = argv[a] + 2;
	}
	for (i = 0; a + (int)i < argc && i < 64; i++) {
		const char *t = argv[a + i];
		unsigned ma, mi;
		unsigned long long ino;
		struct stat st;

		if (t[0] == '@' && sscanf(t + 1, "%u:%u:%llu", &ma, &mi, &ino) == 3) {
			ids[i] = (struct inuse_id){makedev(ma, mi), (ino_t)ino};
		} else if (lstat(t, &st) == 0) {
			ids[i] = (struct inuse_id){st.st_dev, st.st_ino};
		} else {
			perror(t);
			return 1;
		}
		devs[i] = ids[i].dev;
	}
	n = i;
	if (!strcmp(mode, "probe")) {
		for (i = 0; i < n; i++)
			if (probe(argv[a + i]))
				return 1;
		return 0;
	}
	if (!strcmp(mode, "tasks") || !strcmp(mode, "socks")) {
		uint64_t t0 = now_ns(), dl = deadline_ms ? t0 + deadline_ms * 1000000ULL : 0;
		struct inuse_tasks *t = NULL;
		struct inuse_socks *s = NULL;

		r = inuse_tasks_snapshot(-1, dl, &t);
		if (r == 0 && !strcmp(mode, "socks"))
			r = inuse_socks_snapshot(t, dl, &s);
		if (r < 0)
			return fprintf(stderr, "snapshot: %s\n", strerror(-r)), 1;
		fprintf(stderr, "%s_ms=%.3f tasks=%zu netns=%zu sockets=%zu complete=%d\n", mode,
			(now_ns() - t0) / 1e6, inuse_tasks_count(t), inuse_tasks_netns_count(t),
			s ? inuse_socks_count(s) : 0,
			s ? inuse_socks_complete(s) : inuse_tasks_complete(t));
		for (i = 0; i < n; i++) {
			enum inuse_reason why;
			struct inuse_id sock;
			pid_t pid;

			if (s && inuse_socks_lookup(s, ids[i].dev, ids[i].ino, &sock))
				printf("%s bound %llu\n", argv[a + i],
				       (unsigned long long)sock.ino);
			else if (!s && inuse_tasks_lookup(t, ids[i].dev, ids[i].ino, &why, &pid))
				printf("%s %s %d\n", argv[a + i], inuse_reason_str(why), (int)pid);
			else
				printf("%s none\n", argv[a + i]);
		}
		inuse_socks_free(s);
		inuse_tasks_free(t);
		return 0;
	}
	for (int k = 0; k < repeat; k++) {
		uint64_t t0 = now_ns();
		struct inuse_opts o = {
			.devs = devs, .n_devs = all ? 0 : n, .first_uid = (uid_t)-1,
			.deadline_ns = deadline_ms ? t0 + deadline_ms * 1000000ULL : 0,
		};
		if (want) {
			o.want = ids;
			o.n_want = n;
		}
		inuse_free(u);
		r = inuse_snapshot(&o, &u);
		if (r < 0) {
			fprintf(stderr, "inuse_snapshot: %s\n", strerror(-r));
			return 1;
		}
		const struct inuse_stats *s = inuse_get_stats(u);
		fprintf(stderr,
			"snapshot_ms=%.3f procs=%llu fds=%llu maps=%llu locks=%llu denied=%llu "
			"gone=%llu entries=%llu tasks=%llu timed_out=%d complete=%d\n",
			s->elapsed_ns / 1e6, (unsigned long long)s->procs,
			(unsigned long long)s->fds, (unsigned long long)s->maps,
			(unsigned long long)s->locks, (unsigned long long)s->procs_denied,
			(unsigned long long)s->procs_gone, (unsigned long long)s->entries,
			(unsigned long long)s->tasks, s->timed_out, inuse_complete(u));
	}
	for (i = 0; i < n; i++) {
		const char *reason;
		pid_t pid;

		if (inuse_lookup(u, ids[i].dev, ids[i].ino, &reason, &pid))
			printf("%s %s %d\n", argv[a + i], reason, (int)pid);
		else
			printf("%s none\n", argv[a + i]);
	}
	inuse_free(u);
	return 0;
}
