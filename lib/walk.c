/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "walk.h"
#include "beneath.h"
#include "util.h"
#include "dirent64.h"
#include "statx_ring.h"

#include <assert.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <time.h>

#define DIRBUF 8192
#define STATX_WANT                                                                                 \
	(STATX_TYPE | STATX_MODE | STATX_NLINK | STATX_UID | STATX_GID | STATX_INO | STATX_SIZE |  \
	 STATX_BLOCKS | STATX_BTIME | STATX_CTIME | STATX_MNT_ID)
#define STATX_FLAGS (AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_STATX_DONT_SYNC)

struct frame {
	int fd;
	uint64_t serial; /* which directory: tells a batch's frame from a later one at its depth */
	char *buf; /* getdents64 buffer */
	size_t len, pos;
	size_t path_len; /* length of this directory's path */
	struct statx stx;
	char *name; /* name in the parent (for the leaving call) */
};

static int openat2_beneath(int dirfd, const char *name, int flags)
{
	int fd = openat_beneath(dirfd, name, flags | O_NOCTTY);

	/* O_NOATIME is refused (EPERM) to a caller that neither owns the file nor has
	 * CAP_FOWNER: retry without it rather than fail. */
	if (fd == -EPERM && (flags & O_NOATIME))
		fd = openat_beneath(dirfd, name, (flags & ~O_NOATIME) | O_NOCTTY);
	return fd;
}

/* Names of one getdents64 buffer statted together (statx_ring.h), up to and including the
 * next directory: no statx result is kept across a subtree's walk, so every entry is statted
 * after the entries before it (and their subtrees) were dealt with, as one at a time. */
#define BATCH_MIN 4 /* fewer names: one statx each costs less than a ring round trip */

/* Which way costs less depends on the machine. The ring saves a system call per name, dear
 * under PTI or paravirtualisation (a PVM guest on 6.1: the ring cost 0.7x the CPU of one
 * statx at a time), and pays a hand-off to the io-wq workers per name, dearer than the
 * statx itself where system calls are cheap (a KVM guest on 6.18: 1.2x the wall). So a
 * walk measures both on its own tree: its first batches of CAL_K names or more go
 * alternately through the ring and one statx at a time, CAL_SAMPLES each, and the walk
 * then keeps the way whose cheapest batch cost less per name (the cheapest: a batch that
 * was preempted, or paid for the ring's first workers, says nothing about the way). */
#define CAL_K 16
#define CAL_SAMPLES 4
enum { WAY_PLAIN, WAY_RING };

struct batch {
	struct statx_ring *ring;      /* NULL: one statx at a time */
	bool no_ring;		      /* no ring to be had (or not wanted): do not try again */
	bool decided;		      /* the way is chosen (measured, or WALK_RING) */
	bool plain;		      /* this batch was statted one name at a time, into stx */
	unsigned samples[2];	      /* batches measured, per way */
	uint64_t best[2];	      /* the cheapest of them: ns per 1024 names */
	uint64_t serial;	      /* the frame the batch came from */
	unsigned n, next;	      /* entries in the batch, the next one to hand out */
	uint64_t batched;	      /* entries handed out from ring batches */
	unsigned share, shares;	      /* walk_opts: the root's entries of other shares are left */
	size_t off[STATX_RING_BATCH]; /* their offsets in the frame's getdents64 buffer */
	int res[STATX_RING_BATCH];
	struct statx stx[STATX_RING_BATCH]; /* a plain batch's results */
};

/* One measured batch of k names that took ns; once both ways have their samples, the
 * cheaper is kept (the ring only when it costs less: it holds the thread on one CPU). */
