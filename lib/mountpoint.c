/* SPDX-License-Identifier: GPL-2.0-or-later */
/* mountpoint.c: the watched-root checks of mounts.h, apart from the libmount listing so
 * that the PAM module can use them without loading libmount. */
#include "mounts.h"
#include "beneath.h"
#include "util.h"

#include <assert.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>

#ifndef __NR_statmount
#define __NR_statmount 457 /* Linux 6.8; the same number on every architecture */
#endif
#define STATX_MNT_ID_UNIQUE_ 0x4000U /* Linux 6.8 */
#define STATMOUNT_MNT_BASIC_ 0x2U
#define STATMOUNT_FS_TYPE_ 0x20U

struct mnt_id_req_ {
	uint32_t size, spare;
	uint64_t mnt_id, param;
};
/* The fixed part of struct statmount (uapi linux/mount.h: 512 bytes, grown only into its
 * spare words); the strings follow it. */
struct statmount_ {
	uint32_t size, mnt_opts;
	uint64_t mask;
	uint32_t sb_dev_major, sb_dev_minor;
	uint64_t sb_magic;
	uint32_t sb_flags, fs_type;
	uint64_t mnt_id, mnt_parent_id;
	uint32_t mnt_id_old, mnt_parent_id_old;
	uint64_t spare[56];
	char str[256];
};
_Static_assert(offsetof(struct statmount_, str) == 512, "struct statmount layout");

/* Is the mount of fd (mount id mnt_id, as STATX_MNT_ID gives it) of type "tmpfs"? Asked
 * of the kernel for that one mount (statmount, Linux 6.8): reading the mount table costs
 * what the whole table costs to format (~80 us of a login's ~350 us in the module here,
 * more where a host has hundreds of mounts). 1 yes, 0 no, -errno when it cannot tell
 * (-ENOSYS: no statmount; the caller reads the table). */
int mounts_fd_is_tmpfs(int fd, uint64_t mnt_id)
{
	struct statmount_ sm;
	struct statx stx;
	struct mnt_id_req_ req = {.size = sizeof(req),
				  .param = STATMOUNT_MNT_BASIC_ | STATMOUNT_FS_TYPE_};

	assert(fd >= 0);
	if (statx(fd, "", AT_EMPTY_PATH, STATX_MNT_ID_UNIQUE_, &stx) < 0)
		return negative_errno();
	if (!(stx.stx_mask & STATX_MNT_ID_UNIQUE_))
		return -ENOSYS; /* before 6.8: no unique id, and no statmount to take one */
	req.mnt_id = stx.stx_mnt_id;
	if (syscall(__NR_statmount, &req, &sm, sizeof(sm), 0) < 0)
		return negative_errno();
	/* The mount the caller statted (the same fd: it cannot be another). */
	if ((sm.mask & (STATMOUNT_MNT_BASIC_ | STATMOUNT_FS_TYPE_)) !=
		    (STATMOUNT_MNT_BASIC_ | STATMOUNT_FS_TYPE_) ||
	    sm.mnt_id_old != mnt_id || sm.fs_type >= sizeof(sm.str) ||
	    !memchr(sm.str + sm.fs_type, '\0', sizeof(sm.str) - sm.fs_type))
		return -EBADMSG;
	return streq(sm.str + sm.fs_type, "tmpfs");
}

/* Is mount mnt_id of type "tmpfs" by /proc/self/mountinfo? 1 yes, 0 no, -errno (-ENOENT:
 * not listed) when it cannot tell. */
int mounts_id_is_tmpfs(uint64_t mnt_id)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;

	if (!f)
		return negative_errno();
	while (getline(&line, &cap, f) > 0) {
		const char *sep, *type;
		char *end;

		errno = 0;
		if (strtoull(line, &end, 10) != mnt_id || errno || *end != ' ')
			continue;
		/* "ID PARENT MAJ:MIN ROOT POINT OPTIONS [OPTIONAL...] - TYPE SOURCE SUPER" */
		sep = strstr(line, " - ");
		if (!sep)
			return -EBADMSG;
		type = startswith(sep, " - ");
		return startswith(type, "tmpfs ") != NULL;
	}
	return ferror(f) ? -EIO : -ENOENT;
}

int mounts_open_root_id(const char *path, int *ret_fd, uint64_t *ret_mnt_id, dev_t *ret_dev)
{
	_cleanup_close_ int fd = -1;
	struct statfs sfs;
	struct statx stx;
	int r;

	assert(ret_fd);

	if (!path || path[0] != '/')
		return -EINVAL;
	/* No symlink in any component, the last included (ELOOP). */
	fd = open_no_symlinks(path, O_RDONLY | O_DIRECTORY | O_NOCTTY);
	if (fd < 0)
		return fd;
	if (fstatfs(fd, &sfs) < 0)
		return negative_errno();
	if (sfs.f_type != TMPFS_MAGIC)
		return -EMEDIUMTYPE;
	if (statx(fd, "", AT_EMPTY_PATH, STATX_INO | STATX_MNT_ID, &stx) < 0)
		return negative_errno();
	if (!(stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) ||
	    !(stx.stx_attributes & STATX_ATTR_MOUNT_ROOT))
		return -EREMOTE;
	/* "/" as tmpfs (initramfs-like systems) is never a watched root. */
	if (streq(path, "/") || path[strspn(path, "/")] == '\0')
		return -EPERM;
	if (!(stx.stx_mask & STATX_MNT_ID))
		return -EOPNOTSUPP;
	/* devtmpfs is shmem too (TMPFS_MAGIC): only the mount table tells it from a tmpfs, and
	 * /dev is never a watched root. */
	r = mounts_fd_is_tmpfs(fd, stx.stx_mnt_id);
	if (r < 0)
		r = mounts_id_is_tmpfs(stx.stx_mnt_id);
	if (r <= 0)
		return r < 0 ? r : -EMEDIUMTYPE;
	if (ret_mnt_id)
		*ret_mnt_id = stx.stx_mnt_id;
	if (ret_dev)
		*ret_dev = makedev(stx.stx_dev_major, stx.stx_dev_minor);
	*ret_fd = TAKE_FD(fd);
	return 0;
}

int mounts_open_root(const char *path, int *ret_fd)
{
	assert(ret_fd);
	return mounts_open_root_id(path, ret_fd, NULL, NULL);
}

int mounts_is_tmpfs_mountpoint(const char *path)
{
	_cleanup_close_ int fd = -1;
	int r = mounts_open_root(path, &fd);

	if (r == 0)
		return 1;
	if (r == -EMEDIUMTYPE || r == -EREMOTE || r == -ENOTDIR || r == -ELOOP || r == -EPERM ||
	    r == -ENOENT)
		return 0;
	return r;
}
