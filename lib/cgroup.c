/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "cgroup.h"
#include "beneath.h"
#include "fileio.h"
#include "record.h"
#include "util.h"

#include <assert.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <linux/magic.h>
#include <sys/statfs.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>

/* Does [p, end), words separated by any of seps, hold word? */
static bool has_word(const char *p, const char *end, const char *word, const char *seps)
{
	size_t wl = strlen(word);

	while (p < end) {
		const char *q = p;

		while (q < end && !strchr(seps, *q))
			q++;
		if ((size_t)(q - p) == wl && memcmp(p, word, wl) == 0)
			return true;
		p = q + 1;
	}
	return false;
}

static bool list_has_word(const char *list, const char *word, const char *seps)
{
	return list && has_word(list, list + strlen(list), word, seps);
}

static int open_dir_beneath(int dirfd, const char *rel)
{
	while (*rel == '/')
		rel++;
	return openat_beneath(dirfd, *rel ? rel : ".", O_RDONLY | O_DIRECTORY);
}

static bool v2_has_memory(const char *mnt)
{
	_cleanup_free_ char *ctl = NULL, *p = NULL;

	if (asprintf(&p, "%s/cgroup.controllers", mnt) < 0)
		return false;
	return read_oneshot_file_at(AT_FDCWD, p, 4096, &ctl) >= 0 && list_has_word(ctl, "memory", " \n");
}

/* The memory hierarchy from a mountinfo file: a cgroup2 mount whose controllers include
 * memory wins over a v1 mount with the memory controller (the kernel binds a controller
 * to one hierarchy only, so there is at most one of either in practice). A small reader
 * of our own: the PAM module uses this, and should not load libmount for it. */
static int find_in_mountinfo(const char *mountinfo, char **v1, char **v2)
{
	_cleanup_fclose_ FILE *f = fopen(mountinfo, "re");
	_cleanup_free_ char *line = NULL;
	size_t len = 0;

	if (!f)
		return negative_errno();
	while (getline(&line, &len, f) > 0) {
		char *fields[6] = {0}, *save = NULL, *sep, *type, *opts;
		size_t n = 0;

		line[strcspn(line, "\n")] = '\0';
		sep = strstr(line, " - ");
		if (!sep)
			continue;
		*sep = '\0';
		for (char *t = strtok_r(line, " ", &save); t && n < 6; t = strtok_r(NULL, " ", &save))
			fields[n++] = t;
		type = strtok_r(sep + 3, " ", &save);
		(void)strtok_r(NULL, " ", &save); /* source */
		opts = strtok_r(NULL, " ", &save);
		if (n < 5 || !type)
			continue;
		unescape_octal(fields[4]);
		if (streq(type, "cgroup") && !*v1 && opts && list_has_word(opts, "memory", ",")) {
			if (!(*v1 = strdup(fields[4])))
				return -ENOMEM;
		} else if (streq(type, "cgroup2") && !*v2 && v2_has_memory(fields[4])) {
			if (!(*v2 = strdup(fields[4])))
				return -ENOMEM;
		}
	}
	return 0;
}

/* The usual places, by statfs and at most one small read, before reading the mount
 * table: a cgroup2 /sys/fs/cgroup (unified), else a v1 memory hierarchy at
 * /sys/fs/cgroup/memory (hybrid and legacy), else /sys/fs/cgroup/unified (hybrid with
 * memory on v2). A controller is bound to one hierarchy only, so the first found is it. */
static void find_usual(char **v1, char **v2)
{
	struct statfs sfs;

	if (statfs("/sys/fs/cgroup", &sfs) == 0 && sfs.f_type == CGROUP2_SUPER_MAGIC) {
		if (v2_has_memory("/sys/fs/cgroup"))
			*v2 = strdup("/sys/fs/cgroup");
		return;
	}
	if (statfs("/sys/fs/cgroup/memory", &sfs) == 0 && sfs.f_type == CGROUP_SUPER_MAGIC &&
	    access("/sys/fs/cgroup/memory/memory.usage_in_bytes", F_OK) == 0) {
		*v1 = strdup("/sys/fs/cgroup/memory");
		return;
	}
	if (statfs("/sys/fs/cgroup/unified", &sfs) == 0 && sfs.f_type == CGROUP2_SUPER_MAGIC &&
	    v2_has_memory("/sys/fs/cgroup/unified"))
		*v2 = strdup("/sys/fs/cgroup/unified");
}

