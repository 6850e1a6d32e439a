/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * beneath.h: the one way this project opens a path below a directory fd: openat2 with
 * RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV.
 * Where openat2 is missing (a kernel before 5.6, or a seccomp filter that answers
 * ENOSYS, as systemd 252's @system-service does), the same rules are kept by hand: one
 * component at a time with O_NOFOLLOW, "." skipped, ".." refused, and each step checked
 * to be on the mount of dirfd.
 */
#pragma once

/* flags as for openat (O_CLOEXEC and O_NOFOLLOW are added). Returns an fd or -errno:
 * -ELOOP for a symlink on the way, -EXDEV for a mount crossed, -EXDEV for "..". */
int openat_beneath(int dirfd, const char *path, int flags);

/* An O_PATH fd of the entry at path itself, under the same rules, except that a symlink
 * as the last component is pinned as itself (never followed). Nothing mounted on it is
 * entered (-EXDEV): what is pinned is the directory entry's own inode, and statx on it
 * asks nothing of another file system. */
int openat_beneath_pin(int dirfd, const char *path);

/* An absolute path, with no symlink in any component (mounts may be crossed): for the
 * watched roots themselves. */
int open_no_symlinks(const char *path, int flags);
