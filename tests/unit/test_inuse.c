/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests (no root needed; a few cases need root and are skipped without it): the
 * /proc/PID/maps, /proc/locks and sock_diag parsers; the /proc pass that sees a file open,
 * mapped, flocked or leased by a child, in a thread's own fd table or an exited leader's
 * thread, stops once it found what it wanted, and keeps its deadline; the lease probe
 * against every kind of holder (open, mapped, io_uring fixed file, fd in flight, a thread
 * with its own fd table, an exited leader's thread), that never opens a FIFO swapped in,
 * never breaks a lease and survives the SIGIO of a lease break; the task table (cwd) and
 * the socket table (a bound socket, also in another network namespace). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "inuse.h"
#include "util.h"

#include <fcntl.h>
#include <linux/io_uring.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>

static void test_parse_maps(void **state)
{
	dev_t dev;
	ino_t ino;

	assert_int_equal(inuse_parse_maps_line("7f0000000000-7f0000001000 r--s 00000000 00:2a "
					       "12345                      /dev/shm/x\n",
					       &dev, &ino), 0);
	assert_int_equal(major(dev), 0);
	assert_int_equal(minor(dev), 0x2a);
	assert_int_equal(ino, 12345);
	assert_int_equal(inuse_parse_maps_line("7f00-7f01 rw-s 00000000 00:01 77 /memfd:x (deleted)",
					       &dev, &ino), 0);
	assert_int_equal(minor(dev), 1);
	assert_int_equal(ino, 77);
	/* major above 255 (hex, 3 digits) */
	assert_int_equal(inuse_parse_maps_line("1000-2000 r-xp 00001000 103:02 9 /usr/bin/x",
					       &dev, &ino), 0);
	assert_int_equal(major(dev), 0x103);
	assert_int_equal(minor(dev), 2);
	/* path containing spaces and a newline-ish name does not matter: fields come first */
	assert_int_equal(inuse_parse_maps_line("1000-2000 r--s 0 00:2a 5 /tmp/a b c", &dev, &ino),
			 0);
	assert_int_equal(ino, 5);
	assert_int_equal(inuse_parse_maps_line("7ffd-7ffe rw-p 00000000 00:00 0   [stack]", &dev,
					       &ino), -ENOENT);
	assert_int_equal(inuse_parse_maps_line("garbage", &dev, &ino), -EINVAL);
	assert_int_equal(inuse_parse_maps_line("1-2 r--p 0 zz:2a 5", &dev, &ino), -EINVAL);
	assert_int_equal(inuse_parse_maps_line("", &dev, &ino), -EINVAL);
}

static void test_parse_locks(void **state)
{
	enum inuse_reason r;
	dev_t dev;
	ino_t ino;
	pid_t pid;

	assert_int_equal(inuse_parse_locks_line("1: POSIX  ADVISORY  WRITE 19254 00:27:5 0 EOF",
						&dev, &ino, &pid, &r), 0);
	assert_int_equal(r, INUSE_LOCKED);
	assert_int_equal(pid, 19254);
	assert_int_equal(minor(dev), 0x27);
	assert_int_equal(ino, 5);
	assert_int_equal(inuse_parse_locks_line("2: FLOCK  ADVISORY  WRITE 7 fd:01:123 0 EOF\n",
						&dev, &ino, &pid, &r), 0);
	assert_int_equal(major(dev), 0xfd);
	assert_int_equal(ino, 123);
	assert_int_equal(inuse_parse_locks_line("3: LEASE  ACTIVE    WRITE 9 00:27:8 0 EOF", &dev,
						&ino, &pid, &r), 0);
	assert_int_equal(r, INUSE_LEASED);
	assert_int_equal(inuse_parse_locks_line("4: DELEG  ACTIVE    READ 9 00:27:8 0 EOF", &dev,
						&ino, &pid, &r), 0);
	assert_int_equal(r, INUSE_LEASED);
	assert_int_equal(inuse_parse_locks_line("5: OFDLCK ADVISORY  WRITE -1 00:27:6 0 EOF",
						&dev, &ino, &pid, &r), 0);
	assert_int_equal(pid, -1);
	assert_int_equal(r, INUSE_LOCKED);
	assert_int_equal(inuse_parse_locks_line("6: -> FLOCK  ADVISORY  WRITE 11 00:27:4 0 EOF",
						&dev, &ino, &pid, &r), 0);
	assert_int_equal(pid, 11);
	assert_int_equal(ino, 4);
	assert_int_equal(inuse_parse_locks_line("7: POSIX  ADVISORY  WRITE 3 <none>:0 0 EOF", &dev,
						&ino, &pid, &r), -ENOENT);
	assert_int_equal(inuse_parse_locks_line("8: POSIX", &dev, &ino, &pid, &r), -EINVAL);
	assert_int_equal(inuse_parse_locks_line("", &dev, &ino, &pid, &r), -EINVAL);
}

static char dir[64];

/* On a tmpfs (what the probe is for): /dev/shm. */
static int setup(void **state)
{
	strcpy(dir, "/dev/shm/tsw-test-inuse.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

/* Holders still running: a failed assertion leaves a test early, teardown ends them. */
static pid_t kids[8];
static size_t n_kids;

static int teardown(void **state)
{
	char cmd[128];

	for (size_t i = 0; i < n_kids; i++) {
		kill(kids[i], SIGKILL);
		waitpid(kids[i], NULL, 0);
	}
	n_kids = 0;

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static volatile sig_atomic_t child_got_io;
static void on_io(int sig)
{
	child_got_io = 1;
}

/* A child that puts `path` in use per mode, then reports on the pipe and waits for
 * SIGTERM; exits 3 if it ever got SIGIO (lease broken). */
static pid_t holder(const char *path, const char *mode)
{
	int p[2];
	pid_t pid;
	char c;

	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		int fd = open(path, O_RDONLY | O_CLOEXEC);

		prctl(PR_SET_PDEATHSIG, SIGKILL); /* and if the test itself is killed */

		signal(SIGIO, on_io);
		if (fd < 0)
			_exit(1);
		if (streq(mode, "mmap")) {
			if (mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0) == MAP_FAILED)
				_exit(1);
			close(fd);
		} else if (streq(mode, "flock")) {
			if (flock(fd, LOCK_SH) < 0)
				_exit(1);
		} else if (streq(mode, "lease")) {
			if (fcntl(fd, F_SETLEASE, F_RDLCK) < 0)
				_exit(1);
		}
		(void)!write(p[1], "r", 1);
		pause();
		_exit(child_got_io ? 3 : 0);
	}
	if (n_kids < ARRAY_SIZE(kids))
		kids[n_kids++] = pid;
	close(p[1]);
	assert_int_equal(read(p[0], &c, 1), 1);
	close(p[0]);
	return pid;
}

static void stop(pid_t pid, int want_status)
{
	int st;

	for (size_t i = 0; i < n_kids; i++)
		if (kids[i] == pid)
			kids[i] = kids[--n_kids];
	kill(pid, SIGTERM);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	/* SIGTERM kills it: a broken lease would have made pause() return with exit 3 */
	assert_true(WIFSIGNALED(st) || WEXITSTATUS(st) == want_status);
	assert_false(WIFEXITED(st) && WEXITSTATUS(st) == 3);
}


/* /proc/locks as a fake proc directory holds it: read in pieces, lines across the pieces,
 * a last line without its newline; filtered by device. */
static void test_locks_streamed(void **state)
{
	struct inuse_opts o = {.first_uid = (uid_t)-1, .locks_only = true};
	dev_t dev = makedev(0, 0x27);
	char path[128];
	struct inuse *u;
	FILE *f;
	int pfd;

	o.devs = &dev;
	o.n_devs = 1;
	snprintf(path, sizeof(path), "%s/locks", dir);
	f = fopen(path, "we");
	assert_non_null(f);
	for (int i = 1; i <= 5000; i++) /* ~300 KB */
		fprintf(f, "%d: POSIX  ADVISORY  WRITE %d 00:%s:%d 0 EOF\n", i, 100 + i,
			i % 2 ? "27" : "28", i);
	fprintf(f, "5001: LEASE  ACTIVE    WRITE 77 00:27:99999 0 EOF"); /* no newline */
	fclose(f);
	pfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(pfd >= 0);
	assert_int_equal(inuse_snapshot_at(pfd, 0, &o, &u), 0);
	assert_int_equal(inuse_get_stats(u)->locks, 5001);
	assert_int_equal(inuse_get_stats(u)->entries, 2501);
	for (int i = 1; i <= 5000; i++) {
		pid_t pid = 0;
		bool hit = inuse_lookup(u, dev, (ino_t)i, NULL, &pid);

		assert_true(hit == (i % 2 == 1));
		if (hit)
			assert_int_equal(pid, 100 + i);
	}
	{
		const char *why;
		assert_true(inuse_lookup(u, dev, 99999, &why, NULL));
		assert_string_equal(why, "leased");
	}
	assert_true(inuse_complete(u));
	inuse_free(u);
	/* out of time between two pieces: not complete */
	o.deadline_ns = 1;
	assert_int_equal(inuse_snapshot_at(pfd, 0, &o, &u), 0);
	assert_true(inuse_get_stats(u)->timed_out);
	assert_false(inuse_complete(u));
	inuse_free(u);
	close(pfd);
}

static void mkfile(const char *path, struct stat *st)
{
	int fd = open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 4096), 0);
	close(fd);
	if (st)
		assert_int_equal(stat(path, st), 0);
}

