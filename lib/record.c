/* SPDX-License-Identifier: GPL-2.0-or-later */
/* record.c: the session record file: format, strict parse, atomic write, lookup, lock. */
#include "record.h"
#include "fileio.h"
#include "json.h"
#include "users.h"
#include "util.h"

#include <assert.h>
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>

#define SESSIONS_DIR "sessions"

void record_done(struct session_record *r)
{
	if (!r)
		return;
	free(r->id);
	free(r->user);
	free(r->service);
	free(r->rhost);
	free(r->tty);
	free(r->unit);
	free(r->cgroup);
	free(r->cgroup_orig);
	for (size_t i = 0; i < r->n_mounts; i++)
		free(r->mounts[i].path);
	free(r->mounts);
	free(r->pending);
	memset(r, 0, sizeof(*r));
}

static int cmp_pending(const void *a, const void *b)
{
	const struct record_pending *x = a, *y = b;

	if (x->dev != y->dev)
		return x->dev < y->dev ? -1 : 1;
	return x->ino < y->ino ? -1 : x->ino > y->ino;
}

int record_set_pending(struct session_record *r, const struct record_pending *v, size_t n)
{
	struct record_pending *p = NULL;

	assert(r);

	free(r->pending);
	r->pending = NULL;
	r->n_pending = 0;
	if (n == 0)
		return 0;
	if (n > RECORD_MAX_PENDING)
		return -E2BIG;
	p = malloc(n * sizeof(*p));
	if (!p)
		return -ENOMEM;
	memcpy(p, v, n * sizeof(*p));
	qsort(p, n, sizeof(*p), cmp_pending);
	r->pending = p;
	r->n_pending = n;
	return 0;
}

const struct record_pending *record_find_pending(const struct session_record *r, dev_t dev,
						 ino_t ino)
{
	struct record_pending key = {.dev = dev, .ino = ino};

	assert(r);

	if (!r->n_pending)
		return NULL;
	return bsearch(&key, r->pending, r->n_pending, sizeof(key), cmp_pending);
}

int record_add_mount(struct session_record *r, int mnt_id, dev_t dev, const char *path)
{
	struct record_mount *m;
	char *p;

	assert(r);

	if (!path || path[0] != '/')
		return -EINVAL;
	if (r->n_mounts >= RECORD_MAX_MOUNTS)
		return -E2BIG;
	p = strdup(path);
	if (!p)
		return -ENOMEM;
	m = realloc(r->mounts, (r->n_mounts + 1) * sizeof(*m));
	if (!m) {
		free(p);
		return -ENOMEM;
	}
	r->mounts = m;
	m[r->n_mounts++] = (struct record_mount){.mnt_id = mnt_id, .dev = dev, .path = p};
	return 0;
}

int record_make_id(pid_t pid, uint64_t start_ns, char *buf, size_t size)
{
	int n;

	assert(buf);

	if (pid <= 0)
		return -EINVAL;
	n = snprintf(buf, size, "%d-%" PRIu64, (int)pid, start_ns);
	if (n < 0 || (size_t)n >= size)
		return -ENAMETOOLONG;
	return 0;
}

bool record_id_valid(const char *id)
{
	const char *p = id;
	size_t a = 0, b = 0;

	if (!id || strlen(id) >= RECORD_ID_MAX)
		return false;
	while (*p >= '0' && *p <= '9')
		p++, a++;
	if (*p++ != '-')
		return false;
	while (*p >= '0' && *p <= '9')
		p++, b++;
	return *p == '\0' && a > 0 && b > 0 && id[0] != '0';
}

const char *record_state_to_string(enum record_state s)
{
	switch (s) {
	case RECORD_OPEN:
		return "open";
	case RECORD_CLOSING:
		return "closing";
	case RECORD_DEFERRED:
		return "deferred";
	case RECORD_QUEUED:
		return "queued";
	}
	return "open";
}

static int record_state_from_string(const char *s, enum record_state *ret)
{
	if (streq(s, "open"))
		*ret = RECORD_OPEN;
	else if (streq(s, "closing"))
		*ret = RECORD_CLOSING;
	else if (streq(s, "deferred"))
		*ret = RECORD_DEFERRED;
	else if (streq(s, "queued"))
		*ret = RECORD_QUEUED;
	else
		return -EINVAL;
	return 0;
}