int cg_root_open(const char *mountinfo, struct cg_root *ret)
{
	_cleanup_free_ char *v1 = NULL, *v2 = NULL;
	int r;

	assert(ret);

	if (!mountinfo)
		find_usual(&v1, &v2);
	if (!v1 && !v2) {
		r = find_in_mountinfo(mountinfo ? mountinfo : "/proc/self/mountinfo", &v1, &v2);
		if (r < 0)
			return r;
	}
	*ret = (struct cg_root){.fd = -1};
	if (v2) {
		ret->mode = CG_V2;
		ret->mnt = TAKE_PTR(v2);
	} else if (v1) {
		ret->mode = CG_V1;
		ret->mnt = TAKE_PTR(v1);
	} else
		return -ENOMEDIUM;
	ret->fd = open(ret->mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (ret->fd < 0) {
		r = negative_errno();
		cg_root_close(ret);
		return r;
	}
	return 0;
}

void cg_root_close(struct cg_root *r)
{
	assert(r);
	free(r->mnt);
	r->mnt = NULL;
	r->fd = safe_close(r->fd);
	r->mode = CG_NONE;
}

/* The path of the line of /proc/PID/cgroup content buf for mode: "0::/path" (v2),
 * "N:memory[,..]:/path" (v1). Lines are "ID:CONTROLLERS:PATH"; PATH may hold ':'. */
static int find_in_proc_cgroup(const char *buf, enum cg_mode mode, char **ret)
{
	for (const char *line = buf; *line;) {
		size_t len = strcspn(line, "\n");
		const char *end = line + len, *c1 = memchr(line, ':', len), *c2 = NULL;

		if (c1)
			c2 = memchr(c1 + 1, ':', (size_t)(end - c1 - 1));
		if (c2 && ((mode == CG_V2 && c1 == line + 1 && line[0] == '0' && c2 == c1 + 1) ||
			   (mode == CG_V1 && has_word(c1 + 1, c2, "memory", ",")))) {
			if (c2 + 1 == end || c2[1] != '/')
				return -EINVAL;
			*ret = strndup(c2 + 1, (size_t)(end - c2 - 1));
			return *ret ? 0 : -ENOMEM;
		}
		line = *end ? end + 1 : end;
	}
	return -ENOENT;
}

int cg_path_of_pid(const struct cg_root *r, pid_t pid, const char *proc_cgroup, char **ret)
{
	_cleanup_free_ char *buf = NULL;
	char path[64];
	ssize_t n;

	assert(r);
	assert(ret);

	if (!proc_cgroup) {
		if (pid > 0)
			snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
		else
			snprintf(path, sizeof(path), "/proc/self/cgroup");
		proc_cgroup = path;
	}
	n = read_oneshot_file_at(AT_FDCWD, proc_cgroup, 64 * 1024, &buf);
	if (n < 0)
		return (int)n;
	return find_in_proc_cgroup(buf, r->mode, ret);
}

static bool rel_is_sane(const char *rel)
{
	/* No "..", no "." components: the path must name what it says. */
	for (const char *p = rel; *p;) {
		size_t n;
		p += strspn(p, "/");
		n = strcspn(p, "/");
		if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		p += n;
	}
	return true;
}

int cg_open_rel(const struct cg_root *r, const char *rel, struct cgroup *ret)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *norm = NULL;
	struct stat st;
	size_t len;

	assert(r);
	assert(rel);
	assert(ret);
	assert(r->fd >= 0);

	if (!rel_is_sane(rel))
		return -EINVAL;
	while (*rel == '/')
		rel++;
	if (asprintf(&norm, "/%s", rel) < 0)
		return -ENOMEM;
	/* Fold repeated slashes: the path is shown to people and stored in records. */
	for (char *w = norm, *p = norm;; p++) {
		if (p[0] == '/' && p[1] == '/')
			continue;
		if (!(*w++ = *p))
			break;
	}
	len = strlen(norm);
	while (len > 1 && norm[len - 1] == '/')
		norm[--len] = '\0';
	fd = open_dir_beneath(r->fd, norm);
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0)
		return negative_errno();
	*ret = (struct cgroup){.rel = TAKE_PTR(norm), .ino = st.st_ino, .fd = TAKE_FD(fd)};
	return 0;
}

