/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * remove.c: one child per batch. Between fork and _exit the child only makes system
 * calls on memory it inherited (the tables and one path buffer the parent made for it),
 * so it is safe to fork from the single-threaded helper (the io-wq workers of a walk's
 * statx ring, freed before removal, are kernel threads that run no user code); nothing
 * here allocates in the child.
 *
 * Why a child with the user's filesystem identity: between our last statx and unlinkat
 * the user (or a second account) can rename another file into place. unlinkat() has no
 * "only if this inode" form, so the guarantee comes from the kernel: the child can only
 * unlink what the user could have unlinked anyway. With RemoveAs root that race
 * remains (window: one statx + unlinkat), which is why user is the default.
 *
 * Why only the filesystem identity: a child whose real, effective and saved uid were
 * the user's could be stopped (SIGSTOP), killed or reniced by the user at any point of
 * the batch, and the user would choose the point. With setfsuid/setfsgid/setgroups the
 * permission checks, the sticky bit among them, are the user's (the kernel drops
 * CAP_DAC_OVERRIDE, CAP_FOWNER and the other file capabilities from the effective set
 * when the fsuid leaves 0; we drop every capability besides), while the process stays
 * root's to signal.
 *
 * Why the entry is pinned with O_PATH and asked through its fd: statx by name follows a
 * mount on the name, and a FUSE file system the user mounted there after the walk would
 * take the request and never answer: the child would sleep in the kernel, unkillable.
 * openat2 with RESOLVE_NO_XDEV refuses the mount without entering it, and statx on the
 * pinned fd with AT_STATX_DONT_SYNC asks the entry's own (tmpfs) inode and nothing else.
 */
#include "remove.h"
#include "beneath.h"
#include "util.h"

#include <assert.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <poll.h>
#include <signal.h>
#include <sys/fsuid.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>

#ifndef STATX_ATTR_MOUNT_ROOT
#define STATX_ATTR_MOUNT_ROOT 0x00002000
#endif

/* How often the parent takes in the child's answers while it works (and journals them:
 * a helper killed meanwhile loses at most this much of them, which gc settles by looking
 * at the inodes). */
#define DRAIN_MS 10

/* One record per item on the pipe: small enough that each write is atomic. */
struct wire {
	uint32_t idx;
	int32_t status, check, err;
};

static const char *const status_names[] = {
	[REMOVE_REMOVED] = "removed",
	[REMOVE_SKIPPED_CHANGED] = "skipped-changed",
	[REMOVE_ERROR] = "error",
};

static const char *const check_names[] = {
	[REMOVE_CHECK_NONE] = "none",       [REMOVE_CHECK_CREDS] = "creds",
	[REMOVE_CHECK_PARENT] = "parent",   [REMOVE_CHECK_PARENT_ID] = "parent-id",
	[REMOVE_CHECK_ENTRY] = "entry",     [REMOVE_CHECK_DEV] = "dev",
	[REMOVE_CHECK_INO] = "ino",         [REMOVE_CHECK_TYPE] = "type",
	[REMOVE_CHECK_UID] = "uid",         [REMOVE_CHECK_BTIME] = "btime",
	[REMOVE_CHECK_NLINK] = "nlink",     [REMOVE_CHECK_MOUNT] = "mount",
	[REMOVE_CHECK_UNLINK] = "unlink",   [REMOVE_CHECK_NOT_RUN] = "not-run",
	[REMOVE_CHECK_ARGS] = "args",
};

const char *remove_status_str(enum remove_status s)
{
	return (unsigned)s < ARRAY_SIZE(status_names) ? status_names[s] : "error";
}

const char *remove_check_str(enum remove_check c)
{
	return (unsigned)c < ARRAY_SIZE(check_names) && check_names[c] ? check_names[c]
									: "unknown";
}

/* ---- handles ---- */

struct handle_buf {
	struct file_handle fh;
	unsigned char f[REMOVE_HANDLE_MAX];
};