/* Everything outside 0x21..0x7e, and the backslash, becomes \xHH: a value is one
 * token with no space, no newline, no '=' ambiguity (the key ends at the first '='). */
void record_add_escaped(struct sbuf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";

	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p > 0x20 && *p < 0x7f && *p != '\\') {
			sbuf_addc(b, (char)*p);
		} else {
			char e[4] = {'\\', 'x', hex[*p >> 4], hex[*p & 15]};
			sbuf_add(b, e, 4);
		}
	}
}

int record_unescape(const char *s, char **ret)
{
	size_t n = strlen(s);
	char *out = malloc(n + 1), *o = out;

	if (!out)
		return -ENOMEM;
	for (const char *p = s; *p; p++) {
		if (*p != '\\') {
			*o++ = *p;
			continue;
		}
		if (p[1] != 'x' || !isxdigit((unsigned char)p[2]) ||
		    !isxdigit((unsigned char)p[3])) {
			free(out);
			return -EBADMSG;
		}
		char h[3] = {p[2], p[3], 0};
		unsigned long v = strtoul(h, NULL, 16);
		if (v == 0) {
			free(out);
			return -EBADMSG;
		}
		*o++ = (char)v;
		p += 3;
	}
	*o = '\0';
	*ret = out;
	return 0;
}

static void kv_str(struct sbuf *b, const char *key, const char *val)
{
	if (!val)
		return;
	sbuf_adds(b, key);
	sbuf_addc(b, '=');
	record_add_escaped(b, val);
	sbuf_addc(b, '\n');
}

static const char *cg_mode_name(enum cg_mode m)
{
	return m == CG_V1 ? "v1" : m == CG_V2 ? "v2" : "none";
}

/* "key=" and v in decimal, then a newline: the numbers of a record, without printf. */
static void kv_u64(struct sbuf *b, const char *key_eq, uint64_t v)
{
	sbuf_adds(b, key_eq);
	sbuf_add_u64(b, v);
	sbuf_addc(b, '\n');
}

int record_format(const struct session_record *r, char **ret, size_t *ret_len)
{
	struct sbuf b = {0};

	assert(r);
	assert(ret);
	assert(ret_len);

	if (!r->id || !record_id_valid(r->id) || !user_name_valid(r->user))
		return -EINVAL;
	sbuf_adds(&b, "version=1\n");
	kv_str(&b, "id", r->id);
	kv_u64(&b, "uid=", r->uid);
	kv_str(&b, "user", r->user);
	kv_str(&b, "service", r->service);
	kv_str(&b, "rhost", r->rhost);
	kv_str(&b, "tty", r->tty);
	kv_str(&b, "unit", r->unit);
	kv_u64(&b, "start_ns=", r->start_ns);
	if (r->boot_id[0])
		kv_str(&b, "boot_id", r->boot_id);
	sbuf_adds(&b, "cgroup_mode=");
	sbuf_adds(&b, cg_mode_name(r->cg_mode));
	sbuf_addc(&b, '\n');
	kv_str(&b, "cgroup", r->cgroup);
	kv_u64(&b, "cgroup_ino=", r->cgroup_ino);
	kv_u64(&b, "cgroup_session=", r->cgroup_session ? 1 : 0);
	kv_u64(&b, "cgroup_created=", r->cgroup_created ? 1 : 0);
	kv_str(&b, "cgroup_orig", r->cgroup_orig);
	sbuf_printf(&b, "pid=%d\n", (int)r->pid);
	kv_u64(&b, "pid_start=", r->pid_start);
	for (size_t i = 0; i < r->n_mounts; i++) {
		const struct record_mount *m = &r->mounts[i];
		sbuf_printf(&b, "mount=%d %u:%u ", m->mnt_id, major(m->dev), minor(m->dev));
		record_add_escaped(&b, m->path);
		sbuf_addc(&b, '\n');
	}
	sbuf_adds(&b, "state=");
	sbuf_adds(&b, record_state_to_string(r->state));
	sbuf_addc(&b, '\n');
	if (r->end_ns)
		kv_u64(&b, "end_ns=", r->end_ns);
	for (size_t i = 0; i < r->n_pending; i++) {
		const struct record_pending *q = &r->pending[i];
		sbuf_printf(&b, "pending=%c %u:%u ", q->why, major(q->dev), minor(q->dev));
		sbuf_add_u64(&b, q->ino);
		sbuf_addc(&b, '\n');
	}
	if (!sbuf_str(&b)) {
		sbuf_done(&b);
		return -ENOMEM;
	}
	if (b.len > RECORD_MAX_SIZE) {
		sbuf_done(&b);
		return -E2BIG;
	}
	*ret_len = b.len;
	*ret = b.buf;
	return 0;
}

