/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * record.h: the session record, the one thing the PAM module hands the helper.
 * Written at open_session to STATEDIR/sessions/ID (root 0600: written unnamed with
 * O_TMPFILE and linked in whole, or rewritten through a temp name and rename, so a reader
 * sees a whole record or none; not fsynced, see record_write), read by `tmpfs-sweep close ID`,
 * `sessions` and `gc`. Text, one `key=value` a line; values are escaped so that no
 * byte of a user-controlled string (rhost, tty, paths) can end a line or forge a key;
 * the parser is strict (unknown or repeated keys, bad numbers, oversize: -EBADMSG).
 *
 * The id is "PID-STARTNS" (the [priv] process and the session's start time in ns),
 * so the record of a pid is found by a directory scan of "PID-*" names.
 */
#pragma once

#include "cgroup.h"
#include "proc.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define RECORD_MAX_SIZE (64 * 1024)
#define RECORD_MAX_MOUNTS 64
#define RECORD_ID_MAX 48       /* "PID-NS" with room to spare, NUL included */
#define RECORD_BOOT_ID_LEN PROC_BOOT_ID_LEN
#define RECORD_MAX_PENDING 1000 /* more pending files than this: no list (all decided again) */

enum record_state {
	RECORD_OPEN = 0,
	RECORD_CLOSING = 1,  /* the helper has started on it */
	RECORD_DEFERRED = 2, /* kept for gc (another session of the user, or incomplete) */
	RECORD_QUEUED = 3,   /* its close waits for a shared sweep (end_ns: when it closed) */
};

struct record_mount {
	int mnt_id;
	dev_t dev;
	char *path;
};

/* A file a sweep left undecided, for gc to decide again: its identity, and why. */
enum record_pending_why {
	RECORD_PENDING_INUSE = 'u',    /* in use, or could not tell in time */
	RECORD_PENDING_DEFERRED = 'd', /* deferred: another session, a defer rule, or a
					* directory that still holds pending files */
};

struct record_pending {
	dev_t dev;
	ino_t ino;
	char why; /* enum record_pending_why */
};

struct session_record {
	char *id;
	uid_t uid;
	char *user;
	char *service; /* may be NULL (not set by the application) */
	char *rhost;   /* may be NULL */
	char *tty;     /* may be NULL */
	char *unit;    /* the systemd unit of a `sweep` of its cgroup; NULL for a login */
	uint64_t start_ns; /* CLOCK_REALTIME */
	char boot_id[RECORD_BOOT_ID_LEN + 1];

	enum cg_mode cg_mode;  /* CG_NONE: no memory cgroup known */
	char *cgroup;          /* session cgroup, relative to the hierarchy root */
	uint64_t cgroup_ino;   /* as /proc/kpagecgroup reports it */
	bool cgroup_session;   /* the cgroup is this session's alone (a logind session scope,
				* or made by the module): only then does "charged" mean it */
	bool cgroup_created;   /* made by the module: moved back and removed at close */
	char *cgroup_orig;     /* where the caller was before (only when created) */

	pid_t pid;             /* the process that opened the session (sshd [priv]) */
	uint64_t pid_start;    /* its start time, clock ticks after boot (stat field 22) */

	struct record_mount *mounts;
	size_t n_mounts;

	enum record_state state;
	uint64_t end_ns;       /* CLOCK_REALTIME of the close that deferred it; 0 while open.
				* A later sweep (gc) claims files born up to here only. */
	/* Deferred: the files still to decide (the others have their final audit line). None
	 * listed: every file of the session is decided again (an incomplete walk, or more
	 * than RECORD_MAX_PENDING). Sorted by (dev, ino). */
	struct record_pending *pending;
	size_t n_pending;
};

/* Free everything the record owns and zero it (safe on a zeroed record). */
void record_done(struct session_record *r);
#define record_free record_done

/* Add a watched mount (path is copied). -E2BIG beyond RECORD_MAX_MOUNTS. */
int record_add_mount(struct session_record *r, int mnt_id, dev_t dev, const char *path);

/* Set r's pending list to a sorted copy of v[0..n) (n 0: none). -E2BIG beyond
 * RECORD_MAX_PENDING (then r has none). */
int record_set_pending(struct session_record *r, const struct record_pending *v, size_t n);
/* The pending entry of (dev, ino), or NULL. */
const struct record_pending *record_find_pending(const struct session_record *r, dev_t dev,
						 ino_t ino);

/* "PID-STARTNS" into buf (RECORD_ID_MAX). */
int record_make_id(pid_t pid, uint64_t start_ns, char *buf, size_t size);
/* An id is digits, one '-', digits, nothing else: it is safe as a file name. */
bool record_id_valid(const char *id);

/* A value of a key=value line: everything outside 0x21..0x7e, and the backslash, as \xHH
 * (the notify summaries use it too). unescape: -EBADMSG for a bad or NUL escape. */
struct sbuf;
void record_add_escaped(struct sbuf *b, const char *s);
int record_unescape(const char *s, char **ret);

/* Serialise / parse (exposed for tests; record_write/read use them). */
int record_format(const struct session_record *r, char **ret, size_t *ret_len);
int record_parse(const char *buf, size_t len, struct session_record *ret);

/* Open (and create, root 0700, when missing) statedir and statedir/sessions; refuse
 * a symlink, a non-directory, an owner other than our euid, or group/other write.
 * Returns the fd of the sessions dir. */
int record_open_dir(const char *statedir, bool create);

/* statedir/NAME (made 0700 when missing), ours and not group/other-writable: the
 * homes of the sweep journal and the per-record locks. Returns an O_DIRECTORY fd. */
int record_open_subdir(const char *statedir, const char *name);
/* Atomic write of rec to statedir/sessions/rec->id (replaces an existing one). */
int record_write(const char *statedir, const struct session_record *rec);
/* -ENOENT when there is no such record; -EINVAL for a malformed id. */
int record_read(const char *statedir, const char *id, struct session_record *ret);
int record_remove(const char *statedir, const char *id);
/* Was the record file last written before this boot began (by its mtime)? For records
 * that cannot be read, which no one can sweep and gc drops. 1 yes, 0 no, -errno when it
 * cannot tell (then: no). */
int record_before_boot(const char *statedir, const char *id);
/* The id of the record whose pid and pid_start match (pid_start 0: any). -ENOENT. */
int record_find_by_pid(const char *statedir, pid_t pid, uint64_t pid_start, char **ret_id);
/* All record ids, sorted; *ret is a NULL-terminated malloc'd array (record_ids_free). */
int record_list(const char *statedir, char ***ret, size_t *ret_n);
void record_ids_free(char **ids);
/* The same for the record ids named in directory dfd (e.g. one of record_open_subdir). */
int record_list_at(int dfd, char ***ret, size_t *ret_n);

/* The per-record lock that makes one close or gc at a time sweep a record
 * (StateDir/locks/ID, flock, non-blocking). Returns the lock fd, -EBUSY when another close
 * or gc holds it, or -errno. record_unlock closes fd, and removes the lock file first when
 * unlink_it (the record is gone). */
int record_lock(const char *statedir, const char *id);
void record_unlock(const char *statedir, const char *id, int fd, bool unlink_it);


const char *record_state_to_string(enum record_state s);
