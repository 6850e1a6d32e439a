/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "scan.h"
#include "inuse.h"
#include "util.h"

#include <sys/sysmacros.h>

/* A small file waiting in the page batch: what its callback will be given. The parent
 * directory's fd stays valid until the batch is flushed: that happens before the walk
 * leaves the directory. */
struct pending {
	int dirfd;
	unsigned depth;
	struct statx stx;
	char *name, *path;
	size_t name_cap, path_cap, path_len;
};

struct scan_state {
	struct pages_ctx *pc;
	struct page_scan ps;
	struct lease_view *leases;
	scan_want_fn want;
	scan_fn fn;
	void *userdata;
	bool post_order; /* the caller asked for the leaving calls */
	bool stopped;    /* fn said WALK_STOP */
	struct pending pend[PAGES_BATCH_MAX];
	size_t n_pend;
};

void lease_view_done(struct lease_view *v)
{
	inuse_free(v->set);
	*v = (struct lease_view){0};
}

static bool is_leased(struct lease_view *v, const struct statx *stx)
{
	const char *why = NULL;

	if (!v->loaded) {
		v->error = inuse_snapshot_locks(v->devs, v->n_devs, &v->set);
		v->loaded = true;
	}
	if (v->error < 0)
		return true; /* cannot tell: do not risk breaking one */
	return inuse_lookup(v->set, makedev(stx->stx_dev_major, stx->stx_dev_minor), stx->stx_ino,
			    &why, NULL) &&
	       streq(why, "leased");
}

static int call(struct scan_state *s, const struct scan_entry *e)
{
	int ret;

	if (s->stopped)
		return WALK_STOP;
	ret = s->fn(e, s->userdata);
	if (ret == WALK_STOP)
		s->stopped = true;
	return ret;
}

static bool copy_str(char **dst, size_t *cap, const char *src, size_t len)
{
	if (len + 1 > *cap) {
		size_t nc = MAX(len + 1, (size_t)64);
		char *p = realloc(*dst, nc);
		if (!p)
			return false;
		*dst = p;
		*cap = nc;
	}
	memcpy(*dst, src, len);
	(*dst)[len] = '\0';
	return true;
}

/* Attribute the batch and hand each of its files to fn, in the order they came. */
static int flush(struct scan_state *s)
{
	if (s->n_pend == 0)
		return WALK_CONTINUE;
	pages_batch_run(s->pc);
	for (size_t i = 0; i < s->n_pend; i++) {
		const struct pending *p = &s->pend[i];
		const struct walk_entry w = {.dirfd = p->dirfd, .name = p->name, .path = p->path,
					     .path_len = p->path_len, .stx = &p->stx,
					     .depth = p->depth};
		struct scan_entry e = {.w = &w};

		e.pages = pages_batch_result(s->pc, i, &e.error);
		call(s, &e);
	}
	pages_batch_clear(s->pc);
	s->n_pend = 0;
	return s->stopped ? WALK_STOP : WALK_CONTINUE;
}

/* Queue a small file in the page batch. Returns a walk_ret when the batch took fd, or
 * -errno when it did not (fd is still the caller's). */
static int enqueue(struct scan_state *s, const struct walk_entry *w, int fd)
{
	struct pending *p;
	int r;

	r = pages_batch_add(s->pc, fd, w->stx->stx_size, w->stx->stx_blocks);
	if (r == -ENOSPC) {
		if (flush(s) == WALK_STOP)
			return -ECANCELED;
		r = pages_batch_add(s->pc, fd, w->stx->stx_size, w->stx->stx_blocks);
	}
	if (r < 0)
		return r;
	p = &s->pend[s->n_pend++]; /* slot r: the queue and the batch stay in step */
	p->dirfd = w->dirfd;
	p->depth = w->depth;
	p->stx = *w->stx;
	p->path_len = w->path_len;
	if (!copy_str(&p->name, &p->name_cap, w->name, strlen(w->name)) ||
	    !copy_str(&p->path, &p->path_cap, w->path, w->path_len)) {
		s->stopped = true; /* out of memory: no more callbacks, as for WALK_STOP */
		return WALK_STOP;
	}
	return WALK_CONTINUE;
}

static int on_entry(const struct walk_entry *w, void *userdata)
{
	struct scan_state *s = userdata;
	struct scan_entry e = {.w = w};
	int fd, r;

	if (w->leaving) {
		/* The directory's fd, the dirfd of the files waiting, closes after this. */
		if (flush(s) == WALK_STOP)
			return WALK_STOP;
		return s->post_order ? call(s, &e) : WALK_CONTINUE;
	}
	if (!s->pc || !S_ISREG(w->stx->stx_mode) || w->stx->stx_blocks == 0 ||
	    (s->want && !s->want(w->stx, s->userdata)))
		return call(s, &e);
	if (s->leases && is_leased(s->leases, w->stx)) {
		e.error = -EWOULDBLOCK;
		return call(s, &e);
	}
	fd = walk_open_file(w->dirfd, w->name, w->stx);
	if (fd < 0) {
		e.error = fd;
		return call(s, &e);
	}
	if (pages_batchable(s->pc, w->stx->stx_size, w->stx->stx_blocks)) {
		r = enqueue(s, w, fd);
		if (r >= 0)
			return r;
		close(fd);
		if (r == -ECANCELED)
			return WALK_STOP;
		e.error = r;
		return call(s, &e);
	}
	e.error = pages_scan_file(s->pc, fd, w->stx->stx_size, w->stx->stx_blocks, &s->ps);
	if (e.error == 0)
		e.pages = &s->ps;
	close(fd);
	return call(s, &e);
}

int scan_mount(struct pages_ctx *pc, int root_fd, const char *root_path, const struct walk_opts *o,
	       struct lease_view *leases, scan_want_fn want, scan_fn fn, void *userdata,
	       struct walk_stats *st)
{
	struct scan_state s = {
		.pc = pc, .leases = leases, .want = want, .fn = fn, .userdata = userdata,
		.post_order = o && (o->flags & WALK_POST_ORDER),
	};
	/* Post-order always: leaving a directory flushes the batch of its files. */
	struct walk_opts wo = o ? *o : (struct walk_opts){0};
	int r;

	wo.flags |= WALK_POST_ORDER;
	if (pc)
		pages_set_deadline(pc, wo.deadline_ns);
	r = walk_tree(root_fd, root_path, &wo, on_entry, &s, st);
	flush(&s); /* the root's own files: root_fd is the caller's and still open */
	if (pc)
		pages_batch_clear(pc);
	for (size_t i = 0; i < ARRAY_SIZE(s.pend); i++) {
		free(s.pend[i].name);
		free(s.pend[i].path);
	}
	page_scan_done(&s.ps);
	return r;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

uint64_t page_scan_charged_to(const struct page_scan *s, const uint64_t *inos, size_t n)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < s->n_charges; i++)
		if (bsearch(&s->charges[i].ino, inos, n, sizeof(*inos), cmp_u64))
			sum += s->charges[i].bytes;
	return sum;
}