static int parse_u64_max(const char *s, uint64_t max, uint64_t *ret)
{
	uint64_t v;
	int r = parse_u64(s, &v);

	if (r < 0)
		return r;
	if (v > max)
		return -ERANGE;
	*ret = v;
	return 0;
}

static int parse_mount(struct session_record *rec, const char *val)
{
	_cleanup_free_ char *path = NULL;
	uint64_t id, ma, mi;
	char buf[64];
	const char *sp1, *sp2, *colon;
	size_t n;
	int r;

	sp1 = strchr(val, ' ');
	if (!sp1 || (size_t)(sp1 - val) >= sizeof(buf))
		return -EBADMSG;
	memcpy(buf, val, (size_t)(sp1 - val));
	buf[sp1 - val] = 0;
	if (parse_u64_max(buf, INT32_MAX, &id) < 0)
		return -EBADMSG;
	sp2 = strchr(sp1 + 1, ' ');
	colon = strchr(sp1 + 1, ':');
	if (!sp2 || !colon || colon > sp2)
		return -EBADMSG;
	n = (size_t)(colon - sp1 - 1);
	if (n >= sizeof(buf))
		return -EBADMSG;
	memcpy(buf, sp1 + 1, n);
	buf[n] = 0;
	if (parse_u64_max(buf, UINT32_MAX, &ma) < 0)
		return -EBADMSG;
	n = (size_t)(sp2 - colon - 1);
	if (n >= sizeof(buf))
		return -EBADMSG;
	memcpy(buf, colon + 1, n);
	buf[n] = 0;
	if (parse_u64_max(buf, UINT32_MAX, &mi) < 0)
		return -EBADMSG;
	r = record_unescape(sp2 + 1, &path);
	if (r < 0)
		return r;
	r = record_add_mount(rec, (int)id, makedev((unsigned)ma, (unsigned)mi), path);
	return r == -ENOMEM ? r : r < 0 ? -EBADMSG : 0;
}

enum {
	K_VERSION, K_ID, K_UID, K_USER, K_SERVICE, K_RHOST, K_TTY, K_UNIT, K_START, K_BOOT,
	K_CGMODE, K_CG, K_CGINO, K_CGSESSION, K_CGCREATED, K_CGORIG, K_PID, K_PIDSTART, K_MOUNT,
	K_STATE, K_END, K_PENDING, K_COUNT
};

static const char *const keys[K_COUNT] = {
	[K_VERSION] = "version", [K_ID] = "id", [K_UID] = "uid", [K_USER] = "user",
	[K_SERVICE] = "service", [K_RHOST] = "rhost", [K_TTY] = "tty", [K_UNIT] = "unit",
	[K_START] = "start_ns",
	[K_BOOT] = "boot_id", [K_CGMODE] = "cgroup_mode", [K_CG] = "cgroup",
	[K_CGINO] = "cgroup_ino", [K_CGSESSION] = "cgroup_session",
	[K_CGCREATED] = "cgroup_created",
	[K_CGORIG] = "cgroup_orig", [K_PID] = "pid", [K_PIDSTART] = "pid_start",
	[K_MOUNT] = "mount", [K_STATE] = "state", [K_END] = "end_ns", [K_PENDING] = "pending",
};

