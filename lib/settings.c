/* SPDX-License-Identifier: GPL-2.0-or-later */
/* settings.c: INTERIM subset of the policy file; see settings.h. */
#include "settings.h"
#include "fileio.h"
#include "util.h"

#include <ctype.h>
#include <fcntl.h>
#include <strings.h>
#include <sys/stat.h>

static const char *const default_watch[] = {"/dev/shm", "/tmp", "/run/user/%U"};

void settings_done(struct sweep_settings *s)
{
	free(s->statedir);
	free(s->auditlog);
	for (size_t i = 0; i < s->n_watch; i++)
		free(s->watch[i]);
	for (size_t i = 0; i < s->n_exempt; i++)
		free(s->exempt_users[i]);
	memset(s, 0, sizeof(*s));
}

static int set_defaults(struct sweep_settings *s)
{
	settings_done(s);
	s->statedir = strdup(STATEDIR);
	s->auditlog = strdup(SETTINGS_DEFAULT_AUDITLOG);
	if (!s->statedir || !s->auditlog)
		return -ENOMEM;
	for (size_t i = 0; i < ARRAY_SIZE(default_watch); i++) {
		s->watch[i] = strdup(default_watch[i]);
		if (!s->watch[i])
			return -ENOMEM;
		s->n_watch++;
	}
	s->exempt_users[0] = strdup("root");
	if (!s->exempt_users[0])
		return -ENOMEM;
	s->n_exempt = 1;
	return 0;
}

static int parse(char *buf, struct sweep_settings *s)
{
	bool watch_seen = false;

	for (char *line = buf, *next; line; line = next) {
		char *kw, *save = NULL, *tok;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (strchr(line, '#'))
			*strchr(line, '#') = '\0';
		kw = strtok_r(line, " \t\r", &save);
		if (!kw)
			continue;
		if (!strcasecmp(kw, "Watch")) {
			if (!watch_seen) {
				for (size_t i = 0; i < s->n_watch; i++)
					free(s->watch[i]);
				s->n_watch = 0;
				watch_seen = true;
			}
			while ((tok = strtok_r(NULL, " \t\r", &save))) {
				if (tok[0] != '/' || s->n_watch >= SETTINGS_MAX_WATCH)
					return -EBADMSG;
				if (!(s->watch[s->n_watch++] = strdup(tok)))
					return -ENOMEM;
			}
		} else if (!strcasecmp(kw, "StateDir") || !strcasecmp(kw, "AuditLog")) {
			char **dst = !strcasecmp(kw, "StateDir") ? &s->statedir : &s->auditlog;
			tok = strtok_r(NULL, " \t\r", &save);
			if (!tok || tok[0] != '/' || strtok_r(NULL, " \t\r", &save))
				return -EBADMSG;
			free(*dst);
			if (!(*dst = strdup(tok)))
				return -ENOMEM;
		} else if (!strcasecmp(kw, "ExemptUsers")) {
			while ((tok = strtok_r(NULL, " \t\r", &save))) {
				if (s->n_exempt >= ARRAY_SIZE(s->exempt_users))
					return -EBADMSG;
				if (!(s->exempt_users[s->n_exempt++] = strdup(tok)))
					return -ENOMEM;
			}
		} else if (!strcasecmp(kw, "IncludeSystemUsers")) {
			tok = strtok_r(NULL, " \t\r", &save);
			s->include_system_users = tok && !strcasecmp(tok, "yes");
		}
		/* everything else (rules, other settings) belongs to lib/policy */
	}
	return 0;
}

int settings_load(const char *path, struct sweep_settings *ret)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *buf = NULL;
	struct stat st;
	ssize_t n;
	int r;

	r = set_defaults(ret);
	if (r < 0)
		return r;
	if (!path)
		path = SETTINGS_DEFAULT_CONF;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return errno == ENOENT ? 0 : errno == ELOOP ? -EPERM : negative_errno();
	if (fstat(fd, &st) < 0)
		return negative_errno();
	if (!S_ISREG(st.st_mode) || st.st_uid != 0 || (st.st_mode & 022))
		return -EPERM;
	if (st.st_size > (1 << 20))
		return -EFBIG;
	buf = malloc((size_t)st.st_size + 1);
	if (!buf)
		return -ENOMEM;
	n = 0;
	while (n < st.st_size) {
		ssize_t k = read(fd, buf + n, (size_t)(st.st_size - n));
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return negative_errno();
		if (k == 0)
			break;
		n += k;
	}
	buf[n] = '\0';
	if (memchr(buf, '\0', (size_t)n))
		r = -EBADMSG;
	else
		r = parse(buf, ret);
	if (r < 0) {
		int r2 = set_defaults(ret);
		return r2 < 0 ? r2 : r;
	}
	return 0;
}

static uid_t uid_min(void)
{
	_cleanup_fclose_ FILE *f = fopen("/etc/login.defs", "re");
	char line[256];
	unsigned long v;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, " UID_MIN %lu", &v) == 1)
			return (uid_t)v;
	return 1000;
}

bool settings_user_exempt(const struct sweep_settings *s, const char *user, uid_t uid)
{
	if (uid == 0)
		return true;
	for (size_t i = 0; i < s->n_exempt; i++)
		if (streq(s->exempt_users[i], user))
			return true;
	return !s->include_system_users && uid < uid_min();
}

int settings_expand(const char *pattern, const char *user, uid_t uid, char **ret)
{
	size_t cap = strlen(pattern) + strlen(user) * 4 + 64, n = 0;
	char *out = malloc(cap);

	if (!out)
		return -ENOMEM;
	for (const char *p = pattern; *p; p++) {
		if (n + strlen(user) + 24 >= cap) {
			free(out);
			return -E2BIG;
		}
		if (p[0] == '%' && p[1] == 'u') {
			n += (size_t)sprintf(out + n, "%s", user);
			p++;
		} else if (p[0] == '%' && p[1] == 'U') {
			n += (size_t)sprintf(out + n, "%u", (unsigned)uid);
			p++;
		} else if (p[0] == '%' && p[1] == '%') {
			out[n++] = '%';
			p++;
		} else {
			out[n++] = *p;
		}
	}
	out[n] = '\0';
	*ret = out;
	return 0;
}

int settings_open_audit_log(const char *path)
{
	_cleanup_free_ char *dir = strdup(path);
	char *slash;
	struct stat st;
	int fd;

	if (!dir)
		return -ENOMEM;
	if (path[0] != '/')
		return -EINVAL;
	slash = strrchr(dir, '/');
	if (slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0700) < 0 && errno != EEXIST)
			return negative_errno();
	}
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
	if (fd < 0)
		return negative_errno();
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 022)) {
		close(fd);
		return -EPERM;
	}
	return fd;
}
