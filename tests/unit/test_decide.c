/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The sweep's decision (lib/decide.c), row by row: every gate, every mode and the
 * combinations that matter, then what the in-use check and the remover make of a pending
 * file, then every combination of the inputs against the rules no row may break (nothing
 * is ever removed that is not the user's, born in the session or named by an owned rule,
 * single-linked, of a user who is not exempt, in a run that may remove).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "decide.h"
#include "util.h"

#include <sys/stat.h>

#define USER 1000
#define OTHER 1001
#define START 100
#define END 200
#define BORN 150   /* in the session */
#define BEFORE 50  /* before it */

struct row {
	const char *name;
	/* the file */
	mode_t type;
	uid_t uid;
	uint64_t nlink, btime, charged;
	bool elsewhere;
	/* the record, the verdict, the mode */
	bool exempt;
	enum policy_action action;
	unsigned rule_class; /* 0: no rule matched (the default) */
	bool dry, ronly, final;
	enum tristate other;
	const char *cap;
	/* expected */
	bool line;
	unsigned class;
	enum policy_action want;
	enum file_result result;
	const char *detail;
};

/* A regular file of the user, single-linked, born in the session, not charged, that a
 * `remove` rule without conditions matched; a row changes what it is about. */
#pragma GCC diagnostic ignored "-Woverride-init"
#define ROW(...)                                                                                   \
	{                                                                                          \
		.type = S_IFREG, .uid = USER, .nlink = 1, .btime = BORN, .action = POLICY_REMOVE,  \
		.rule_class = POLICY_CLASS_DEFAULT, .line = true, .class = POLICY_CLASS_CREATED,   \
		.want = POLICY_REMOVE, .result = RESULT_PENDING, .detail = "", __VA_ARGS__         \
	}

#define CH POLICY_CLASS_CHARGED
#define CR POLICY_CLASS_CREATED
#define OW POLICY_CLASS_OWNED
#define REPORTED(d) .want = POLICY_REPORT, .result = RESULT_REPORTED, .detail = d
/* An exempt user's file that a rule would remove: kept, audited, and why. */
#define KEPT_EXEMPT .want = POLICY_KEEP, .result = RESULT_KEPT, .detail = "exempt user: why"

