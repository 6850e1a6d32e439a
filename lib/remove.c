/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * remove.c: one child per batch. Between fork and _exit the child only makes system
 * calls on memory it inherited (the item array), so it is safe to fork from the
 * single-threaded helper; nothing here allocates in the child.
 *
 * Why a child with the user's credentials: between our last statx and unlinkat the
 * user (or a second account) can rename another file into place. unlinkat() has no
 * "only if this inode" form, so the guarantee comes from the kernel: the child can only
 * unlink what the user could have unlinked anyway. With RemoveAs root that race
 * remains (window: one statx + unlinkat), which is why user is the default.
 */
#include "remove.h"
#include "beneath.h"
#include "util.h"

#include <fcntl.h>
#include <grp.h>
#include <linux/openat2.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>

#ifndef STATX_ATTR_MOUNT_ROOT
#define STATX_ATTR_MOUNT_ROOT 0x00002000
#endif

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

/* ---- the child ---- */

static void child_report(int wfd, size_t idx, enum remove_status s, enum remove_check c, int err)
{
	struct wire w = { .idx = (uint32_t)idx, .status = s, .check = c, .err = err };

	/* A vanished parent means nobody listens: nothing better to do than go on. */
	(void)!write(wfd, &w, sizeof(w));
}

static bool stx_is(const struct statx *stx, dev_t dev, ino_t ino)
{
	return makedev(stx->stx_dev_major, stx->stx_dev_minor) == dev && stx->stx_ino == ino;
}

static void child_one(int root_fd, int wfd, const struct remove_item *it, size_t idx,
		      int *pfd, const char **pname)
{
	struct statx stx, pstx;
	int r;

	if (!it->name || !*it->name || strchr(it->name, '/') || streq(it->name, ".") ||
	    streq(it->name, "..") || !it->parent)
		return child_report(wfd, idx, REMOVE_ERROR, REMOVE_CHECK_ARGS, EINVAL);

	/* The same parent as the previous item: its fd was already verified. */
	if (*pfd < 0 || !*pname || !streq(*pname, it->parent)) {
		*pfd = safe_close(*pfd);
		*pname = NULL;
		r = openat_beneath_dir(root_fd, it->parent);
		if (r < 0) {
			if (r == -ELOOP || r == -EXDEV || r == -ENOTDIR || r == -ENOENT ||
			    r == -EAGAIN)
				return child_report(wfd, idx, REMOVE_SKIPPED_CHANGED,
						    REMOVE_CHECK_PARENT, -r);
			return child_report(wfd, idx, REMOVE_ERROR, REMOVE_CHECK_PARENT, -r);
		}
		if (statx(r, "", AT_EMPTY_PATH, STATX_TYPE | STATX_INO, &pstx) < 0) {
			int e = errno;

			safe_close(r);
			return child_report(wfd, idx, REMOVE_ERROR, REMOVE_CHECK_PARENT_ID, e);
		}
		if (!stx_is(&pstx, it->parent_dev, it->parent_ino) || !S_ISDIR(pstx.stx_mode)) {
			safe_close(r);
			return child_report(wfd, idx, REMOVE_SKIPPED_CHANGED,
					    REMOVE_CHECK_PARENT_ID, 0);
		}
		*pfd = r;
		*pname = it->parent;
	}

	if (statx(*pfd, it->name, AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT,
		  STATX_TYPE | STATX_INO | STATX_UID | STATX_NLINK | STATX_BTIME, &stx) < 0) {
		int e = errno;

		return child_report(wfd, idx, e == ENOENT ? REMOVE_SKIPPED_CHANGED : REMOVE_ERROR,
				    REMOVE_CHECK_ENTRY, e);
	}
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
		uint64_t b = (uint64_t)stx.stx_btime.tv_sec * NSEC_PER_SEC + stx.stx_btime.tv_nsec;

		if (!(stx.stx_mask & STATX_BTIME) || b != it->btime_ns)
			return child_report(wfd, idx, REMOVE_SKIPPED_CHANGED, REMOVE_CHECK_BTIME,
					    0);
	}
	if (!S_ISDIR(stx.stx_mode) && stx.stx_nlink != 1)
		return child_report(wfd, idx, REMOVE_SKIPPED_CHANGED, REMOVE_CHECK_NLINK, 0);

	if (unlinkat(*pfd, it->name, S_ISDIR(stx.stx_mode) ? AT_REMOVEDIR : 0) < 0) {
		int e = errno;

		return child_report(wfd, idx, e == ENOENT ? REMOVE_SKIPPED_CHANGED : REMOVE_ERROR,
				    REMOVE_CHECK_UNLINK, e);
	}
	child_report(wfd, idx, REMOVE_REMOVED, REMOVE_CHECK_NONE, 0);
}