/* "u MAJ:MIN INO": one pending file. Appended unsorted; record_parse sorts them. */
static int parse_pending(struct session_record *rec, const char *val)
{
	uint64_t ma, mi, ino;
	char buf[64], *sp, *colon;
	struct record_pending *p;

	if (strlen(val) >= sizeof(buf) || rec->n_pending >= RECORD_MAX_PENDING)
		return -EBADMSG;
	strcpy(buf, val);
	if ((buf[0] != RECORD_PENDING_INUSE && buf[0] != RECORD_PENDING_DEFERRED) || buf[1] != ' ')
		return -EBADMSG;
	sp = strchr(buf + 2, ' ');
	colon = strchr(buf + 2, ':');
	if (!sp || !colon || colon > sp)
		return -EBADMSG;
	*sp = *colon = '\0';
	if (parse_u64_max(buf + 2, UINT32_MAX, &ma) < 0 ||
	    parse_u64_max(colon + 1, UINT32_MAX, &mi) < 0 || parse_u64(sp + 1, &ino) < 0)
		return -EBADMSG;
	p = reallocarray(rec->pending, rec->n_pending + 1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	rec->pending = p;
	p[rec->n_pending++] = (struct record_pending){
		.dev = makedev((unsigned)ma, (unsigned)mi), .ino = (ino_t)ino, .why = buf[0]};
	return 0;
}

static int parse_line(struct session_record *rec, int k, const char *val)
{
	uint64_t v;
	char **strp = NULL;

	switch (k) {
	case K_VERSION:
		return streq(val, "1") ? 0 : -EPROTONOSUPPORT;
	case K_ID:
		strp = &rec->id;
		break;
	case K_USER:
		strp = &rec->user;
		break;
	case K_SERVICE:
		strp = &rec->service;
		break;
	case K_RHOST:
		strp = &rec->rhost;
		break;
	case K_TTY:
		strp = &rec->tty;
		break;
	case K_UNIT:
		strp = &rec->unit;
		break;
	case K_CG:
		strp = &rec->cgroup;
		break;
	case K_CGORIG:
		strp = &rec->cgroup_orig;
		break;
	case K_UID:
		if (parse_u64_max(val, UINT32_MAX - 1, &v) < 0)
			return -EBADMSG;
		rec->uid = (uid_t)v;
		return 0;
	case K_START:
		return parse_u64(val, &rec->start_ns) < 0 ? -EBADMSG : 0;
	case K_END:
		return parse_u64(val, &rec->end_ns) < 0 || rec->end_ns == 0 ? -EBADMSG : 0;
	case K_CGINO:
		return parse_u64(val, &rec->cgroup_ino) < 0 ? -EBADMSG : 0;
	case K_PIDSTART:
		return parse_u64(val, &rec->pid_start) < 0 ? -EBADMSG : 0;
	case K_PID:
		if (parse_u64_max(val, INT32_MAX, &v) < 0 || v == 0)
			return -EBADMSG;
		rec->pid = (pid_t)v;
		return 0;
	case K_BOOT:
		if (strlen(val) != RECORD_BOOT_ID_LEN)
			return -EBADMSG;
		for (const char *p = val; *p; p++)
			if (!isxdigit((unsigned char)*p) && *p != '-')
				return -EBADMSG;
		memcpy(rec->boot_id, val, RECORD_BOOT_ID_LEN + 1);
		return 0;
	case K_CGMODE:
		if (streq(val, "v1"))
			rec->cg_mode = CG_V1;
		else if (streq(val, "v2"))
			rec->cg_mode = CG_V2;
		else if (streq(val, "none"))
			rec->cg_mode = CG_NONE;
		else
			return -EBADMSG;
		return 0;
	case K_CGSESSION:
	case K_CGCREATED:
		if (!streq(val, "0") && !streq(val, "1"))
			return -EBADMSG;
		*(k == K_CGSESSION ? &rec->cgroup_session : &rec->cgroup_created) = val[0] == '1';
		return 0;
	case K_MOUNT:
		return parse_mount(rec, val);
	case K_PENDING:
		return parse_pending(rec, val);
	case K_STATE:
		return record_state_from_string(val, &rec->state) < 0 ? -EBADMSG : 0;
	}
	if (strp) {
		int r = record_unescape(val, strp);
		return r;
	}
	return -EBADMSG;
}

int record_parse(const char *buf, size_t len, struct session_record *ret)
{
	struct session_record rec = {0};
	bool seen[K_COUNT] = {false};
	_cleanup_free_ char *copy = NULL;
	char *p, *end;
	int r = 0;

	assert(buf);
	assert(ret);

	if (len > RECORD_MAX_SIZE)
		return -E2BIG;
	if (len == 0 || buf[len - 1] != '\n' || memchr(buf, '\0', len))
		return -EBADMSG;
	copy = malloc(len + 1);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, buf, len);
	copy[len] = '\0';
	for (p = copy, end = copy + len; p < end;) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		char *eq;
		int k;

		*nl = '\0';
		eq = strchr(p, '=');
		if (!eq) {
			r = -EBADMSG;
			goto fail;
		}
		*eq = '\0';
		for (k = 0; k < K_COUNT; k++)
			if (streq(keys[k], p))
				break;
		if (k == K_COUNT || (seen[k] && k != K_MOUNT && k != K_PENDING)) {
			r = -EBADMSG;
			goto fail;
		}
		seen[k] = true;
		r = parse_line(&rec, k, eq + 1);
		if (r < 0)
			goto fail;
		p = nl + 1;
	}
	if (!seen[K_VERSION] || !seen[K_ID] || !seen[K_UID] || !seen[K_USER] || !seen[K_START] ||
	    !seen[K_PID] || !seen[K_PIDSTART] || !seen[K_STATE] || !record_id_valid(rec.id) ||
	    !user_name_valid(rec.user) || (rec.cgroup_created && !rec.cgroup)) {
		r = -EBADMSG;
		goto fail;
	}
	if (rec.n_pending)
		qsort(rec.pending, rec.n_pending, sizeof(*rec.pending), cmp_pending);
	*ret = rec;
	return 0;
