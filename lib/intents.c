/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "intents.h"
#include "fileio.h"
#include "json.h"
#include "record.h"
#include "util.h"

#include <assert.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sys/stat.h>

#define INTENTS_HEADER "tmpfs-sweep-journal 2"
#define FLUSH_AT (64 * 1024)

static int open_intents_dir(const char *statedir)
{
	return record_open_subdir(statedir, "journal");
}

static void add_hex(struct sbuf *b, const void *p, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = p;

	if (n == 0)
		sbuf_addc(b, '-');
	for (size_t i = 0; i < n; i++) {
		char two[2] = {hex[s[i] >> 4], hex[s[i] & 15]};

		sbuf_add(b, two, 2);
	}
}

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Decode hex (or "-": empty) into a malloc'd NUL-terminated buffer; NULL for bad input
 * (*err -EBADMSG) or no memory (*err -ENOMEM). */
static char *from_hex(const char *s, size_t *len, int *err)
{
	size_t n = strlen(s);
	char *out;

	*err = -EBADMSG;
	if (streq(s, "-")) {
		*len = 0;
		out = strdup("");
		if (!out)
			*err = -ENOMEM;
		return out;
	}
	if (n == 0 || n % 2)
		return NULL;
	out = malloc(n / 2 + 1);
	if (!out) {
		*err = -ENOMEM;
		return NULL;
	}
	for (size_t i = 0; i < n / 2; i++) {
		int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);

		if (hi < 0 || lo < 0) {
			free(out);
			return NULL;
		}
		out[i] = (char)(hi << 4 | lo);
	}
	out[n / 2] = '\0';
	*len = n / 2;
	return out;
}

/* ---- writing ---- */

struct intents_writer {
	int dfd, fd;
	char tmp[RECORD_ID_MAX + 8], name[RECORD_ID_MAX];
	struct sbuf b;
	bool committed;
	int error; /* sticky: the first write error */
};

static void flush(struct intents_writer *w, bool force)
{
	if (w->b.len < FLUSH_AT && !force)
		return;
	if (!sbuf_str(&w->b))
		w->error = w->error ?: -ENOMEM;
	else if (w->error == 0 && w->b.len)
		w->error = write_all(w->fd, w->b.buf, w->b.len);
	sbuf_reset(&w->b);
	w->b.oom = false;
}

int intents_begin(const char *statedir, const char *id, struct intents_writer **ret)
{
	struct intents_writer *w;
	int dfd;

	assert(ret);

	if (!record_id_valid(id))
		return -EINVAL;
	dfd = open_intents_dir(statedir);
	if (dfd < 0)
		return dfd;
	w = calloc(1, sizeof(*w));
	if (!w) {
		close(dfd);
		return -ENOMEM;
	}
	w->dfd = dfd;
	snprintf(w->name, sizeof(w->name), "%s", id);
	snprintf(w->tmp, sizeof(w->tmp), ".%s.tmp", id);
	w->fd = openat(dfd, w->tmp,
		       O_WRONLY | O_APPEND | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY,
		       0600);
	if (w->fd < 0) {
		int r = negative_errno();

		close(dfd);
		free(w);
		return r;
	}
	sbuf_adds(&w->b, INTENTS_HEADER "\n");
	*ret = w;
	return 0;
}

void intents_add_mount(struct intents_writer *w, size_t idx, dev_t dev, const char *path)
{
	assert(w);
	assert(path);

	sbuf_printf(&w->b, "m %zu %" PRIu64 " ", idx, (uint64_t)dev);
	add_hex(&w->b, path, strlen(path));
	sbuf_addc(&w->b, '\n');
	flush(w, false);
}

void intents_add_dir(struct intents_writer *w, size_t idx, size_t up, const char *name)
{
	assert(w);
	assert(name);

	if (up == REMOVE_ROOT)
		sbuf_printf(&w->b, "d %zu - ", idx);
	else
		sbuf_printf(&w->b, "d %zu %zu ", idx, up);
	add_hex(&w->b, name, strlen(name));
	sbuf_addc(&w->b, '\n');
	flush(w, false);
}

