/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * metrics.c: the Prometheus text file (metrics.h). Read, add, write whole, rename, all
 * under a lock of our own; every file is reached from the directory's fd, never through
 * a symlink, and checked to be ours.
 */
#include "metrics.h"
#include "fileio.h"
#include "json.h"
#include "util.h"

#include <assert.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>

/* One scalar series: its name, kind, help and where it lives in struct metrics. */
struct series {
	const char *name, *type, *help;
	size_t off;
	bool seconds; /* a time, kept in ns, written in seconds */
};

#define M(f) offsetof(struct metrics, f)
static const struct series scalars[] = {
	{"tmpfs_sweep_sessions_closed_total", "counter",
	 "Login sessions whose sweep finished, at logout or later by gc.", M(sessions_closed), false},
	{"tmpfs_sweep_removed_bytes_total", "counter", "Bytes of the files removed.",
	 M(removed_bytes), false},
	{"tmpfs_sweep_incomplete_total", "counter",
	 "Session sweeps cut short by a limit (time, depth, entries) or an error.", M(incomplete),
	 false},
	{"tmpfs_sweep_timeouts_total", "counter",
	 "Session sweeps that ran out of time (the policy's Timeout, or the module's deadline).",
	 M(timeouts), false},
	{"tmpfs_sweep_leftover_objects_total", "counter",
	 "Shared memory sessions left besides files (SysV segments, memfds, deleted files and "
	 "anonymous shared memory of processes that outlived them), one per object and session.",
	 M(objects), false},
	{"tmpfs_sweep_leftover_objects_charged_bytes_total", "counter",
	 "Bytes of those objects charged to their session's cgroup when it was swept.",
	 M(objects_charged_bytes), false},
	{"tmpfs_sweep_leftover_objects_removed_total", "counter",
	 "Leftover SysV segments removed (RemoveSysV yes).", M(objects_removed), false},
	{"tmpfs_sweep_pending_sessions", "gauge",
	 "Session records waiting for gc (deferred, or their process is gone).",
	 M(pending_sessions), false},
	{"tmpfs_sweep_last_close_timestamp_seconds", "gauge",
	 "When a logout was last swept (0: never).", M(last_close_ns), true},
	{"tmpfs_sweep_last_gc_timestamp_seconds", "gauge", "When gc last ran (0: never).",
	 M(last_gc_ns), true},
};
#define FILES_NAME "tmpfs_sweep_files_total"

static uint64_t *field(struct metrics *m, const struct series *s)
{
	return (uint64_t *)((char *)m + s->off);
}

static void add_value(struct sbuf *b, uint64_t v, bool seconds)
{
	if (!seconds) {
		sbuf_add_u64(b, v);
		return;
	}
	sbuf_printf(b, "%llu.%03llu", (unsigned long long)(v / NSEC_PER_SEC),
		    (unsigned long long)(v % NSEC_PER_SEC / NSEC_PER_MSEC));
}

static void add_head(struct sbuf *b, const char *name, const char *type, const char *help)
{
	sbuf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

int metrics_format(struct sbuf *b, const struct metrics *m)
{
	struct metrics c = *m;

	assert(b);
	assert(m);

	add_head(b, scalars[0].name, scalars[0].type, scalars[0].help);
	sbuf_printf(b, "%s ", scalars[0].name);
	add_value(b, c.sessions_closed, false);
	sbuf_addc(b, '\n');
	add_head(b, FILES_NAME, "counter",
		 "Files found by session sweeps, by the result their audit line says.");
	for (size_t i = 0; i < METRICS_N_RESULTS; i++) {
		sbuf_printf(b, FILES_NAME "{result=\"%s\"} ", file_result_name((enum file_result)i));
		add_value(b, c.files[i], false);
		sbuf_addc(b, '\n');
	}
	for (size_t i = 1; i < ARRAY_SIZE(scalars); i++) {
		add_head(b, scalars[i].name, scalars[i].type, scalars[i].help);
		sbuf_printf(b, "%s ", scalars[i].name);
		add_value(b, *field(&c, &scalars[i]), scalars[i].seconds);
		sbuf_addc(b, '\n');
	}
	return sbuf_str(b) ? 0 : -ENOMEM;
}

/* "DIGITS" or, for seconds, "DIGITS[.DIGITS]" (to ns), and nothing after; -EINVAL. */
static int parse_value(const char *s, size_t n, bool seconds, uint64_t *ret)
{
	uint64_t v = 0, frac = 0, scale = NSEC_PER_SEC;
	size_t i = 0;

	if (!n)
		return -EINVAL;
	for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
		if (v > (UINT64_MAX - 9) / 10)
			return -EINVAL;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (i == 0)
		return -EINVAL;
	if (seconds) {
		if (v > UINT64_MAX / NSEC_PER_SEC - 1)
			return -EINVAL;
		if (i < n && s[i] == '.')
			for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++)
				if (scale > 1) {
					scale /= 10;
					frac += (uint64_t)(s[i] - '0') * scale;
				}
		v = v * NSEC_PER_SEC + frac;
	}
	if (i != n)
		return -EINVAL;
	*ret = v;
	return 0;
}

