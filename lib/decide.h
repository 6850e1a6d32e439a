/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * decide.h: what the sweep does to one file, as pure functions of facts (no system call,
 * no clock, no global): the file's class, the gates no policy can lift (the session's
 * uid, born in the session unless a rule names `owned`, nlink 1, not an exempt user), the
 * run's mode (report-only, dry run, defer until the last session, another session alive
 * or cannot tell, a capped walk), and later what the in-use check and the removal made of
 * a file that was to go. The results have one enum and one name table, which the audit
 * uses; lib/sweep.c only gathers the facts and carries the decisions out.
 *
 * Usage:
 *	in = (struct decide_in){.file = {...}, .rec = {...}, .mode = {...}};
 *	mask = decide_class(&in.file, &in.rec);         // 0: not the session's business
 *	in.verdict.action = policy_decide(p, scope, path, user, uid, mask, size, is_dir,
 *					  &in.verdict.rule);
 *	if (decide(&in, &out) && out.result == RESULT_PENDING)
 *		... in-use check: decide_after_inuse(&out, ...), removal: decide_after_remove(...)
 *	audit: file_result_name(out.result), out.detail
 */
#pragma once

#include "inuse.h"
#include "policy.h"
#include "remove.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

enum file_result {
	RESULT_REMOVED,
	RESULT_REPORTED,
	RESULT_KEPT,
	RESULT_DEFERRED,
	RESULT_SKIPPED_IN_USE,
	RESULT_SKIPPED_CHANGED,
	RESULT_ERROR,
	RESULT_PENDING, /* internal: to be removed; settled by the decide_after_*() below */
	_RESULT_MAX,
};

/* The audit log's word for r ("removed", ..., "error"; "pending" is never audited). */
const char *file_result_name(enum file_result r);
/* Does a file with this result keep its session's record for gc (deferred)? */
bool file_result_keeps_record(enum file_result r);

/* A question the sweep may not be able to answer. CANNOT_TELL is treated as YES. */
enum tristate { TRI_NO, TRI_YES, TRI_CANNOT_TELL };

struct decide_file {
	mode_t type;       /* S_IFMT bits */
	uid_t uid;
	uint64_t nlink;
	uint64_t size;
	uint64_t btime_ns; /* 0: unknown (then never born in the session) */
	uint64_t charged;  /* resident bytes charged to the session's cgroup or a descendant */
	/* Resident pages were looked at, the session's cgroup is known, and none of them is
	 * charged to it: another session (or a service) of the same user wrote it. */
	bool charged_elsewhere;
};

struct decide_record {
	uid_t uid;
	bool exempt;       /* an exempt user: audited, never removed */
	const char *exempt_why; /* why (policy_exempt()), said in the line; NULL: not said */
	uint64_t start_ns; /* the creation window, CLOCK_REALTIME, both ends included */
	uint64_t end_ns;
};

struct decide_verdict {
	enum policy_action action;       /* policy_decide()'s */
	const struct policy_rule *rule;  /* the matching rule, NULL: the default */
};

struct decide_mode {
	bool dry_run;              /* decide and audit, remove nothing */
	bool report_only;          /* the policy is report-only (bad, missing) */
	bool final;                /* no session of the user is left: `defer` rules remove */
	enum tristate other_sessions; /* OtherSessions defer: another session of the user */
	const char *cap;           /* the walk stopped at this cap ("time", "entries", ...), or
				    * NULL: it saw everything */
};

struct decide_in {
	struct decide_file file;
	struct decide_record rec;
	struct decide_verdict verdict;
	struct decide_mode mode;
};

struct decide_out {
	unsigned class;            /* one POLICY_CLASS_* bit, the strongest */
	enum policy_action action; /* as audited: the verdict after the gates */
	enum file_result result;
	bool not_empty;            /* a directory the remover found not empty */
	char detail[192];          /* why, for the audit line; "" for none */
};

/* The file's classes (POLICY_CLASS_* bits) for the policy to match, or 0 when the file is
 * not this session's business (another uid's file not charged to the session, a directory
 * the session did not make). */
unsigned decide_class(const struct decide_file *f, const struct decide_record *rec);

/* The decision. Returns false when the file gets no line at all (no class, the policy
 * ignores it, or only owned and kept), else fills *out. RESULT_PENDING: remove it, once the
 * in-use check and the removal have said their word through the functions below. */
bool decide(const struct decide_in *in, struct decide_out *out);

/* What the in-use check (inuse.h) found for a pending file. */
struct decide_use {
	int in_use;             /* 1 in use, 0 not (the file stays pending), < 0 (-errno): cannot
				 * tell */
	enum inuse_reason why;  /* in use: open, mapped, locked, leased, cwd, root, bound */
	pid_t pid;              /* a holder named, 0: none */
	const char *comm;       /* its process name, or NULL */
	bool named_in_time;     /* the pass that names holders saw everything (pid 0: no holder
				 * any process shows: an io_uring, an fd in flight) */
	const char *cannot;     /* cannot tell: what could not be read */
};

/* The in-use check's word for a pending file: in use, or cannot tell, is skipped-in-use,
 * which keeps the record: gc decides the file again. */
void decide_after_inuse(struct decide_out *o, const struct decide_use *u);

/* A directory the remover found not empty while files of the same sweep stay for gc
 * (in use, deferred): deferred with them, so that gc removes it once they have gone. */
void decide_waits_for_contents(struct decide_out *o);

/* Reasons a pending file is not handed to the remover. */
enum decide_stop {
	STOP_NO_JOURNAL, /* the intent journal cannot be written: a crash could lose the line */
	STOP_NO_USER,    /* the session's user is gone: no credentials to remove with */
	STOP_OLD_JOURNAL, /* resuming, the interrupted sweep's journal could not be read: what
			   * it removed is not known, so nothing more goes (decided again) */
};
void decide_not_removed(struct decide_out *o, enum decide_stop why);

/* What the remover said about a pending file of this type (S_IFMT bits). */
void decide_after_remove(struct decide_out *o, mode_t type, const struct remove_result *r);