int cg_ino_rel(const struct cg_root *r, const char *rel, uint64_t *ret)
{
	struct stat st;

	assert(r);
	assert(ret);
	assert(r->fd >= 0);

	if (!rel_is_sane(rel))
		return -EINVAL;
	while (*rel == '/')
		rel++;
	if (fstatat(r->fd, *rel ? rel : ".", &st, AT_SYMLINK_NOFOLLOW) < 0)
		return negative_errno();
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	*ret = st.st_ino;
	return 0;
}

int cg_self_quick(enum cg_mode *ret_mode, char **ret_rel, uint64_t *ret_ino)
{
	_cleanup_free_ char *buf = NULL, *rel = NULL, *path = NULL;
	const char *mnt = NULL;
	enum cg_mode mode;
	struct statfs sfs;
	struct stat st;
	ssize_t n;
	int r;

	assert(ret_mode);
	assert(ret_rel);
	assert(ret_ino);

	n = read_oneshot_file_at(AT_FDCWD, "/proc/self/cgroup", 64 * 1024, &buf);
	if (n < 0)
		return (int)n;
	/* The v1 memory line first: if there is one, memory is not on v2. */
	r = find_in_proc_cgroup(buf, CG_V1, &rel);
	if (r == 0) {
		mode = CG_V1;
		mnt = "/sys/fs/cgroup/memory";
	} else if (r == -ENOENT) {
		r = find_in_proc_cgroup(buf, CG_V2, &rel);
		if (r < 0)
			return r == -ENOENT ? -ENOMEDIUM : r;
		mode = CG_V2;
		if (statfs("/sys/fs/cgroup", &sfs) == 0 && sfs.f_type == CGROUP2_SUPER_MAGIC)
			mnt = "/sys/fs/cgroup";
		else if (statfs("/sys/fs/cgroup/unified", &sfs) == 0 &&
			 sfs.f_type == CGROUP2_SUPER_MAGIC)
			mnt = "/sys/fs/cgroup/unified";
		else
			return -ENOENT;
		if (!v2_has_memory(mnt))
			return -ENOMEDIUM;
	} else
		return r;
	if (!rel_is_sane(rel))
		return -EINVAL;
	if (asprintf(&path, "%s%s", mnt, rel) < 0)
		return -ENOMEM;
	if (mode == CG_V1 && (statfs(path, &sfs) < 0 || sfs.f_type != CGROUP_SUPER_MAGIC))
		return -ENOENT;
	if (lstat(path, &st) < 0)
		return negative_errno();
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	*ret_mode = mode;
	*ret_ino = st.st_ino;
	*ret_rel = TAKE_PTR(rel);
	return 0;
}

int cg_resolve(const struct cg_root *r, const char *spec, struct cgroup *ret)
{
	const char *below;
	uint64_t pid;

	assert(r);
	assert(ret);

	if (!spec || !*spec)
		return -EINVAL;
	if (parse_u64(spec, &pid) == 0) {
		_cleanup_free_ char *rel = NULL;
		int k;
		if (pid == 0 || pid > INT32_MAX)
			return -ESRCH;
		k = cg_path_of_pid(r, (pid_t)pid, NULL, &rel);
		if (k < 0)
			return k == -ENOENT ? -ESRCH : k;
		return cg_open_rel(r, rel, ret);
	}
	if ((below = startswith(spec, r->mnt)) && (below[0] == '/' || below[0] == '\0'))
		return cg_open_rel(r, below, ret);
	/* Under /sys/fs/cgroup but not in the memory hierarchy (e.g. a v1 controller or a
	 * v2 tree without memory): say so rather than guess. */
	if (startswith(spec, "/sys/fs/cgroup/") || streq(spec, "/sys/fs/cgroup"))
		return -ENOMEDIUM;
	return cg_open_rel(r, spec, ret);
}

