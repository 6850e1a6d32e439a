/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * audit.c: every event is described once as a list of typed facts; the JSON line and
 * the journald fields are both rendered from that list, so the two sinks always say
 * the same thing.
 */
#include "audit.h"
#include "fileio.h"
#include "json.h"
#include "sha256.h"
#include "users.h"
#include "util.h"

#include <assert.h>
#include <ctype.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>

#define SD_JOURNAL_SUPPRESS_LOCATION
#include <sys/socket.h>
#include <sys/un.h>
#include <endian.h>
#include <syslog.h>

struct audit {
	int fd;       /* the log file, or -1 */
	int jfd;      /* our own socket to journald (-2: none there), or -1 until first use */
	int file_err; /* why fd is -1 when a path was given (negative errno), else 0 */
	bool journal;
	struct sbuf line;
};

#define EV_MAX_FIELDS 40

/* One event being rendered to both sinks. */
struct ev {
	struct sbuf *json;
	bool journal;
	struct iovec iov[EV_MAX_FIELDS];
	size_t n;
	bool oom;
};

static void ev_field(struct ev *e, const char *name, const void *val, size_t len)
{
	size_t nl = strlen(name);
	char *p;

	if (!e->journal)
		return;
	if (e->n >= EV_MAX_FIELDS) {
		e->oom = true;
		return;
	}
	p = malloc(nl + 1 + len + 1);
	if (!p) {
		e->oom = true;
		return;
	}
	memcpy(p, name, nl);
	p[nl] = '=';
	memcpy(p + nl + 1, val, len);
	p[nl + 1 + len] = '\0';
	e->iov[e->n++] = (struct iovec){ .iov_base = p, .iov_len = nl + 1 + len };
}

/* journald field for a JSON key: TMPFS_SWEEP_ + upper case, '-' -> '_'. */
static void ev_jfield(struct ev *e, const char *key, const void *val, size_t len)
{
	char name[64] = "TMPFS_SWEEP_";
	size_t i, o = strlen(name);

	if (!e->journal)
		return;
	for (i = 0; key[i] && o < sizeof(name) - 1; i++)
		name[o++] = key[i] == '-' ? '_' : (char)toupper((unsigned char)key[i]);
	name[o] = '\0';
	ev_field(e, name, val, len);
}

static void ev_strn(struct ev *e, const char *key, const char *val, size_t len)
{
	json_kv_strn(e->json, key, val, len);
	if (val)
		ev_jfield(e, key, val, len);
}

static void ev_str(struct ev *e, const char *key, const char *val)
{
	ev_strn(e, key, val, val ? strlen(val) : 0);
}

/* Optional field: absent from both sinks when NULL. */
static void ev_opt(struct ev *e, const char *key, const char *val)
{
	if (val)
		ev_str(e, key, val);
}

static void ev_u64(struct ev *e, const char *key, uint64_t v)
{
	char tmp[24];

	json_kv_u64(e->json, key, v);
	if (e->journal)
		ev_jfield(e, key, tmp, (size_t)snprintf(tmp, sizeof(tmp), "%" PRIu64, v));
}

static void ev_bool(struct ev *e, const char *key, bool v)
{
	json_kv_bool(e->json, key, v);
	ev_jfield(e, key, v ? "true" : "false", v ? 4 : 5);
}

static void ev_time(struct ev *e, const char *key, uint64_t ns)
{
	struct sbuf t = {0};

	json_key(e->json, key);
	if (!ns) {
		sbuf_adds(e->json, "null");
		return;
	}
	sbuf_add_time_ns(&t, ns);
	if (!sbuf_str(&t)) {
		e->oom = true;
		sbuf_adds(e->json, "null");
		return;
	}
	json_add_string(e->json, t.buf, t.len);
	ev_jfield(e, key, t.buf, t.len);
	sbuf_done(&t);
}

static void ev_done(struct ev *e)
{
	size_t i;

	for (i = 0; i < e->n; i++)
		free(e->iov[i].iov_base);
	e->n = 0;
}