static void test_snapshot_live(void **state)
{
	static const char *const modes[] = { "open", "mmap", "flock", "lease" };
	static const char *const want[] = { "open", "mapped", "locked", "leased" };
	struct inuse_opts o = {.n_devs = 1, .first_uid = (uid_t)-1};
	char paths[5][128];
	struct stat st[5];
	pid_t pids[4];
	struct inuse *u;
	dev_t dev;
	int i;

	for (i = 0; i < 5; i++) {
		snprintf(paths[i], sizeof(paths[i]), "%s/f%d", dir, i);
		mkfile(paths[i], &st[i]);
	}
	for (i = 0; i < 4; i++)
		pids[i] = holder(paths[i], modes[i]);
	dev = st[0].st_dev;
	o.devs = &dev;
	assert_int_equal(inuse_snapshot(&o, &u), 0);
	for (i = 0; i < 4; i++) {
		const char *reason = NULL;
		pid_t pid = 0;

		assert_true(inuse_lookup(u, dev, st[i].st_ino, &reason, &pid));
		assert_string_equal(reason, want[i]);
		assert_int_equal(pid, pids[i]);
	}
	assert_false(inuse_lookup(u, dev, st[4].st_ino, NULL, NULL));
	assert_true(inuse_get_stats(u)->procs > 0);
	assert_false(inuse_get_stats(u)->timed_out);
	inuse_free(u);
	for (i = 0; i < 4; i++)
		stop(pids[i], 0);
}

