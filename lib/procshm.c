/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "procshm.h"
#include "beneath.h"
#include "fileio.h"
#include "util.h"
#include "walk.h"

#include <assert.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>

const char *shm_kind_name(enum shm_kind k)
{
	switch (k) {
	case SHM_MEMFD:
		return "memfd";
	case SHM_DELETED:
		return "deleted";
	case SHM_SYSV:
		return "sysv";
	case SHM_ANON:
		return "anon-shared";
	}
	return "?";
}

void shm_list_done(struct shm_list *l)
{
	assert(l);
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].desc);
	free(l->v);
	*l = (struct shm_list){0};
}

static struct shm_obj *find_obj(struct shm_list *l, dev_t dev, ino_t ino, int shmid)
{
	for (size_t i = 0; i < l->n; i++) {
		if (shmid >= 0 && l->v[i].shmid == shmid)
			return &l->v[i];
		if (shmid < 0 && l->v[i].shmid < 0 && l->v[i].dev == dev && l->v[i].ino == ino)
			return &l->v[i];
	}
	return NULL;
}

static struct shm_obj *add_obj(struct shm_list *l, size_t *cap)
{
	if (l->n == *cap) {
		size_t nc = *cap ? *cap * 2 : 16;
		struct shm_obj *v = reallocarray(l->v, nc, sizeof(*v));
		if (!v)
			return NULL;
		l->v = v;
		*cap = nc;
	}
	l->v[l->n] = (struct shm_obj){.shmid = -1};
	return &l->v[l->n++];
}

/* The shmem inode behind a shared anonymous mapping (shmem_zero_setup) is named
 * "dev/zero", and shows as "/dev/zero (deleted)": PostgreSQL's main shared memory. */
/* A SysV segment's one name, attached or not: its key and id, as ipcs shows them. */
#define SYSV_DESC_FMT "SYSV key=0x%08x id=%d"

#define ANON_SHARED_NAME "/dev/zero (deleted)"

static bool is_shm_link(const char *t, enum shm_kind *kind, int *shmid, unsigned *key)
{
	size_t n = strlen(t);

	*shmid = -1;
	if (sscanf(t, "/SYSV%8x", key) == 1) {
		*kind = SHM_SYSV;
		return true;
	}
	if (streq(t, ANON_SHARED_NAME)) {
		*kind = SHM_ANON;
		return true;
	}
	if (startswith(t, "/memfd:")) {
		*kind = SHM_MEMFD;
		return true;
	}
	if (n > 10 && streq(t + n - 10, " (deleted)") && t[0] == '/') {
		*kind = SHM_DELETED;
		return true;
	}
	return false;
}

static void read_comm(const char *proc, const char *pid, char comm[17])
{
	_cleanup_free_ char *buf = NULL;
	char path[512];

	snprintf(path, sizeof(path), "%s/%s/comm", proc, pid);
	comm[0] = '\0';
	if (read_small_file_at(AT_FDCWD, path, 64, &buf) > 0) {
		buf[strcspn(buf, "\n")] = '\0';
		snprintf(comm, 17, "%s", buf);
	}
}

/* The object behind a /proc magic link (fd/N, map_files/A-B), pinned: O_PATH follows the
 * link to it without opening it (no FIFO is opened, no device's open runs). Then it must be
 * what shared memory is: a regular file on shmem, and, unless a SysV segment, with no
 * name left (nlink 0: a path in a mount is the walk's business). 0, or -errno (-ESTALE:
 * not such an object). */
static int pin_shm(const char *path, enum shm_kind kind, struct stat *st)
{
	_cleanup_close_ int pin = open(path, O_PATH | O_CLOEXEC);
	struct statfs sfs;

	if (pin < 0)
		return negative_errno();
	if (fstat(pin, st) < 0 || fstatfs(pin, &sfs) < 0)
		return negative_errno();
	if (!S_ISREG(st->st_mode) || sfs.f_type != TMPFS_MAGIC ||
	    (kind != SHM_SYSV && st->st_nlink > 0))
		return -ESTALE;
	return TAKE_FD(pin);
}

