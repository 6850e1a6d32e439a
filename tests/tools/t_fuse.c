/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * t_fuse MOUNTPOINT UID GID [--allow-other] [--serve-as UID] LOG
 * A FUSE file system that answers FUSE_INIT and then takes every request and never
 * answers it: whoever enters it sleeps in the kernel, unkillable, until the connection
 * is aborted (/sys/fs/fuse/connections/N/abort) or this process ends. Mounted through
 * /dev/fuse for the user UID as fusermount does (user_id=, group_id=, nosuid, nodev,
 * allow_other or not); the root mode follows the mount point (a directory or a file).
 * After the mount it serves as UID when --serve-as says so. LOG gets "ready CONN" once
 * INIT is answered (CONN: the connection's name under fusectl), then one line per request
 * taken ("op OPCODE node NODEID pid PID uid UID"), so a test can tell whether anything
 * entered the mount.
 */
#include "util.h"

#include <fcntl.h>
#include <stdarg.h>
#include <linux/fuse.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

static FILE *logfile;

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(logfile, fmt, ap);
	va_end(ap);
	fputc('\n', logfile);
	fflush(logfile);
}

/* The connection's name under fusectl: the minor of the mount's device (major 0). */
static unsigned conn_of(const char *mnt)
{
	char line[8192];
	unsigned ma, mi, found = 0;
	FILE *f = fopen("/proc/self/mountinfo", "re");

	while (f && fgets(line, sizeof(line), f)) {
		char point[4096];

		if (sscanf(line, "%*d %*d %u:%u %*s %4095s", &ma, &mi, point) == 3 &&
		    streq(point, mnt) && strstr(line, " fuse."))
			found = mi;
	}
	if (f)
		fclose(f);
	return found;
}

int main(int argc, char **argv)
{
	static char buf[FUSE_MIN_READ_BUFFER + (1 << 20)];
	const char *mnt, *logpath;
	bool allow_other = false;
	uid_t uid, serve_as = (uid_t)-1;
	gid_t gid;
	struct stat st;
	char opts[256];
	int fd, a = 4;

	if (argc < 5)
		return fprintf(stderr, "usage: t_fuse MNT UID GID [--allow-other] [--serve-as UID] "
				       "LOG\n"), 2;
	mnt = argv[1];
	uid = (uid_t)strtoul(argv[2], NULL, 10);
	gid = (gid_t)strtoul(argv[3], NULL, 10);
	for (; a < argc - 1; a++) {
		if (streq(argv[a], "--allow-other"))
			allow_other = true;
		else if (streq(argv[a], "--serve-as") && a + 1 < argc - 1)
			serve_as = (uid_t)strtoul(argv[++a], NULL, 10);
		else
			return fprintf(stderr, "bad option %s\n", argv[a]), 2;
	}
	logpath = argv[argc - 1];
	logfile = fopen(logpath, "ae");
	if (!logfile)
		return perror(logpath), 1;
	if (lstat(mnt, &st) < 0)
		return perror(mnt), 1;
	fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return perror("/dev/fuse"), 1;
	snprintf(opts, sizeof(opts), "fd=%d,rootmode=%o,user_id=%u,group_id=%u%s", fd,
		 (unsigned)(st.st_mode & S_IFMT), (unsigned)uid, (unsigned)gid,
		 allow_other ? ",allow_other" : "");
	if (mount("t_fuse", mnt, "fuse.t_fuse", MS_NOSUID | MS_NODEV, opts) < 0)
		return perror("mount"), 1;
	if (serve_as != (uid_t)-1 && setresuid(serve_as, serve_as, serve_as) < 0)
		return perror("setresuid"), 1;
	for (;;) {
		struct fuse_in_header *in = (void *)buf;
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n < 0 && (errno == EINTR || errno == ENOENT))
			continue; /* ENOENT: a request that was interrupted meanwhile */
		if (n < 0) {
			say("end %s", strerror(errno)); /* ENODEV: aborted or unmounted */
			return 0;
		}
		if ((size_t)n < sizeof(*in))
			continue;
		if (in->opcode == FUSE_INIT) {
			struct {
				struct fuse_out_header h;
				struct fuse_init_out o;
			} r = {
				.h = {.len = sizeof(r), .unique = in->unique},
				.o = {.major = FUSE_KERNEL_VERSION, .minor = 31,
				      .max_readahead = 4096, .max_background = 16,
				      .congestion_threshold = 12, .max_write = 4096,
				      .time_gran = 1},
			};

			if (write(fd, &r, sizeof(r)) != (ssize_t)sizeof(r))
				return perror("init reply"), 1;
			say("ready %u", conn_of(mnt));
			continue;
		}
		/* Taken, never answered. */
		say("op %u node %llu pid %u uid %u", in->opcode, (unsigned long long)in->nodeid,
		    in->pid, in->uid);
	}
}