static void test_snapshot_other_dev_filtered(void **state)
{
	struct inuse_opts o = {.first_uid = (uid_t)-1};
	char path[128];
	struct stat st;
	struct inuse *u;
	dev_t other = makedev(0, 0xfffff);
	pid_t pid;

	snprintf(path, sizeof(path), "%s/g", dir);
	mkfile(path, &st);
	pid = holder(path, "open");
	o.devs = &other;
	o.n_devs = 1;
	assert_int_equal(inuse_snapshot(&o, &u), 0);
	assert_false(inuse_lookup(u, st.st_dev, st.st_ino, NULL, NULL));
	assert_int_equal(inuse_get_stats(u)->entries, 0);
	inuse_free(u);
	/* n == 0: every device */
	o.n_devs = 0;
	assert_int_equal(inuse_snapshot(&o, &u), 0);
	assert_true(inuse_lookup(u, st.st_dev, st.st_ino, NULL, NULL));
	inuse_free(u);
	stop(pid, 0);
}

static void test_own_process_skipped(void **state)
{
	struct inuse_opts o = {.n_devs = 1, .first_uid = (uid_t)-1};
	char path[128];
	struct stat st;
	struct inuse *u;
	int fd;

	snprintf(path, sizeof(path), "%s/self", dir);
	fd = open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	o.devs = &st.st_dev;
	assert_int_equal(inuse_snapshot(&o, &u), 0);
	assert_false(inuse_lookup(u, st.st_dev, st.st_ino, NULL, NULL));
	inuse_free(u);
	close(fd);
}

