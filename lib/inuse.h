/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * inuse.h: is an object on a watched tmpfs used by anything alive? Asked of the kernel
 * per object, not by a scan of every descriptor of every process:
 *
 *  - a regular file: a write-lease probe (inuse_probe_file). F_SETLEASE F_WRLCK on a
 *    fresh read-only open fails while any other open file description of the inode
 *    exists: open or mapped by any task (threads with their own fd table, an exited
 *    leader's threads), fixed in an io_uring, in flight in an SCM_RIGHTS message, being
 *    executed. The fd is got without ever opening a name: the entry is pinned with
 *    openat2(O_PATH) beneath the watched root, checked (regular, the identity the walk
 *    saw), and that very inode reopened through /proc/self/fd. A file someone holds a
 *    lease on (/proc/locks) is not opened at all: opening it would break the lease.
 *  - a directory: the cwd or root of a live task (inuse_tasks).
 *  - a UNIX socket file: bound by a live socket of any network namespace (inuse_socks,
 *    sock_diag with UDIAG_SHOW_VFS).
 *  - anything else (a FIFO): an fd to it in /proc (inuse_snapshot, want set).
 *
 * The /proc pass (inuse_snapshot) is what names a holder for the audit; it has a deadline
 * and says whether it saw everything. "Cannot tell" (a negative return, or an incomplete
 * table) is never "free": callers keep the object.
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
	INUSE_CWD,
	INUSE_ROOT,
	INUSE_BOUND, /* a UNIX socket file a live socket is bound to */
};

struct inuse_id {
	dev_t dev;
	ino_t ino;
};

/* ---- the /proc pass: holders by fd, mapping and lock ---- */

struct inuse_stats {
	uint64_t procs;        /* processes examined */
	uint64_t procs_gone;   /* exited while we looked: harmless */
	uint64_t procs_denied; /* EACCES etc. for a process of a user: its use is unknown */
	uint64_t procs_hidden; /* EACCES for a root process (an LSM-confined system component):
				* counted, not waited for (see inuse.c: denial_matters) */
	uint64_t tasks;        /* threads with an fd table of their own (or an exited leader) */
	uint64_t fds, maps, locks; /* records read */
	uint64_t entries;      /* distinct (dev, ino) kept */
	uint64_t elapsed_ns;
	bool timed_out;        /* the deadline ended the pass */
	bool all_found;        /* want: every wanted inode was found (the pass stopped early) */
};

struct inuse_opts {
	const dev_t *devs;           /* keep inodes of these devices only (n_devs 0: all) */
	size_t n_devs;
	const struct inuse_id *want; /* or only these; the pass ends once each is found */
	size_t n_want;
	uid_t first_uid;             /* look at this uid's processes first ((uid_t)-1: none) */
	uint64_t deadline_ns;        /* CLOCK_MONOTONIC; 0: none */
	bool locks_only;             /* /proc/locks only */
};

struct inuse;

/* Which inodes live processes hold: /proc/locks, then each process's fd table (and those
 * of its threads that have their own, or of live threads when the leader exited), and
 * its mappings. Our own process is skipped. Returns 0 or -errno (only if /proc itself
 * cannot be read, or -ENOMEM); what could not be seen is in the stats (inuse_complete). */
int inuse_snapshot(const struct inuse_opts *o, struct inuse **ret);
/* The same against another proc mount (tests), skipping skip_pid (0: none). */
int inuse_snapshot_at(int proc_fd, pid_t skip_pid, const struct inuse_opts *o,
		      struct inuse **ret);
/* Only /proc/locks: cheap, for knowing before a walk which files must not even be
 * opened (opening a file someone holds a write lease on breaks the lease). */
int inuse_snapshot_locks(const dev_t *devs, size_t n, struct inuse **ret);
/* The same, read no longer than until deadline_ns (-ETIME then). */
int inuse_snapshot_locks_until(const dev_t *devs, size_t n, uint64_t deadline_ns,
			       struct inuse **ret);

/* true if (dev, ino) is in use; *reason ("open", "mapped", "locked", "leased") and *pid
 * (one process using it; -1 when /proc/locks does not say, e.g. OFD locks) when non-NULL. */
bool inuse_lookup(const struct inuse *u, dev_t dev, ino_t ino, const char **reason,
		  pid_t *pid);
