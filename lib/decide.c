/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * decide.c: the sweep's decision for one file (decide.h). Every outcome is a row of one
 * of the tables below, so that a change of what the sweep does is a one-row edit that
 * tests/unit/test_decide.c walks.
 */
#include "decide.h"
#include "util.h"

#include <assert.h>
#include <sys/stat.h>

static const struct {
	const char *name;
	bool keeps_record; /* the record stays (deferred) so that gc decides the file again */
} results[] = {
	[RESULT_REMOVED] = {"removed", false},
	[RESULT_REPORTED] = {"reported", false},
	[RESULT_KEPT] = {"kept", false},
	[RESULT_DEFERRED] = {"deferred", true},
	[RESULT_SKIPPED_IN_USE] = {"skipped-in-use", true}, /* pending until nothing holds it */
	[RESULT_SKIPPED_CHANGED] = {"skipped-changed", false},
	[RESULT_ERROR] = {"error", false},
	[RESULT_PENDING] = {"pending", false},
};
_Static_assert(ARRAY_SIZE(results) == _RESULT_MAX, "a name for every result");

const char *file_result_name(enum file_result r)
{
	return (unsigned)r < ARRAY_SIZE(results) ? results[r].name : "error";
}

bool file_result_keeps_record(enum file_result r)
{
	return (unsigned)r < ARRAY_SIZE(results) && results[r].keeps_record;
}

static bool born_in_session(const struct decide_file *f, const struct decide_record *rec)
{
	/* Birth time only: mtime and atime are the owner's to forge (touch -d). */
	return f->btime_ns && f->btime_ns >= rec->start_ns && f->btime_ns <= rec->end_ns;
}

unsigned decide_class(const struct decide_file *f, const struct decide_record *rec)
{
	bool ours = f->uid == rec->uid, born = born_in_session(f, rec);
	unsigned mask = 0;

	assert(f);
	assert(rec);

	if (!ours && !f->charged)
		return 0;
	if (S_ISDIR(f->type) && (!ours || !born))
		return 0; /* only directories the session made are worth a line */
	if (born && f->charged_elsewhere && !f->charged)
		born = false;
	if (f->charged)
		mask |= POLICY_CLASS_CHARGED;
	if (ours)
		mask |= born ? POLICY_CLASS_CREATED : POLICY_CLASS_OWNED;
	return mask;
}

static unsigned strongest(unsigned mask)
{
	return mask & POLICY_CLASS_CHARGED   ? POLICY_CLASS_CHARGED
	       : mask & POLICY_CLASS_CREATED ? POLICY_CLASS_CREATED
					     : POLICY_CLASS_OWNED;
}

static bool not_users_file(const struct decide_in *in, unsigned mask)
{
	return in->file.uid != in->rec.uid;
}

static bool exempt_user(const struct decide_in *in, unsigned mask)
{
	return in->rec.exempt;
}

static const char *exempt_why(const struct decide_in *in)
{
	return in->rec.exempt_why;
}

/* Created in the session, or a rule that names class=owned asks for older files too. */
static bool not_created(const struct decide_in *in, unsigned mask)
{
	const struct policy_rule *rule = in->verdict.rule;

	return !(mask & POLICY_CLASS_CREATED) &&
	       !((mask & POLICY_CLASS_OWNED) && rule && (rule->class_mask & POLICY_CLASS_OWNED));
}

static bool hard_links(const struct decide_in *in, unsigned mask)
{
	return !S_ISDIR(in->file.type) && in->file.nlink > 1;
}

/* The gates no policy can lift, in order: the first that holds turns a remove or defer
 * verdict into its row. An exempt user's file is kept: audited, never removed. */
static const struct gate {
	bool (*holds)(const struct decide_in *in, unsigned mask);
	enum policy_action action;
	enum file_result result;
	const char *detail;
	const char *(*why)(const struct decide_in *in); /* more detail ("DETAIL: WHY"), or NULL */
} gates[] = {
	{not_users_file, POLICY_REPORT, RESULT_REPORTED, "owner is not the session's user", NULL},
	{exempt_user, POLICY_KEEP, RESULT_KEPT, "exempt user", exempt_why},
	{not_created, POLICY_REPORT, RESULT_REPORTED, "not created in this session", NULL},
	{hard_links, POLICY_REPORT, RESULT_REPORTED, "hard links", NULL},
};

