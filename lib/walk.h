/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * walk.h: the bounded, iterative, fd-based tree walk under a watched root. Every
 * directory is entered with openat2(RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS|
 * RESOLVE_NO_MAGICLINKS|RESOLVE_NO_XDEV) relative to its parent's fd and checked
 * against the statx taken when it was listed; entries are described by
 * statx(AT_SYMLINK_NOFOLLOW) only, nothing but directories is ever opened here.
 * Mount points below the root, private directories (no owner r+x, or root/system
 * owned without other r+x) and swapped entries are not entered and are counted.
 * Caps on depth (= open fds), entries and time end the walk with `incomplete`.
 * The names of a getdents64 buffer are statted together through io_uring (statx_ring.h)
 * up to the next directory, so no result is older than the subtrees before it, where the
 * walk's first batches measured that the ring costs less than one statx per name (walk.c);
 * one statx per name otherwise, or where io_uring is unavailable (or WALK_NO_BATCH), with
 * the same results.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <fcntl.h>

#define WALK_ENTER_PRIVATE (1u << 0) /* also enter 0000 and root-private dirs (explain) */
#define WALK_POST_ORDER (1u << 1)    /* call again with leaving=true after a dir's children */
#define WALK_NO_BATCH (1u << 2)	     /* one statx per entry, no io_uring batches (tests) */
#define WALK_RING (1u << 3) /* io_uring batches without measuring whether they pay (tests) */

enum walk_ret {
	WALK_CONTINUE = 0,
	WALK_SKIP = 1, /* do not descend into this directory */
	WALK_STOP = 2,
};

struct walk_entry {
	int dirfd;            /* the parent directory */
	const char *name;     /* name within dirfd */
	const char *path;     /* full path for display (root + relative) */
	size_t path_len;
	const struct statx *stx; /* type, mode, uid, gid, size, blocks, nlink, btime, ctime, ino, dev */
	unsigned depth;          /* 1 for entries of the root */
	bool leaving;            /* WALK_POST_ORDER: the directory's children are done */
};

typedef int (*walk_fn)(const struct walk_entry *e, void *userdata);

/* The caps: depth is also the number of directory fds held open at once. */
#define WALK_DEFAULT_MAX_DEPTH 256u
#define WALK_MAX_DEPTH 1024u /* no walk goes deeper, whatever it is asked */
#define WALK_DEFAULT_MAX_ENTRIES 10000000ULL

struct walk_opts {
	unsigned max_depth;     /* 0: WALK_DEFAULT_MAX_DEPTH; at most WALK_MAX_DEPTH */
	uint64_t max_entries;   /* 0: WALK_DEFAULT_MAX_ENTRIES */
	uint64_t deadline_ns;   /* CLOCK_MONOTONIC absolute; 0: none */
	unsigned flags;
	/* Share `share` of `shares` (0 or 1: the whole tree): of the root's own entries only
	 * those whose name walk_name_share() puts in this share are visited, subtrees
	 * included; the other shares are other walkers' (scan and explain --jobs). Nothing
	 * else differs: every share of a tree together visits what one walk of it visits. */
	unsigned share, shares;
	/* Tests: called (with the walk's userdata) after each getdents64 of a directory that
	 * returned names, before any of them is statted: races between readdir and statx. */
	void (*after_read)(int dirfd, unsigned depth, void *userdata);
};

struct walk_stats {
	uint64_t entries, dirs;
	uint64_t skipped_changed, skipped_private, skipped_mounts, errors;
	uint64_t batched; /* entries statted in io_uring batches (statx_ring.h), not alone */
	bool incomplete;
	const char *incomplete_reason; /* "depth", "entries", "time", "fds", or NULL */
};

/* Which of `shares` walkers visits the root's entry `name` (and its subtree): by a hash of
 * the name, so that walkers that read the root each on their own agree without talking. */
unsigned walk_name_share(const char *name, unsigned shares);

/* Walk the tree below root_fd (from mounts_open_root). root_path is only for display.
 * Returns 0 (also when incomplete), or -errno if the root cannot be read. */
int walk_tree(int root_fd, const char *root_path, const struct walk_opts *o, walk_fn fn,
	      void *userdata, struct walk_stats *st);

/* Open a regular file found by the walk, for reading its pages, O_RDONLY|O_NONBLOCK|
 * O_NOCTTY|O_CLOEXEC|O_NOATIME: on tmpfs (stx with STATX_MNT_ID) by its file handle when
 * the handle's inode number is stx's and it is on stx's mount (openat_handle_regular);
 * else pinned with O_PATH beneath dirfd, checked against stx (regular, dev, ino: else
 * -ESTALE), then that inode reopened through /proc/self/fd. Nothing swapped into the name
 * is ever opened. Never blocks on a lease (-EWOULDBLOCK). */
int walk_open_file(int dirfd, const char *name, const struct statx *stx);

