/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * inuse.h: one snapshot of which inodes on the watched devices are in use by any
 * live process: open (/proc/PID/fd), mapped (/proc/PID/maps), locked or leased
 * (/proc/locks). /proc is scanned once per sweep; lookups are a hash probe.
 * Files are never opened (opening would break a lease): fd targets are statx'ed
 * through the /proc magic link with AT_STATX_DONT_SYNC, so a FUSE or NFS server
 * cannot stall us through a getattr.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Ordered by strength: a lookup reports the strongest reason seen. */
enum inuse_reason {
	INUSE_NONE = 0,
	INUSE_MAPPED,
	INUSE_OPEN,
	INUSE_LOCKED,
	INUSE_LEASED,
};

struct inuse_stats {
	uint64_t procs;        /* /proc/PID entries examined */
	uint64_t procs_gone;   /* exited while we looked: harmless */
	uint64_t procs_denied; /* EACCES etc.: their use is unknown (caller may treat as incomplete) */
	uint64_t fds, maps, locks; /* records read */
	uint64_t entries;      /* distinct (dev, ino) in use on the devices asked for */
	uint64_t elapsed_ns;
};

struct inuse;

/* Snapshot use of inodes on devs[0..n) (n == 0: every device). Our own process is
 * skipped. Returns 0 or -errno (only if /proc itself cannot be read, or -ENOMEM). */
int inuse_snapshot(const dev_t *devs, size_t n, struct inuse **ret);
/* Only /proc/locks: cheap, for knowing before a walk which files must not even be
 * opened (opening a file someone holds a write lease on breaks the lease). */
int inuse_snapshot_locks(const dev_t *devs, size_t n, struct inuse **ret);
/* The same against another proc mount (tests), skipping skip_pid (0: none). */
int inuse_snapshot_at(int proc_fd, pid_t skip_pid, const dev_t *devs, size_t n,
		      struct inuse **ret);

/* true if (dev, ino) is in use; *reason ("open", "mapped", "locked", "leased") and
 * *pid (one process using it; -1 when /proc/locks does not say, e.g. OFD locks) are
 * set when non-NULL. */
bool inuse_lookup(const struct inuse *u, dev_t dev, ino_t ino, const char **reason,
		  pid_t *pid);
const struct inuse_stats *inuse_get_stats(const struct inuse *u);
void inuse_free(struct inuse *u);

const char *inuse_reason_str(enum inuse_reason r);

/* Parsers, exposed for the unit tests. Return 0 when the line names an inode,
 * -ENOENT when it names none (anonymous mapping, "<none>"), -EINVAL when malformed. */
int inuse_parse_maps_line(const char *line, dev_t *dev, ino_t *ino);
int inuse_parse_locks_line(const char *line, dev_t *dev, ino_t *ino, pid_t *pid,
			   enum inuse_reason *reason);