static bool dry_run(const struct decide_mode *m)
{
	return m->dry_run;
}

static bool other_session(const struct decide_mode *m)
{
	return !m->final && m->other_sessions == TRI_YES;
}

static bool other_session_unknown(const struct decide_mode *m)
{
	return !m->final && m->other_sessions == TRI_CANNOT_TELL;
}

static bool capped(const struct decide_mode *m)
{
	return m->cap != NULL;
}

/* What the run's mode makes of a remove that passed the gates, in order; none: pending. */
static const struct hold {
	bool (*holds)(const struct decide_mode *m);
	enum file_result result;
	const char *detail; /* NULL: "incomplete walk (CAP): nothing removed" */
} holds[] = {
	{dry_run, RESULT_REPORTED, "dry run"},
	{other_session, RESULT_DEFERRED, "another session of the user is alive"},
	{other_session_unknown, RESULT_DEFERRED,
	 "cannot tell whether another session of the user is alive"},
	{capped, RESULT_REPORTED, NULL},
};

static void set(struct decide_out *o, enum file_result result, const char *detail)
{
	o->result = result;
	snprintf(o->detail, sizeof(o->detail), "%s", detail ? detail : "");
}

bool decide(const struct decide_in *in, struct decide_out *out)
{
	const struct decide_mode *m = &in->mode;
	unsigned mask = decide_class(&in->file, &in->rec);
	enum policy_action a = in->verdict.action;

	assert(in);
	assert(out);

	/* Only owned, and no rule asks about it (or a keep rule, which applies to every
	 * class, says leave it): not this session's business, no line. */
	if (!mask || a == POLICY_IGNORE || (mask == POLICY_CLASS_OWNED && a == POLICY_KEEP))
		return false;
	*out = (struct decide_out){.class = strongest(mask)};
	if (m->report_only && (a == POLICY_REMOVE || a == POLICY_DEFER))
		a = POLICY_REPORT; /* policy_decide() does it too; never rely on one place */
	if (a == POLICY_REMOVE || a == POLICY_DEFER) {
		for (size_t i = 0; i < ARRAY_SIZE(gates); i++)
			if (gates[i].holds(in, mask)) {
				const char *why = gates[i].why ? gates[i].why(in) : NULL;

				out->action = gates[i].action;
				set(out, gates[i].result, gates[i].detail);
				if (why)
					snprintf(out->detail, sizeof(out->detail), "%s: %s",
						 gates[i].detail, why);
				return true;
			}
	}
	if (a == POLICY_DEFER && m->final)
		a = POLICY_REMOVE;
	out->action = a;
	switch (a) {
	case POLICY_KEEP:
		set(out, RESULT_KEPT, NULL);
		return true;
	case POLICY_DEFER:
		set(out, RESULT_DEFERRED, "deferred by rule until the user's last session ends");
		return true;
	case POLICY_REMOVE:
		for (size_t i = 0; i < ARRAY_SIZE(holds); i++)
			if (holds[i].holds(m)) {
				set(out, holds[i].result, holds[i].detail);
				if (!holds[i].detail)
					snprintf(out->detail, sizeof(out->detail),
						 "incomplete walk (%s): nothing removed", m->cap);
				return true;
			}
		set(out, RESULT_PENDING, NULL);
		return true;
	default:
		set(out, RESULT_REPORTED, m->report_only ? "report-only policy" : NULL);
		return true;
	}
}

/* How the audit says an in-use reason, and the word before the holder. */
static const struct {
	const char *what;
	const char *by;
} uses[] = {
	[INUSE_NONE] = {"in use", "by"},
	[INUSE_MAPPED] = {"mapped", "by"},
	[INUSE_OPEN] = {"open", "by"},
	[INUSE_LOCKED] = {"locked", "by"},
	[INUSE_LEASED] = {"leased", "by"},
	[INUSE_CWD] = {"the working directory", "of"},
	[INUSE_ROOT] = {"the root directory", "of"},
	[INUSE_BOUND] = {"bound to a live UNIX socket", "held by"},
};