static void ev_begin(struct ev *e, struct sbuf *json, bool journal, const char *event,
		     const char *message_id)
{
	*e = (struct ev){ .json = json, .journal = journal };
	sbuf_reset(json);
	json_begin(json);
	ev_field(e, "MESSAGE_ID", message_id, strlen(message_id));
	ev_field(e, "SYSLOG_IDENTIFIER", "tmpfs-sweep", 11);
	ev_str(e, "event", event);
}

/* Finish the JSON line; for journald add MESSAGE (human text, names escaped as in
 * JSON so that no control byte reaches a terminal) and PRIORITY. */
static int ev_end(struct ev *e, int priority, struct sbuf *msg)
{
	char prio[2] = { (char)('0' + priority), '\0' };

	json_end(e->json);
	sbuf_addc(e->json, '\n');
	if (e->journal) {
		if (!sbuf_str(msg))
			e->oom = true;
		else
			ev_field(e, "MESSAGE", msg->buf, msg->len);
		ev_field(e, "PRIORITY", prio, 1);
	}
	if (!sbuf_str(e->json) || e->oom)
		return -ENOMEM;
	return 0;
}

/* The user field by the project's name rule (users.h): a name that fails it (none should
 * get here: records hold checked names) is written as null, never as it is. */
static const char *user_field(const char *user)
{
	return user_name_valid(user) ? user : NULL;
}

static void fill_session_open(struct ev *e, const struct audit_session *s)
{
	ev_str(e, "session", s->session);
	ev_str(e, "user", user_field(s->user));
	ev_u64(e, "uid", s->uid);
	ev_str(e, "service", s->service);
	ev_str(e, "rhost", s->rhost);
	ev_str(e, "tty", s->tty);
	ev_str(e, "cgroup", s->cgroup);
	ev_time(e, "time", s->time_ns);
	ev_opt(e, "reason", s->reason);
	ev_opt(e, "trigger", s->trigger);
	ev_opt(e, "unit", s->unit);
}

static void fill_file(struct ev *e, const struct audit_file *f)
{
	ev_str(e, "session", f->session);
	ev_strn(e, "path", f->path, f->path && !f->path_len ? strlen(f->path) : f->path_len);
	ev_u64(e, "size", f->size);
	ev_u64(e, "charged_bytes", f->charged_bytes);
	ev_u64(e, "uid", f->uid);
	ev_time(e, "btime", f->btime_ns);
	ev_str(e, "class", f->class);
	ev_str(e, "action", f->action);
	ev_str(e, "result", file_result_name(f->result));
	ev_str(e, "rule", f->rule);
	ev_opt(e, "error", f->error);
	ev_opt(e, "detail", f->detail);
	ev_opt(e, "object", f->object);
}

static void fill_session_close(struct ev *e, const struct audit_summary *s)
{
	ev_str(e, "session", s->session);
	ev_str(e, "user", user_field(s->user));
	ev_u64(e, "uid", s->uid);
	ev_u64(e, "files", s->files);
	ev_u64(e, "bytes", s->bytes);
	ev_u64(e, "charged_bytes", s->charged_bytes);
	ev_u64(e, "removed", s->removed);
	ev_u64(e, "removed_bytes", s->removed_bytes);
	ev_u64(e, "kept", s->kept);
	ev_u64(e, "deferred", s->deferred);
	ev_u64(e, "errors", s->errors);
	ev_bool(e, "incomplete", s->incomplete);
	ev_u64(e, "duration_ms", s->duration_ms);
	ev_str(e, "policy_sha256", s->policy_sha256);
	ev_time(e, "time", s->time_ns);
	ev_opt(e, "trigger", s->trigger);
	ev_opt(e, "reason", s->reason);
	if (s->objects_seen) {
		ev_u64(e, "objects", s->objects);
		ev_u64(e, "objects_charged_bytes", s->objects_charged_bytes);
		ev_u64(e, "objects_removed", s->objects_removed);
	}
	if (s->unlisted)
		ev_u64(e, "unlisted", s->unlisted);
}