static const struct row rows[] = {
	/* Classes, and what gets no line at all. */
	ROW(.name = "created in the session: pending"),
	ROW(.name = "charged and created: class charged", .charged = 4096, .class = CH),
	ROW(.name = "born at the start (inclusive)", .btime = START),
	ROW(.name = "born at the end (inclusive)", .btime = END),
	ROW(.name = "born after the end: owned", .btime = END + 1, .class = OW,
	    REPORTED("not created in this session")),
	ROW(.name = "no birth time: owned", .btime = 0, .class = OW,
	    REPORTED("not created in this session")),
	ROW(.name = "born in the session, pages charged elsewhere only: owned", .elsewhere = true,
	    .class = OW, REPORTED("not created in this session")),
	ROW(.name = "another uid, not charged: no line", .uid = OTHER, .line = false),
	ROW(.name = "another uid, charged: reported, owner", .uid = OTHER, .charged = 4096,
	    .class = CH, REPORTED("owner is not the session's user")),
	ROW(.name = "another uid, charged, born in the session: still the owner gate",
	    .uid = OTHER, .charged = 1, .class = CH, REPORTED("owner is not the session's user")),
	ROW(.name = "owned, the policy ignores it: no line", .btime = BEFORE,
	    .action = POLICY_IGNORE, .rule_class = 0, .line = false),
	ROW(.name = "owned, kept: no line", .btime = BEFORE, .action = POLICY_KEEP, .line = false),
	ROW(.name = "created, the policy ignores it: no line", .action = POLICY_IGNORE,
	    .line = false),
	ROW(.name = "directory made in the session: pending", .type = S_IFDIR, .nlink = 2),
	ROW(.name = "directory made before: no line", .type = S_IFDIR, .nlink = 2,
	    .btime = BEFORE, .line = false),
	ROW(.name = "directory of another uid: no line", .type = S_IFDIR, .uid = OTHER,
	    .line = false),
	ROW(.name = "directory without birth time: no line", .type = S_IFDIR, .btime = 0,
	    .line = false),

	/* The gates: a remove or defer verdict becomes a report. */
	ROW(.name = "owned, remove by the default: not created", .btime = BEFORE,
	    .rule_class = 0, .class = OW, REPORTED("not created in this session")),
	ROW(.name = "charged but born before, class=charged rule: not created (threat 15)",
	    .btime = BEFORE, .charged = 4096, .rule_class = CH, .class = CH,
	    REPORTED("not created in this session")),
	ROW(.name = "owned, a class=owned rule: pending", .btime = BEFORE, .rule_class = OW,
	    .class = OW),
	ROW(.name = "charged and owned, a class=owned rule: pending", .btime = BEFORE,
	    .charged = 1, .rule_class = CH | OW, .class = CH),
	ROW(.name = "nlink 2: hard links", .nlink = 2, REPORTED("hard links")),
	ROW(.name = "owned by rule, nlink 3: hard links", .btime = BEFORE, .rule_class = OW,
	    .nlink = 3, .class = OW, REPORTED("hard links")),
	ROW(.name = "exempt user: kept, and why", .exempt = true, KEPT_EXEMPT),
	ROW(.name = "exempt user, keep rule: kept", .exempt = true, .action = POLICY_KEEP,
	    .want = POLICY_KEEP, .result = RESULT_KEPT),
	ROW(.name = "exempt user, report rule: reported", .exempt = true,
	    .action = POLICY_REPORT, REPORTED("")),
	ROW(.name = "exempt user, defer rule: kept", .exempt = true, .action = POLICY_DEFER,
	    KEPT_EXEMPT),
	ROW(.name = "exempt user, charged: kept", .exempt = true, .charged = 4096, .class = CH,
	    KEPT_EXEMPT),
	ROW(.name = "gate order: owner before exempt", .uid = OTHER, .charged = 1, .class = CH,
	    .exempt = true, REPORTED("owner is not the session's user")),
	ROW(.name = "gate order: exempt before not created", .exempt = true, .btime = BEFORE,
	    .class = OW, KEPT_EXEMPT),
	ROW(.name = "gate order: exempt before hard links", .exempt = true, .nlink = 2,
	    KEPT_EXEMPT),
	ROW(.name = "gate order: not created before hard links", .btime = BEFORE, .nlink = 2,
	    .class = OW, REPORTED("not created in this session")),
	ROW(.name = "gates before dry run", .nlink = 2, .dry = true, REPORTED("hard links")),
	ROW(.name = "gates before other sessions", .nlink = 2, .other = TRI_YES,
	    REPORTED("hard links")),

	/* keep and report rules, and a report-only policy. */
	ROW(.name = "keep rule: kept", .action = POLICY_KEEP, .want = POLICY_KEEP,
	    .result = RESULT_KEPT),
	ROW(.name = "keep rule on a file with hard links: kept", .action = POLICY_KEEP,
	    .nlink = 2, .want = POLICY_KEEP, .result = RESULT_KEPT),
	ROW(.name = "report rule: reported", .action = POLICY_REPORT, REPORTED("")),
	ROW(.name = "charged, no rule: reported", .charged = 1, .class = CH,
	    .action = POLICY_REPORT, .rule_class = 0, REPORTED("")),
	ROW(.name = "report-only policy: a remove verdict is a report", .ronly = true,
	    REPORTED("report-only policy")),
	ROW(.name = "report-only policy: a defer verdict is a report", .ronly = true,
	    .action = POLICY_DEFER, .final = true, REPORTED("report-only policy")),
	ROW(.name = "report-only policy: report", .ronly = true, .action = POLICY_REPORT,
	    REPORTED("report-only policy")),
	ROW(.name = "report-only policy: keep stays kept", .ronly = true, .action = POLICY_KEEP,
	    .want = POLICY_KEEP, .result = RESULT_KEPT),

	/* defer rules: deferred until the user's last session ends, then removed. */
	ROW(.name = "defer, not final: deferred", .action = POLICY_DEFER, .want = POLICY_DEFER,
	    .result = RESULT_DEFERRED,
	    .detail = "deferred by rule until the user's last session ends"),
	ROW(.name = "defer, final: pending as remove", .action = POLICY_DEFER, .final = true),
	ROW(.name = "defer, final, dry run: reported", .action = POLICY_DEFER, .final = true,
	    .dry = true, .result = RESULT_REPORTED, .detail = "dry run"),
	ROW(.name = "defer, final, capped: reported", .action = POLICY_DEFER, .final = true,
	    .cap = "entries", .result = RESULT_REPORTED,
	    .detail = "incomplete walk (entries): nothing removed"),
	ROW(.name = "defer, not final, another session: deferred by rule",
	    .action = POLICY_DEFER, .other = TRI_YES, .want = POLICY_DEFER,
	    .result = RESULT_DEFERRED,
	    .detail = "deferred by rule until the user's last session ends"),
	ROW(.name = "defer, hard links: reported", .action = POLICY_DEFER, .nlink = 2,
	    REPORTED("hard links")),
	ROW(.name = "defer, exempt, final: kept", .action = POLICY_DEFER, .final = true,
	    .exempt = true, KEPT_EXEMPT),

	/* The run's mode on a remove that passed the gates. */
	ROW(.name = "dry run: reported", .dry = true, .result = RESULT_REPORTED,
	    .detail = "dry run"),
	ROW(.name = "another session: deferred", .other = TRI_YES, .result = RESULT_DEFERRED,
	    .detail = "another session of the user is alive"),
	ROW(.name = "cannot tell about other sessions: deferred", .other = TRI_CANNOT_TELL,
	    .result = RESULT_DEFERRED,
	    .detail = "cannot tell whether another session of the user is alive"),
	ROW(.name = "another session, but final: pending", .other = TRI_YES, .final = true),
	ROW(.name = "cannot tell, but final: pending", .other = TRI_CANNOT_TELL, .final = true),
	ROW(.name = "dry run before another session", .dry = true, .other = TRI_YES,
	    .result = RESULT_REPORTED, .detail = "dry run"),
	ROW(.name = "capped walk: reported", .cap = "time", .result = RESULT_REPORTED,
	    .detail = "incomplete walk (time): nothing removed"),
	ROW(.name = "capped walk, another session: deferred", .cap = "time", .other = TRI_YES,
	    .result = RESULT_DEFERRED, .detail = "another session of the user is alive"),
	ROW(.name = "capped walk, dry run: dry run", .cap = "depth", .dry = true,
	    .result = RESULT_REPORTED, .detail = "dry run"),
	ROW(.name = "capped walk, keep: kept", .cap = "time", .action = POLICY_KEEP,
	    .want = POLICY_KEEP, .result = RESULT_KEPT),
	ROW(.name = "capped walk, report: reported", .cap = "time", .action = POLICY_REPORT,
	    REPORTED("")),
};

