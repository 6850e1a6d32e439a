/* SPDX-License-Identifier: GPL-2.0-or-later */
/* t_openwatch FILE LOG READY: log "PID EXE" of every process that opens FILE (fanotify
 * FAN_OPEN, reported by file handle, so that the watch itself never opens FILE: a FIFO
 * stays unopened; EXE "?" when it is gone already), one line per open, until killed. READY is created once the watch is
 * set. Exits 77 when fanotify is not available. For tests that must know who opened a
 * FIFO, whatever other processes on the machine do. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/fanotify.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char buf[8192];
	FILE *log;
	int fd;

	if (argc != 4)
		return fprintf(stderr, "usage: t_openwatch FILE LOG READY\n"), 2;
	fd = fanotify_init(FAN_CLASS_NOTIF | FAN_REPORT_FID | FAN_CLOEXEC, O_RDONLY);
	if (fd < 0 || fanotify_mark(fd, FAN_MARK_ADD, FAN_OPEN, AT_FDCWD, argv[1]) < 0)
		return perror("fanotify"), 77;
	log = fopen(argv[2], "we");
	if (!log)
		return perror(argv[2]), 1;
	close(open(argv[3], O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		struct fanotify_event_metadata *m = (struct fanotify_event_metadata *)buf;

		if (n <= 0)
			return 1;
		for (; FAN_EVENT_OK(m, n); m = FAN_EVENT_NEXT(m, n)) {
			char path[64], exe[4096];
			ssize_t k;

			snprintf(path, sizeof(path), "/proc/%d/exe", (int)m->pid);
			k = readlink(path, exe, sizeof(exe) - 1);
			exe[k > 0 ? k : 0] = '\0';
			fprintf(log, "%d %s\n", (int)m->pid, k > 0 ? exe : "?");
		}
		fflush(log);
	}
}
