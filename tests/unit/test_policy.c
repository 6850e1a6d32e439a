/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for lib/policy.c and lib/glob.c: parsing, every error kind, matching,
 * first match wins, exemptions, dump round trips, linear-time matching. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "glob.h"
#include "policy.h"
#include "util.h"

#include <grp.h>
#include <time.h>

static int parse(const char *text, struct policy *p, struct policy_errors *e)
{
	return policy_parse_buffer("t.conf", text, strlen(text), p, e);
}

/* Parse text that must be valid; fail the test with its errors otherwise. */
static void parse_ok(const char *text, struct policy *p)
{
	struct policy_errors e;
	int r = parse(text, p, &e);

	for (size_t i = 0; i < e.n; i++)
		print_error("unexpected error %u: %s\n", e.v[i].line, e.v[i].msg);
	assert_int_equal(r, 0);
	assert_int_equal(e.n, 0);
	assert_false(p->report_only);
	policy_errors_done(&e);
}

static char *dump_str(const struct policy *p)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(policy_dump(p, f), 0);
	fclose(f);
	return buf;
}

static void test_defaults(void **state)
{
	struct policy p;

	assert_int_equal(policy_defaults(&p), 0);
	assert_int_equal(p.watch.n, 3);
	assert_string_equal(p.watch.v[0], "/dev/shm");
	assert_string_equal(p.watch.v[2], "/run/user/%U");
	assert_string_equal(p.state_dir, "/run/tmpfs-sweep");
	assert_string_equal(p.audit_log, "/var/log/tmpfs-sweep/audit.jsonl");
	assert_true(p.journal);
	assert_int_equal(p.timeout_ms, 5000);
	assert_int_equal(p.exempt_users.n, 1);
	assert_string_equal(p.exempt_users.v[0], "root");
	assert_int_equal(p.exempt_groups.n, 0);
	assert_false(p.include_system_users);
	assert_int_equal(p.other_sessions, POLICY_OTHER_DEFER);
	assert_int_equal(p.remove_as, POLICY_REMOVE_AS_USER);
	assert_false(p.remove_sysv);
	assert_int_equal(p.max_depth, 256);
	assert_int_equal(p.max_entries, 10000000);
	assert_int_equal(p.n_rules, 0);
	assert_false(p.report_only);
	policy_done(&p);
}

static void test_empty_file(void **state)
{
	struct policy p;

	parse_ok("", &p);
	assert_int_equal(p.n_rules, 0);
	/* Nothing matches: charged/created are reported, owned-only ignored. */
	assert_int_equal(policy_decide(&p, NULL, "/dev/shm/x", "u", 1000, POLICY_CLASS_CREATED, 1,
				       false, NULL),
			 POLICY_REPORT);
	assert_int_equal(policy_decide(&p, NULL, "/dev/shm/x", "u", 1000, POLICY_CLASS_OWNED, 1, false,
				       NULL),
			 POLICY_IGNORE);
	policy_done(&p);
	parse_ok("# only a comment\n\n   \t\n", &p);
	assert_int_equal(p.n_rules, 0);
	policy_done(&p);
}

static void test_settings(void **state)
{
	struct policy p;

	parse_ok("watch /dev/shm /run/user/%U   # trailing comment\n"
		 "STATEDIR /run/x\n"
		 "AuditLog /var/log/a#b.jsonl\n"
		 "Journal NO\n"
		 "Timeout 250ms\n"
		 "ExemptUsers root postgres www-data\n"
		 "ExemptGroups wheel adm\n"
		 "IncludeSystemUsers yes\n"
		 "OtherSessions Proceed\n"
		 "RemoveAs root\n"
		 "RemoveSysV yes\n"
		 "MaxDepth 12\n"
		 "MaxEntries 5000\n",
		 &p);
	assert_int_equal(p.watch.n, 2);
	assert_string_equal(p.watch.v[1], "/run/user/%U");
	assert_string_equal(p.state_dir, "/run/x");
	assert_string_equal(p.audit_log, "/var/log/a#b.jsonl");
	assert_false(p.journal);
	assert_int_equal(p.timeout_ms, 250);
	assert_int_equal(p.exempt_users.n, 3);
	assert_string_equal(p.exempt_users.v[2], "www-data");
	assert_int_equal(p.exempt_groups.n, 2);
	assert_true(p.include_system_users);
	assert_int_equal(p.other_sessions, POLICY_OTHER_PROCEED);
	assert_int_equal(p.remove_as, POLICY_REMOVE_AS_ROOT);
	assert_true(p.remove_sysv);
	assert_int_equal(p.max_depth, 12);
	assert_int_equal(p.max_entries, 5000);
	policy_done(&p);

	parse_ok("Timeout 7\n", &p);
	assert_int_equal(p.timeout_ms, 7000);
	policy_done(&p);
	parse_ok("Timeout 3S\n", &p);
	assert_int_equal(p.timeout_ms, 3000);
	policy_done(&p);
}

