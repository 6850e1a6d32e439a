/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Replays the seeds of `make fuzz` (tests/policy/good and bad, the shipped conf, and
 * tests/fuzz/corpus/ when fuzzing has added to it) through the fuzz target, built with the
 * normal compiler, so `make check` keeps every input that was once interesting. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "../fuzz/fuzz_policy.c"
#include "util.h"

#include <dirent.h>

static void replay_file(const char *path)
{
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	_cleanup_free_ uint8_t *buf = malloc(1 << 20);
	size_t len;

	assert_non_null(f);
	assert_non_null(buf);
	len = fread(buf, 1, 1 << 20, f);
	if (LLVMFuzzerTestOneInput(buf, len) != 0)
		fail_msg("%s", path);
}

/* Every file in TOP/rel whose name ends in suffix; a missing directory holds none. */
static size_t replay_dir(const char *rel, const char *suffix)
{
	const char *top = getenv("TOP");
	char dir[4096];
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	size_t n = 0;

	snprintf(dir, sizeof(dir), "%s/%s", top ? top : ".", rel);
	d = opendir(dir);
	if (!d) {
		assert_int_equal(errno, ENOENT);
		return 0;
	}
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name), sl = strlen(suffix);
		char path[8192];

		if (de->d_name[0] == '.' || l < sl || !streq(de->d_name + l - sl, suffix))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		replay_file(path);
		n++;
	}
	return n;
}

static void test_replay_seeds(void **state)
{
	size_t good = replay_dir("tests/policy/good", ".conf");
	size_t bad = replay_dir("tests/policy/bad", ".conf");
	size_t shipped = replay_dir("conf", "tmpfs-sweep.conf");
	size_t found = replay_dir("tests/fuzz/corpus", "");

	print_message("# replayed %zu good, %zu bad, %zu shipped, %zu found by fuzzing\n", good,
		      bad, shipped, found);
	assert_true(good >= 5);
	assert_true(bad >= 40);
	assert_int_equal(shipped, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_replay_seeds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
