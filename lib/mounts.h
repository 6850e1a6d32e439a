/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mounts.h: the tmpfs mounts of the running system (through libmount), and the
 * one safe way to open a watched root: a real tmpfs mount point, reached without
 * symlinks, that is not "/".
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct tmpfs_mount {
	int mnt_id;
	dev_t dev;
	char *path;    /* mount point */
	char *options; /* VFS + fs options, e.g. "rw,nosuid,nodev,size=1024k" */
};

struct mount_list {
	struct tmpfs_mount *v;
	size_t n;
};

/* Load the tmpfs mounts from mountinfo (NULL: /proc/self/mountinfo). When the same
 * point carries several mounts, only the topmost one (last in the file) is kept. */
int mounts_load_tmpfs(const char *mountinfo, struct mount_list *ret);
void mount_list_done(struct mount_list *l);

const struct tmpfs_mount *mounts_find_path(const struct mount_list *l, const char *path);
const struct tmpfs_mount *mounts_find_dev(const struct mount_list *l, dev_t dev);

/* Open a watched root: absolute path, no symlink in any component, a tmpfs, the root
 * of its mount (and the topmost mount there), not "/". Returns an O_DIRECTORY fd, or
 * -ENOTDIR/-ELOOP (symlink)/-EMEDIUMTYPE (not tmpfs)/-EREMOTE (not a mount point)/
 * -EPERM ("/")/-errno. */
int mounts_open_root(const char *path, int *ret_fd);
/* The same, also giving the mount id and device of the root (from the statx it made). */
int mounts_open_root_id(const char *path, int *ret_fd, uint64_t *ret_mnt_id, dev_t *ret_dev);

/* Whether the mount of fd (its STATX_MNT_ID mnt_id) is a tmpfs, not a devtmpfs (the
 * same TMPFS_MAGIC): by statmount (Linux 6.8), -errno when that cannot tell (-ENOSYS
 * before 6.8); by /proc/self/mountinfo. 1 yes, 0 no. The checks of mounts_open_root_id. */
int mounts_fd_is_tmpfs(int fd, uint64_t mnt_id);
int mounts_id_is_tmpfs(uint64_t mnt_id);

/* 1 if path is a tmpfs mount point (as mounts_open_root would accept), 0 if not. */
int mounts_is_tmpfs_mountpoint(const char *path);