static void test_rules(void **state)
{
	struct policy p;

	parse_ok("KEEP /dev/shm/PostgreSQL.*\n"
		 "Remove /dev/shm/** CLASS=Charged,created min-size=1M type=FILE\n"
		 "defer /tmp/** class=owned\n"
		 "report /** min-size=0 type=dir\n",
		 &p);
	assert_int_equal(p.n_rules, 4);
	assert_int_equal(p.rules[0].action, POLICY_KEEP);
	assert_int_equal(p.rules[0].class_mask, POLICY_CLASS_ALL);
	assert_int_equal(p.rules[0].line, 1);
	assert_int_equal(p.rules[1].action, POLICY_REMOVE);
	assert_int_equal(p.rules[1].class_mask, POLICY_CLASS_CHARGED | POLICY_CLASS_CREATED);
	assert_int_equal(p.rules[1].min_size, 1024 * 1024);
	assert_int_equal(p.rules[1].type, POLICY_TYPE_FILE);
	assert_int_equal(p.rules[2].action, POLICY_DEFER);
	assert_int_equal(p.rules[2].class_mask, POLICY_CLASS_OWNED);
	assert_int_equal(p.rules[3].action, POLICY_REPORT);
	assert_int_equal(p.rules[3].class_mask, POLICY_CLASS_DEFAULT);
	assert_int_equal(p.rules[3].type, POLICY_TYPE_DIR);
	assert_int_equal(p.rules[3].line, 4);
	policy_done(&p);
}

struct bad {
	const char *text;
	size_t len; /* 0: strlen */
	unsigned line;
	const char *msg;
};

static const struct bad bad_cases[] = {
	{"Frobnicate yes\n", 0, 1, "unknown keyword 'Frobnicate'"},
	{"Journal yes\njournal no\n", 0, 2, "duplicate setting 'Journal' (first on line 1)"},
	{"Journal\n", 0, 1, "'Journal' needs a value"},
	{"Journal yes no\n", 0, 1, "extra argument 'no'"},
	{"MaxDepth 12x\n", 0, 1, "bad number '12x'"},
	{"MaxDepth 99999999999999999999999\n", 0, 1, "number too large"},
	{"MaxDepth 0\n", 0, 1, "out of range"},
	{"Timeout 5m\n", 0, 1, "bad duration"},
	{"Timeout 3601s\n", 0, 1, "out of range"},
	{"remove /tmp/x min-size=1T\n", 0, 1, "bad size '1T'"},
	{"remove /tmp/x min-size=99999999999G\n", 0, 1, "size too large"},
	{"Journal yes\0\n", 13, 1, "NUL byte"},
	{"Journal yes\r\n", 0, 1, "carriage return"},
	{"Journal\x01yes\n", 0, 1, "control character 0x01"},
	{"Watch dev/shm\n", 0, 1, "must be absolute"},
	{"Watch /dev/../etc\n", 0, 1, "'..' components are not allowed"},
	{"remove tmp/**\n", 0, 1, "must be absolute"},
	{"remove /tmp/../etc/**\n", 0, 1, "'..' components"},
	{"remove /tmp//x\n", 0, 1, "empty path component"},
	{"remove /dev/shm\n", 0, 1, "can match the watched root '/dev/shm' itself"},
	{"remove /dev/*\n", 0, 1, "can match the watched root '/dev/shm'"},
	{"remove /**\n", 0, 1, "can match the watched root"},
	{"remove /run/user/*\n", 0, 1, "can match the watched root '/run/user/%U'"},
	{"remove /run/user/1000\n", 0, 1, "can match the watched root '/run/user/%U'"},
	{"defer /run/**\n", 0, 1, "can match the watched root '/run/user/%U'"},
	{"Watch /srv/%u\nremove /srv/*\n", 0, 2, "can match the watched root '/srv/%u'"},
	{"remove /tmp/a***b\n", 0, 1, "'**' must be a whole path component"},
	{"remove /tmp/%x\n", 0, 1, "'%' must be followed by u, U or %"},
	{"remove /tmp/x class=\n", 0, 1, "unknown class ''"},
	{"remove /tmp/x class=charged,foo\n", 0, 1, "unknown class 'foo'"},
	{"remove /tmp/x class=owned,owned\n", 0, 1, "listed twice"},
	{"remove /tmp/x colour=red\n", 0, 1, "unknown condition 'colour'"},
	{"remove /tmp/x type=fifo\n", 0, 1, "expected file, dir or any"},
	{"remove /tmp/x type=file type=dir\n", 0, 1, "duplicate condition 'type'"},
	{"remove /tmp/x junk\n", 0, 1, "expected a condition"},
	{"remove\n", 0, 1, "'remove' needs a pattern"},
	{"report /**\nJournal no\n", 0, 2, "setting 'Journal' after the first rule (line 1)"},
	{"Journal maybe\n", 0, 1, "expected yes or no"},
	{"OtherSessions later\n", 0, 1, "expected defer or proceed"},
	{"ExemptUsers -rf\n", 0, 1, "bad name '-rf'"},
	{"ExemptUsers al/ice\n", 0, 1, "bad name 'al/ice'"},
	{"ExemptUsers ..\n", 0, 1, "bad name '..'"},
	{"ExemptGroups \"a b\"\n", 0, 1, "bad name"},
	{"Watch /dev/shm /dev/shm\n", 0, 1, "listed twice"},
	{"Watch /dev/*\n", 0, 1, "wildcards are not allowed"},
	{"Watch /\n", 0, 1, "'/' cannot be watched"},
	{"StateDir /run/%u\n", 0, 1, "'%' escapes are not allowed"},
	{"ExemptUsers \"alice\n", 0, 1, "bad name"},
	{"ExemptUsers none none\n", 0, 1, "'none' stands alone"},
	{"Match User\n", 0, 1, "Match User: needs a pattern list"},
	{"Match Users alice\n", 0, 1, "unknown criterion 'Users'"},
	{"Match User !alice,!bob\n", 0, 1, "write '*,!alice,!bob'"},
	{"Match User a Service sshd Service su\n", 0, 1, "criterion 'Service' given twice"},
	{"Match User a\nJournal no\n", 0, 2, "'Journal' is not allowed in a Match block (line 1)"},
	{"Match User a\nremove /dev/shm\n", 0, 2, "can match the watched root"},
	{"report /**\nMatch all\nWatch /x\n", 0, 3, "'Watch' is not allowed in a Match block"},
	{"Match all\nNotifyUser no\nNotifyUser yes\n", 0, 3, "duplicate setting 'NotifyUser'"},
};