/* ---- holders the leader's /proc/PID/fd does not show ---- */

static const char *thread_path;
static int thread_ready[2];

/* A thread that opens and maps thread_path; with unshare, in an fd table of its own. */
static void *thread_main(void *arg)
{
	bool own_table = arg != NULL;
	int fd;

	if (own_table && unshare(CLONE_FILES) < 0)
		_exit(1);
	fd = open(thread_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		_exit(1);
	if (!own_table && mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0) == MAP_FAILED)
		_exit(1);
	(void)!write(thread_ready[1], "r", 1);
	for (;;)
		pause();
	return NULL;
}

static bool io_uring_usable(void)
{
	struct io_uring_params p = {0};
	int fd = (int)syscall(__NR_io_uring_setup, 2, &p);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

/* A child holding path the way mode says, with no fd of its own left where noted. */
static pid_t hold2(const char *path, const char *mode)
{
	char c;
	pid_t pid;

	thread_path = path;
	assert_int_equal(pipe(thread_ready), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		int fd;

		if (streq(mode, "unshare") || streq(mode, "leader-exit")) {
			pthread_t t;

			if (pthread_create(&t, NULL, thread_main,
					   streq(mode, "unshare") ? (void *)1 : NULL) != 0)
				_exit(1);
			if (streq(mode, "leader-exit"))
				pthread_exit(NULL); /* the leader is a zombie; the thread lives */
			for (;;)
				pause();
		}
		fd = open(path, streq(mode, "opath") ? O_PATH | O_CLOEXEC : O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			_exit(1);
		if (streq(mode, "uring")) {
			struct io_uring_params p = {0};
			int ring = (int)syscall(__NR_io_uring_setup, 2, &p);

			if (ring < 0 || syscall(__NR_io_uring_register, ring, IORING_REGISTER_FILES,
						&fd, 1) < 0)
				_exit(1);
			close(fd);
		} else if (streq(mode, "scm")) {
			char cbuf[CMSG_SPACE(sizeof(int))] = {0};
			char x = 1;
			struct iovec iov = {.iov_base = &x, .iov_len = 1};
			struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
					    .msg_controllen = sizeof(cbuf)};
			struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
			int sv[2];

			if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) < 0)
				_exit(1);
			cm->cmsg_level = SOL_SOCKET;
			cm->cmsg_type = SCM_RIGHTS;
			cm->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(cm), &fd, sizeof(fd));
			if (sendmsg(sv[0], &mh, 0) != 1)
				_exit(1);
			close(fd); /* only in flight now, never received */
		}
		(void)!write(thread_ready[1], "r", 1);
		for (;;)
			pause();
	}
	close(thread_ready[1]);
	assert_int_equal(read(thread_ready[0], &c, 1), 1);
	close(thread_ready[0]);
	return pid;
}

static void reap(pid_t pid)
{
	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
}

/* parent "." of path's directory, as the sweep calls it */
static int probe(const char *name, enum inuse_reason *why)
{
	struct inuse_id pid_, id;
	struct inuse *locks = NULL;
	struct stat st, pst;
	char path[256];
	int root, r;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	root = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	assert_true(root >= 0);
	assert_int_equal(fstat(root, &pst), 0);
	assert_int_equal(lstat(path, &st), 0);
	pid_ = (struct inuse_id){pst.st_dev, pst.st_ino};
	id = (struct inuse_id){st.st_dev, st.st_ino};
	assert_int_equal(inuse_snapshot_locks(&st.st_dev, 1, &locks), 0);
	*why = INUSE_NONE;
	r = inuse_probe_file(root, ".", name, &pid_, &id, locks, why);
	inuse_free(locks);
	close(root);
	return r;
}

