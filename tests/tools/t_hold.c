/* SPDX-License-Identifier: GPL-2.0-or-later */
/* t_hold MODE FILE READY: put FILE in use, write "PID [MAJ:MIN:INO]\n" to READY, then
 * sleep until killed. MODE: open (fd kept), mmap (mapped, fd closed), flock, posix, ofd,
 * memfd (FILE ignored; READY also gets the memfd's dev:ino; mapped and open). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static void ready(const char *path, const char *extra)
{
	char tmp[4096];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "we");
	if (!f) {
		perror("ready");
		exit(1);
	}
	fprintf(f, "%d%s%s\n", (int)getpid(), extra ? " " : "", extra ? extra : "");
	fclose(f);
	if (rename(tmp, path) < 0) {
		perror("rename");
		exit(1);
	}
}

int main(int argc, char **argv)
{
	const char *mode, *file;
	char extra[64] = "";
	int fd;

	if (argc != 4) {
		fprintf(stderr, "usage: t_hold MODE FILE READY\n");
		return 2;
	}
	mode = argv[1];
	file = argv[2];
	if (!strcmp(mode, "memfd")) {
		struct stat st;
		void *p;

		fd = memfd_create("t_hold", MFD_CLOEXEC);
		if (fd < 0 || ftruncate(fd, 4096) < 0 || fstat(fd, &st) < 0)
			return perror("memfd"), 1;
		p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (p == MAP_FAILED)
			return perror("mmap"), 1;
		memset(p, 1, 4096);
		snprintf(extra, sizeof(extra), "%u:%u:%llu", major(st.st_dev), minor(st.st_dev),
			 (unsigned long long)st.st_ino);
		ready(argv[3], extra);
		for (;;)
			pause();
	}
	fd = open(file, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return perror(file), 1;
	if (!strcmp(mode, "open")) {
		/* nothing more */
	} else if (!strcmp(mode, "mmap")) {
		void *p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);

		if (p == MAP_FAILED)
			return perror("mmap"), 1;
		close(fd);
	} else if (!strcmp(mode, "flock")) {
		if (flock(fd, LOCK_EX) < 0)
			return perror("flock"), 1;
	} else if (!strcmp(mode, "posix") || !strcmp(mode, "ofd")) {
		struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };

		if (fcntl(fd, !strcmp(mode, "posix") ? F_SETLK : F_OFD_SETLK, &fl) < 0)
			return perror("lock"), 1;
	} else {
		fprintf(stderr, "unknown mode %s\n", mode);
		return 2;
	}
	ready(argv[3], NULL);
	for (;;)
		pause();
}