static void sample(struct batch *b, int way, uint64_t ns, unsigned k)
{
	uint64_t per = ns * 1024 / k;

	if (!b->samples[way]++ || per < b->best[way])
		b->best[way] = per;
	if (b->samples[WAY_PLAIN] < CAL_SAMPLES || b->samples[WAY_RING] < CAL_SAMPLES)
		return;
	b->decided = true;
	if (b->best[WAY_PLAIN] <= b->best[WAY_RING]) {
		statx_ring_free(TAKE_PTR(b->ring));
		b->no_ring = true;
	}
}

static bool is_dot(const char *n)
{
	return n[0] == '.' && (n[1] == '\0' || (n[1] == '.' && n[2] == '\0'));
}

unsigned walk_name_share(const char *name, unsigned shares)
{
	uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */

	assert(name);
	if (shares <= 1)
		return 0;
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		h = (h ^ *p) * 0x100000001b3ULL;
	/* Folded: FNV's low bit alone is the parity of the bytes' low bits ("n7-7", "n8-8", ...
	 * would all be one share's; test_walk). */
	return (unsigned)((h ^ (h >> 32)) % shares);
}

/* An entry of another walker's share (walk_opts.share): the root's frame is serial 0. */
static bool other_share(const struct batch *b, const struct frame *f, const char *name)
{
	return b->shares > 1 && f->serial == 0 && walk_name_share(name, b->shares) != b->share;
}

/* Answers that are not statx's but the ring's own refusal: io_uring cancels what it
 * cannot hand to a worker (none can be made: the cgroup's pids.max is reached, seen as
 * -ECANCELED), and the name was never looked up. Taken for the entry's own error, each
 * such name was left out of the walk unsaid (256 of 100,500 in a scan under pids.max 1). */
static bool ring_refused(const int *res, unsigned k)
{
	for (unsigned i = 0; i < k; i++)
		if (res[i] == -ECANCELED || res[i] == -EAGAIN || res[i] == -EINTR ||
		    res[i] == -EINPROGRESS)
			return true;
	return false;
}

/* The statx of the entry at offset off of f's buffer: from the current batch, from a new
 * batch, or alone. budget: entries the walk may still take (this one included). Returns
 * 0, -errno as statx(2) fails, or -ETIME when a batch ran into the deadline. */
static int stat_entry(struct batch *b, const struct frame *f, size_t off, const char *name,
		      uint64_t budget, uint64_t deadline, struct statx *stx)
{
	const char *names[STATX_RING_BATCH];
	unsigned k = 0;
	int r;

	if (b->serial == f->serial && b->next < b->n && b->off[b->next] == off) {
		unsigned i = b->next++;
		if (b->res[i] < 0)
			return b->res[i];
		if (b->plain) {
			*stx = b->stx[i];
			return 0;
		}
		b->batched++;
		*stx = *statx_ring_result(b->ring, i);
		return 0;
	}
	b->n = b->next = 0;
	for (size_t p = off; !b->no_ring && p < f->len && k < STATX_RING_BATCH && k < budget;) {
		const struct linux_dirent64 *de = (const struct linux_dirent64 *)(f->buf + p);
		p += de->d_reclen;
		if (is_dot(de->d_name) || other_share(b, f, de->d_name))
			continue;
		b->off[k] = (size_t)((const char *)de - f->buf);
		names[k++] = de->d_name;
		if (de->d_type == DT_DIR || de->d_type == DT_UNKNOWN)
			break; /* its subtree comes next: the names after it are statted after it */
	}
	/* A batch measured: the way with fewer samples (the ring first). */
	int way = !b->decided && k >= CAL_K
			  ? (b->samples[WAY_RING] <= b->samples[WAY_PLAIN] ? WAY_RING : WAY_PLAIN)
			  : -1;
	uint64_t t0 = way >= 0 ? now_ns(CLOCK_MONOTONIC) : 0;

	if (way == WAY_PLAIN) {
		for (unsigned i = 0; i < k; i++)
			b->res[i] = statx(f->fd, names[i], STATX_FLAGS, STATX_WANT, &b->stx[i]) < 0
					? negative_errno()
					: 0;
		sample(b, way, now_ns(CLOCK_MONOTONIC) - t0, k);
		b->plain = true;
		b->serial = f->serial;
		b->n = k;
		return stat_entry(b, f, off, name, budget, deadline, stx);
	}
	if (k >= BATCH_MIN && !b->ring && statx_ring_new(&b->ring) < 0)
		b->no_ring = true;
	if (k >= BATCH_MIN && b->ring) {
		r = statx_ring_run(b->ring, f->fd, names, k, STATX_FLAGS, STATX_WANT, b->res,
				   deadline);
		if (r == 0 && ring_refused(b->res, k))
			r = -ECANCELED;
		if (r == 0) {
			if (way == WAY_RING)
				sample(b, way, now_ns(CLOCK_MONOTONIC) - t0, k);
			b->plain = false;
			b->serial = f->serial;
			b->n = k;
			return stat_entry(b, f, off, name, budget, deadline, stx);
		}
		if (r == -ETIME)
			return r;
		/* The ring failed before doing anything, or could not run its statx calls: from
		 * now on one statx at a time (this batch's names too). */
		statx_ring_free(TAKE_PTR(b->ring));
		b->no_ring = true;
	}
	if (statx(f->fd, name, STATX_FLAGS, STATX_WANT, stx) < 0)
		return negative_errno();
	return 0;
}

