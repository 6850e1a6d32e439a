/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "beneath.h"
#include "util.h"

#include <assert.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>

static int mnt_id_of(int fd, uint64_t *ret)
{
	struct statx stx;

	if (statx(fd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC, STATX_MNT_ID, &stx) < 0)
		return negative_errno();
	if (!(stx.stx_mask & STATX_MNT_ID))
		return -EOPNOTSUPP;
	*ret = stx.stx_mnt_id;
	return 0;
}

/* The fallback: component by component, each opened with O_NOFOLLOW (a symlink is never
 * followed: ELOOP, or ENOTDIR for O_DIRECTORY|O_PATH on one) and checked to be on dirfd's
 * mount. Names come from our own walks and records; ".." is refused outright. */
static int open_by_components(int dirfd, const char *path, int flags, bool xdev)
{
	_cleanup_close_ int cur = -1;
	uint64_t want = 0, got = 0;
	const char *p = path;
	int r, fd;

	r = xdev ? 0 : mnt_id_of(dirfd, &want);
	if (r < 0)
		return r;
	cur = fcntl(dirfd, F_DUPFD_CLOEXEC, 3);
	if (cur < 0)
		return negative_errno();
	for (;;) {
		char comp[256];
		size_t n;
		bool last;

		p += strspn(p, "/");
		n = strcspn(p, "/");
		last = p[n + strspn(p + n, "/")] == '\0';
		if (n == 0) { /* "" or only slashes: dirfd itself */
			fd = openat(cur, ".", flags | O_CLOEXEC);
			return fd < 0 ? negative_errno() : fd;
		}
		if (n >= sizeof(comp))
			return -ENAMETOOLONG;
		memcpy(comp, p, n);
		comp[n] = '\0';
		p += n;
		if (streq(comp, ".."))
			return -EXDEV;
		if (streq(comp, ".") && !last)
			continue;
		fd = openat(cur, comp,
			    (last ? flags : O_PATH | O_DIRECTORY) | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
		if (fd < 0) {
			struct stat st;
			int e = errno;
			/* O_NOFOLLOW on a symlink fails ELOOP, or ENOTDIR with O_DIRECTORY:
			 * say ELOOP for a symlink as openat2 would. */
			if ((e == ENOTDIR || e == ELOOP) &&
			    fstatat(cur, comp, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
				return -ELOOP;
			return -e;
		}
		r = xdev ? 0 : mnt_id_of(fd, &got);
		if (r < 0 || (!xdev && got != want)) {
			close(fd);
			return r < 0 ? r : -EXDEV;
		}
		if (last)
			return fd;
		safe_close(cur);
		cur = fd;
	}
}

static bool has_dotdot(const char *p)
{
	for (;;) {
		size_t n;
		p += strspn(p, "/");
		n = strcspn(p, "/");
		if (n == 0)
			return false;
		if (n == 2 && p[0] == '.' && p[1] == '.')
			return true;
		p += n;
	}
}

static int open_resolved(int dirfd, const char *path, int flags, bool xdev)
{
	/* No O_NOFOLLOW here: RESOLVE_NO_SYMLINKS refuses a symlink anywhere, the last
	 * component included, and says so with ELOOP (O_NOFOLLOW|O_DIRECTORY would say
	 * ENOTDIR). */
	struct open_how how = {
		.flags = (uint64_t)flags | O_CLOEXEC,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS |
			   (xdev ? 0 : RESOLVE_NO_XDEV),
	};
	int fd;

	/* O_PATH takes no other access flags but these. */
	if (flags & O_PATH)
		how.flags &= O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
	/* Nothing we open is named with "..": refuse it, whichever way we resolve. */
	if (has_dotdot(path))
		return -EXDEV;
	/* An absolute path from AT_FDCWD: from the root, which needs no fd of its own. */
	if (dirfd == AT_FDCWD)
		how.resolve &= ~(uint64_t)RESOLVE_BENEATH;
	for (int tries = 0; tries < 8; tries++) {
		fd = (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
		if (fd >= 0)
			return fd;
		if (errno == ENOSYS && dirfd == AT_FDCWD) {
			_cleanup_close_ int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);

			if (root < 0)
				return negative_errno();
			path += strspn(path, "/");
			return open_by_components(root, *path ? path : ".", flags, xdev);
		}
		if (errno == ENOSYS)
			return open_by_components(dirfd, path, flags, xdev);
		/* EAGAIN: a concurrent rename somewhere; retrying is what the kernel asks. */
		if (errno != EAGAIN)
			break;
	}
	return negative_errno();
}

int openat_beneath(int dirfd, const char *path, int flags)
{
	assert(dirfd >= 0 || dirfd == AT_FDCWD);
	assert(path);
	return open_resolved(dirfd, path, flags, false);
}

int openat_beneath_pin(int dirfd, const char *path)
{
	return open_resolved(dirfd, path, O_PATH | O_NOFOLLOW, false);
}

int open_no_symlinks(const char *path, int flags)
{
	if (!path || path[0] != '/')
		return -EINVAL;
	return open_resolved(AT_FDCWD, path, flags, true);
}

int openat_beneath_dir(int dirfd, const char *path)
{
	char chunk[4096];
	int cur = -1, fd;
	const char *p = path;

	assert(dirfd >= 0 || dirfd == AT_FDCWD);
	assert(path);

	if (!*p)
		return -EINVAL;
	while (*p) {
		size_t len = strlen(p);

		if (len >= sizeof(chunk)) {
			len = sizeof(chunk) - 1;
			while (len > 0 && p[len] != '/')
				len--;
			if (len == 0) {
				safe_close(cur);
				return -ENAMETOOLONG;
			}
		}
		memcpy(chunk, p, len);
		chunk[len] = '\0';
		fd = openat_beneath(cur >= 0 ? cur : dirfd, chunk, O_PATH | O_DIRECTORY);
		safe_close(cur);
		if (fd < 0)
			return fd;
		cur = fd;
		p += len;
		while (*p == '/')
			p++;
	}
	return cur;
}

int fd_reopen(int fd, int flags)
{
	char path[32];
	int r;

	assert(fd >= 0);

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	r = open(path, flags | O_CLOEXEC | O_NOCTTY);
	/* O_NOATIME is refused (EPERM) to a caller that neither owns the file nor has
	 * CAP_FOWNER: without it rather than not at all. */
	if (r < 0 && errno == EPERM && (flags & O_NOATIME))
		r = open(path, (flags & ~O_NOATIME) | O_CLOEXEC | O_NOCTTY);
	return r < 0 ? negative_errno() : r;
}

/* tmpfs's file handle (mm/shmem.c, shmem_encode_fh): type 1, three 32-bit words: the
 * generation, then the inode number's low and high halves. */
#define SHMEM_FH_TYPE 1
#define SHMEM_FH_BYTES 12

int openat_handle_regular(int dirfd, const char *name, uint64_t mnt_id, ino_t ino, int flags)
{
	struct {
		struct file_handle fh;
		unsigned char f[SHMEM_FH_BYTES];
	} h = {.fh.handle_bytes = SHMEM_FH_BYTES};
	uint32_t w[3];
	int mnt, fd;

	assert(dirfd >= 0);
	assert(name);

	/* One name, looked up in dirfd itself: nothing to resolve beneath. */
	if (!*name || strchr(name, '/') || streq(name, ".") || streq(name, ".."))
		return -EINVAL;
	/* No flag: a symlink is named as itself, never followed. A handle larger than
	 * tmpfs's (another file system) does not fit: EOVERFLOW. */
	if (name_to_handle_at(dirfd, name, &h.fh, &mnt, 0) < 0)
		return negative_errno();
	if ((uint64_t)(unsigned)mnt != mnt_id)
		return -EXDEV; /* something is mounted on the name now */
	if (h.fh.handle_type != SHMEM_FH_TYPE || h.fh.handle_bytes != SHMEM_FH_BYTES)
		return -EOPNOTSUPP;
	memcpy(w, h.fh.f_handle, sizeof(w));
	if ((w[1] | (uint64_t)w[2] << 32) != (uint64_t)ino)
		return -ESTALE;
	/* The inode the handle names (number and generation), on dirfd's mount: the one
	 * that was at the name just now, whatever has been renamed since. */
	fd = open_by_handle_at(dirfd, &h.fh, flags | O_CLOEXEC | O_NOCTTY);
	return fd < 0 ? negative_errno() : fd;
}

int openat_beneath_regular(int dirfd, const char *path, dev_t dev, ino_t ino, int flags)
{
	_cleanup_close_ int pin = openat_beneath(dirfd, path, O_PATH);
	struct statx stx;

	assert(dirfd >= 0 || dirfd == AT_FDCWD);
	assert(path);

	if (pin < 0)
		return pin;
	if (statx(pin, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC, STATX_TYPE | STATX_INO, &stx) < 0)
		return negative_errno();
	if (!S_ISREG(stx.stx_mode) || stx.stx_ino != ino ||
	    makedev(stx.stx_dev_major, stx.stx_dev_minor) != dev)
		return -ESTALE;
	return fd_reopen(pin, flags);
}
