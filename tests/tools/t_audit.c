/* SPDX-License-Identifier: GPL-2.0-or-later */
/* t_audit write LOG SESSION COUNT: audit_open(LOG) and write a session-open, COUNT file
 *   events with hostile names, and a session-close; print "rc=ERRNO-NAME|0 ms=..." and
 *   exit 1 if any call failed (the first failure is printed).
 * t_audit names SESSION COUNT: the exact path bytes the writer uses, as hex, one a line. */
#include "audit.h"
#include "util.h"

#include <time.h>

static const char *const pieces[] = {
	"nl\nx",         "quote\"x",        "back\\slash",    "esc\x1b[31mred",
	"ls\xe2\x80\xa8x", "ps\xe2\x80\xa9x", "bad\xff\xfe\xc0\xafutf8", "-rf",
	"forge\n{\"event\":\"session-close\",\"session\":\"evil\"}", "tab\tcr\r",
	"\xc3\xa9t\xc3\xa9", "del\x7f", "LONG",
};

static void make_path(const char *session, unsigned i, char *out, size_t *len)
{
	const char *p = pieces[i % ARRAY_SIZE(pieces)];
	int n;

	if (streq(p, "LONG")) {
		/* a 255-byte final component */
		n = snprintf(out, 4096, "/dev/shm/%s/%u.", session, i);
		size_t base = (size_t)n - strlen("/dev/shm/") - strlen(session) - 1;
		memset(out + n, 'L', 255 - base);
		*len = (size_t)n + 255 - base;
		out[*len] = '\0';
		return;
	}
	n = snprintf(out, 4096, "/dev/shm/%s/%s.%u", session, p, i);
	*len = (size_t)n;
}

int main(int argc, char **argv)
{
	char path[4096];
	size_t len;
	unsigned i, count;

	if (argc == 4 && streq(argv[1], "names")) {
		count = (unsigned)atoi(argv[3]);
		for (i = 0; i < count; i++) {
			make_path(argv[2], i, path, &len);
			for (size_t k = 0; k < len; k++)
				printf("%02x", (unsigned char)path[k]);
			putchar('\n');
		}
		return 0;
	}
	if (argc == 5 && streq(argv[1], "write")) {
		const char *session = argv[3];
		struct audit *a = NULL;
		uint64_t t0 = now_ns(CLOCK_MONOTONIC);
		int r, first = 0;

		count = (unsigned)atoi(argv[4]);
		r = audit_open(argv[2], true, &a);
		if (r < 0)
			first = r;
		if (!a)
			return printf("rc=%s\n", strerrorname_np(-r)), 1;
		r = audit_session_open(a, &(struct audit_session){
			.session = session, .user = "u\n\"ser", .uid = 1234, .service = "sshd",
			.rhost = "::1", .tty = "ssh", .cgroup = "/x", .time_ns = 1 });
		if (r < 0 && !first)
			first = r;
		for (i = 0; i < count; i++) {
			make_path(session, i, path, &len);
			r = audit_file(a, &(struct audit_file){
				.session = session, .path = path, .path_len = len, .size = i,
				.charged_bytes = 4096ull * i, .uid = 1234, .btime_ns = 2,
				.class = "created", .action = "remove", .result = RESULT_REMOVED,
				.rule = "remove /dev/shm/**" });
			if (r < 0 && !first)
				first = r;
		}
		r = audit_session_close(a, &(struct audit_summary){
			.session = session, .user = "user", .uid = 1234, .files = count,
			.removed = count, .duration_ms = 1, .policy_sha256 = "0", .time_ns = 3,
			.trigger = "close" });
		if (r < 0 && !first)
			first = r;
		audit_close(a);
		printf("rc=%s ms=%.3f\n", first ? strerrorname_np(-first) : "0",
		       (now_ns(CLOCK_MONOTONIC) - t0) / 1e6);
		return first ? 1 : 0;
	}
	fprintf(stderr, "usage: t_audit write LOG SESSION COUNT | names SESSION COUNT\n");
	return 2;
}
