/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * inuse.c: /proc is read with raw getdents64 into one reused buffer and every
 * record is filtered by device before it touches the hash set, so the cost is
 * one statx per open fd plus one read per process's maps.
 */
#include "inuse.h"
#include "util.h"
#include "dirent64.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <time.h>

struct slot {
	uint64_t dev, ino;
	int32_t pid;
	uint8_t reason; /* INUSE_NONE: empty slot */
};

struct inuse {
	struct slot *v;
	size_t cap, used; /* cap is a power of two */
	const dev_t *devs;
	size_t ndevs;
	struct inuse_stats st;
	char *buf; /* reused read buffer */
	size_t bufcap;
};

static const char *const reason_names[] = {
	[INUSE_NONE] = "none",
	[INUSE_MAPPED] = "mapped",
	[INUSE_OPEN] = "open",
	[INUSE_LOCKED] = "locked",
	[INUSE_LEASED] = "leased",
};

const char *inuse_reason_str(enum inuse_reason r)
{
	return (unsigned)r < ARRAY_SIZE(reason_names) ? reason_names[r] : "unknown";
}

static size_t slot_hash(uint64_t dev, uint64_t ino)
{
	uint64_t h = ino * 0x9e3779b97f4a7c15ULL ^ (dev + 0x632be59bd9b4e019ULL) * 0xbf58476d1ce4e5b9ULL;

	return (size_t)(h ^ (h >> 31));
}

static struct slot *slot_find(const struct slot *v, size_t cap, uint64_t dev, uint64_t ino)
{
	size_t i = slot_hash(dev, ino) & (cap - 1);

	for (;; i = (i + 1) & (cap - 1)) {
		const struct slot *s = &v[i];

		if (s->reason == INUSE_NONE || (s->dev == dev && s->ino == ino))
			return (struct slot *)s;
	}
}

static int set_grow(struct inuse *u)
{
	size_t ncap = u->cap ? u->cap * 2 : 1024, i;
	struct slot *nv = calloc(ncap, sizeof(*nv));

	if (!nv)
		return -ENOMEM;
	for (i = 0; i < u->cap; i++)
		if (u->v[i].reason != INUSE_NONE)
			*slot_find(nv, ncap, u->v[i].dev, u->v[i].ino) = u->v[i];
	free(u->v);
	u->v = nv;
	u->cap = ncap;
	return 0;
}

static bool dev_wanted(const struct inuse *u, dev_t dev)
{
	size_t i;

	if (!u->ndevs)
		return true;
	for (i = 0; i < u->ndevs; i++)
		if (u->devs[i] == dev)
			return true;
	return false;
}

static int set_add(struct inuse *u, dev_t dev, ino_t ino, enum inuse_reason r, pid_t pid)
{
	struct slot *s;

	if (!dev_wanted(u, dev))
		return 0;
	if ((u->used + 1) * 2 > u->cap && set_grow(u) < 0)
		return -ENOMEM;
	s = slot_find(u->v, u->cap, dev, ino);
	if (s->reason == INUSE_NONE) {
		*s = (struct slot){ .dev = dev, .ino = ino, .pid = pid, .reason = (uint8_t)r };
		u->used++;
	} else if (r > s->reason) {
		s->reason = (uint8_t)r;
		s->pid = pid;
	}
	return 0;
}

bool inuse_lookup(const struct inuse *u, dev_t dev, ino_t ino, const char **reason, pid_t *pid)
{
	const struct slot *s;

	if (!u->cap)
		return false;
	s = slot_find(u->v, u->cap, dev, ino);
	if (s->reason == INUSE_NONE)
		return false;
	if (reason)
		*reason = inuse_reason_str(s->reason);
	if (pid)
		*pid = s->pid;
	return true;
}

const struct inuse_stats *inuse_get_stats(const struct inuse *u)
{
	return &u->st;
}

void inuse_free(struct inuse *u)
{
	if (!u)
		return;
	free(u->v);
	free(u->buf);
	free(u);
}