static void test_probe_holders(void **state)
{
	static const char *const modes[] = {"open", "mmap", "uring", "scm", "unshare",
					    "leader-exit"};
	enum inuse_reason why;
	char path[128];

	snprintf(path, sizeof(path), "%s/p", dir);
	mkfile(path, NULL);
	assert_int_equal(probe("p", &why), 0);
	for (size_t i = 0; i < ARRAY_SIZE(modes); i++) {
		pid_t pid;

		if (streq(modes[i], "uring") && !io_uring_usable()) {
			print_message("io_uring unavailable: not tried\n");
			continue;
		}
		pid = streq(modes[i], "mmap") ? holder(path, "mmap") : hold2(path, modes[i]);
		assert_int_equal(probe("p", &why), 1);
		assert_int_equal(why, INUSE_OPEN);
		reap(pid);
		/* free again once the holder is gone (an io_uring and a socket with an fd in
		 * flight let go of it a little later: from a workqueue) */
		for (int k = 0; k < 200 && probe("p", &why) != 0; k++)
			usleep(10 * 1000);
		assert_int_equal(probe("p", &why), 0);
	}
	/* an O_PATH fd cannot read, write or map: not a use */
	{
		pid_t pid = hold2(path, "opath");

		assert_int_equal(probe("p", &why), 0);
		reap(pid);
	}
}

static void test_probe_lease_not_broken(void **state)
{
	enum inuse_reason why;
	char path[128];
	pid_t pid;

	snprintf(path, sizeof(path), "%s/l", dir);
	mkfile(path, NULL);
	pid = holder(path, "lease");
	assert_int_equal(probe("l", &why), 1);
	assert_int_equal(why, INUSE_LEASED);
	usleep(100 * 1000);
	stop(pid, 0); /* exit 3 had the lease been broken */
}

/* Until pid sleeps in the open of a FIFO (its wchan says so). */
static void wait_blocked_in_open(pid_t pid)
{
	char path[64], buf[64] = "";

	snprintf(path, sizeof(path), "/proc/%d/wchan", (int)pid);
	for (int i = 0; i < 500; i++) {
		FILE *f = fopen(path, "re");

		if (f) {
			size_t n = fread(buf, 1, sizeof(buf) - 1, f);
			buf[n] = '\0';
			fclose(f);
		}
		if (strstr(buf, "fifo") || strstr(buf, "pipe") || strstr(buf, "partner"))
			return;
		usleep(10 * 1000);
	}
	print_message("wchan: %s\n", buf);
	fail();
}

static void test_probe_never_opens_swapped(void **state)
{
	char path[128], fifo[128];
	struct inuse_id pid_, id;
	struct inuse *locks = NULL;
	struct stat st, pst;
	int root, st_w;
	pid_t w;

	snprintf(path, sizeof(path), "%s/x", dir);
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	mkfile(path, &st);
	root = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	assert_int_equal(fstat(root, &pst), 0);
	pid_ = (struct inuse_id){pst.st_dev, pst.st_ino};
	id = (struct inuse_id){st.st_dev, st.st_ino};
	assert_int_equal(inuse_snapshot_locks(&st.st_dev, 1, &locks), 0);
	/* A FIFO exchanged in under the name, a writer blocked in open() on it. */
	assert_int_equal(mkfifo(fifo, 0666), 0);
	w = fork();
	assert_true(w >= 0);
	if (w == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		_exit(open(fifo, O_WRONLY) >= 0 ? 7 : 1);
	}
	wait_blocked_in_open(w);
	assert_int_equal(renameat2(AT_FDCWD, fifo, AT_FDCWD, path, RENAME_EXCHANGE), 0);
	{
		enum inuse_reason why;

		assert_int_equal(inuse_probe_file(root, ".", "x", &pid_, &id, locks, &why),
				 -ESTALE);
	}
	usleep(100 * 1000);
	assert_int_equal(waitpid(w, &st_w, WNOHANG), 0); /* still blocked: never opened */
	/* the parent is another directory now */
	{
		struct inuse_id other = {pst.st_dev, pst.st_ino + 1000000};
		enum inuse_reason why;

		assert_int_equal(inuse_probe_file(root, ".", "fifo", &other, &id, locks, &why),
				 -ESTALE);
		/* the file itself, now named fifo: still that file, and free */
		assert_int_equal(inuse_probe_file(root, ".", "fifo", &pid_, &id, locks, &why), 0);
		/* a symlink to it is never followed; gone is gone */
		assert_int_equal(symlinkat("fifo", root, "ln"), 0);
		assert_int_equal(inuse_probe_file(root, ".", "ln", &pid_, &id, locks, &why),
				 -ESTALE);
		assert_int_equal(inuse_probe_file(root, ".", "nope", &pid_, &id, locks, &why),
				 -ENOENT);
	}
	reap(w);
	inuse_free(locks);
	close(root);
}