static void parse_line(const char *s, size_t n, struct metrics *m)
{
	const char *sp = memchr(s, ' ', n);
	size_t name_len, files_len = strlen(FILES_NAME);
	const char *val;
	size_t val_len;

	if (!sp || n == 0 || s[0] == '#')
		return;
	name_len = (size_t)(sp - s);
	val = sp + 1;
	val_len = n - name_len - 1;
	if (name_len >= files_len + 11 && memcmp(s, FILES_NAME "{result=\"", files_len + 9) == 0) {
		const char *lab = s + files_len + 9;
		size_t lab_len = name_len - files_len - 9;

		if (lab_len < 2 || memcmp(lab + lab_len - 2, "\"}", 2) != 0)
			return;
		lab_len -= 2;
		for (size_t i = 0; i < METRICS_N_RESULTS; i++)
			if (strlen(file_result_name((enum file_result)i)) == lab_len &&
			    memcmp(lab, file_result_name((enum file_result)i), lab_len) == 0)
				(void)parse_value(val, val_len, false, &m->files[i]);
		return;
	}
	for (size_t i = 0; i < ARRAY_SIZE(scalars); i++)
		if (strlen(scalars[i].name) == name_len &&
		    memcmp(s, scalars[i].name, name_len) == 0)
			(void)parse_value(val, val_len, scalars[i].seconds, field(m, &scalars[i]));
}

void metrics_parse(const char *buf, size_t len, struct metrics *m)
{
	assert(m);
	assert(buf || !len);
	*m = (struct metrics){0};
	while (len) {
		const char *nl = memchr(buf, '\n', len);
		size_t n = nl ? (size_t)(nl - buf) : len;

		parse_line(buf, n, m);
		if (!nl)
			break;
		len -= n + 1;
		buf = nl + 1;
	}
}

static void apply(struct metrics *m, const struct metrics_update *u)
{
	const struct metrics *a = &u->add;

	/* Every counter of the table is added; the gauges are set below. */
	for (size_t i = 0; i < ARRAY_SIZE(scalars); i++)
		if (streq(scalars[i].type, "counter"))
			*field(m, &scalars[i]) += *(const uint64_t *)((const char *)a + scalars[i].off);
	for (size_t i = 0; i < METRICS_N_RESULTS; i++)
		m->files[i] += a->files[i];
	if (u->have_pending)
		m->pending_sessions = u->pending_sessions;
	if (u->last_close_ns)
		m->last_close_ns = u->last_close_ns;
	if (u->last_gc_ns)
		m->last_gc_ns = u->last_gc_ns;
}

/* The directory of path, ours and not writable by others (else someone could swap the
 * files under us); the last component is not followed if a symlink. Not created. */
static int open_dir(const char *path, const char **base)
{
	_cleanup_free_ char *dir = NULL;
	_cleanup_close_ int dfd = -1;
	const char *slash;
	struct stat st;

	if (!path || path[0] != '/')
		return -EINVAL;
	slash = strrchr(path, '/');
	*base = slash + 1;
	if (!**base || streq(*base, ".") || streq(*base, "..") || strlen(*base) > NAME_MAX - 5)
		return -EINVAL;
	dir = slash == path ? strdup("/") : strndup(path, (size_t)(slash - path));
	if (!dir)
		return -ENOMEM;
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return errno == ENOTDIR ? -ELOOP : negative_errno();
	if (fstat(dfd, &st) < 0)
		return negative_errno();
	if (st.st_uid != geteuid() || (st.st_mode & 022))
		return -EPERM;
	return TAKE_FD(dfd);
}