static void test_errors(void **state)
{
	for (size_t i = 0; i < ARRAY_SIZE(bad_cases); i++) {
		const struct bad *b = &bad_cases[i];
		struct policy_errors e;
		struct policy p;
		bool found = false;
		int r = policy_parse_buffer("t.conf", b->text, b->len ? b->len : strlen(b->text),
					    &p, &e);

		for (size_t k = 0; k < e.n; k++)
			if (e.v[k].line == b->line && strstr(e.v[k].msg, b->msg))
				found = true;
		if (!found || r != -EINVAL) {
			print_error("case %zu '%s': r=%d\n", i, b->text, r);
			for (size_t k = 0; k < e.n; k++)
				print_error("  got %u: %s\n", e.v[k].line, e.v[k].msg);
		}
		assert_int_equal(r, -EINVAL);
		assert_true(found);
		assert_string_equal(e.file, "t.conf");
		/* Rejected whole: defaults, no rules, report-only. */
		assert_true(p.report_only);
		assert_int_equal(p.n_rules, 0);
		assert_int_equal(p.watch.n, 3);
		policy_errors_done(&e);
		policy_done(&p);
	}
}

static void test_long_line_and_all_errors(void **state)
{
	size_t n = 1024 * 1024;
	_cleanup_free_ char *buf = malloc(n + 64);
	struct policy_errors e;
	struct policy p;

	memset(buf, 'a', n);
	memcpy(buf, "report /", 8);
	strcpy(buf + n, "\nJournal maybe\nFoo\nremove /dev/shm\n");
	assert_int_equal(policy_parse_buffer("big", buf, strlen(buf), &p, &e), -EINVAL);
	assert_int_equal(e.n, 4);
	assert_int_equal(e.v[0].line, 1);
	assert_non_null(strstr(e.v[0].msg, "longer than 4096"));
	assert_int_equal(e.v[1].line, 2);
	assert_int_equal(e.v[2].line, 3);
	assert_int_equal(e.v[3].line, 4);
	policy_errors_done(&e);
	policy_done(&p);

	/* 4096 bytes exactly is fine. */
	memset(buf, ' ', 4096);
	memcpy(buf, "Journal yes", 11);
	buf[4096] = '\n';
	assert_int_equal(policy_parse_buffer("x", buf, 4097, &p, NULL), 0);
	policy_done(&p);

	/* Too many stars: 65 rejected, 64 accepted. */
	strcpy(buf, "report /tmp/");
	for (int i = 0; i < 65; i++)
		strcat(buf, "*a");
	assert_int_equal(parse(buf, &p, &e), -EINVAL);
	assert_non_null(strstr(e.v[0].msg, "more than 64"));
	policy_errors_done(&e);
	policy_done(&p);
	buf[strlen(buf) - 2] = '\0';
	parse_ok(buf, &p);
	policy_done(&p);
}

static bool m(const struct policy *p, const char *path, const char *user, uid_t uid)
{
	return policy_match(p, NULL, path, user, uid, POLICY_CLASS_CREATED, 1, false) != NULL;
}

static void test_glob(void **state)
{
	struct policy p;

	parse_ok("report /dev/shm/**\n", &p);
	assert_true(m(&p, "/dev/shm/a", "u", 1));
	assert_true(m(&p, "/dev/shm/a/b/c", "u", 1));
	assert_true(m(&p, "/dev/shm/.hidden", "u", 1));
	assert_false(m(&p, "/dev/shm", "u", 1));
	assert_false(m(&p, "/dev/shmx/a", "u", 1));
	assert_false(m(&p, "/dev/a", "u", 1));
	policy_done(&p);

	parse_ok("report /tmp/**/x\n", &p);
	assert_true(m(&p, "/tmp/x", "u", 1)); /* ** matches zero components */
	assert_true(m(&p, "/tmp/a/b/x", "u", 1));
	assert_false(m(&p, "/tmp/a/b/xy", "u", 1));
	policy_done(&p);

	parse_ok("report /tmp/a?c\nreport /tmp/*.log\nreport /tmp/100%%\n", &p);
	assert_true(m(&p, "/tmp/abc", "u", 1));
	assert_false(m(&p, "/tmp/ac", "u", 1));
	assert_false(m(&p, "/tmp/a/c", "u", 1)); /* ? never matches '/' */
	assert_true(m(&p, "/tmp/x.log", "u", 1));
	assert_true(m(&p, "/tmp/.log", "u", 1));
	assert_false(m(&p, "/tmp/d/x.log", "u", 1)); /* * stays in its component */
	assert_true(m(&p, "/tmp/100%", "u", 1));
	policy_done(&p);

	parse_ok("report /tmp/%u-*\nreport /run/user/%U/**\n", &p);
	assert_true(m(&p, "/tmp/alice-1", "alice", 1000));
	assert_false(m(&p, "/tmp/bob-1", "alice", 1000));
	/* A user name with glob characters is literal: it never widens the pattern. */
	assert_false(m(&p, "/tmp/alice-1", "*", 1000));
	assert_true(m(&p, "/tmp/*-1", "*", 1000));
	assert_false(m(&p, "/tmp/ab-1", "a?", 1000));
	assert_false(m(&p, "/tmp/x/y-1", "x/y", 1000));
	assert_false(m(&p, "/tmp/-1", "", 1000));
	assert_false(m(&p, "/tmp/..-1", "..", 1000));
	assert_false(m(&p, "/tmp/a-1", NULL, 1000));
	assert_true(m(&p, "/run/user/1000/f", "alice", 1000));
	assert_false(m(&p, "/run/user/1001/f", "alice", 1000));
	assert_false(m(&p, "/run/user/10000/f", "alice", 1000));
	policy_done(&p);
}