fail:
	record_done(&rec);
	return r;
}

static int check_dir_fd(int fd, uid_t euid)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return negative_errno();
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	if (st.st_uid != euid || (st.st_mode & (S_IWGRP | S_IWOTH)))
		return -EPERM;
	return 0;
}

static int open_checked_dir(int dirfd, const char *path, bool create, uid_t euid)
{
	_cleanup_close_ int fd = -1;
	int r;

	fd = openat(dirfd, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT && create) {
		if (mkdirat(dirfd, path, 0700) < 0 && errno != EEXIST)
			return negative_errno();
		fd = openat(dirfd, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	}
	if (fd < 0) {
		struct stat st;

		r = negative_errno();
		if (r == -ENOTDIR && fstatat(dirfd, path, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISLNK(st.st_mode))
			return -ELOOP;
		return r;
	}
	r = check_dir_fd(fd, euid);
	if (r < 0)
		return r;
	return TAKE_FD(fd);
}

int record_open_dir(const char *statedir, bool create)
{
	_cleanup_close_ int sfd = -1;
	uid_t euid = geteuid();

	if (!statedir || statedir[0] != '/')
		return -EINVAL;
	sfd = open_checked_dir(AT_FDCWD, statedir, create, euid);
	if (sfd < 0)
		return sfd;
	return open_checked_dir(sfd, SESSIONS_DIR, create, euid);
}

int record_write(const char *statedir, const struct session_record *rec)
{
	_cleanup_close_ int dfd = -1, fd = -1;
	_cleanup_free_ char *buf = NULL;
	char tmp[RECORD_ID_MAX + 32];
	size_t len;
	int r;

	assert(rec);

	r = record_format(rec, &buf, &len);
	if (r < 0)
		return r;
	dfd = record_open_dir(statedir, true);
	if (dfd < 0)
		return dfd;
	/* A new record is written unnamed (O_TMPFILE) and linked in whole under its id. A
	 * record being rewritten (EEXIST), or where that cannot be done (no O_TMPFILE on
	 * this file system, no CAP_DAC_READ_SEARCH for AT_EMPTY_PATH), goes by a temp name
	 * and rename. */
	fd = openat(dfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
	if (fd >= 0) {
		r = write_all(fd, buf, len);
		if (r < 0)
			return r;
		if (linkat(fd, "", dfd, rec->id, AT_EMPTY_PATH) == 0)
			return 0;
		fd = safe_close(fd);
	}
	/* A leftover temp name from a crashed writer is simply replaced: O_EXCL fails,
	 * we unlink and retry once (names are private to the session id). */
	snprintf(tmp, sizeof(tmp), ".%s.tmp", rec->id);
	for (int attempt = 0; attempt < 2; attempt++) {
		fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd >= 0 || errno != EEXIST)
			break;
		(void)unlinkat(dfd, tmp, 0);
	}
	if (fd < 0)
		return negative_errno();
	/* No fsync: a record is about files on tmpfs mounts, which a crash that loses the
	 * page cache takes with it. The rename keeps readers from seeing half a record;
	 * one cut short by such a crash is unreadable, and gc drops it after the reboot. */
	r = write_all(fd, buf, len);
	if (r >= 0 && renameat(dfd, tmp, dfd, rec->id) < 0)
		r = negative_errno();
	if (r < 0) {
		(void)unlinkat(dfd, tmp, 0);
		return r;
	}
	return 0;
}

static int read_at(int dfd, const char *id, struct session_record *ret)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *buf = NULL;
	struct stat st;
	ssize_t n;
	size_t len = 0;

	fd = open_read_at(dfd, id);
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0)
		return negative_errno();
	if (!S_ISREG(st.st_mode))
		return -EBADMSG;
	if (st.st_uid != geteuid() || (st.st_mode & 0077))
		return -EPERM;
	if (st.st_size > RECORD_MAX_SIZE)
		return -E2BIG;
	buf = malloc(RECORD_MAX_SIZE + 1);
	if (!buf)
		return -ENOMEM;
	while ((n = read_retry(fd, buf + len, RECORD_MAX_SIZE + 1 - len)) != 0) {
		if (n < 0)
			return (int)n;
		len += (size_t)n;
		if (len > RECORD_MAX_SIZE)
			return -E2BIG;
	}
	return record_parse(buf, len, ret);
}

