/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "mntns.h"
#include "util.h"

#include <assert.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>

/* File systems whose lookups the kernel answers by itself: walking through one never waits
 * on a user-space daemon or a network. overlay is checked apart (its layers may be a
 * user's FUSE mount when a user namespace made it). */
static const char *const local_fs[] = {
	"tmpfs", "devtmpfs", "ramfs", "ext2", "ext3", "ext4", "xfs", "btrfs", "f2fs",
	"vfat", "squashfs", "erofs", "zfs", "jfs", "reiserfs", NULL,
};

struct minfo {
	uint64_t id;
	dev_t dev;
	char *point;
	char fstype[32];
};

struct mtable {
	struct minfo *v;
	size_t n;
};

static void mtable_done(struct mtable *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->v[i].point);
	free(t->v);
	*t = (struct mtable){0};
}

/* /proc/PID/mountinfo: id, device, mount point, file system type of every mount. */
static int mtable_load(const char *proc, pid_t pid, struct mtable *t)
{
	_cleanup_fclose_ FILE *f = NULL;
	_cleanup_free_ char *line = NULL;
	char path[64];
	size_t len = 0;

	snprintf(path, sizeof(path), "%s/%d/mountinfo", proc, (int)pid);
	f = fopen(path, "re");
	if (!f)
		return negative_errno();
	while (getline(&line, &len, f) > 0) {
		unsigned long long id;
		unsigned maj, min;
		char point[4096], fstype[32];
		const char *sep = strstr(line, " - ");
		struct minfo *nv;

		if (!sep || sscanf(line, "%llu %*u %u:%u %*s %4095s", &id, &maj, &min, point) != 4 ||
		    sscanf(sep + 3, "%31s", fstype) != 1)
			continue;
		nv = reallocarray(t->v, t->n + 1, sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		t->v = nv;
		unescape_octal(point);
		nv[t->n] = (struct minfo){.id = id, .dev = makedev(maj, min)};
		snprintf(nv[t->n].fstype, sizeof(nv[t->n].fstype), "%s", fstype);
		nv[t->n].point = strdup(point);
		if (!nv[t->n].point)
			return -ENOMEM;
		t->n++;
	}
	return 0;
}

static const struct minfo *mtable_find(const struct mtable *t, uint64_t id)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->v[i].id == id)
			return &t->v[i];
	return NULL;
}

static int ns_ino(const char *proc, const char *pid, const char *ns, uint64_t *ret)
{
	char path[96];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s/ns/%s", proc, pid, ns);
	if (stat(path, &st) < 0) /* nsfs: the namespace's inode, nothing is opened */
		return negative_errno();
	*ret = st.st_ino;
	return 0;
}

/* May a lookup walk through the mount fd is on? 0 yes; else -errno and *why. */
static int walkable(int fd, const struct mtable *t, bool own_userns, const struct minfo **ret,
		    char *why, size_t size)
{
	struct statx stx;
	const struct minfo *m;

	/* No sync: a FUSE or network file system is not asked for attributes. */
	if (statx(fd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC | AT_NO_AUTOMOUNT, STATX_MNT_ID,
		  &stx) < 0)
		return negative_errno();
	m = (stx.stx_mask & STATX_MNT_ID) ? mtable_find(t, stx.stx_mnt_id) : NULL;
	if (!m) {
		snprintf(why, size, "mounts changed while looked at");
		return -ESTALE;
	}
	*ret = m;
	for (size_t i = 0; local_fs[i]; i++)
		if (streq(m->fstype, local_fs[i]))
			return 0;
	if (streq(m->fstype, "overlay") && own_userns)
		return 0;
	snprintf(why, size, "its path %s crosses a %s mount%s", m->point, m->fstype,
		 streq(m->fstype, "overlay") ? " of another user namespace" : "");
	return -EXDEV;
}

/* The root of tmpfs mount m, from the process's root, one checked component at a time. */
static int open_mount(int rootfd, const struct mtable *t, const struct minfo *m,
		      bool own_userns, char *why, size_t size)
{
	_cleanup_close_ int cur = fcntl(rootfd, F_DUPFD_CLOEXEC, 3);
	_cleanup_free_ char *copy = strdup(m->point);
	const struct minfo *at = NULL;
	struct statfs sfs;
	char *save = NULL;
	int r;

	if (cur < 0)
		return negative_errno();
	if (!copy)
		return -ENOMEM;
	for (char *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		struct open_how how = {
			.flags = O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC,
			.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
		};
		int next;

		r = walkable(cur, t, own_userns, &at, why, size);
		if (r < 0)
			return r;
		if (streq(c, ".."))
			return -EXDEV;
		next = (int)syscall(SYS_openat2, cur, c, &how, sizeof(how));
		if (next < 0) {
			r = negative_errno();
			snprintf(why, size, "%s: %s", m->point, strerror(-r));
			return r;
		}
		close(cur);
		cur = next;
	}
	r = walkable(cur, t, true, &at, why, size);
	if (r < 0 && r != -EXDEV)
		return r;
	if (at != m)
		return -EREMOTE; /* covered by another mount: not reachable, nothing to see */
	r = openat(cur, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOCTTY);
	if (r < 0)
		return negative_errno();
	if (fstatfs(r, &sfs) < 0 || sfs.f_type != TMPFS_MAGIC) {
		close(r);
		return -EMEDIUMTYPE;
	}
	return r;
}