int remove_handle_get(int dirfd, const char *name, dev_t dev, ino_t ino, struct remove_handle *h)
{
	_cleanup_close_ int fd = openat_beneath_pin(dirfd, name);
	struct handle_buf b = {.fh.handle_bytes = REMOVE_HANDLE_MAX};
	struct statx stx;
	int mnt;

	assert(dirfd >= 0 || dirfd == AT_FDCWD);
	assert(name);
	assert(h);

	*h = (struct remove_handle){0};
	if (fd < 0)
		return fd;
	if (statx(fd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC, STATX_INO, &stx) < 0)
		return negative_errno();
	if (makedev(stx.stx_dev_major, stx.stx_dev_minor) != dev || stx.stx_ino != ino)
		return -ESTALE;
	if (name_to_handle_at(fd, "", &b.fh, &mnt, AT_EMPTY_PATH) < 0)
		return negative_errno();
	if (b.fh.handle_bytes == 0 || b.fh.handle_bytes > REMOVE_HANDLE_MAX)
		return -EOVERFLOW;
	h->type = b.fh.handle_type;
	h->len = (uint8_t)b.fh.handle_bytes;
	memcpy(h->f, b.f, h->len);
	return 0;
}

int remove_inode_gone(int root_fd, const struct remove_handle *h)
{
	struct handle_buf b;
	struct statx stx;
	int fd;

	if (!h || h->len == 0 || h->len > REMOVE_HANDLE_MAX)
		return -ENODATA;
	b.fh.handle_bytes = h->len;
	b.fh.handle_type = h->type;
	memcpy(b.f, h->f, h->len);
	fd = open_by_handle_at(root_fd, &b.fh, O_PATH | O_CLOEXEC);
	if (fd < 0)
		return errno == ESTALE ? 1 : negative_errno();
	/* Still open somewhere, but unlinked: gone from the tree all the same. */
	if (statx(fd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC, STATX_NLINK, &stx) < 0) {
		int r = negative_errno();

		close(fd);
		return r;
	}
	close(fd);
	return stx.stx_nlink == 0;
}

/* ---- the child ---- */

static void child_report(int wfd, size_t idx, enum remove_status s, enum remove_check c, int err)
{
	struct wire w = { .idx = (uint32_t)idx, .status = s, .check = c, .err = err };

	/* A vanished parent means nobody listens: nothing better to do than go on. */
	(void)!write(wfd, &w, sizeof(w));
}

/* The path of directory d relative to the root, written into buf (the parent sized it
 * for the longest). The components are laid from the end backwards. */
static const char *child_dir_path(const struct remove_batch *b, size_t d, char *buf, size_t size)
{
	size_t end = size - 1, i;

	buf[end] = '\0';
	for (i = d; i != REMOVE_ROOT; i = b->dirs[i].up) {
		size_t nl = strlen(b->dirs[i].name);

		if (nl + (i == d ? 0 : 1) > end)
			return NULL;
		if (i != d)
			buf[--end] = '/';
		end -= nl;
		memcpy(buf + end, b->dirs[i].name, nl);
	}
	return buf + end;
}

static bool stx_is(const struct statx *stx, dev_t dev, ino_t ino)
{
	return makedev(stx->stx_dev_major, stx->stx_dev_minor) == dev && stx->stx_ino == ino;
}

static bool bad_name(const char *name)
{
	return !name || !*name || strchr(name, '/') || streq(name, ".") || streq(name, "..");
}

/* The parent of item it, verified (the last one is kept in pfd and pdir): true, or
 * false when its result was reported. */
static bool child_parent(const struct remove_batch *b, int wfd, const struct remove_item *it,
			 size_t idx, int *pfd, size_t *pdir, char *pathbuf, size_t pathsize)
{
	struct statx pstx;
	const char *path;
	int r;

	if (*pfd >= 0 && *pdir == it->parent)
		return true; /* the same parent as the previous item: verified already */
	*pfd = safe_close(*pfd);
	if (it->parent == REMOVE_ROOT) {
		r = fcntl(b->root_fd, F_DUPFD_CLOEXEC, 3);
		if (r < 0)
			r = negative_errno();
	} else {
		path = child_dir_path(b, it->parent, pathbuf, pathsize);
		r = path ? openat_beneath_dir(b->root_fd, path) : -ENAMETOOLONG;
	}
	if (r < 0) {
		if (r == -ELOOP || r == -EXDEV || r == -ENOTDIR || r == -ENOENT || r == -EAGAIN)
			child_report(wfd, idx, REMOVE_SKIPPED_CHANGED, REMOVE_CHECK_PARENT, -r);
		else
			child_report(wfd, idx, REMOVE_ERROR, REMOVE_CHECK_PARENT, -r);
		return false;
	}
	if (statx(r, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC, STATX_TYPE | STATX_INO, &pstx) < 0) {
		int e = errno;

		safe_close(r);
		child_report(wfd, idx, REMOVE_ERROR, REMOVE_CHECK_PARENT_ID, e);
		return false;
	}
	if (!stx_is(&pstx, it->parent_dev, it->parent_ino) || !S_ISDIR(pstx.stx_mode)) {
		safe_close(r);
		child_report(wfd, idx, REMOVE_SKIPPED_CHANGED, REMOVE_CHECK_PARENT_ID, 0);
		return false;
	}
	*pfd = r;
	*pdir = it->parent;
	return true;
}