void cgroup_done(struct cgroup *cg)
{
	assert(cg);
	free(cg->rel);
	cg->rel = NULL;
	cg->fd = safe_close(cg->fd);
}

int cg_read_usage(const struct cg_root *r, const struct cgroup *cg, uint64_t *usage,
		  uint64_t *shmem)
{
	_cleanup_free_ char *stat = NULL;
	ssize_t n;
	int k;

	assert(r);
	assert(cg);
	assert(cg->fd >= 0);

	if (usage) {
		k = read_u64_at(cg->fd, r->mode == CG_V2 ? "memory.current" : "memory.usage_in_bytes",
				usage);
		if (k < 0)
			return k;
	}
	if (shmem) {
		n = read_small_file_at(cg->fd, "memory.stat", 64 * 1024, &stat);
		if (n < 0)
			return (int)n;
		k = stat_lookup_u64(stat, r->mode == CG_V2 ? "shmem" : "total_shmem", shmem);
		if (k < 0)
			return k;
	}
	return 0;
}

void cg_list_done(struct cg_list *l)
{
	assert(l);
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].rel);
	free(l->v);
	*l = (struct cg_list){0};
}

static int cg_list_add(struct cg_list *l, size_t *cap, const char *rel, uint64_t ino)
{
	if (l->n == *cap) {
		size_t nc = *cap ? *cap * 2 : 16;
		struct cg_node *v = reallocarray(l->v, nc, sizeof(*v));
		if (!v)
			return -ENOMEM;
		l->v = v;
		*cap = nc;
	}
	l->v[l->n].rel = strdup(rel);
	if (!l->v[l->n].rel)
		return -ENOMEM;
	l->v[l->n++].ino = ino;
	return 0;
}

static int cmp_node(const void *a, const void *b)
{
	const struct cg_node *x = a, *y = b;
	return x->ino < y->ino ? -1 : x->ino > y->ino;
}

int cg_list_descendants(const struct cg_root *r, const struct cgroup *cg, struct cg_list *ret)
{
	struct cg_list l = {0};
	size_t cap = 0;
	int k;

	assert(r);
	assert(cg);
	assert(ret);
	assert(cg->fd >= 0);

	k = cg_list_add(&l, &cap, cg->rel, cg->ino);
	/* Breadth-first over the list itself: entry i's children are appended. */
	for (size_t i = 0; k == 0 && i < l.n; i++) {
		_cleanup_closedir_ DIR *d = NULL;
		struct dirent *de;
		int fd = open_dir_beneath(r->fd, l.v[i].rel);

		if (fd < 0)
			continue; /* removed meanwhile */
		d = fdopendir(fd);
		if (!d) {
			close(fd);
			k = negative_errno();
			break;
		}
		while (k == 0 && (de = readdir(d))) {
			_cleanup_free_ char *child = NULL;
			struct stat st;
			if (de->d_type != DT_DIR || de->d_name[0] == '.')
				continue;
			if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
			    !S_ISDIR(st.st_mode))
				continue;
			if (asprintf(&child, "%s/%s", streq(l.v[i].rel, "/") ? "" : l.v[i].rel,
				     de->d_name) < 0)
				k = -ENOMEM;
			else
				k = cg_list_add(&l, &cap, child, st.st_ino);
		}
	}
	if (k < 0) {
		cg_list_done(&l);
		return k;
	}
	qsort(l.v, l.n, sizeof(*l.v), cmp_node);
	*ret = l;
	return 0;
}

