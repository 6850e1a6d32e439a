/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_format.c: helper/format.c (sizes, times and names for people; --since and size
 * arguments). format.c is the helper's, not in the lib archive: compiled in here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "../../helper/format.c"

static void set_tz(const char *tz)
{
	setenv("TZ", tz, 1);
	tzset();
}

static void test_fmt_size(void **state)
{
	static const struct {
		uint64_t v;
		const char *want;
	} cases[] = {
		{0, "0B"},
		{1, "1B"},
		{512, "512B"},
		{1023, "1023B"},
		{1024, "1.0K"},
		{1536, "1.5K"},
		{4096, "4.0K"},
		{1048576, "1.0M"},
		{104857600, "100.0M"},
		{104857600 + 52428800, "150.0M"},
		{1ULL << 30, "1.0G"},
		{3ULL << 40, "3.0T"},
		{1ULL << 50, "1.0P"},
		{1ULL << 60, "1.0E"},
		{UINT64_MAX, "16.0E"},
	};
	char buf[32];

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		memset(buf, 'X', sizeof(buf));
		assert_ptr_equal(fmt_size(buf, sizeof(buf), cases[i].v), buf);
		assert_string_equal(buf, cases[i].want);
	}
	/* a short buffer is cut, never overrun */
	memset(buf, 'X', sizeof(buf));
	fmt_size(buf, 4, 104857600);
	assert_string_equal(buf, "100");
	assert_int_equal(buf[4], 'X');
}

static void test_parse_size(void **state)
{
	static const struct {
		const char *s;
		uint64_t want;
	} ok[] = {
		{"0", 0},
		{"4096", 4096},
		{"4K", 4096},
		{"4k", 4096},
		{"10M", 10485760},
		{"10m", 10485760},
		{"1G", 1073741824},
		{"1g", 1073741824},
		{"2T", 2ULL << 40},
		{"16777215T", 16777215ULL << 40},
		{"18446744073709551615", UINT64_MAX},
		{"007", 7},
	};
	static const char *const bad[] = {
		"", "-1", "+1", " 1", "1 ", "1.5G", "10MB", "M", "1KK", "0x10", "1P", "1b", "K1",
	};
	uint64_t v;

	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		v = 12345;
		if (parse_size(ok[i].s, &v) != 0)
			fail_msg("parse_size(\"%s\") refused", ok[i].s);
		assert_int_equal(v, ok[i].want);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		v = 12345;
		if (parse_size(bad[i], &v) != -EINVAL)
			fail_msg("parse_size(\"%s\") accepted or wrong error", bad[i]);
		assert_int_equal(v, 12345); /* untouched */
	}
	assert_int_equal(parse_size(NULL, &v), -EINVAL);
	assert_int_equal(parse_size("16777216T", &v), -ERANGE);
	assert_int_equal(parse_size("17179869184G", &v), -ERANGE);
	assert_int_equal(parse_size("18446744073709551616", &v), -ERANGE);
	assert_int_equal(v, 12345);
}

