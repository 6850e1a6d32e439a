/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * scan --json's fast line writer (scan_json_line: literal keys, numbers and times by hand,
 * the date cached per second) against the general one: the same fields written with
 * json.h's key/value writer. Byte-identical for every kind of entry, including names
 * that need escaping, times outside the usual range and lines that share a second.
 */
#include "json.h"
#include "scan.h"
#include "util.h"

#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
	/* xorshift64*: reproducible, so a failure names the same line every run */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

static const char *const names[] = {
	"/dev/shm/plain", "/dev/shm/with space", "/dev/shm/\"quoted\"\\back", "/dev/shm/ctl\x01\x1f",
	"/dev/shm/del\x7f", "/dev/shm/bad-utf8-\xff\xfe", "/dev/shm/\xc3\xa9t\xc3\xa9",
	"/dev/shm/ls\xe2\x80\xa8ps\xe2\x80\xa9", "/dev/shm/nl\nname", "",
};

static const char *const cgroups[] = {
	"/", "/user.slice/user-1000.slice/session-3.scope", "/odd \"name\"\n", NULL,
};

static const char *cg_name(uint64_t ino, void *userdata)
{
	return cgroups[ino % ARRAY_SIZE(cgroups)];
}

static void add_time(struct sbuf *b, uint64_t ns)
{
	sbuf_addc(b, '"');
	sbuf_add_time_ns(b, ns);
	sbuf_addc(b, '"');
}

/* The general way: every field through json.h's writer. */
static void reference_line(struct sbuf *b, const struct scan_entry *e, const uint64_t *charged)
{
	const struct statx *x = e->w->stx;
	const struct page_scan *ps = e->pages;

	sbuf_reset(b);
	json_begin(b);
	json_kv_strn(b, "path", e->w->path, e->w->path_len);
	json_kv_str(b, "type", scan_type_name(x->stx_mode));
	json_kv_u64(b, "size", x->stx_size);
	json_kv_u64(b, "allocated", x->stx_blocks * 512);
	json_kv_u64(b, "uid", x->stx_uid);
	json_kv_u64(b, "nlink", x->stx_nlink);
	json_key(b, "btime");
	if (x->stx_mask & STATX_BTIME)
		add_time(b, statx_ts_ns(&x->stx_btime));
	else
		sbuf_adds(b, "null");
	json_key(b, "ctime");
	add_time(b, statx_ts_ns(&x->stx_ctime));
	if (ps) {
		json_kv_u64(b, "resident_bytes", ps->resident_bytes);
		json_kv_u64(b, "unknown_bytes", ps->unknown_bytes);
		if (charged)
			json_kv_u64(b, "charged_bytes", *charged);
		json_key(b, "charges");
		sbuf_addc(b, '[');
		for (size_t i = 0; i < ps->n_charges; i++) {
			if (i)
				sbuf_addc(b, ',');
			json_begin(b);
			json_kv_str(b, "cgroup", cg_name(ps->charges[i].ino, NULL));
			json_kv_u64(b, "ino", ps->charges[i].ino);
			json_kv_u64(b, "bytes", ps->charges[i].bytes);
			json_end(b);
		}
		sbuf_addc(b, ']');
		if (ps->fallocated_bytes)
			json_kv_u64(b, "fallocated_bytes", ps->fallocated_bytes);
		if (ps->unknown) {
			char why[64];
			json_kv_str(b, "unknown", pages_unknown_str(ps->unknown, why, sizeof(why)));
		}
		if (ps->changed)
			json_kv_bool(b, "changed", true);
	}
	if (e->error)
		json_kv_str(b, "error", strerror(-e->error));
	json_end(b);
	sbuf_addc(b, '\n');
}

/* A number of any size: small, at a decimal boundary, or anything. */
static uint64_t any_u64(void)
{
	static const uint64_t edges[] = {
		0, 1, 9, 10, 99, 100, 4095, 4096, 999999999, 1000000000, UINT32_MAX,
		(uint64_t)UINT32_MAX + 1, 9999999999999999999ULL, 10000000000000000000ULL,
		UINT64_MAX - 1, UINT64_MAX,
	};

	switch (rnd() % 3) {
	case 0: return edges[rnd() % ARRAY_SIZE(edges)];
	case 1: return rnd() % 100000;
	default: return rnd() >> (rnd() % 64);
	}
}

/* A timestamp: from a handful of seconds (consecutive lines share the date cache or not),
 * the epoch, before it, far ahead, or anything. */
static struct statx_timestamp any_time(void)
{
	static const int64_t secs[] = {
		1795901400, 1795901401, 1795901400, 0, -1, -86400, 253402300799, 253402300800,
		4102444800, INT32_MAX, (int64_t)INT32_MAX + 1,
	};
	struct statx_timestamp t = {0};