static struct decide_in input(const struct row *t)
{
	static struct policy_rule rule;

	rule = (struct policy_rule){.action = t->action, .class_mask = t->rule_class};
	return (struct decide_in){
		.file = {.type = t->type, .uid = t->uid, .nlink = t->nlink, .size = 10,
			 .btime_ns = t->btime, .charged = t->charged,
			 .charged_elsewhere = t->elsewhere},
		.rec = {.uid = USER, .exempt = t->exempt, .exempt_why = t->exempt ? "why" : NULL,
			.start_ns = START, .end_ns = END},
		.verdict = {.action = t->action, .rule = t->rule_class ? &rule : NULL},
		.mode = {.dry_run = t->dry, .report_only = t->ronly, .final = t->final,
			 .other_sessions = t->other, .cap = t->cap},
	};
}

static void test_rows(void **state)
{
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		const struct row *t = &rows[i];
		struct decide_in in = input(t);
		struct decide_out out;
		bool line = decide(&in, &out);

		if (line != t->line)
			fail_msg("%s: line %d, want %d", t->name, line, t->line);
		if (!line)
			continue;
		if (out.class != t->class || out.action != t->want || out.result != t->result ||
		    !streq(out.detail, t->detail))
			fail_msg("%s: class %s action %s result %s detail '%s'; want %s %s %s '%s'",
				 t->name, policy_class_name(out.class),
				 policy_action_name(out.action), file_result_name(out.result),
				 out.detail,
				 policy_class_name(t->class), policy_action_name(t->want),
				 file_result_name(t->result), t->detail);
	}
	print_message("# %zu rows\n", ARRAY_SIZE(rows));
}