/* While a child opens and closes the file in a loop, thousands of probes: whenever an open
 * lands while the probe holds its lease, the kernel sends us SIGIO (default action:
 * terminate). The probe must block and consume it. */
static void test_probe_survives_lease_break(void **state)
{
	enum inuse_reason why;
	unsigned busy = 0, free_ = 0;
	char path[128];
	sigset_t pend;
	pid_t opener;

	snprintf(path, sizeof(path), "%s/b", dir);
	mkfile(path, NULL);
	assert_true(signal(SIGIO, SIG_DFL) != SIG_ERR);
	opener = fork();
	assert_true(opener >= 0);
	if (opener == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		for (;;) {
			int fd = open(path, O_RDONLY | O_CLOEXEC);
			if (fd >= 0)
				close(fd);
		}
	}
	for (int i = 0; i < 20000; i++) {
		int r = probe("b", &why);

		assert_true(r == 0 || r == 1);
		busy += r == 1;
		free_ += r == 0;
	}
	reap(opener);
	print_message("probes: %u busy, %u free\n", busy, free_);
	assert_true(free_ > 0); /* leases were taken: the race was run */
	sigpending(&pend);
	assert_false(sigismember(&pend, SIGIO));
}

/* ---- the /proc pass finds what the leader's fd table does not show ---- */

static void test_snapshot_threads(void **state)
{
	static const char *const modes[] = {"unshare", "leader-exit"};
	char path[128];
	struct stat st;

	snprintf(path, sizeof(path), "%s/t", dir);
	mkfile(path, &st);
	for (size_t i = 0; i < ARRAY_SIZE(modes); i++) {
		struct inuse_id want = {st.st_dev, st.st_ino};
		struct inuse_opts o = {.want = &want, .n_want = 1, .first_uid = getuid()};
		const char *reason;
		struct inuse *u;
		pid_t pid = hold2(path, modes[i]), who;

		assert_int_equal(inuse_snapshot(&o, &u), 0);
		assert_true(inuse_lookup(u, st.st_dev, st.st_ino, &reason, &who));
		/* the thread, not the leader */
		assert_true(who != pid && who > 0);
		assert_true(inuse_get_stats(u)->all_found);
		assert_true(inuse_complete(u));
		inuse_free(u);
		reap(pid);
	}
}

static void test_snapshot_deadline(void **state)
{
	struct inuse_id want = {makedev(0, 0xffff), 12345};
	struct inuse_opts o = {.want = &want, .n_want = 1, .first_uid = (uid_t)-1,
			       .deadline_ns = 1 /* long past */};
	struct inuse *u;

	assert_int_equal(inuse_snapshot(&o, &u), 0);
	assert_true(inuse_get_stats(u)->timed_out);
	assert_false(inuse_complete(u));
	assert_false(inuse_lookup(u, want.dev, want.ino, NULL, NULL));
	inuse_free(u);
	/* without a deadline: complete, and nothing found */
	o.deadline_ns = 0;
	assert_int_equal(inuse_snapshot(&o, &u), 0);
	assert_false(inuse_get_stats(u)->timed_out);
	assert_false(inuse_get_stats(u)->all_found);
	inuse_free(u);
}

