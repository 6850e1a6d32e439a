/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The intent journal (lib/intents.c): intents written whole with their parent table and
 * handles, results appended one by one; a replay builds each path from the tables and
 * gives each intent its last result, streams any size, and refuses what it cannot read
 * (another version, a line cut short) instead of guessing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "intents.h"
#include "json.h"
#include "util.h"

#include <fcntl.h>
#include <sys/stat.h>

static char T[] = "/tmp/tsw-intents.XXXXXX";
#define ID "123-456"

struct seen {
	size_t n;
	char paths[8][256];
	bool has[8];
	struct remove_result res[8];
	struct remove_handle h[8];
	char rule[8][64];
};

static int collect(const struct intent *e, void *userdata)
{
	struct seen *s = userdata;

	if (s->n < 8) {
		snprintf(s->paths[s->n], sizeof(s->paths[0]), "%.*s", (int)e->path_len, e->path);
		s->has[s->n] = e->has_result;
		s->res[s->n] = e->result;
		s->h[s->n] = e->handle;
		snprintf(s->rule[s->n], sizeof(s->rule[0]), "%s", e->rule);
	}
	s->n++;
	return 0;
}

static void intent(struct intents_writer *w, uint64_t seq, size_t dir, const char *name)
{
	struct intent e = {
		.seq = seq, .mount = 0, .dir = dir, .dev = 5, .ino = 100 + seq, .size = 1,
		.btime_ns = 7, .uid = 1000, .class = "created", .action = "remove",
		.rule = "line 3: remove /m/** x", .name = name,
		.handle = {.type = 1, .len = 3, .f = {0xab, 0, 0xcd}},
	};

	intents_add(w, &e);
}

static void test_roundtrip(void **state)
{
	struct intents_writer *w;
	struct seen s = {0};

	assert_int_equal(intents_begin(T, ID, &w), 0);
	intents_add_mount(w, 0, 5, "/m");
	intents_add_dir(w, 0, REMOVE_ROOT, "a");
	intents_add_dir(w, 1, 0, "b c\nd"); /* any bytes */
	intent(w, 0, REMOVE_ROOT, "f");
	intent(w, 1, 1, "g");
	intent(w, 2, 0, "h");
	/* Not committed: nothing to replay. */
	assert_int_equal(intents_replay(T, ID, collect, &s), -ENOENT);
	assert_int_equal(intents_commit(w), 0);
	assert_int_equal(intents_result(w, 1, &(struct remove_result){REMOVE_REMOVED, 0, 0}), 0);
	assert_int_equal(intents_result(w, 0, &(struct remove_result){REMOVE_ERROR,
								      REMOVE_CHECK_UNLINK, 1}),
			 0);
	/* The last result says. */
	assert_int_equal(intents_result(w, 0, &(struct remove_result){REMOVE_SKIPPED_CHANGED,
								      REMOVE_CHECK_INO, 0}),
			 0);
	intents_close(w);
	assert_int_equal(intents_replay(T, ID, collect, &s), 0);
	assert_int_equal(s.n, 3);
	assert_string_equal(s.paths[0], "/m/f");
	assert_string_equal(s.paths[1], "/m/a/b c\nd/g");
	assert_string_equal(s.paths[2], "/m/a/h");
	assert_true(s.has[0] && s.has[1] && !s.has[2]);
	assert_int_equal(s.res[0].status, REMOVE_SKIPPED_CHANGED);
	assert_int_equal(s.res[0].check, REMOVE_CHECK_INO);
	assert_int_equal(s.res[1].status, REMOVE_REMOVED);
	assert_int_equal(s.h[2].len, 3);
	assert_int_equal(s.h[2].f[2], 0xcd);
	assert_string_equal(s.rule[1], "line 3: remove /m/** x");
	assert_int_equal(intents_remove(T, ID), 0);
	assert_int_equal(intents_replay(T, ID, collect, &s), -ENOENT);
}

static void write_raw(const char *text)
{
	char p[256];
	int fd;

	snprintf(p, sizeof(p), "%s/journal/%s", T, ID);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

/* What cannot be read is said, never guessed: nothing of it counts as known. */
static void test_refused(void **state)
{
	struct seen s = {0};

	write_raw("0 1 2 3 4 5 created remove 2f6d2f66 2d\n"); /* the old format */
	assert_int_equal(intents_replay(T, ID, collect, &s), -EPROTO);
	write_raw("tmpfs-sweep-journal 2\nm 0 5 2f6d\ni 0 0 - 5 100 1 0 1000 7 created remove 66 2d 0 -\n"
		  "r 0 0 0");
	assert_int_equal(intents_replay(T, ID, collect, &s), -EBADMSG); /* cut short */
	write_raw("tmpfs-sweep-journal 2\nm 0 5 2f6d\nd 0 0 61\n");
	assert_int_equal(intents_replay(T, ID, collect, &s), -EBADMSG); /* a loop */
	write_raw("tmpfs-sweep-journal 2\nm 0 5 2f6d\ni 0 0 7 5 100 1 0 1000 7 created remove 66 2d 0 -\n");
	assert_int_equal(intents_replay(T, ID, collect, &s), -EBADMSG); /* no such dir */
	write_raw("tmpfs-sweep-journal 2\nm 0 5 2f6d\ni 0 0 - 5 100 1 0 1000 7 created remove 662f67 2d 0 -\n");
	assert_int_equal(intents_replay(T, ID, collect, &s), -EBADMSG); /* a '/' in a name */
	assert_int_equal(s.n, 0);
	intents_remove(T, ID);
}

/* Many intents under long paths: streamed, never read whole. */
static void test_many(void **state)
{
	struct intents_writer *w;
	struct seen s = {0};
	char name[256];

	assert_int_equal(intents_begin(T, ID, &w), 0);
	intents_add_mount(w, 0, 5, "/m");
	memset(name, 'x', 250);
	name[250] = 0;
	for (size_t d = 0; d < 100; d++)
		intents_add_dir(w, d, d ? d - 1 : REMOVE_ROOT, name);
	for (uint64_t i = 0; i < 50000; i++)
		intent(w, i, 99, "f");
	assert_int_equal(intents_commit(w), 0);
	intents_close(w);
	assert_int_equal(intents_replay(T, ID, collect, &s), 0);
	assert_int_equal(s.n, 50000);
	intents_remove(T, ID);
}

static int setup(void **state)
{
	return mkdtemp(T) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", T);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_many),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
