/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests: JSON escaping of hostile names, SHA-256 vectors, the audit sink's file
 * rules (creation modes, symlink/FIFO refusal) and the exact fields of each event. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "audit.h"
#include "json.h"
#include "sha256.h"
#include "util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>

static char *escape(const char *s, size_t n)
{
	struct sbuf b = {0};

	json_add_string(&b, s, n);
	assert_non_null(sbuf_str(&b));
	return b.buf;
}

#define ASSERT_ESC(in, n, want)                                                                    \
	do {                                                                                       \
		char *_e = escape(in, n);                                                          \
		assert_string_equal(_e, want);                                                     \
		free(_e);                                                                          \
	} while (0)

static void test_json_escape(void **state)
{
	ASSERT_ESC("a\nb", 3, "\"a\\nb\"");
	ASSERT_ESC("q\"q", 3, "\"q\\\"q\"");
	ASSERT_ESC("b\\s", 3, "\"b\\\\s\"");
	ASSERT_ESC("\x1b[31m", 5, "\"\\u001b[31m\"");
	ASSERT_ESC("\r\t\x7f", 3, "\"\\r\\t\\u007f\"");
	ASSERT_ESC("x\xe2\x80\xa8y", 5, "\"x\\u2028y\"");       /* U+2028 */
	ASSERT_ESC("x\xe2\x80\xa9y", 5, "\"x\\u2029y\"");       /* U+2029 */
	ASSERT_ESC("\xc3\xa9", 2, "\"\xc3\xa9\"");              /* é passes through */
	ASSERT_ESC("\xff\xfe", 2, "\"\\udcff\\udcfe\"");        /* invalid bytes */
	ASSERT_ESC("\xc0\xaf", 2, "\"\\udcc0\\udcaf\"");        /* overlong '/' */
	ASSERT_ESC("\xed\xa0\x80", 3, "\"\\udced\\udca0\\udc80\""); /* encoded surrogate */
	ASSERT_ESC("\xe2\x80", 2, "\"\\udce2\\udc80\"");        /* truncated sequence */
	ASSERT_ESC("a\0b", 3, "\"a\\u0000b\"");
	ASSERT_ESC("-rf", 3, "\"-rf\"");
	ASSERT_ESC("\xc2\x85", 2, "\"\\u0085\"");               /* C1 NEL */
}

static void test_json_long_name(void **state)
{
	char name[256], *e, want[260];

	memset(name, 'n', 255);
	name[255] = '\0';
	e = escape(name, 255);
	snprintf(want, sizeof(want), "\"%s\"", name);
	assert_string_equal(e, want);
	free(e);
	/* 255 bytes of 0xff: 255 escapes of 6 characters each. */
	memset(name, 0xff, 255);
	e = escape(name, 255);
	assert_int_equal(strlen(e), 2 + 255 * 6);
	free(e);
}

static void test_json_no_raw_controls(void **state)
{
	char all[256], *e;
	size_t i;

	for (i = 0; i < 256; i++)
		all[i] = (char)i;
	e = escape(all, 256);
	for (i = 0; e[i]; i++) {
		unsigned char c = (unsigned char)e[i];

		assert_true(c >= 0x20 && c != 0x7f);
	}
	free(e);
}