static bool same_identity(int fd, const struct statx *want)
{
	struct statx now;

	if (statx(fd, "", AT_EMPTY_PATH, STATX_TYPE | STATX_INO, &now) < 0)
		return false;
	return now.stx_ino == want->stx_ino && now.stx_dev_major == want->stx_dev_major &&
	       now.stx_dev_minor == want->stx_dev_minor &&
	       (now.stx_mode & S_IFMT) == (want->stx_mode & S_IFMT);
}

int walk_open_file(int dirfd, const char *name, const struct statx *stx)
{
	assert(dirfd >= 0);
	assert(name);
	assert(stx);
	if (!S_ISREG(stx->stx_mode))
		return -EBADFD;
	/* Never by name: between the walk's statx and an open the entry can be exchanged
	 * (RENAME_EXCHANGE) with another user's FIFO, whose blocked writer an open would
	 * release. Named by its handle and checked, or pinned with O_PATH and checked, and
	 * only that inode opened. The handle is the fast way (half the system calls: 20% of
	 * a scan of small data files); anything it cannot vouch for goes the pinned way,
	 * which says exactly what is wrong. */
	if (stx->stx_mask & STATX_MNT_ID) {
		int fd = openat_handle_regular(dirfd, name, stx->stx_mnt_id, stx->stx_ino,
					       O_RDONLY | O_NONBLOCK | O_NOATIME);
		if (fd >= 0)
			return fd;
	}
	return openat_beneath_regular(dirfd, name,
				      makedev(stx->stx_dev_major, stx->stx_dev_minor), stx->stx_ino,
				      O_RDONLY | O_NONBLOCK | O_NOATIME);
}

/* A directory we do not look into: nobody may read it by its mode, or root keeps it
 * private. Root could enter it anyway; the walk respects what the mode says. */
static bool dir_is_private(const struct statx *stx)
{
	mode_t m = stx->stx_mode;

	if ((m & (S_IRUSR | S_IXUSR)) != (S_IRUSR | S_IXUSR))
		return true;
	return stx->stx_uid == 0 && (m & (S_IROTH | S_IXOTH)) != (S_IROTH | S_IXOTH);
}

static bool path_append(char **path, size_t *cap, size_t at, const char *name, size_t *ret_len)
{
	size_t nl = strlen(name), need = at + 1 + nl + 1;

	if (need > *cap) {
		size_t nc = *cap ? *cap : 256;
		char *p;
		while (nc < need)
			nc *= 2;
		p = realloc(*path, nc);
		if (!p)
			return false;
		*path = p;
		*cap = nc;
	}
	(*path)[at] = '/';
	memcpy(*path + at + 1, name, nl + 1);
	*ret_len = at + 1 + nl;
	return true;
}