int procshm_open(const struct shm_obj *o)
{
	_cleanup_close_ int pin = -1;
	struct stat st;

	assert(o);

	if (!o->open_path[0])
		return -ENOENT;
	/* The process may have put anything behind that fd number since it was listed (an
	 * O_PATH fd of a root-only FIFO or device needs no permission): check the pinned
	 * object again, then open that object, never the link. */
	pin = pin_shm(o->open_path, o->kind, &st);
	if (pin < 0)
		return pin;
	if (st.st_dev != o->dev || st.st_ino != o->ino)
		return -ESTALE;
	return fd_reopen(pin, O_RDONLY | O_NONBLOCK | O_NOATIME);
}

/* Record the object behind `path` (a /proc magic link) if it is tmpfs-backed shmem. */
static int consider(struct shm_list *l, size_t *cap, const char *path, const char *target,
		    enum shm_kind kind, int shmid, unsigned key, const char *proc, const char *pid)
{
	struct shm_obj *o;
	struct stat st;
	int pin = pin_shm(path, kind, &st);

	if (pin == -ENOMEM)
		return pin;
	if (pin < 0)
		return 0;
	close(pin);
	if (find_obj(l, st.st_dev, st.st_ino, shmid))
		return 0;
	o = add_obj(l, cap);
	if (!o)
		return -ENOMEM;
	o->kind = kind;
	o->dev = st.st_dev;
	o->ino = st.st_ino;
	o->size = (uint64_t)st.st_size;
	o->uid = st.st_uid;
	o->shmid = shmid;
	o->pid = atoi(pid);
	read_comm(proc, pid, o->comm);
	snprintf(o->open_path, sizeof(o->open_path), "%s", path);
	if (kind == SHM_SYSV) {
		if (asprintf(&o->desc, SYSV_DESC_FMT, key, shmid) < 0)
			o->desc = NULL;
	} else if (kind == SHM_ANON) {
		if (asprintf(&o->desc, "anonymous shared memory ino=%" PRIu64,
			     (uint64_t)st.st_ino) < 0)
			o->desc = NULL;
	} else
		o->desc = strdup(target);
	if (!o->desc) {
		l->n--;
		return -ENOMEM;
	}
	return 0;
}

static bool past(uint64_t deadline_ns)
{
	return deadline_ns && now_ns(CLOCK_MONOTONIC) > deadline_ns;
}

static int scan_fds(struct shm_list *l, size_t *cap, const char *proc, const char *pid,
		    uint64_t deadline_ns)
{
	unsigned n_seen = 0;
	_cleanup_closedir_ DIR *d = NULL;
	char path[512], target[4096];
	struct dirent *de;
	int r;

	snprintf(path, sizeof(path), "%s/%s/fd", proc, pid);
	d = opendir(path);
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		enum shm_kind kind;
		unsigned key;
		int shmid;
		ssize_t n;

		if (de->d_name[0] == '.')
			continue;
		if (++n_seen % 1024 == 0 && past(deadline_ns))
			return -ETIME;
		snprintf(path, sizeof(path), "%s/%s/fd/%s", proc, pid, de->d_name);
		n = readlink(path, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		if (!is_shm_link(target, &kind, &shmid, &key) || kind == SHM_SYSV)
			continue;
		r = consider(l, cap, path, target, kind, -1, 0, proc, pid);
		if (r < 0)
			return r;
	}
	return 0;
}

