/* SPDX-License-Identifier: GPL-2.0-or-later */
/* notify.c: the per-user summary of what a sweep left, and its login message (notify.h). */
#include "notify.h"
#include "fileio.h"
#include "json.h"
#include "util.h"

#include <assert.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sys/stat.h>
#include <time.h>

#define NOTIFY_DIR "notify"

static void kv(struct sbuf *b, const char *key, const char *val)
{
	sbuf_adds(b, key);
	sbuf_addc(b, '=');
	record_add_escaped(b, val);
	sbuf_addc(b, '\n');
}

static void kv_u64(struct sbuf *b, const char *key, uint64_t v)
{
	sbuf_adds(b, key);
	sbuf_addc(b, '=');
	sbuf_add_u64(b, v);
	sbuf_addc(b, '\n');
}

int notify_write(const char *statedir, uid_t uid, const struct notify_summary *s)
{
	_cleanup_close_ int dfd = -1, fd = -1;
	struct sbuf b = {0};
	char name[16], tmp[32];
	int r;

	assert(s);

	sbuf_adds(&b, "version=1\n");
	kv(&b, "session", s->session);
	kv(&b, "user", s->user);
	kv(&b, "what", s->what);
	kv_u64(&b, "end_ns", s->end_ns);
	kv_u64(&b, "files", s->files);
	kv_u64(&b, "bytes", s->bytes);
	for (size_t i = 0; i < s->n && i < NOTIFY_MAX_PATHS; i++) {
		kv(&b, "path", s->v[i].path);
		kv(&b, "result", file_result_name(s->v[i].result));
		if (s->v[i].detail[0])
			kv(&b, "detail", s->v[i].detail);
	}
	if (!sbuf_str(&b)) {
		sbuf_done(&b);
		return -ENOMEM;
	}
	if (b.len > NOTIFY_MAX_SIZE) {
		sbuf_done(&b);
		return -E2BIG;
	}
	snprintf(name, sizeof(name), "%u", (unsigned)uid);
	snprintf(tmp, sizeof(tmp), ".%u.tmp", (unsigned)uid);
	dfd = record_open_subdir(statedir, NOTIFY_DIR);
	r = dfd < 0 ? dfd : 0;
	if (r == 0) {
		(void)unlinkat(dfd, tmp, 0); /* left by a writer that died: names are per uid */
		fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		r = fd < 0 ? negative_errno() : write_all(fd, b.buf, b.len);
	}
	if (r == 0 && renameat(dfd, tmp, dfd, name) < 0)
		r = negative_errno();
	if (r < 0 && fd >= 0)
		(void)unlinkat(dfd, tmp, 0);
	sbuf_done(&b);
	return r;
}

static int parse_u64_field(const char *v, uint64_t *ret)
{
	return parse_u64(v, ret) < 0 ? -EBADMSG : 0;
}

static int copy_field(const char *v, char *dst, size_t size)
{
	_cleanup_free_ char *s = NULL;
	int r = record_unescape(v, &s);

	if (r < 0)
		return r;
	snprintf(dst, size, "%s", s);
	return 0;
}

static int parse_result(const char *v, enum file_result *ret)
{
	for (int r = 0; r < _RESULT_MAX; r++)
		if (r != RESULT_PENDING && streq(v, file_result_name((enum file_result)r))) {
			*ret = (enum file_result)r;
			return 0;
		}
	return -EBADMSG;
}

static int parse_line(struct notify_summary *s, const char *key, const char *val)
{
	size_t last = s->n ? s->n - 1 : 0;

	if (streq(key, "version"))
		return streq(val, "1") ? 0 : -EBADMSG;
	if (streq(key, "session"))
		return copy_field(val, s->session, sizeof(s->session));
	if (streq(key, "user"))
		return copy_field(val, s->user, sizeof(s->user));
	if (streq(key, "what"))
		return copy_field(val, s->what, sizeof(s->what));
	if (streq(key, "end_ns"))
		return parse_u64_field(val, &s->end_ns);
	if (streq(key, "files"))
		return parse_u64_field(val, &s->files);
	if (streq(key, "bytes"))
		return parse_u64_field(val, &s->bytes);
	if (streq(key, "path")) {
		if (s->n == NOTIFY_MAX_PATHS)
			return -EBADMSG;
		s->v[s->n].result = RESULT_REPORTED;
		return copy_field(val, s->v[s->n++].path, sizeof(s->v[0].path));
	}
	if (!s->n)
		return -EBADMSG;
	if (streq(key, "result"))
		return parse_result(val, &s->v[last].result);
	if (streq(key, "detail"))
		return copy_field(val, s->v[last].detail, sizeof(s->v[0].detail));
	return -EBADMSG;
}