static void frame_done(struct frame *f, bool close_fd)
{
	if (close_fd)
		safe_close(f->fd);
	free(f->buf);
	free(f->name);
	*f = (struct frame){.fd = -1};
}

static void set_incomplete(struct walk_stats *st, const char *why)
{
	st->incomplete = true;
	if (!st->incomplete_reason)
		st->incomplete_reason = why;
}

int walk_tree(int root_fd, const char *root_path, const struct walk_opts *o, walk_fn fn,
	      void *userdata, struct walk_stats *st)
{
	unsigned max_depth = o && o->max_depth ? MIN(o->max_depth, WALK_MAX_DEPTH)
					      : WALK_DEFAULT_MAX_DEPTH;
	uint64_t max_entries = o && o->max_entries ? o->max_entries : WALK_DEFAULT_MAX_ENTRIES;
	uint64_t deadline = o ? o->deadline_ns : 0;
	unsigned flags = o ? o->flags : 0;
	struct frame *stack = NULL;
	_cleanup_free_ char *path = NULL;
	size_t path_cap = 0, root_len;
	unsigned depth = 0; /* index of the top frame */
	uint64_t serial = 0;
	struct statx root_stx;
	struct batch *batch = NULL;
	int r = 0;

	assert(root_fd >= 0);
	assert(root_path);
	assert(fn);

	*st = (struct walk_stats){0};
	if (statx(root_fd, "", AT_EMPTY_PATH, STATX_WANT, &root_stx) < 0)
		return negative_errno();
	if (lseek(root_fd, 0, SEEK_SET) < 0)
		return negative_errno();
	stack = calloc(max_depth + 1, sizeof(*stack));
	path_cap = strlen(root_path) + 256;
	path = malloc(path_cap);
	batch = calloc(1, sizeof(*batch));
	if (!stack || !path || !batch) {
		free(stack);
		free(batch);
		return -ENOMEM;
	}
	batch->no_ring = flags & WALK_NO_BATCH;
	batch->decided = flags & WALK_RING;
#ifdef TMPFS_SWEEP_TEST_HOOKS
	/* TEST HOOK: TMPFS_SWEEP_TEST_RING=1: the ring without measuring (as WALK_RING). */
	if (getenv("TMPFS_SWEEP_TEST_RING"))
		batch->decided = true;
#endif
	batch->serial = UINT64_MAX; /* no batch yet */
	assert(!o || o->shares <= 1 || o->share < o->shares);
	if (o && o->shares > 1) {
		batch->share = o->share;
		batch->shares = o->shares;
	}
	root_len = strlen(root_path);
	while (root_len > 1 && root_path[root_len - 1] == '/')
		root_len--;
	memcpy(path, root_path, root_len);
	path[root_len] = '\0';
	if (root_len == 1) /* "/" joins as "/name", not "//name" */
		root_len = 0;
	stack[0] = (struct frame){.fd = root_fd, .path_len = root_len, .stx = root_stx};
	stack[0].buf = malloc(DIRBUF);
	if (!stack[0].buf) {
		free(stack);
		free(batch);
		return -ENOMEM;
	}

	for (;;) {
		struct frame *f = &stack[depth];
		struct linux_dirent64 *de;
		struct walk_entry e;
		struct statx stx;
		size_t plen, off;
		int ret;

		if (f->pos >= f->len) {
			long n = syscall(SYS_getdents64, f->fd, f->buf, DIRBUF);
			if (n < 0) {
				st->errors++;
				n = 0;
			}
			if (n == 0) {
				/* Directory done: pop, and tell the caller if it asked. */
				if (depth == 0)
					break;
				if (flags & WALK_POST_ORDER) {
					struct frame *parent = &stack[depth - 1];
					path[f->path_len] = '\0';
					e = (struct walk_entry){.dirfd = parent->fd, .name = f->name,
								.path = path, .path_len = f->path_len,
								.stx = &f->stx, .depth = depth,
								.leaving = true};
					ret = fn(&e, userdata);
				} else
					ret = WALK_CONTINUE;
				frame_done(f, true);
				depth--;
				if (ret == WALK_STOP)
					break;
				continue;
			}
			f->len = (size_t)n;
			f->pos = 0;
			if (o && o->after_read)
				o->after_read(f->fd, depth, userdata);
		}
		off = f->pos;
		de = (struct linux_dirent64 *)(f->buf + off);
		f->pos += de->d_reclen;
		if (is_dot(de->d_name) || other_share(batch, f, de->d_name))
			continue;

		if (++st->entries > max_entries) {
			st->entries--;
			set_incomplete(st, "entries");
			break;
		}
		if (deadline && (st->entries & 255) == 0 && now_ns(CLOCK_MONOTONIC) > deadline) {
			set_incomplete(st, "time");
			break;
		}
		ret = stat_entry(batch, f, off, de->d_name, max_entries - st->entries + 1, deadline,
				 &stx);
		if (ret == -ETIME) {
			set_incomplete(st, "time");
			break;
		}
		if (ret == -ENOENT) {
			st->skipped_changed++; /* gone since readdir */
			continue;
		}
		if (ret < 0) {
			st->errors++;
			continue;
		}
		/* Something mounted here (a bind mount, FUSE, another tmpfs): not ours. */
		if (stx.stx_mnt_id != root_stx.stx_mnt_id ||
		    ((stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) &&
		     (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT))) {
			st->skipped_mounts++;
			continue;
		}
		if (!path_append(&path, &path_cap, f->path_len, de->d_name, &plen)) {
			r = -ENOMEM;
			break;
		}
		e = (struct walk_entry){.dirfd = f->fd, .name = de->d_name, .path = path,
					.path_len = plen, .stx = &stx, .depth = depth + 1};
		ret = fn(&e, userdata);
		if (ret == WALK_STOP)
			break;
		if (!S_ISDIR(stx.stx_mode))
			continue;
		st->dirs++;
		if (ret == WALK_SKIP)
			continue;
		if (!(flags & WALK_ENTER_PRIVATE) && dir_is_private(&stx)) {
			st->skipped_private++;
			continue;
		}
		if (depth + 1 >= max_depth) {
			set_incomplete(st, "depth");
			continue;
		}
		int cfd = openat2_beneath(f->fd, de->d_name, O_RDONLY | O_DIRECTORY | O_NONBLOCK |
								    O_NOATIME);
		if (cfd < 0) {
			if (cfd == -EXDEV)
				st->skipped_mounts++;
			else if (cfd == -ELOOP || cfd == -ENOENT || cfd == -ENOTDIR)
				st->skipped_changed++; /* swapped for a symlink or gone */
			else if (cfd == -EMFILE || cfd == -ENFILE) {
				set_incomplete(st, "fds");
			} else
				st->errors++;
			continue;
		}
		if (!same_identity(cfd, &stx)) {
			st->skipped_changed++;
			close(cfd);
			continue;
		}
		struct frame *c = &stack[depth + 1];
		*c = (struct frame){.fd = cfd, .serial = ++serial, .path_len = plen, .stx = stx};
		c->buf = malloc(DIRBUF);
		c->name = strdup(de->d_name);
		if (!c->buf || !c->name) {
			frame_done(c, true);
			r = -ENOMEM;
			break;
		}
		depth++;
		batch->n = 0; /* the subtree first: what the parent's batch holds would be stale */
	}
	while (depth > 0)
		frame_done(&stack[depth--], true);
	free(stack[0].buf);
	free(stack);
	st->batched = batch->batched;
	statx_ring_free(batch->ring);
	free(batch);
	return r;
}