void intents_add(struct intents_writer *w, const struct intent *e)
{
	assert(w);
	assert(e);

	sbuf_printf(&w->b, "i %" PRIu64 " %zu ", e->seq, e->mount);
	if (e->dir == REMOVE_ROOT)
		sbuf_adds(&w->b, "-");
	else
		sbuf_printf(&w->b, "%zu", e->dir);
	sbuf_printf(&w->b, " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %u %" PRIu64 " %s %s ",
		    (uint64_t)e->dev, (uint64_t)e->ino, e->size, e->charged, (unsigned)e->uid,
		    e->btime_ns, e->class, e->action);
	add_hex(&w->b, e->name, strlen(e->name));
	sbuf_addc(&w->b, ' ');
	add_hex(&w->b, e->rule, strlen(e->rule));
	sbuf_printf(&w->b, " %d ", e->handle.type);
	add_hex(&w->b, e->handle.f, e->handle.len);
	sbuf_addc(&w->b, '\n');
	flush(w, false);
}

int intents_commit(struct intents_writer *w)
{
	assert(w);

	flush(w, true);
	if (w->error)
		return w->error;
	if (fsync(w->fd) < 0 || renameat(w->dfd, w->tmp, w->dfd, w->name) < 0)
		return negative_errno();
	w->committed = true;
	return 0;
}

int intents_result(struct intents_writer *w, uint64_t seq, const struct remove_result *r)
{
	char line[96];
	int n;

	assert(w);
	assert(r);

	if (!w->committed)
		return -EINVAL;
	n = snprintf(line, sizeof(line), "r %" PRIu64 " %d %d %d\n", seq, (int)r->status,
		     (int)r->check, r->err);
	return write_all(w->fd, line, (size_t)n);
}

void intents_close(struct intents_writer *w)
{
	if (!w)
		return;
	if (!w->committed)
		(void)unlinkat(w->dfd, w->tmp, 0);
	safe_close(w->fd);
	safe_close(w->dfd);
	sbuf_done(&w->b);
	free(w);
}

int intents_remove(const char *statedir, const char *id)
{
	_cleanup_close_ int dfd = open_intents_dir(statedir);

	assert(id);

	if (dfd < 0)
		return dfd;
	if (unlinkat(dfd, id, 0) < 0 && errno != ENOENT)
		return negative_errno();
	return 0;
}

/* ---- reading ---- */

struct jdir {
	size_t up;
	char *name;
	size_t len;
};

struct jmount {
	char *path;
	size_t len;
};

struct reader {
	FILE *f;
	char *line;
	size_t cap;
	struct jmount *mounts;
	size_t n_mounts;
	struct jdir *dirs;
	size_t n_dirs;
	uint64_t n_intents;
	struct remove_result *res; /* by seq */
	bool *has;
	char *path; /* the current intent's */
	size_t path_len, path_cap;
};

static void reader_done(struct reader *r)
{
	if (r->f)
		fclose(r->f);
	free(r->line);
	for (size_t i = 0; i < r->n_mounts; i++)
		free(r->mounts[i].path);
	free(r->mounts);
	for (size_t i = 0; i < r->n_dirs; i++)
		free(r->dirs[i].name);
	free(r->dirs);
	free(r->res);
	free(r->has);
	free(r->path);
}

/* Split line (no '\n') into at most max space-separated fields. */
static size_t split(char *line, char **f, size_t max)
{
	size_t n = 0;

	for (char *p = line; *p && n < max;) {
		f[n++] = p;
		p = strchr(p, ' ');
		if (!p)
			break;
		*p++ = '\0';
	}
	return n;
}

static int num(const char *s, uint64_t max, uint64_t *ret)
{
	int r = parse_u64(s, ret);

	return r < 0 || *ret > max ? -EBADMSG : 0;
}

static ssize_t next_line(struct reader *r)
{
	ssize_t n = getline(&r->line, &r->cap, r->f);

	if (n < 0)
		return ferror(r->f) ? -EIO : 0;
	if (n == 0 || r->line[n - 1] != '\n')
		return -EBADMSG; /* cut short */
	r->line[--n] = '\0';
	return n + 1;
}