static int scan_maps(struct shm_list *l, size_t *cap, const char *proc, const char *pid,
		     uint64_t deadline_ns)
{
	unsigned n_seen = 0;
	_cleanup_fclose_ FILE *f = NULL;
	_cleanup_free_ char *line = NULL;
	size_t len = 0;
	char path[512];
	int r;

	snprintf(path, sizeof(path), "%s/%s/maps", proc, pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (getline(&line, &len, f) > 0) {
		unsigned long start, end, ino;
		enum shm_kind kind;
		unsigned key = 0;
		int shmid, pos = 0;
		char *name;

		if (++n_seen % 1024 == 0 && past(deadline_ns))
			return -ETIME;
		if (sscanf(line, "%lx-%lx %*s %*s %*s %lu %n", &start, &end, &ino, &pos) < 3 || !pos)
			continue;
		name = line + pos;
		name[strcspn(name, "\n")] = '\0';
		if (!is_shm_link(name, &kind, &shmid, &key))
			continue;
		if (kind == SHM_SYSV)
			shmid = (int)ino; /* maps shows the shmid as the inode of a SysV mapping */
		snprintf(path, sizeof(path), "%s/%s/map_files/%lx-%lx", proc, pid, start, end);
		r = consider(l, cap, path, name, kind, shmid, key, proc, pid);
		if (r < 0)
			return r;
	}
	return 0;
}

/* SysV segments nobody maps: listed from /proc/sysvipc/shm, attached later by shmid. */
static int scan_sysv(struct shm_list *l, size_t *cap, const char *proc, bool add_all)
{
	_cleanup_fclose_ FILE *f = NULL;
	_cleanup_free_ char *line = NULL;
	size_t len = 0;
	char path[128];

	snprintf(path, sizeof(path), "%s/sysvipc/shm", proc);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (getline(&line, &len, f) > 0) {
		int key, shmid, cpid;
		unsigned perms, uid, cuid;
		unsigned long long size, nattch;
		long long ctime;
		struct shm_obj *o;

		/* key shmid perms size cpid lpid nattch uid gid cuid cgid atime dtime ctime ... */
		if (sscanf(line, "%d %d %o %llu %d %*d %llu %u %*u %u %*u %*u %*u %lld", &key,
			   &shmid, &perms, &size, &cpid, &nattch, &uid, &cuid, &ctime) != 9)
			continue; /* the header line */
		o = find_obj(l, 0, 0, shmid);
		if (!o && !add_all)
			continue;
		if (!o) {
			o = add_obj(l, cap);
			if (!o)
				return -ENOMEM;
			o->kind = SHM_SYSV;
			o->shmid = shmid;
			o->size = size;
			o->uid = uid;
			o->pid = 0;
			if (asprintf(&o->desc, SYSV_DESC_FMT, (unsigned)key, shmid) < 0) {
				l->n--;
				return -ENOMEM;
			}
		}
		o->have_ipc = true;
		o->key = (unsigned)key;
		o->cuid = cuid;
		o->nattch = nattch;
		o->ctime = ctime;
	}
	return 0;
}

int procshm_list(const char *proc, struct shm_list *ret)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct shm_list l = {0};
	char self[32];
	size_t cap = 0;
	struct dirent *de;
	int r = 0;

	assert(ret);

	if (!proc)
		proc = "/proc";
	snprintf(self, sizeof(self), "%d", (int)getpid());
	d = opendir(proc);
	if (!d)
		return negative_errno();
	while (r == 0 && (de = readdir(d))) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9' || streq(de->d_name, self))
			continue;
		r = scan_fds(&l, &cap, proc, de->d_name, 0);
		if (r == 0)
			r = scan_maps(&l, &cap, proc, de->d_name, 0);
	}
	if (r == 0)
		r = scan_sysv(&l, &cap, proc, true);
	if (r < 0) {
		shm_list_done(&l);
		return r;
	}
	*ret = l;
	return 0;
}

int procshm_list_pids(const char *proc, const pid_t *pids, size_t n, bool sysv,
		      uint64_t deadline_ns, struct shm_list *ret)
{
	struct shm_list l = {0};
	size_t cap = 0;
	char pid[24];
	int r = 0;

	if (!proc)
		proc = "/proc";
	for (size_t i = 0; r == 0 && i < n; i++) {
		if (pids[i] <= 0 || pids[i] == getpid())
			continue;
		if (past(deadline_ns)) {
			r = -ETIME;
			break;
		}
		snprintf(pid, sizeof(pid), "%d", (int)pids[i]);
		r = scan_fds(&l, &cap, proc, pid, deadline_ns);
		if (r == 0)
			r = scan_maps(&l, &cap, proc, pid, deadline_ns);
	}
	/* The SysV table fills in what /proc/sysvipc/shm knows of the segments found attached
	 * (creator, attach count), and adds the others when asked. */
	if (r == 0)
		r = scan_sysv(&l, &cap, proc, sysv);
	if (r < 0) {
		shm_list_done(&l);
		return r;
	}
	*ret = l;
	return 0;
}