/* ---- directories: a task's cwd ---- */

static void test_tasks_cwd(void **state)
{
	char sub[128], other[128];
	struct inuse_tasks *t;
	struct stat st, ost;
	enum inuse_reason why;
	int p[2];
	pid_t pid, who;
	char c;

	snprintf(sub, sizeof(sub), "%s/cwd", dir);
	snprintf(other, sizeof(other), "%s/nobody", dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	assert_int_equal(mkdir(other, 0700), 0);
	assert_int_equal(stat(sub, &st), 0);
	assert_int_equal(stat(other, &ost), 0);
	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		/* a background job whose working directory it is */
		if (chdir(sub) < 0)
			_exit(1);
		(void)!write(p[1], "r", 1);
		for (;;)
			pause();
	}
	close(p[1]);
	assert_int_equal(read(p[0], &c, 1), 1);
	close(p[0]);
	assert_int_equal(inuse_tasks_snapshot(-1, 0, &t), 0);
	assert_true(inuse_tasks_complete(t));
	assert_true(inuse_tasks_lookup(t, st.st_dev, st.st_ino, &why, &who));
	assert_int_equal(why, INUSE_CWD);
	assert_int_equal(who, pid);
	assert_false(inuse_tasks_lookup(t, ost.st_dev, ost.st_ino, NULL, NULL));
	assert_true(inuse_tasks_netns_count(t) >= 1);
	inuse_tasks_free(t);
	reap(pid);
	assert_int_equal(inuse_tasks_snapshot(-1, 0, &t), 0);
	assert_false(inuse_tasks_lookup(t, st.st_dev, st.st_ino, NULL, NULL));
	inuse_tasks_free(t);
	/* out of time: incomplete, never "nobody" */
	assert_int_equal(inuse_tasks_snapshot(-1, 1, &t), 0);
	assert_false(inuse_tasks_complete(t));
	inuse_tasks_free(t);
}

/* ---- UNIX sockets ---- */

static pid_t bind_child(const char *path, bool new_netns)
{
	int p[2];
	pid_t pid;
	char c;

	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		struct sockaddr_un a = {.sun_family = AF_UNIX};
		int s;

		if (new_netns && unshare(CLONE_NEWNET) < 0)
			_exit(1);
		s = socket(AF_UNIX, SOCK_STREAM, 0);
		snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
		if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(s, 1) < 0)
			_exit(1);
		(void)!write(p[1], "r", 1);
		for (;;)
			pause();
	}
	close(p[1]);
	assert_int_equal(read(p[0], &c, 1), 1);
	close(p[0]);
	return pid;
}

static void test_socks(void **state)
{
	char path[128], path2[128];
	struct inuse_tasks *t;
	struct inuse_socks *s;
	struct inuse_id sock;
	struct stat st, st2;
	pid_t pid, pid2 = 0;

	snprintf(path, sizeof(path), "%s/s.sock", dir);
	snprintf(path2, sizeof(path2), "%s/s2.sock", dir);
	pid = bind_child(path, false);
	assert_int_equal(stat(path, &st), 0);
	if (geteuid() == 0) {
		pid2 = bind_child(path2, true);
		assert_int_equal(stat(path2, &st2), 0);
	}
	assert_int_equal(inuse_tasks_snapshot(-1, 0, &t), 0);
	assert_int_equal(inuse_socks_snapshot(t, 0, &s), 0);
	assert_true(inuse_socks_complete(s));
	assert_true(inuse_socks_lookup(s, st.st_dev, st.st_ino, &sock));
	assert_true(sock.ino > 0);
	if (pid2) /* only a child that joined the other namespace sees this one */
		assert_true(inuse_socks_lookup(s, st2.st_dev, st2.st_ino, NULL));
	inuse_socks_free(s);
	inuse_tasks_free(t);
	reap(pid);
	if (pid2)
		reap(pid2);
	/* the servers are gone: the socket files remain, bound to nothing */
	assert_int_equal(inuse_tasks_snapshot(-1, 0, &t), 0);
	assert_int_equal(inuse_socks_snapshot(t, 0, &s), 0);
	assert_false(inuse_socks_lookup(s, st.st_dev, st.st_ino, NULL));
	if (pid2)
		assert_false(inuse_socks_lookup(s, st2.st_dev, st2.st_ino, NULL));
	inuse_socks_free(s);
	inuse_tasks_free(t);
}