/* Pass 1: the header, mounts, directories, how many intents, and the results. */
static int read_tables(struct reader *r)
{
	struct {
		uint64_t seq;
		struct remove_result res;
	} *rv = NULL;
	size_t n_rv = 0, cap_rv = 0;
	ssize_t k;
	int err = 0;

	k = next_line(r);
	if (k <= 0)
		return k < 0 ? (int)k : -EBADMSG;
	if (!streq(r->line, INTENTS_HEADER))
		return -EPROTO;
	while ((k = next_line(r)) > 0) {
		char *f[16];
		size_t nf = split(r->line, f, ARRAY_SIZE(f));
		uint64_t a, b;

		if (nf == 4 && streq(f[0], "m")) {
			struct jmount *m;

			if (num(f[1], SIZE_MAX, &a) < 0 || a != r->n_mounts ||
			    num(f[2], UINT64_MAX, &b) < 0)
				goto bad;
			m = reallocarray(r->mounts, r->n_mounts + 1, sizeof(*m));
			if (!m)
				goto oom;
			r->mounts = m;
			m[r->n_mounts].path = from_hex(f[3], &m[r->n_mounts].len, &err);
			if (!m[r->n_mounts].path)
				goto fail;
			r->n_mounts++;
		} else if (nf == 4 && streq(f[0], "d")) {
			struct jdir *d;
			size_t up = REMOVE_ROOT;

			if (num(f[1], SIZE_MAX, &a) < 0 || a != r->n_dirs)
				goto bad;
			if (!streq(f[2], "-")) {
				/* Parents come first: no loop can be written. */
				if (num(f[2], SIZE_MAX, &b) < 0 || b >= a)
					goto bad;
				up = (size_t)b;
			}
			d = reallocarray(r->dirs, r->n_dirs + 1, sizeof(*d));
			if (!d)
				goto oom;
			r->dirs = d;
			d[r->n_dirs].up = up;
			d[r->n_dirs].name = from_hex(f[3], &d[r->n_dirs].len, &err);
			if (!d[r->n_dirs].name)
				goto fail;
			r->n_dirs++;
		} else if (nf == 16 && streq(f[0], "i")) {
			if (num(f[1], UINT64_MAX, &a) < 0 || a != r->n_intents)
				goto bad;
			r->n_intents++;
		} else if (nf == 5 && streq(f[0], "r")) {
			uint64_t st, ck, e;

			if (num(f[1], UINT64_MAX, &a) < 0 || num(f[2], REMOVE_ERROR, &st) < 0 ||
			    num(f[3], REMOVE_CHECK_ARGS, &ck) < 0 || num(f[4], 4095, &e) < 0)
				goto bad;
			if (n_rv == cap_rv) {
				size_t nc = cap_rv ? cap_rv * 2 : 64;
				void *p = reallocarray(rv, nc, sizeof(*rv));

				if (!p)
					goto oom;
				rv = p;
				cap_rv = nc;
			}
			rv[n_rv].seq = a;
			rv[n_rv++].res = (struct remove_result){(enum remove_status)st,
								(enum remove_check)ck, (int)e};
		} else
			goto bad;
	}
	if (k < 0) {
		err = (int)k;
		goto fail;
	}
	r->res = calloc(r->n_intents ? r->n_intents : 1, sizeof(*r->res));
	r->has = calloc(r->n_intents ? r->n_intents : 1, sizeof(*r->has));
	if (!r->res || !r->has)
		goto oom;
	for (size_t i = 0; i < n_rv; i++) {
		if (rv[i].seq >= r->n_intents)
			goto bad;
		r->res[rv[i].seq] = rv[i].res; /* the last one says */
		r->has[rv[i].seq] = true;
	}
	free(rv);
	return 0;
oom:
	err = -ENOMEM;
	goto fail;
bad:
	err = -EBADMSG;
fail:
	free(rv);
	return err;
}

/* The path of an intent: its mount, its directories, its name. */
static int build_path(struct reader *r, size_t mount, size_t dir, const char *name)
{
	size_t len, at, nl = strlen(name);

	if (mount >= r->n_mounts || (dir != REMOVE_ROOT && dir >= r->n_dirs))
		return -EBADMSG;
	len = r->mounts[mount].len + 1 + nl;
	for (size_t d = dir; d != REMOVE_ROOT; d = r->dirs[d].up)
		len += r->dirs[d].len + 1;
	if (r->path_cap < len + 1) {
		free(r->path);
		r->path = malloc(len + 1);
		r->path_cap = r->path ? len + 1 : 0;
		if (!r->path)
			return -ENOMEM;
	}
	/* Laid from the end backwards. */
	at = len;
	r->path[at] = '\0';
	at -= nl;
	memcpy(r->path + at, name, nl);
	for (size_t d = dir; d != REMOVE_ROOT; d = r->dirs[d].up) {
		r->path[--at] = '/';
		at -= r->dirs[d].len;
		memcpy(r->path + at, r->dirs[d].name, r->dirs[d].len);
	}
	r->path[--at] = '/';
	memcpy(r->path, r->mounts[mount].path, r->mounts[mount].len);
	r->path_len = len;
	return 0;
}

