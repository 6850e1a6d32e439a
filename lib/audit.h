/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * audit.h: the audit trail of DESIGN.md. One JSON object per line appended to the
 * AuditLog file (each line one write(2) with O_APPEND, so concurrent writers never
 * interleave), and the same facts to journald as structured fields with one
 * MESSAGE_ID per event type. The file is opened once, refusing symlinks and
 * non-regular files; journald being absent is never an error.
 */
#pragma once

#include "decide.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* journald MESSAGE_IDs (`journalctl MESSAGE_ID=...`), fixed forever. */
#define AUDIT_MID_SESSION_OPEN "1cb7a6eee69144188becdcbc59c4cfbe"
#define AUDIT_MID_FILE "d77d0264bda1417e9ac2a252016a0a95"
#define AUDIT_MID_SESSION_CLOSE "e48e1d1b6d4d4fdd8d3e083de4d632e7"

/* Default AuditLog. */
#define AUDIT_DEFAULT_PATH "/var/log/tmpfs-sweep/audit.jsonl"

/* What one user's names can cost the log. A path of more than AUDIT_PATH_MAX bytes is
 * shown as its first AUDIT_PATH_HEAD and last AUDIT_PATH_TAIL bytes around a marker that
 * says how many bytes were cut and the SHA-256 of the whole path (so two long paths never
 * show alike); a run (close, or gc of one record) writes at most AUDIT_MAX_FILE_LINES file
 * lines, and its session-close line counts the rest as "unlisted". */
#define AUDIT_PATH_MAX 4096
#define AUDIT_PATH_HEAD 1024
#define AUDIT_PATH_TAIL 2048
#define AUDIT_MAX_FILE_LINES 10000

struct audit;

/* String members may be NULL (written as JSON null, left out of journald).
 * Times are nanoseconds since the epoch, written as RFC 3339 UTC; 0 = unknown (null). */
struct audit_session {
	const char *session;
	const char *user;
	uid_t uid;
	const char *service, *rhost, *tty;
	const char *cgroup;
	uint64_t time_ns;
	/* Optional, left out when NULL: */
	const char *reason; /* e.g. "watched /tmp is not a tmpfs mount point: skipped" */
	const char *trigger; /* "unit" or "cgroup": a `sweep` of an ended cgroup, no login */
	const char *unit;    /* the systemd unit it swept */
};

struct audit_file {
	const char *session;
	const char *path; /* any bytes: escaped reversibly */
	size_t path_len;  /* 0: strlen(path) */
	uint64_t size, charged_bytes;
	uid_t uid;
	uint64_t btime_ns;
	const char *class;  /* "charged", "created", "owned" */
	const char *action; /* "remove", "report", "keep", "defer" */
	enum file_result result; /* written as file_result_name() */
	const char *rule;   /* the rule's text, or "default" */
	/* Optional, left out when NULL: */
	const char *error;  /* e.g. strerror text, or the failed re-check */
	const char *detail; /* e.g. "open by pid 1234", "report-only: bad policy" */
	/* Shared memory no path reaches (leftover.h): "sysv", "memfd", "deleted",
	 * "anon-shared"; path is then its name. */
	const char *object;
};

struct audit_summary {
	const char *session;
	const char *user;
	uid_t uid;
	uint64_t files, bytes, charged_bytes;
	uint64_t removed, removed_bytes, kept, deferred, errors;
	bool incomplete;
	uint64_t duration_ms;
	const char *policy_sha256; /* 64 hex digits, or NULL when no policy was read */
	uint64_t time_ns;
	/* Optional, left out when NULL: */
	const char *trigger; /* "close", "gc", "unit", "cgroup" */
	const char *reason;  /* "report-only: bad policy", "timeout", "time" (cap hit), ... */
	uint64_t unlisted;   /* files beyond AUDIT_MAX_FILE_LINES, counted but without a line
			      * (left out when 0) */
	/* Written when objects_seen: the shared memory objects (leftover.h) audited, the bytes
	 * of them charged to the session, and how many of them were removed. */
	bool objects_seen;
	uint64_t objects, objects_charged_bytes, objects_removed;
};

/* Open the sink. path NULL: journald only. The directory (last component only; its
 * parents must exist) is created root 0700 if missing; it must not be a symlink, must
 * be owned by us and not writable by group or other; the file is created 0600, must be
 * a regular file owned by us, and is never reached through a symlink.
 * On a file error *ret is still set (journald-only sink, if journal) and -errno is
 * returned: the caller says so and goes on. Only -ENOMEM leaves *ret NULL. */
int audit_open(const char *path, bool journal, struct audit **ret);
void audit_close(struct audit *a);

/* Each returns 0 when the line reached the file (or there is no file), else -errno
 * (the file's error, e.g. the one audit_open met). journald gets the event either way. */
int audit_session_open(struct audit *a, const struct audit_session *s);
int audit_file(struct audit *a, const struct audit_file *f);
int audit_session_close(struct audit *a, const struct audit_summary *s);

/* The path as a file line shows it (see AUDIT_PATH_MAX): path itself, or the cut form,
 * built in *tmp. NULL only when tmp ran out of memory. */
struct sbuf;
const char *audit_path_shown(const char *path, size_t len, struct sbuf *tmp, size_t *ret_len);

/* The JSON line (with its '\n') an event would write; for tests and `--json` output.
 * Returns 0 or -ENOMEM. */
int audit_format_session_open(struct sbuf *b, const struct audit_session *s);
int audit_format_file(struct sbuf *b, const struct audit_file *f);
int audit_format_session_close(struct sbuf *b, const struct audit_summary *s);

/* The file lines of session id already in the audit log at audit_path, as digests of
 * their path as written (escaped, cut as audit_path_shown cuts it); lines whose result
 * keeps the record (decided again later) do not count. Read as a stream. */
struct audit_seen {
	uint8_t (*h)[16]; /* sorted */
	size_t n;
};
/* -ENOENT without a log (then *ret is empty). */
int audit_log_seen(const char *audit_path, const char *id, struct audit_seen *ret);
/* Has the audit log seen a line for path (as audit_file would write it)? */
bool audit_seen_has(const struct audit_seen *s, const char *path, size_t len);
void audit_seen_done(struct audit_seen *s);