static int collect(const struct inuse_id *id, uint64_t sock, void *ud)
{
	struct inuse_id *out = ud;

	out->dev = id->dev;
	out->ino = id->ino;
	assert_int_equal(sock, 4242);
	return 0;
}

static void test_parse_unix_diag(void **state)
{
	struct {
		struct nlmsghdr h;
		struct unix_diag_msg m;
		struct rtattr a;
		struct unix_diag_vfs v;
		struct nlmsghdr done;
		int pad;
	} b;
	struct inuse_id got = {0};

	memset(&b, 0, sizeof(b));
	b.h.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	b.h.nlmsg_len = NLMSG_LENGTH(sizeof(b.m) + RTA_LENGTH(sizeof(b.v)));
	b.m.udiag_ino = 4242;
	b.a.rta_type = UNIX_DIAG_VFS;
	b.a.rta_len = RTA_LENGTH(sizeof(b.v));
	b.v.udiag_vfs_dev = (0u << 20) | 26; /* the kernel's dev_t: 0:26 */
	b.v.udiag_vfs_ino = 5;
	/* one record, more to come */
	assert_int_equal(inuse_parse_unix_diag(&b, b.h.nlmsg_len, collect, &got), 0);
	assert_true(got.dev == makedev(0, 26) && got.ino == 5);
	/* then NLMSG_DONE */
	b.done.nlmsg_type = NLMSG_DONE;
	b.done.nlmsg_len = NLMSG_LENGTH(sizeof(int));
	assert_int_equal(inuse_parse_unix_diag(&b, b.h.nlmsg_len + b.done.nlmsg_len, collect, &got),
			 1);
	/* a truncated message */
	assert_int_equal(inuse_parse_unix_diag(&b, b.h.nlmsg_len - 4, collect, &got), -EBADMSG);
	/* an error answer */
	{
		struct {
			struct nlmsghdr h;
			struct nlmsgerr e;
		} e = {.h = {.nlmsg_len = NLMSG_LENGTH(sizeof(struct nlmsgerr)),
			     .nlmsg_type = NLMSG_ERROR},
		       .e = {.error = -EPERM}};

		assert_int_equal(inuse_parse_unix_diag(&e, e.h.nlmsg_len, collect, &got), -EPERM);
	}
}

static void test_comm(void **state)
{
	char comm[17];
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		prctl(PR_SET_NAME, "a\033[31mb\nc");
		for (;;)
			pause();
	}
	usleep(100 * 1000);
	inuse_comm(pid, comm);
	/* the name's own bytes (escaping is the printer's job), its newline too */
	assert_string_equal(comm, "a\033[31mb\nc");
	reap(pid);
	inuse_comm(pid, comm);
	assert_string_equal(comm, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_maps),
		cmocka_unit_test(test_parse_locks),
		cmocka_unit_test(test_parse_unix_diag),
		cmocka_unit_test_setup_teardown(test_locks_streamed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_snapshot_live, setup, teardown),
		cmocka_unit_test_setup_teardown(test_snapshot_other_dev_filtered, setup, teardown),
		cmocka_unit_test_setup_teardown(test_own_process_skipped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_snapshot_threads, setup, teardown),
		cmocka_unit_test(test_snapshot_deadline),
		cmocka_unit_test_setup_teardown(test_probe_holders, setup, teardown),
		cmocka_unit_test_setup_teardown(test_probe_lease_not_broken, setup, teardown),
		cmocka_unit_test_setup_teardown(test_probe_never_opens_swapped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_probe_survives_lease_break, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tasks_cwd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_socks, setup, teardown),
		cmocka_unit_test(test_comm),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