#ifdef TMPFS_SWEEP_TEST_HOOKS
/* TEST HOOK: TMPFS_SWEEP_TEST_REMOVER_KILL_AFTER_UNLINK=k: the child dies (SIGKILL)
 * right after its k-th successful unlinkat, before saying so. */
static void hook_after_unlink(void)
{
	static unsigned long n;
	const char *k = getenv("TMPFS_SWEEP_TEST_REMOVER_KILL_AFTER_UNLINK");

	if (k && ++n == strtoul(k, NULL, 10))
		raise(SIGKILL);
}
#endif

static void child_one(const struct remove_batch *b, int wfd, size_t idx, int *pfd, size_t *pdir,
		      char *pathbuf, size_t pathsize)
{
	const struct remove_item *it = &b->items[idx];
	struct statx stx;
	int fd;

	if (bad_name(it->name) || (it->parent != REMOVE_ROOT && it->parent >= b->n_dirs))
		return child_report(wfd, idx, REMOVE_ERROR, REMOVE_CHECK_ARGS, EINVAL);
	if (!child_parent(b, wfd, it, idx, pfd, pdir, pathbuf, pathsize))
		return;

	/* Pinned, never looked up by name again before the unlink: see the top. */
	fd = openat_beneath_pin(*pfd, it->name);
	if (fd < 0) {
		if (fd == -EXDEV)
			return child_report(wfd, idx, REMOVE_SKIPPED_CHANGED, REMOVE_CHECK_MOUNT, 0);
		return child_report(wfd, idx,
				    fd == -ENOENT ? REMOVE_SKIPPED_CHANGED : REMOVE_ERROR,
				    REMOVE_CHECK_ENTRY, -fd);
	}
	if (statx(fd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC,
		  STATX_TYPE | STATX_INO | STATX_UID | STATX_NLINK | STATX_BTIME, &stx) < 0) {
		int e = errno;

		close(fd);
		return child_report(wfd, idx, REMOVE_ERROR, REMOVE_CHECK_ENTRY, e);
	}
	close(fd);
	if ((stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) &&
	    (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT))
		return child_report(wfd, idx, REMOVE_SKIPPED_CHANGED, REMOVE_CHECK_MOUNT, 0);
	if (makedev(stx.stx_dev_major, stx.stx_dev_minor) != it->parent_dev)
		return child_report(wfd, idx, REMOVE_SKIPPED_CHANGED, REMOVE_CHECK_MOUNT, 0);
	if (makedev(stx.stx_dev_major, stx.stx_dev_minor) != it->dev)
		return child_report(wfd, idx, REMOVE_SKIPPED_CHANGED, REMOVE_CHECK_DEV, 0);
	if (stx.stx_ino != it->ino)
		return child_report(wfd, idx, REMOVE_SKIPPED_CHANGED, REMOVE_CHECK_INO, 0);
	if ((stx.stx_mode & S_IFMT) != (it->type & S_IFMT))
		return child_report(wfd, idx, REMOVE_SKIPPED_CHANGED, REMOVE_CHECK_TYPE, 0);
	if (stx.stx_uid != it->uid)
		return child_report(wfd, idx, REMOVE_SKIPPED_CHANGED, REMOVE_CHECK_UID, 0);
	if (it->btime_ns) {
		uint64_t bt = (uint64_t)stx.stx_btime.tv_sec * NSEC_PER_SEC + stx.stx_btime.tv_nsec;

		if (!(stx.stx_mask & STATX_BTIME) || bt != it->btime_ns)
			return child_report(wfd, idx, REMOVE_SKIPPED_CHANGED, REMOVE_CHECK_BTIME,
					    0);
	}
	if (!S_ISDIR(stx.stx_mode) && stx.stx_nlink != 1)
		return child_report(wfd, idx, REMOVE_SKIPPED_CHANGED, REMOVE_CHECK_NLINK, 0);

	/* A mount made on the name since the pin makes this fail (EBUSY), not enter it. */
	if (unlinkat(*pfd, it->name, S_ISDIR(stx.stx_mode) ? AT_REMOVEDIR : 0) < 0) {
		int e = errno;

		if (e == EBUSY)
			return child_report(wfd, idx, REMOVE_SKIPPED_CHANGED, REMOVE_CHECK_MOUNT, 0);
		return child_report(wfd, idx, e == ENOENT ? REMOVE_SKIPPED_CHANGED : REMOVE_ERROR,
				    REMOVE_CHECK_UNLINK, e);
	}
#ifdef TMPFS_SWEEP_TEST_HOOKS
	hook_after_unlink();
#endif
	child_report(wfd, idx, REMOVE_REMOVED, REMOVE_CHECK_NONE, 0);
}