int record_read(const char *statedir, const char *id, struct session_record *ret)
{
	_cleanup_close_ int dfd = -1;
	struct session_record rec = {0};
	int r;

	assert(ret);

	if (!record_id_valid(id))
		return -EINVAL;
	dfd = record_open_dir(statedir, false);
	if (dfd < 0)
		return dfd;
	r = read_at(dfd, id, &rec);
	if (r < 0)
		return r;
	if (!streq(rec.id, id)) {
		record_done(&rec);
		return -EBADMSG;
	}
	*ret = rec;
	return 0;
}

int record_remove(const char *statedir, const char *id)
{
	_cleanup_close_ int dfd = -1;

	if (!record_id_valid(id))
		return -EINVAL;
	dfd = record_open_dir(statedir, false);
	if (dfd < 0)
		return dfd;
	if (unlinkat(dfd, id, 0) < 0)
		return negative_errno();
	return 0;
}

int record_before_boot(const char *statedir, const char *id)
{
	_cleanup_close_ int dfd = -1;
	struct stat st;
	uint64_t boot_ns;

	if (!record_id_valid(id))
		return -EINVAL;
	dfd = record_open_dir(statedir, false);
	if (dfd < 0)
		return dfd;
	if (fstatat(dfd, id, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return negative_errno();
	if (!S_ISREG(st.st_mode))
		return -EBADMSG;
	boot_ns = now_ns(CLOCK_REALTIME) - now_ns(CLOCK_BOOTTIME);
	/* A minute of slack for clock steps since boot: a record of this boot is never
	 * taken for an older one, which is the mistake that would matter. */
	return (uint64_t)st.st_mtim.tv_sec * NSEC_PER_SEC + (uint64_t)st.st_mtim.tv_nsec +
		       60 * NSEC_PER_SEC <
	       boot_ns;
}

void record_ids_free(char **ids)
{
	if (!ids)
		return;
	for (char **p = ids; *p; p++)
		free(*p);
	free(ids);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Ids in the sessions dir; with prefix, only those that start with it. */
static int list_ids(int dfd, const char *prefix, char ***ret, size_t *ret_n)
{
	_cleanup_closedir_ DIR *d = NULL;
	char **v = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	int fd;

	fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return negative_errno();
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return negative_errno();
	}
	while ((errno = 0, de = readdir(d))) {
		if (!record_id_valid(de->d_name))
			continue;
		if (prefix && !startswith(de->d_name, prefix))
			continue;
		if (n + 2 > cap) {
			size_t nc = cap ? cap * 2 : 16;
			char **nv = realloc(v, nc * sizeof(*v));
			if (!nv)
				goto oom;
			v = nv;
			cap = nc;
		}
		v[n] = strdup(de->d_name);
		if (!v[n])
			goto oom;
		v[++n] = NULL;
	}
	if (!v) {
		v = calloc(1, sizeof(*v));
		if (!v)
			return -ENOMEM;
	}
	qsort(v, n, sizeof(*v), cmp_str);
	*ret = v;
	if (ret_n)
		*ret_n = n;
	return 0;
oom:
	if (v)
		v[n] = NULL;
	record_ids_free(v);
	return -ENOMEM;
}

int record_list(const char *statedir, char ***ret, size_t *ret_n)
{
	_cleanup_close_ int dfd = record_open_dir(statedir, false);

	assert(ret);

	if (dfd < 0)
		return dfd;
	return list_ids(dfd, NULL, ret, ret_n);
}

int record_list_at(int dfd, char ***ret, size_t *ret_n)
{
	return list_ids(dfd, NULL, ret, ret_n);
}

int record_find_by_pid(const char *statedir, pid_t pid, uint64_t pid_start, char **ret_id)
{
	_cleanup_close_ int dfd = -1;
	char **ids = NULL;
	size_t n_ids = 0;
	char prefix[32];
	int r = -ENOENT;

	if (pid <= 0)
		return -EINVAL;
	dfd = record_open_dir(statedir, false);
	if (dfd < 0)
		return dfd;
	snprintf(prefix, sizeof(prefix), "%d-", (int)pid);
	if (list_ids(dfd, prefix, &ids, &n_ids) < 0)
		return -ENOMEM;
	/* Newest first (ids sort by start time for one pid): a recycled pid's stale
	 * record must not win over ours when the caller does not know pid_start. */
	for (size_t i = n_ids; i-- > 0 && r == -ENOENT;) {
		struct session_record rec = {0};

		if (read_at(dfd, ids[i], &rec) < 0)
			continue;
		if (rec.pid == pid && (pid_start == 0 || rec.pid_start == pid_start)) {
			*ret_id = strdup(rec.id);
			r = *ret_id ? 0 : -ENOMEM;
		}
		record_done(&rec);
	}
	record_ids_free(ids);
	return r;
}

int record_open_subdir(const char *statedir, const char *name)
{
	_cleanup_close_ int sfd = -1;

	if (!statedir || statedir[0] != '/')
		return -EINVAL;
	sfd = open_checked_dir(AT_FDCWD, statedir, false, geteuid());
	if (sfd < 0)
		return sfd;
	return open_checked_dir(sfd, name, true, geteuid());
}

static int open_lock_dir(const char *statedir)
{
	return record_open_subdir(statedir, "locks");
}

int record_lock(const char *statedir, const char *id)
{
	_cleanup_close_ int dfd = open_lock_dir(statedir);
	int fd;

	if (dfd < 0)
		return dfd;
	if (!record_id_valid(id))
		return -EINVAL;
	fd = openat(dfd, id, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
	if (fd < 0)
		return negative_errno();
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int r = errno == EWOULDBLOCK ? -EBUSY : negative_errno();
		close(fd);
		return r;
	}
	return fd;
}

void record_unlock(const char *statedir, const char *id, int fd, bool unlink_it)
{
	if (unlink_it) {
		_cleanup_close_ int dfd = open_lock_dir(statedir);
		if (dfd >= 0)
			unlinkat(dfd, id, 0);
	}
	safe_close(fd);
}