static void test_first_match_and_conditions(void **state)
{
	struct policy p;
	const struct policy_rule *r;
	enum policy_action a;

	parse_ok("keep /dev/shm/PostgreSQL.*\n"
		 "remove /dev/shm/big* min-size=1K\n"
		 "remove /dev/shm/** class=charged,created type=file\n"
		 "report /dev/shm/** class=owned\n",
		 &p);
	r = policy_match(&p, NULL, "/dev/shm/PostgreSQL.123", "u", 1000, POLICY_CLASS_CHARGED, 1, false);
	assert_non_null(r);
	assert_int_equal(r->line, 1);
	/* keep without class= covers owned files too. */
	r = policy_match(&p, NULL, "/dev/shm/PostgreSQL.1", "u", 1000, POLICY_CLASS_OWNED, 1, false);
	assert_int_equal(r->line, 1);
	r = policy_match(&p, NULL, "/dev/shm/big1", "u", 1000, POLICY_CLASS_CREATED, 4096, false);
	assert_int_equal(r->line, 2);
	r = policy_match(&p, NULL, "/dev/shm/big1", "u", 1000, POLICY_CLASS_CREATED, 1023, false);
	assert_int_equal(r->line, 3); /* too small for rule 2 */
	r = policy_match(&p, NULL, "/dev/shm/d", "u", 1000, POLICY_CLASS_CREATED, 0, true);
	assert_null(r); /* type=file, then class=owned */
	r = policy_match(&p, NULL, "/dev/shm/o", "u", 1000, POLICY_CLASS_OWNED, 0, false);
	assert_int_equal(r->line, 4);
	/* remove without class= never takes an owned-only file */
	a = policy_decide(&p, NULL, "/dev/shm/big2", "u", 1000, POLICY_CLASS_OWNED, 9999, false, &r);
	assert_int_equal(a, POLICY_REPORT);
	assert_int_equal(r->line, 4);
	/* A watched root itself never matches. */
	assert_null(policy_match(&p, NULL, "/dev/shm", "u", 1000, POLICY_CLASS_ALL, 1, true));
	assert_int_equal(policy_decide(&p, NULL, "/dev/shm/x", "u", 1, POLICY_CLASS_CHARGED, 1, false,
				       NULL),
			 POLICY_REMOVE);
	p.report_only = true;
	assert_int_equal(policy_decide(&p, NULL, "/dev/shm/x", "u", 1, POLICY_CLASS_CHARGED, 1, false,
				       NULL),
			 POLICY_REPORT);
	policy_done(&p);

	parse_ok("report /dev/shm/a\nremove /dev/shm/*\n", &p);
	assert_int_equal(policy_decide(&p, NULL, "/dev/shm/a", "u", 1, POLICY_CLASS_CREATED, 1, false,
				       NULL),
			 POLICY_REPORT);
	assert_int_equal(policy_decide(&p, NULL, "/dev/shm/b", "u", 1, POLICY_CLASS_CREATED, 1, false,
				       NULL),
			 POLICY_REMOVE);
	policy_done(&p);
}

/* Far beyond an honest match (< 1 ms), far below an exponential one (never). */
#define MATCH_BOUND_MS 10000.0

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void test_linear_matching(void **state)
{
	char pat[512] = "report /tmp/";
	char *path = malloc(4200);
	struct policy p;
	double t0, dt;

	/* 64 stars in one component, against a 4096-byte component that almost matches. */
	for (int i = 0; i < 63; i++)
		strcat(pat, "*a");
	strcat(pat, "*b");
	parse_ok(pat, &p);
	strcpy(path, "/tmp/");
	memset(path + 5, 'a', 4091);
	path[4096] = '\0';
	t0 = now_ms();
	for (int i = 0; i < 10; i++)
		assert_false(m(&p, path, "u", 1));
	dt = (now_ms() - t0) / 10;
	print_message("# 64 stars vs 4096-byte name: %.2f ms per match\n", dt);
	/* A backtracking matcher would not return in our lifetime; a linear one takes well
	 * under a millisecond. The bound is that far from both, so a loaded machine cannot
	 * reach it (no figure is asserted here). */
	assert_true(dt < MATCH_BOUND_MS);
	policy_done(&p);

	/* 32 `**` components against a path of 2048 components. */
	strcpy(pat, "report /tmp");
	for (int i = 0; i < 31; i++)
		strcat(pat, "/**/a");
	strcat(pat, "/**/b");
	parse_ok(pat, &p);
	strcpy(path, "/tmp");
	for (int i = 0; i < 2045; i++)
		strcat(path, "/a");
	t0 = now_ms();
	assert_false(m(&p, path, "u", 1));
	dt = now_ms() - t0;
	print_message("# 32 '**' vs 2046 components: %.2f ms\n", dt);
	assert_true(dt < MATCH_BOUND_MS);
	strcat(path, "/b");
	assert_true(m(&p, path, "u", 1));
	policy_done(&p);
	free(path);
}

