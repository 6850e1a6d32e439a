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

#include <stdint.h>
#include <sys/types.h>

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

/* A directory below dirfd by a relative path of any length, resolved in pieces below
 * PATH_MAX by the rules above, opened O_PATH|O_DIRECTORY. Allocates nothing (the remover
 * child calls it between fork and _exit). */
int openat_beneath_dir(int dirfd, const char *path);

/* Reopen the inode that the O_PATH fd pins, through /proc/self/fd/N, with flags
 * (O_CLOEXEC|O_NOCTTY added; O_NOATIME dropped where refused). The magic link leads to
 * that very inode whatever was renamed since: call it only after checking what fd is. */
int fd_reopen(int fd, int flags);

/* path beneath dirfd pinned with O_PATH (the rules above), checked to be a regular file
 * with identity (dev, ino), and only then opened with flags through fd_reopen: a FIFO, a
 * device or another file exchanged into the name meanwhile (renameat2 RENAME_EXCHANGE) is
 * never opened. -ESTALE when it is not that file; -errno from the resolution. */
int openat_beneath_regular(int dirfd, const char *path, dev_t dev, ino_t ino, int flags);

/*
 * The same for one name (no '/') on a tmpfs mount, in two system calls instead of four
 * (pin, statx, reopen, close): name_to_handle_at (no symlink followed) gives the handle
 * of the inode at the name now, inode number and generation; only when it is on mount
 * mnt_id (the old mount id, as statx STATX_MNT_ID) and has inode number ino is that very
 * inode opened by its handle (open_by_handle_at: needs CAP_DAC_READ_SEARCH) with flags
 * (O_CLOEXEC|O_NOCTTY added). Inode numbers of a tmpfs mount are not reused while it is
 * mounted (a counter, 2^32 or 2^64 before it wraps): ino, taken from a statx that saw a
 * regular file, is that regular file. -EXDEV (another mount), -ESTALE (another inode),
 * -EOPNOTSUPP (not tmpfs's handle), -EINVAL (not one name), -EPERM, ...: the caller asks
 * openat_beneath_regular(), which has the exact answer.
 */
int openat_handle_regular(int dirfd, const char *name, uint64_t mnt_id, ino_t ino, int flags);