static int parse_intent(char **f, struct intent *e, char **name,
			char **rule)
{
	uint64_t v[8];
	size_t len;
	int err;

	/* seq, mount, (dir), dev, ino, size, charged, uid, btime */
	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		const char *s = f[1 + i + (i >= 2)];
		uint64_t max = i == 6 ? UINT32_MAX : UINT64_MAX;

		if (num(s, max, &v[i]) < 0)
			return -EBADMSG;
	}
	*e = (struct intent){
		.seq = v[0], .mount = (size_t)v[1], .dir = REMOVE_ROOT, .dev = (dev_t)v[2],
		.ino = (ino_t)v[3], .size = v[4], .charged = v[5], .uid = (uid_t)v[6],
		.btime_ns = v[7], .class = f[10], .action = f[11],
	};
	if (!streq(f[3], "-")) {
		uint64_t d;

		if (num(f[3], SIZE_MAX - 1, &d) < 0)
			return -EBADMSG;
		e->dir = (size_t)d;
	}
	*name = from_hex(f[12], &len, &err);
	if (!*name)
		return err;
	if (len == 0 || memchr(*name, '/', len) || strlen(*name) != len)
		return -EBADMSG;
	*rule = from_hex(f[13], &len, &err);
	if (!*rule)
		return err;
	e->name = *name;
	e->rule = *rule;
	if (!streq(f[15], "-")) {
		_cleanup_free_ char *h = NULL;
		long t;
		char *end;

		h = from_hex(f[15], &len, &err);
		if (!h)
			return err;
		errno = 0;
		t = strtol(f[14], &end, 10);
		if (errno || *end || len > REMOVE_HANDLE_MAX || t < INT32_MIN || t > INT32_MAX)
			return -EBADMSG;
		e->handle.type = (int)t;
		e->handle.len = (uint8_t)len;
		memcpy(e->handle.f, h, len);
	}
	return 0;
}

int intents_replay(const char *statedir, const char *id,
		   int (*fn)(const struct intent *e, void *userdata), void *userdata)
{
	_cleanup_close_ int dfd = -1;
	struct reader r = {0};
	ssize_t k;
	int fd, err;

	assert(fn);

	if (!record_id_valid(id))
		return -EINVAL;
	dfd = open_intents_dir(statedir);
	if (dfd < 0)
		return dfd;
	fd = open_read_at(dfd, id);
	if (fd < 0)
		return fd;
	r.f = fdopen(fd, "re");
	if (!r.f) {
		close(fd);
		return -ENOMEM;
	}
	err = read_tables(&r);
	if (err < 0)
		goto out;
	rewind(r.f);
	(void)next_line(&r); /* the header */
	while ((k = next_line(&r)) > 0) {
		_cleanup_free_ char *name = NULL, *rule = NULL;
		struct intent e;
		char *f[16];

		if (r.line[0] != 'i')
			continue;
		if (split(r.line, f, ARRAY_SIZE(f)) != 16) {
			err = -EBADMSG;
			goto out;
		}
		err = parse_intent(f, &e, &name, &rule);
		if (err < 0)
			goto out;
		if (e.seq >= r.n_intents) {
			err = -EBADMSG;
			goto out;
		}
		err = build_path(&r, e.mount, e.dir, e.name);
		if (err < 0)
			goto out;
		e.path = r.path;
		e.path_len = r.path_len;
		e.has_result = r.has[e.seq];
		e.result = r.res[e.seq];
		err = fn(&e, userdata);
		if (err < 0)
			goto out;
	}
	err = k < 0 ? (int)k : 0;
out:
	reader_done(&r);
	return err;
}