int cg_list_pids(const struct cg_root *r, const struct cg_list *l, size_t max, pid_t **ret,
		 size_t *ret_n)
{
	pid_t *v = NULL;
	size_t n = 0;
	int k = 0;

	*ret = NULL;
	*ret_n = 0;
	for (size_t i = 0; k >= 0 && i < l->n; i++) {
		struct cgroup c = {.fd = -1};
		_cleanup_free_ char *buf = NULL;
		char *p, *end;

		if (cg_open_rel(r, l->v[i].rel, &c) < 0)
			continue; /* removed meanwhile */
		k = (int)read_small_file_at(c.fd, "cgroup.procs", 1 << 22, &buf);
		cgroup_done(&c);
		if (k == -ENOENT || k == -ENODEV)
			k = 0;
		for (p = buf; k >= 0 && p && *p; p = end) {
			long pid = strtol(p, &end, 10);
			pid_t *nv;

			if (end == p)
				break;
			if (pid <= 0)
				continue;
			if (n >= max) {
				k = -E2BIG;
				break;
			}
			nv = reallocarray(v, n + 1, sizeof(*v));
			if (!nv) {
				k = -ENOMEM;
				break;
			}
			v = nv;
			v[n++] = (pid_t)pid;
		}
	}
	if (k < 0 && k != -E2BIG) {
		free(v);
		return k;
	}
	*ret = v;
	*ret_n = n;
	return k < 0 ? k : 0;
}

const struct cg_node *cg_list_find(const struct cg_list *l, uint64_t ino)
{
	struct cg_node key = {.ino = ino};

	assert(l);
	return bsearch(&key, l->v, l->n, sizeof(*l->v), cmp_node);
}

int cg_list_inos(const struct cg_list *l, uint64_t **ret)
{
	uint64_t *inos = malloc(MAX(l->n, 1) * sizeof(*inos));

	assert(l);
	assert(ret);

	if (!inos)
		return -ENOMEM;
	for (size_t i = 0; i < l->n; i++)
		inos[i] = l->v[i].ino;
	*ret = inos;
	return 0;
}

int cg_descendant_inos(const struct cg_root *r, const struct cgroup *cg, uint64_t **ret,
		       size_t *ret_n)
{
	struct cg_list l = {0};
	int k;

	assert(r);
	assert(cg);
	assert(ret);
	assert(ret_n);

	k = cg_list_descendants(r, cg, &l);
	if (k < 0)
		return k;
	k = cg_list_inos(&l, ret);
	if (k == 0)
		*ret_n = l.n;
	cg_list_done(&l);
	return k;
}

int cg_create(const struct cg_root *r, const char *parent_rel, const char *name,
	      struct cgroup *ret)
{
	_cleanup_close_ int pfd = -1;
	_cleanup_free_ char *rel = NULL;

	assert(r);
	assert(ret);

	if (!name[0] || strchr(name, '/') || streq(name, ".") || streq(name, ".."))
		return -EINVAL;
	pfd = open_dir_beneath(r->fd, parent_rel);
	if (pfd < 0)
		return pfd;
	if (mkdirat(pfd, name, 0755) < 0 && errno != EEXIST)
		return negative_errno();
	while (*parent_rel == '/')
		parent_rel++;
	if (asprintf(&rel, "/%s%s%s", parent_rel, *parent_rel ? "/" : "", name) < 0)
		return -ENOMEM;
	return cg_open_rel(r, rel, ret);
}