static void test_parse_time_arg(void **state)
{
	uint64_t ns;

	set_tz("UTC");
	assert_int_equal(parse_time_arg("0", &ns), 0);
	assert_int_equal(ns, 0);
	assert_int_equal(parse_time_arg("1700000000", &ns), 0);
	assert_int_equal(ns, 1700000000ULL * NSEC_PER_SEC);
	ns = 1;
	assert_int_equal(parse_time_arg("@1700000000", &ns), 0);
	assert_int_equal(ns, 1700000000ULL * NSEC_PER_SEC);
	assert_int_equal(parse_time_arg("18446744073", &ns), 0);
	assert_int_equal(ns, 18446744073ULL * NSEC_PER_SEC);
	assert_int_equal(parse_time_arg("18446744074", &ns), -ERANGE);

	/* dates in local time (UTC here) */
	assert_int_equal(parse_time_arg("2026-11-28", &ns), 0);
	assert_int_equal(ns, 1795824000ULL * NSEC_PER_SEC);
	assert_int_equal(parse_time_arg("2026-11-28 21:30", &ns), 0);
	assert_int_equal(ns, 1795901400ULL * NSEC_PER_SEC);
	assert_int_equal(parse_time_arg("2026-11-28 21:30:01", &ns), 0);
	assert_int_equal(ns, 1795901401ULL * NSEC_PER_SEC);
	assert_int_equal(parse_time_arg("1970-01-01 00:00:00", &ns), 0);
	assert_int_equal(ns, 0);

	/* local time is local: +05:30 */
	set_tz("Asia/Kolkata");
	assert_int_equal(parse_time_arg("2026-11-28 21:30:01", &ns), 0);
	assert_int_equal(ns, 1795881601ULL * NSEC_PER_SEC);
	/* seconds since the epoch do not depend on the zone */
	assert_int_equal(parse_time_arg("@1700000000", &ns), 0);
	assert_int_equal(ns, 1700000000ULL * NSEC_PER_SEC);
	/* summer time: 2026-07-01 14:00 in Berlin is 12:00 UTC */
	set_tz("Europe/Berlin");
	assert_int_equal(parse_time_arg("2026-07-01 14:00", &ns), 0);
	assert_int_equal(ns, 1782907200ULL * NSEC_PER_SEC);

	set_tz("UTC");
	ns = 42;
	assert_int_equal(parse_time_arg("", &ns), -EINVAL);
	assert_int_equal(parse_time_arg("@", &ns), -EINVAL);
	assert_int_equal(parse_time_arg("yesterday", &ns), -EINVAL);
	assert_int_equal(parse_time_arg("-5", &ns), -EINVAL);
	assert_int_equal(parse_time_arg("2026-11-28T21:30", &ns), -EINVAL);
	assert_int_equal(parse_time_arg("2026-11-28 21:30:01x", &ns), -EINVAL);
	assert_int_equal(parse_time_arg("2026-11-28 21", &ns), -EINVAL);
	assert_int_equal(parse_time_arg("2026-13-01", &ns), -EINVAL);
	assert_int_equal(parse_time_arg("1969-12-31", &ns), -EINVAL);
	assert_int_equal(parse_time_arg("@1.5", &ns), -EINVAL);
	assert_int_equal(ns, 42);
}

static void test_fmt_time_user(void **state)
{
	char buf[64], ubuf[USER_NAME_MAX + 1];

	set_tz("UTC");
	assert_string_equal(fmt_time(buf, sizeof(buf), 0), "-");
	assert_string_equal(fmt_time(buf, sizeof(buf), 1764363289123456789ULL),
			    "2025-11-28 20:54:49");
	set_tz("Asia/Kolkata");
	assert_string_equal(fmt_time(buf, sizeof(buf), 1764363289123456789ULL),
			    "2025-11-29 02:24:49");
	set_tz("UTC");

	assert_string_equal(fmt_user(ubuf, sizeof(ubuf), 0), "root");
	assert_string_equal(fmt_user(ubuf, sizeof(ubuf), 4000000), "4000000");
}

static char *printed(const char *s, size_t n)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	assert_non_null(f);
	print_name(f, s, n);
	assert_int_equal(fclose(f), 0);
	return out;
}

static void test_print_name(void **state)
{
	static const struct {
		const char *s;
		size_t n;
		const char *want;
	} cases[] = {
#define C(lit, want) {lit, sizeof(lit) - 1, want}
		C("/dev/shm/plain name.txt", "/dev/shm/plain name.txt"),
		C("a\nb", "a\\x0ab"),
		C("tab\there", "tab\\x09here"),
		C("\x1b[31m", "\\x1b[31m"),
		C("back\\slash", "back\\\\slash"),
		C("quote\"'", "quote\"'"),
		C("del\x7f", "del\\x7f"),
		C("caf\xc3\xa9", "caf\\xc3\\xa9"),
		C("\xff", "\\xff"),
		C("nul\0x", "nul\\x00x"),
		C("", ""),
#undef C
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char *got = printed(cases[i].s, cases[i].n);
		assert_string_equal(got, cases[i].want);
		free(got);
	}
	/* only n bytes */
	{
		char *got = printed("abc\ndef", 3);
		assert_string_equal(got, "abc");
		free(got);
	}
}

/* A process or cgroup name: escaped the same way, padded by what is shown. */
static void test_print_name_pad(void **state)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	assert_non_null(f);
	print_name_pad(f, "a\x1b[2Jb", 8);
	fputc('|', f);
	print_name_pad(f, "sleep", 8);
	fputc('|', f);
	print_name_pad(f, "much-longer-than-8", 8);
	assert_int_equal(fclose(f), 0);
	assert_string_equal(out, "a\\x1b[2Jb|sleep   |much-longer-than-8");
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fmt_size),
		cmocka_unit_test(test_parse_size),
		cmocka_unit_test(test_parse_time_arg),
		cmocka_unit_test(test_fmt_time_user),
		cmocka_unit_test(test_print_name),
		cmocka_unit_test(test_print_name_pad),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