static int child_drop(const struct remove_creds *c)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg;

	if (setgroups(c->ngroups, c->groups) < 0 || setresgid(c->gid, c->gid, c->gid) < 0 ||
	    setresuid(c->uid, c->uid, c->uid) < 0)
		return -errno;
	if (getresuid(&ru, &eu, &su) < 0 || getresgid(&rg, &eg, &sg) < 0)
		return -errno;
	if (ru != c->uid || eu != c->uid || su != c->uid || rg != c->gid || eg != c->gid ||
	    sg != c->gid)
		return -EPERM;
	/* Paranoia: getting root back must be impossible. */
	if (c->uid != 0 && (setresuid(0, 0, 0) == 0 || setresgid(0, 0, 0) == 0))
		return -EPERM;
	/* The user may signal this child (same uid) but not ptrace it or read its fds. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return -errno;
	return 0;
}

/* Close everything but the two fds we need: inherited fds (the audit log, the policy)
 * must not be reachable by a process running as the user. */
static void child_close_fds(int a, int b)
{
	int lo = MIN(a, b), hi = MAX(a, b);

	if (lo > 0)
		syscall(SYS_close_range, 0U, (unsigned)lo - 1, 0U);
	if (hi > lo + 1)
		syscall(SYS_close_range, (unsigned)lo + 1, (unsigned)hi - 1, 0U);
	syscall(SYS_close_range, (unsigned)hi + 1, ~0U, 0U);
}

static _Noreturn void child_main(int root_fd, int wfd, const struct remove_item *items, size_t n,
				 const struct remove_creds *c, uint64_t deadline_ns)
{
	const char *pname = NULL;
	int pfd = -1, r;
	size_t i;

	child_close_fds(root_fd, wfd);
	signal(SIGPIPE, SIG_DFL);
	if (!c->as_root) {
		r = child_drop(c);
		if (r < 0) {
			for (i = 0; i < n; i++)
				child_report(wfd, i, REMOVE_ERROR, REMOVE_CHECK_CREDS, -r);
			_exit(1);
		}
	}
	for (i = 0; i < n; i++) {
		if (deadline_ns && now_ns(CLOCK_MONOTONIC) >= deadline_ns)
			_exit(2); /* the parent marks the rest not-run */
		child_one(root_fd, wfd, &items[i], i, &pfd, &pname);
	}
	_exit(0);
}

/* ---- the parent ---- */

int remove_batch(int root_fd, const struct remove_item *items, size_t n,
		 const struct remove_creds *c, uint64_t deadline_ns, struct remove_result *results)
{
	_cleanup_close_ int rfd = -1;
	int p[2], removed = 0, status;
	size_t i, got = 0;
	char buf[256 * sizeof(struct wire)];
	size_t have = 0;
	pid_t pid;

	for (i = 0; i < n; i++)
		results[i] = (struct remove_result){ REMOVE_ERROR, REMOVE_CHECK_NOT_RUN, ETIMEDOUT };
	if (n == 0)
		return 0;
	if (n > UINT32_MAX)
		return -E2BIG;
	if (pipe2(p, O_CLOEXEC) < 0)
		return negative_errno();
	pid = fork();
	if (pid < 0) {
		int e = errno;

		close(p[0]);
		close(p[1]);
		for (i = 0; i < n; i++)
			results[i].err = e;
		return -e;
	}
	if (pid == 0) {
		close(p[0]);
		child_main(root_fd, p[1], items, n, c, deadline_ns);
	}
	close(p[1]);
	rfd = p[0];

	for (;;) {
		struct pollfd pfd = { .fd = rfd, .events = POLLIN };
		int timeout = -1;
		size_t off;
		ssize_t k;

		if (deadline_ns) {
			uint64_t now = now_ns(CLOCK_MONOTONIC);

			if (now >= deadline_ns)
				break;
			timeout = (int)MIN((deadline_ns - now) / NSEC_PER_MSEC + 1,
					   (uint64_t)INT32_MAX);
		}
		k = poll(&pfd, 1, timeout);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		k = read(rfd, buf + have, sizeof(buf) - have);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break; /* EOF: the child is done (or dead) */
		have += (size_t)k;
		for (off = 0; off + sizeof(struct wire) <= have; off += sizeof(struct wire)) {
			struct wire w;

			memcpy(&w, buf + off, sizeof(w));
			if (w.idx >= n || results[w.idx].check != REMOVE_CHECK_NOT_RUN)
				continue;
			results[w.idx] = (struct remove_result){ (enum remove_status)w.status,
								 (enum remove_check)w.check,
								 w.err };
			if (w.status == REMOVE_REMOVED)
				removed++;
			got++;
		}
		memmove(buf, buf + off, have - off);
		have -= off;
	}
	/* Out of time or the child went away: make sure it is gone, reap it. */
	if (got < n)
		kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (got < n && !(deadline_ns && now_ns(CLOCK_MONOTONIC) >= deadline_ns))
		for (i = 0; i < n; i++)
			if (results[i].check == REMOVE_CHECK_NOT_RUN)
				results[i].err = ECHILD; /* the child died early */
	return removed;
}