int cg_attach(const struct cgroup *cg, pid_t pid)
{
	_cleanup_close_ int fd = -1;
	char buf[32];
	int n;

	assert(cg);
	assert(cg->fd >= 0);

	fd = openat(cg->fd, "cgroup.procs", O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return negative_errno();
	n = snprintf(buf, sizeof(buf), "%d\n", (int)pid);
	return write_all(fd, buf, (size_t)n);
}

int cg_remove_if_empty(const struct cg_root *r, const char *rel)
{
	assert(r);
	while (*rel == '/')
		rel++;
	if (!*rel || !rel_is_sane(rel))
		return -EINVAL;
	if (unlinkat(r->fd, rel, AT_REMOVEDIR) < 0)
		return negative_errno();
	return 0;
}

/* ---- Per-session cgroups */

static const char *last_component(const char *rel)
{
	const char *last = strrchr(rel, '/');

	return last ? last + 1 : rel;
}

bool cg_is_session_scope(const char *rel)
{
	return fnmatch("session-*.scope", last_component(rel), 0) == 0;
}

bool cg_is_systemd_unit(const char *rel)
{
	const char *last = last_component(rel);
	size_t n = strlen(last);

	return (n > 6 && streq(last + n - 6, ".slice")) || (n > 6 && streq(last + n - 6, ".scope")) ||
	       (n > 8 && streq(last + n - 8, ".service"));
}

void cg_session_done(struct cg_session *s)
{
	free(s->rel);
	free(s->orig);
	*s = (struct cg_session){0};
}

static void __attribute__((format(printf, 3, 4)))
note_set(struct cg_note *note, bool debug, const char *fmt, ...)
{
	va_list ap;

	if (!note)
		return;
	note->debug = debug;
	va_start(ap, fmt);
	vsnprintf(note->msg, sizeof(note->msg), fmt, ap);
	va_end(ap);
}

/* The parent a per-session cgroup is made in: v1 a "tmpfs-sweep" child of the caller's
 * own cgroup (so the service's limits still hold), v2 the delegated cgroup_parent=. */
static int session_parent(const struct cg_root *root, const struct cg_session_opts *o,
			  const char *own, char **ret, struct cg_note *note)
{
	if (root->mode == CG_V1) {
		struct cgroup p = {.fd = -1};
		int r = cg_create(root, own, "tmpfs-sweep", &p);

		if (r >= 0)
			*ret = TAKE_PTR(p.rel);
		cgroup_done(&p);
		return r;
	}
	if (!o->parent) {
		note_set(note, false, "cgroup=create on cgroup v2 without cgroup_parent=, ignoring");
		return -ENOTDIR;
	}
	if (cg_is_systemd_unit(o->parent)) {
		note_set(note, false, "cgroup_parent=\"%s\" is a systemd unit, ignoring", o->parent);
		return -EPERM;
	}
	*ret = strdup(o->parent);
	return *ret ? 0 : -ENOMEM;
}

int cg_session_open(const struct cg_session_opts *o, struct cg_session *s, struct cg_note *note)
{
	struct cg_root root = {.fd = -1};
	struct cgroup cg = {.fd = -1};
	_cleanup_free_ char *rel = NULL, *parent = NULL;
	enum cg_mode mode;
	int r;

	*s = (struct cg_session){0};
	if (note)
		*note = (struct cg_note){0};
	if (!o->create) {
		/* The common case, at every login: the caller's cgroup the quick way. */
		r = cg_self_quick(&mode, &rel, &s->ino);
		if (r == 0) {
			s->mode = mode;
			s->per_session = cg_is_session_scope(rel);
			s->rel = TAKE_PTR(rel);
			return 0;
		}
		if (r == -ENOMEM)
			return r;
		if (r == -ENOMEDIUM) {
			note_set(note, true, "no memory cgroup hierarchy");
			return 0;
		}
		if (r != -ENOENT) {
			note_set(note, false, "cannot read own memory cgroup: %s", strerror(-r));
			return 0;
		}
	}
	r = cg_root_open(NULL, &root);
	if (r < 0) {
		note_set(note, true, "no memory cgroup hierarchy: %s", strerror(-r));
		return r == -ENOMEM ? r : 0;
	}
	r = cg_path_of_pid(&root, 0, NULL, &rel);
	if (r < 0) {
		note_set(note, false, "cannot read own memory cgroup: %s", strerror(-r));
		goto out;
	}
	if (!o->create || cg_is_session_scope(rel)) {
		r = cg_ino_rel(&root, rel, &s->ino);
		if (r < 0) {
			note_set(note, false, "cannot open cgroup \"%s\": %s", rel, strerror(-r));
			goto out;
		}
		s->mode = root.mode;
		s->per_session = cg_is_session_scope(rel);
		s->rel = TAKE_PTR(rel);
		goto out;
	}
	s->mode = root.mode;
	r = session_parent(&root, o, rel, &parent, note);
	/* Made now, entered only once the record is written (cg_session_enter): what open
	 * writes itself is not the session's to be charged for. */
	if (r >= 0)
		r = cg_create(&root, parent, o->name, &cg);
	if (r < 0) {
		struct cgroup cur = {.fd = -1};

		/* Fall back to the caller's own cgroup, shared by other sessions. */
		if (!note || !note->msg[0])
			note_set(note, false, "cannot create a session cgroup below \"%s\": %s",
				 parent ? parent : rel, strerror(-r));
		if (cg_open_rel(&root, rel, &cur) >= 0) {
			s->ino = cur.ino;
			s->rel = TAKE_PTR(rel);
			cgroup_done(&cur);
		}
		goto out;
	}
	s->created = s->per_session = true;
	s->ino = cg.ino;
	s->rel = TAKE_PTR(cg.rel);
	s->orig = TAKE_PTR(rel);
out:
	cgroup_done(&cg);
	cg_root_close(&root);
	return r == -ENOMEM ? r : 0;
}

int cg_session_enter(struct cg_session *s)
{
	struct cg_root root = {.fd = -1};
	struct cgroup cg = {.fd = -1};
	int r;

	if (!s->created)
		return 0;
	r = cg_root_open(NULL, &root);
	if (r >= 0)
		r = cg_open_rel(&root, s->rel, &cg);
	if (r >= 0)
		r = cg_attach(&cg, getpid());
	if (r < 0) {
		if (root.fd >= 0)
			(void)cg_remove_if_empty(&root, s->rel);
		free(s->rel);
		s->rel = TAKE_PTR(s->orig);
		s->created = s->per_session = false;
		s->ino = 0;
		cgroup_done(&cg);
		if (s->rel && root.fd >= 0 && cg_open_rel(&root, s->rel, &cg) >= 0)
			s->ino = cg.ino;
	}
	cgroup_done(&cg);
	cg_root_close(&root);
	return r;
}

int cg_session_leave(const struct cg_session *s, bool move, bool remove)
{
	struct cg_root root = {.fd = -1};
	struct cgroup orig = {.fd = -1};
	int r = 0, k;

	if (!s->created || !s->rel)
		return 0;
	k = cg_root_open(NULL, &root);
	if (k < 0)
		return k;
	if (root.mode != s->mode) {
		r = -EMEDIUMTYPE;
		goto out;
	}
	if (move) {
		k = cg_open_rel(&root, s->orig ? s->orig : "/", &orig);
		if (k >= 0)
			k = cg_attach(&orig, getpid());
		if (k < 0 && r == 0)
			r = k;
	}
	if (remove) {
		k = cg_remove_if_empty(&root, s->rel);
		if (k < 0 && k != -ENOENT && r == 0)
			r = k;
	}
out:
	cgroup_done(&orig);
	cg_root_close(&root);
	return r;
}

/* ---- Session cgroups left for gc: StateDir/cgroups/ID, "v1|v2 INO REL\n" */

#define LEFT_DIR "cgroups"
#define LEFT_MAX 4096

int cg_left_note(const char *statedir, const char *id, enum cg_mode mode, const char *rel,
		 uint64_t ino)
{
	_cleanup_close_ int dfd = -1, fd = -1;
	_cleanup_free_ char *line = NULL;
	int n;

	if (!record_id_valid(id) || (mode != CG_V1 && mode != CG_V2) || !rel || rel[0] != '/' ||
	    strchr(rel, '\n'))
		return -EINVAL;
	dfd = record_open_subdir(statedir, LEFT_DIR);
	if (dfd < 0)
		return dfd;
	n = asprintf(&line, "%s %" PRIu64 " %s\n", mode == CG_V1 ? "v1" : "v2", ino, rel);
	if (n < 0)
		return -ENOMEM;
	if (n >= LEFT_MAX)
		return -ENAMETOOLONG;
	fd = openat(dfd, id, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY,
		    0600);
	if (fd < 0)
		return negative_errno();
	return write_all(fd, line, (size_t)n);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int cg_left_list(const char *statedir, char ***ret, size_t *ret_n)
{
	_cleanup_close_ int dfd = -1;
	_cleanup_closedir_ DIR *d = NULL;
	char **v = NULL;
	size_t n = 0;
	struct dirent *de;

	*ret = NULL;
	*ret_n = 0;
	dfd = record_open_subdir(statedir, LEFT_DIR);
	if (dfd < 0)
		return dfd;
	d = fdopendir(dfd);
	if (!d)
		return negative_errno();
	TAKE_FD(dfd);
	while ((de = readdir(d))) {
		char **nv;

		if (!record_id_valid(de->d_name))
			continue;
		nv = reallocarray(v, n + 2, sizeof(*v));
		if (!nv || !(nv[n] = strdup(de->d_name))) {
			if (nv)
				v = nv;
			for (size_t i = 0; i < n; i++)
				free(v[i]);
			free(v);
			return -ENOMEM;
		}
		v = nv;
		v[++n] = NULL;
	}
	if (n)
		qsort(v, n, sizeof(*v), cmp_str);
	*ret = v;
	*ret_n = n;
	return 0;
}

/* 1 when no process is in rel and it has no child cgroup (what rmdir wants), 0 if not. */
static int cg_is_empty(const struct cg_root *root, const char *rel)
{
	struct cgroup cg = {.fd = -1};
	struct cg_list l = {0};
	_cleanup_free_ char *procs = NULL;
	int r = cg_open_rel(root, rel, &cg);

	if (r >= 0)
		r = cg_list_descendants(root, &cg, &l);
	if (r >= 0)
		r = (int)read_oneshot_file_at(cg.fd, "cgroup.procs", 1 << 16, &procs);
	if (r == -EFBIG)
		r = 0;
	else if (r >= 0)
		r = r == 0 && l.n == 1;
	cg_list_done(&l);
	cgroup_done(&cg);
	return r;
}

static int left_read(int dfd, const char *id, enum cg_mode *mode, uint64_t *ino, char **rel)
{
	_cleanup_close_ int fd = openat(dfd, id, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	_cleanup_free_ char *buf = NULL;
	char m[3];
	int pos = 0;
	struct stat st;
	ssize_t len;

	if (fd < 0)
		return negative_errno();
	if (fstat(fd, &st) < 0)
		return negative_errno();
	len = read_regular_fd(fd, &st, LEFT_MAX, &buf);
	if (len < 0)
		return (int)len;
	if (sscanf(buf, "%2s %" SCNu64 " %n", m, ino, &pos) != 2 || !pos || buf[pos] != '/' ||
	    buf[len - 1] != '\n')
		return -EBADMSG;
	buf[len - 1] = '\0';
	*mode = streq(m, "v1") ? CG_V1 : streq(m, "v2") ? CG_V2 : CG_NONE;
	if (*mode == CG_NONE || strchr(buf + pos, '\n'))
		return -EBADMSG;
	*rel = strdup(buf + pos);
	return *rel ? 0 : -ENOMEM;
}

int cg_left_reap(const char *statedir, const char *id, bool dry_run, char **ret_rel)
{
	_cleanup_close_ int dfd = -1;
	_cleanup_free_ char *rel = NULL;
	struct cg_root root = {.fd = -1};
	uint64_t ino = 0, now = 0;
	enum cg_mode mode = CG_NONE;
	int r;

	*ret_rel = NULL;
	if (!record_id_valid(id))
		return -EINVAL;
	dfd = record_open_subdir(statedir, LEFT_DIR);
	if (dfd < 0)
		return dfd;
	r = left_read(dfd, id, &mode, &ino, &rel);
	if (r < 0)
		goto drop_bad;
	r = cg_root_open(NULL, &root);
	if (r < 0)
		goto out;
	/* Only the cgroup made for this session: named by its id, the same inode. */
	if (root.mode != mode || !streq(last_component(rel), id))
		r = 2;
	else {
		r = cg_ino_rel(&root, rel, &now);
		if (r == -ENOENT || (r == 0 && now != ino))
			r = 2; /* gone, or another cgroup at that path now: not ours to remove */
		else if (r == 0 && !dry_run) {
			r = cg_remove_if_empty(&root, rel);
			r = r == 0 ? 1 : r == -ENOENT ? 2 : r == -EBUSY ? 0 : r;
		} else if (r == 0)
			r = cg_is_empty(&root, rel);
	}
	if (r >= 1 && !dry_run && unlinkat(dfd, id, 0) < 0 && errno != ENOENT)
		r = negative_errno();
	*ret_rel = TAKE_PTR(rel);
out:
	cg_root_close(&root);
	return r;
drop_bad:
	/* A note that does not parse names nothing gc could safely remove. */
	if (r == -EBADMSG && !dry_run)
		(void)unlinkat(dfd, id, 0);
	return r;
}
