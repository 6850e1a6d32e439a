/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * remove.h: the only code that deletes anything. A batch of entries found by a walk
 * is removed by ONE forked child that (unless told to stay root) takes the session
 * user's filesystem identity (fsuid, fsgid, groups) and gives up every capability, so
 * the kernel itself enforces the sticky bit and directory permissions, while the user
 * can neither signal, stop, renice nor trace it (its real and effective uid stay 0).
 * For each entry the child re-resolves the parent beneath the watched root (openat2
 * RESOLVE_BENEATH|NO_SYMLINKS|NO_MAGICLINKS|NO_XDEV), re-checks the parent's identity,
 * pins the entry itself with an O_PATH open under the same rules (a mount on it, a
 * user's FUSE file system among others, is refused, never entered), statx()es that fd
 * without syncing and re-checks dev, ino, type, uid, btime and nlink == 1, then
 * unlinkat()s it (only empty directories, with AT_REMOVEDIR). Each result is reported
 * through a pipe as soon as it is known, and handed to the caller as it arrives.
 * Nothing waits for the child beyond the deadline: one that cannot be ended (stuck in
 * the kernel) is left behind and said so.
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
	REMOVE_CHECK_CREDS,     /* could not take the user's identity */
	REMOVE_CHECK_PARENT,    /* the parent no longer resolves beneath the root */
	REMOVE_CHECK_PARENT_ID, /* the parent is another directory now */
	REMOVE_CHECK_ENTRY,     /* the entry is gone (or could not be pinned) */
	REMOVE_CHECK_DEV,
	REMOVE_CHECK_INO,
	REMOVE_CHECK_TYPE,
	REMOVE_CHECK_UID,
	REMOVE_CHECK_BTIME,
	REMOVE_CHECK_NLINK,     /* a non-directory with nlink != 1 */
	REMOVE_CHECK_MOUNT,     /* something is mounted on it, or it is on another device */
	REMOVE_CHECK_UNLINK,    /* unlinkat failed: err (EPERM sticky, ENOTEMPTY, ...) */
	REMOVE_CHECK_NOT_RUN,   /* no answer: deadline, or the child died. With status
				 * REMOVED: the child did not say, but the inode is gone
				 * (remove_inode_gone) */
	REMOVE_CHECK_ARGS,      /* bad item (empty or multi-component name, ...) */
};

/* A file handle (name_to_handle_at), taken when the entry was found: whether its inode
 * still exists can be asked later whatever its name has become (remove_inode_gone). */
#define REMOVE_HANDLE_MAX 24
struct remove_handle {
	int type;
	uint8_t len; /* 0: none */
	unsigned char f[REMOVE_HANDLE_MAX];
};

/* Fill h for the entry name in dirfd, pinned with O_PATH beneath dirfd (no symlink
 * followed, no mount crossed) and checked to be dev/ino. -errno when no handle can be
 * had (h->len 0). */
int remove_handle_get(int dirfd, const char *name, dev_t dev, ino_t ino,
		      struct remove_handle *h);

/* Does the inode behind h still exist with a name, on the mount of root_fd (an fd that
 * is not O_PATH: open_by_handle_at needs one; and CAP_DAC_READ_SEARCH)? 1 gone (no such
 * inode, or it has no link left), 0 it exists, -errno cannot tell (no handle, ...). */
int remove_inode_gone(int root_fd, const struct remove_handle *h);

/* The directories on the way from the root to the items, parents first (up < own
 * index): siblings share one entry, so no item carries a full path of its own. */
#define REMOVE_ROOT SIZE_MAX
struct remove_dir {
	size_t up;        /* index of its parent in the table, or REMOVE_ROOT */
	const char *name; /* one path component */
};

struct remove_item {
	size_t parent;        /* index of its directory in the table, or REMOVE_ROOT */
	const char *name;     /* one path component */
	dev_t parent_dev;     /* the parent's identity as the scan saw it */
	ino_t parent_ino;
	dev_t dev;            /* the entry's identity as the scan saw it */
	ino_t ino;
	mode_t type;          /* S_IFREG, S_IFDIR, S_IFLNK, S_IFIFO, S_IFSOCK, ... */
	uid_t uid;
	uint64_t btime_ns;    /* 0: not checked */
	const struct remove_handle *handle; /* NULL: none (an unanswered item stays unknown) */
};

struct remove_result {
	enum remove_status status;
	enum remove_check check;
	int err; /* positive errno behind the result, 0 if none */
};

struct remove_creds {
	bool as_root;         /* RemoveAs root: keep our credentials (weaker: see remove.c) */
	uid_t uid;            /* otherwise take this filesystem identity */
	gid_t gid;
	const gid_t *groups;  /* supplementary groups (may be NULL with ngroups 0) */
	size_t ngroups;
};

struct remove_batch {
	int root_fd;          /* the watched root, from mounts_open_root (not O_PATH) */
	const struct remove_dir *dirs;
	size_t n_dirs;
	const struct remove_item *items;
	size_t n;
	const struct remove_creds *creds;
	uint64_t deadline_ns; /* CLOCK_MONOTONIC absolute, 0: none (the child is still never
			       * waited for more than REMOVE_GRACE_MS once it is told to end) */
	/* Called with each answer as it arrives from the child (NULL: none). */
	void (*on_result)(size_t idx, const struct remove_result *r, void *userdata);
	void *userdata;
	/* Out: the child did not end when killed (stuck in the kernel, e.g. on a FUSE
	 * request) and was left behind unreaped. */
	bool abandoned;
};

/* How long a killed child is given to end before it is left behind. */
#define REMOVE_GRACE_MS 200

/* Remove b->items below b->root_fd and fill results[0..n). Items not answered by the
 * deadline (the child is killed) or when the child died are REMOVE_ERROR/NOT_RUN, unless
 * their handle says the inode is gone: then REMOVE_REMOVED/NOT_RUN (removed, unconfirmed).
 * Returns the number removed, or -errno if no child could be started (then every
 * result is REMOVE_ERROR/REMOVE_CHECK_NOT_RUN with that errno). */
int remove_batch(struct remove_batch *b, struct remove_result *results);

/* "removed", "skipped-changed", "error": the audit log's result words. */
const char *remove_status_str(enum remove_status s);
/* "parent", "parent-id", "entry", "dev", "ino", "type", "uid", "btime", "nlink",
 * "mount", "unlink", "creds", "not-run", "args", "none". */
const char *remove_check_str(enum remove_check c);
