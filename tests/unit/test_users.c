/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * lib/users.c: the one user and group name rule (what directory services make passes,
 * what cannot be a name or a safe log field does not), and the reentrant lookups. The
 * same names go through a record, a policy and an audit line here too: the rule is the
 * one each of them applies.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "audit.h"
#include "json.h"
#include "policy.h"
#include "record.h"
#include "users.h"
#include "util.h"

static void test_name_rule(void **state)
{
	char long_ok[USER_NAME_MAX + 1], too_long[USER_NAME_MAX + 2];
	static const char *const good[] = {
		"alice", "alice@corp.example", "CORP\\alice", "host$", "x_y-z.1", "josé",
		"O'Brien", "domain users", "a*", "用户", "root",
	};
	static const char *const bad[] = {
		"", "-rf", ".", "..", "al/ice", "a:b", "a\nb", "a\tb", "a\x1b[31m", "a\x7f",
		"a\xc2\x85", /* U+0085 NEL, a C1 control */
		"a\xff", "a\xc0\xaf", /* invalid UTF-8, an overlong '/' */
		"\"alice", "a\"",
	};

	for (size_t i = 0; i < ARRAY_SIZE(good); i++)
		if (!user_name_valid(good[i]))
			fail_msg("'%s' refused", good[i]);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		if (user_name_valid(bad[i]))
			fail_msg("bad name %zu accepted", i);
	assert_false(user_name_valid(NULL));
	memset(long_ok, 'a', USER_NAME_MAX);
	long_ok[USER_NAME_MAX] = '\0';
	assert_true(user_name_valid(long_ok));
	memset(too_long, 'a', USER_NAME_MAX + 1);
	too_long[USER_NAME_MAX + 1] = '\0';
	assert_false(user_name_valid(too_long));
}

static void test_lookups(void **state)
{
	struct user_info ui;
	char name[USER_NAME_MAX + 1];
	gid_t gid, *groups = NULL;
	int n;

	assert_int_equal(user_by_name("root", &ui), 0);
	assert_int_equal(ui.uid, 0);
	assert_string_equal(ui.name, "root");
	assert_int_equal(user_by_uid(0, &ui), 0);
	assert_string_equal(ui.name, "root");
	assert_int_equal(user_by_name("tsw-no-such-user", &ui), -ENOENT);
	assert_int_equal(user_by_name("al/ice", &ui), -EINVAL); /* never asked of NSS */
	assert_int_equal(user_by_uid(4000000000u, &ui), -ENOENT);
	assert_int_equal(group_by_name("root", &gid), 0);
	assert_int_equal(gid, 0);
	assert_int_equal(group_name(0, name, sizeof(name)), 0);
	assert_string_equal(name, "root");
	assert_int_equal(group_by_name("tsw-no-such-group", &gid), -ENOENT);
	n = user_groups("root", 0, &groups);
	assert_true(n >= 1);
	assert_int_equal(groups[0], 0);
	free(groups);
}

/* alice@corp.example and CORP\bob: a record keeps them (escaped), a policy names them, an
 * audit line carries them as JSON strings. */
static void test_names_everywhere(void **state)
{
	static const char *const names[] = {"alice@corp.example", "CORP\\bob"};

	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		struct session_record rec = {.id = (char *)"1234-5678", .uid = 2000,
					     .user = (char *)names[i], .start_ns = 1, .pid = 1234,
					     .pid_start = 1};
		struct session_record back = {0};
		_cleanup_free_ char *buf = NULL, *text = NULL;
		struct policy p;
		struct sbuf b = {0};
		struct audit_session ev = {.session = "1234-5678", .user = names[i], .uid = 2000};
		size_t len;

		assert_int_equal(record_format(&rec, &buf, &len), 0);
		assert_int_equal(record_parse(buf, len, &back), 0);
		assert_string_equal(back.user, names[i]);
		record_done(&back);

		assert_true(asprintf(&text, "ExemptUsers %s\nMatch User %s\nExemptUsers none\n",
				     names[i], names[i]) > 0);
		assert_int_equal(policy_parse_buffer("t", text, strlen(text), &p, NULL), 0);
		assert_string_equal(policy_user_exempt(&p, NULL, names[i], 2000, NULL, 0, 1000),
				    "named in ExemptUsers");
		assert_true(policy_criterion_holds(POLICY_MATCH_USER, p.blocks[0].crit[0].patterns,
						   names[i]));
		policy_done(&p);

		assert_int_equal(audit_format_session_open(&b, &ev), 0);
		assert_non_null(strstr(b.buf, i == 0 ? "\"user\":\"alice@corp.example\""
						     : "\"user\":\"CORP\\\\bob\""));
		sbuf_done(&b);
	}
	/* An audit line never carries a name that fails the rule. */
	{
		struct audit_session ev = {.session = "1-2", .user = "a\x1b[2Jb", .uid = 5};
		struct sbuf b = {0};

		assert_int_equal(audit_format_session_open(&b, &ev), 0);
		assert_non_null(strstr(b.buf, "\"user\":null"));
		sbuf_done(&b);
	}
	/* A record whose user fails the rule is not a record. */
	{
		static const char bad[] = "version=1\nid=1-2\nuid=5\nuser=a\\x0ab\nstart_ns=1\n"
					  "pid=1\npid_start=1\nstate=open\n";
		struct session_record r = {0};

		assert_int_equal(record_parse(bad, sizeof(bad) - 1, &r), -EBADMSG);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_name_rule),
		cmocka_unit_test(test_lookups),
		cmocka_unit_test(test_names_everywhere),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