const char *audit_path_shown(const char *path, size_t len, struct sbuf *tmp, size_t *ret_len)
{
	char hex[SHA256_HEX_SIZE];

	assert(path);
	assert(tmp);
	assert(ret_len);

	if (len <= AUDIT_PATH_MAX) {
		*ret_len = len;
		return path;
	}
	sha256_hex(path, len, hex);
	sbuf_reset(tmp);
	sbuf_add(tmp, path, AUDIT_PATH_HEAD);
	sbuf_printf(tmp, "[...%zu bytes cut, path sha256 %.16s...]",
		    len - AUDIT_PATH_HEAD - AUDIT_PATH_TAIL, hex);
	sbuf_add(tmp, path + len - AUDIT_PATH_TAIL, AUDIT_PATH_TAIL);
	if (!sbuf_str(tmp))
		return NULL;
	*ret_len = tmp->len;
	return tmp->buf;
}

/* f with its path as a line shows it. */
static int shown_file(const struct audit_file *f, struct sbuf *tmp, struct audit_file *ret)
{
	*ret = *f;
	if (!f->path)
		return 0;
	ret->path = audit_path_shown(f->path, f->path_len ? f->path_len : strlen(f->path), tmp,
				     &ret->path_len);
	return ret->path ? 0 : -ENOMEM;
}

static void msg_str(struct sbuf *m, const char *s)
{
	if (s)
		json_add_string(m, s, strlen(s));
	else
		sbuf_adds(m, "?");
}

int audit_format_session_open(struct sbuf *b, const struct audit_session *s)
{
	struct ev e;
	int r;

	assert(b);
	assert(s);

	ev_begin(&e, b, false, "session-open", AUDIT_MID_SESSION_OPEN);
	fill_session_open(&e, s);
	r = ev_end(&e, 6, NULL);
	ev_done(&e);
	return r;
}

int audit_format_file(struct sbuf *b, const struct audit_file *file)
{
	struct sbuf tmp = {0};
	struct audit_file f;
	struct ev e;
	int r;

	assert(b);
	assert(file);

	r = shown_file(file, &tmp, &f);
	if (r < 0)
		return r;
	ev_begin(&e, b, false, "file", AUDIT_MID_FILE);
	fill_file(&e, &f);
	r = ev_end(&e, 6, NULL);
	ev_done(&e);
	sbuf_done(&tmp);
	return r;
}

int audit_format_session_close(struct sbuf *b, const struct audit_summary *s)
{
	struct ev e;
	int r;

	assert(b);
	assert(s);

	ev_begin(&e, b, false, "session-close", AUDIT_MID_SESSION_CLOSE);
	fill_session_close(&e, s);
	r = ev_end(&e, 6, NULL);
	ev_done(&e);
	return r;
}

#define JOURNAL_SOCKET "/run/systemd/journal/socket"

/* One write(2) of the whole line with O_APPEND: on a local file system the kernel
 * appends it whole, under the inode lock, whatever other writers do, so no lock of ours
 * is taken (and no other process holding one can delay a login). */