/* An unknown birth time is never in the window, even a window that starts at 0. */
static void test_unknown_btime(void **state)
{
	struct decide_file f = {.type = S_IFREG, .uid = USER, .nlink = 1};
	struct decide_record rec = {.uid = USER, .start_ns = 0, .end_ns = END};

	assert_int_equal(decide_class(&f, &rec), POLICY_CLASS_OWNED);
	f.btime_ns = 1;
	assert_int_equal(decide_class(&f, &rec), POLICY_CLASS_CREATED);
}

static struct decide_out pending_out(void)
{
	return (struct decide_out){.class = CR, .action = POLICY_REMOVE, .result = RESULT_PENDING};
}

static void expect(const struct decide_out *o, enum file_result r, const char *detail)
{
	if (o->result != r || !streq(o->detail, detail))
		fail_msg("got %s '%s', want %s '%s'", file_result_name(o->result), o->detail,
			 file_result_name(r), detail);
}

static void test_after_inuse(void **state)
{
	struct decide_out o = pending_out();
	struct decide_use u = {.in_use = 0};

	decide_after_inuse(&o, &u);
	expect(&o, RESULT_PENDING, "");
	u = (struct decide_use){.in_use = -ETIME, .cannot = "every task's cwd and root in time"};
	decide_after_inuse(&o, &u);
	expect(&o, RESULT_SKIPPED_IN_USE,
	       "cannot tell whether in use: could not read every task's cwd and root in time "
	       "(Timer expired); gc decides again");
	o = pending_out();
	u = (struct decide_use){.in_use = 1, .why = INUSE_OPEN, .pid = 42, .comm = "sleep"};
	decide_after_inuse(&o, &u);
	expect(&o, RESULT_SKIPPED_IN_USE, "open by pid 42 (sleep); gc decides again");
	o = pending_out();
	u = (struct decide_use){.in_use = 1, .why = INUSE_CWD, .pid = 7, .comm = "sh"};
	decide_after_inuse(&o, &u);
	expect(&o, RESULT_SKIPPED_IN_USE, "the working directory of pid 7 (sh); gc decides again");
	o = pending_out();
	u = (struct decide_use){.in_use = 1, .why = INUSE_BOUND, .pid = 9, .comm = "tmux: server"};
	decide_after_inuse(&o, &u);
	expect(&o, RESULT_SKIPPED_IN_USE,
	       "bound to a live UNIX socket held by pid 9 (tmux: server); gc decides again");
	/* in use, and no process shows it: said as such, or that naming ran out of time */
	o = pending_out();
	u = (struct decide_use){.in_use = 1, .why = INUSE_OPEN, .named_in_time = true};
	decide_after_inuse(&o, &u);
	expect(&o, RESULT_SKIPPED_IN_USE,
	       "open, by no fd or mapping that /proc shows (an io_uring, an fd in flight); gc "
	       "decides again");
	o = pending_out();
	u = (struct decide_use){.in_use = 1, .why = INUSE_OPEN};
	decide_after_inuse(&o, &u);
	expect(&o, RESULT_SKIPPED_IN_USE, "open (its holder not named in time); gc decides again");
	o = pending_out();
	u = (struct decide_use){.in_use = 1, .why = INUSE_LEASED, .named_in_time = true};
	decide_after_inuse(&o, &u);
	expect(&o, RESULT_SKIPPED_IN_USE, "leased; gc decides again");
	/* Only a pending file is touched. */
	o = (struct decide_out){.result = RESULT_REPORTED, .detail = "dry run"};
	u = (struct decide_use){.in_use = 1, .why = INUSE_OPEN, .pid = 42};
	decide_after_inuse(&o, &u);
	expect(&o, RESULT_REPORTED, "dry run");
}

/* A directory the remover found not empty waits with the files it holds, when told to. */
static void test_waits_for_contents(void **state)
{
	struct remove_result notempty = {REMOVE_ERROR, REMOVE_CHECK_UNLINK, ENOTEMPTY};
	struct remove_result eperm = {REMOVE_ERROR, REMOVE_CHECK_UNLINK, EPERM};
	struct decide_out o = pending_out();

	decide_after_remove(&o, S_IFDIR, &notempty);
	expect(&o, RESULT_KEPT, "directory not empty");
	decide_waits_for_contents(&o);
	expect(&o, RESULT_DEFERRED, "directory not empty: it holds files gc decides again");
	/* nothing else: an error stays one, a kept file stays kept */
	o = pending_out();
	decide_after_remove(&o, S_IFDIR, &eperm);
	decide_waits_for_contents(&o);
	expect(&o, RESULT_ERROR, "unlink: Operation not permitted");
	o = (struct decide_out){.result = RESULT_KEPT};
	decide_waits_for_contents(&o);
	expect(&o, RESULT_KEPT, "");
}

