/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * journal.h: what makes a sweep that is killed at any point finish later with each
 * file audited exactly once. Before a batch removal the sweep appends one intent per
 * file to StateDir/journal/ID; a later run (gc) audits as removed the intents whose
 * file is gone and whose line the audit log does not hold yet, and skips every file
 * whose line it does hold (audit_log_paths).
 */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct journal_entry {
	dev_t dev;
	ino_t ino;
	uint64_t size, charged, btime_ns;
	uid_t uid;
	char *path; /* any bytes */
	size_t path_len;
	char *class, *action, *rule;
};

struct journal {
	struct journal_entry *v;
	size_t n;
};

int journal_append(const char *statedir, const char *id, const struct journal_entry *e, size_t n);
/* -ENOENT when there is no journal. Malformed lines are skipped. */
int journal_read(const char *statedir, const char *id, struct journal *ret);
int journal_remove(const char *statedir, const char *id);
void journal_free(struct journal *j);

/* The paths (JSON-escaped, as the audit log writes them) of the file lines of session id
 * in the audit log at audit_path, sorted, NULL-terminated; lines whose result keeps the record
 * (deferred: file_result_keeps_record) do not count, such a file is decided again.
 * -ENOENT without a log. */
int audit_log_paths(const char *audit_path, const char *id, char ***ret, size_t *n);
/* The JSON-escaped form of a path, as audit_log_paths returns them (malloc'd). */
char *journal_escaped_path(const char *path, size_t len);
void strv_free(char **v);