static int audit_write_line(struct audit *a)
{
	ssize_t n;

	if (a->fd < 0)
		return a->file_err;
	do
		n = write(a->fd, a->line.buf, a->line.len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return negative_errno();
	if ((size_t)n != a->line.len)
		return -EIO; /* a partial line: finishing it could interleave, so say so */
	return 0;
}

/* journald's native protocol on a socket of our own (not sd_journal_sendv: libsystemd
 * keeps that socket in a global, and a module that libpam dlopens and dlcloses per
 * handle would leak one fd per session). A field is "NAME=value\n", or, when the value
 * holds a newline, "NAME\n" + its length as 64-bit little endian + value + "\n". */
static void journal_send(struct audit *a, const struct ev *e)
{
	static const struct sockaddr_un sa = {
		.sun_family = AF_UNIX, .sun_path = JOURNAL_SOCKET,
	};
	struct sbuf b = {0};

	if (a->jfd == -2)
		return;
	for (size_t i = 0; i < e->n; i++) {
		const char *f = e->iov[i].iov_base, *eq = memchr(f, '=', e->iov[i].iov_len);
		size_t nl = (size_t)(eq - f), vl = e->iov[i].iov_len - nl - 1;

		if (!memchr(eq + 1, '\n', vl)) {
			sbuf_add(&b, f, e->iov[i].iov_len);
		} else {
			uint64_t le = htole64(vl);
			sbuf_add(&b, f, nl);
			sbuf_addc(&b, '\n');
			sbuf_add(&b, &le, sizeof(le));
			sbuf_add(&b, eq + 1, vl);
		}
		sbuf_addc(&b, '\n');
	}
	if (!sbuf_str(&b))
		goto out;
	if (a->jfd < 0)
		a->jfd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (a->jfd < 0 ||
	    (sendto(a->jfd, b.buf, b.len, MSG_NOSIGNAL, (const struct sockaddr *)&sa, sizeof(sa)) < 0 &&
	     (errno == ENOENT || errno == ECONNREFUSED))) {
		/* No journald here: not an error, and not worth another try. */
		a->jfd = safe_close(a->jfd);
		a->jfd = -2;
	}
out:
	sbuf_done(&b);
}

static int audit_emit(struct audit *a, struct ev *e, int r)
{
	if (a->journal && e->n)
		journal_send(a, e);
	ev_done(e);
	if (r < 0)
		return r;
	return audit_write_line(a);
}

/* The journald MESSAGE of each event: a line for people (names escaped as in JSON). */
static void msg_session_open(struct sbuf *m, const struct audit_session *s)
{
	sbuf_adds(m, "session ");
	msg_str(m, s->session);
	sbuf_adds(m, " opened for ");
	msg_str(m, user_field(s->user));
	sbuf_printf(m, " (uid %u), ", (unsigned)s->uid);
	if (s->unit) {
		sbuf_adds(m, "unit ");
		msg_str(m, s->unit);
	} else {
		sbuf_adds(m, "service ");
		msg_str(m, s->service);
	}
	if (s->reason) {
		sbuf_adds(m, ", ");
		msg_str(m, s->reason);
	}
}

static void msg_file(struct sbuf *m, const struct audit_file *f)
{
	sbuf_adds(m, "session ");
	msg_str(m, f->session);
	sbuf_adds(m, ": ");
	if (f->path)
		json_add_string(m, f->path, f->path_len ? f->path_len : strlen(f->path));
	sbuf_adds(m, ": ");
	sbuf_adds(m, file_result_name(f->result));
	sbuf_printf(m, " (%" PRIu64 " bytes, %" PRIu64 " charged, class %s, action %s, rule ",
		    f->size, f->charged_bytes, f->class ? f->class : "?",
		    f->action ? f->action : "?");
	msg_str(m, f->rule);
	if (f->error) {
		sbuf_adds(m, ", error ");
		msg_str(m, f->error);
	}
	if (f->detail) {
		sbuf_adds(m, ", ");
		msg_str(m, f->detail);
	}
	sbuf_addc(m, ')');
}

static void msg_session_close(struct sbuf *m, const struct audit_summary *s)
{
	sbuf_adds(m, "session ");
	msg_str(m, s->session);
	sbuf_adds(m, " of ");
	msg_str(m, user_field(s->user));
	sbuf_printf(m,
		    " closed: %" PRIu64 " files (%" PRIu64 " bytes, %" PRIu64 " charged), removed %"
		    PRIu64 " (%" PRIu64 " bytes), kept %" PRIu64 ", deferred %" PRIu64
		    ", errors %" PRIu64 "%s",
		    s->files, s->bytes, s->charged_bytes, s->removed, s->removed_bytes, s->kept,
		    s->deferred, s->errors, s->incomplete ? ", incomplete" : "");
	if (s->unlisted)
		sbuf_printf(m, ", %" PRIu64 " files unlisted", s->unlisted);
	if (s->reason) {
		sbuf_adds(m, ", ");
		msg_str(m, s->reason);
	}
}

int audit_session_open(struct audit *a, const struct audit_session *s)
{
	struct sbuf msg = {0};
	struct ev e;
	int r;

	assert(a);
	assert(s);

	ev_begin(&e, &a->line, a->journal, "session-open", AUDIT_MID_SESSION_OPEN);
	fill_session_open(&e, s);
	if (a->journal)
		msg_session_open(&msg, s);
	r = ev_end(&e, LOG_INFO, &msg);
	sbuf_done(&msg);
	return audit_emit(a, &e, r);
}

int audit_file(struct audit *a, const struct audit_file *file)
{
	struct sbuf msg = {0}, tmp = {0};
	struct audit_file shown, *f = &shown;
	struct ev e;
	int prio = LOG_INFO, r;

	assert(a);
	assert(file);

	r = shown_file(file, &tmp, &shown);
	if (r < 0)
		return r;
	if (f->result == RESULT_ERROR || f->result == RESULT_SKIPPED_CHANGED)
		prio = LOG_WARNING;
	else if (f->result == RESULT_REMOVED)
		prio = LOG_NOTICE;
	ev_begin(&e, &a->line, a->journal, "file", AUDIT_MID_FILE);
	fill_file(&e, f);
	if (a->journal)
		msg_file(&msg, f);
	r = ev_end(&e, prio, &msg);
	sbuf_done(&msg);
	sbuf_done(&tmp);
	return audit_emit(a, &e, r);
}

int audit_session_close(struct audit *a, const struct audit_summary *s)
{
	struct sbuf msg = {0};
	struct ev e;
	int r;

	assert(a);
	assert(s);

	ev_begin(&e, &a->line, a->journal, "session-close", AUDIT_MID_SESSION_CLOSE);
	fill_session_close(&e, s);
	if (a->journal)
		msg_session_close(&msg, s);
	r = ev_end(&e, s->errors || s->incomplete ? LOG_WARNING : LOG_INFO, &msg);
	sbuf_done(&msg);
	return audit_emit(a, &e, r);
}

/* Directory part: created if missing (last component only), never a symlink, ours and
 * not writable by anyone else (else someone could swap the file under us). */
static int audit_open_dir(const char *dir, uid_t euid)
{
	_cleanup_close_ int dfd = -1;
	struct stat st;

	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0 && errno == ENOENT) {
		if (mkdir(dir, 0700) < 0 && errno != EEXIST)
			return negative_errno();
		dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	}
	if (dfd < 0)
		return errno == ENOTDIR ? -ELOOP : negative_errno();
	if (fstat(dfd, &st) < 0)
		return negative_errno();
	if (st.st_uid != euid || (st.st_mode & 022))
		return -EPERM;
	return TAKE_FD(dfd);
}