/* Every process and thread was seen, before the deadline. */
bool inuse_complete(const struct inuse *u);
const struct inuse_stats *inuse_get_stats(const struct inuse *u);
void inuse_free(struct inuse *u);

const char *inuse_reason_str(enum inuse_reason r);

/* ---- regular files: the lease probe ---- */

/* Is the regular file parent/name below root_fd (the watched root) in use? parent is
 * relative to root_fd ("." or "a/b"); parent_id and id are the identities the walk saw.
 * locks: a lock table read before (inuse_snapshot_locks) that says which files are
 * leased: those are in use and never opened. Returns 1 (in use; *why INUSE_LEASED or
 * INUSE_OPEN), 0 (no other open file description), -ESTALE (the entry or its parent is
 * not what the walk saw, or is not a regular file), -ENOENT, or -errno (cannot tell).
 * SIGIO (a lease break in the instant the probe lease is held) is blocked and consumed. */
int inuse_probe_file(int root_fd, const char *parent, const char *name,
		     const struct inuse_id *parent_id, const struct inuse_id *id,
		     const struct inuse *locks, enum inuse_reason *why);

/* ---- directories: every task's cwd and root; the network namespaces in use ---- */

struct inuse_tasks;

/* Read the cwd and root of every thread of every process (statx of the /proc links,
 * never opened, AT_STATX_DONT_SYNC) and the network namespace of each, until the
 * deadline. Returns 0 or -errno (only if /proc cannot be read, or -ENOMEM). */
int inuse_tasks_snapshot(int proc_fd, uint64_t deadline_ns, struct inuse_tasks **ret);
/* (dev, ino) is a task's cwd or root: *why INUSE_CWD or INUSE_ROOT, *pid that task. */
bool inuse_tasks_lookup(const struct inuse_tasks *t, dev_t dev, ino_t ino,
			enum inuse_reason *why, pid_t *pid);
/* Every task was seen, before the deadline (root processes the kernel hides excepted). */
bool inuse_tasks_complete(const struct inuse_tasks *t);
size_t inuse_tasks_count(const struct inuse_tasks *t); /* tasks seen */
size_t inuse_tasks_netns_count(const struct inuse_tasks *t);
void inuse_tasks_free(struct inuse_tasks *t);

/* ---- UNIX sockets bound to a file ---- */

struct inuse_socks;

/* The (dev, ino) every UNIX socket of every network namespace in t is bound to: our own
 * namespace is dumped here, every other one by a short-lived child that setns()es into it
 * (its nsfs link pinned with O_PATH and checked first). Children still running at the
 * deadline are killed; the table then says incomplete. t NULL: our namespace only. */
int inuse_socks_snapshot(const struct inuse_tasks *t, uint64_t deadline_ns,
			 struct inuse_socks **ret);
/* A live socket is bound to (dev, ino): *sock the socket's inode on sockfs (for naming
 * its holder: inuse_socks_sockfs_dev). */
bool inuse_socks_lookup(const struct inuse_socks *s, dev_t dev, ino_t ino, struct inuse_id *sock);
/* Every namespace was dumped whole (and t was complete). */
bool inuse_socks_complete(const struct inuse_socks *s);
size_t inuse_socks_count(const struct inuse_socks *s); /* bound sockets seen */
void inuse_socks_free(struct inuse_socks *s);

/* ---- small things ---- */

/* /proc/PID/comm without its newline ("" when gone), at most 16 bytes + NUL. */
void inuse_comm(pid_t pid, char comm[17]);

/* Parsers, exposed for the unit tests. Return 0 when the line names an inode,
 * -ENOENT when it names none (anonymous mapping, "<none>"), -EINVAL when malformed. */
int inuse_parse_maps_line(const char *line, dev_t *dev, ino_t *ino);
int inuse_parse_locks_line(const char *line, dev_t *dev, ino_t *ino, pid_t *pid,
			   enum inuse_reason *reason);
/* The records of a sock_diag AF_UNIX dump (buf, len as recv gave them): calls fn for each
 * socket bound to a file (kernel dev_t decoded). Returns 1 at NLMSG_DONE, 0 when more is
 * to come, -errno for an NLMSG_ERROR or a malformed message. */
int inuse_parse_unix_diag(const void *buf, size_t len,
			  int (*fn)(const struct inuse_id *bound, uint64_t sock_ino, void *ud),
			  void *ud);
