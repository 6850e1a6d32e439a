/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The policy files shipped with the tests and the package: every bad policy in
 * tests/policy/bad/ is rejected with the LINE and message of its .expect file; every good
 * one in tests/policy/good/, and the shipped conf, parses, dumps exactly as its expected
 * output in tests/policy/expected/ (util-linux's tests/expected manner; TSW_UPDATE_EXPECTED=1
 * rewrites them), and dumps -> parses -> dumps identically.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "policy.h"
#include "util.h"

#include <dirent.h>

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "re");
	char *buf = calloc(1, (1 << 20) + 1);
	size_t n;

	assert_non_null(f);
	assert_non_null(buf);
	n = fread(buf, 1, 1 << 20, f);
	fclose(f);
	if (len)
		*len = n;
	return buf;
}

static void top_path(char *buf, size_t size, const char *rel)
{
	const char *top = getenv("TOP");

	snprintf(buf, size, "%s/%s", top ? top : ".", rel);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted names in dir ending in suffix. */
static size_t list(const char *dir, const char *suffix, char ***ret)
{
	_cleanup_closedir_ DIR *d = opendir(dir);
	char **v = NULL;
	size_t n = 0;
	struct dirent *de;

	assert_non_null(d);
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name), sl = strlen(suffix);

		if (l <= sl || strcmp(de->d_name + l - sl, suffix) != 0)
			continue;
		v = reallocarray(v, n + 1, sizeof(char *));
		assert_non_null(v);
		v[n++] = strdup(de->d_name);
	}
	qsort(v, n, sizeof(char *), cmp_str);
	*ret = v;
	return n;
}

static void test_bad_corpus(void **state)
{
	char dir[4096];
	char **names;
	size_t n;

	top_path(dir, sizeof(dir), "tests/policy/bad");
	n = list(dir, ".conf", &names);
	assert_true(n >= 40);
	for (size_t i = 0; i < n; i++) {
		char path[8192], expect_path[8192];
		_cleanup_free_ char *buf = NULL, *expect = NULL;
		struct policy_errors e;
		struct policy p;
		size_t len;
		unsigned line;
		char *msg, *nl;
		bool found = false;
		int r;

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		snprintf(expect_path, sizeof(expect_path), "%.*s.expect",
			 (int)(strlen(path) - 5), path);
		buf = slurp(path, &len);
		expect = slurp(expect_path, NULL);
		nl = strchr(expect, '\n');
		if (nl)
			*nl = '\0';
		line = (unsigned)strtoul(expect, &msg, 10);
		assert_true(line > 0 && msg[0] == ':' && msg[1] == ' ');
		msg += 2;
		r = policy_parse_buffer(path, buf, len, &p, &e);
		for (size_t k = 0; k < e.n; k++)
			if (e.v[k].line == line && strstr(e.v[k].msg, msg))
				found = true;
		if (!found || r != -EINVAL) {
			print_error("%s: expected %u: %s; got r=%d\n", names[i], line, msg, r);
			for (size_t k = 0; k < e.n; k++)
				print_error("  %u: %s\n", e.v[k].line, e.v[k].msg);
		}
		assert_int_equal(r, -EINVAL);
		assert_true(found);
		assert_true(p.report_only);
		assert_int_equal(p.n_rules, 0);
		policy_errors_done(&e);
		policy_done(&p);
		free(names[i]);
	}
	print_message("# %zu bad policies rejected at the expected line\n", n);
	free(names);
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

/* The dump of a good policy against its expected output (rewritten instead when
 * TSW_UPDATE_EXPECTED=1). The compiled-in StateDir default is the usual one there. */
static void expect_dump(const char *name, const char *dump)
{
	const char *update = getenv("TSW_UPDATE_EXPECTED");
	_cleanup_free_ char *want = NULL, *got = strdup(dump);
	char path[4096], rel[512];
	const char *sd = STATEDIR, *usual = "/run/tmpfs-sweep";
	char *at;

	assert_non_null(got);
	/* A build with another STATEDIR dumps another default: compare as the usual one. */
	if (!streq(sd, usual) && strlen(sd) >= strlen(usual) && (at = strstr(got, sd))) {
		memcpy(at, usual, strlen(usual));
		memmove(at + strlen(usual), at + strlen(sd), strlen(at + strlen(sd)) + 1);
	}
	snprintf(rel, sizeof(rel), "tests/policy/expected/%s.dump", name);
	top_path(path, sizeof(path), rel);
	if (update && streq(update, "1")) {
		FILE *f = fopen(path, "we");
		assert_non_null(f);
		fputs(got, f);
		assert_int_equal(fclose(f), 0);
		return;
	}
	want = slurp(path, NULL);
	if (!streq(want, got))
		print_error("%s: dump-config differs from %s:\n%s\n", name, rel, got);
	assert_string_equal(want, got);
}

static void good_policy(const char *name, const char *path)
{
	_cleanup_free_ char *buf = NULL, *d1 = NULL, *d2 = NULL;
	struct policy_errors e;
	struct policy p, q;
	size_t len;

	buf = slurp(path, &len);
	assert_int_equal(policy_parse_buffer(path, buf, len, &p, &e), 0);
	assert_int_equal(e.n, 0);
	assert_true(p.n_rules > 0);
	d1 = dump_str(&p);
	expect_dump(name, d1);
	assert_int_equal(policy_parse_buffer("dump", d1, strlen(d1), &q, NULL), 0);
	d2 = dump_str(&q);
	assert_string_equal(d1, d2);
	policy_errors_done(&e);
	policy_done(&p);
	policy_done(&q);
}

static void test_good_policies(void **state)
{
	char dir[4096], path[8192];
	char **names;
	size_t n;

	top_path(dir, sizeof(dir), "tests/policy/good");
	n = list(dir, ".conf", &names);
	assert_true(n >= 4);
	for (size_t i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		names[i][strlen(names[i]) - 5] = '\0';
		good_policy(names[i], path);
		free(names[i]);
	}
	free(names);
	top_path(path, sizeof(path), "conf/tmpfs-sweep.conf");
	good_policy("shipped", path);
	print_message("# %zu good policies and the shipped one dump as expected\n", n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_corpus),
		cmocka_unit_test(test_good_policies),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
