/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * intents.h: the intent journal (not journald), what makes a sweep that is killed at any
 * point finish later with each removed file audited exactly once, and no file audited as
 * removed that still exists.
 *
 * Before a batch removal the sweep writes StateDir/journal/ID whole (a temp name, fsync,
 * rename): the mounts, the directories on the way (a parent table: siblings share one
 * entry, so no full path is stored per file) and one intent per file, with the file's
 * facts and a file handle (name_to_handle_at). Then each result of the remover is
 * appended as it arrives. A later run (gc) replays the journal: an intent whose result
 * says removed, or whose result is missing and whose handle finds no inode left, was
 * removed by the interrupted run; one whose inode still exists was not. The audit log is
 * the record of which lines were written (audit.h: audit_log_seen), so each gets one.
 *
 * Text, one record a line, names in hex (any bytes, never a separator):
 *	tmpfs-sweep-journal 2
 *	m MOUNT DEV PATHHEX
 *	d DIR UP|- NAMEHEX
 *	i SEQ MOUNT DIR|- DEV INO SIZE CHARGED UID BTIME CLASS ACTION NAMEHEX RULEHEX HTYPE HHEX|-
 *	r SEQ STATUS CHECK ERRNO
 * The journal is read as a stream, twice (results first), never whole: its size is no limit.
 */
#pragma once

#include "remove.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct intent {
	uint64_t seq;          /* its place among the journal's intents, from 0 */
	size_t mount;          /* index of an "m" record */
	size_t dir;            /* index of a "d" record, or REMOVE_ROOT */
	dev_t dev;
	ino_t ino;
	uint64_t size, charged, btime_ns;
	uid_t uid;
	const char *class, *action, *rule; /* class and action: one word each */
	const char *name;
	struct remove_handle handle;
	/* Reading: */
	const char *path;      /* mount path + directories + name */
	size_t path_len;
	bool has_result;       /* an "r" record for it */
	struct remove_result result;
};

/* Writing. */
struct intents_writer;
/* Start StateDir/journal/ID.tmp (replaced when it exists). */
int intents_begin(const char *statedir, const char *id, struct intents_writer **ret);
void intents_add_mount(struct intents_writer *w, size_t idx, dev_t dev, const char *path);
void intents_add_dir(struct intents_writer *w, size_t idx, size_t up, const char *name);
void intents_add(struct intents_writer *w, const struct intent *e);
/* Flush, fsync and rename the journal into place (an earlier one of ID is replaced). */
int intents_commit(struct intents_writer *w);
/* Append the result of intent seq (one write, as it arrives). */
int intents_result(struct intents_writer *w, uint64_t seq, const struct remove_result *r);
/* Close it (an uncommitted one is removed). */
void intents_close(struct intents_writer *w);

/* Replay StateDir/journal/ID: fn for each intent, in order, with its path and result.
 * -ENOENT when there is none; -EBADMSG for a line that does not parse (nothing then is
 * to be taken as known); -EPROTO for a journal of another version; fn's error stops it. */
int intents_replay(const char *statedir, const char *id,
		   int (*fn)(const struct intent *e, void *userdata), void *userdata);
int intents_remove(const char *statedir, const char *id);