static void test_watch_paths(void **state)
{
	struct policy p;
	char **v = NULL;

	parse_ok("Watch /dev/shm /run/user/%U /srv/%u/tmp /x/100%%\n", &p);
	assert_int_equal(policy_watch_paths(&p, "alice", 1000, &v), 4);
	assert_string_equal(v[0], "/dev/shm");
	assert_string_equal(v[1], "/run/user/1000");
	assert_string_equal(v[2], "/srv/alice/tmp");
	assert_string_equal(v[3], "/x/100%");
	assert_null(v[4]);
	for (char **s = v; *s; s++)
		free(*s);
	free(v);
	/* A user name that cannot stand for %u drops that path, nothing else. */
	assert_int_equal(policy_watch_paths(&p, "../etc", 7, &v), 3);
	assert_string_equal(v[1], "/run/user/7");
	assert_string_equal(v[2], "/x/100%");
	for (char **s = v; *s; s++)
		free(*s);
	free(v);
	policy_done(&p);
}

static void test_root_safety(void **state)
{
	struct policy p;

	/* keep/report may name a root; remove/defer of what lies below one is fine. */
	parse_ok("report /**\nkeep /dev/shm\nremove /dev/shm/**\nremove /run/user/%U/*\n"
		 "defer /tmp/*/**\nremove /run/user/%U/**\n",
		 &p);
	assert_int_equal(p.n_rules, 6);
	policy_done(&p);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "we");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_exemption(void **state)
{
	char dir[] = "/tmp/tsw-test-policy.XXXXXX";
	char defs[64];
	struct group *gr;
	gid_t users_gid, groups[2];
	struct policy p;
	uid_t min;

	assert_non_null(mkdtemp(dir));
	snprintf(defs, sizeof(defs), "%s/login.defs", dir);
	write_file(defs, "# comment\nMAIL_DIR /var/mail\nUID_MIN\t\t 2000\nUID_MAX 60000\n");
	assert_int_equal(policy_uid_min(defs, &min), 0);
	assert_int_equal(min, 2000);
	write_file(defs, "UID_MAX 60000\n");
	assert_int_equal(policy_uid_min(defs, &min), 0);
	assert_int_equal(min, 1000);
	/* Only a line that starts (after blanks) with the word UID_MIN counts. */
	write_file(defs, "SUB_UID_MIN 100000\n#UID_MIN 5\nX UID_MIN 6\nUID_MINX 7\n"
			 " \t UID_MIN\t3000 # human users\nUID_MIN 4000\n");
	assert_int_equal(policy_uid_min(defs, &min), 0);
	assert_int_equal(min, 3000);
	write_file(defs, "UID_MIN");
	assert_int_equal(policy_uid_min(defs, &min), 0);
	assert_int_equal(min, 1000);
	write_file(defs, "UID_MIN 2500");
	assert_int_equal(policy_uid_min(defs, &min), 0);
	assert_int_equal(min, 2500);
	{
		/* Read in pieces: lines longer than a piece, a line across pieces. */
		char big[20000];
		size_t n = 0;

		big[n++] = '#';
		memset(big + n, 'x', 9000);
		n += 9000;
		n += (size_t)sprintf(big + n, " UID_MIN 5\n");
		memset(big + n, '#', 4090 - n % 4096 + 4096);
		n += 4090 - n % 4096 + 4096;
		n += (size_t)sprintf(big + n, "\n  UID_MIN 1234\n");
		big[n] = '\0';
		write_file(defs, big);
		assert_int_equal(policy_uid_min(defs, &min), 0);
		assert_int_equal(min, 1234);
	}
	write_file(defs, "UID_MIN lots\n");
	assert_int_equal(policy_uid_min(defs, &min), -EINVAL);
	assert_int_equal(min, 1000);
	unlink(defs);
	assert_int_equal(policy_uid_min(defs, &min), 0);
	assert_int_equal(min, 1000);
	rmdir(dir);

	gr = getgrnam("users");
	users_gid = gr ? gr->gr_gid : 100;
	parse_ok("ExemptUsers postgres\nExemptGroups users\n", &p);
	groups[0] = 4242;
	groups[1] = users_gid;
	assert_string_equal(policy_user_exempt(&p, NULL, "svc", 1500, NULL, 0, 2000),
			    "a system user (uid below UID_MIN)");
	assert_null(policy_user_exempt(&p, NULL, "alice", 2500, groups, 1, 2000));
	assert_string_equal(policy_user_exempt(&p, NULL, "postgres", 2501, groups, 1, 2000),
			    "named in ExemptUsers");
	if (gr)
		assert_string_equal(policy_user_exempt(&p, NULL, "bob", 2502, groups, 2, 2000),
				    "a member of an ExemptGroups group");
	assert_non_null(policy_user_exempt(&p, NULL, NULL, 2503, NULL, 0, 2000));
	/* root is exempt as ExemptUsers names it: a list written without root does not. */
	assert_null(policy_user_exempt(&p, NULL, "root", 0, NULL, 0, 2000));
	policy_done(&p);
	parse_ok("Watch /dev/shm\n", &p); /* the default list: root */
	assert_string_equal(policy_user_exempt(&p, NULL, "root", 0, NULL, 0, 2000),
			    "named in ExemptUsers");
	policy_done(&p);
	/* none empties it; system users stay exempt, root (uid 0) is not one of them. */
	parse_ok("ExemptUsers none\n", &p);
	assert_int_equal(p.exempt_users.n, 0);
	assert_null(policy_user_exempt(&p, NULL, "root", 0, NULL, 0, 2000));
	assert_non_null(policy_user_exempt(&p, NULL, "svc", 1500, NULL, 0, 2000));
	policy_done(&p);
	/* A user the module sweeps can be named: a directory service's, a machine's. */
	parse_ok("ExemptUsers alice@corp.example CORP\\bob host$ x_y-z.1\n", &p);
	assert_non_null(policy_user_exempt(&p, NULL, "alice@corp.example", 2600, NULL, 0, 2000));
	assert_non_null(policy_user_exempt(&p, NULL, "CORP\\bob", 2603, NULL, 0, 2000));
	assert_non_null(policy_user_exempt(&p, NULL, "host$", 2601, NULL, 0, 2000));
	assert_null(policy_user_exempt(&p, NULL, "alice", 2602, NULL, 0, 2000));
	assert_null(policy_user_exempt(&p, NULL, "bob", 2604, NULL, 0, 2000));
	policy_done(&p);
	parse_ok("IncludeSystemUsers yes\n", &p);
	assert_null(policy_user_exempt(&p, NULL, "svc", 1500, NULL, 0, 2000));
	assert_non_null(policy_user_exempt(&p, NULL, "root", 0, NULL, 0, 2000)); /* the list */
	policy_done(&p);
}

