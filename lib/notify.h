/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * notify.h: telling the user, at the next login, what the last sweep of theirs left on
 * tmpfs (NotifyUser, tmpfs-sweep.conf(5)). A sweep that audited files still there (kept,
 * reported, deferred, skipped, error) writes a small summary to StateDir/notify/UID (root
 * 0600, whole by rename, at most NOTIFY_MAX_SIZE): how many, how much, the first three
 * paths and what happened to each. open_session reads only that file (in the common case
 * an open(2) that fails with ENOENT: no audit log is read at a login), turns it into one
 * PAM_TEXT_INFO message like "Last login", and removes it once the conversation took it.
 */
#pragma once

#include "decide.h"
#include "record.h"
#include "users.h"

#include <stdint.h>
#include <sys/types.h>

#define NOTIFY_MAX_SIZE 8192
#define NOTIFY_MAX_PATHS 3

struct notify_summary {
	char session[RECORD_ID_MAX];
	char user[USER_NAME_MAX + 1];
	char what[256];     /* "sshd from 192.0.2.7", "unit backup.service": what it was */
	uint64_t end_ns;    /* when it was swept, CLOCK_REALTIME */
	uint64_t files, bytes;
	struct {
		char path[256];
		enum file_result result;
		char detail[192];
	} v[NOTIFY_MAX_PATHS];
	size_t n;
};

/* Write s as uid's summary (replacing any). */
int notify_write(const char *statedir, uid_t uid, const struct notify_summary *s);
/* uid's summary; -ENOENT when there is none, -EBADMSG when it cannot be read as one. */
int notify_read(const char *statedir, uid_t uid, struct notify_summary *ret);
/* Remove uid's summary when it is session's (session NULL: whatever it is). */
int notify_clear(const char *statedir, uid_t uid, const char *session);

/* The message (lines, no trailing newline) for s, names escaped so that no byte of a path
 * reaches a terminal as a control: NUL-terminated in buf, cut to size. */
void notify_message(const struct notify_summary *s, char *buf, size_t size);