static void test_not_removed(void **state)
{
	struct decide_out o = pending_out();

	decide_not_removed(&o, STOP_NO_JOURNAL);
	expect(&o, RESULT_REPORTED, "cannot write the sweep journal");
	o = pending_out();
	decide_not_removed(&o, STOP_NO_USER);
	expect(&o, RESULT_ERROR, "the session's user no longer exists");
	/* Resuming without the interrupted run's journal: deferred, so that gc decides it
	 * again once the journal can be read (a deferred line does not settle a file). */
	o = pending_out();
	decide_not_removed(&o, STOP_OLD_JOURNAL);
	expect(&o, RESULT_DEFERRED, "the interrupted sweep's journal cannot be read: nothing removed");
	assert_true(file_result_keeps_record(o.result));
	o = (struct decide_out){.result = RESULT_DEFERRED, .detail = "x"};
	decide_not_removed(&o, STOP_NO_USER);
	expect(&o, RESULT_DEFERRED, "x");
}

static void test_after_remove(void **state)
{
	static const struct {
		mode_t type;
		struct remove_result r;
		enum file_result result;
		const char *detail;
	} t[] = {
		{S_IFREG, {REMOVE_REMOVED, REMOVE_CHECK_NONE, 0}, RESULT_REMOVED, ""},
		{S_IFREG, {REMOVE_SKIPPED_CHANGED, REMOVE_CHECK_INO, 0}, RESULT_SKIPPED_CHANGED,
		 "re-check failed: ino"},
		{S_IFREG, {REMOVE_SKIPPED_CHANGED, REMOVE_CHECK_PARENT_ID, 0},
		 RESULT_SKIPPED_CHANGED, "re-check failed: parent-id"},
		{S_IFREG, {REMOVE_ERROR, REMOVE_CHECK_UNLINK, EISDIR}, RESULT_SKIPPED_CHANGED,
		 "changed type just before the unlink"},
		{S_IFDIR, {REMOVE_ERROR, REMOVE_CHECK_UNLINK, ENOTDIR}, RESULT_SKIPPED_CHANGED,
		 "changed type just before the unlink"},
		{S_IFDIR, {REMOVE_ERROR, REMOVE_CHECK_UNLINK, ENOTEMPTY}, RESULT_KEPT,
		 "directory not empty"},
		{S_IFREG, {REMOVE_ERROR, REMOVE_CHECK_UNLINK, EPERM}, RESULT_ERROR,
		 "unlink: Operation not permitted"},
		{S_IFREG, {REMOVE_ERROR, REMOVE_CHECK_NOT_RUN, 0}, RESULT_ERROR,
		 "not-run: no answer"},
		/* No answer, but the handle finds no inode: removed, and said how it is known. */
		{S_IFREG, {REMOVE_REMOVED, REMOVE_CHECK_NOT_RUN, 0}, RESULT_REMOVED,
		 "the remover ended before saying so; the file is gone"},
		{S_IFREG, {REMOVE_ERROR, REMOVE_CHECK_CREDS, EPERM}, RESULT_ERROR,
		 "creds: Operation not permitted"},
	};

	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		struct decide_out o = pending_out();

		decide_after_remove(&o, t[i].type, &t[i].r);
		expect(&o, t[i].result, t[i].detail);
	}
	/* Not pending (e.g. skipped in use): the remover's word changes nothing. */
	struct decide_out o = {.result = RESULT_SKIPPED_IN_USE, .detail = "open"};
	decide_after_remove(&o, S_IFREG, &t[0].r);
	expect(&o, RESULT_SKIPPED_IN_USE, "open");
}

/* The audit log's words, DESIGN.md's list, and which results keep the record for gc. */
static void test_names(void **state)
{
	static const char *const audited[] = {"removed", "reported", "kept", "deferred",
					      "skipped-in-use", "skipped-changed", "error"};

	for (size_t i = 0; i < ARRAY_SIZE(audited); i++)
		assert_string_equal(file_result_name((enum file_result)i), audited[i]);
	assert_string_equal(file_result_name(RESULT_PENDING), "pending");
	assert_string_equal(file_result_name(_RESULT_MAX), "error");
	for (enum file_result r = 0; r < _RESULT_MAX; r++)
		assert_int_equal(file_result_keeps_record(r),
				 r == RESULT_DEFERRED || r == RESULT_SKIPPED_IN_USE);
}

