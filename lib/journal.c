/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "journal.h"
#include "decide.h"
#include "fileio.h"
#include "json.h"
#include "record.h"
#include "util.h"

#include <fcntl.h>
#include <inttypes.h>
#include <sys/stat.h>

static int open_journal_dir(const char *statedir)
{
	return record_open_subdir(statedir, "journal");
}

static void add_hex(struct sbuf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";

	if (n == 0)
		sbuf_addc(b, '-');
	for (size_t i = 0; i < n; i++) {
		sbuf_addc(b, hex[(unsigned char)s[i] >> 4]);
		sbuf_addc(b, hex[(unsigned char)s[i] & 15]);
	}
}

static char *from_hex(const char *s, size_t *len)
{
	size_t n = strlen(s);
	char *out;

	if (streq(s, "-")) {
		*len = 0;
		return strdup("");
	}
	if (n % 2)
		return NULL;
	out = malloc(n / 2 + 1);
	if (!out)
		return NULL;
	for (size_t i = 0; i < n / 2; i++) {
		unsigned v;
		if (sscanf(s + 2 * i, "%2x", &v) != 1) {
			free(out);
			return NULL;
		}
		out[i] = (char)v;
	}
	out[n / 2] = '\0';
	*len = n / 2;
	return out;
}

int journal_append(const char *statedir, const char *id, const struct journal_entry *e, size_t n)
{
	_cleanup_close_ int dfd = open_journal_dir(statedir), fd = -1;
	struct sbuf b = {0};
	int r;

	if (dfd < 0)
		return dfd;
	fd = openat(dfd, id, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
	if (fd < 0)
		return negative_errno();
	for (size_t i = 0; i < n; i++) {
		sbuf_printf(&b, "%" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %u %" PRIu64 " %s %s ",
			    (uint64_t)e[i].dev, (uint64_t)e[i].ino, e[i].size, e[i].charged,
			    (unsigned)e[i].uid, e[i].btime_ns, e[i].class, e[i].action);
		add_hex(&b, e[i].path, e[i].path_len);
		sbuf_addc(&b, ' ');
		add_hex(&b, e[i].rule, strlen(e[i].rule));
		sbuf_addc(&b, '\n');
	}
	if (!sbuf_str(&b))
		r = -ENOMEM;
	else
		r = write_all(fd, b.buf, b.len);
	if (r == 0 && fsync(fd) < 0)
		r = negative_errno();
	sbuf_done(&b);
	return r;
}

void journal_free(struct journal *j)
{
	for (size_t i = 0; i < j->n; i++) {
		free(j->v[i].path);
		free(j->v[i].class);
		free(j->v[i].action);
		free(j->v[i].rule);
	}
	free(j->v);
	*j = (struct journal){0};
}

int journal_read(const char *statedir, const char *id, struct journal *ret)
{
	_cleanup_close_ int dfd = open_journal_dir(statedir);
	_cleanup_free_ char *buf = NULL;
	struct journal j = {0};
	ssize_t len;

	if (dfd < 0)
		return dfd;
	len = read_small_file_at(dfd, id, 16 << 20, &buf);
	if (len < 0)
		return (int)len;
	for (char *line = buf, *next; line && *line; line = next) {
		char class[16], action[16], *hrule;
		_cleanup_free_ char *hpath = NULL; /* paths may be far longer than PATH_MAX */
		unsigned long long dev, ino, size, charged, btime;
		unsigned uid;
		struct journal_entry e = {0};
		int pos = 0;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (sscanf(line, "%llu %llu %llu %llu %u %llu %15s %15s %ms %n", &dev, &ino, &size,
			   &charged, &uid, &btime, class, action, &hpath, &pos) != 9 || !pos)
			continue;
		hrule = line + pos;
		e = (struct journal_entry){.dev = (dev_t)dev, .ino = (ino_t)ino, .size = size,
					   .charged = charged, .uid = uid, .btime_ns = btime};
		size_t rl;
		e.path = from_hex(hpath, &e.path_len);
		e.rule = from_hex(hrule, &rl);
		e.class = strdup(class);
		e.action = strdup(action);
		struct journal_entry *v = reallocarray(j.v, j.n + 1, sizeof(*v));
		if (!v || !e.path || !e.rule || !e.class || !e.action) {
			free(e.path);
			free(e.rule);
			free(e.class);
			free(e.action);
			if (v)
				j.v = v;
			journal_free(&j);
			return -ENOMEM;
		}
		j.v = v;
		j.v[j.n++] = e;
	}
	*ret = j;
	return 0;
}

int journal_remove(const char *statedir, const char *id)
{
	_cleanup_close_ int dfd = open_journal_dir(statedir);

	if (dfd < 0)
		return dfd;
	if (unlinkat(dfd, id, 0) < 0 && errno != ENOENT)
		return negative_errno();
	return 0;
}

char *journal_escaped_path(const char *path, size_t len)
{
	struct sbuf b = {0};

	json_add_string(&b, path, len);
	if (!sbuf_str(&b)) {
		sbuf_done(&b);
		return NULL;
	}
	return b.buf;
}

void strv_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The JSON string that starts at p (at its opening quote), copied with its quotes. */
static char *json_string_at(const char *p)
{
	const char *q = p + 1;

	while (*q && *q != '"')
		q += (*q == '\\' && q[1]) ? 2 : 1;
	if (*q != '"')
		return NULL;
	return strndup(p, (size_t)(q - p + 1));
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

int audit_log_paths(const char *audit_path, const char *id, char ***ret, size_t *ret_n)
{
	_cleanup_fclose_ FILE *f = NULL;
	_cleanup_free_ char *line = NULL, *prefix = NULL;
	char **v = NULL;
	size_t n = 0, cap = 0, len = 0;
	int fd;

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
		char *s;
		if (!startswith(line, prefix) || decided_again(line))
			continue;
		s = json_string_at(line + strlen(prefix));
		if (!s)
			continue;
		if (n + 2 > cap) {
			char **nv = reallocarray(v, cap ? cap * 2 : 16, sizeof(*v));
			if (!nv) {
				free(s);
				strv_free(v);
				return -ENOMEM;
			}
			v = nv;
			cap = cap ? cap * 2 : 16;
		}
		v[n++] = s;
		v[n] = NULL;
	}
	if (v)
		qsort(v, n, sizeof(*v), cmp_str);
	*ret = v;
	*ret_n = n;
	return 0;
}
