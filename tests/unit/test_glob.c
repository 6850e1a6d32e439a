/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The matcher's component rule (issue 16, 6): a lone `*` (or `?`, or a `*` inside a
 * name) matches within one path component and never crosses '/'; only a whole `**`
 * component does. Through the matcher (glob_compile/glob_match) and through the policy
 * (policy_decide: what a `remove W/` `*` rule decides for W/a/b). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "glob.h"
#include "policy.h"
#include "util.h"

static bool gm(const char *pattern, const char *path)
{
	struct glob g;
	struct glob_path gp;
	const char *err;
	bool r;

	assert_int_equal(glob_compile(pattern, &g, &err), 0);
	assert_int_equal(glob_path_split(path, &gp), 0);
	r = glob_match(&g, &gp, "alice", 1000);
	glob_path_done(&gp);
	glob_done(&g);
	return r;
}

static void test_lone_star_one_component(void **state)
{
	assert_true(gm("/W/*", "/W/a"));
	assert_true(gm("/W/*", "/W/.hidden"));
	assert_false(gm("/W/*", "/W/a/b"));
	assert_false(gm("/W/*", "/W/a/b/c"));
	assert_false(gm("/W/*", "/W"));
	assert_true(gm("/W/*/b", "/W/a/b"));
	assert_false(gm("/W/*/b", "/W/a/x/b"));
	assert_false(gm("/W/*/b", "/W/b"));
	assert_true(gm("/*/a", "/W/a"));
	assert_false(gm("/*/a", "/W/x/a"));
	assert_false(gm("/W/a*", "/W/a/b"));
	assert_false(gm("/W/*b", "/W/a/b"));
	assert_true(gm("/W/*b", "/W/ab"));
	assert_false(gm("/W/?", "/W/a/b"));
	assert_false(gm("/W/*/*", "/W/a/b/c"));
	assert_true(gm("/W/*/*", "/W/a/b"));
}

static void test_globstar_crosses(void **state)
{
	assert_true(gm("/W/**", "/W/a"));
	assert_true(gm("/W/**", "/W/a/b"));
	assert_true(gm("/W/**", "/W/a/b/c"));
	assert_false(gm("/W/**", "/W"));
	assert_true(gm("/W/**/b", "/W/b"));
	assert_true(gm("/W/**/b", "/W/a/x/b"));
}

static void test_policy_lone_star(void **state)
{
	static const char text[] = "remove /W/*\n";
	const struct policy_rule *rule;
	struct policy p;
	unsigned created = POLICY_CLASS_CREATED;

	assert_int_equal(policy_parse_buffer("t.conf", text, strlen(text), &p, NULL), 0);
	assert_int_equal(policy_decide(&p, NULL, "/W/top", "alice", 1000, created, 1, false, &rule),
			 POLICY_REMOVE);
	assert_non_null(rule);
	/* W/a/b: no rule; the default for a created file is to report it */
	assert_int_equal(policy_decide(&p, NULL, "/W/a/b", "alice", 1000, created, 1, false, &rule),
			 POLICY_REPORT);
	assert_null(rule);
	assert_null(policy_match(&p, NULL, "/W/a/b/c", "alice", 1000, created, 1, false));
	policy_done(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lone_star_one_component),
		cmocka_unit_test(test_globstar_crosses),
		cmocka_unit_test(test_policy_lone_star),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