static void roundtrip(const char *text)
{
	struct policy p, q;
	_cleanup_free_ char *d1 = NULL, *d2 = NULL;

	parse_ok(text, &p);
	d1 = dump_str(&p);
	parse_ok(d1, &q);
	d2 = dump_str(&q);
	assert_string_equal(d1, d2);
	assert_int_equal(p.n_rules, q.n_rules);
	policy_done(&p);
	policy_done(&q);
}

/* The rule of one session's scope for path (as created, 1 byte, a file), or NULL. */
static const struct policy_rule *scoped(const struct policy *p, const struct policy_subject *who,
					const char *path, struct policy_scope *scope)
{
	assert_int_equal(policy_scope_init(p, who, scope), 0);
	return policy_match(p, scope, path, who->user, who->uid, POLICY_CLASS_CREATED, 1, false);
}

static void test_match_blocks(void **state)
{
	struct policy p;
	struct policy_scope sc;
	const struct policy_rule *r;
	struct policy_subject alice = {.user = "alice", .uid = 2000, .service = "sshd",
				       .rhost = "192.0.2.7"};
	struct policy_subject bob = alice, root = alice, cron = alice, unit = {0};

	bob.user = "bob";
	root.user = "root", root.uid = 0;
	cron.service = "cron", cron.rhost = NULL;
	unit.user = "alice", unit.uid = 2000, unit.unit = "batch-7.service";
	parse_ok("Watch /dev/shm /run\n"
		 "OtherSessions defer\n"
		 "keep /dev/shm/keep\n"
		 "Match User alice,CORP\\bob\n"          /* 4 */
		 "OtherSessions proceed\n"
		 "remove /dev/shm/a\n"                    /* 6 */
		 "Match User *,!root Service SSHD\n"       /* 7: PAM lowercases; no case */
		 "NotifyUser no\n"
		 "OtherSessions defer\n"
		 "remove /dev/shm/ssh\n"                  /* 10 */
		 "Match RHost 192.0.2.*\n"
		 "remove /dev/shm/net\n"                  /* 12 */
		 "Match Unit batch-*.service\n"
		 "ExemptUsers none\n"
		 "remove /run/batch\n"                    /* 15 */
		 "Match all\n"
		 "report /dev/shm/**\n",                  /* 17 */
		 &p);
	assert_int_equal(p.n_blocks, 5);
	assert_true(policy_may_defer(&p));
	assert_int_equal(p.blocks[1].n_crit, 2);
	assert_int_equal(p.blocks[4].n_crit, 0);

	/* alice over ssh from 192.0.2.7: blocks 1, 2, 3; the first that sets a per-session
	 * setting gives it. */
	r = scoped(&p, &alice, "/dev/shm/a", &sc);
	assert_non_null(r);
	assert_int_equal(r->line, 6);
	assert_true(sc.active[0] && sc.active[1] && sc.active[2] && !sc.active[3]);
	assert_int_equal(sc.other_sessions, POLICY_OTHER_PROCEED); /* block 1 before block 2 */
	assert_false(sc.notify_user);
	assert_ptr_equal(sc.exempt_users, &p.exempt_users);
	assert_int_equal(policy_match(&p, &sc, "/dev/shm/net", "alice", 2000,
				      POLICY_CLASS_CREATED, 1, false)->line, 12);
	assert_int_equal(policy_match(&p, &sc, "/dev/shm/keep", "alice", 2000,
				      POLICY_CLASS_CREATED, 1, false)->line, 3);
	assert_int_equal(policy_match(&p, &sc, "/dev/shm/other", "alice", 2000,
				      POLICY_CLASS_CREATED, 1, false)->line, 17);
	assert_null(policy_match(&p, &sc, "/run/batch", "alice", 2000, POLICY_CLASS_CREATED, 1,
				 false));
	policy_scope_done(&sc);

	/* bob: not block 1; block 2 gives OtherSessions defer, NotifyUser no. */
	r = scoped(&p, &bob, "/dev/shm/a", &sc);
	assert_int_equal(r->line, 17);
	assert_int_equal(sc.other_sessions, POLICY_OTHER_DEFER);
	assert_int_equal(policy_match(&p, &sc, "/dev/shm/ssh", "bob", 2000,
				      POLICY_CLASS_CREATED, 1, false)->line, 10);
	policy_scope_done(&sc);

	/* root: *,!root leaves it out of block 2, the RHost block still holds. */
	r = scoped(&p, &root, "/dev/shm/ssh", &sc);
	assert_int_equal(r->line, 17);
	assert_false(sc.active[1]);
	assert_true(sc.active[2]);
	assert_true(sc.notify_user);
	policy_scope_done(&sc);

	/* cron, no remote host: an RHost criterion does not hold without a host. */
	r = scoped(&p, &cron, "/dev/shm/net", &sc);
	assert_int_equal(r->line, 17);
	assert_false(sc.active[1] || sc.active[2]);
	policy_scope_done(&sc);

	/* A unit: Unit holds, its block empties ExemptUsers; Service blocks do not hold. */
	r = scoped(&p, &unit, "/run/batch", &sc);
	assert_non_null(r);
	assert_int_equal(r->line, 15);
	assert_int_equal(sc.exempt_users->n, 0);
	assert_string_equal(policy_user_exempt(&p, NULL, "root", 0, NULL, 0, 1000),
			    "named in ExemptUsers");
	assert_null(policy_user_exempt(&p, &sc, "root", 0, NULL, 0, 1000));
	policy_scope_done(&sc);

	/* No scope: the rules outside blocks and after Match all only. */
	assert_int_equal(policy_match(&p, NULL, "/dev/shm/a", "alice", 2000,
				      POLICY_CLASS_CREATED, 1, false)->line, 17);
	policy_done(&p);

	/* Match Group: root is in group root, in no group tsw-no-such-group. */
	if (getgrnam("root")) {
		struct policy_subject su = {.user = "root", .uid = 0, .gid = 0, .have_gid = true};

		parse_ok("Watch /dev/shm\nMatch Group tsw-no-such-group\nremove /dev/shm/a\n"
			 "Match Group r?ot\nremove /dev/shm/b\n"
			 "Match Group *,!root\nremove /dev/shm/c\n", &p);
		assert_null(scoped(&p, &su, "/dev/shm/a", &sc));
		assert_false(sc.active[0]);
		assert_true(sc.active[1]);
		assert_false(sc.active[2]); /* a group matching a negation: no */
		assert_null(sc.unknown);
		policy_scope_done(&sc);
		su.have_gid = false; /* no group known: a Group criterion does not hold */
		assert_null(scoped(&p, &su, "/dev/shm/b", &sc));
		policy_scope_done(&sc);
		policy_done(&p);
	}
}

