/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * remove.h: the only code that deletes anything. A batch of entries found by a walk
 * is removed by ONE forked child that (unless told to stay root) drops to the session
 * user's credentials, so the kernel itself enforces the sticky bit and directory
 * permissions. For each entry the child re-resolves the parent beneath the watched
 * root (openat2 RESOLVE_BENEATH|NO_SYMLINKS|NO_MAGICLINKS|NO_XDEV), re-checks the
 * parent's identity, statx()es the entry without following it and re-checks dev, ino,
 * type, uid, btime, nlink == 1 and "not a mount point", then unlinkat()s it (only
 * empty directories, with AT_REMOVEDIR). Each result is reported through a pipe as
 * soon as it is known.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum remove_status {
	REMOVE_REMOVED = 0,
	REMOVE_SKIPPED_CHANGED, /* identity or path no longer what the scan saw: left alone */
	REMOVE_ERROR,           /* the kernel refused (err), or no confirmation (see check) */
};

/* Which step decided the result. */
enum remove_check {
	REMOVE_CHECK_NONE = 0,  /* removed */
	REMOVE_CHECK_CREDS,     /* could not drop to the user's credentials */
	REMOVE_CHECK_PARENT,    /* the parent no longer resolves beneath the root */
	REMOVE_CHECK_PARENT_ID, /* the parent is another directory now */
	REMOVE_CHECK_ENTRY,     /* the entry is gone (or statx failed) */
	REMOVE_CHECK_DEV,
	REMOVE_CHECK_INO,
	REMOVE_CHECK_TYPE,
	REMOVE_CHECK_UID,
	REMOVE_CHECK_BTIME,
	REMOVE_CHECK_NLINK,     /* a non-directory with nlink != 1 */
	REMOVE_CHECK_MOUNT,     /* a mount point, or on another device than its parent */
	REMOVE_CHECK_UNLINK,    /* unlinkat failed: err (EPERM sticky, ENOTEMPTY, ...) */
	REMOVE_CHECK_NOT_RUN,   /* no answer: deadline, or the child died (maybe removed!) */
	REMOVE_CHECK_ARGS,      /* bad item (empty or multi-component name, ...) */
};

struct remove_item {
	const char *parent;   /* parent directory relative to root_fd: "." or "a/b/c" (any length) */
	const char *name;     /* one path component */
	dev_t parent_dev;     /* the parent's identity as the scan saw it */
	ino_t parent_ino;
	dev_t dev;            /* the entry's identity as the scan saw it */
	ino_t ino;
	mode_t type;          /* S_IFREG, S_IFDIR, S_IFLNK, S_IFIFO, S_IFSOCK, ... */
	uid_t uid;
	uint64_t btime_ns;    /* 0: not checked */
};

struct remove_result {
	enum remove_status status;
	enum remove_check check;
	int err; /* positive errno behind the result, 0 if none */
};

struct remove_creds {
	bool as_root;         /* RemoveAs root: keep our credentials (weaker: see remove.c) */
	uid_t uid;            /* otherwise drop to these */
	gid_t gid;
	const gid_t *groups;  /* supplementary groups (may be NULL with ngroups 0) */
	size_t ngroups;
};

/* Remove items[0..n) below root_fd (the watched root, from mounts_open_root) and fill
 * results[0..n). deadline_ns: CLOCK_MONOTONIC absolute, 0 = none; items not answered
 * by then are REMOVE_ERROR/REMOVE_CHECK_NOT_RUN (the child is killed).
 * Returns the number removed, or -errno if no child could be started (then every
 * result is REMOVE_ERROR/REMOVE_CHECK_NOT_RUN with that errno). */
int remove_batch(int root_fd, const struct remove_item *items, size_t n,
		 const struct remove_creds *c, uint64_t deadline_ns, struct remove_result *results);

/* "removed", "skipped-changed", "error": the audit log's result words. */
const char *remove_status_str(enum remove_status s);
/* "parent", "parent-id", "entry", "dev", "ino", "type", "uid", "btime", "nlink",
 * "mount", "unlink", "creds", "not-run", "args", "none". */
const char *remove_check_str(enum remove_check c);
