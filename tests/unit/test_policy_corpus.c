/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Replays the libFuzzer corpus (tests/fuzz/corpus/) through the fuzz target, built with the
 * normal compiler, so `make check` keeps every input that was once interesting. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "../fuzz/fuzz_policy.c"
#include "util.h"

#include <dirent.h>

static void test_replay_corpus(void **state)
{
	const char *top = getenv("TOP");
	char dir[4096];
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	size_t n = 0;

	snprintf(dir, sizeof(dir), "%s/tests/fuzz/corpus", top ? top : ".");
	d = opendir(dir);
	assert_non_null(d);
	while ((de = readdir(d))) {
		char path[8192];
		FILE *f;
		uint8_t *buf = malloc(1 << 20);
		size_t len;

		assert_non_null(buf);
		if (de->d_name[0] == '.') {
			free(buf);
			continue;
		}
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		f = fopen(path, "re");
		assert_non_null(f);
		len = fread(buf, 1, 1 << 20, f);
		fclose(f);
		assert_int_equal(LLVMFuzzerTestOneInput(buf, len), 0);
		free(buf);
		n++;
	}
	print_message("# replayed %zu corpus inputs\n", n);
	assert_true(n >= 40);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_replay_corpus),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