static const char *skip_ws(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

static const char *skip_token(const char *p)
{
	while (*p && *p != ' ' && *p != '\t' && *p != '\n')
		p++;
	return p;
}

static bool parse_hex(const char **pp, unsigned long long *v)
{
	char *end;

	errno = 0;
	*v = strtoull(*pp, &end, 16);
	if (end == *pp || errno)
		return false;
	*pp = end;
	return true;
}

static bool parse_dec(const char **pp, unsigned long long *v)
{
	char *end;

	if (**pp < '0' || **pp > '9')
		return false;
	errno = 0;
	*v = strtoull(*pp, &end, 10);
	if (end == *pp || errno)
		return false;
	*pp = end;
	return true;
}

/* "start-end perms offset MAJ:MIN INODE [path]", MAJ:MIN in hex. */
int inuse_parse_maps_line(const char *line, dev_t *dev, ino_t *ino)
{
	unsigned long long maj, min, i;
	const char *p = line;
	int k;

	for (k = 0; k < 3; k++) {
		p = skip_ws(p);
		if (!*p || *p == '\n')
			return -EINVAL;
		p = skip_token(p);
	}
	p = skip_ws(p);
	if (!parse_hex(&p, &maj) || *p++ != ':' || !parse_hex(&p, &min))
		return -EINVAL;
	p = skip_ws(p);
	if (!parse_dec(&p, &i))
		return -EINVAL;
	if (i == 0)
		return -ENOENT;
	*dev = makedev(maj, min);
	*ino = (ino_t)i;
	return 0;
}

/* "N: [->] TYPE MODE RW PID MAJ:MIN:INODE START END"; MAJ:MIN hex, INODE decimal.
 * A "->" line is a waiter on the same inode: in use all the same. */
int inuse_parse_locks_line(const char *line, dev_t *dev, ino_t *ino, pid_t *pid,
			   enum inuse_reason *reason)
{
	unsigned long long maj, min, i;
	const char *p = skip_ws(line), *type;
	long long pv;
	char *end;
	int k;

	p = skip_token(p); /* "N:" */
	p = skip_ws(p);
	if (startswith(p, "->")) {
		p = skip_ws(p + 2);
	}
	type = p;
	if (!*type || *type == '\n')
		return -EINVAL;
	*reason = startswith(type, "LEASE") || startswith(type, "DELEG") ? INUSE_LEASED
									   : INUSE_LOCKED;
	for (k = 0; k < 3; k++) { /* type, mode, rw */
		p = skip_ws(p);
		if (!*p || *p == '\n')
			return -EINVAL;
		p = skip_token(p);
	}
	p = skip_ws(p);
	errno = 0;
	pv = strtoll(p, &end, 10);
	if (end == p || errno)
		return -EINVAL;
	p = skip_ws(end);
	if (startswith(p, "<none>"))
		return -ENOENT;
	if (!parse_hex(&p, &maj) || *p++ != ':' || !parse_hex(&p, &min) || *p++ != ':' ||
	    !parse_dec(&p, &i))
		return -EINVAL;
	*dev = makedev(maj, min);
	*ino = (ino_t)i;
	*pid = pv > 0 && pv <= INT32_MAX ? (pid_t)pv : -1;
	return 0;
}

/* Read a whole file at dirfd/path into u->buf (NUL-terminated). */
static ssize_t read_all_at(struct inuse *u, int dirfd, const char *path)
{
	_cleanup_close_ int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	size_t len = 0;

	if (fd < 0)
		return negative_errno();
	for (;;) {
		ssize_t n;

		if (u->bufcap - len < 4096) {
			size_t ncap = u->bufcap ? u->bufcap * 2 : 65536;
			char *nb = realloc(u->buf, ncap);

			if (!nb)
				return -ENOMEM;
			u->buf = nb;
			u->bufcap = ncap;
		}
		n = read(fd, u->buf + len, u->bufcap - len - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return negative_errno();
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	u->buf[len] = '\0';
	return (ssize_t)len;
}

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

static bool proc_gone(int err)
{
	return err == -ENOENT || err == -ESRCH;
}

/* The targets of /proc/PID/fd/N, by statx through the magic link (never opened). */
static int scan_fds(struct inuse *u, int proc_fd, const char *pid_s, pid_t pid, bool *denied)
{
	char path[32], dbuf[8192];
	_cleanup_close_ int dfd = -1;
	int r;

	snprintf(path, sizeof(path), "%s/fd", pid_s);
	dfd = openat(proc_fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return negative_errno();
	for (;;) {
		long n = syscall(SYS_getdents64, dfd, dbuf, sizeof(dbuf));
		long off;

		if (n < 0)
			return negative_errno();
		if (n == 0)
			break;
		for (off = 0; off < n;) {
			struct linux_dirent64 *d = (struct linux_dirent64 *)(dbuf + off);
			struct statx stx;

			off += d->d_reclen;
			if (d->d_name[0] == '.')
				continue;
			u->st.fds++;
			if (statx(dfd, d->d_name, AT_STATX_DONT_SYNC | AT_NO_AUTOMOUNT, STATX_INO,
				  &stx) < 0) {
				if (errno != ENOENT && errno != ESRCH)
					*denied = true;
				continue;
			}
			r = set_add(u, makedev(stx.stx_dev_major, stx.stx_dev_minor),
				    (ino_t)stx.stx_ino, INUSE_OPEN, pid);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

static int scan_maps(struct inuse *u, int proc_fd, const char *pid_s, pid_t pid)
{
	char path[32];
	ssize_t len;
	char *p, *nl;
	int r;

	snprintf(path, sizeof(path), "%s/maps", pid_s);
	len = read_all_at(u, proc_fd, path);
	if (len < 0)
		return (int)len;
	for (p = u->buf; *p; p = nl + 1) {
		dev_t dev;
		ino_t ino;

		nl = strchr(p, '\n');
		if (!nl)
			nl = p + strlen(p) - 1;
		u->st.maps++;
		if (inuse_parse_maps_line(p, &dev, &ino) < 0)
			continue;
		r = set_add(u, dev, ino, INUSE_MAPPED, pid);
		if (r < 0)
			return r;
	}
	return 0;
}

static int scan_locks(struct inuse *u, int proc_fd)
{
	ssize_t len = read_all_at(u, proc_fd, "locks");
	char *p, *nl;
	int r;

	if (len < 0)
		return (int)len;
	for (p = u->buf; *p; p = nl + 1) {
		enum inuse_reason reason;
		dev_t dev;
		ino_t ino;
		pid_t pid;

		nl = strchr(p, '\n');
		if (!nl)
			nl = p + strlen(p) - 1;
		u->st.locks++;
		if (inuse_parse_locks_line(p, &dev, &ino, &pid, &reason) < 0)
			continue;
		r = set_add(u, dev, ino, reason, pid);
		if (r < 0)
			return r;
	}
	return 0;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

static int snapshot(int proc_fd, pid_t skip_pid, const dev_t *devs, size_t n, bool locks_only,
		    struct inuse **ret)
{
	struct inuse *u;
	uint64_t t0 = mono_ns();
	char dbuf[32768];
	int r;

	u = calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	u->devs = devs;
	u->ndevs = n;
	r = set_grow(u);
	if (r < 0)
		goto fail;

	/* Locks first: a lease holder may have no other trace we could see. */
	r = scan_locks(u, proc_fd);
	if (r == -ENOMEM)
		goto fail;
	if (locks_only)
		goto done;

	if (lseek(proc_fd, 0, SEEK_SET) < 0) {
		r = negative_errno();
		goto fail;
	}
	for (;;) {
		long nr = syscall(SYS_getdents64, proc_fd, dbuf, sizeof(dbuf));
		long off;

		if (nr < 0) {
			r = negative_errno();
			goto fail;
		}
		if (nr == 0)
			break;
		for (off = 0; off < nr;) {
			struct linux_dirent64 *d = (struct linux_dirent64 *)(dbuf + off);
			bool denied = false;
			pid_t pid;

			off += d->d_reclen;
			if (!all_digits(d->d_name))
				continue;
			pid = (pid_t)strtol(d->d_name, NULL, 10);
			if (pid == skip_pid)
				continue;
			u->st.procs++;
			r = scan_fds(u, proc_fd, d->d_name, pid, &denied);
			if (r == -ENOMEM)
				goto fail;
			if (proc_gone(r)) {
				u->st.procs_gone++;
				continue;
			}
			if (r < 0)
				denied = true;
			r = scan_maps(u, proc_fd, d->d_name, pid);
			if (r == -ENOMEM)
				goto fail;
			if (r < 0 && !proc_gone(r))
				denied = true;
			if (denied)
				u->st.procs_denied++;
		}
	}
done:
	/* The caller's devs array may not outlive the snapshot: lookups do not need it. */
	u->devs = NULL;
	u->ndevs = 0;
	free(u->buf);
	u->buf = NULL;
	u->bufcap = 0;
	u->st.entries = u->used;
	u->st.elapsed_ns = mono_ns() - t0;
	*ret = u;
	return 0;
fail:
	inuse_free(u);
	return r;
}

int inuse_snapshot_at(int proc_fd, pid_t skip_pid, const dev_t *devs, size_t n,
		      struct inuse **ret)
{
	return snapshot(proc_fd, skip_pid, devs, n, false, ret);
}

int inuse_snapshot(const dev_t *devs, size_t n, struct inuse **ret)
{
	_cleanup_close_ int proc_fd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (proc_fd < 0)
		return negative_errno();
	return snapshot(proc_fd, getpid(), devs, n, false, ret);
}

int inuse_snapshot_locks(const dev_t *devs, size_t n, struct inuse **ret)
{
	_cleanup_close_ int proc_fd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (proc_fd < 0)
		return negative_errno();
	return snapshot(proc_fd, getpid(), devs, n, true, ret);
}
