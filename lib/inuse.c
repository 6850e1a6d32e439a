/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * inuse.c: the lease probe, the task and socket tables, and the /proc pass that names
 * holders. Every /proc reader here has a deadline and counts what it could not see, so
 * that a caller can tell "nobody" from "did not look".
 */
#include "inuse.h"
#include "beneath.h"
#include "dirent64.h"
#include "fileio.h"
#include "util.h"

#include <assert.h>
#include <fcntl.h>
#include <linux/kcmp.h>
#include <linux/magic.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>

#ifndef NSFS_MAGIC
#define NSFS_MAGIC 0x6e736673
#endif

/* ---- a hash set of (dev, ino) ---- */

struct slot {
	uint64_t dev, ino, aux;
	int32_t pid;
	uint8_t reason; /* INUSE_NONE: empty slot */
};

struct idset {
	struct slot *v;
	size_t cap, used; /* cap is a power of two */
};

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

static int idset_grow(struct idset *u)
{
	size_t ncap = u->cap ? u->cap * 2 : 256, i;
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

/* Add (dev, ino), or raise its reason. 1: new, 0: known, -ENOMEM. */
static int idset_add(struct idset *u, dev_t dev, ino_t ino, enum inuse_reason r, pid_t pid,
		     uint64_t aux)
{
	struct slot *s;

	if ((u->used + 1) * 2 > u->cap && idset_grow(u) < 0)
		return -ENOMEM;
	s = slot_find(u->v, u->cap, dev, ino);
	if (s->reason == INUSE_NONE) {
		*s = (struct slot){
			.dev = dev, .ino = ino, .aux = aux, .pid = pid, .reason = (uint8_t)r};
		u->used++;
		return 1;
	}
	if (r > s->reason) {
		s->reason = (uint8_t)r;
		s->pid = pid;
	}
	return 0;
}

static struct slot *idset_get(const struct idset *u, dev_t dev, ino_t ino)
{
	struct slot *s;

	if (!u->cap)
		return NULL;
	s = slot_find(u->v, u->cap, dev, ino);
	return s->reason == INUSE_NONE ? NULL : s;
}

static void idset_done(struct idset *u)
{
	free(u->v);
	*u = (struct idset){0};
}

static const char *const reason_names[] = {
	[INUSE_NONE] = "none",     [INUSE_MAPPED] = "mapped", [INUSE_OPEN] = "open",
	[INUSE_LOCKED] = "locked", [INUSE_LEASED] = "leased", [INUSE_CWD] = "cwd",
	[INUSE_ROOT] = "root",     [INUSE_BOUND] = "bound",
};

const char *inuse_reason_str(enum inuse_reason r)
{
	return (unsigned)r < ARRAY_SIZE(reason_names) ? reason_names[r] : "unknown";
}

static bool past(uint64_t deadline_ns)
{
	return deadline_ns && now_ns(CLOCK_MONOTONIC) > deadline_ns;
}

/* A poll(2) timeout up to the deadline (rounded up; -1: none; 0: passed). */
static int ms_until(uint64_t deadline_ns)
{
	uint64_t now = now_ns(CLOCK_MONOTONIC);

	if (!deadline_ns)
		return -1;
	if (now >= deadline_ns)
		return 0;
	return (int)MIN((deadline_ns - now + NSEC_PER_MSEC - 1) / NSEC_PER_MSEC, (uint64_t)INT32_MAX);
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

/* The kernel refused to show us a process (EACCES: an LSM, or a process with capabilities
 * we lack). A user's process never is: root may inspect every one of them. So a refusal
 * for a process of any uid but root leaves the question open; one for a root process (a
 * confined system component, the supervisor of a sandbox) is only counted. */
static bool denial_matters(int proc_fd, pid_t pid)
{
	char path[32], buf[1024], *p;
	_cleanup_close_ int fd = -1;
	unsigned r, e;
	ssize_t n;

	snprintf(path, sizeof(path), "%d/status", (int)pid);
	fd = open_read_at(proc_fd, path);
	if (fd < 0)
		return !proc_gone(fd);
	n = read_retry(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return true;
	buf[n] = '\0';
	p = strstr(buf, "\nUid:");
	if (!p || sscanf(p + 5, "%u %u", &r, &e) != 2)
		return true;
	return r != 0 || e != 0;
}

/* The numeric entries of a /proc directory (processes, or a process's tasks). */
struct pids {
	pid_t *v;
	size_t n, cap;
};

static int pids_add(struct pids *p, pid_t pid)
{
	if (p->n == p->cap) {
		size_t nc = p->cap ? p->cap * 2 : 256;
		pid_t *nv = reallocarray(p->v, nc, sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		p->v = nv;
		p->cap = nc;
	}
	p->v[p->n++] = pid;
	return 0;
}

/* first_uid != -1: that uid's processes first (the owner of /proc/PID is the task's
 * euid), the others after them. */
static int list_pids(int dfd, uid_t first_uid, struct pids *ret)
{
	struct pids later = {0};
	char dbuf[16384];
	int r = 0;

	if (lseek(dfd, 0, SEEK_SET) < 0)
		return negative_errno();
	for (;;) {
		long nr = syscall(SYS_getdents64, dfd, dbuf, sizeof(dbuf));

		if (nr < 0) {
			r = negative_errno();
			break;
		}
		if (nr == 0)
			break;
		for (long off = 0; off < nr && r == 0;) {
			struct linux_dirent64 *d = (struct linux_dirent64 *)(dbuf + off);
			pid_t pid;
			struct statx stx;

			off += d->d_reclen;
			if (!all_digits(d->d_name))
				continue;
			pid = (pid_t)strtol(d->d_name, NULL, 10);
			if (first_uid != (uid_t)-1 &&
			    (statx(dfd, d->d_name, AT_SYMLINK_NOFOLLOW | AT_STATX_DONT_SYNC,
				   STATX_UID, &stx) < 0 ||
			     stx.stx_uid != first_uid))
				r = pids_add(&later, pid);
			else
				r = pids_add(ret, pid);
		}
		if (r < 0)
			break;
	}
	for (size_t i = 0; r == 0 && i < later.n; i++)
		r = pids_add(ret, later.v[i]);
	free(later.v);
	return r;
}

/* ---- the /proc pass ---- */

struct inuse {
	struct idset set;
	struct idset want; /* aux: found */
	size_t n_want, found;
	const dev_t *devs;
	size_t ndevs;
	uint64_t deadline_ns;
	struct inuse_stats st;
	char *buf; /* reused read buffer */
	size_t bufcap;
};

static bool dev_wanted(const struct inuse *u, dev_t dev)
{
	if (!u->ndevs)
		return true;
	for (size_t i = 0; i < u->ndevs; i++)
		if (u->devs[i] == dev)
			return true;
	return false;
}

static int keep(struct inuse *u, dev_t dev, ino_t ino, enum inuse_reason r, pid_t pid)
{
	if (u->n_want) {
		struct slot *w = idset_get(&u->want, dev, ino);

		if (!w)
			return 0;
		if (!w->aux) {
			w->aux = 1;
			u->found++;
		}
	} else if (!dev_wanted(u, dev))
		return 0;
	return idset_add(&u->set, dev, ino, r, pid, 0) < 0 ? -ENOMEM : 0;
}

static bool done_early(const struct inuse *u)
{
	return u->n_want && u->found == u->n_want;
}

bool inuse_lookup(const struct inuse *u, dev_t dev, ino_t ino, const char **reason, pid_t *pid)
{
	const struct slot *s = idset_get(&u->set, dev, ino);

	if (!s)
		return false;
	if (reason)
		*reason = inuse_reason_str(s->reason);
	if (pid)
		*pid = s->pid;
	return true;
}

bool inuse_complete(const struct inuse *u)
{
	return u->st.all_found || (!u->st.timed_out && !u->st.procs_denied);
}

const struct inuse_stats *inuse_get_stats(const struct inuse *u)
{
	return &u->st;
}

void inuse_free(struct inuse *u)
{
	if (!u)
		return;
	idset_done(&u->set);
	idset_done(&u->want);
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

	assert(line);
	assert(dev);
	assert(ino);

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

	assert(line);
	assert(dev);
	assert(ino);

	p = skip_token(p); /* "N:" */
	p = skip_ws(p);
	if ((type = startswith(p, "->")))
		p = skip_ws(type);
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
	_cleanup_close_ int fd = open_read_at(dirfd, path);
	size_t len = 0;

	if (fd < 0)
		return fd;
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
		n = read_retry(fd, u->buf + len, u->bufcap - len - 1);
		if (n < 0)
			return n;
		if (n == 0)
			break;
		len += (size_t)n;
	}
	u->buf[len] = '\0';
	return (ssize_t)len;
}

/* The targets of the fd links in dir (PID/fd or PID/task/TID/fd), by statx through the
 * magic link: never opened. 0, -ETIME at the deadline, or -errno for the directory. */
static int scan_fd_dir(struct inuse *u, int proc_fd, const char *dir, pid_t pid, bool *denied)
{
	_cleanup_close_ int dfd = openat(proc_fd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	char dbuf[8192];
	int r;

	if (dfd < 0)
		return negative_errno();
	for (;;) {
		long n = syscall(SYS_getdents64, dfd, dbuf, sizeof(dbuf));

		if (n < 0)
			return negative_errno();
		if (n == 0)
			break;
		if (past(u->deadline_ns))
			return -ETIME;
		for (long off = 0; off < n;) {
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
			r = keep(u, makedev(stx.stx_dev_major, stx.stx_dev_minor),
				 (ino_t)stx.stx_ino, INUSE_OPEN, pid);
			if (r < 0)
				return r;
			if (done_early(u))
				return 0;
		}
	}
	return 0;
}

/* 1 when the maps file was read and named any mapping, 0 when empty (an exited leader's
 * mm is gone: a thread's maps tell), -errno. */
static int scan_maps(struct inuse *u, int proc_fd, const char *path, pid_t pid)
{
	ssize_t len = read_all_at(u, proc_fd, path);
	char *p, *nl;
	int r;

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
		r = keep(u, dev, ino, INUSE_MAPPED, pid);
		if (r < 0)
			return r;
	}
	return len > 0;
}

static int locks_line(struct inuse *u, const char *line)
{
	enum inuse_reason reason;
	dev_t dev;
	ino_t ino;
	pid_t pid;

	u->st.locks++;
	if (inuse_parse_locks_line(line, &dev, &ino, &pid, &reason) < 0)
		return 0;
	return keep(u, dev, ino, reason, pid);
}

/* /proc/locks, read in pieces: a user may hold millions of locks, and the table is neither
 * kept whole in memory nor read past the deadline (-ETIME: which files are leased is then
 * unknown). */
static int scan_locks(struct inuse *u, int proc_fd)
{
	_cleanup_close_ int fd = open_read_at(proc_fd, "locks");
	char buf[65536];
	size_t have = 0;
	int r;

	if (fd < 0)
		return fd;
	for (;;) {
		ssize_t n = read_retry(fd, buf + have, sizeof(buf) - 1 - have);
		char *p = buf, *nl;

		if (n < 0)
			return (int)n;
		have += (size_t)n;
		buf[have] = '\0';
		while ((nl = strchr(p, '\n'))) {
			*nl = '\0';
			r = locks_line(u, p);
			if (r < 0)
				return r;
			p = nl + 1;
		}
		have -= (size_t)(p - buf);
		if (n == 0) /* the end, and a last line without its newline */
			return have ? locks_line(u, p) : 0;
		if (have == sizeof(buf) - 1)
			have = 0; /* no line of /proc/locks is that long: dropped */
		memmove(buf, p, have);
		if (past(u->deadline_ns))
			return -ETIME;
	}
}

/* Threads whose fd table is not the leader's (unshare(CLONE_FILES), clone without
 * CLONE_FILES, or every live thread when the leader exited) are scanned too; an exited
 * leader's maps are empty, so a thread's are read instead. */
static int scan_threads(struct inuse *u, int proc_fd, pid_t pid, bool need_maps, bool *denied)
{
	_cleanup_close_ int tfd = -1;
	struct pids tids = {0};
	char path[64];
	int r;

	snprintf(path, sizeof(path), "%d/task", (int)pid);
	tfd = openat(proc_fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (tfd < 0)
		return negative_errno();
	r = list_pids(tfd, (uid_t)-1, &tids);
	for (size_t i = 0; i < tids.n && r >= 0 && !done_early(u); i++) {
		pid_t tid = tids.v[i];

		if (tid == pid)
			continue;
		if (need_maps) {
			snprintf(path, sizeof(path), "%d/task/%d/maps", (int)pid, (int)tid);
			r = scan_maps(u, proc_fd, path, tid);
			if (r == -ENOMEM)
				break;
			need_maps = r <= 0;
			r = 0;
		}
		/* 0: the same table as the leader's (threads made with CLONE_FILES). */
		if (syscall(SYS_kcmp, pid, tid, KCMP_FILES, 0, 0) == 0)
			continue;
		u->st.tasks++;
		snprintf(path, sizeof(path), "%d/task/%d/fd", (int)pid, (int)tid);
		r = scan_fd_dir(u, proc_fd, path, tid, denied);
		if (proc_gone(r))
			r = 0;
		else if (r < 0 && r != -ETIME && r != -ENOMEM) {
			*denied = true;
			r = 0;
		}
	}
	free(tids.v);
	return r;
}

static int scan_process(struct inuse *u, int proc_fd, pid_t pid)
{
	bool denied = false;
	char path[48];
	int r, m;

	snprintf(path, sizeof(path), "%d/fd", (int)pid);
	r = scan_fd_dir(u, proc_fd, path, pid, &denied);
	if (r == -ENOMEM || r == -ETIME)
		return r;
	if (r < 0 && !proc_gone(r))
		denied = true;
	if (done_early(u))
		return 0;
	snprintf(path, sizeof(path), "%d/maps", (int)pid);
	m = scan_maps(u, proc_fd, path, pid);
	if (m == -ENOMEM)
		return m;
	if (m < 0 && !proc_gone(m))
		denied = true;
	r = scan_threads(u, proc_fd, pid, m <= 0, &denied);
	if (r == -ENOMEM || r == -ETIME)
		return r;
	if (proc_gone(r) && m < 0) {
		u->st.procs_gone++;
		return 0;
	}
	if (r < 0 && !proc_gone(r))
		denied = true;
	if (denied) {
		if (denial_matters(proc_fd, pid))
			u->st.procs_denied++;
		else
			u->st.procs_hidden++;
	}
	return 0;
}

static int snapshot(int proc_fd, pid_t skip_pid, const struct inuse_opts *o, struct inuse **ret)
{
	struct pids pids = {0};
	struct inuse *u;
	uint64_t t0 = now_ns(CLOCK_MONOTONIC);
	int r;

	u = calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	u->devs = o->devs;
	u->ndevs = o->n_devs;
	u->deadline_ns = o->deadline_ns;
	for (size_t i = 0; i < o->n_want; i++) {
		r = idset_add(&u->want, o->want[i].dev, o->want[i].ino, INUSE_OPEN, 0, 0);
		if (r < 0)
			goto fail;
		u->n_want += r;
	}

	/* Locks first: they also say which holder took a lease or a lock. */
	r = scan_locks(u, proc_fd);
	if (r == -ENOMEM)
		goto fail;
	if (r == -ETIME)
		u->st.timed_out = true;
	else if (r < 0)
		u->st.procs_denied++; /* unreadable /proc/locks: leases unknown */
	if (o->locks_only || done_early(u))
		goto done;

	r = list_pids(proc_fd, o->first_uid, &pids);
	if (r < 0)
		goto fail;
	for (size_t i = 0; i < pids.n && !done_early(u); i++) {
		if (pids.v[i] == skip_pid)
			continue;
		if (past(u->deadline_ns)) {
			u->st.timed_out = true;
			break;
		}
		u->st.procs++;
		r = scan_process(u, proc_fd, pids.v[i]);
		if (r == -ENOMEM)
			goto fail;
		if (r == -ETIME) {
			u->st.timed_out = true;
			break;
		}
	}
done:
	/* The caller's arrays may not outlive the snapshot: lookups do not need them. */
	u->devs = NULL;
	u->ndevs = 0;
	free(u->buf);
	u->buf = NULL;
	u->bufcap = 0;
	u->st.all_found = done_early(u);
	u->st.entries = u->set.used;
	u->st.elapsed_ns = now_ns(CLOCK_MONOTONIC) - t0;
	free(pids.v);
	*ret = u;
	return 0;
fail:
	free(pids.v);
	inuse_free(u);
	return r;
}

int inuse_snapshot_at(int proc_fd, pid_t skip_pid, const struct inuse_opts *o,
		      struct inuse **ret)
{
	assert(proc_fd >= 0);
	assert(o);
	assert(ret);

	return snapshot(proc_fd, skip_pid, o, ret);
}

static int open_proc(void)
{
	int fd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	return fd < 0 ? negative_errno() : fd;
}

int inuse_snapshot(const struct inuse_opts *o, struct inuse **ret)
{
	_cleanup_close_ int proc_fd = open_proc();

	assert(o);
	assert(ret);

	if (proc_fd < 0)
		return proc_fd;
	return snapshot(proc_fd, getpid(), o, ret);
}

int inuse_snapshot_locks_until(const dev_t *devs, size_t n, uint64_t deadline_ns,
			       struct inuse **ret)
{
	struct inuse_opts o = {.devs = devs, .n_devs = n, .first_uid = (uid_t)-1,
			       .deadline_ns = deadline_ns, .locks_only = true};
	_cleanup_close_ int proc_fd = open_proc();
	int r;

	assert(devs || n == 0);
	assert(ret);

	if (proc_fd < 0)
		return proc_fd;
	r = snapshot(proc_fd, getpid(), &o, ret);
	if (r == 0 && ((*ret)->st.procs_denied || (*ret)->st.timed_out)) {
		/* Without the whole of /proc/locks nobody can say which files are leased. */
		r = (*ret)->st.timed_out ? -ETIME : -EACCES;
		inuse_free(*ret);
		*ret = NULL;
	}
	return r;
}

int inuse_snapshot_locks(const dev_t *devs, size_t n, struct inuse **ret)
{
	return inuse_snapshot_locks_until(devs, n, 0, ret);
}

/* ---- the lease probe ---- */

int inuse_probe_file(int root_fd, const char *parent, const char *name,
		     const struct inuse_id *parent_id, const struct inuse_id *id,
		     const struct inuse *locks, enum inuse_reason *why)
{
	_cleanup_close_ int pfd = -1, fd = -1;
	sigset_t io, old;
	const char *reason;
	struct stat st;
	int r;

	if (!locks)
		return -EINVAL;
	/* Leased or locked: in use, and a leased file must not even be opened. */
	if (inuse_lookup(locks, id->dev, id->ino, &reason, NULL)) {
		*why = streq(reason, "leased") ? INUSE_LEASED : INUSE_LOCKED;
		return 1;
	}
	pfd = openat_beneath_dir(root_fd, parent);
	if (pfd == -ELOOP || pfd == -ENOTDIR || pfd == -EXDEV)
		return -ESTALE; /* a symlink or another mount where the parent was */
	if (pfd < 0)
		return pfd;
	if (fstat(pfd, &st) < 0)
		return negative_errno();
	if (st.st_dev != parent_id->dev || st.st_ino != parent_id->ino)
		return -ESTALE;
	fd = openat_beneath_regular(pfd, name, id->dev, id->ino, O_RDONLY | O_NONBLOCK | O_NOATIME);
	if (fd == -EWOULDBLOCK) {
		/* A write lease taken after the lock table was read. */
		*why = INUSE_LEASED;
		return 1;
	}
	if (fd < 0)
		return fd == -ELOOP || fd == -ENOTDIR || fd == -EXDEV ? -ESTALE : fd;

	/* While we hold the lease, an open by anyone breaks it and the kernel sends us
	 * SIGIO, whose default action is to terminate: blocked, and consumed after. */
	sigemptyset(&io);
	sigaddset(&io, SIGIO);
	pthread_sigmask(SIG_BLOCK, &io, &old);
	r = fcntl(fd, F_SETLEASE, F_WRLCK);
	if (r == 0) {
		(void)fcntl(fd, F_SETLEASE, F_UNLCK);
	} else
		r = negative_errno();
	fd = safe_close(fd);
	if (!sigismember(&old, SIGIO)) {
		static const struct timespec zero = {0, 0};

		while (sigtimedwait(&io, NULL, &zero) == SIGIO)
			;
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
	if (r == 0)
		return 0;
	if (r == -EAGAIN || r == -EBUSY) {
		*why = INUSE_OPEN;
		return 1;
	}
	return r; /* EINVAL (leases disabled: fs.leases-enable = 0), ...: cannot tell */
}

/* ---- tasks: cwd, root, network namespace ---- */

struct netns {
	uint64_t ino;
	pid_t pid, tid;
};

struct inuse_tasks {
	struct idset dirs;
	struct netns *ns;
	size_t n_ns, cap_ns;
	size_t tasks;
	size_t hidden; /* root processes the kernel would not show us (counted only) */
	bool incomplete;
};

static int netns_add(struct inuse_tasks *t, uint64_t ino, pid_t pid, pid_t tid)
{
	for (size_t i = 0; i < t->n_ns; i++)
		if (t->ns[i].ino == ino)
			return 0;
	if (t->n_ns == t->cap_ns) {
		size_t nc = t->cap_ns ? t->cap_ns * 2 : 16;
		struct netns *nv = reallocarray(t->ns, nc, sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		t->ns = nv;
		t->cap_ns = nc;
	}
	t->ns[t->n_ns++] = (struct netns){.ino = ino, .pid = pid, .tid = tid};
	return 0;
}

/* statx of a /proc link of one task (cwd, root, ns/net): followed, never opened. 1: got
 * it, 0: gone (or a zombie's), -errno: could not look. */
static int task_link(int proc_fd, pid_t pid, pid_t tid, const char *what, struct statx *stx)
{
	char path[64];

	snprintf(path, sizeof(path), "%d/task/%d/%s", (int)pid, (int)tid, what);
	if (statx(proc_fd, path, AT_STATX_DONT_SYNC | AT_NO_AUTOMOUNT, STATX_INO, stx) == 0)
		return 1;
	return errno == ENOENT || errno == ESRCH ? 0 : negative_errno();
}

static int tasks_of(struct inuse_tasks *t, int proc_fd, pid_t pid, uint64_t deadline_ns)
{
	_cleanup_close_ int tfd = -1;
	struct pids tids = {0};
	char path[32];
	int r;

	bool denied = false;

	snprintf(path, sizeof(path), "%d/task", (int)pid);
	tfd = openat(proc_fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (tfd < 0) {
		if (proc_gone(negative_errno()))
			return 0;
		denied = true;
		r = 0;
	} else
		r = list_pids(tfd, (uid_t)-1, &tids);
	for (size_t i = 0; r >= 0 && i < tids.n; i++) {
		static const char *const links[] = {"cwd", "root", "ns/net"};
		pid_t tid = tids.v[i];

		if ((i & 63) == 63 && past(deadline_ns)) {
			r = -ETIME;
			break;
		}
		t->tasks++;
		for (size_t k = 0; k < ARRAY_SIZE(links) && r >= 0; k++) {
			struct statx stx;
			int got = task_link(proc_fd, pid, tid, links[k], &stx);

			if (got < 0) {
				denied = true;
				continue;
			}
			if (got == 0)
				continue;
			if (k == 2)
				r = netns_add(t, stx.stx_ino, pid, tid);
			else
				r = idset_add(&t->dirs,
					      makedev(stx.stx_dev_major, stx.stx_dev_minor),
					      (ino_t)stx.stx_ino, k == 0 ? INUSE_CWD : INUSE_ROOT,
					      tid, 0);
		}
	}
	free(tids.v);
	if (denied) {
		if (denial_matters(proc_fd, pid))
			t->incomplete = true;
		else
			t->hidden++;
	}
	return r == -ENOMEM || r == -ETIME ? r : 0;
}

int inuse_tasks_snapshot(int proc_fd, uint64_t deadline_ns, struct inuse_tasks **ret)
{
	_cleanup_close_ int own = -1;
	struct pids pids = {0};
	struct inuse_tasks *t;
	pid_t self = getpid();
	int r;

	assert(ret);

	if (proc_fd < 0) {
		own = open_proc();
		if (own < 0)
			return own;
		proc_fd = own;
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	r = list_pids(proc_fd, (uid_t)-1, &pids);
	for (size_t i = 0; r >= 0 && i < pids.n; i++) {
		if (pids.v[i] == self)
			continue;
		if (past(deadline_ns)) {
			t->incomplete = true;
			break;
		}
		r = tasks_of(t, proc_fd, pids.v[i], deadline_ns);
		if (r == -ETIME) {
			t->incomplete = true;
			r = 0;
			break;
		}
	}
	free(pids.v);
	if (r < 0) {
		inuse_tasks_free(t);
		return r;
	}
	*ret = t;
	return 0;
}

bool inuse_tasks_lookup(const struct inuse_tasks *t, dev_t dev, ino_t ino,
			enum inuse_reason *why, pid_t *pid)
{
	const struct slot *s = idset_get(&t->dirs, dev, ino);

	if (!s)
		return false;
	if (why)
		*why = s->reason;
	if (pid)
		*pid = s->pid;
	return true;
}

bool inuse_tasks_complete(const struct inuse_tasks *t)
{
	return !t->incomplete;
}

size_t inuse_tasks_count(const struct inuse_tasks *t)
{
	return t->tasks;
}

size_t inuse_tasks_netns_count(const struct inuse_tasks *t)
{
	return t->n_ns;
}

void inuse_tasks_free(struct inuse_tasks *t)
{
	if (!t)
		return;
	idset_done(&t->dirs);
	free(t->ns);
	free(t);
}

/* ---- UNIX sockets: sock_diag ---- */

struct inuse_socks {
	struct idset bound; /* the file's (dev, ino); aux: the socket's inode */
	dev_t sockfs_dev;
	bool incomplete;
};

/* The kernel's dev_t (12-bit major, 20-bit minor), as sock_diag reports it. */
static dev_t kernel_dev(uint32_t d)
{
	return makedev(d >> 20, d & 0xfffff);
}

int inuse_parse_unix_diag(const void *buf, size_t len,
			  int (*fn)(const struct inuse_id *bound, uint64_t sock_ino, void *ud),
			  void *ud)
{
	size_t left = len;

	for (const struct nlmsghdr *h = buf; NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
		const struct unix_diag_msg *m;
		const struct rtattr *a;
		size_t alen;

		if (h->nlmsg_type == NLMSG_DONE)
			return 1;
		if (h->nlmsg_type == NLMSG_ERROR) {
			const struct nlmsgerr *e = NLMSG_DATA(h);

			if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*e)))
				return -EBADMSG;
			return e->error < 0 ? e->error : -EIO;
		}
		if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY || h->nlmsg_len < NLMSG_LENGTH(sizeof(*m)))
			return -EBADMSG;
		m = NLMSG_DATA(h);
		alen = h->nlmsg_len - NLMSG_LENGTH(sizeof(*m));
		for (a = (const struct rtattr *)(m + 1); RTA_OK(a, alen); a = RTA_NEXT(a, alen)) {
			const struct unix_diag_vfs *v = RTA_DATA(a);
			struct inuse_id id;
			int r;

			if (a->rta_type != UNIX_DIAG_VFS || RTA_PAYLOAD(a) < sizeof(*v))
				continue;
			id = (struct inuse_id){.dev = kernel_dev(v->udiag_vfs_dev),
					       .ino = v->udiag_vfs_ino};
			r = fn(&id, m->udiag_ino, ud);
			if (r < 0)
				return r;
		}
	}
	return left == 0 ? 0 : -EBADMSG;
}

/* Dump every UNIX socket of the namespace the netlink socket nl was made in; fn per
 * bound one. 0 at the end of the dump, -ETIME at the deadline, -errno. */
static int unix_dump(int nl, uint64_t deadline_ns,
		     int (*fn)(const struct inuse_id *, uint64_t, void *), void *ud)
{
	struct {
		struct nlmsghdr nh;
		struct unix_diag_req r;
	} req = {
		.nh = {.nlmsg_len = sizeof(req), .nlmsg_type = SOCK_DIAG_BY_FAMILY,
		       .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP, .nlmsg_seq = 1},
		.r = {.sdiag_family = AF_UNIX, .udiag_states = ~0u, .udiag_show = UDIAG_SHOW_VFS},
	};
	struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
	_cleanup_free_ char *buf = malloc(32768);

	if (!buf)
		return -ENOMEM;
	if (sendto(nl, &req, sizeof(req), 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0)
		return negative_errno();
	for (;;) {
		struct pollfd p = {.fd = nl, .events = POLLIN};
		int timeout = ms_until(deadline_ns), r;
		ssize_t n;

		if (timeout == 0)
			return -ETIME;
		r = poll(&p, 1, timeout);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return negative_errno();
		if (r == 0)
			return -ETIME;
		n = recv(nl, buf, 32768, MSG_DONTWAIT);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			return negative_errno();
		if (n == 0)
			return -EIO;
		r = inuse_parse_unix_diag(buf, (size_t)n, fn, ud);
		if (r != 0)
			return r < 0 ? r : 0;
	}
}

static int add_bound(const struct inuse_id *id, uint64_t sock_ino, void *ud)
{
	struct inuse_socks *s = ud;

	return idset_add(&s->bound, id->dev, id->ino, INUSE_BOUND, 0, sock_ino) < 0 ? -ENOMEM : 0;
}

/* In a child that joined another namespace: each bound socket as one record on the pipe,
 * and an all-ones record at the end of a whole dump. */
struct wire {
	uint64_t dev, ino, sock;
};

static int write_bound(const struct inuse_id *id, uint64_t sock_ino, void *ud)
{
	struct wire w = {.dev = id->dev, .ino = id->ino, .sock = sock_ino};

	return write_all(*(int *)ud, &w, sizeof(w));
}

static int nl_socket(void)
{
	int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);

	return fd < 0 ? negative_errno() : fd;
}

/* The nsfs inode of pid/tid's network namespace, pinned with O_PATH, checked (nsfs, the
 * inode the task table saw), then opened through /proc/self/fd for setns. */
static int open_netns(int proc_fd, const struct netns *ns)
{
	_cleanup_close_ int pin = -1;
	struct statfs sfs;
	struct stat st;
	char path[64];

	snprintf(path, sizeof(path), "%d/task/%d/ns/net", (int)ns->pid, (int)ns->tid);
	pin = openat(proc_fd, path, O_PATH | O_CLOEXEC);
	if (pin < 0)
		return negative_errno();
	if (fstatfs(pin, &sfs) < 0 || fstat(pin, &st) < 0)
		return negative_errno();
	if (sfs.f_type != NSFS_MAGIC || st.st_ino != ns->ino)
		return -ESTALE;
	return fd_reopen(pin, O_RDONLY);
}

static int dump_foreign(struct inuse_socks *s, int proc_fd, const struct netns *ns,
			uint64_t deadline_ns)
{
	_cleanup_close_ int nsfd = open_netns(proc_fd, ns), rfd = -1;
	struct wire w;
	size_t got = 0;
	int p[2], r = -ETIME, st;
	pid_t pid;

	if (nsfd < 0)
		return nsfd;
	if (pipe2(p, O_CLOEXEC) < 0)
		return negative_errno();
	pid = fork();
	if (pid < 0) {
		r = negative_errno();
		close(p[0]);
		close(p[1]);
		return r;
	}
	if (pid == 0) {
		int nl, e;

		close(p[0]);
		if (setns(nsfd, CLONE_NEWNET) < 0)
			_exit(1);
		nl = nl_socket();
		if (nl < 0)
			_exit(1);
		e = unix_dump(nl, deadline_ns, write_bound, &p[1]);
		if (e < 0)
			_exit(1);
		memset(&w, 0xff, sizeof(w));
		_exit(write_all(p[1], &w, sizeof(w)) < 0);
	}
	close(p[1]);
	rfd = p[0];
	for (;;) {
		struct pollfd pf = {.fd = rfd, .events = POLLIN};
		int timeout = ms_until(deadline_ns);
		ssize_t n;

		if (timeout == 0)
			break;
		n = poll(&pf, 1, timeout);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		n = read(rfd, (char *)&w + got, sizeof(w) - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = -EIO; /* the child died before the end of its dump */
			break;
		}
		got += (size_t)n;
		if (got < sizeof(w))
			continue;
		got = 0;
		if (w.dev == UINT64_MAX && w.ino == UINT64_MAX) {
			r = 0;
			break;
		}
		if (idset_add(&s->bound, (dev_t)w.dev, (ino_t)w.ino, INUSE_BOUND, 0, w.sock) < 0) {
			r = -ENOMEM;
			break;
		}
	}
	kill(pid, SIGKILL);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return r;
}

int inuse_socks_snapshot(const struct inuse_tasks *t, uint64_t deadline_ns,
			 struct inuse_socks **ret)
{
	_cleanup_close_ int nl = nl_socket(), proc_fd = -1;
	struct inuse_socks *s;
	struct stat own, sst;
	int r;

	assert(t);
	assert(ret);

	if (nl < 0)
		return nl;
	if (fstat(nl, &sst) < 0)
		return negative_errno();
	if (stat("/proc/self/ns/net", &own) < 0)
		return negative_errno();
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->sockfs_dev = sst.st_dev;
	r = unix_dump(nl, deadline_ns, add_bound, s);
	if (r == -ENOMEM)
		goto fail;
	if (r < 0)
		s->incomplete = true;
	if (t) {
		if (t->incomplete)
			s->incomplete = true;
		proc_fd = open_proc();
		if (proc_fd < 0 && t->n_ns > 1)
			s->incomplete = true;
		for (size_t i = 0; proc_fd >= 0 && i < t->n_ns; i++) {
			if (t->ns[i].ino == own.st_ino)
				continue;
			r = dump_foreign(s, proc_fd, &t->ns[i], deadline_ns);
			if (r == -ENOMEM)
				goto fail;
			/* Gone since the task table was read: its sockets went with it,
			 * unless another task shares the namespace; cannot tell. */
			if (r < 0)
				s->incomplete = true;
		}
	}
	*ret = s;
	return 0;
fail:
	inuse_socks_free(s);
	return r;
}

bool inuse_socks_lookup(const struct inuse_socks *s, dev_t dev, ino_t ino, struct inuse_id *sock)
{
	const struct slot *sl = idset_get(&s->bound, dev, ino);

	if (!sl)
		return false;
	if (sock)
		*sock = (struct inuse_id){.dev = s->sockfs_dev, .ino = (ino_t)sl->aux};
	return true;
}

bool inuse_socks_complete(const struct inuse_socks *s)
{
	return !s->incomplete;
}

size_t inuse_socks_count(const struct inuse_socks *s)
{
	return s->bound.used;
}

void inuse_socks_free(struct inuse_socks *s)
{
	if (!s)
		return;
	idset_done(&s->bound);
	free(s);
}

void inuse_comm(pid_t pid, char comm[17])
{
	char path[32], buf[64];
	_cleanup_close_ int fd = -1;
	ssize_t n;

	comm[0] = '\0';
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	fd = open_read_at(AT_FDCWD, path);
	if (fd < 0)
		return;
	n = read_retry(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return;
	/* A name may hold any byte but NUL, a newline too: only the last one is ours. */
	if (buf[n - 1] == '\n')
		n--;
	buf[MIN(n, 16)] = '\0';
	memcpy(comm, buf, (size_t)MIN(n, 16) + 1);
}
