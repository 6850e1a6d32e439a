/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fileio.h: bounded reads of small kernel and state files, relative to a dir fd,
 * never following symlinks; full writes that survive EINTR and short writes.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* dirfd/path opened for reading as every reader here does: O_NOFOLLOW (a symlink is
 * ELOOP), O_NONBLOCK (a FIFO cannot block the open), O_NOCTTY, O_CLOEXEC. fd or -errno. */
int open_read_at(int dirfd, const char *path);

/* read(2), again on EINTR; -errno on failure. */
ssize_t read_retry(int fd, void *buf, size_t n);

/* Read at most max-1 bytes of dirfd/path into a NUL-terminated malloc'd buffer.
 * Returns the length, -EFBIG if the file is larger than max-1, or -errno. */
ssize_t read_small_file_at(int dirfd, const char *path, size_t max, char **ret);

/* A kernel file that hands all its content to the first read(2) with a buffer larger
 * than it (single-record seq_files such as /proc/PID/stat and /proc/PID/cgroup, sysctl and
 * cgroup attribute files; small regular files too): one read, no second one for the EOF.
 * More than max - 1 bytes (a read that fills max): -EFBIG. */
ssize_t read_oneshot_file_at(int dirfd, const char *path, size_t max, char **ret);

/* The whole of the regular file open at fd, st its fstat, at most max bytes (-EFBIG, also
 * if it grows past max while read), NUL-terminated, in a buffer sized by st: usually one
 * read, none for the EOF. Not a regular file: -EINVAL. */
struct stat;
ssize_t read_regular_fd(int fd, const struct stat *st, size_t max, char **ret);

/* Parse the first unsigned decimal number of dirfd/path (e.g. memory.current). */
int read_u64_at(int dirfd, const char *path, uint64_t *ret);

/* Find "KEY VALUE\n" in a memory.stat-style buffer. Returns 0, -ENOENT, -EINVAL. */
int stat_lookup_u64(const char *buf, const char *key, uint64_t *ret);

/* write(2) until done; -errno on failure. */
int write_all(int fd, const void *buf, size_t len);

/* Strict unsigned parse of a whole string (no sign, no spaces, no trailing junk). */
int parse_u64(const char *s, uint64_t *ret);