/* Every capability set emptied: effective, permitted, inheritable. */
static int drop_all_caps(void)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct d[2] = {{0}};

	if (syscall(SYS_capset, &h, d) < 0)
		return -errno;
	memset(d, 0xff, sizeof(d));
	if (syscall(SYS_capget, &h, d) < 0)
		return -errno;
	for (size_t i = 0; i < ARRAY_SIZE(d); i++)
		if (d[i].effective || d[i].permitted || d[i].inheritable)
			return -EPERM;
	return 0;
}

/* The user's filesystem identity, and nothing else of root's powers: see the top. */
static int child_drop(const struct remove_creds *c)
{
	if (setgroups(c->ngroups, c->groups) < 0)
		return -errno;
	(void)setfsgid(c->gid);
	(void)setfsuid(c->uid);
	/* setfs*id() cannot fail loudly: asking with an invalid id returns the current one. */
	if ((gid_t)setfsgid((gid_t)-1) != c->gid || (uid_t)setfsuid((uid_t)-1) != c->uid)
		return -EPERM;
	/* The file capabilities left the effective set with the fsuid; the rest go too. Root's
	 * own session (ExemptUsers none) is no exception: fsuid 0 without capabilities may
	 * unlink what root owns, and what the sticky bit and permissions allow, nothing else. */
	if (drop_all_caps() < 0)
		return -EPERM;
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return -errno;
	return 0;
}

/* Close everything but the two fds we need: inherited fds (the audit log, the policy)
 * must not be reachable from a process working with the user's identity. */
static void child_close_fds(int a, int b)
{
	int lo = MIN(a, b), hi = MAX(a, b);

	if (lo > 0)
		syscall(SYS_close_range, 0U, (unsigned)lo - 1, 0U);
	if (hi > lo + 1)
		syscall(SYS_close_range, (unsigned)lo + 1, (unsigned)hi - 1, 0U);
	syscall(SYS_close_range, (unsigned)hi + 1, ~0U, 0U);
}

#ifdef TMPFS_SWEEP_TEST_HOOKS
/* TEST HOOKS, once the identity is taken: TMPFS_SWEEP_TEST_REMOVER_PAUSE_FILE=F: create F
 * holding the child's pid (as root, before the drop: see child_main) and wait (<= 20 s)
 * until the test removes it; TMPFS_SWEEP_TEST_REMOVER_ENTER=P: statx P by name (a path
 * on a FUSE mount that never answers: the child is stuck in the kernel for good). */