int notify_read(const char *statedir, uid_t uid, struct notify_summary *ret)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *buf = NULL;
	char path[4096];
	struct stat st;
	ssize_t n;

	assert(ret);

	*ret = (struct notify_summary){0};
	/* One open(2) by name: at almost every login there is no summary, and this is all
	 * that open_session pays for it. */
	if ((size_t)snprintf(path, sizeof(path), "%s/" NOTIFY_DIR "/%u", statedir,
			     (unsigned)uid) >= sizeof(path))
		return -ENAMETOOLONG;
	fd = open_read_at(AT_FDCWD, path);
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0)
		return negative_errno();
	if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 0077))
		return -EPERM;
	n = read_regular_fd(fd, &st, NOTIFY_MAX_SIZE, &buf);
	if (n < 0)
		return (int)n;
	for (char *p = buf, *nl; *p; p = nl + 1) {
		char *eq;
		int r;

		nl = strchr(p, '\n');
		if (!nl)
			return -EBADMSG;
		*nl = '\0';
		eq = strchr(p, '=');
		if (!eq)
			return -EBADMSG;
		*eq = '\0';
		r = parse_line(ret, p, eq + 1);
		if (r < 0)
			return r;
	}
	return ret->session[0] && user_name_valid(ret->user) ? 0 : -EBADMSG;
}

int notify_clear(const char *statedir, uid_t uid, const char *session)
{
	_cleanup_close_ int dfd = -1;
	struct notify_summary s;
	char name[16];
	int r;

	if (session) {
		r = notify_read(statedir, uid, &s);
		if (r == -ENOENT)
			return 0;
		if (r == 0 && !streq(s.session, session))
			return 0; /* another session's: not ours to clear */
	}
	dfd = record_open_subdir(statedir, NOTIFY_DIR);
	if (dfd < 0)
		return dfd == -ENOENT ? 0 : dfd;
	snprintf(name, sizeof(name), "%u", (unsigned)uid);
	if (unlinkat(dfd, name, 0) < 0 && errno != ENOENT)
		return negative_errno();
	return 0;
}

/* s for a terminal: valid UTF-8 text as it is, a control, an invalid byte or a '\' as
 * \xNN, so that no byte of a file name is ever a terminal's command. */
static void add_visible(struct sbuf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);

	for (size_t i = 0; i < n;) {
		uint32_t cp;
		size_t l = utf8_valid_len(p + i, n - i, &cp);

		if (l == 0 || cp < 0x20 || cp == 0x7f || cp == '\\' || (cp >= 0x80 && cp < 0xa0) ||
		    cp == 0x2028 || cp == 0x2029) {
			for (size_t k = 0; k < (l ? l : 1); k++)
				sbuf_printf(b, "\\x%02x", p[i + k]);
			i += l ? l : 1;
		} else {
			sbuf_add(b, p + i, l);
			i += l;
		}
	}
}

static void add_size(struct sbuf *b, uint64_t bytes)
{
	static const char *const units[] = {"KiB", "MiB", "GiB", "TiB"};
	double v = (double)bytes;
	size_t u = 0;

	if (bytes < 1024) {
		sbuf_printf(b, "%" PRIu64 " bytes", bytes);
		return;
	}
	for (v /= 1024; v >= 1023.95 && u + 1 < ARRAY_SIZE(units); u++)
		v /= 1024;
	sbuf_printf(b, "%.1f %s", v, units[u]);
}

void notify_message(const struct notify_summary *s, char *buf, size_t size)
{
	struct sbuf b = {0};
	time_t t = (time_t)(s->end_ns / NSEC_PER_SEC);
	struct tm tm;
	char when[32] = "";

	assert(s);
	assert(buf || size == 0);

	if (size == 0)
		return;
	if (localtime_r(&t, &tm))
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M", &tm);
	sbuf_adds(&b, "tmpfs-sweep: your session");
	if (s->what[0]) {
		sbuf_adds(&b, " (");
		add_visible(&b, s->what);
		sbuf_addc(&b, ')');
	}
	sbuf_printf(&b, " that ended %s left %" PRIu64 " file%s on tmpfs, ", when, s->files,
		    s->files == 1 ? "" : "s");
	add_size(&b, s->bytes);
	sbuf_adds(&b, ", still there:");
	for (size_t i = 0; i < s->n; i++) {
		sbuf_adds(&b, "\n  ");
		add_visible(&b, s->v[i].path);
		sbuf_adds(&b, ": ");
		sbuf_adds(&b, file_result_name(s->v[i].result));
		if (s->v[i].detail[0]) {
			sbuf_adds(&b, " (");
			add_visible(&b, s->v[i].detail);
			sbuf_addc(&b, ')');
		}
	}
	if (s->files > s->n)
		sbuf_printf(&b, "\n  and %" PRIu64 " more (the audit log has them all)",
			    s->files - s->n);
	snprintf(buf, size, "%s", sbuf_str(&b) ? b.buf : "tmpfs-sweep: your last session left "
							  "files on tmpfs");
	sbuf_done(&b);
}