	t.tv_sec = rnd() % 4 ? secs[rnd() % ARRAY_SIZE(secs)] : (int64_t)(rnd() >> 30);
	t.tv_nsec = rnd() % 3 ? (uint32_t)(rnd() % NSEC_PER_SEC) : (uint32_t)(rnd() % 2) * 999999999;
	return t;
}

static void test_fast_equals_general(void **state)
{
	static const mode_t types[] = {S_IFREG, S_IFDIR, S_IFLNK, S_IFIFO, S_IFSOCK, S_IFCHR, S_IFBLK, 0};
	static const int errors[] = {0, 0, 0, -ENOENT, -EWOULDBLOCK, -ESTALE};
	struct sbuf fast = {0}, general = {0};
	struct scan_json c = {0};
	struct charge charges[4];
	size_t n_lines = 20000, with_pages = 0, with_btime = 0;

	for (size_t line = 0; line < n_lines; line++) {
		const char *path = names[rnd() % ARRAY_SIZE(names)];
		struct statx x = {0};
		struct walk_entry w = {.path = path, .path_len = strlen(path), .stx = &x};
		struct page_scan ps = {0};
		struct scan_entry e = {.w = &w, .error = errors[rnd() % ARRAY_SIZE(errors)]};
		uint64_t charged = any_u64();
		bool filtered = rnd() % 2;

		x.stx_mode = types[rnd() % ARRAY_SIZE(types)] | (mode_t)(rnd() % 07777);
		x.stx_size = any_u64();
		x.stx_blocks = any_u64();
		x.stx_uid = (uint32_t)any_u64();
		x.stx_nlink = (uint32_t)any_u64();
		if (rnd() % 4) {
			x.stx_mask |= STATX_BTIME;
			x.stx_btime = any_time();
			with_btime++;
		}
		x.stx_ctime = any_time();
		if (rnd() % 3) {
			ps.resident_bytes = any_u64();
			ps.unknown_bytes = any_u64();
			ps.fallocated_bytes = rnd() % 2 ? any_u64() : 0;
			ps.unknown = (unsigned)(rnd() % 8);
			ps.changed = rnd() % 5 == 0;
			ps.n_charges = rnd() % (ARRAY_SIZE(charges) + 1);
			for (size_t i = 0; i < ps.n_charges; i++)
				charges[i] = (struct charge){.ino = any_u64(), .bytes = any_u64()};
			ps.charges = charges;
			e.pages = &ps;
			with_pages++;
		}
		scan_json_line(&fast, &c, &e, filtered ? &charged : NULL, cg_name, NULL);
		reference_line(&general, &e, filtered ? &charged : NULL);
		assert_non_null(sbuf_str(&fast));
		assert_non_null(sbuf_str(&general));
		if (fast.len != general.len || memcmp(fast.buf, general.buf, fast.len) != 0) {
			print_error("line %zu differs:\nfast:    %s\ngeneral: %s", line, fast.buf,
				    general.buf);
			fail();
		}
	}
	/* the generator reached every branch */
	assert_true(with_pages > n_lines / 2 && with_pages < n_lines);
	assert_true(with_btime > n_lines / 2 && with_btime < n_lines);
	sbuf_done(&fast);
	sbuf_done(&general);
}

/* One second written, then another, then the first again: the cached date is never the
 * previous line's. */
static void test_time_cache_switches(void **state)
{
	static const int64_t secs[] = {1795901400, 1795901401, 1795901400, 0, 0, 86399, 86400};
	struct sbuf fast = {0}, general = {0};
	struct scan_json c = {0};

	for (size_t i = 0; i < ARRAY_SIZE(secs); i++) {
		struct statx x = {.stx_mode = S_IFREG, .stx_mask = STATX_BTIME};
		struct walk_entry w = {.path = "/dev/shm/f", .path_len = 10, .stx = &x};
		struct scan_entry e = {.w = &w};

		x.stx_btime.tv_sec = secs[i];
		x.stx_btime.tv_nsec = 5;
		x.stx_ctime.tv_sec = secs[ARRAY_SIZE(secs) - 1 - i];
		scan_json_line(&fast, &c, &e, NULL, cg_name, NULL);
		reference_line(&general, &e, NULL);
		assert_string_equal(sbuf_str(&fast), sbuf_str(&general));
	}
	assert_non_null(strstr(sbuf_str(&fast), "\"btime\":\"1970-01-02T00:00:00.000000005Z\""));
	sbuf_done(&fast);
	sbuf_done(&general);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fast_equals_general),
		cmocka_unit_test(test_time_cache_switches),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