/* A file of ours in dfd: regular, owned by us, one link. */
static int check_ours(int fd, struct stat *st)
{
	if (fstat(fd, st) < 0)
		return negative_errno();
	if (!S_ISREG(st->st_mode))
		return -EINVAL;
	if (st->st_uid != geteuid() || st->st_nlink != 1)
		return -EPERM;
	return 0;
}

static int lock_wait(int fd, unsigned wait_ms)
{
	struct timespec ts = {0, NSEC_PER_MSEC};
	uint64_t waited_ns = 0;

	for (;;) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return 0;
		if (errno != EWOULDBLOCK && errno != EINTR)
			return negative_errno();
		if (waited_ns >= (uint64_t)wait_ms * NSEC_PER_MSEC)
			return -EBUSY;
		nanosleep(&ts, NULL);
		waited_ns += (uint64_t)ts.tv_nsec;
		if (ts.tv_nsec < 16 * (long)NSEC_PER_MSEC)
			ts.tv_nsec *= 2;
	}
}

static int read_current(int dfd, const char *base, struct metrics *m)
{
	_cleanup_close_ int fd = open_read_at(dfd, base);
	_cleanup_free_ char *buf = NULL;
	struct stat st;
	ssize_t n;
	int r;

	*m = (struct metrics){0};
	if (fd == -ENOENT)
		return 0;
	if (fd < 0)
		return fd;
	r = check_ours(fd, &st);
	if (r < 0)
		return r;
	n = read_regular_fd(fd, &st, METRICS_MAX_SIZE, &buf);
	if (n == -EFBIG)
		return 0; /* not ours to read back: start again */
	if (n < 0)
		return (int)n;
	metrics_parse(buf, (size_t)n, m);
	return 0;
}

static int write_new(int dfd, const char *base, const char *tmp, const struct metrics *m)
{
	struct sbuf b = {0};
	_cleanup_close_ int fd = -1;
	struct stat st;
	int r;

	if (metrics_format(&b, m) < 0) {
		sbuf_done(&b);
		return -ENOMEM;
	}
	/* A temp file left by a run killed mid-way (we hold the lock: it is no one's now). */
	if (unlinkat(dfd, tmp, 0) < 0 && errno != ENOENT)
		r = negative_errno();
	else if ((fd = openat(dfd, tmp,
			      O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY,
			      0644)) < 0)
		r = negative_errno();
	else if ((r = check_ours(fd, &st)) < 0)
		;
	else if (fchmod(fd, 0644) < 0) /* readable by node_exporter whatever our umask */
		r = negative_errno();
	else if ((r = write_all(fd, b.buf, b.len)) < 0)
		;
	else if (renameat(dfd, tmp, dfd, base) < 0)
		r = negative_errno();
	else
		r = 0;
	if (r < 0 && fd >= 0)
		unlinkat(dfd, tmp, 0);
	sbuf_done(&b);
	return r;
}

int metrics_update(const char *path, const struct metrics_update *u, unsigned wait_ms)
{
	char lockname[NAME_MAX + 1], tmpname[NAME_MAX + 1];
	_cleanup_close_ int dfd = -1, lfd = -1;
	const char *base = NULL;
	struct metrics m;
	struct stat st;
	int r;

	assert(path);
	assert(u);

	dfd = open_dir(path, &base);
	if (dfd < 0)
		return dfd;
	snprintf(lockname, sizeof(lockname), "%s.lock", base);
	snprintf(tmpname, sizeof(tmpname), "%s.tmp", base);
	lfd = openat(dfd, lockname,
		     O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, 0600);
	if (lfd < 0)
		return negative_errno();
	r = check_ours(lfd, &st);
	if (r < 0)
		return r;
	r = lock_wait(lfd, wait_ms ? wait_ms : METRICS_LOCK_WAIT_MS);
	if (r < 0)
		return r;
	r = read_current(dfd, base, &m);
	if (r < 0)
		return r;
	apply(&m, u);
	return write_new(dfd, base, tmpname, &m);
}