static int add_unseen(struct ns_roots *rs, uint64_t ns, pid_t pid, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int add_unseen(struct ns_roots *rs, uint64_t ns, pid_t pid, const char *fmt, ...)
{
	struct ns_unseen *nv = reallocarray(rs->unseen, rs->n_unseen + 1, sizeof(*nv));
	va_list ap;

	if (!nv)
		return -ENOMEM;
	rs->unseen = nv;
	nv[rs->n_unseen] = (struct ns_unseen){.ns = ns, .pid = pid};
	va_start(ap, fmt);
	vsnprintf(nv[rs->n_unseen].why, sizeof(nv->why), fmt, ap);
	va_end(ap);
	rs->n_unseen++;
	return 0;
}

static bool dev_in(const dev_t *v, size_t n, dev_t d)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == d)
			return true;
	return false;
}

static int add_root(struct ns_roots *rs, int fd, const struct minfo *m, uint64_t ns, pid_t pid)
{
	struct ns_root *nv = reallocarray(rs->v, rs->n + 1, sizeof(*nv));

	if (!nv)
		return -ENOMEM;
	rs->v = nv;
	nv[rs->n] = (struct ns_root){.fd = fd, .dev = m->dev, .ns = ns, .pid = pid};
	nv[rs->n].path = strdup(m->point);
	if (!nv[rs->n].path)
		return -ENOMEM;
	rs->n++;
	return 0;
}

/* One namespace, through process pid. */
static int one_ns(const char *proc, pid_t pid, uint64_t ns, bool own_userns, const dev_t *skip,
		  size_t n_skip, struct ns_roots *rs)
{
	struct mtable t = {0};
	_cleanup_close_ int rootfd = -1;
	char path[64], why[160];
	int r;

	r = mtable_load(proc, pid, &t);
	if (r == -ENOMEM)
		goto out;
	if (r < 0) {
		r = add_unseen(rs, ns, pid, "its mount table: %s", strerror(-r));
		goto out;
	}
	snprintf(path, sizeof(path), "%s/%d/root", proc, (int)pid);
	/* The process's root directory, pinned: O_PATH opens nothing. */
	rootfd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0) {
		r = add_unseen(rs, ns, pid, "its root: %s", strerror(errno));
		goto out;
	}
	for (size_t i = 0; i < t.n; i++) {
		const struct minfo *m = &t.v[i];
		int fd;

		if (!streq(m->fstype, "tmpfs") || dev_in(skip, n_skip, m->dev))
			continue;
		/* The same tmpfs mounted twice in that namespace: once. */
		bool dup = false;
		for (size_t k = 0; k < rs->n && !dup; k++)
			dup = rs->v[k].dev == m->dev;
		if (dup)
			continue;
		why[0] = '\0';
		fd = open_mount(rootfd, &t, m, own_userns, why, sizeof(why));
		if (fd == -ENOMEM) {
			r = fd;
			goto out;
		}
		if (fd == -EREMOTE || fd == -ENOENT)
			continue; /* covered, or unmounted meanwhile */
		if (fd < 0) {
			r = add_unseen(rs, ns, pid, "tmpfs %s not looked at: %s", m->point,
				       why[0] ? why : strerror(-fd));
			if (r < 0)
				goto out;
			continue;
		}
		r = add_root(rs, fd, m, ns, pid);
		if (r < 0) {
			close(fd);
			goto out;
		}
	}
	r = 0;
out:
	mtable_done(&t);
	return r;
}

int mntns_tmpfs_roots(const char *proc, const pid_t *pids, size_t n, const dev_t *skip_devs,
		      size_t n_skip, struct ns_roots *ret)
{
	struct ns_roots rs = {0};
	uint64_t self_ns = 0, self_user = 0, *done = NULL;
	size_t n_done = 0;
	int r = 0;

	assert(pids || n == 0);
	assert(skip_devs || n_skip == 0);
	assert(ret);

	*ret = (struct ns_roots){0};
	if (!proc)
		proc = "/proc";
	if (ns_ino(proc, "self", "mnt", &self_ns) < 0 || ns_ino(proc, "self", "user", &self_user) < 0)
		return 0; /* no namespaces to tell apart */
	for (size_t i = 0; r >= 0 && i < n; i++) {
		char pid[24];
		uint64_t ns, user;
		bool seen = false;

		snprintf(pid, sizeof(pid), "%d", (int)pids[i]);
		if (ns_ino(proc, pid, "mnt", &ns) < 0 || ns == self_ns)
			continue; /* gone, or ours */
		for (size_t k = 0; k < n_done && !seen; k++)
			seen = done[k] == ns;
		if (seen)
			continue;
		uint64_t *nd = reallocarray(done, n_done + 1, sizeof(*nd));
		if (!nd) {
			r = -ENOMEM;
			break;
		}
		done = nd;
		done[n_done++] = ns;
		if (ns_ino(proc, pid, "user", &user) < 0)
			user = 0;
		r = one_ns(proc, pids[i], ns, user == self_user, skip_devs, n_skip, &rs);
	}
	free(done);
	if (r < 0) {
		ns_roots_done(&rs);
		return r;
	}
	*ret = rs;
	return 0;
}

void ns_roots_done(struct ns_roots *r)
{
	assert(r);

	for (size_t i = 0; i < r->n; i++) {
		safe_close(r->v[i].fd);
		free(r->v[i].path);
	}
	free(r->v);
	free(r->unseen);
	*r = (struct ns_roots){0};
}