/* Mixed-radix digit of *k in base n (and *k moves on to the next digit). */
static size_t digit(size_t *k, size_t n)
{
	size_t d = *k % n;

	*k /= n;
	return d;
}

/* Every combination of the inputs: the rules that hold whatever the rows say. */
static void test_every_combination(void **state)
{
	static const enum policy_action actions[] = {POLICY_REPORT, POLICY_KEEP, POLICY_REMOVE,
						     POLICY_DEFER, POLICY_IGNORE};
	static const unsigned rule_classes[] = {0, POLICY_CLASS_DEFAULT, POLICY_CLASS_OWNED};
	static const uint64_t btimes[] = {0, BEFORE, BORN};
	static const char *const caps[] = {NULL, "time"};
	const size_t total = (1u << 9) * ARRAY_SIZE(actions) * ARRAY_SIZE(rule_classes) *
			     ARRAY_SIZE(btimes) * 3 * ARRAY_SIZE(caps);
	size_t lines = 0, pendings = 0;

	for (size_t i = 0; i < total; i++) {
		size_t k = i, bits = digit(&k, 1u << 9);
		struct row t = {
			.type = bits & 1 ? S_IFDIR : S_IFREG,
			.uid = bits & 2 ? OTHER : USER,
			.nlink = bits & 4 ? 2 : 1,
			.charged = bits & 8 ? 4096 : 0,
			.elsewhere = !(bits & 8) && (bits & 16),
			.exempt = bits & 32,
			.dry = bits & 64,
			.ronly = bits & 128,
			.final = bits & 256,
			.action = actions[digit(&k, ARRAY_SIZE(actions))],
			.rule_class = rule_classes[digit(&k, ARRAY_SIZE(rule_classes))],
			.btime = btimes[digit(&k, ARRAY_SIZE(btimes))],
			.other = (enum tristate)digit(&k, 3),
			.cap = caps[digit(&k, ARRAY_SIZE(caps))],
		};
		struct decide_in in = input(&t);
		struct decide_out o;
		bool ours = t.uid == USER, born = t.btime == BORN && !t.elsewhere;

		if (!decide(&in, &o))
			continue;
		lines++;
		assert_true(o.result != RESULT_REMOVED); /* only the remover says so */
		if (!ours)
			assert_true(o.class == POLICY_CLASS_CHARGED);
		if (t.type == S_IFDIR)
			assert_true(ours && t.btime == BORN);
		if (t.ronly)
			assert_true(o.action != POLICY_REMOVE && o.action != POLICY_DEFER);
		if (o.result == RESULT_DEFERRED)
			assert_true(!t.final && !t.ronly && ours && !t.exempt);
		/* An exempt user's file is never removed nor deferred: a remove or defer
		 * verdict on it is kept, and says why. */
		if (t.exempt && ours && !t.ronly &&
		    (t.action == POLICY_REMOVE || t.action == POLICY_DEFER))
			assert_true(o.result == RESULT_KEPT && o.action == POLICY_KEEP &&
				    streq(o.detail, "exempt user: why"));
		if (o.result != RESULT_PENDING)
			continue;
		pendings++;
		assert_true(o.action == POLICY_REMOVE);
		assert_true(ours && !t.exempt && !t.dry && !t.ronly && !t.cap);
		assert_true(t.type == S_IFDIR || t.nlink == 1);
		assert_true(born || (t.rule_class & POLICY_CLASS_OWNED));
		assert_true(t.action == POLICY_REMOVE || (t.action == POLICY_DEFER && t.final));
		assert_true(t.final || t.other == TRI_NO);
	}
	print_message("# %zu combinations, %zu with a line, %zu pending\n", total, lines, pendings);
	assert_true(pendings > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rows),
		cmocka_unit_test(test_unknown_btime),
		cmocka_unit_test(test_after_inuse),
		cmocka_unit_test(test_waits_for_contents),
		cmocka_unit_test(test_not_removed),
		cmocka_unit_test(test_after_remove),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_every_combination),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