static int audit_open_file(const char *path)
{
	_cleanup_free_ char *dir = NULL;
	_cleanup_close_ int dfd = -1, fd = -1;
	const char *slash, *base;
	uid_t euid = geteuid();
	struct stat st;

	if (!path || path[0] != '/')
		return -EINVAL;
	slash = strrchr(path, '/');
	base = slash + 1;
	if (!*base || streq(base, ".") || streq(base, ".."))
		return -EINVAL;
	dir = slash == path ? strdup("/") : strndup(path, (size_t)(slash - path));
	if (!dir)
		return -ENOMEM;
	dfd = audit_open_dir(dir, euid);
	if (dfd < 0)
		return dfd;
	/* O_NONBLOCK: a FIFO planted here fails (ENXIO) instead of blocking the open. */
	fd = openat(dfd, base,
		    O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
		    0600);
	if (fd < 0)
		return negative_errno();
	if (fstat(fd, &st) < 0)
		return negative_errno();
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	if (st.st_uid != euid || st.st_nlink != 1)
		return -EPERM;
	return TAKE_FD(fd);
}

int audit_open(const char *path, bool journal, struct audit **ret)
{
	struct audit *a;
	int fd = -1;

	assert(ret);

	a = calloc(1, sizeof(*a));
	if (!a) {
		*ret = NULL;
		return -ENOMEM;
	}
	/* No journald socket here: nothing is formatted or sent for it (a connectionless
	 * send would fail anyway); one lookup instead of a socket per sink. */
	a->journal = journal && access(JOURNAL_SOCKET, F_OK) == 0;
	a->jfd = -1;
	if (path) {
		fd = audit_open_file(path);
		if (fd < 0)
			a->file_err = fd;
	}
	a->fd = fd;
	*ret = a;
	return a->file_err;
}

