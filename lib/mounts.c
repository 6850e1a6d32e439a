/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "mounts.h"
#include "beneath.h"
#include "util.h"

#include <fcntl.h>
#include "libmount-util.h"
#include <linux/magic.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>


void mount_list_free(struct mount_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].path);
		free(l->v[i].options);
	}
	free(l->v);
	*l = (struct mount_list){0};
}

int mounts_load_tmpfs(const char *mountinfo, struct mount_list *ret)
{
	_cleanup_(mnt_unref_tablep) struct libmnt_table *tb = NULL;
	_cleanup_(mnt_free_iterp) struct libmnt_iter *it = NULL;
	struct libmnt_fs *fs;
	struct mount_list l = {0};
	int r;

	r = mountinfo_load(mountinfo, &tb);
	if (r < 0)
		return r;
	it = mnt_new_iter(MNT_ITER_FORWARD);
	if (!it)
		return -ENOMEM;

	while (mnt_table_next_fs(tb, it, &fs) == 0) {
		const char *target = mnt_fs_get_target(fs);
		const char *type = mnt_fs_get_fstype(fs);
		struct tmpfs_mount *slot = NULL;

		if (!target || !type)
			continue;
		/* A later mount on the same point, of any type, hides the earlier one. */
		for (size_t i = 0; i < l.n; i++)
			if (streq(l.v[i].path, target)) {
				slot = &l.v[i];
				free(slot->path);
				free(slot->options);
				break;
			}
		if (!streq(type, "tmpfs")) {
			if (slot) /* hidden: drop it */
				*slot = l.v[--l.n];
			continue;
		}
		if (!slot) {
			struct tmpfs_mount *v = reallocarray(l.v, l.n + 1, sizeof(*v));
			if (!v) {
				mount_list_free(&l);
				return -ENOMEM;
			}
			l.v = v;
			slot = &l.v[l.n++];
		}
		slot->mnt_id = mnt_fs_get_id(fs);
		slot->dev = mnt_fs_get_devno(fs);
		slot->path = strdup(target);
		slot->options = mnt_fs_strdup_options(fs);
		if (!slot->path) {
			mount_list_free(&l);
			return -ENOMEM;
		}
	}
	*ret = l;
	return 0;
}

const struct tmpfs_mount *mounts_find_path(const struct mount_list *l, const char *path)
{
	for (size_t i = 0; i < l->n; i++)
		if (streq(l->v[i].path, path))
			return &l->v[i];
	return NULL;
}

const struct tmpfs_mount *mounts_find_dev(const struct mount_list *l, dev_t dev)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].dev == dev)
			return &l->v[i];
	return NULL;
}

int mounts_open_root(const char *path, int *ret_fd)
{
	_cleanup_close_ int fd = -1;
	struct statfs sfs;
	struct statx stx;

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
	*ret_fd = TAKE_FD(fd);
	return 0;
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