void decide_after_inuse(struct decide_out *o, const struct decide_use *u)
{
	unsigned w = (unsigned)u->why < ARRAY_SIZE(uses) ? (unsigned)u->why : INUSE_NONE;

	assert(o);
	assert(u);

	if (o->result != RESULT_PENDING || u->in_use == 0)
		return;
	o->result = RESULT_SKIPPED_IN_USE;
	if (u->in_use < 0)
		snprintf(o->detail, sizeof(o->detail),
			 "cannot tell whether in use: could not read %s (%s); gc decides again",
			 u->cannot ? u->cannot : "/proc", strerror(-u->in_use));
	else if (u->pid > 0)
		snprintf(o->detail, sizeof(o->detail), "%s %s pid %d (%s); gc decides again",
			 uses[w].what, uses[w].by, (int)u->pid, u->comm ? u->comm : "");
	else if (!u->named_in_time)
		snprintf(o->detail, sizeof(o->detail),
			 "%s (its holder not named in time); gc decides again", uses[w].what);
	else if (u->why == INUSE_OPEN)
		snprintf(o->detail, sizeof(o->detail),
			 "open, by no fd or mapping that /proc shows (an io_uring, an fd in flight); "
			 "gc decides again");
	else
		snprintf(o->detail, sizeof(o->detail), "%s; gc decides again", uses[w].what);
}

void decide_waits_for_contents(struct decide_out *o)
{
	assert(o);
	if (o->result == RESULT_KEPT && o->not_empty)
		set(o, RESULT_DEFERRED, "directory not empty: it holds files gc decides again");
}

static const struct {
	enum file_result result;
	const char *detail;
} stops[] = {
	[STOP_NO_JOURNAL] = {RESULT_REPORTED, "cannot write the sweep journal"},
	[STOP_NO_USER] = {RESULT_ERROR, "the session's user no longer exists"},
	[STOP_OLD_JOURNAL] = {RESULT_DEFERRED,
			      "the interrupted sweep's journal cannot be read: nothing removed"},
};

void decide_not_removed(struct decide_out *o, enum decide_stop why)
{
	assert(o);
	if (o->result != RESULT_PENDING || (unsigned)why >= ARRAY_SIZE(stops))
		return;
	set(o, stops[why].result, stops[why].detail);
}

void decide_after_remove(struct decide_out *o, mode_t type, const struct remove_result *r)
{
	assert(o);
	assert(r);
	if (o->result != RESULT_PENDING)
		return;
	switch (r->status) {
	case REMOVE_REMOVED:
		/* The remover ended (killed, or dead) before it said so, and the file's inode
		 * is gone: its handle finds none. */
		set(o, RESULT_REMOVED, r->check == REMOVE_CHECK_NOT_RUN
					       ? "the remover ended before saying so; the file is gone"
					       : NULL);
		return;
	case REMOVE_SKIPPED_CHANGED:
		o->result = RESULT_SKIPPED_CHANGED;
		snprintf(o->detail, sizeof(o->detail), "re-check failed: %s",
			 remove_check_str(r->check));
		return;
	default:
		break;
	}
	/* Exchanged after the re-check (RENAME_EXCHANGE): the kernel refused the unlink
	 * because the entry is no longer of its type. */
	if (r->check == REMOVE_CHECK_UNLINK && (r->err == ENOTDIR || r->err == EISDIR)) {
		set(o, RESULT_SKIPPED_CHANGED, "changed type just before the unlink");
		return;
	}
	if (S_ISDIR(type) && r->err == ENOTEMPTY) {
		set(o, RESULT_KEPT, "directory not empty");
		o->not_empty = true;
		return;
	}
	o->result = RESULT_ERROR;
	snprintf(o->detail, sizeof(o->detail), "%s: %s", remove_check_str(r->check),
		 r->err ? strerror(r->err) : "no answer");
}