void audit_close(struct audit *a)
{
	if (!a)
		return;
	safe_close(a->fd);
	if (a->jfd >= 0)
		close(a->jfd);
	sbuf_done(&a->line);
	free(a);
}

/* ---- Reading the log back: which file lines of a session it has (intents.h's resume) */

static int cmp_h(const void *a, const void *b)
{
	return memcmp(a, b, 16);
}

static void digest(const char *s, size_t n, uint8_t out[16])
{
	struct sha256_ctx c;
	uint8_t full[SHA256_DIGEST_SIZE];

	sha256_init(&c);
	sha256_update(&c, s, n);
	sha256_final(&c, full);
	memcpy(out, full, 16);
}

/* The JSON string that starts at p (at its opening quote), its length with the quotes;
 * 0 when it does not end. */
static size_t json_string_len(const char *p)
{
	const char *q = p + 1;

	while (*q && *q != '"')
		q += (*q == '\\' && q[1]) ? 2 : 1;
	return *q == '"' ? (size_t)(q - p + 1) : 0;
}

/* A file whose result keeps the record (deferred) is decided again later: its line does
 * not settle it. (The quotes cannot come from a path: those are escaped.) */
static bool decided_again(const char *line)
{
	char needle[64];

	for (enum file_result r = 0; r < _RESULT_MAX; r++) {
		if (!file_result_keeps_record(r))
			continue;
		snprintf(needle, sizeof(needle), "\"result\":\"%s\"", file_result_name(r));
		if (strstr(line, needle))
			return true;
	}
	return false;
}

int audit_log_seen(const char *audit_path, const char *id, struct audit_seen *ret)
{
	_cleanup_fclose_ FILE *f = NULL;
	_cleanup_free_ char *line = NULL, *prefix = NULL;
	struct audit_seen s = {0};
	size_t cap = 0, len = 0;
	int fd;

	assert(id);
	assert(ret);

	*ret = (struct audit_seen){0};
	if (!audit_path)
		return -ENOENT;
	fd = open_read_at(AT_FDCWD, audit_path);
	if (fd < 0)
		return fd;
	f = fdopen(fd, "re");
	if (!f) {
		close(fd);
		return negative_errno();
	}
	/* audit_format_file writes these keys first and in this order. */
	if (asprintf(&prefix, "{\"event\":\"file\",\"session\":\"%s\",\"path\":", id) < 0)
		return -ENOMEM;
	while (getline(&line, &len, f) > 0) {
		const char *path;
		size_t n;

		path = startswith(line, prefix);
		if (!path || decided_again(line))
			continue;
		n = json_string_len(path);
		if (!n)
			continue;
		if (s.n == cap) {
			size_t nc = cap ? cap * 2 : 64;
			void *p = reallocarray(s.h, nc, sizeof(*s.h));

			if (!p) {
				audit_seen_done(&s);
				return -ENOMEM;
			}
			s.h = p;
			cap = nc;
		}
		digest(path, n, s.h[s.n++]);
	}
	if (ferror(f)) {
		audit_seen_done(&s);
		return -EIO;
	}
	if (s.n)
		qsort(s.h, s.n, sizeof(*s.h), cmp_h);
	*ret = s;
	return 0;
}

bool audit_seen_has(const struct audit_seen *s, const char *path, size_t len)
{
	struct sbuf tmp = {0}, esc = {0};
	const char *shown;
	uint8_t h[16];
	bool found = false;
	size_t n;

	assert(s);
	assert(path);

	if (!s->n)
		return false;
	shown = audit_path_shown(path, len, &tmp, &n);
	if (shown)
		json_add_string(&esc, shown, n);
	if (shown && sbuf_str(&esc)) {
		digest(esc.buf, esc.len, h);
		found = bsearch(h, s->h, s->n, sizeof(*s->h), cmp_h) != NULL;
	} else
		found = true; /* cannot tell: taken as written, so the file is left alone */
	sbuf_done(&tmp);
	sbuf_done(&esc);
	return found;
}

void audit_seen_done(struct audit_seen *s)
{
	assert(s);

	free(s->h);
	*s = (struct audit_seen){0};
}
