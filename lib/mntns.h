/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mntns.h: tmpfs mounts of other mount namespaces (pam_namespace, unshare -m, containers),
 * reached through a process living in each: its /proc/PID/root, pinned with O_PATH, then
 * the mount point one component at a time (openat2 O_PATH, no symlinks, no magic links,
 * beneath), each step landing on a mount of the process's mountinfo whose file system
 * answers lookups in the kernel alone (tmpfs, ext4, xfs, btrfs...; overlay only in our own
 * user namespace, where no user made it): a lookup never waits on a FUSE daemon, a network
 * file system or an overlay of a user's. A namespace that cannot be seen whole is named,
 * with why.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct ns_root {
	int fd;          /* O_DIRECTORY on the tmpfs mount's root */
	char *path;      /* its mount point as that namespace sees it */
	dev_t dev;
	uint64_t ns;     /* the mount namespace (the inode of /proc/PID/ns/mnt) */
	pid_t pid;       /* the process it was reached through */
};

struct ns_unseen {
	uint64_t ns;
	pid_t pid;
	char why[160];
};

struct ns_roots {
	struct ns_root *v;
	size_t n;
	struct ns_unseen *unseen; /* namespaces (or mounts of them) not looked at */
	size_t n_unseen;
};

/* The tmpfs mounts of the mount namespaces of pids[0..n) other than ours, each namespace
 * once, leaving out file systems whose device is in skip_devs[0..n_skip) (seen already).
 * Processes that are gone are skipped. Returns 0 or -ENOMEM. */
int mntns_tmpfs_roots(const char *proc, const pid_t *pids, size_t n, const dev_t *skip_devs,
		      size_t n_skip, struct ns_roots *ret);
void ns_roots_done(struct ns_roots *r);
