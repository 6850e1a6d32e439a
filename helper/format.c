/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "format.h"
#include "fileio.h"
#include "users.h"
#include "util.h"

#include <ctype.h>
#include <inttypes.h>
#include <time.h>

const char *fmt_size(char *buf, size_t len, uint64_t bytes)
{
	static const char units[] = "BKMGTPE";
	double v = (double)bytes;
	unsigned u = 0;

	/* 1023.95K would print as "1024.0K": move up a unit before rounding does. */
	while (v >= 1023.95 && u < sizeof(units) - 2) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%" PRIu64 "B", bytes);
	else
		snprintf(buf, len, "%.1f%c", v, units[u]);
	return buf;
}

const char *fmt_time(char *buf, size_t len, uint64_t ns)
{
	time_t t = (time_t)(ns / NSEC_PER_SEC);
	struct tm tm;

	if (ns == 0 || !localtime_r(&t, &tm) || !strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm))
		snprintf(buf, len, "-");
	return buf;
}

/* A tree has few owners, and each NSS lookup reads /etc/passwd again (~7 us: a 2,000,000-file
 * scan spent more time here than in the walk): one lookup per uid, remembered for the run. */
const char *fmt_user(char *buf, size_t len, uid_t uid)
{
	static struct {
		bool set;
		uid_t uid;
		char name[USER_NAME_MAX + 1]; /* "" when the uid has no name */
	} seen[16];
	unsigned i = (unsigned)uid % ARRAY_SIZE(seen);
	struct user_info ui;

	if (!seen[i].set || seen[i].uid != uid) {
		seen[i].set = true;
		seen[i].uid = uid;
		if (user_by_uid(uid, &ui) == 0)
			snprintf(seen[i].name, sizeof(seen[i].name), "%s", ui.name);
		else
			seen[i].name[0] = '\0';
	}
	if (seen[i].name[0])
		snprintf(buf, len, "%s", seen[i].name);
	else
		snprintf(buf, len, "%u", (unsigned)uid);
	return buf;
}

void print_name(FILE *f, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\\')
			fputs("\\\\", f);
		else if (c < 0x20 || c == 0x7f || c >= 0x80)
			fprintf(f, "\\x%02x", c);
		else
			fputc(c, f);
	}
}

void print_name_pad(FILE *f, const char *s, int width)
{
	size_t n = strlen(s);
	int shown = 0;

	print_name(f, s, n);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		shown += c == '\\' ? 2 : c < 0x20 || c >= 0x7f ? 4 : 1;
	}
	for (; shown < width; shown++)
		fputc(' ', f);
}

int parse_size(const char *s, uint64_t *ret)
{
	char *end;
	unsigned long long v;
	uint64_t mul = 1;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -ERANGE;
	if (*end) {
		switch (*end) {
		case 'K': case 'k': mul = 1ULL << 10; break;
		case 'M': case 'm': mul = 1ULL << 20; break;
		case 'G': case 'g': mul = 1ULL << 30; break;
		case 'T': case 't': mul = 1ULL << 40; break;
		default: return -EINVAL;
		}
		if (end[1])
			return -EINVAL;
	}
	if (v > UINT64_MAX / mul)
		return -ERANGE;
	*ret = v * mul;
	return 0;
}

int parse_time_arg(const char *s, uint64_t *ret_ns)
{
	struct tm tm = {0};
	uint64_t secs;
	const char *end;

	if (*s == '@')
		s++;
	if (parse_u64(s, &secs) == 0) {
		if (secs > UINT64_MAX / NSEC_PER_SEC)
			return -ERANGE;
		*ret_ns = secs * NSEC_PER_SEC;
		return 0;
	}
	end = strptime(s, "%Y-%m-%d", &tm);
	if (end && *end) {
		const char *e2 = strptime(end, " %H:%M:%S", &tm);
		if (!e2)
			e2 = strptime(end, " %H:%M", &tm);
		end = e2;
	}
	if (!end || *end)
		return -EINVAL;
	tm.tm_isdst = -1;
	time_t t = mktime(&tm);
	if (t < 0)
		return -EINVAL;
	*ret_ns = (uint64_t)t * NSEC_PER_SEC;
	return 0;
}

int parse_user_arg(const char *arg, struct user_info *ret)
{
	uint64_t v;
	int r;

	if (parse_u64(arg, &v) == 0) {
		if (v >= UINT32_MAX)
			return -ERANGE;
		r = user_by_uid((uid_t)v, ret);
		if (r == -ENOENT || r == -EBADMSG)
			*ret = (struct user_info){.uid = (uid_t)v, .gid = (gid_t)-1};
		return r == -ENOENT || r == -EBADMSG ? 0 : r;
	}
	return user_by_name(arg, ret);
}