/* Can any session defer to the user's other sessions: the default, the setting outside
 * blocks, or a block that sets defer (a block that does not set it defers nothing). */
static void test_may_defer(void **state)
{
	struct policy p;

	parse_ok("Watch /dev/shm\n", &p);
	assert_true(policy_may_defer(&p));
	policy_done(&p);
	parse_ok("Watch /dev/shm\nOtherSessions proceed\n", &p);
	assert_false(policy_may_defer(&p));
	policy_done(&p);
	parse_ok("Watch /dev/shm\nOtherSessions proceed\nMatch User alice\nNotifyUser no\n"
		 "Match User bob\nOtherSessions proceed\n", &p);
	assert_false(policy_may_defer(&p));
	policy_done(&p);
	parse_ok("Watch /dev/shm\nOtherSessions proceed\nMatch User alice\nNotifyUser no\n"
		 "Match User bob\nOtherSessions defer\n", &p);
	assert_true(policy_may_defer(&p));
	policy_done(&p);
}

static void test_criterion_patterns(void **state)
{
	static const struct {
		enum policy_criterion_kind kind;
		const char *patterns, *value;
		bool holds;
	} t[] = {
		{POLICY_MATCH_USER, "alice", "alice", true},
		{POLICY_MATCH_USER, "alice", "Alice", false}, /* user names keep their case */
		{POLICY_MATCH_USER, "al*", "alice", true},
		{POLICY_MATCH_USER, "a?ice", "alice", true},
		{POLICY_MATCH_USER, "*,!alice", "alice", false},
		{POLICY_MATCH_USER, "*,!alice", "bob", true},
		{POLICY_MATCH_USER, "!alice,*", "alice", false}, /* a negation wins anywhere */
		{POLICY_MATCH_USER, "*@corp.example", "alice@corp.example", true},
		{POLICY_MATCH_USER, "CORP\\*", "CORP\\alice", true}, /* '\' is literal */
		{POLICY_MATCH_USER, "CORP\\a*", "CORPa", false},
		{POLICY_MATCH_USER, "[a]lice", "alice", false},      /* no brackets */
		{POLICY_MATCH_USER, "alice", NULL, false},
		{POLICY_MATCH_SERVICE, "SSHD", "sshd", true},        /* PAM lowercases */
		{POLICY_MATCH_SERVICE, "su,sudo", "sudo", true},
		{POLICY_MATCH_SERVICE, "su", "sudo", false},
		{POLICY_MATCH_RHOST, "*.EXAMPLE.org", "h1.example.org", true},
		{POLICY_MATCH_RHOST, "10.0.0.*", "10.0.1.1", false},
		{POLICY_MATCH_RHOST, "2001:db8::*", "2001:db8::7", true},
		{POLICY_MATCH_UNIT, "backup@*.service", "backup@home.service", true},
		{POLICY_MATCH_UNIT, "*.service", "x.scope", false},
		{POLICY_MATCH_UNIT, "**a*b", "xaxb", true},
	};

	for (size_t i = 0; i < ARRAY_SIZE(t); i++)
		if (policy_criterion_holds(t[i].kind, t[i].patterns, t[i].value) != t[i].holds)
			fail_msg("%s vs %s: want %d", t[i].patterns, t[i].value ? t[i].value : "NULL",
				 t[i].holds);
}

