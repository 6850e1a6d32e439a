/* SPDX-License-Identifier: GPL-2.0-or-later */
/* t_hold MODE FILE READY: put FILE in use, write "PID [MAJ:MIN:INO]\n" to READY, then
 * sleep until killed. MODE: open (fd kept), mmap (mapped, fd closed), flock, posix, ofd,
 * memfd (FILE ignored; READY also gets the memfd's dev:ino; mapped and open); the uses
 * the leader's /proc/PID/fd does not show (THREATS.md 32):
 *   thread-exit  a thread opens and maps FILE, then the leader calls pthread_exit
 *   unshare      a thread does unshare(CLONE_FILES) and opens FILE in its own table
 *   uring        FILE registered as an io_uring fixed file, the fd closed
 *   scm          FILE's fd sent in an SCM_RIGHTS message nobody receives, the fd closed
 *   bind         a UNIX stream socket listening at FILE (created)
 *   cwd          FILE (a directory) is the working directory, nothing open
 * READY is written by the thread that holds FILE (its pid is the thread group's). */
#include <linux/io_uring.h>
#include <pthread.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
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

static const char *g_file, *g_ready;

static void *thread_main(void *arg)
{
	int fd;

	if (arg && unshare(CLONE_FILES) < 0)
		perror("unshare"), exit(1);
	fd = open(g_file, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		perror(g_file), exit(1);
	if (!arg && mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0) == MAP_FAILED)
		perror("mmap"), exit(1);
	ready(g_ready, NULL);
	for (;;)
		pause();
	return NULL;
}

static int scm_in_flight(int fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = {0}, x = 'x';
	struct iovec iov = {.iov_base = &x, .iov_len = 1};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			    .msg_controllen = sizeof(cbuf)};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(fd));
	return sendmsg(sv[0], &mh, 0) == 1 ? 0 : -1;
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
	g_file = file;
	g_ready = argv[3];
	if (!strcmp(mode, "thread-exit") || !strcmp(mode, "unshare")) {
		pthread_t t;

		if (pthread_create(&t, NULL, thread_main, !strcmp(mode, "unshare") ? &t : NULL))
			return perror("pthread_create"), 1;
		if (!strcmp(mode, "thread-exit"))
			pthread_exit(NULL);
		for (;;)
			pause();
	}
	if (!strcmp(mode, "bind")) {
		struct sockaddr_un a = {.sun_family = AF_UNIX};
		int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

		snprintf(a.sun_path, sizeof(a.sun_path), "%s", file);
		if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(s, 4) < 0)
			return perror("bind"), 1;
		ready(argv[3], NULL);
		for (;;)
			pause();
	}
	if (!strcmp(mode, "cwd")) {
		if (chdir(file) < 0)
			return perror(file), 1;
		ready(argv[3], NULL);
		for (;;)
			pause();
	}
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
	} else if (!strcmp(mode, "uring")) {
		struct io_uring_params p = {0};
		int ring = (int)syscall(__NR_io_uring_setup, 2, &p);

		if (ring < 0 ||
		    syscall(__NR_io_uring_register, ring, IORING_REGISTER_FILES, &fd, 1) < 0)
			return perror("io_uring"), 1;
		close(fd);
	} else if (!strcmp(mode, "scm")) {
		if (scm_in_flight(fd) < 0)
			return perror("sendmsg"), 1;
		close(fd);
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
