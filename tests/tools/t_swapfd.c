/* SPDX-License-Identifier: GPL-2.0-or-later */
/* t_swapfd N TARGET READY GO: THREATS.md 33 against `explain`. Hold N memfds of 64 KiB
 * (shmem no path reaches, which explain lists through /proc/PID/fd/SLOT and then opens to
 * scan), each at a slot fd 100+i, write "PID\n" to READY; then, while the file GO exists,
 * swap every slot between its memfd and an O_PATH fd of TARGET (O_PATH needs no permission
 * on TARGET itself: a root-only FIFO or device will do). A root that opens
 * /proc/PID/fd/SLOT by path after looking at it opens TARGET, a quarter of the time for each
 * slot. Until killed. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	static char buf[1 << 16];
	int opath, n;
	FILE *f;

	if (argc != 5 || (n = atoi(argv[1])) < 1 || n > 64)
		return fprintf(stderr, "usage: t_swapfd N TARGET READY GO\n"), 2;
	opath = open(argv[2], O_PATH | O_CLOEXEC);
	if (opath < 0)
		return perror(argv[2]), 1;
	memset(buf, 0x5a, sizeof(buf));
	for (int i = 0; i < n; i++) {
		int mem = memfd_create("t_swapfd", MFD_CLOEXEC);

		if (mem < 0 || write(mem, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
			return perror("memfd"), 1;
		/* each memfd stays alive at 200+i, after its slot (fds are listed in order,
		 * an object once: by its slot whenever the slot holds it then) */
		if (dup2(mem, 200 + i) < 0 || dup2(mem, 100 + i) < 0)
			return perror("dup2"), 1;
		close(mem);
	}
	f = fopen(argv[3], "we");
	if (!f)
		return perror(argv[3]), 1;
	fprintf(f, "%d\n", (int)getpid());
	fclose(f);
	for (unsigned long k = 0;; k++) {
		if ((k & 1023) == 0 && access(argv[4], F_OK) < 0) {
			usleep(10000);
			continue;
		}
		for (int i = 0; i < n; i++)
			dup2(opath, 100 + i);
		for (int i = 0; i < n; i++)
			dup2(200 + i, 100 + i);
	}
}