static void test_dump_roundtrip(void **state)
{
	struct policy p;
	_cleanup_free_ char *d = NULL;

	roundtrip("");
	roundtrip("Watch /dev/shm\nTimeout 1500ms\nExemptGroups wheel\n"
		  "remove /dev/shm/** min-size=3K type=dir\nreport /** min-size=1025\n");
	roundtrip("MaxEntries 1\nremove /dev/shm/x min-size=2G class=owned,charged\n");
	parse_ok("Timeout 2000ms\nremove /dev/shm/* min-size=1048576\n", &p);
	d = dump_str(&p);
	assert_non_null(strstr(d, "\nTimeout 2s\n"));
	assert_non_null(strstr(d, "\nremove /dev/shm/* class=charged,created min-size=1M\n"));
	assert_non_null(strstr(d, "\nExemptGroups none\n"));
	policy_done(&p);
}

static void test_shipped_conf(void **state)
{
	const char *top = getenv("TOP");
	char path[4096];
	FILE *f;
	_cleanup_free_ char *buf = calloc(1, 65537);
	size_t n;
	struct policy p;

	snprintf(path, sizeof(path), "%s/conf/tmpfs-sweep.conf", top ? top : ".");
	f = fopen(path, "re");
	assert_non_null(f);
	n = fread(buf, 1, 65536, f);
	fclose(f);
	assert_true(n > 0 && n < 65536);
	roundtrip(buf);
	parse_ok(buf, &p);
	assert_int_equal(policy_decide(&p, NULL, "/dev/shm/x", "u", 1000, POLICY_CLASS_CREATED, 1,
				       false, NULL),
			 POLICY_REMOVE);
	assert_int_equal(policy_decide(&p, NULL, "/dev/shm/PostgreSQL.9", "u", 1000,
				       POLICY_CLASS_CHARGED, 1, false, NULL),
			 POLICY_KEEP);
	assert_int_equal(policy_decide(&p, NULL, "/tmp/x", "u", 1000, POLICY_CLASS_CREATED, 1, false,
				       NULL),
			 POLICY_REPORT);
	assert_int_equal(policy_decide(&p, NULL, "/run/user/1000/systemd/x", "u", 1000,
				       POLICY_CLASS_CREATED, 1, false, NULL),
			 POLICY_KEEP);
	assert_int_equal(policy_decide(&p, NULL, "/dev/shm/old", "u", 1000, POLICY_CLASS_OWNED, 1,
				       false, NULL),
			 POLICY_IGNORE);
	policy_done(&p);
}

struct said {
	char lines[4][256];
	size_t n;
};

static void collect(const char *line, void *userdata)
{
	struct said *s = userdata;

	if (s->n < ARRAY_SIZE(s->lines))
		snprintf(s->lines[s->n], sizeof(s->lines[0]), "%s", line);
	s->n++;
}

/* One format for the helper and the module: FILE:LINE: MESSAGE, FILE: MESSAGE about the file
 * as a whole, at most max lines, and how many were left unsaid. */
static void test_errors_say(void **state)
{
	struct policy_error v[] = {{.line = 3, .msg = (char *)"Bad configuration option: Frob"},
				   {.line = 0, .msg = (char *)"owned by uid 1000, not root"},
				   {.line = 7, .msg = (char *)"third"}};
	struct policy_errors e = {.file = (char *)"/etc/x.conf", .v = v, .n = 3};
	struct said s = {0};

	assert_int_equal(policy_errors_say(&e, "unused", SIZE_MAX, collect, &s), 0);
	assert_int_equal(s.n, 3);
	assert_string_equal(s.lines[0], "/etc/x.conf:3: Bad configuration option: Frob");
	assert_string_equal(s.lines[1], "/etc/x.conf: owned by uid 1000, not root");
	assert_string_equal(s.lines[2], "/etc/x.conf:7: third");

	s = (struct said){0};
	assert_int_equal(policy_errors_say(&e, "unused", 1, collect, &s), 2);
	assert_int_equal(s.n, 1);

	s = (struct said){0};
	e.file = NULL;
	assert_int_equal(policy_errors_say(&e, "named.conf", 2, collect, &s), 1);
	assert_string_equal(s.lines[0], "named.conf:3: Bad configuration option: Frob");

	s = (struct said){0};
	e.n = 0;
	assert_int_equal(policy_errors_say(&e, "named.conf", 1, collect, &s), 0);
	assert_int_equal(s.n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_empty_file),
		cmocka_unit_test(test_settings),
		cmocka_unit_test(test_rules),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_long_line_and_all_errors),
		cmocka_unit_test(test_glob),
		cmocka_unit_test(test_first_match_and_conditions),
		cmocka_unit_test(test_linear_matching),
		cmocka_unit_test(test_watch_paths),
		cmocka_unit_test(test_root_safety),
		cmocka_unit_test(test_exemption),
		cmocka_unit_test(test_match_blocks),
		cmocka_unit_test(test_may_defer),
		cmocka_unit_test(test_criterion_patterns),
		cmocka_unit_test(test_dump_roundtrip),
		cmocka_unit_test(test_shipped_conf),
		cmocka_unit_test(test_errors_say),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
