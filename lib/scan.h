/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * scan.h: walk one watched tmpfs mount and attribute every regular file's resident
 * pages to memory cgroups. The walk (walk.h) decides what is visited; this adds the
 * page scan (pages.h) for files that have blocks, and hands each entry to a callback.
 * Files with no blocks are never opened; a file is opened only beneath its parent's
 * fd and only if it is still what the walk saw.
 */
#pragma once

#include "json.h"
#include "pages.h"
#include "util.h"
#include "walk.h"

#include <time.h>

struct scan_entry {
	const struct walk_entry *w; /* dirfd, name, path, statx, depth, leaving */
	const struct page_scan *pages; /* NULL unless a regular file with blocks was scanned */
	int error;                     /* -errno from opening or scanning it, else 0 */
};

typedef int (*scan_fn)(const struct scan_entry *e, void *userdata);
/* Whether a regular file with blocks is worth its page scan (NULL: every one). */
typedef bool (*scan_want_fn)(const struct statx *stx, void *userdata);

struct inuse;

/* Which files are leased, read from /proc/locks only when the first file has to be
 * opened: opening a file someone holds a write lease on breaks the lease (even when the
 * open fails), and reading /proc/locks can cost an RCU grace period (10-40 ms on 6.1),
 * which a session that left nothing should not pay. Read again as the walk goes on, at
 * most every 1 s, more often where a read costs less (scan.c). devs/n_devs: the devices
 * of interest (0: all). Zero-initialise, set devs, and lease_view_done() at the end. */
struct lease_view {
	const dev_t *devs;
	size_t n_devs;
	bool loaded;
	int error;          /* reading /proc/locks failed: no file is opened */
	struct inuse *set;
	uint64_t read_at;   /* CLOCK_MONOTONIC: when set was read */
	uint64_t read_ns;   /* what that read took */
};

void lease_view_done(struct lease_view *v);

/* Walk root_fd (from mounts_open_root) with the page scan of each file (none when pc is
 * NULL: then every entry's pages is NULL). fn returns a walk_ret. A file that `leases`
 * says is leased (or every file, when the lease table cannot be read) is not opened; its
 * entry has error -EWOULDBLOCK. leases may be NULL (no check: tests only).
 * Returns 0 or -errno; incomplete walks are reported in st. */
int scan_mount(struct pages_ctx *pc, int root_fd, const char *root_path, const struct walk_opts *o,
	       struct lease_view *leases, scan_want_fn want, scan_fn fn, void *userdata,
	       struct walk_stats *st);

/* Bytes of s charged to any cgroup whose inode is in the sorted array inos[n]. */
uint64_t page_scan_charged_to(const struct page_scan *s, const uint64_t *inos, size_t n);

/* A statx timestamp in nanoseconds since the epoch. */
static inline uint64_t statx_ts_ns(const struct statx_timestamp *t)
{
	return (uint64_t)t->tv_sec * NSEC_PER_SEC + t->tv_nsec;
}

/* "file", "dir", "symlink", "fifo", "socket", "chardev", "blockdev" or "unknown". */
const char *scan_type_name(mode_t m);

/* What scan_json_line remembers between lines: the last second it formatted. Zero it. */
struct scan_json {
	time_t last_sec;
	char last_sec_str[24];
};

/* The `scan --json` line of e, with its newline, into b (reset first). charged: the bytes
 * charged to the --cgroup filter, NULL without one; cg_name(ino, userdata): a charge's
 * cgroup path, or NULL. The fast way (literal keys, numbers and times formatted by hand);
 * byte-identical to the same fields written with json.h's writer, which
 * tests/unit/test_scan_json.c holds it to. */
void scan_json_line(struct sbuf *b, struct scan_json *c, const struct scan_entry *e,
		    const uint64_t *charged, const char *(*cg_name)(uint64_t ino, void *userdata),
		    void *userdata);