static void hook_pause_create(void)
{
	const char *f = getenv("TMPFS_SWEEP_TEST_REMOVER_PAUSE_FILE");
	char buf[24];
	int fd, n;

	if (!f || f[0] != '/')
		return;
	fd = open(f, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
	(void)!write(fd, buf, (size_t)n);
	close(fd);
}

static void hook_pause_wait(void)
{
	const char *f = getenv("TMPFS_SWEEP_TEST_REMOVER_PAUSE_FILE"), *e;
	struct stat st;

	for (int i = 0; f && f[0] == '/' && i < 2000 && fstatat(AT_FDCWD, f, &st, 0) == 0; i++)
		usleep(10000);
	e = getenv("TMPFS_SWEEP_TEST_REMOVER_ENTER");
	if (e && e[0] == '/')
		(void)fstatat(AT_FDCWD, e, &st, 0);
}
#endif

static _Noreturn void child_main(struct remove_batch *b, int wfd, char *pathbuf, size_t pathsize)
{
	size_t pdir = REMOVE_ROOT;
	int pfd = -1, r;
	size_t i;

	child_close_fds(b->root_fd, wfd);
	signal(SIGPIPE, SIG_DFL);
#ifdef TMPFS_SWEEP_TEST_HOOKS
	hook_pause_create();
#endif
	if (!b->creds->as_root) {
		r = child_drop(b->creds);
		if (r < 0) {
			for (i = 0; i < b->n; i++)
				child_report(wfd, i, REMOVE_ERROR, REMOVE_CHECK_CREDS, -r);
			_exit(1);
		}
	}
#ifdef TMPFS_SWEEP_TEST_HOOKS
	hook_pause_wait();
#endif
	for (i = 0; i < b->n; i++) {
		if (b->deadline_ns && now_ns(CLOCK_MONOTONIC) >= b->deadline_ns)
			_exit(2); /* the parent marks the rest not-run */
		child_one(b, wfd, i, &pfd, &pdir, pathbuf, pathsize);
	}
	_exit(0);
}

/* ---- the parent ---- */

/* The longest directory path of the table (parents come first), for the child's buffer. */
static int longest_dir_path(const struct remove_batch *b, size_t *ret)
{
	_cleanup_free_ size_t *len = calloc(b->n_dirs ? b->n_dirs : 1, sizeof(*len));
	size_t max = 0;

	if (!len)
		return -ENOMEM;
	for (size_t i = 0; i < b->n_dirs; i++) {
		const struct remove_dir *d = &b->dirs[i];

		if (bad_name(d->name) || (d->up != REMOVE_ROOT && d->up >= i))
			return -EINVAL;
		len[i] = strlen(d->name) + (d->up == REMOVE_ROOT ? 0 : len[d->up] + 1);
		max = MAX(max, len[i]);
	}
	*ret = max;
	return 0;
}

/* Wait for the child to end, never past until_ns; false: it has not (left behind). */
static bool reap_until(pid_t pid, int pidfd, uint64_t until_ns)
{
	int status;

	for (;;) {
		pid_t w = waitpid(pid, &status, WNOHANG);
		uint64_t now;

		if (w == pid || (w < 0 && errno == ECHILD))
			return true;
		if (w < 0 && errno != EINTR)
			return false;
		now = now_ns(CLOCK_MONOTONIC);
		if (now >= until_ns)
			return false;
		if (pidfd >= 0) {
			struct pollfd p = {.fd = pidfd, .events = POLLIN};

			(void)poll(&p, 1, (int)MIN((until_ns - now) / NSEC_PER_MSEC + 1, 1000));
		} else {
			struct timespec ts = {0, 2 * 1000 * 1000};

			nanosleep(&ts, NULL);
		}
	}
}

/* A result the child never sent: if the inode is gone, it was removed (the child died
 * right after its unlinkat, or was killed then). Anything else stays not-run. */
static void settle_unanswered(const struct remove_batch *b, size_t i, struct remove_result *res)
{
	const struct remove_item *it = &b->items[i];

	if (it->handle && remove_inode_gone(b->root_fd, it->handle) == 1)
		*res = (struct remove_result){REMOVE_REMOVED, REMOVE_CHECK_NOT_RUN, 0};
}

/* The whole answers of buf[0, have) into results (each item's first only), counted in
 * *got and *removed, on_result told of each. Returns the bytes taken. */
static size_t take_answers(struct remove_batch *b, struct remove_result *results,
			   const char *buf, size_t have, size_t *got, int *removed)
{
	size_t off;

	for (off = 0; off + sizeof(struct wire) <= have; off += sizeof(struct wire)) {
		struct wire w;

		memcpy(&w, buf + off, sizeof(w));
		if (w.idx >= b->n || results[w.idx].check != REMOVE_CHECK_NOT_RUN)
			continue;
		results[w.idx] = (struct remove_result){ (enum remove_status)w.status,
							 (enum remove_check)w.check, w.err };
		if (w.status == REMOVE_REMOVED)
			(*removed)++;
		(*got)++;
		if (b->on_result)
			b->on_result(w.idx, &results[w.idx], b->userdata);
	}
	return off;
}

int remove_batch(struct remove_batch *b, struct remove_result *results)
{
	_cleanup_close_ int rfd = -1, pidfd = -1;
	_cleanup_free_ char *pathbuf = NULL;
	int p[2], removed = 0;
	size_t i, got = 0, longest = 0;
	char buf[256 * sizeof(struct wire)];
	size_t have = 0;
	bool eof = false;
	pid_t pid;
	int r;

	assert(b);
	assert(results || b->n == 0);

	b->abandoned = false;
	for (i = 0; i < b->n; i++)
		results[i] = (struct remove_result){ REMOVE_ERROR, REMOVE_CHECK_NOT_RUN, ETIMEDOUT };
	if (b->n == 0)
		return 0;
	if (b->n > UINT32_MAX)
		return -E2BIG;
	r = longest_dir_path(b, &longest);
	if (r < 0)
		return r;
	pathbuf = malloc(longest + 1);
	if (!pathbuf)
		return -ENOMEM;
	if (pipe2(p, O_CLOEXEC) < 0)
		return negative_errno();
	pid = fork();
	if (pid < 0) {
		int e = errno;

		close(p[0]);
		close(p[1]);
		for (i = 0; i < b->n; i++)
			results[i].err = e;
		return -e;
	}
	if (pid == 0) {
		close(p[0]);
		child_main(b, p[1], pathbuf, longest + 1);
	}
	close(p[1]);
	rfd = p[0];
	/* Not reaped yet: the pid is still this child's. */
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);

	/* With a pidfd the answers are taken in when the child ends, or every DRAIN_MS while
	 * it works: not at every answer, whose wake-up of this process (on the other CPU)
	 * cost as much as the child's removal of the file itself. Without one (before Linux
	 * 5.3), at every answer. */
	if (pidfd >= 0 && fcntl(rfd, F_SETFL, O_NONBLOCK) < 0)
		pidfd = safe_close(pidfd);
	while (!eof) {
		struct pollfd pfd = { .fd = pidfd >= 0 ? pidfd : rfd, .events = POLLIN };
		int timeout = pidfd >= 0 ? DRAIN_MS : -1;
		ssize_t k;

		if (b->deadline_ns) {
			uint64_t now = now_ns(CLOCK_MONOTONIC);

			if (now >= b->deadline_ns)
				break;
			timeout = (int)MIN((b->deadline_ns - now) / NSEC_PER_MSEC + 1,
					   pidfd >= 0 ? (uint64_t)DRAIN_MS : (uint64_t)INT32_MAX);
		}
		k = poll(&pfd, 1, timeout);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 || (k == 0 && pidfd < 0))
			break;
		/* Everything the pipe holds now (EOF once the child is gone and it is empty). */
		for (;;) {
			size_t off;

			k = read(rfd, buf + have, sizeof(buf) - have);
			if (k < 0 && errno == EINTR)
				continue;
			if (k <= 0) {
				/* Done (or dead); or nothing yet, unless the child is gone. */
				eof = k == 0 || errno != EAGAIN || (pidfd >= 0 && pfd.revents);
				break;
			}
			have += (size_t)k;
			off = take_answers(b, results, buf, have, &got, &removed);
			memmove(buf, buf + off, have - off);
			have -= off;
			if (pidfd < 0)
				break; /* blocking: back to poll for the next */
		}
	}
	/* Out of time or the child went away: make sure it is gone, and reap it, but never
	 * wait for it past the grace: a child asleep in the kernel for good is left. */
	if (got < b->n)
		kill(pid, SIGKILL);
	if (!reap_until(pid, pidfd, MAX(now_ns(CLOCK_MONOTONIC), b->deadline_ns) + REMOVE_GRACE_MS * NSEC_PER_MSEC))
		b->abandoned = true;
	for (i = 0; got < b->n && i < b->n; i++) {
		if (results[i].check != REMOVE_CHECK_NOT_RUN)
			continue;
		if (!(b->deadline_ns && now_ns(CLOCK_MONOTONIC) >= b->deadline_ns) && !b->abandoned)
			results[i].err = ECHILD; /* the child died early */
		settle_unanswered(b, i, &results[i]);
		if (results[i].status == REMOVE_REMOVED) {
			removed++;
			if (b->on_result)
				b->on_result(i, &results[i], b->userdata);
		}
	}
	return removed;
}