static void hex(const uint8_t *d, char *out)
{
	for (int i = 0; i < 32; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

static void test_sha256(void **state)
{
	char h[SHA256_HEX_SIZE];
	struct sha256_ctx c;
	uint8_t d[32];
	char *mill;

	sha256_hex("", 0, h);
	assert_string_equal(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	sha256_hex("abc", 3, h);
	assert_string_equal(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, h);
	assert_string_equal(h, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	/* one million 'a', fed in odd pieces to exercise buffering */
	mill = malloc(1000000);
	assert_non_null(mill);
	memset(mill, 'a', 1000000);
	sha256_init(&c);
	for (size_t off = 0, step = 1; off < 1000000; off += step, step = step % 97 + 1)
		sha256_update(&c, mill + off, MIN(step, 1000000 - off));
	sha256_final(&c, d);
	hex(d, h);
	assert_string_equal(h, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	free(mill);
}

static char tmpdir[64];

static int setup_dir(void **state)
{
	strcpy(tmpdir, "/tmp/tsw-test-audit.XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	return 0;
}

static int teardown_dir(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static char *slurp(const char *path)
{
	static char buf[65536];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	assert_true(fd >= 0);
	n = read(fd, buf, sizeof(buf) - 1);
	assert_true(n >= 0);
	buf[n] = '\0';
	close(fd);
	return buf;
}

static void test_audit_modes_and_lines(void **state)
{
	char dir[128], path[160];
	struct audit *a = NULL;
	struct stat st;
	char *txt;

	snprintf(dir, sizeof(dir), "%s/log", tmpdir);
	snprintf(path, sizeof(path), "%s/audit.jsonl", dir);
	assert_int_equal(audit_open(path, false, &a), 0);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);

	assert_int_equal(audit_session_open(a, &(struct audit_session){
			.session = "s1", .user = "alice", .uid = 1001, .service = "sshd",
			.rhost = "10.0.0.1", .tty = NULL, .cgroup = "/user.slice/x",
			.time_ns = 1700000000123456789ULL }), 0);
	assert_int_equal(audit_file(a, &(struct audit_file){
			.session = "s1", .path = "/dev/shm/a\nb", .size = 10, .charged_bytes = 4096,
			.uid = 1001, .btime_ns = 1700000000000000000ULL, .class = "created",
			.action = "remove", .result = RESULT_REMOVED,
			.rule = "remove /dev/shm/**" }), 0);
	assert_int_equal(audit_session_close(a, &(struct audit_summary){
			.session = "s1", .user = "alice", .uid = 1001, .files = 1, .bytes = 10,
			.charged_bytes = 4096, .removed = 1, .removed_bytes = 10, .incomplete = true,
			.duration_ms = 12, .policy_sha256 = "ab", .time_ns = 1700000001000000000ULL,
			.trigger = "gc", .reason = "timeout" }), 0);
	audit_close(a);

	txt = slurp(path);
	assert_string_equal(txt,
		"{\"event\":\"session-open\",\"session\":\"s1\",\"user\":\"alice\",\"uid\":1001,"
		"\"service\":\"sshd\",\"rhost\":\"10.0.0.1\",\"tty\":null,"
		"\"cgroup\":\"/user.slice/x\",\"time\":\"2023-11-14T22:13:20.123456789Z\"}\n"
		"{\"event\":\"file\",\"session\":\"s1\",\"path\":\"/dev/shm/a\\nb\",\"size\":10,"
		"\"charged_bytes\":4096,\"uid\":1001,\"btime\":\"2023-11-14T22:13:20.000000000Z\","
		"\"class\":\"created\",\"action\":\"remove\",\"result\":\"removed\","
		"\"rule\":\"remove /dev/shm/**\"}\n"
		"{\"event\":\"session-close\",\"session\":\"s1\",\"user\":\"alice\",\"uid\":1001,"
		"\"files\":1,\"bytes\":10,\"charged_bytes\":4096,\"removed\":1,\"removed_bytes\":10,"
		"\"kept\":0,\"deferred\":0,\"errors\":0,\"incomplete\":true,\"duration_ms\":12,"
		"\"policy_sha256\":\"ab\",\"time\":\"2023-11-14T22:13:21.000000000Z\","
		"\"trigger\":\"gc\",\"reason\":\"timeout\"}\n");

	/* Reopening appends. */
	assert_int_equal(audit_open(path, false, &a), 0);
	assert_int_equal(audit_file(a, &(struct audit_file){ .session = "s2", .path = "/x",
			.result = RESULT_ERROR, .error = "Permission denied" }), 0);
	audit_close(a);
	txt = slurp(path);
	assert_non_null(strstr(txt, "\"session\":\"s2\""));
	assert_non_null(strstr(txt, "\"error\":\"Permission denied\"}\n"));
}

static void test_audit_refuses(void **state)
{
	char p[200], q[200], target[200];
	struct audit *a = NULL;
	struct stat st;

	/* The file is a symlink: refused, target untouched. */
	snprintf(target, sizeof(target), "%s/target", tmpdir);
	assert_int_equal(close(open(target, O_CREAT | O_WRONLY | O_CLOEXEC, 0600)), 0);
	snprintf(p, sizeof(p), "%s/d1", tmpdir);
	assert_int_equal(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/d1/audit.jsonl", tmpdir);
	assert_int_equal(symlink(target, p), 0);
	assert_int_equal(audit_open(p, false, &a), -ELOOP);
	assert_non_null(a);
	assert_int_equal(audit_file(a, &(struct audit_file){ .path = "/x" }), -ELOOP);
	audit_close(a);
	assert_int_equal(stat(target, &st), 0);
	assert_int_equal(st.st_size, 0);

	/* The directory is a symlink: refused. */
	snprintf(q, sizeof(q), "%s/d2", tmpdir);
	assert_int_equal(symlink(tmpdir, q), 0);
	snprintf(p, sizeof(p), "%s/d2/audit.jsonl", tmpdir);
	assert_int_equal(audit_open(p, false, &a), -ELOOP);
	audit_close(a);
	snprintf(p, sizeof(p), "%s/audit.jsonl", tmpdir);
	assert_int_equal(access(p, F_OK), -1);

	/* A FIFO: refused without blocking. */
	snprintf(q, sizeof(q), "%s/d3", tmpdir);
	assert_int_equal(mkdir(q, 0700), 0);
	snprintf(p, sizeof(p), "%s/d3/fifo", tmpdir);
	assert_int_equal(mkfifo(p, 0600), 0);
	assert_true(audit_open(p, false, &a) < 0);
	audit_close(a);

	/* A directory writable by others: refused. */
	snprintf(q, sizeof(q), "%s/d4", tmpdir);
	assert_int_equal(mkdir(q, 0700), 0);
	assert_int_equal(chmod(q, 0777), 0);
	snprintf(p, sizeof(p), "%s/d4/audit.jsonl", tmpdir);
	assert_int_equal(audit_open(p, false, &a), -EPERM);
	audit_close(a);
	assert_int_equal(access(p, F_OK), -1);

	/* A hard-linked file: refused. */
	snprintf(p, sizeof(p), "%s/d1/linked", tmpdir);
	assert_int_equal(link(target, p), 0);
	assert_int_equal(audit_open(p, false, &a), -EPERM);
	audit_close(a);

	/* Relative and missing-parent paths. */
	assert_int_equal(audit_open("rel/audit.jsonl", false, &a), -EINVAL);
	audit_close(a);
	snprintf(p, sizeof(p), "%s/no/such/audit.jsonl", tmpdir);
	assert_int_equal(audit_open(p, false, &a), -ENOENT);
	audit_close(a);

	/* No path: journald only (absent here), never an error. */
	assert_int_equal(audit_open(NULL, true, &a), 0);
	assert_int_equal(audit_session_open(a, &(struct audit_session){ .session = "j" }), 0);
	audit_close(a);
}

static void test_audit_format_nasty(void **state)
{
	struct sbuf b = {0};
	const char name[] = "/dev/shm/\n{\"event\":\"session-close\"}\x1b\xe2\x80\xa8\xff-";

	assert_int_equal(audit_format_file(&b, &(struct audit_file){ .path = name,
			.path_len = sizeof(name) - 1, .result = RESULT_REPORTED }), 0);
	/* exactly one line, and the forged object is inside a string */
	assert_non_null(strchr(b.buf, '\n'));
	assert_ptr_equal(strchr(b.buf, '\n'), b.buf + b.len - 1);
	assert_non_null(strstr(b.buf,
		"\"path\":\"/dev/shm/\\n{\\\"event\\\":\\\"session-close\\\"}\\u001b\\u2028\\udcff-\""));
	sbuf_done(&b);
}

/* The log read back (resume): the lines already written, by the digest of the path as
 * written (long paths cut). */
#define SEEN_ID "123-456"

static int seen_line(const char *audit, const char *path)
{
	struct audit_file f = {
		.session = SEEN_ID, .path = path, .class = "created", .action = "remove",
		.result = RESULT_REMOVED, .rule = "default",
	};
	struct sbuf b = {0};
	int fd = open(audit, O_WRONLY | O_APPEND | O_CREAT, 0600);

	assert_true(fd >= 0);
	assert_int_equal(audit_format_file(&b, &f), 0);
	assert_int_equal(write(fd, b.buf, b.len), (ssize_t)b.len);
	close(fd);
	sbuf_done(&b);
	return 0;
}

static void test_audit_seen(void **state)
{
	char audit[256], longp[10000], longq[10000];
	struct audit_seen s;

	snprintf(audit, sizeof(audit), "%s/seen.jsonl", tmpdir);
	memset(longp, 'p', sizeof(longp) - 1);
	longp[0] = '/';
	longp[sizeof(longp) - 1] = 0;
	memcpy(longq, longp, sizeof(longq));
	longq[5000] = 'q'; /* the same head and tail, another middle */
	seen_line(audit, "/m/a\nb");
	seen_line(audit, longp);
	assert_int_equal(audit_log_seen(audit, SEEN_ID, &s), 0);
	assert_int_equal(s.n, 2);
	assert_true(audit_seen_has(&s, "/m/a\nb", 6));
	assert_false(audit_seen_has(&s, "/m/a", 4));
	assert_true(audit_seen_has(&s, longp, strlen(longp)));
	assert_false(audit_seen_has(&s, longq, strlen(longq)));
	audit_seen_done(&s);
	assert_int_equal(audit_log_seen(audit, "9-9", &s), 0);
	assert_int_equal(s.n, 0);
	unlink(audit);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_escape),
		cmocka_unit_test(test_json_long_name),
		cmocka_unit_test(test_json_no_raw_controls),
		cmocka_unit_test(test_sha256),
		cmocka_unit_test(test_audit_format_nasty),
		cmocka_unit_test_setup_teardown(test_audit_modes_and_lines, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_audit_refuses, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_audit_seen, setup_dir, teardown_dir),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
